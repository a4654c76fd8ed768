#!/usr/bin/env python3
"""Runs a command and prints: wall seconds, peak RSS (MB) of that process
alone (wait4), exit code.
  measure.py CMD...                   the command as given (shell words)
  measure.py --stdin-size N CMD...    also feeds it N bytes of generated log
                                      on stdin (generated here, so the
                                      generator's memory is not counted)"""
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
args = sys.argv[1:]
size = None
if args and args[0] == "--stdin-size":
    size = int(float(args[1]))
    args = args[2:]
t0 = time.perf_counter()
# `exec` so the measured process is the command itself, not a shell.
proc = subprocess.Popen(["sh", "-c", "exec " + " ".join(args)],
                        stdin=subprocess.PIPE if size else subprocess.DEVNULL,
                        stdout=subprocess.DEVNULL)
if size:
    import make_log
    try:
        make_log.generate(size, proc.stdin.write)
    except BrokenPipeError:
        pass
    proc.stdin.close()
_, status, usage = os.wait4(proc.pid, 0)
elapsed = time.perf_counter() - t0
print(f"{elapsed:.3f} {usage.ru_maxrss / 1024:.1f} {os.waitstatus_to_exitcode(status)}")
