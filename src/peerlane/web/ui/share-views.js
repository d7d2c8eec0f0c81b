// The views of the share page (ui/share-page.js): a row per file being uploaded, the card
// with the link once every file is up, and a row per share made in this browser.

import { parseShareFragment } from "../share-e2e.js";
import { errorMessage, formatFull, h, ICONS, icon, parseSvg } from "./dom.js";
import { filePicker } from "./file-drop.js";
import { fileKind, formatBytes, formatRate, kindIcon, SpeedMeter } from "./file-info.js";
import { fileNameEl } from "./file-name.js";
import { qrSvg } from "./qr-svg.js";
import { copyText, expiryText } from "./share-parts.js";

/** @typedef {import("../share-uploads.js").UploadItem} UploadItem */
/** @typedef {import("../share-api.js").CreatedShare} CreatedShare */
/** @typedef {import("../share-store.js").SavedShare} SavedShare */
/** @typedef {import("../share-store.js").SavedFile} SavedFile */

/** The rows redraw their progress at most this often. */
const PROGRESS_RENDER_MS = 200;

// -- one file being uploaded: its row ---------------------------------------------------------

export class UploadRow {
  meter = new SpeedMeter();
  #lastRender = 0;

  /**
   * @param {UploadItem} item
   * @param {(item: UploadItem) => void} onRetry
   */
  constructor(item, onRetry) {
    this.item = item;
    this.onRetry = onRetry;
    const { name } = item.info;
    const kind = fileKind(name, item.info.type);
    this.progress = h("progress", {
      max: String(Math.max(1, item.info.size)),
      value: "0",
      "aria-label": `Upload of ${name}`,
    });
    this.status = h("span", { class: "upload-status", "data-testid": "upload-status" });
    this.error = h("p", { class: "file-error", role: "alert" });
    this.actions = h("span", { class: "file-actions" });
    this.el = h("li", { class: "file-row", "data-testid": "upload", "data-state": "queued" }, [
      kindIcon(kind),
      h("div", { class: "file-main" }, [
        h("div", { class: "file-line" }, [
          fileNameEl(name),
          h("span", { class: "file-size", text: formatBytes(item.info.size) }),
        ]),
        this.progress,
        this.status,
        this.error,
      ]),
      this.actions,
    ]);
    this.render();
  }

  /** The item's state moved: its error, its Retry button, its text. */
  changed() {
    const { item } = this;
    if (item.state === "uploading") {
      this.meter.reset();
      this.error.textContent = "";
      this.actions.replaceChildren();
    } else if (item.state === "failed") {
      this.error.textContent = errorMessage(item.error, "The upload stopped.");
      // A refusal that retrying cannot get past (a new share, or less data, is needed): no Retry.
      if (!item.final) {
        this.actions.replaceChildren(
          h("button", {
            type: "button",
            class: "btn small-btn",
            text: "Retry",
            "aria-label": `Retry ${item.info.name}`,
            onclick: () => this.onRetry(item),
          }),
        );
      }
    } else if (item.state === "queued") {
      this.error.textContent = "";
      this.actions.replaceChildren();
    }
    this.render();
  }

  /** The server holds more of the file. */
  progressed() {
    this.meter.add(this.item.sent);
    const now = performance.now();
    if (now - this.#lastRender > PROGRESS_RENDER_MS) {
      this.#lastRender = now;
      this.render();
    }
  }

  render() {
    const { state, info: file, sent } = this.item;
    this.el.dataset.state = state;
    this.progress.value = state === "done" ? Math.max(1, file.size) : sent;
    let text = "";
    if (state === "queued") text = "Waiting";
    else if (state === "uploading") {
      const rate = formatRate(this.meter.rate(), this.meter.secondsLeft(file.size));
      text = `${formatBytes(sent)} of ${formatBytes(file.size)}${rate ? ` · ${rate}` : ""}`;
    } else if (state === "done") text = "Uploaded";
    else if (state === "failed") text = `Stopped at ${formatBytes(sent)} of ${formatBytes(file.size)}`;
    else text = "Cancelled";
    if (this.status.textContent !== text) this.status.textContent = text;
    this.progress.hidden = state === "done" || state === "cancelled";
  }
}

// -- the link, once every file is up -----------------------------------------------------------

/**
 * @param {CreatedShare & {files: SavedFile[]}} share
 * @param {UploadRow[]} rows
 * @param {HTMLElement} alert  the page's role=alert line
 * @param {{delete: (button: HTMLButtonElement) => void, more: () => void}} on
 * @returns {{root: HTMLElement, heading: HTMLElement}}
 */
