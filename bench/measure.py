"""Run one command; print its wall time and its own peak RSS as JSON (bench/run.py calls this).

    echo '{"argv": ["credits", "balance"], "env": {...}, "stdin": null, "stdout": null,
           "stderr": "/tmp/err", "timeout": null}' | python -S -I bench/measure.py

Why a separate, small process: on Linux a child's ru_maxrss (os.wait4) is at least the resident
size of the process that forked it, since exec keeps the high-water mark of the memory it
replaces (a vfork child, as subprocess makes, even keeps the parent's own peak). Forked from
bench/run.py, every command would weigh at least what the runner weighs (about 25 MB). This
script starts without site-packages (-S -I), imports only builtins and json, forks and waits
with os.wait4: what it reports is the command's own peak, unless that is below this script's
resident size (about 9 MB), which it also reports ("floor").
"""

import json
import os
import signal
import sys
import time


def main():
    req = json.loads(sys.stdin.read())
    fin = os.open(req.get("stdin") or os.devnull, os.O_RDONLY)
    fout = os.open(req.get("stdout") or os.devnull, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    ferr = os.open(req.get("stderr") or os.devnull, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    argv, env = req["argv"], req.get("env") or dict(os.environ)
    timed_out = []
    with open("/proc/self/status") as f:
        floor = next((int(line.split()[1]) for line in f if line.startswith("VmRSS:")), 0)
    t0 = time.perf_counter()
    pid = os.fork()
    if pid == 0:
        try:
            os.dup2(fin, 0)
            os.dup2(fout, 1)
            os.dup2(ferr, 2)
            os.execvpe(argv[0], argv, env)
        except BaseException as e:  # noqa: BLE001 - the child must never return into this script
            os.write(2, f"measure: cannot run {argv[0]!r}: {e}\n".encode())
        os._exit(127)
    if req.get("timeout"):

        def expire(signum, frame):
            timed_out.append(True)
            os.kill(pid, signal.SIGKILL)

        signal.signal(signal.SIGALRM, expire)
        signal.setitimer(signal.ITIMER_REAL, float(req["timeout"]))
    _, status, usage = os.wait4(pid, 0)
    wall = time.perf_counter() - t0
    signal.setitimer(signal.ITIMER_REAL, 0)
    sys.stdout.write(
        json.dumps(
            {
                "wall": wall,
                "maxrss_kib": usage.ru_maxrss,
                "rc": os.waitstatus_to_exitcode(status),
                "timed_out": bool(timed_out),
                "floor_kib": floor,
            }
        )
    )


if __name__ == "__main__":
    main()
