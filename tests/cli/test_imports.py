"""The CLI never imports TensorFlow: a `status` must not pay for it (checked in fresh interpreters,
since other tests in this session load TensorFlow in-process)."""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap

from cli_helpers import subprocess_env

HEAVY = ("tensorflow", "keras")


def _imported(stderr: str) -> set[str]:
    """Top-level module names from `python -X importtime` output."""
    names = set()
    for line in stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            names.add(line.rsplit("|", 1)[1].strip().split(".")[0])
    return names


def test_status_and_list_do_not_import_tensorflow(tmp_path):
    home = tmp_path / "home"
    env = subprocess_env(home)
    sub = subprocess.run([sys.executable, "-m", "ganctl.cli.main", "submit", "--arch", "dcgan", "--epochs", "1"],
                         env=env, capture_output=True, text=True, timeout=120)
    assert sub.returncode == 0, sub.stderr
    job_id = sub.stdout.strip()
    for args in (["status", job_id[:8]], ["status", job_id, "--json"], ["list"], ["list", "--json"],
                 ["archs"], ["worker", "--cpu", "--concurrency-check"], ["submit", "--arch", "nope"]):
        proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "ganctl.cli.main", *args],
                              env=env, capture_output=True, text=True, timeout=120)
        assert proc.returncode in (0, 2), (args, proc.stderr[-2000:])
        loaded = _imported(proc.stderr)
        assert "ganctl" in loaded, args
        assert not loaded & set(HEAVY), (args, loaded & set(HEAVY))
    # celery is only imported by the commands that publish, alembic only to migrate, numpy only for data
    for args in (["status", job_id], ["list"]):
        proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "ganctl.cli.main", *args],
                              env=env, capture_output=True, text=True, timeout=120)
        assert not _imported(proc.stderr) & {"celery", "alembic", "numpy"}, args


def test_in_process_commands_leave_tensorflow_unloaded(tmp_path):
    code = textwrap.dedent(
        """
        import json, sys
        from typer.testing import CliRunner
        from ganctl.cli.main import app
        r = CliRunner()
        out = r.invoke(app, ["submit", "--arch", "dcgan", "--epochs", "1", "--json"])
        assert out.exit_code == 0, out.output
        jid = json.loads(out.stdout)["id"]
        for args in (["status", jid], ["list"], ["cancel", jid], ["archs"], ["db", "current"],
                     ["sample", jid], ["watch", jid], ["worker", "--concurrency-check", "--cpu"]):
            r.invoke(app, args)
        import ganctl.worker.app, ganctl.worker.launch
        print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in ("tensorflow", "keras"))))
        """
    )
    proc = subprocess.run([sys.executable, "-c", code], env=subprocess_env(tmp_path / "home"),
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == []


def test_status_is_fast(tmp_path):
    """Generous bound; a TensorFlow import alone takes several seconds."""
    import time

    env = subprocess_env(tmp_path / "home")
    subprocess.run([sys.executable, "-m", "ganctl.cli.main", "db", "upgrade"], env=env, check=True,
                   capture_output=True, timeout=120)
    t0 = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "ganctl.cli.main", "list"], env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert time.monotonic() - t0 < 5.0


def test_archs_show_prints_no_tensorflow_start_up_noise(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "ganctl.cli.main", "archs", "show", "dcgan", "--model", "generator"],
                          env=subprocess_env(tmp_path / "home"), capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "dcgan generator" in proc.stdout and "2,330,944" in proc.stdout
    assert proc.stderr == ""
