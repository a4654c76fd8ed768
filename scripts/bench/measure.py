#!/usr/bin/env python3
"""Runs a shell command, prints its wall time in seconds and the peak
resident memory (MiB) of the command's process tree (ru_maxrss of the
largest waited-for child, which is what a pipeline stage costs)."""
import resource
import subprocess
import sys
import time

cmd = sys.argv[1]
t0 = time.perf_counter()
proc = subprocess.run(cmd, shell=True, stdout=subprocess.DEVNULL)
elapsed = time.perf_counter() - t0
peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(f"{elapsed:.3f} {peak_kib / 1024:.1f} {proc.returncode}")
