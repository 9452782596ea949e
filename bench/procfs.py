"""What the benchmark reads from /proc: CPU time and memory of processes and the machine."""

from __future__ import annotations

import os
import time
from pathlib import Path

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _stat_fields(pid: int) -> list[str]:
    stat = Path(f"/proc/{pid}/stat").read_text()
    return stat[stat.rindex(")") + 2 :].split()  # from field 3 (state) on


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (all its threads); 0 once it is gone."""
    try:
        fields = _stat_fields(pid)
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def children_cpu_seconds(parent: int) -> float:
    """CPU time of a process and of its direct children (PostgreSQL's backends)."""
    total = process_cpu_seconds(parent)
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if int(_stat_fields(int(entry.name))[1]) == parent:
                total += process_cpu_seconds(int(entry.name))
        except (OSError, ValueError):
            continue
    return total


def machine_busy_seconds() -> float:
    """CPU time the whole machine (all cores) spent on anything but idling."""
    first = Path("/proc/stat").read_text().split("\n", 1)[0]
    ticks = [int(v) for v in first.split()[1:9]]
    return (sum(ticks) - ticks[3] - ticks[4]) / CLOCK_TICKS  # less idle and iowait


def memory_mib(pid: int) -> tuple[float, float]:
    """(resident now, peak resident) of a process in MiB: VmRSS and VmHWM."""
    found = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            found[key] = int(value.split()[0]) / 1024  # kB
    return found["VmRSS"], found["VmHWM"]


def wait_until_quiet(limit: float, *, busy_below: float = 0.1, window: float = 1.0) -> float:
    """Wait (at most `limit` seconds) until the machine spends less than `busy_below`
    of one core over `window` seconds; returns the busy fraction last seen. For a
    machine shared with other work (test suites): their load skews every number."""
    deadline = time.monotonic() + limit
    while True:
        before = machine_busy_seconds()
        time.sleep(window)
        busy = (machine_busy_seconds() - before) / window
        if busy < busy_below or time.monotonic() >= deadline:
            return busy
