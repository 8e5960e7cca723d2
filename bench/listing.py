"""`python -m bench.listing`: the rows of a job list (`ganctl list`, the dashboard's `/api/jobs`) for
200 jobs, in one process: the per-job reads (`summary` per job, two queries each: the reference,
what both did before) against `service.progress_rows` (two queries in all), alternated, medians.
Prints a Markdown row for docs/BENCHMARKS.md."""
from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from bench.common import cpu_name
from bench.ui import seed_store


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--jobs", type=int, default=200)
    ap.add_argument("--reps", type=int, default=15)
    a = ap.parse_args()
    from ganctl.jobs import service

    with tempfile.TemporaryDirectory() as tmp:
        store, _ = seed_store(Path(tmp), a.jobs)
        jobs = store.list_jobs(limit=a.jobs)

        def per_job():
            return {j.id: service.summary(store, j, grids=False).progress() for j in jobs}

        def batched():
            return service.progress_rows(store, jobs)

        assert per_job() == batched()  # the same figures, or the comparison means nothing
        times = {per_job: [], batched: []}
        for _ in range(a.reps):
            for f in (per_job, batched):
                t0 = time.perf_counter()
                f()
                times[f].append((time.perf_counter() - t0) * 1000)
    ref, new = statistics.median(times[per_job]), statistics.median(times[batched])
    print(f"{cpu_name()}, {a.jobs} jobs, SQLite, medians of {a.reps}")
    print("| list rows | per-job reads (reference) | progress_rows | ratio |\n| --- | ---: | ---: | ---: |")
    print(f"| {a.jobs} jobs | {ref:.1f} ms | {new:.1f} ms | {ref / new:.1f}x |")


if __name__ == "__main__":
    main()
