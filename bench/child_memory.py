"""What the load-memory benches share: a measured child process and its peak resident memory.

A bench runs itself again as `script --child ...` in a fresh process, which prints one JSON report as
its last line; `run_child` returns it.
"""
import json
import subprocess
import sys


def peak_rss() -> int:
    """This process's peak resident memory. VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the
    forking parent (which held a whole file's tensors while writing it), VmHWM starts anew at exec."""
    return _status_bytes("VmHWM")


def resident_bytes() -> int:
    return _status_bytes("VmRSS")


def run_child(script: str, *args: str) -> dict:
    result = subprocess.run([sys.executable, script, "--child", *map(str, args)],
                            check=True, capture_output=True, text=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def _status_bytes(field: str) -> int:
    with open("/proc/self/status") as status:
        return int(next(line.split()[1] for line in status if line.startswith(field))) * 1024
