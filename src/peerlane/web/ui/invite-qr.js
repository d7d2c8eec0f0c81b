// The invite's QR code in the invite panel: the server's SVG markup (parsed, never
// inserted as HTML), kept per invite so a re-render does not fetch it again. A dead
// invite shows none: it would only lead a phone to an error page.

import { parseSvg } from "./dom.js";

/** @typedef {import("./invite-views.js").InviteView} InviteView */

export class InviteQr {
  /** @type {Map<string, SVGSVGElement>} */
  #svgs = new Map();

  /**
   * @param {HTMLElement} box
   * @param {InviteView} inv
   */
  fill(box, inv) {
    // A dead invite's QR code would only lead a phone to an error page: none is shown.
    if (inv.status !== "live") {
      box.classList.add("none");
      return;
    }
    const cached = this.#svgs.get(inv.id);
    if (cached) {
      box.append(cached);
      return;
    }
    if (inv.qr_svg) {
      const svg = parseSvg(inv.qr_svg);
      if (svg) {
        this.#svgs.set(inv.id, svg);
        box.append(svg);
        return;
      }
    }
    if (!inv.qr_url) {
      box.classList.add("none");
      return;
    }
    // Same origin whatever public URL the server was given: the CSP allows only 'self'.
    const url = new URL(inv.qr_url, location.href);
    box.classList.add("loading");
    fetch(url.pathname + url.search, { credentials: "same-origin" })
      .then((r) => (r.ok ? r.text() : Promise.reject(new Error(String(r.status)))))
      .then((markup) => {
        const svg = parseSvg(markup);
        if (!svg) return;
        this.#svgs.set(inv.id, svg);
        box.classList.remove("loading");
        box.replaceChildren(svg);
      })
      .catch(() => {
        box.classList.remove("loading");
        box.classList.add("none");
      });
  }
}
