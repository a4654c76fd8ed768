#!/usr/bin/env python3
"""Writes an orchestrator-like log of SIZE bytes to stdout: mostly ordinary
INFO lines, with a few real errors spread through it (about one per MiB)."""
import random
import sys

rng = random.Random(7)
ordinary = [
    "2025-01-09 12:{m:02d}:{s:02d},{ms:03d} INFO  airflow.task: extracted {n} rows from s3://bucket/part-{n}.csv",
    "2025-01-09 12:{m:02d}:{s:02d},{ms:03d} INFO  etl.load: batch {n} committed in {ms} ms (0 errors)",
    "2025-01-09 12:{m:02d}:{s:02d},{ms:03d} DEBUG dbt: Began running node model.sales.stg_orders_{n}",
    "[{m:02d}:{s:02d}] spark.scheduler: Finished task {n}.0 in stage 3.0 (TID {ms}) in {ms} ms on executor 2",
    "2025-01-09 12:{m:02d}:{s:02d},{ms:03d} INFO  warehouse: retrying in 5s is disabled; ERROR_LOG=/var/log/etl/{n}.log",
]
errors = [
    "ERROR 1146 (42S02) at line 12: Table 'etl.sales_{n}' doesn't exist",
    "psycopg2.OperationalError: connection to server at \"db\" (10.0.0.5), port 5432 failed: Connection refused",
    "Code: 60. DB::Exception: Table default.events_{n} doesn't exist. (UNKNOWN_TABLE)",
    "java.lang.OutOfMemoryError: Java heap space",
]


def generate(size, write):
    """Calls write(bytes) with SIZE bytes of log in total."""
    block = []
    for i in range(20000):
        t = ordinary[i % len(ordinary)]
        block.append(t.format(m=i % 60, s=(i * 7) % 60, ms=i % 1000, n=rng.randint(1, 99999)))
    text = "\n".join(block) + "\n"
    err_every = 1 << 20
    written = 0
    k = 0
    while written < size:
        chunk = text.encode()
        if written // err_every != (written + len(chunk)) // err_every:
            chunk += (errors[k % len(errors)].format(n=k) + "\n").encode()
            k += 1
        chunk = chunk[: size - written]
        write(chunk)
        written += len(chunk)


if __name__ == "__main__":
    generate(int(float(sys.argv[1])), sys.stdout.buffer.write)
