"""`ganctl worker`: one Celery worker process per GPU (plus one for sampling), supervised.

The parent never imports TensorFlow. Each child is a fresh `python -m celery ... --pool solo`
whose CUDA_VISIBLE_DEVICES is set in its environment before TensorFlow loads, so it sees only its
GPU; the solo pool runs one job at a time in the process that imported TensorFlow (no fork after
TF init: tensorflow#57877), and a long-lived process per GPU is fine even though TF keeps its GPU
memory until the process exits (tensorflow#17048).

A child never outlives the launcher: each sets a parent-death signal (SIGKILL) before it execs,
so a launcher killed by any signal (kill -9, the OOM killer) takes its children with it within
milliseconds, and the job they ran is handed back by its lease and the reaper, as for any crash.
The solo pool forks no pool processes of its own (check_plan insists on it), so there is nothing
below a child to orphan. Each child's output (Celery's banner, its log, library warnings) goes to
a log file under $GANCTL_HOME/logs; the terminal shows one line per process and one per job.

The parent forwards SIGTERM/SIGINT (warm shutdown: a running training job stops at its next
batch, goes back to the queue and resumes from its last checkpoint on another worker; a running
sampling job finishes; a second signal sends SIGQUIT, a cold shutdown), exits when the children
exit, and runs the reaper thread that re-publishes jobs whose worker died (lease expired) or
whose message never arrived.
"""
from __future__ import annotations

import ctypes
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from ganctl.jobs.queues import QUEUES

log = logging.getLogger(__name__)

REAP_EVERY = 30.0


class LaunchError(ValueError):
    """Bad --gpus/--queues or no GPU where one was asked for; the message is for the user."""


@dataclass(frozen=True)
class ChildSpec:
    name: str  # celery node name, e.g. gpu0@%h
    queues: tuple[str, ...]
    device: str  # 'gpu0' or 'cpu'
    argv: list[str] = field(hash=False)
    env: dict[str, str] = field(hash=False)  # only the variables set on top of the parent's env

    def describe(self) -> str:
        return f"{self.name.split('@')[0]:<10} queues={','.join(self.queues):<12} device={self.device}"


