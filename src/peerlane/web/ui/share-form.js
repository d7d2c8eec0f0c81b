// The share page's first step (ui/share-page.js): the files chosen so far, how long the
// link lasts, how often each file may be downloaded, and the Upload button.

import { h, ICONS, icon } from "./dom.js";
import { filePicker } from "./file-drop.js";
import { fileKind, formatBytes, kindIcon } from "./file-info.js";
import { fileNameEl } from "./file-name.js";

const HOUR_S = 3600;
const EXPIRY_CHOICES = /** @type {const} */ ([
  [HOUR_S, "1 hour"],
  [24 * HOUR_S, "24 hours"],
  [7 * 24 * HOUR_S, "7 days"],
]);
const DEFAULT_TTL = 24 * HOUR_S;

/**
 * @param {File[]} chosen
 * @param {HTMLElement} alert  the page's role=alert line
 * @param {{
 *   add: (files: File[]) => void,
 *   remove: (index: number) => void,
 *   start: (ttl: number, maxDownloads: number | null, submit: HTMLButtonElement) => void,
 * }} on
 * @returns {{form: HTMLFormElement, choose: HTMLButtonElement}}
 */
export function shareForm(chosen, alert, on) {
  const picker = filePicker({ id: "share-files", label: "Files to share", onFiles: on.add });
  const choose = h("button", { type: "button", class: "btn", onclick: picker.open }, [
    icon(["M12 5v14", "M5 12h14"]),
    chosen.length ? "Add more files" : "Choose files",
  ]);
  const total = chosen.reduce((n, f) => n + f.size, 0);
  const list = h("ul", { class: "file-list", "aria-label": "Files to share" });
  chosen.forEach((file, i) => {
    list.append(
      h("li", { class: "file-row", "data-testid": "chosen-file" }, [
        kindIcon(fileKind(file.name, file.type)),
        h("div", { class: "file-main" }, [
          h("div", { class: "file-line" }, [
            fileNameEl(file.webkitRelativePath || file.name),
            h("span", { class: "file-size", text: formatBytes(file.size) }),
          ]),
        ]),
        h(
          "button",
          {
            type: "button",
            class: "icon-btn",
            "aria-label": `Remove ${file.name}`,
            title: "Remove",
            onclick: () => on.remove(i),
          },
          [icon(ICONS.close)],
        ),
      ]),
    );
  });

  const expiry = h("select", { id: "share-expiry", name: "ttl" });
  for (const [seconds, text] of EXPIRY_CHOICES) {
    expiry.append(h("option", { value: String(seconds), text, selected: seconds === DEFAULT_TTL }));
  }
  const maxDownloads = h("input", {
    id: "share-max-downloads",
    name: "max_downloads",
    type: "number",
    min: "1",
    step: "1",
    inputmode: "numeric",
    placeholder: "No limit",
    "aria-describedby": "share-max-help",
  });
  const submit = h("button", { type: "submit", class: "btn primary wide" }, [
    icon(["M12 15V4", "m7 9 5-5 5 5", "M4 15v4a1 1 0 0 0 1 1h14a1 1 0 0 0 1-1v-4"]),
    "Upload",
  ]);
  const form = h("form", { class: "stack", novalidate: true }, [
    h("div", { class: "share-head" }, [
      h("h1", { id: "share-title", class: "card-title", text: "Share files by link" }),
      h("p", {
        class: "muted",
        text: "Upload files once and send the link: anyone who has it can download them until it expires. No account needed.",
      }),
    ]),
    h("div", { class: "pick-zone" }, [
      picker.input,
      choose,
      h("span", { class: "muted small pick-hint", text: chosen.length ? "" : "or drop files here" }),
      chosen.length
        ? h("span", {
            class: "muted small pick-total",
            text: `${chosen.length} ${chosen.length === 1 ? "file" : "files"}, ${formatBytes(total)}`,
          })
        : null,
    ]),
    chosen.length ? list : null,
    h("div", { class: "share-options" }, [
      h("div", { class: "field" }, [h("label", { for: "share-expiry", text: "The link expires after" }), expiry]),
      h("div", { class: "field" }, [
        h("label", { for: "share-max-downloads", text: "Downloads per file (optional)" }),
        maxDownloads,
        h("p", { class: "field-help", id: "share-max-help", text: "Leave empty for no limit." }),
      ]),
    ]),
    submit,
    alert,
  ]);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const raw = maxDownloads.value.trim();
    const max = raw ? Number(raw) : null;
    if (max !== null && (!Number.isInteger(max) || max < 1)) {
      alert.textContent = "The download limit is a whole number, 1 or more (or leave it empty).";
      maxDownloads.setAttribute("aria-invalid", "true");
      maxDownloads.focus();
      return;
    }
    maxDownloads.removeAttribute("aria-invalid");
    if (!chosen.length) {
      alert.textContent = "Choose the files to share first.";
      choose.focus();
      return;
    }
    on.start(Number(expiry.value), max, submit);
  });
  return { form, choose };
}
