"""--ks-malloc: where freed blocks of memory go (harness.allocator)."""

import ctypes
import subprocess
import sys

import pytest

from harness.allocator import M_MMAP_THRESHOLD, M_TRIM_THRESHOLD, MMAP_THRESHOLD, TRIM_THRESHOLD, apply, parse_malloc
from harness.errors import KeyspaceError


def test_keep_sets_both_thresholds_and_system_sets_nothing():
    calls = []

    def fake(param, value):
        calls.append((param, value))
        return 1

    assert apply("keep", mallopt=fake).startswith("keep")
    assert calls == [(M_MMAP_THRESHOLD, MMAP_THRESHOLD), (M_TRIM_THRESHOLD, TRIM_THRESHOLD)]
    calls.clear()
    assert apply("system", mallopt=fake).startswith("system") and calls == []


def test_a_refusal_is_said_not_hidden():
    assert apply("keep", mallopt=lambda p, v: 0) == "system (glibc refused the thresholds)"


def test_bad_choices_are_one_line_errors():
    assert parse_malloc(" Keep ") == "keep"
    for bad in ("", "jemalloc", "1"):
        with pytest.raises(KeyspaceError, match="--ks-malloc: .* give keep .* or system"):
            parse_malloc(bad)


def _has_mallinfo2() -> bool:
    try:
        return hasattr(ctypes.CDLL("libc.so.6"), "mallinfo2")
    except OSError:
        return False


@pytest.mark.skipif(not sys.platform.startswith("linux") or not _has_mallinfo2(), reason="needs glibc 2.33 or newer (mallinfo2)")
def test_keep_serves_a_large_block_from_the_heap_and_keeps_it_on_glibc():
    """glibc's own accounting (mallinfo2): with keep, a 64 MiB block is not a mapping of its own and, once freed,
    stays in the heap as free space for the next allocation; with glibc's defaults it is a fresh mapping, unmapped
    when freed."""
    code = """
import ctypes, json, sys
import numpy as np
from harness.allocator import apply
apply(sys.argv[1])
class Info(ctypes.Structure):
    _fields_ = [(n, ctypes.c_size_t) for n in ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost")]
libc = ctypes.CDLL("libc.so.6")
libc.mallinfo2.restype = Info
block = np.ones(16 << 20, np.float32)  # 64 MiB
held = libc.mallinfo2()
del block
freed = libc.mallinfo2()
print(json.dumps({"mapped while held": held.hblkhd, "free in the heap after": freed.fordblks}))
"""
    import json

    got = {c: json.loads(subprocess.run([sys.executable, "-c", code, c], capture_output=True, text=True, check=True).stdout) for c in ("keep", "system")}
    mib = 1 << 20
    assert got["system"]["mapped while held"] >= 64 * mib > got["system"]["free in the heap after"], got
    assert got["keep"]["mapped while held"] < 64 * mib <= got["keep"]["free in the heap after"], got
