"""Resident memory of this process (Linux /proc), for the peak-RSS goals.

``reset_peak()`` writes 5 to ``/proc/self/clear_refs``, which resets the
kernel's high-water mark (``VmHWM``) to the current RSS; after the measured
work, ``peak_kib() - before`` is the growth that work caused at its peak.
"""

from __future__ import annotations


def _status_kib(field: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def rss_kib() -> int:
    """Resident set size now."""
    return _status_kib("VmRSS")


def peak_kib() -> int:
    """The highest resident set size since the last ``reset_peak()``."""
    return _status_kib("VmHWM")


def reset_peak() -> int:
    """Reset the high-water mark; returns the RSS it starts from (KiB)."""
    with open("/proc/self/clear_refs", "w") as refs:
        refs.write("5")
    return rss_kib()