def detect_gpus(nvidia_smi: str = "nvidia-smi") -> list[str]:
    """GPU indices from `nvidia-smi -L` (no TensorFlow); [] when there is no driver or no GPU."""
    try:
        out = subprocess.run([nvidia_smi, "-L"], capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return []
    if out.returncode != 0:
        return []
    return [str(i) for i, line in enumerate(l for l in out.stdout.splitlines() if l.startswith("GPU "))]


def parse_queues(text: str | None) -> list[str]:
    queues = [q.strip() for q in (text or ",".join(QUEUES)).split(",") if q.strip()]
    bad = [q for q in queues if q not in QUEUES]
    if bad or not queues:
        raise LaunchError(f"unknown queue {', '.join(bad) or repr(text)}; use train, sample or train,sample")
    return list(dict.fromkeys(queues))


def parse_gpus(text: str | None, cpu: bool, detected: list[str] | None = None) -> list[str]:
    """--gpus '0,1' / 'all' / None (all detected, else CPU) and --cpu -> GPU indices ([] = CPU)."""
    if cpu:
        if text:
            raise LaunchError("--cpu and --gpus are exclusive")
        return []
    if text is None or text.strip().lower() == "all":
        gpus = detect_gpus() if detected is None else detected
        if text is not None and not gpus:
            raise LaunchError("--gpus all: nvidia-smi -L lists no GPU; use --cpu")
        return gpus
    gpus = [g.strip() for g in text.split(",") if g.strip()]
    if not gpus or not all(g.isdigit() for g in gpus):
        raise LaunchError(f"--gpus wants GPU indices like 0,1 or 'all', got {text!r}")
    if len(set(gpus)) != len(gpus):
        raise LaunchError(f"--gpus lists a GPU twice: {text!r}")
    gpus = [str(int(g)) for g in gpus]
    # Checked like 'all': a gpu0 child on a machine without that GPU would train on the CPU.
    detected = detect_gpus() if detected is None else detected
    if not detected:
        raise LaunchError(f"--gpus {text.strip()}: nvidia-smi -L lists no GPU; use --cpu")
    if missing := [g for g in gpus if g not in detected]:
        raise LaunchError(f"no GPU {', '.join(missing)}; nvidia-smi -L lists {', '.join(detected)}")
    return gpus


def _child(name: str, queues: tuple[str, ...], device: str, cuda: str, python: str,
           loglevel: str) -> ChildSpec:
    argv = [python, "-m", "celery", "-A", "ganctl.worker.app", "worker", "--pool", "solo",
            "--concurrency", "1", "-Q", ",".join(queues), "-n", name, "--loglevel", loglevel,
            "--without-gossip", "--without-mingle"]
    env = {"CUDA_VISIBLE_DEVICES": cuda, "TF_FORCE_GPU_ALLOW_GROWTH": "true"}
    return ChildSpec(name, queues, device, argv, env)


def plan_children(gpus: list[str], queues: list[str], *, python: str | None = None,
                  loglevel: str = "INFO") -> list[ChildSpec]:
    """One training child per GPU (CUDA_VISIBLE_DEVICES=<i>), one sampling child on the first GPU;
    with no GPU one CPU child for train and one for sample (CUDA_VISIBLE_DEVICES='')."""
    python = python or sys.executable
    children = []
    if "train" in queues:
        if gpus:
            children += [_child(f"gpu{g}@%h", ("train",), f"gpu{g}", g, python, loglevel) for g in gpus]
        else:
            children.append(_child("cpu-train@%h", ("train",), "cpu", "", python, loglevel))
    if "sample" in queues:
        if gpus:
            g = gpus[0]
            children.append(_child(f"sample-gpu{g}@%h", ("sample",), f"gpu{g}", g, python, loglevel))
        else:
            children.append(_child("cpu-sample@%h", ("sample",), "cpu", "", python, loglevel))
    return children


def check_plan(children: list[ChildSpec]) -> list[str]:
    """Problems with a plan (empty list = fine): each GPU runs at most one training process, and
    every child sees exactly the one device it is named after."""
    problems, seen = [], {}
    for c in children:
        cuda = c.env["CUDA_VISIBLE_DEVICES"]
        if c.device == "cpu" and cuda != "":
            problems.append(f"{c.name}: CPU child sees CUDA_VISIBLE_DEVICES={cuda!r}")
        if c.device != "cpu" and (cuda != c.device[3:] or "," in cuda):
            problems.append(f"{c.name}: device {c.device} but CUDA_VISIBLE_DEVICES={cuda!r}")
        if "--pool" not in c.argv or c.argv[c.argv.index("--pool") + 1] != "solo":
            problems.append(f"{c.name}: not a solo pool")
        if "train" in c.queues and c.device != "cpu":
            if c.device in seen:
                problems.append(f"{c.device} runs two training processes: {seen[c.device]} and {c.name}")
            seen[c.device] = c.name
    names = [c.name for c in children]
    if len(set(names)) != len(names):
        problems.append("two children share a node name")
    return problems


def _die_with_parent(parent: int):
    """preexec_fn: between fork and exec, ask the kernel to SIGKILL this child when the launcher
    dies (PR_SET_PDEATHSIG survives exec). SIGKILL rather than a warm SIGTERM: an orphan has no
    supervisor left to escalate, and the lease + reaper hand its job back as after any crash."""
    def preexec() -> None:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(1, signal.SIGKILL, 0, 0, 0) != 0:  # 1 = PR_SET_PDEATHSIG (Linux)
            os.write(2, b"ganctl worker: prctl(PR_SET_PDEATHSIG) failed; refusing to start an orphan-prone child\n")
            os._exit(70)
        if os.getppid() != parent:  # the launcher died before the prctl took effect
            os._exit(70)
    return preexec if sys.platform.startswith("linux") else None


def _started_at(pid: int) -> datetime | None:
    """When process `pid` started (Linux /proc), None when unknown."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            ticks = int(fh.read().rsplit(")", 1)[1].split()[19])
        with open("/proc/stat") as fh:
            btime = next(int(line.split()[1]) for line in fh if line.startswith("btime "))
        return datetime.fromtimestamp(btime + ticks / os.sysconf("SC_CLK_TCK"), timezone.utc)
    except (OSError, ValueError, IndexError, StopIteration):
        return None


def process_alive(pid: int | None, registered: datetime | None = None) -> bool:
    """`pid` is running (not a zombie) and, when `registered` is given, is the process that
    registered then (started before it: a pid reused since, e.g. in a restarted container, is not)."""
    if not pid or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    try:
        with open(f"/proc/{pid}/stat") as fh:
            if fh.read().rsplit(")", 1)[1].split()[0] == "Z":
                return False
    except OSError:
        pass
    began = _started_at(pid)
    return registered is None or began is None or (began - registered).total_seconds() < 2.0


def duplicate_of(children: list[ChildSpec], live, host: str, alive=process_alive) -> str | None:
    """The one-line refusal when a live registered worker on this host already serves a device
    and queue that this plan would serve too (two trainers on one card), else None."""
    wanted = {(c.device, q) for c in children for q in c.queues}
    for w in live:
        if w.host != host or not alive(w.pid, w.started_at):
            continue
        if any((w.device, q) in wanted for q in w.queues):
            pid = w.launcher_pid if alive(w.launcher_pid) else w.pid
            when = w.started_at.astimezone().strftime("%Y-%m-%d %H:%M:%S")
            return (f"a ganctl worker already serves {w.device} on this host (pid {pid}, started {when}); "
                    f"stop it first or pass --allow-duplicate")
    return None


def log_path(log_dir: Path, child: ChildSpec, stamp: str) -> Path:
    return log_dir / f"{child.name.split('@')[0]}-{stamp}-{os.getpid()}.log"


def _last_line(path: Path | None) -> str:
    try:
        lines = [ln for ln in path.read_text(errors="replace").splitlines()[-40:] if ln.strip()]
    except (OSError, AttributeError):
        return ""
    return lines[-1].strip()[:300] if lines else ""


class JobLines(threading.Thread):
    """One terminal line when a job starts on one of this launcher's processes and one when it
    leaves it, read from the store (a worker's current job is the running job naming it)."""

    def __init__(self, children: list[ChildSpec], out, every: float = 1.0):
        super().__init__(name="ganctl-job-lines", daemon=True)
        host = socket.gethostname()
        self.short = {c.name.replace("%h", host): c.name.split("@")[0] for c in children}
        self.out, self.every, self.stop = out, every, threading.Event()

    def run(self) -> None:
        from ganctl.jobs.config import get_settings
        from ganctl.jobs.store.repo import Store

        settings, store, current = get_settings(), None, {}
        while not self.stop.wait(self.every):
            try:
                store = store or Store.from_settings(settings)
                now = {w.name: w.current_job for w in store.live_workers(lease_s=settings.heartbeat_lease)
                       if w.name in self.short}
                for name, short in self.short.items():
                    was, job_id = current.get(name), now.get(name)
                    if was and was != job_id:
                        job = store.get_job(was)
                        why = f": {job.error}" if job.error and job.status != "completed" else ""
                        self._say(f"{short:<10} job {was[:8]} {job.kind}: {job.status}{why}")
                    if job_id and job_id != was:
                        job = store.get_job(job_id)
                        self._say(f"{short:<10} job {job_id[:8]} {job.kind}: running "
                                  f"(attempt {job.attempts} of {job.max_attempts})")
                    current[name] = job_id
            except Exception as exc:  # noqa: BLE001 - only the terminal lines suffer
                log.debug("job lines: %s", exc)

    def _say(self, text: str) -> None:
        print(text, file=self.out, flush=True)


def reap_once(store, app, settings, republished: set) -> list[str]:
    """Re-publish jobs whose lease expired (the store puts them back to queued) and queued jobs
    whose message seems lost (once per job and attempt). Returns the ids re-published."""
    from ganctl.worker.app import publish

    out = []
    for job in store.requeue_stale(settings.heartbeat_lease):
        publish(app, job)
        out.append(job.id)
    for job in store.stale_queued(settings.requeue_after):
        if job.id in out or (job.id, job.attempts) in republished:
            continue
        publish(app, job)
        republished.add((job.id, job.attempts))
        out.append(job.id)
    return out


class Reaper(threading.Thread):
    def __init__(self, every: float = REAP_EVERY):
        super().__init__(name="ganctl-reaper", daemon=True)
        self.every, self.stop = every, threading.Event()

    def run(self) -> None:
        from ganctl.jobs.config import get_settings
        from ganctl.jobs.store.repo import Store
        from ganctl.worker.app import create_app

        settings = get_settings()
        store, app, republished = Store.from_settings(), create_app(settings), set()
        while not self.stop.wait(self.every):
            try:
                for job_id in reap_once(store, app, settings, republished):
                    print(f"reaper: re-published job {job_id}", flush=True)
            except Exception as exc:  # noqa: BLE001 - the reaper must outlive a broker hiccup
                print(f"reaper: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)


def supervise(children: list[ChildSpec], *, reap_every: float | None = REAP_EVERY,
              out=sys.stdout, log_dir: Path | None = None, job_lines: bool = False) -> int:
    """Start the children, forward signals, wait. Returns the exit status for the launcher.
    With `log_dir`, each child's stdout and stderr go to its own file there (named on the
    'started' line); `job_lines` prints a line per job the children run."""
    procs: list[tuple[ChildSpec, subprocess.Popen]] = []
    logs: dict[int, Path] = {}
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    signals_seen = []

    def forward(signum, _frame):
        signals_seen.append(signum)
        sig = signal.SIGTERM if len(signals_seen) == 1 else signal.SIGQUIT
        what = ("warm shutdown (running training jobs stop at their next batch and go back to the queue; "
                "sampling jobs finish; again for cold)" if sig == signal.SIGTERM else "cold shutdown")
        print(f"ganctl worker: {signal.Signals(signum).name}: {what}", file=out, flush=True)
        for _, p in procs:
            if p.poll() is None:
                try:
                    p.send_signal(sig)
                except ProcessLookupError:
                    pass

    old = {s: signal.signal(s, forward) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        for c in children:
            if signals_seen:
                break
            env = {**os.environ, **c.env}
            path = fh = None
            if log_dir is not None:
                log_dir.mkdir(parents=True, exist_ok=True)
                path = log_path(log_dir, c, stamp)
                fh = open(path, "ab")
            # Own session: a terminal's Ctrl-C reaches only the parent, which forwards it once.
            try:
                p = subprocess.Popen(c.argv, env=env, start_new_session=True,
                                     preexec_fn=_die_with_parent(os.getpid()), stdout=fh,
                                     stderr=subprocess.STDOUT if fh else None)
            finally:
                if fh:
                    fh.close()
            procs.append((c, p))
            if path:
                logs[p.pid] = path
            print(f"started {c.describe()}  pid={p.pid}" + (f"  log {path}" if path else ""), file=out, flush=True)
        reaper = lines = None
        if reap_every:
            reaper = Reaper(reap_every)
            reaper.start()
        if job_lines:
            lines = JobLines(children, out)
            lines.start()
        status = 0
        while procs:
            for c, p in list(procs):
                rc = p.poll()
                if rc is None:
                    continue
                procs.remove((c, p))
                last = _last_line(logs.get(p.pid)) if rc != 0 else ""
                print(f"{c.name.split('@')[0]} (pid {p.pid}) exited with status {rc}"
                      + (f"; its log ends: {last}" if last else ""), file=out, flush=True)
                if rc != 0:
                    status = status or (rc if rc > 0 else 1)
                if not signals_seen and procs:  # one child died on its own: stop the rest
                    forward(signal.SIGTERM, None)
            time.sleep(0.2)
        for thread in (reaper, lines):
            if thread:
                thread.stop.set()
        return status
    finally:
        for s, h in old.items():
            signal.signal(s, h)
