"""Memory is estimated before it is spent: a large allocation that would not fit is refused in one line."""

import os

from makemore import MakemoreError


def available():
    """Bytes of memory available to this process (Linux: MemAvailable; elsewhere: all of it)."""
    try:
        with open("/proc/meminfo") as f:
            return next(int(line.split()[1]) * 1024 for line in f if line.startswith("MemAvailable:"))
    except (OSError, StopIteration, ValueError):
        try:
            return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
        except (AttributeError, ValueError, OSError):  # no sysconf (Windows): nothing to say
            return float("inf")


def require(nbytes, what, advice):
    """Refuse `what`, which needs about `nbytes`, where it would not fit: the message says how to avoid it."""
    have = available()
    if nbytes > have:
        raise MakemoreError(f"{what} need about {nbytes / 2**30:,.1f} GiB, but {have / 2**30:.1f} GiB of memory is "
                            f"available: {advice}")
