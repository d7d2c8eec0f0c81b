// A node worker_threads stand-in for a browser's dedicated module worker: `self` with the
// worker scope's addEventListener and postMessage over parentPort, then the worker module
// named in workerData (block-crypto.test.mjs runs web/e2e/file-crypto-worker.js in it).
import { parentPort, workerData } from "node:worker_threads";

globalThis.self = {
  addEventListener: (type, listener) => parentPort.on(type, (data) => listener({ data })),
  postMessage: (message, transfer) => parentPort.postMessage(message, transfer),
};
await import(workerData.module);
