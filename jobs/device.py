"""Device set-up and precision choice. TensorFlow is imported inside functions only."""
from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

BF16_CPU_FLAGS = ("amx_bf16", "avx512_bf16")  # the widest first: cpu_kind() relies on the order


def cpu_flags(cpuinfo: Path = Path("/proc/cpuinfo")) -> set[str]:
    try:
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("flags"):
                return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def cpu_kind(flags: set[str] | None = None) -> str:
    """The widest instruction set oneDNN will dispatch to here. Training that rounds to bfloat16 is
    bit-reproducible only between CPUs of one kind (their kernels sum in different orders)."""
    flags = cpu_flags() if flags is None else flags
    for kind in (*BF16_CPU_FLAGS, "avx512f", "avx2"):  # BF16_CPU_FLAGS lists the widest first
        if kind in flags:
            return kind
    return "other"


def resolve_precision(requested: str, *, flags: set[str] | None = None,
                      gpu_compute_capability: tuple[int, int] | None = None) -> str:
    """`auto` -> bf16 on CPUs with AMX/AVX512-BF16 and on Ampere+ GPUs, fp16 on older GPUs, else fp32."""
    if requested != "auto":
        return requested
    if gpu_compute_capability is not None:
        return "bf16" if gpu_compute_capability >= (8, 0) else "fp16"
    flags = cpu_flags() if flags is None else flags
    return "bf16" if any(f in flags for f in BF16_CPU_FLAGS) else "fp32"


def gpu_compute_capability() -> tuple[int, int] | None:
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    if not gpus:
        return None
    details = tf.config.experimental.get_device_details(gpus[0])
    return tuple(details.get("compute_capability", (0, 0)))


def configure() -> None:
    """Memory growth on every visible GPU: several jobs' processes may share a box."""
    import tensorflow as tf

    for gpu in tf.config.list_physical_devices("GPU"):
        try:
            tf.config.experimental.set_memory_growth(gpu, True)
        except RuntimeError:  # already initialised: growth was set earlier in this process
            pass


POLICIES = {"fp32": "float32", "bf16": "mixed_bfloat16", "fp16": "mixed_float16"}


@contextmanager
def precision_scope(precision: str):
    """Build models under `precision` (`auto` resolved for this machine): sets Keras' global dtype
    policy, yields the precision in force, and restores the previous policy on leaving, so nothing
    built afterwards inherits it. The one place that touches the global policy."""
    import keras

    resolved = resolve_precision(precision, gpu_compute_capability=gpu_compute_capability())
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy(POLICIES[resolved])
    try:
        yield resolved
    finally:
        keras.mixed_precision.set_global_policy(previous)
