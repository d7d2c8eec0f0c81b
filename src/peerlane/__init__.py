"""peerlane: real-time group chat and file sharing, peer to peer over WebRTC.

The package is layered (see docs/architecture.md):

- :mod:`peerlane.core` is sans-I/O: wire messages, invite codes, credentials, the
  per-connection session state machine. No asyncio, sockets or database calls.
- :mod:`peerlane.storage` and :mod:`peerlane.bus` are back-ends behind one interface each.
- :mod:`peerlane.server` is the ASGI driver (FastAPI on uvicorn) around the core.
- :mod:`peerlane.cli` is the command line.
"""

__version__ = "0.1.0"
