// A small recording DOM for node tests of the UI's row builders (ui/message-row.js):
// elements with attributes, class, dataset, text and children; no parsing of HTML at all,
// so a test also shows that nothing was built from an HTML string (innerHTML throws).

class FakeNode {
  /** @type {FakeElement | null} */
  parentNode = null;
}

export class FakeText extends FakeNode {
  constructor(text) {
    super();
    this.data = String(text);
  }
  get textContent() {
    return this.data;
  }
}

export class FakeElement extends FakeNode {
  constructor(tag, ns = "http://www.w3.org/1999/xhtml") {
    super();
    // A custom element's class is constructed without a tag: customElements.define named it.
    this.tagName = (tag ?? new.target.fakeTag ?? "div").toUpperCase();
    this.namespaceURI = ns;
    this.attributes = new Map();
    this.children = [];
    this.dataset = {};
    this.listeners = [];
  }
  get className() {
    return this.attributes.get("class") ?? "";
  }
  set className(v) {
    this.attributes.set("class", String(v));
  }
  setAttribute(name, value) {
    this.attributes.set(name, String(value));
  }
  getAttribute(name) {
    return this.attributes.has(name) ? this.attributes.get(name) : null;
  }
  hasAttribute(name) {
    return this.attributes.has(name);
  }
  removeAttribute(name) {
    this.attributes.delete(name);
  }
  addEventListener(type, fn) {
    this.listeners.push([type, fn]);
  }
  append(...nodes) {
    for (const n of nodes) {
      const node = typeof n === "string" ? new FakeText(n) : n;
      node.parentNode = this;
      this.children.push(node);
    }
  }
  replaceChildren(...nodes) {
    this.children = [];
    this.append(...nodes);
  }
  get textContent() {
    return this.children.map((c) => c.textContent).join("");
  }
  set textContent(v) {
    this.children = [];
    if (v !== "") this.append(new FakeText(v));
  }
  set innerHTML(_v) {
    throw new Error("innerHTML is not allowed");
  }
  get parentElement() {
    return this.parentNode;
  }
  get firstElementChild() {
    return this.children.find((c) => c instanceof FakeElement) ?? null;
  }
  contains(node) {
    for (let n = node; n; n = n.parentNode) if (n === this) return true;
    return false;
  }
  focus() {
    globalThis.document.activeElement = this;
  }
  /** All descendant elements, depth first. */
  *all() {
    for (const c of this.children) {
      if (c instanceof FakeElement) {
        yield c;
        yield* c.all();
      }
    }
  }
  /** Descendants matching a predicate. */
  find(pred) {
    return [...this.all()].filter(pred);
  }
  /** Only `[data-focus="…"]` and a bare tag name, what the row builders ask for. */
  querySelector(sel) {
    if (/^[a-z][a-z0-9-]*$/.test(sel)) return this.find((e) => e.tagName === sel.toUpperCase())[0] ?? null;
    const m = /^\[data-focus="(.*)"\]$/.exec(sel);
    if (!m) throw new Error(`fake DOM: unsupported selector ${sel}`);
    return this.find((e) => e.getAttribute("data-focus") === m[1])[0] ?? null;
  }
}

/** Install the fake as globalThis.document (and HTMLElement, CSS) for the test file. */
export function installFakeDom() {
  globalThis.HTMLElement = FakeElement;
  globalThis.CSS = { escape: (s) => s };
  globalThis.customElements = {
    define: (name, cls) => {
      cls.fakeTag = name;
    },
  };
  globalThis.document = {
    activeElement: null,
    createElement: (tag) => new FakeElement(tag),
    createElementNS: (ns, tag) => new FakeElement(tag, ns),
    createTextNode: (text) => new FakeText(text),
  };
}
