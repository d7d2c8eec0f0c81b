// The OPFS writer (a dedicated worker: synchronous access handles exist only there).
// A sync access handle writes in place at any offset and survives a crash after flush(),
// unlike createWritable(), which copies the whole file to a swap file on every open and
// commits only on close — useless for resuming a 4 GB file.
//
// Requests {seq, op, id, …} → replies {seq, ok, error?, data?}. Ops: open {id, size?}
// (creates `transfers/<id>`), write {id, position, data: ArrayBuffer} (the reply moves
// `data` back, for the page to fill again), flush {id}, close {id}, remove {id}.

/** @type {any} */
const scope = self;
/** transfer id → FileSystemSyncAccessHandle @type {Map<string, any>} */
const handles = new Map();

/** @returns {Promise<FileSystemDirectoryHandle>} */
async function directory() {
  const root = await navigator.storage.getDirectory();
  return root.getDirectoryHandle("transfers", { create: true });
}

/** An op's result: a buffer to hand back to the page. @type {Record<string, (msg: any) => Promise<ArrayBuffer | void> | ArrayBuffer | void>} */
const ops = {
  async open({ id }) {
    if (handles.has(id)) return;
    const file = await (await directory()).getFileHandle(id, { create: true });
    handles.set(id, await /** @type {any} */ (file).createSyncAccessHandle());
  },
  write({ id, position, data }) {
    const handle = handleOf(id);
    const bytes = new Uint8Array(data);
    let done = 0;
    while (done < bytes.length) done += handle.write(bytes.subarray(done), { at: position + done });
    return data;
  },
  flush({ id }) {
    handleOf(id).flush();
  },
  close({ id }) {
    const handle = handles.get(id);
    handles.delete(id);
    handle?.flush();
    handle?.close();
  },
  async remove({ id }) {
    ops.close({ id });
    try {
      await (await directory()).removeEntry(id);
    } catch (err) {
      if (/** @type {{name?: string}} */ (err).name !== "NotFoundError") throw err;
    }
  },
};

/** @param {string} id */
function handleOf(id) {
  const handle = handles.get(id);
  if (!handle) throw new Error(`no open file for ${id}`);
  return handle;
}

// One request at a time, in order: a write must not overtake the open before it.
let queue = Promise.resolve();
scope.onmessage = (/** @type {MessageEvent} */ ev) => {
  const msg = ev.data;
  queue = queue.then(async () => {
    try {
      const data = await ops[msg.op](msg);
      if (data) scope.postMessage({ seq: msg.seq, ok: true, data }, [data]);
      else scope.postMessage({ seq: msg.seq, ok: true });
    } catch (err) {
      const e = /** @type {{name?: string, message?: string}} */ (err);
      scope.postMessage({ seq: msg.seq, ok: false, error: `${e.name ?? "Error"}: ${e.message ?? String(err)}` });
    }
  });
};
