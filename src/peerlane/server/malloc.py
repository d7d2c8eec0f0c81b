"""glibc's allocator, tuned for streaming request bodies.

uvicorn hands an upload to the app as one new ``bytes`` object per socket read (about
256 KiB). With glibc's defaults such a buffer sits right at the line between heap and
``mmap`` allocations, and the heap top is given back to the kernel after almost every
free (the trim threshold follows the last freed ``mmap`` chunk, 2 x 256 KiB). Every
chunk then costs fresh pages: page faults and zeroing in the kernel. A bare uvicorn app
that only reads a 2 GB body used 1.0 s of CPU per GB that way; with the two thresholds
below it used 0.25 s, and received 4-5x faster (docs/benchmarks.md, "File upload").

Both limits are fixed sizes, so they also turn off glibc's dynamic adjustment:
allocations up to 1 MiB come from the heap, and up to 16 MiB of free heap stays with
the process instead of going back to the kernel after each request.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

# From glibc's <malloc.h>.
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3

MMAP_THRESHOLD = 1024 * 1024
TRIM_THRESHOLD = 16 * 1024 * 1024


def tune() -> bool:
    """Set the two thresholds; False where the C library is not glibc."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # musl and others have no mallopt
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    return bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(
        mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD)
    )
