"""Reads the crawler's JSON lines from stdin, counting pages, and samples the RSS of the process
writing them (the parent's other child: found through /proc) once a second: `secs pages rss`."""
import os
import sys
import threading
import time

pages = 0
started = time.monotonic()


def writer_pid():
    # The crawler is the process whose stdout is our stdin pipe.
    ours = os.readlink("/proc/self/fd/0")
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if int(pid) != os.getpid() and os.readlink(f"/proc/{pid}/fd/1") == ours:
                return int(pid)
        except OSError:
            continue
    return None


def rss(pid):
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return 0
    return 0


pid = writer_pid()
last = [0]


def sample():
    while True:
        last[0] = rss(pid) or last[0]
        print(f"{time.monotonic() - started:.2f}\t{pages}\t{last[0]}", flush=True)
        time.sleep(1)


threading.Thread(target=sample, daemon=True).start()
for _ in sys.stdin.buffer:
    pages += 1
print(f"{time.monotonic() - started:.2f}\t{pages}\t{last[0]}", flush=True)
