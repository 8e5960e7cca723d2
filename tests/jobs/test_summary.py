"""jobs/summary.py: per-layer table, text table and diagram of the registered architectures."""
from __future__ import annotations

import io
import math
import subprocess
import sys

import pytest
from PIL import Image

from ganctl.jobs import archs, summary
from ganctl.jobs.summary import LayerRow

# (arch, network) -> total parameters, as the seed notebooks report them
EXPECTED = {
    ("dcgan", "generator"): 2_330_944,
    ("dcgan", "discriminator"): 6_629_953,
    ("upsample", "generator"): 2_155_137,
    ("upsample", "discriminator"): 1_113_345,
}


@pytest.fixture(scope="module")
def models():
    """All four networks, built once for the whole module (TensorFlow import ~3-5 s)."""
    pytest.importorskip("keras")
    out = {}
    for name in ("dcgan", "upsample"):
        info = archs.get(name)
        out[(name, "generator")] = info.build_generator(info.noise_dim)
        out[(name, "discriminator")] = info.build_discriminator()
    return out


@pytest.fixture(scope="module")
def tables(models):
    return {key: summary.layer_table(m) for key, m in models.items()}


def decode(data: bytes) -> Image.Image:
    img = Image.open(io.BytesIO(data))
    img.load()
    assert img.format == "PNG"
    return img


def test_module_does_not_import_tensorflow():
    code = ("import sys; import ganctl.jobs.summary; "
            "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize("key", sorted(EXPECTED))
def test_totals_match_keras(models, tables, key):
    rows = tables[key]
    assert sum(r.weights for r in rows) == models[key].count_params() == EXPECTED[key]
    assert len(rows) == len(models[key].layers)
    for r in rows:
        assert r.units == math.prod(r.output_shape)
        assert 0 <= r.trainable <= r.weights


def test_dcgan_generator_rows(tables):
    rows = tables[("dcgan", "generator")]
    assert [r.kind for r in rows][:5] == ["Dense", "BatchNormalization", "LeakyReLU", "Reshape",
                                          "Conv2DTranspose"]
    assert rows[0].output_shape == (7 * 7 * 256,) and rows[0].weights == 100 * 12544
    assert rows[3].output_shape == (7, 7, 256) and rows[3].units == 12544
    assert rows[-1].output_shape == (28, 28, 1) and rows[-1].units == 784
    # BatchNormalization keeps moving mean/variance: counted as weights, not trainable
    bn = rows[1]
    assert bn.weights == 4 * 12544 and bn.trainable == 2 * 12544
    t = summary.totals(rows)
    assert t["weights"] == 2_330_944 and t["trainable"] + t["non_trainable"] == 2_330_944


def test_discriminator_ends_in_one_unit(tables):
    for arch in ("dcgan", "upsample"):
        last = tables[(arch, "discriminator")][-1]
        assert last.kind == "Dense" and last.output_shape == (1,) and last.units == 1


def test_model_input_shape(models):
    assert summary.model_input_shape(models[("dcgan", "generator")]) == (100,)
    assert summary.model_input_shape(models[("upsample", "generator")]) == (128,)
    assert summary.model_input_shape(models[("dcgan", "discriminator")]) == (28, 28, 1)


def test_format_table(tables):
    rows = tables[("dcgan", "discriminator")]
    text = summary.format_table(rows, title="dcgan discriminator")
    lines = text.splitlines()
    assert lines[0] == "dcgan discriminator"
    assert "6,629,953" in text and "6,422,528" in text
    total = next(line for line in lines if "total" in line)
    assert total.rstrip().endswith("6,629,953") and f"{len(rows)} layers" in total
    # aligned: every layer line ends at the same column as the header's "weights"
    header = next(line for line in lines if "weights" in line and "layer" in line)
    body = [line for line in lines if line.strip()[:1].isdigit()]
    assert len(body) == len(rows)
    assert {len(line) for line in body} == {len(header)}


def test_format_table_without_keras():
    rows = [LayerRow("d1", "Dense", (10,), 10, 110), LayerRow("out", "Dense", (1,), 1, 11)]
    text = summary.format_table(rows)
    assert "121" in text.splitlines()[-1] and "2 layers" in text
    assert "trainable" not in text  # unknown for hand-made rows
    assert rows[0].to_dict() == {"name": "d1", "kind": "Dense", "output_shape": [10], "units": 10,  # archs --json
                                 "weights": 110, "trainable": None}


def test_diagram_decodes(tables, tmp_path):
    rows = tables[("dcgan", "generator")]
    target = tmp_path / "gen.png"
    data = summary.diagram_png(rows, "dcgan generator", path=target)
    img = decode(data)
    assert target.read_bytes() == data
    assert img.mode == "RGB"
    assert img.size == (summary.WIDTH, summary.diagram_height(len(rows)))
    with_input = decode(summary.diagram_png(rows, "dcgan generator", input_shape=(100,)))
    assert with_input.size[1] == summary.diagram_height(len(rows) + 1) > img.size[1]


def test_diagram_taller_for_more_layers(tables):
    small = tables[("dcgan", "discriminator")]  # 8 layers
    big = tables[("upsample", "discriminator")]  # 15 layers
    assert len(big) > len(small)
    h_small = decode(summary.diagram_png(small, "small")).size[1]
    h_big = decode(summary.diagram_png(big, "big")).size[1]
    assert h_big > h_small
    assert decode(summary.diagram_png([], "empty")).size[1] > 0
