"""What a benchmark reads about a process it started (Linux /proc)."""


def rss_mb(pid: int) -> float:
    """The process's resident memory in MB."""
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def status_kb(field: str) -> int:
    """A figure of this process's own /proc status in kB: VmRSS now, VmHWM its peak
    (ru_maxrss would include the parent's, across exec)."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith(f"{field}:"):
                return int(line.split()[1])
    return 0
