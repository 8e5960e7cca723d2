"""A job's folder layout and the one atomic writer (real processes, real files; no TensorFlow)."""
from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys
import textwrap

import pytest

from ganctl.jobs.layout import (BadJobId, JobFolder, remove_stale_temps, temps_of, write_atomic,
                                write_atomic_with, write_dir_atomic)

JOB = "00000000-0000-4000-8000-0000000000ab"
SIZE = 4 << 20  # large enough that one write takes many syscalls


def test_job_folder_paths(tmp_path):
    f = JobFolder.of(tmp_path, JOB)
    assert f.root == tmp_path / JOB
    assert f.grid(3) == tmp_path / JOB / "grids" / "epoch_0003.png"
    assert (f.checkpoints, f.export, f.tensorboard) == tuple(tmp_path / JOB / n for n in
                                                             ("checkpoints", "export", "tensorboard"))
    assert (f.report.name, f.loss_plot.name, f.grids_gif.name) == ("report.html", "losses.png", "grids.gif")
    assert (f.sample_grid, f.sample_images) == (tmp_path / JOB / "grid.png", tmp_path / JOB / "images")
    with pytest.raises(BadJobId):
        JobFolder.of(tmp_path, "../../etc")


def _writer(path: str, byte: int, rounds: int, start) -> None:
    start.wait()
    for _ in range(rounds):
        write_atomic(path, bytes([byte]) * SIZE)


def test_two_writers_of_one_target_leave_one_whole_file(tmp_path):
    target = tmp_path / "ckpt-000001.npz"
    ctx = multiprocessing.get_context("fork")
    start = ctx.Event()
    procs = [ctx.Process(target=_writer, args=(str(target), b, 8, start)) for b in (ord("A"), ord("B"))]
    for p in procs:
        p.start()
    start.set()
    seen = set()
    while any(p.is_alive() for p in procs):  # a reader sees whole files only, all along
        if target.exists():
            data = target.read_bytes()
            assert len(data) == SIZE and len(set(data)) == 1, "a reader saw a mixed or partial file"
            seen.add(data[0])
    for p in procs:
        p.join()
        assert p.exitcode == 0
    data = target.read_bytes()
    assert len(data) == SIZE and data in (b"A" * SIZE, b"B" * SIZE)
    assert temps_of(target) == [] and sorted(os.listdir(tmp_path)) == [target.name]


def test_written_files_and_folders_get_the_usual_permissions(tmp_path):
    """As a plain open() / mkdir() would make them (umask applied), so the CLI's user and other
    workers can read a worker's artifacts (a private temp file's 0600 would survive the rename)."""
    umask = os.umask(0o022)
    os.umask(umask)
    write_atomic(tmp_path / "grid.png", b"png")
    write_dir_atomic(tmp_path / "export", lambda tmp: (tmp / "manifest.json").write_text("{}"))
    assert (tmp_path / "grid.png").stat().st_mode & 0o777 == 0o666 & ~umask
    assert (tmp_path / "export").stat().st_mode & 0o777 == 0o777 & ~umask


def test_a_write_that_raises_keeps_the_old_file_and_leaves_no_temp(tmp_path):
    target = tmp_path / "cache.npz"
    write_atomic(target, b"old")

    def half_then_fail(tmp):
        tmp.write_bytes(b"new but unfini")
        raise RuntimeError("disk on fire")

    with pytest.raises(RuntimeError, match="disk on fire"):
        write_atomic_with(target, half_then_fail)
    assert target.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["cache.npz"]


def test_the_temporary_name_keeps_the_targets_suffixes(tmp_path):
    names = []
    write_atomic_with(tmp_path / "classifier-1.weights.h5",
                      lambda tmp: names.append(tmp.name) or tmp.write_bytes(b"w"))
    assert names[0].startswith(".classifier-1.weights.h5.") and names[0].endswith(".tmp.weights.h5")
    assert (tmp_path / "classifier-1.weights.h5").read_bytes() == b"w"


def test_a_killed_writer_leaves_the_old_file_and_its_temp_is_swept(tmp_path):
    target = tmp_path / "ckpt-000002.npz"
    write_atomic(target, b"old")
    code = textwrap.dedent(f"""
        import os
        from ganctl.jobs.layout import write_atomic_with
        def die(tmp):
            tmp.write_bytes(b"half")
            os._exit(9)  # like kill -9 in the middle of the write
        write_atomic_with({str(target)!r}, die)
    """)
    assert subprocess.run([sys.executable, "-c", code]).returncode == 9
    assert target.read_bytes() == b"old"
    litter = temps_of(target)
    assert len(litter) == 1
    mine = []  # a live writer's temporary file (this process) is not swept
    write_atomic_with(target, lambda tmp: (mine.append(remove_stale_temps(tmp_path)),
                                           tmp.write_bytes(b"new")))
    assert mine == [litter]
    assert target.read_bytes() == b"new" and temps_of(target) == []


def test_folder_writer_replaces_whole_or_not_at_all(tmp_path):
    export = tmp_path / "export"

    def fill(version):
        def write(tmp):
            (tmp / "savedmodel").mkdir()
            (tmp / "savedmodel" / "saved_model.pb").write_text(version)
            (tmp / "manifest.json").write_text(version)
        return write

    write_dir_atomic(export, fill("v1"))
    write_dir_atomic(export, fill("v2"))
    assert (export / "manifest.json").read_text() == "v2"
    assert (export / "savedmodel" / "saved_model.pb").read_text() == "v2"

    def crash(tmp):
        (tmp / "manifest.json").write_text("v3 half")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        write_dir_atomic(export, crash)
    assert (export / "manifest.json").read_text() == "v2"
    assert os.listdir(tmp_path) == ["export"]