export function readyView(share, rows, alert, on) {
  const copied = h("span", { class: "copied", role: "status" });
  const linkEl = h("p", {
    class: "invite-link share-link",
    "data-testid": "share-link",
    "aria-labelledby": "share-link-label",
    text: share.link,
  });
  const actions = h("div", { class: "btn-row" }, [
    h("button", { type: "button", class: "btn", onclick: () => void copyText(share.link, linkEl, copied) }, [
      icon(ICONS.copy),
      "Copy link",
    ]),
  ]);
  if (typeof navigator.share === "function") {
    actions.append(
      h(
        "button",
        {
          type: "button",
          class: "btn",
          onclick: () => void navigator.share({ title: "Files on peerlane", url: share.link }).catch(() => {}),
        },
        [icon(ICONS.share), "Share"],
      ),
    );
  }
  actions.append(
    h("a", { class: "btn subtle", href: share.link, target: "_blank", rel: "noopener", text: "Open" }),
    copied,
  );
  const qr = h("div", {
    class: "invite-qr share-qr",
    "data-testid": "share-qr",
    role: "img",
    "aria-label": "QR code of the link",
  });
  // A link with a key in its fragment is drawn here: the server's QR code has no key.
  const svg = parseShareFragment(share.link.split("#")[1] ?? "").key
    ? qrSvg(new URL(share.link, location.href).href)
    : share.qr_svg
      ? parseSvg(share.qr_svg)
      : null;
  if (svg) qr.append(svg);
  else qr.classList.add("none");
  const total = share.files.reduce((n, f) => n + f.size, 0);
  const heading = h("h1", { id: "share-title", class: "card-title", text: "Your link is ready", tabindex: "-1" });
  const del = h("button", { type: "button", class: "btn danger", text: "Delete share" });
  del.addEventListener("click", () => on.delete(del));
  const root = h("div", { class: "stack share-ready" }, [
    heading,
    h("p", {
      class: "muted",
      text: "Send this link to the people who should get the files. Anyone who has it can download them.",
    }),
    h("div", {}, [h("p", { class: "field-label", id: "share-link-label", text: "Link" }), linkEl]),
    actions,
    h("div", { class: "invite-grid" }, [
      qr,
      h("div", { class: "invite-text" }, [
        h("p", {
          class: "share-expiry",
          "data-testid": "share-expiry",
          "data-expires": String(share.expires_at),
          title: `Expires ${formatFull(new Date(share.expires_at * 1000))}`,
          text: expiryText(share.expires_at),
        }),
        h("p", {
          class: "muted small",
          text: `${share.files.length} ${share.files.length === 1 ? "file" : "files"}, ${formatBytes(total)}`,
        }),
        share.max_downloads
          ? h("p", {
              class: "muted small",
              text: `Each file can be downloaded ${share.max_downloads === 1 ? "once" : `${share.max_downloads} times`}.`,
            })
          : null,
      ]),
    ]),
    h(
      "ul",
      { class: "file-list", "aria-label": "Uploaded files" },
      rows.map((r) => r.el),
    ),
    h("div", { class: "btn-row share-manage" }, [
      del,
      h("button", { type: "button", class: "btn", text: "Share more files", onclick: on.more }),
    ]),
    alert,
  ]);
  return { root, heading };
}

// -- a share made in this browser ------------------------------------------------------------

/**
 * @param {SavedShare} s
 * @param {{resumable: boolean, onDelete: (button: HTMLButtonElement) => void, onResume: (files: File[]) => void}} actions
 */
export function mineRow(s, actions) {
  const total = s.files.reduce((n, f) => n + f.size, 0);
  const first = s.files[0]?.name ?? "";
  const what = s.files.length === 1 ? first : `${first} and ${s.files.length - 1} more`;
  const del = h("button", {
    type: "button",
    class: "btn danger small-btn",
    text: "Delete",
    "aria-label": `Delete the share of ${what}`,
  });
  del.addEventListener("click", () => actions.onDelete(del));
  /** @type {HTMLElement | null} */
  let resume = null;
  if (actions.resumable) {
    const picker = filePicker({
      label: `Pick the files of ${what} again`,
      onFiles: actions.onResume,
    });
    resume = h("span", { class: "pick-again" }, [
      picker.input,
      h("button", {
        type: "button",
        class: "btn small-btn",
        text: "Continue uploading",
        "aria-label": `Continue uploading ${what}`,
        title: "Pick the same files again; the upload goes on where it stopped",
        onclick: picker.open,
      }),
    ]);
  }
  return h("li", { class: "mine-row", "data-testid": "my-share", "data-share-id": s.id }, [
    h("div", { class: "mine-main" }, [
      h("a", { href: s.link, class: "mine-name", text: what || "Empty share" }),
      h("p", {
        class: "muted small",
        "data-expires": String(s.expires_at),
        text: `${formatBytes(total)} · ${expiryText(s.expires_at)}${s.complete ? "" : " · not every file finished uploading"}`,
      }),
    ]),
    h("div", { class: "file-actions" }, [resume, del]),
  ]);
}
