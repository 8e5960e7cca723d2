"""The time a running job still needs, from its epochs' durations: `status` and `watch` show it."""
from __future__ import annotations


def _running(store, epochs, seconds):
    job = store.create_job("train", {"arch": "dcgan", "epochs": epochs, "classes": [1]}, total_epochs=epochs)
    job = store.claim(job.id, worker="cpu-train@host", gpu="cpu", lease_s=60)
    for epoch, s in enumerate(seconds, 1):
        store.record_epoch(job.id, job.attempts, epoch, 0.5, 1.5, s, 7000 / s)
    return job


def test_status_shows_time_left_after_the_first_epoch(cli, home, store):
    job = _running(store, 5, [30.0])  # only the first epoch (warm-up included): 4 x 30 s
    assert "~2m00s left" in cli("status", job.id[:8]).stdout


def test_later_epochs_leave_the_warm_up_epoch_out(cli, home, store):
    job = _running(store, 5, [60.0, 20.0, 22.0])  # median of epochs 2-3 (21 s) x 2 to go
    text = cli("status", job.id[:8]).stdout
    assert "3/5" in text and "~42.0s left" in text


def test_watch_prints_time_left_with_the_last_epoch_and_none_when_finished(cli, home, store):
    job = _running(store, 2, [10.0])
    store.finish(job.id, job.attempts, "completed", result={})
    out = cli("watch", job.id[:8])
    assert out.exit_code == 0, out.stderr
    assert "epoch 1/2" in out.stdout + out.stderr and "left" not in out.stdout + out.stderr
    assert "left" not in cli("status", job.id[:8]).stdout


def test_watch_line_mode_shows_time_left_while_running(home, store, capsys):
    from ganctl.cli.watch import follow

    job = _running(store, 4, [12.0, 10.0])
    follow(store, job.id, poll=0.05, timeout=0.1)  # what `submit --wait` prints, e.g. in the quickstart
    out = capsys.readouterr().out
    assert "epoch 1/4" in out and "epoch 2/4" in out and "~20.0s left" in out.splitlines()[-1]
