"""`ganctl worker`: start and supervise one Celery worker process per GPU (or two on CPU).

This process never imports TensorFlow; only its children do, each pinned to its device.
"""
from __future__ import annotations

from typing import Annotated, Optional

import typer

from ganctl.jobs.config import get_settings as settings

from ganctl.cli import _options as o
from ganctl.cli._errors import CliError, user_errors
from ganctl.cli._output import print_json

Gpus = Annotated[Optional[str], typer.Option(
    "--gpus", help="GPU indices (0,1) or 'all' (nvidia-smi -L) (default: all, or CPU when none).")]
Cpu = Annotated[bool, typer.Option("--cpu", help="Run on the CPU: one train and one sample process.")]
Queues = Annotated[str, typer.Option("--queues", "-Q", help="Queues to consume: train, sample or train,sample.")]
Check = Annotated[bool, typer.Option(
    "--concurrency-check", help="Print the process plan (device, queues, env, command) and check it "
                                "(one training process per GPU, solo pools), then exit without starting.")]
LogLevel = Annotated[str, typer.Option("--loglevel", "-l", help="Celery log level.")]
ReapEvery = Annotated[float, typer.Option("--reap-every", help="Seconds between reaper passes (0: off).",
                                          min=0)]
AllowDuplicate = Annotated[bool, typer.Option(
    "--allow-duplicate", help="Start even though a live `ganctl worker` on this host serves the same "
                              "devices and queues (two trainers may then share one GPU).")]


@user_errors
def worker(
    gpus: Gpus = None,
    cpu: Cpu = False,
    queues: Queues = "train,sample",
    concurrency_check: Check = False,
    loglevel: LogLevel = "INFO",
    reap_every: ReapEvery = 30.0,
    allow_duplicate: AllowDuplicate = False,
    json: o.Json = False,
) -> None:
    """Run the workers: one solo-pool Celery process per GPU, plus one for sampling.

    Each child sees only its GPU (CUDA_VISIBLE_DEVICES=<i>); without a GPU, one CPU process
    trains and another samples. This process supervises them: Ctrl-C / SIGTERM is a warm
    shutdown (running jobs finish), a second one a cold shutdown. Each process logs to its
    own file under $GANCTL_HOME/logs; a second launcher for the same devices on this host is
    refused unless --allow-duplicate.
    """
    from ganctl.worker import launch

    plan = launch.plan_children(launch.parse_gpus(gpus, cpu), launch.parse_queues(queues),
                                loglevel=loglevel.upper())
    problems = launch.check_plan(plan)
    if concurrency_check:
        if json:
            print_json({"children": [{"name": c.name, "device": c.device, "queues": list(c.queues),
                                      "env": c.env, "argv": c.argv} for c in plan],
                        "problems": problems})
        else:
            for c in plan:
                env = " ".join(f"{k}={v!r}" for k, v in c.env.items())
                typer.echo(f"{c.describe()}  {env}\n    {' '.join(c.argv)}")
            if not problems:
                typer.echo("ok: one training process per device, solo pools")
        for p in problems:
            typer.echo(f"error: {p}", err=True)
        raise typer.Exit(2 if problems else 0)
    if problems:
        raise CliError(problems[0])

    from ganctl.worker.app import app, declare_queues, safe_url

    from ganctl.jobs.service import check_artifacts, open_store

    s = settings()
    check_artifacts()  # the bucket of GANCTL_ARTIFACTS_URL, before any worker starts
    store = open_store()
    if s.database_url:
        store.check_schema()  # a shared database is migrated explicitly: `ganctl db upgrade`
    else:
        store.upgrade()
    if not allow_duplicate:  # the registry knows who serves what on this host (issue 17)
        import socket

        refusal = launch.duplicate_of(plan, store.live_workers(lease_s=s.heartbeat_lease), socket.gethostname())
        if refusal:
            store.close()
            raise CliError(refusal)
    store.close()
    declare_queues(app)
    typer.echo(f"broker {safe_url(s.resolved_broker_url)}  store {store.engine.url.render_as_string(hide_password=True)}")
    typer.echo(f"artifacts {s.artifacts_url + '  cache ' if s.artifacts_url else ''}{s.resolved_artifacts_dir}")
    raise typer.Exit(launch.supervise(plan, reap_every=reap_every or None, log_dir=s.home / "logs",
                                      job_lines=True))
