// The block worker (a dedicated module worker, one per page: block-crypto.js starts it):
// AES-GCM of file blocks off the page's main thread, which then only hands blocks over
// and keeps the data channel fed. Each result goes back transferred, not copied.

import { runBlockJob } from "./block-jobs.js";

/** @type {any} */
const scope = self;

scope.addEventListener("message", async (/** @type {MessageEvent} */ event) => {
  const done = await runBlockJob(event.data);
  scope.postMessage(done, "bytes" in done ? [done.bytes.buffer] : []);
});
