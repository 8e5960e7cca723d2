"""Process helpers for the integration tests: redis-server, `ganctl` runs, `ganctl worker`."""
from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

GANCTL_VARS = ("GANCTL_BROKER_URL", "GANCTL_DATABASE_URL", "GANCTL_ARTIFACTS_DIR", "GANCTL_DEBUG",
               "GANCTL_DATA_DIR", "GANCTL_HOME", "GANCTL_CACHE_DIR")


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ganctl_argv() -> list[str]:
    """The installed `ganctl` entry point next to this interpreter, else `python -m`."""
    exe = Path(sys.executable).parent / "ganctl"
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "ganctl.cli.main"]


def ganctl_env(home: Path, **extra: str) -> dict[str, str]:
    """The caller's environment without GANCTL_* settings, plus GANCTL_HOME and `extra`."""
    env = {k: v for k, v in os.environ.items() if k not in GANCTL_VARS}
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    env.update(GANCTL_HOME=str(home), **extra)
    return env


def ganctl(env: dict, *args: str, timeout: float = 120, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run([*ganctl_argv(), *args], env=env, capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"ganctl {' '.join(args)} exited {proc.returncode}\n"
                             f"stdout: {proc.stdout[-3000:]}\nstderr: {proc.stderr[-3000:]}")
    return proc


class RedisServer:
    def __init__(self, exe: str, workdir: Path, port: int):
        self.exe, self.workdir, self.port = exe, workdir, port
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 20.0) -> None:
        log = open(self.workdir / "redis.log", "ab")
        self.proc = subprocess.Popen(
            [self.exe, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.workdir),
             "--save", "", "--appendonly", "no", "--daemonize", "no", "--protected-mode", "no"],
            stdout=log, stderr=subprocess.STDOUT)
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"redis-server exited: {(self.workdir / 'redis.log').read_text()[-2000:]}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                    s.sendall(b"PING\r\n")
                    if s.recv(64).startswith(b"+PONG"):
                        return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("redis-server did not answer PING")

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)


class WorkerProcess:
    """A running `ganctl worker` (launcher + its Celery children), output in a log file."""

    def __init__(self, env: dict, log: Path, args: tuple[str, ...]):
        self.log = log
        with open(log, "wb") as fh:
            self.proc = subprocess.Popen([*ganctl_argv(), "worker", *args], env=env, stdout=fh,
                                         stderr=subprocess.STDOUT, start_new_session=True)

    def terminal(self) -> str:
        """What the launcher itself printed (what a user sees in the terminal)."""
        return self.log.read_text(errors="replace")

    def output(self) -> str:
        """The terminal, then each child's log file (named on its 'started ... log PATH' line)."""
        out = self.terminal()
        parts = [out]
        for path in re.findall(r"^started .*\blog (\S+)$", out, re.M):
            try:
                parts.append(f"--- {path}\n" + Path(path).read_text(errors="replace"))
            except OSError:
                pass
        return "\n".join(parts)

    def child_pids(self) -> list[int]:
        return [int(p) for p in re.findall(r"\bpid=(\d+)", self.output())]

    def wait_ready(self, nodes: tuple[str, ...] = ("cpu-train", "cpu-sample"), timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            out = self.output()
            if all(re.search(rf"{n}@\S+ ready\.", out) for n in nodes):
                return
            if self.proc.poll() is not None:
                raise AssertionError(f"ganctl worker exited {self.proc.returncode}:\n{out[-4000:]}")
            time.sleep(0.25)
        raise AssertionError(f"workers not ready after {timeout} s:\n{self.output()[-4000:]}")

    def stop(self, grace: float = 30.0) -> int | None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(grace)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        for pid in self.child_pids():  # normally gone already (warm shutdown, or parent-death signal)
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        return self.proc.returncode


# --- additions for tests/reliability (fault injection) ---------------------------------------


def wait_until(predicate, timeout: float, what: str, *, every: float = 0.1, context=None):
    """Poll `predicate()` until it returns something truthy (returned); AssertionError after
    `timeout` s naming `what` plus `context()` (e.g. a worker log tail)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            extra = f"\n{context()}" if context is not None else ""
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}{extra}")
        time.sleep(every)


def child_pid(worker: "WorkerProcess", node: str = "cpu-train") -> int:
    """The pid of one Celery child of a `ganctl worker` (from its 'started <node> ... pid=N' line)."""
    m = re.search(rf"^started {re.escape(node)}\s.*\bpid=(\d+)", worker.output(), re.M)
    if m is None:
        raise AssertionError(f"no child {node!r} in the worker log:\n{worker.output()[-3000:]}")
    return int(m.group(1))


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie (exited, not yet reaped by its parent) counts as gone
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(") ", 1)[1][:1] != "Z"
    except OSError:
        return False
