"""The baselines of bench/transfer_cli.py, one process per end (as the CLIs are):

    _bare_copy.py tcp-receive OUT        # prints its port, then the seconds it took
    _bare_copy.py tcp-send FILE HOST PORT
    _bare_copy.py rtc-receive SIZE       # reads the offer on stdin, prints the answer,
    _bare_copy.py rtc-send SIZE          # prints the offer, reads the answer; then blast

tcp: a plain socket copy of a file to a file, 1 MiB at a time (no TLS, no hashing).
rtc: an aiortc data channel (no ICE servers, host candidates only) carrying SIZE bytes in
frames as large as aiortc takes (64 KiB less the 8-byte header peerlane's frames have),
paced by bufferedAmount as peerlane's sender paces; nothing is read from or written to
disk. The receiving end prints the seconds from its first byte to its last.
"""

from __future__ import annotations

import asyncio
import json
import socket
import sys
import time

CHUNK = 1024 * 1024


def tcp_receive(out: str) -> None:
    with socket.create_server(("0.0.0.0", 0)) as server:
        print(server.getsockname()[1], flush=True)
        conn, _ = server.accept()
        buffer = bytearray(CHUNK)
        with conn, open(out, "wb") as file:
            first = None
            while n := conn.recv_into(buffer):
                first = first or time.monotonic()
                file.write(memoryview(buffer)[:n])
            print(time.monotonic() - (first or time.monotonic()), flush=True)


def tcp_send(path: str, host: str, port: str) -> None:
    with socket.create_connection((host, int(port))) as conn, open(path, "rb") as file:
        while chunk := file.read(CHUNK):
            conn.sendall(chunk)


async def rtc(role: str, size: int) -> None:
    from aiortc import RTCPeerConnection, RTCSessionDescription

    from peerlane.peer.rtc_config import rtc_configuration

    pc = RTCPeerConnection(rtc_configuration([]))
    done = asyncio.get_running_loop().create_future()
    frame = 64 * 1024 - 8
    if role == "rtc-send":
        channel = pc.createDataChannel("blast")
        wake = asyncio.Event()
        channel.bufferedAmountLowThreshold = 256 * 1024
        channel.on("bufferedamountlow", wake.set)

        @channel.on("open")
        async def blast() -> None:
            payload, sent = b"\x00" * frame, 0
            while sent < size:
                while channel.bufferedAmount > 1024 * 1024:
                    wake.clear()
                    await wake.wait()
                channel.send(payload[: min(frame, size - sent)])
                sent += frame

        @channel.on("message")
        def finished(_message: object) -> None:
            done.set_result(None)

        await pc.setLocalDescription(await pc.createOffer())
        print(json.dumps({"sdp": pc.localDescription.sdp}), flush=True)
        answer = json.loads(await asyncio.to_thread(sys.stdin.readline))
        await pc.setRemoteDescription(RTCSessionDescription(answer["sdp"], "answer"))
    else:

        @pc.on("datachannel")
        def channel_came(channel: object) -> None:
            got, first = 0, 0.0

            @channel.on("message")  # type: ignore[attr-defined]
            def message(data: bytes) -> None:
                nonlocal got, first
                first = first or time.monotonic()
                got += len(data)
                if got >= size:
                    print(time.monotonic() - first, flush=True)
                    channel.send("done")  # type: ignore[attr-defined]
                    done.set_result(None)

        offer = json.loads(await asyncio.to_thread(sys.stdin.readline))
        await pc.setRemoteDescription(RTCSessionDescription(offer["sdp"], "offer"))
        await pc.setLocalDescription(await pc.createAnswer())
        print(json.dumps({"sdp": pc.localDescription.sdp}), flush=True)
    await done
    await pc.close()


if __name__ == "__main__":
    role, *args = sys.argv[1:]
    if role == "tcp-receive":
        tcp_receive(*args)
    elif role == "tcp-send":
        tcp_send(*args)
    else:
        asyncio.run(rtc(role, int(args[0])))
