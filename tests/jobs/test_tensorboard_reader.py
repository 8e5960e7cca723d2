"""TensorBoard's own reader (the data provider its server answers the dashboards from) lists a
really trained job's losses per epoch and its grid images, the way `tensorboard --logdir
<artifacts>` shows them. Needs the `tensorboard` package (extras `tensorboard` and `test`)."""
from __future__ import annotations

import pytest

from ganctl.jobs import train
from ganctl.jobs.layout import JobFolder
from ganctl.jobs.spec import TrainSpec

pytestmark = pytest.mark.slow

JOB = "00000000-0000-4000-8000-0000000000cd"


def test_tensorboard_lists_each_epochs_losses_and_grid(tmp_path):
    from tensorboard import context
    from tensorboard.backend.event_processing import data_provider, plugin_event_multiplexer

    root = tmp_path / "artifacts"
    job = JobFolder.of(root, JOB)
    spec = TrainSpec(arch="dcgan", classes="trouser", limit=128, batch_size=64, epochs=2)
    reports = []
    train.run(spec, job.root, train.Hooks(on_epoch=reports.append))

    mux = plugin_event_multiplexer.EventMultiplexer()
    mux.AddRunsFromDirectory(str(root))  # what `tensorboard --logdir <artifacts>` does
    mux.Reload()
    tb = data_provider.MultiplexerDataProvider(mux, str(root))
    ctx, run = context.RequestContext(), f"{JOB}/tensorboard"

    scalars = tb.read_scalars(ctx, experiment_id="", plugin_name="scalars", downsample=1000)
    assert list(scalars) == [run]  # one run per job, named by its folder
    assert set(scalars[run]) == {"d_loss", "g_loss", "images_per_s", "seconds"}
    for tag in ("d_loss", "g_loss"):
        points = scalars[run][tag]
        assert [p.step for p in points] == [1, 2]
        assert [p.value for p in points] == pytest.approx([getattr(r, tag) for r in reports], rel=1e-5)

    images = tb.read_blob_sequences(ctx, experiment_id="", plugin_name="images", downsample=1000)
    grids = images[run]["grid"]
    assert [d.step for d in grids] == [1, 2]
    for datum, report in zip(grids, reports):
        width, height, png = (tb.read_blob(ctx, blob_key=ref.blob_key) for ref in datum.values)
        assert png == report.grid_png and png.startswith(b"\x89PNG")
        assert (int(width), int(height)) == (4 * (28 * 4 + 2) + 2, 3 * (28 * 4 + 2) + 2)
