// Short-code words drawn by the browser that makes an encrypted room's invite, and sealed
// under the room key for the room's other members (docs/protocol.md, "Where the words come
// from"): the server gets only the nameplate and the sealed words, so neither its database
// nor its secret gives the words away. The lists are core/words.py's (a test checks they
// are the same), so both sides spell and check codes alike.

import { updateInvite } from "../api.js";
import {
  aesKey,
  concat,
  E2EError,
  hkdf,
  lengthPrefixed,
  NONCE_SIZE,
  parseEnvelope,
  RoomKey,
  randomBytes,
  seal,
} from "./scheme.js";

export const INFO_CODE_WORDS = "peerlane e2e v1 code words";

/** @type {readonly string[]} */
export const ADJECTIVES = `
  amber azure bold brave brisk bright broad calm candid cheery chilly civic clean clear clever
  cloudy cobalt cool coral cosmic cozy crimson crisp curly daring dawn deep dense dewy dizzy dusty
  eager early easy electric elegant even fair fancy fast fiery final fleet fluffy foggy frank free
  fresh frosty gentle giant glad glossy golden grand grassy great green happy hardy hazy hearty
  honest humble icy ideal indigo ivory jade jolly jumbo keen kind large lavish lemon level light
  lilac lively local lofty loyal lucky lunar magic major maple mellow merry mighty milky minty misty
  modern mossy noble nimble north olive open orange oval pale patient peach pearly perky pink plain
  plucky polar polite proud purple quick quiet rapid rare ready regal rosy royal ruby rustic sandy
  scarlet shady sharp shiny silent silky silver simple sleek smart smooth snowy soft solar solid
  sonic spicy spring steady stormy sturdy sunny super sweet swift tall tame tidy tiny topaz tough
  tropic true urban vast velvet violet vivid warm wavy wild windy wise witty woody young zesty zippy
`
  .trim()
  .split(/\s+/);

/** @type {readonly string[]} */
export const NOUNS = `
  acorn anchor apple arrow aspen badger bagel bamboo banjo basil beacon beaver bison blossom breeze
  brook buffalo bugle cabin cactus camel canoe canyon carrot castle cedar cello cherry cloud clover
  comet condor coyote crane cricket dolphin donkey dragon eagle echo ember falcon fern ferret fiddle
  finch fjord flute forest fox galaxy garden gazelle gecko geyser ginger glacier goose grape harbor
  hawk hazel heron hippo honey horizon husky igloo island jackal jaguar jasmine jelly kayak kernel
  kettle kiwi koala lagoon lantern lemur leopard lily llama lotus lynx magnet mango marble meadow
  melon meteor mint mole moose mountain nebula nectar needle nutmeg oasis ocean octopus onion orbit
  orchid otter owl panda panther parrot pebble pelican pepper piano pigeon pine planet plum pony
  poppy prairie puffin pumpkin quail quartz rabbit raccoon radish rainbow raven reef river robin
  rocket saddle salmon sparrow spruce squid star stream summit swan tiger tomato trout tulip turtle
  valley violin volcano walnut walrus whale willow wolf wombat yak zebra zephyr
`
  .trim()
  .split(/\s+/);

const encoder = new TextEncoder();
const strictDecoder = new TextDecoder("utf-8", { fatal: true });
/** The words a code has (core/codes.py's MIN_WORDS, the server's default code_words). */
export const CODE_WORDS = 2;

/** @typedef {{id: string, code: string | null, nameplate?: number | null, sealed_code?: string | null}} InviteLike */

/**
 * A uniform pick from `size` choices: rejection sampling, so no word is likelier.
 * @param {number} size
 */
function pick(size) {
  const limit = Math.floor(2 ** 32 / size) * size;
  for (;;) {
    const [n] = crypto.getRandomValues(new Uint32Array(1));
    if (n < limit) return n % size;
  }
}

/** Fresh secret words: `count - 1` adjectives, then a noun (as core/codes.py). */
export function drawWords(count = CODE_WORDS) {
  const chosen = Array.from({ length: count - 1 }, () => ADJECTIVES[pick(ADJECTIVES.length)]);
  chosen.push(NOUNS[pick(NOUNS.length)]);
  return chosen.join("-");
}

/** @param {string} roomId @param {string} inviteId */
function codeAad(roomId, inviteId) {
  return concat(encoder.encode(INFO_CODE_WORDS), lengthPrefixed(roomId), lengthPrefixed(inviteId));
}

/** @param {RoomKey} key */
async function codeKey(key) {
  return aesKey(await hkdf(key.secret, INFO_CODE_WORDS));
}

/**
 * An invite's words sealed under the room key, bound to the room and the invite.
 * @param {RoomKey} key
 * @param {string} roomId
 * @param {string} inviteId
 * @param {string} words
 */
export async function sealCodeWords(key, roomId, inviteId, words, nonce = randomBytes(NONCE_SIZE)) {
  return seal(await codeKey(key), key.kid, nonce, encoder.encode(words), codeAad(roomId, inviteId));
}

/**
 * The words of a `sealed_code`; throws E2EError when it is not this room's and invite's.
 * @param {RoomKey} key
 * @param {unknown} envelope
 * @param {string} roomId
 * @param {string} inviteId
 */
export async function openCodeWords(key, envelope, roomId, inviteId) {
  const { kid, nonce, sealed } = parseEnvelope(envelope);
  if (kid !== key.kid) throw new E2EError("wrong_key", "sealed with another key than the one given");
  try {
    const params = { name: "AES-GCM", iv: nonce, additionalData: codeAad(roomId, inviteId) };
    return strictDecoder.decode(await crypto.subtle.decrypt(params, await codeKey(key), sealed));
  } catch {
    throw new E2EError("auth_failed", "tampered, or not this room's and invite's words");
  }
}

/**
 * The words of an invite as members trust them: only from its `sealed_code`, never from a
 * `code` the server could have made up (null when there is none, or it does not open).
 * @param {InviteLike | undefined} invite
 * @param {string} roomId
 * @param {string} keyText  the room key as invite links carry it
 */
export async function trustedWords(invite, roomId, keyText) {
  if (!invite?.sealed_code || !keyText) return null;
  try {
    return await openCodeWords(await RoomKey.decode(keyText), invite.sealed_code, roomId, invite.id);
  } catch {
    return null;
  }
}

/**
 * An encrypted room's invites with the code this browser can read: the nameplate and the
 * sealed words; `code` is null where there are no such words.
 * @template {InviteLike} T
 * @param {T[]} invites
 * @param {string} roomId
 * @param {string} keyText
 * @returns {Promise<T[]>}
 */
export function withRoomCodes(invites, roomId, keyText) {
  return Promise.all(
    invites.map(async (inv) => {
      const words = await trustedWords(inv, roomId, keyText);
      return { ...inv, code: words && inv.nameplate ? `${inv.nameplate}-${words}` : null };
    }),
  );
}

/**
 * Give a new invite of an encrypted room its code: draw the words here, store them sealed
 * (PATCH sealed_code), and answer the invite with the code shown to this member.
 * @template {InviteLike} T
 * @param {string} roomId
 * @param {T} invite
 * @param {string} keyText
 * @returns {Promise<T>}
 */
export async function makeRoomCode(roomId, invite, keyText) {
  const key = await RoomKey.decode(keyText);
  const words = drawWords();
  const sealed = await sealCodeWords(key, roomId, invite.id, words);
  const stored = /** @type {T} */ (
    /** @type {unknown} */ (await updateInvite(roomId, invite.id, { sealed_code: sealed }))
  );
  return (await withRoomCodes([stored], roomId, keyText))[0];
}
