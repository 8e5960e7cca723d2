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
    """`list` answers before a bare TensorFlow import would, both timed here, so that load slows
    both (a fixed 5 s bound failed once on a loaded machine)."""
    import time

    env = subprocess_env(tmp_path / "home")
    subprocess.run([sys.executable, "-m", "ganctl.cli.main", "db", "upgrade"], env=env, check=True,
                   capture_output=True, timeout=120)

    def seconds(*argv: str) -> float:
        t0 = time.monotonic()
        proc = subprocess.run([sys.executable, *argv], env=env, capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr[-3000:]
        return time.monotonic() - t0

    listing = seconds("-m", "ganctl.cli.main", "list")
    tensorflow = seconds("-c", "import tensorflow")
    assert listing < tensorflow, f"`ganctl list` took {listing:.1f} s, `import tensorflow` {tensorflow:.1f} s"


def test_archs_show_prints_no_tensorflow_start_up_noise(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "ganctl.cli.main", "archs", "show", "dcgan", "--model", "generator"],
                          env=subprocess_env(tmp_path / "home"), capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "dcgan generator" in proc.stdout and "2,330,944" in proc.stdout
    assert proc.stderr == ""


# What the root app must not load before it knows which command runs: the other commands' code
# (experiments, sweeps, compare, the dashboard, S3) and the libraries only some commands need.
NOT_AT_START = ("ganctl.jobs", "ganctl.web", "ganctl.worker", "pydantic", "pydantic_settings", "sqlalchemy",
                "rich", "jinja2", "starlette", "uvicorn", "boto3", "botocore", "numpy", "PIL", "celery",
                "alembic", "tensorflow", "keras")


def _loaded_after(code: str, env) -> list[str]:
    proc = subprocess.run([sys.executable, "-c", code + "\nimport sys, json; print(json.dumps(sorted(sys.modules)))"],
                          env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _heavy(loaded: list[str], prefixes) -> list[str]:
    return [m for m in loaded if any(m == p or m.startswith(p + ".") for p in prefixes)]


def test_importing_the_cli_loads_no_command(tmp_path):
    """cli/main.py resolves its commands lazily (COMMANDS): importing it loads typer and nothing of
    ganctl but the cli package itself."""
    loaded = _loaded_after("import ganctl.cli.main", subprocess_env(tmp_path / "home"))
    assert _heavy(loaded, NOT_AT_START) == []
    assert [m for m in loaded if m.startswith("ganctl.cli.")] == ["ganctl.cli.main"]


def test_status_and_list_load_only_their_own_command(tmp_path):
    env = subprocess_env(tmp_path / "home")
    sub = subprocess.run([sys.executable, "-m", "ganctl.cli.main", "submit", "--arch", "dcgan", "--epochs", "1"],
                         env=env, capture_output=True, text=True, timeout=120)
    assert sub.returncode == 0, sub.stderr
    job_id = sub.stdout.strip()
    others = ("ganctl.web", "ganctl.worker", "ganctl.jobs.sweeps", "ganctl.jobs.compare", "ganctl.jobs.objects",
              "boto3", "jinja2", "starlette", "numpy", "celery", "alembic", "tensorflow")
    for args, own in (([job_id[:8]], "ganctl.cli.status"), ([], "ganctl.cli.listing")):
        command = "status" if own.endswith("status") else "list"
        loaded = _loaded_after(textwrap.dedent(f"""
            import contextlib, io, sys
            from ganctl.cli.main import app
            sys.argv = ["ganctl", {command!r}, *{args!r}]
            with contextlib.redirect_stdout(io.StringIO()):
                try:
                    app()
                except SystemExit as exc:
                    assert exc.code == 0, exc.code
            """), env)
        assert _heavy(loaded, others) == [], command
        commands = [m for m in loaded if m.startswith("ganctl.cli.") and not m.split(".")[-1].startswith("_")]
        assert commands == sorted(["ganctl.cli.main", own]), command


def test_every_command_module_is_registered():
    """One module per command: each non-helper module of cli/ is in main.COMMANDS, and each entry
    names a function or a sub-app that exists (`ganctl --help` loads them all)."""
    from pathlib import Path

    import typer

    from ganctl.cli import main

    folder = Path(main.__file__).parent
    modules = {p.stem for p in folder.glob("*.py") if not p.stem.startswith("_") and p.stem != "main"}
    assert {module for module, _ in main.COMMANDS.values()} == modules
    assert [name for name in typer.main.get_command(main.app).list_commands(None)] == list(main.COMMANDS)
