"""Helpers for the benchmarks: a scratch ganctl home, timed CLI runs, timed TensorFlow calls."""
from __future__ import annotations

import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path


# The flags that decide TensorFlow's CPU kernels (oneDNN's ISA), named in every benchmark's output.
ISA_FLAGS = ("avx2", "fma", "avx512f", "avx512bw", "avx512vl", "avx512_vnni", "avx512_bf16",
             "avx512_fp16", "amx_bf16", "amx_tile", "amx_int8")


def cpu_name() -> str:
    """CPU model (from /proc/cpuinfo), cores and the ISA flags it has, e.g.
    'AMD EPYC, 2 cores (avx2 fma avx512f ...)': each benchmark's figures name their machine."""
    from ganctl.jobs.device import cpu_flags

    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            model = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), model)
    except OSError:
        pass
    flags = cpu_flags()
    return f"{model}, {os.cpu_count()} cores ({' '.join(f for f in ISA_FLAGS if f in flags) or 'no AVX2'})"


def ganctl_argv() -> list[str]:
    exe = Path(sys.executable).parent / "ganctl"
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "ganctl.cli.main"]


def scratch_env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GANCTL_")}
    env.update(GANCTL_HOME=str(home), TF_CPP_MIN_LOG_LEVEL="2", **extra)
    return env


def timed(argv: list[str], env: dict, reps: int) -> tuple[float, list[str]]:
    """Median wall seconds of `reps` runs of a whole process, and the last run's stdout lines."""
    times, out = [], ""
    for _ in range(reps):
        t0 = time.perf_counter()
        proc = subprocess.run(argv, env=env, capture_output=True, text=True, check=True)
        times.append(time.perf_counter() - t0)
        out = proc.stdout
    return statistics.median(times), out.splitlines()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_redis(workdir: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    proc = subprocess.Popen([shutil.which("redis-server") or "redis-server", "--port", str(port),
                             "--bind", "127.0.0.1", "--save", "", "--dir", str(workdir)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc, f"redis://127.0.0.1:{port}/0"
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("redis-server did not start")


def median_ms(fn, arg, reps: int) -> float:
    """Median milliseconds of fn(arg) over `reps` calls after 2 warm-up calls, each call timed until
    all of its outputs are computed (TensorFlow may return before they are)."""
    import numpy as np
    import tensorflow as tf

    for _ in range(2):
        fn(arg)
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        out = fn(arg)
        [np.asarray(v) for v in tf.nest.flatten(out)]
        times.append(time.perf_counter() - t0)
    return 1000 * statistics.median(times)
