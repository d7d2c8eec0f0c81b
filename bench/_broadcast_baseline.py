"""Baseline for chat_fanout.py: the same fan-out through a bare websockets server.

No peerlane code, no storage, no validation: hello → welcome + synced, then every chat
gets a seq, an ack to its sender and one broadcast to every connection, the same wire
shapes peerlane sends. Same event loop (uvloop) as the peerlane server, and
permessage-deflate only with ``--deflate`` (chat_fanout.py passes it when peerlane's
``ws_compression`` is on), so the difference between the two is peerlane's own work.
Usage: ``_broadcast_baseline.py PORT [--deflate]``.
"""

import asyncio
import itertools
import json
import sys
import time
from functools import partial

from websockets.asyncio.server import ServerConnection, broadcast, serve

CLIENTS: set[ServerConnection] = set()
SEQ = itertools.count(1)
dumps = partial(json.dumps, separators=(",", ":"))  # compact, as peerlane sends


async def handler(ws: ServerConnection) -> None:
    json.loads(await ws.recv())  # hello
    await ws.send(dumps({"type": "welcome", "v": 1, "peer_id": str(id(ws))}))
    await ws.send(dumps({"type": "synced", "latest_seq": 0}))
    CLIENTS.add(ws)
    try:
        async for raw in ws:
            chat = json.loads(raw)
            if chat.get("type") != "chat":
                continue
            seq, ts = next(SEQ), time.time()
            await ws.send(dumps({"type": "ack", "id": chat["id"], "seq": seq, "ts": ts}))
            message = {"type": "message", "seq": seq, "id": chat["id"], "sender": str(id(ws))}
            message |= {"sender_name": "bench", "ts": ts, "kind": "text", "ref": None}
            broadcast(CLIENTS, dumps({**message, "body": chat["body"]}))
    finally:
        CLIENTS.discard(ws)


async def main(port: int, deflate: bool) -> None:
    compression = "deflate" if deflate else None
    async with serve(handler, "127.0.0.1", port, max_size=None, compression=compression) as server:
        await server.serve_forever()


if __name__ == "__main__":
    args = (int(sys.argv[1]), "--deflate" in sys.argv[2:])
    try:
        import uvloop
    except ImportError:
        asyncio.run(main(*args))
    else:
        uvloop.run(main(*args))
