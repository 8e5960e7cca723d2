"""`python -m bench.ui`: the dashboard under load, on loopback: 200 jobs in the store, 20 event-stream
clients on one training job, and the page/API latency measured meanwhile.

The training job's epochs are written by this script through the store's own calls (claim, then
record_epoch every --every seconds, as a worker's hook does), so the figures measure the dashboard,
not TensorFlow. Prints a Markdown table for docs/BENCHMARKS.md.
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

from bench.common import cpu_name, free_port, ganctl_argv, scratch_env


def seed_store(home: Path, n_jobs: int):
    from ganctl.jobs import service
    from ganctl.jobs.config import Settings

    store = service.open_store(Settings(home=home))
    for i in range(n_jobs - 1):
        job = store.create_job("train", {"arch": ("dcgan", "upsample")[i % 2], "epochs": 5}, total_epochs=5)
        if i % 3 == 0:
            store.claim(job.id, worker="bench@host", gpu="cpu", lease_s=3600)
            for e in range(1, 6):
                store.record_epoch(job.id, 1, e, 1.2, 0.8, 1.0, 100.0)
    live = store.create_job("train", {"arch": "dcgan", "epochs": 10_000}, total_epochs=10_000)
    store.claim(live.id, worker="bench@host", gpu="cpu", lease_s=3600)
    return store, live.id


def sse_client(url: str, arrivals: list, stop: threading.Event) -> None:
    """Reads `state` events; records (epochs_done, arrival time) of each."""
    with urllib.request.urlopen(url, timeout=60) as r:
        for raw in r:
            if stop.is_set():
                return
            line = raw.decode().strip()
            if line.startswith("data:"):
                d = json.loads(line[5:])
                arrivals.append((d.get("epochs_done", 0), time.time()))


def timed_get(url: str, reps: int) -> tuple[float, float]:
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        urllib.request.urlopen(url, timeout=60).read()
        times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    return statistics.median(times), times[int(0.95 * (len(times) - 1))]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--jobs", type=int, default=200)
    ap.add_argument("--clients", type=int, default=20)
    ap.add_argument("--epochs", type=int, default=10, help="epochs written during the run")
    ap.add_argument("--every", type=float, default=2.0, help="seconds between two written epochs")
    ap.add_argument("--reps", type=int, default=20)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        store, job_id = seed_store(home, a.jobs)
        port = free_port()
        ui = subprocess.Popen([*ganctl_argv(), "ui", "--port", str(port)], env=scratch_env(home),
                              stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        base = f"http://127.0.0.1:{port}"
        try:
            for _ in range(200):
                try:
                    urllib.request.urlopen(base + "/api/workers", timeout=5).read()
                    break
                except OSError:
                    time.sleep(0.2)
            idle = {p: timed_get(base + p, a.reps) for p in ("/", "/api/jobs", f"/api/jobs/{job_id}")}
            stop, clients = threading.Event(), []
            for _ in range(a.clients):
                arrivals: list = []
                t = threading.Thread(target=sse_client, args=(f"{base}/events/jobs/{job_id}", arrivals, stop), daemon=True)
                t.start()
                clients.append(arrivals)
            time.sleep(2)
            written: dict[int, float] = {}

            def writer():
                for e in range(1, a.epochs + 1):
                    written[e] = time.time()
                    store.record_epoch(job_id, 1, e, 1.0, 1.0, a.every, 100.0)
                    time.sleep(a.every)
            w = threading.Thread(target=writer)
            w.start()
            loaded = {p: timed_get(base + p, a.reps) for p in ("/", "/api/jobs", f"/jobs/{job_id}", f"/api/jobs/{job_id}")}
            w.join()
            time.sleep(3)
            stop.set()
        finally:
            ui.terminate()
            ui.wait(timeout=20)
    delays = sorted((t - written[e]) * 1000 for c in clients for e, t in c if e in written)
    got = [len({e for e, _ in c if e in written}) for c in clients]
    print(f"CPU: {cpu_name()}; {a.jobs} jobs in the store, {a.clients} event-stream clients on one job, "
          f"{a.epochs} epochs written {a.every} s apart\n")
    print("| request | idle median / p95 ms | with the clients open, median / p95 ms |\n|---|---|---|")
    for p, (m, p95) in loaded.items():
        i = idle.get(p)
        print(f"| GET {p.replace(job_id, '<id>')} | " + (f"{i[0]:.1f} / {i[1]:.1f}" if i else "-") + f" | {m:.1f} / {p95:.1f} |")
    print(f"\nepoch events: {sum(got)}/{a.clients * a.epochs} delivered (every client: min {min(got)}); "
          f"write -> browser-side arrival median {statistics.median(delays):.0f} ms, "
          f"p95 {delays[int(0.95 * (len(delays) - 1))]:.0f} ms, max {delays[-1]:.0f} ms; "
          f"clients that reached the last epoch: {sum(a.epochs in {e for e, _ in c} for c in clients)}/{a.clients} "
          f"(a stream polls the store every second and sends the whole state, so epochs written faster coalesce)")


if __name__ == "__main__":
    main()
