#!/usr/bin/env python3
"""Time from launching a server to its first successful HTTP response.

    startup.py URL RUNS -- COMMAND...

Starts COMMAND RUNS times. Each time it polls URL every millisecond (a fresh TCP connection and one
GET each try) from the moment the process is spawned until a 200 arrives, records the elapsed time,
then stops the process with SIGTERM and waits for it. Prints one line per run and a summary line:

    startup_ms min=212.3 median=230.1 max=260.0 runs=5 cpu_ms_median=180.0

The clock starts just before spawn, so everything the launcher does (bin/turnpike's staleness check,
the JVM's start, loading the configuration, binding) is included: the number a person waiting for
the port would see. cpu_ms is the CPU time (user + system, all threads, and the launcher's finished
children) the process had used when the first 200 arrived: on a busy machine the wall time mostly
measures waiting for a core, the CPU time does not.
"""
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.parse


def first_ok(host, port, path, deadline):
    request = f"GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode()
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.5) as s:
                s.sendall(request)
                head = s.recv(64)
                if head.startswith(b"HTTP/1.1 200"):
                    return True
        except OSError:
            pass
        time.sleep(0.001)
    return False


def cpu_ms(pid):
    """utime + stime + cutime + cstime of pid, in ms (fields 14-17 of /proc/PID/stat)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return sum(int(x) for x in fields[11:15]) * 1000 / os.sysconf("SC_CLK_TCK")
    except OSError:
        return float("nan")


def main():
    if len(sys.argv) < 5 or sys.argv[3] != "--":
        sys.exit(__doc__)
    url = urllib.parse.urlsplit(sys.argv[1])
    runs = int(sys.argv[2])
    command = sys.argv[4:]
    times = []
    cpus = []
    for i in range(runs):
        start = time.monotonic()
        proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                start_new_session=True)
        ok = first_ok(url.hostname, url.port, url.path or "/", start + 30)
        elapsed = (time.monotonic() - start) * 1000
        cpu = cpu_ms(proc.pid)
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        if not ok:
            sys.exit(f"startup.py: no 200 from {sys.argv[1]} within 30 s (run {i + 1})")
        times.append(elapsed)
        cpus.append(cpu)
        print(f"run {i + 1}: {elapsed:.1f} ms, {cpu:.0f} ms CPU", flush=True)
        time.sleep(0.3)
    print(f"startup_ms min={min(times):.1f} median={statistics.median(times):.1f} "
          f"max={max(times):.1f} runs={runs} cpu_ms_median={statistics.median(cpus):.0f}")


if __name__ == "__main__":
    main()
