// One side of a CPace run for tests/web/test_pake_interop.py: web/e2e/pake.js driven by
// JSON lines on stdin, answering with JSON lines on stdout (bytes as hex).
import { createInterface } from "node:readline";

import { JoinerPake, MemberPake, PakeFailed } from "../../src/peerlane/web/e2e/pake.js";

/** @param {string} hex */
const bytes = (hex) => Uint8Array.from(Buffer.from(hex, "hex"));
/** @param {Uint8Array} b */
const hex = (b) => Buffer.from(b).toString("hex");
/** @param {object} message */
const say = (message) => process.stdout.write(`${JSON.stringify(message)}\n`);
/** @param {{isk: Uint8Array, handoverKey: Uint8Array}} keys */
const keysOut = (keys) => ({ isk: hex(keys.isk), handover: hex(keys.handoverKey) });

/** @type {JoinerPake | MemberPake | null} */
let party = null;
for await (const line of createInterface({ input: process.stdin })) {
  const m = JSON.parse(line);
  try {
    if (m.start) {
      const channel = { ...m.start.channel, sid: bytes(m.start.channel.sid) };
      party =
        m.start.role === "joiner" ? new JoinerPake(m.start.words, channel) : new MemberPake(m.start.words, channel);
      say({ share: hex(party.share) });
    } else if (party instanceof JoinerPake) {
      const { confirm, keys } = party.finish(bytes(m.share), bytes(m.confirm));
      say({ confirm: hex(confirm), ...keysOut(keys) });
    } else if (party instanceof MemberPake && m.confirm === undefined) {
      say({ share: hex(party.share), confirm: hex(party.respond(bytes(m.share))) });
    } else if (party instanceof MemberPake) {
      say(keysOut(party.confirm(bytes(m.confirm))));
    }
  } catch (error) {
    if (!(error instanceof PakeFailed)) throw error;
    say({ failed: error.message });
  }
}
