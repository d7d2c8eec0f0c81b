// <pl-share-download-page> (/s#<token>): the files behind a share link, to download. The
// secret of the link stays in the fragment: it is POSTed to /api/shares/open (share-api.js
// getShare), never put in a path. A link with a key (`#<token>.<key>`) is an encrypted
// share's: names and contents are opened here (share-e2e.js), never by the server.

import { ERROR_CODES } from "../protocol.js";
import { getShare } from "../share-api.js";
import { downloadSealed, openShareMeta, parseShareFragment } from "../share-e2e.js";
import { errorCode, errorMessage, errorStatus, formatFull, h, ICONS, icon } from "./dom.js";
import { fileKind, formatBytes, kindIcon } from "./file-info.js";
import { fileNameEl } from "./file-name.js";
import { brandLink, expiryText } from "./share-parts.js";

/** @typedef {import("../share-api.js").ShareView} ShareView */
/** @typedef {import("../share-e2e.js").SealedMeta} SealedMeta */

/** What a link that does not work means, in plain words. */
const LINK_EXPIRED =
  "This link has expired, and its files were deleted from the server. Ask the sender for a new link.";
const LINK_UNKNOWN = "No share has this link. Check that you copied the whole link, or ask the sender for a new one.";

export class ShareDownloadPage extends HTMLElement {
  #token = "";
  /** The link's key (an encrypted share), or null. @type {string | null} */
  #key = null;
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  #refresh;
  #card = h("section", { class: "card share-card", "aria-labelledby": "share-title", "aria-busy": "true" });
  #foot = h("p", { class: "entry-foot muted" }, [
    "Shared with peerlane. ",
    h("a", { href: "/share", text: "Share files of your own" }),
  ]);

  connectedCallback() {
    document.title = "Shared files — peerlane";
    const { token, key } = parseShareFragment(decodeURIComponent(location.hash));
    this.#token = token;
    this.#key = key;
    this.replaceChildren(h("main", { class: "entry share-entry", id: "main" }, [brandLink(), this.#card, this.#foot]));
    this.#card.replaceChildren(
      h("p", { class: "opening", role: "status" }, [
        h("span", { class: "spinner", "aria-hidden": "true" }),
        "Loading the files…",
      ]),
    );
    void this.#load();
  }

  disconnectedCallback() {
    clearTimeout(this.#refresh);
  }

  async #load() {
    if (!this.#token) {
      this.#problem(
        "This link is incomplete",
        "The part after the # is missing. Check that you copied the whole link.",
      );
      return;
    }
    try {
      const share = await getShare(this.#token);
      const metas = await this.#open(share);
      if (!this.isConnected) return;
      this.#render(share, metas);
    } catch (err) {
      if (!this.isConnected) return;
      const code = errorCode(err) ?? "";
      const status = errorStatus(err);
      if (code === ERROR_CODES.SHARE_EXPIRED || status === 410) {
        this.#problem("This link has expired", LINK_EXPIRED, "expired");
      } else if (code === ERROR_CODES.SHARE_NOT_FOUND || status === 404) {
        this.#problem("This link doesn't work", LINK_UNKNOWN, "unknown");
      } else {
        this.#problem("Can't load the files", errorMessage(err), "error", true);
      }
    }
  }

  /**
   * @param {string} title
   * @param {string} text
   * @param {string} [kind]   "expired" | "unknown" | "error" (data-problem, for tests)
   * @param {boolean} [retry]
   */
  #problem(title, text, kind = "unknown", retry = false) {
    document.title = `${title} — peerlane`;
    this.#card.removeAttribute("aria-busy");
    this.#foot.hidden = !retry; // the card's own button says the same
    this.#card.replaceChildren(
      h("div", { class: "stack share-problem", "data-testid": "share-problem", "data-problem": kind }, [
        h("h1", { id: "share-title", class: "card-title", text: title }),
        h("p", { role: "alert", text }),
        h("p", { class: "btn-row" }, [
          retry
            ? h("button", { type: "button", class: "btn primary", text: "Try again", onclick: () => void this.#load() })
            : null,
          h("a", { href: "/share", class: retry ? "btn" : "btn primary", text: "Share files of your own" }),
        ]),
      ]),
    );
  }

  /**
   * Each file's sealed metadata opened with the link's key (null: a clear file).
   * @param {ShareView} share
   * @returns {Promise<(SealedMeta | null | "locked")[]>}  "locked": sealed, and it does not open
   */
  #open(share) {
    const key = this.#key;
    return Promise.all(
      share.files.map(async (f) => (f.sealed ? ((key ? await openShareMeta(key, f.sealed) : null) ?? "locked") : null)),
    );
  }

  /**
   * @param {ShareView} share
   * @param {(SealedMeta | null | "locked")[]} metas
   */
  #render(share, metas) {
    this.#card.removeAttribute("aria-busy");
    this.#foot.hidden = false;
    // Shown with what the link's key opened: the server's name of a sealed file is "file".
    const files = share.files.map((f, i) => {
      const meta = metas[i];
      return meta && meta !== "locked"
        ? { ...f, name: meta.name, type: meta.type, size: meta.size, meta }
        : { ...f, meta };
    });
    const total = files.reduce((n, f) => n + f.size, 0);
    const max = share.max_downloads;
    const title = files.length === 1 && files[0] ? files[0].name : "Files shared with you";
    document.title = `${title} — peerlane`;
    const list = h("ul", { class: "file-list downloads", "aria-label": "Files", "data-testid": "share-files" });
    for (const f of files) {
      const used = f.downloads ?? 0;
      const exhausted = max != null && used >= max;
      // The server's URL on this page's origin: ids only, the cookie brings the secret.
      const href = new URL(f.url, location.href).pathname;
      const action = exhausted
        ? h("span", { class: "file-note warn", text: "Download limit reached" })
        : f.meta === "locked"
          ? h("span", {
              class: "file-note warn",
              text: "Can't be decrypted with this link",
              "data-testid": "share-locked",
            })
          : f.meta
            ? this.#sealedButton(href, f.meta)
            : h(
                "a",
                {
                  class: "btn",
                  href,
                  download: f.name.split("/").pop() || "download",
                  "aria-label": `Download ${f.name}`,
                  "data-testid": "share-download",
                  onclick: () => this.#soon(),
                },
                [icon(ICONS.down), h("span", { class: "dl-text", text: "Download" })],
              );
      list.append(
        h(
          "li",
          {
            class: "file-row",
            "data-testid": "share-file",
            "data-file-id": f.id,
            "data-exhausted": exhausted ? "true" : null,
          },
          [
            kindIcon(fileKind(f.name, f.type)),
            h("div", { class: "file-main" }, [
              h("div", { class: "file-line" }, [
                fileNameEl(f.name),
                h("span", { class: "file-size", text: formatBytes(f.size) }),
              ]),
              max != null && !exhausted
                ? h("p", {
                    class: "muted small file-sub",
                    text: `${max - used} of ${max} ${max === 1 ? "download" : "downloads"} left`,
                  })
                : null,
            ]),
            action,
          ],
        ),
      );
    }
    const when = new Date(share.expires_at * 1000);
    this.#card.replaceChildren(
      h("div", { class: "stack" }, [
        h("div", { class: "share-head" }, [
          h("h1", {
            id: "share-title",
            class: "card-title",
            text: files.length === 1 ? "A file was shared with you" : "Files shared with you",
          }),
          h("p", { class: "muted" }, [
            h("span", {
              "data-testid": "share-expiry",
              title: `Expires ${formatFull(when)}`,
              text: expiryText(share.expires_at),
            }),
            files.length ? ` · ${files.length} ${files.length === 1 ? "file" : "files"}, ${formatBytes(total)}` : "",
          ]),
        ]),
        files.length
          ? list
          : h("div", { class: "stack" }, [
              h("p", { role: "status", text: "There are no files here yet. The sender may still be uploading them." }),
              h("p", {}, [
                h("button", { type: "button", class: "btn", text: "Check again", onclick: () => void this.#load() }),
              ]),
            ]),
        files.length
          ? h("p", {
              class: "muted small",
              text: "If a download stops, your browser can resume it from its downloads list. Files are sent as attachments and never opened on this site.",
            })
          : null,
      ]),
    );
  }

  /**
   * A sealed file's Download: fetched and opened block by block here, then saved.
   * @param {string} href
   * @param {SealedMeta} meta
   */
  #sealedButton(href, meta) {
    const label = h("span", { class: "dl-text", text: "Download" });
    const button = h(
      "button",
      { type: "button", class: "btn", "aria-label": `Download ${meta.name}`, "data-testid": "share-download" },
      [icon(ICONS.down), label],
    );
    button.addEventListener("click", async () => {
      button.disabled = true;
      button.classList.add("busy");
      try {
        const blob = await downloadSealed(href, meta, {
          onProgress: (bytes) => {
            label.textContent = `${Math.floor((100 * bytes) / Math.max(1, meta.size))} %`;
          },
        });
        const url = URL.createObjectURL(blob);
        const a = h("a", { href: url, download: meta.name.split("/").pop() || "download", hidden: true });
        document.body.append(a);
        a.click();
        a.remove();
        setTimeout(() => URL.revokeObjectURL(url), 60_000);
        label.textContent = "Download";
        this.#soon();
      } catch (err) {
        label.textContent = "Download failed: try again";
        button.setAttribute("title", errorMessage(err));
      } finally {
        button.disabled = false;
        button.classList.remove("busy");
      }
    });
    return button;
  }

  /** After a download starts, look again: the counts (and the limit) may have moved. */
  #soon() {
    clearTimeout(this.#refresh);
    this.#refresh = setTimeout(() => {
      const focused = document.activeElement?.getAttribute("aria-label");
      void getShare(this.#token)
        .then(async (share) => {
          const metas = await this.#open(share);
          if (!this.isConnected) return;
          this.#render(share, metas);
          if (focused) {
            const again = Array.from(this.querySelectorAll("[aria-label]")).find(
              (el) => el.getAttribute("aria-label") === focused,
            );
            /** @type {HTMLElement | undefined} */ (again)?.focus();
          }
        })
        .catch(() => void this.#load());
    }, 2000);
  }
}

customElements.define("pl-share-download-page", ShareDownloadPage);
