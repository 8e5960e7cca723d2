import pydantic
import pytest

from ganctl.jobs import archs, device
from ganctl.jobs.spec import SampleSpec, TrainSpec


def test_spec_round_trips_through_json():
    spec = TrainSpec(arch="dcgan", classes="trouser,bag", epochs=3, limit=10)
    assert spec.classes == (1, 8)
    assert TrainSpec.model_validate_json(spec.model_dump_json()) == spec


def test_each_arch_owns_its_defaults_and_specs_override_them():
    spec = TrainSpec(arch="upsample")
    assert (spec.effective_lr_g, spec.effective_lr_d, spec.effective_label_noise) == (1e-4, 1e-5, 0.15)
    assert TrainSpec(arch="dcgan").effective_lr_d == 2e-4
    assert TrainSpec(arch="dcgan", lr_d=1e-3, batch_size=32).effective_batch_size == 32


@pytest.mark.parametrize("fields", [{"arch": "nope"}, {"epochs": 0}, {"limit": 0}, {"classes": "socks"},
                                     {"batch_size": 0}, {"lr_g": -1}, {"precision": "fp8"}, {"split": "x"}])
def test_bad_specs_are_refused(fields):
    with pytest.raises(pydantic.ValidationError):
        TrainSpec(**fields)


def test_sample_spec_bounds():
    with pytest.raises(pydantic.ValidationError):
        SampleSpec(n=0)
    assert SampleSpec().format == "h5"


def test_auto_precision_follows_the_cpu_and_gpu():
    assert device.resolve_precision("auto", flags={"avx2", "amx_bf16"}) == "bf16"
    assert device.resolve_precision("auto", flags={"avx512f", "avx512_bf16"}) == "bf16"
    assert device.resolve_precision("auto", flags={"avx2", "fma"}) == "fp32"
    assert device.resolve_precision("auto", gpu_compute_capability=(9, 0)) == "bf16"
    assert device.resolve_precision("auto", gpu_compute_capability=(7, 5)) == "fp16"
    # The kind names the kernels a CPU's bfloat16 training runs on (the widest ISA wins).
    assert device.cpu_kind({"avx2", "avx512f", "avx512_bf16", "amx_bf16"}) == "amx_bf16"
    assert device.cpu_kind({"avx2", "avx512f", "avx512_bf16"}) == "avx512_bf16"
    assert device.cpu_kind({"avx2", "fma"}) == "avx2"
    assert device.cpu_kind(set()) == "other"
    assert device.resolve_precision("fp32", flags={"amx_bf16"}) == "fp32"


def test_this_machine_reads_its_cpu_flags():
    assert device.cpu_flags(), "no CPU flags read from /proc/cpuinfo"


def test_registry_names():
    assert archs.names() == ["dcgan", "dcgan64", "upsample"]


def test_stored_jobs_keep_their_batch_when_the_default_recipe_sets_another():
    """The default recipe's batch of 32 is for new submissions: a stored spec naming no recipe (the
    seed recipe's) or the previous default trains, extends and forks on the arch's 128."""
    assert TrainSpec.submitted(arch="dcgan").effective_batch_size == 32
    assert TrainSpec.model_validate({"arch": "dcgan"}).effective_batch_size == 128
    assert TrainSpec.model_validate({"arch": "dcgan", "recipe": "ema-augment-dcgan-adam"}).effective_batch_size == 128
    assert TrainSpec.submitted(arch="dcgan", batch_size=64).effective_batch_size == 64
