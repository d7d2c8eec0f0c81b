// The invite's QR code in the invite panel: the server's SVG markup (parsed, never
// inserted as HTML), kept per invite so a re-render does not fetch it again; or, for a
// link the server must not see (an encrypted room's, with the key in its fragment), drawn
// here. A dead invite shows none: it would only lead a phone to an error page.

import { parseSvg } from "./dom.js";
import { qrSvg } from "./qr-svg.js";

/** @typedef {import("./invite-views.js").InviteView} InviteView */

export class InviteQr {
  /** @type {Map<string, SVGSVGElement>} */
  #svgs = new Map();

  /**
   * @param {HTMLElement} box
   * @param {InviteView} inv
   * @param {string | null} [ownLink]  a link to draw in the browser instead of the server's QR code
   */
  fill(box, inv, ownLink = null) {
    // A dead invite's QR code would only lead a phone to an error page: none is shown.
    if (inv.status !== "live") {
      box.classList.add("none");
      return;
    }
    const key = ownLink ?? inv.id;
    const cached = this.#svgs.get(key);
    if (cached) {
      box.append(cached);
      return;
    }
    if (ownLink) {
      const svg = qrSvg(ownLink);
      this.#svgs.set(key, svg);
      box.append(svg);
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
