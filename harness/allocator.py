"""Where the process's freed large blocks go (`--ks-malloc`): kept for the next allocation, or handed back.

glibc serves an allocation above its mmap threshold (which its own rule raises to at most 32 MiB) with a
fresh mapping, unmaps it when it is freed, and the next one is faulted in page by page again. A triple's
statistics make and free tensors of [N, N] pooled pairs, 36-72 MB each at 3,000 keys (distances, kernels,
their float64 copies), many times over; on the virtual machines this project runs on a page fault is
costly, so the faults were a large share of the statistics' time (PERFORMANCE.md "Analysis stages":
the twin's triple 2.8 s → 2.0 s on one thread with blocks kept, every figure equal, since only where the
memory comes from changes).

`keep` (the default) raises glibc's mmap threshold to 1 GiB and its trim threshold to 2 GiB (`mallopt`)
when the run starts: blocks under 1 GiB come from the heap, and freed ones stay there for the next
allocation of their size instead of going back to the system. Cost: the process holds the memory it
freed (its resident set stays near its peak instead of falling after each triple; the peak itself is
that of the live tensors plus the heap's fragmentation). `system` leaves glibc's defaults. Where the C
library is not glibc (macOS, musl) there is nothing to set and the run says so.
"""

from __future__ import annotations

import ctypes
import ctypes.util

from harness.errors import KeyspaceError

CHOICES = ("keep", "system")
# glibc's mallopt parameters (malloc.h) and the values `keep` sets
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
MMAP_THRESHOLD, TRIM_THRESHOLD = 1 << 30, (1 << 31) - 1


def parse_malloc(value: str) -> str:
    """`--ks-malloc`: keep or system."""
    v = str(value).strip().lower()
    if v not in CHOICES:
        raise KeyspaceError(f"--ks-malloc: {value!r} is not a choice; give keep (freed blocks reused) or system (glibc's defaults)")
    return v


def add_option(parser) -> None:
    """`--malloc keep|system` on an argparse parser (a command of its own: the organisms' build, the perf scripts),
    as the suite's `--ks-malloc`."""
    parser.add_argument("--malloc", default="keep", choices=CHOICES,
                        help="freed blocks of memory, as the suite's --ks-malloc: keep (default; reused instead of "
                             "faulted in afresh; the same figures either way) or system (glibc's defaults)")


def _mallopt():
    """glibc's mallopt, or None where the C library has none."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        fn = libc.mallopt
    except (OSError, AttributeError):
        return None
    fn.argtypes, fn.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    return fn


def apply(choice: str, *, mallopt=None) -> str:
    """Set the allocator for `choice` (see the module doc); returns the run header's words for it.
    `mallopt`: the C function (tests pass a fake); None finds glibc's."""
    choice = parse_malloc(choice)
    if choice == "system":
        return "system (glibc's defaults; --ks-malloc keep reuses freed blocks)"
    fn = _mallopt() if mallopt is None else mallopt
    if fn is None:
        return "system (no glibc mallopt in this C library)"
    if not (fn(M_MMAP_THRESHOLD, MMAP_THRESHOLD) and fn(M_TRIM_THRESHOLD, TRIM_THRESHOLD)):
        return "system (glibc refused the thresholds)"
    return "keep (freed blocks under 1 GiB stay in the process for reuse; --ks-malloc system to hand them back)"
