// What the entry forms (ui/join-form.js, ui/home-page.js) say when the server refuses
// their input. The server's validation reply (422 invalid_message) names fields in
// developer words ("Invalid request: display_name: String should have at most 40
// characters"); people get plain words about the field they typed into. No DOM here,
// so node tests read it directly.

/** The longest display name the server takes (schemas.DisplayName). */
export const NAME_MAX = 40;
/** The longest room name the server takes (schemas.RoomName). */
export const ROOM_NAME_MAX = 80;

/** @type {[RegExp, string][]} the field the server named, in plain words */
const FIELDS = [
  [
    /\bdisplay_name\b/,
    `Your name can be at most ${NAME_MAX} characters, and not only spaces. Shorten it and try again.`,
  ],
  [/\bname\b/, `The room name can be at most ${ROOM_NAME_MAX} characters. Shorten it and try again.`],
  [/\bcode\b/, "That doesn't look like a room code. It is a number and two words, like 7-amber-falcon."],
  [/\btoken\b/, "This invite link is damaged. Ask for the link again, or use the room code on the home page."],
];

/**
 * A form request's error in plain words: the server's validation reply mapped to the
 * field it names; any other error's message is already written for people.
 * @param {unknown} err
 * @param {string} [fallback]
 */
export function formErrorText(err, fallback = "Something went wrong; try again.") {
  const e = /** @type {{status?: unknown, code?: unknown, message?: unknown}} */ (err ?? {});
  const message = typeof e.message === "string" ? e.message : "";
  if (e.code === "invalid_message" && e.status === 422) {
    for (const [field, words] of FIELDS) if (field.test(message)) return words;
    return "The server couldn't accept what was typed. Check the fields and try again.";
  }
  // fetch() network failures are TypeErrors with browser-specific wording.
  if (err instanceof TypeError) return "Can't reach the server; check your connection and try again.";
  return message || fallback;
}

/**
 * `text` cut to at most `max` characters (code points, as the server counts them),
 * and whether it was cut.
 * @param {string} text
 * @param {number} max
 * @returns {{text: string, cut: boolean}}
 */
export function clip(text, max) {
  const chars = Array.from(text);
  return chars.length > max ? { text: chars.slice(0, max).join(""), cut: true } : { text, cut: false };
}
