// A QR code drawn in the browser, for links the server must never see (an encrypted
// room's invite carries the room's key in its fragment). The symbol comes from the `qr`
// npm package (served from web/vendor, see the import map); the drawing matches the
// server's segno SVG (invites_api.qr_svg): error correction M, a 2-module quiet zone,
// 4 px per module, black strokes on the panel's white box (so it reads in dark mode too).

import encodeQR from "qr";

const SVG_NS = "http://www.w3.org/2000/svg";
const SCALE = 4;
const QUIET_ZONE = 2;

/**
 * The symbol as one SVG path in module units, as segno writes it: each run of dark
 * modules in a row is a horizontal stroke of width 1 through the row's middle.
 * @param {string} text
 * @returns {{ size: number, d: string }}  size: modules per side, quiet zone included
 */
export function qrPath(text) {
  const rows = encodeQR(text, "raw", { ecc: "medium", border: QUIET_ZONE });
  const parts = [];
  for (let y = 0; y < rows.length; y++) {
    const row = rows[y];
    for (let x = 0; x < row.length; ) {
      if (!row[x]) {
        x++;
        continue;
      }
      const start = x;
      while (x < row.length && row[x]) x++;
      parts.push(`M${start} ${y + 0.5}h${x - start}`);
    }
  }
  return { size: rows.length, d: parts.join("") };
}

/**
 * An <svg> of `text`'s QR code that scales to its box (a viewBox only, as dom.parseSvg
 * leaves the server's).
 * @param {string} text
 * @returns {SVGSVGElement}
 */
export function qrSvg(text) {
  const { size, d } = qrPath(text);
  const px = String(size * SCALE);
  const svg = document.createElementNS(SVG_NS, "svg");
  svg.setAttribute("viewBox", `0 0 ${px} ${px}`);
  svg.setAttribute("class", "qr");
  const path = document.createElementNS(SVG_NS, "path");
  path.setAttribute("transform", `scale(${SCALE})`);
  path.setAttribute("stroke", "#000");
  path.setAttribute("d", d);
  svg.append(path);
  return svg;
}
