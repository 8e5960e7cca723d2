"""`ganctl eval <train-id>`: queue an 'eval' job on the 'sample' queue, wait, print the figures."""
from __future__ import annotations

import typer

from ganctl.jobs import service

from ganctl.cli import _options as o
from ganctl.cli import _quality_text as quality
from ganctl.cli._child import queue_and_wait
from ganctl.cli._errors import user_errors
from ganctl.cli._output import print_json


@user_errors
def evaluate(
    job_id: o.JobId,
    n: o.EvalN = 10_000,
    seed: o.EvalSeed = 0,
    epoch: o.EpochPick = None,
    no_wait: o.EvalNoWait = False,
    timeout: o.Timeout = None,
    json: o.Json = False,
    poll: o.Poll = 0.2,
) -> None:
    """Score a completed training job's generator: FD beside its real-vs-real floor, KID, precision/recall, density/coverage, and the mode-collapse alarm.

    Runs on a worker (the 'sample' queue); Fashion-MNIST jobs only.
    The figures are also stored on the training job (`ganctl status` shows the latest).
    """
    from ganctl.jobs.spec import EvalSpec

    from ganctl.jobs.experiments import resolve_epoch

    store = service.open_store()
    parent = store.get_job(job_id)
    spec = EvalSpec(n=n, seed=seed, epoch=resolve_epoch(store, parent, epoch))
    job = queue_and_wait(store, parent, "eval", spec, no_wait=no_wait, json=json, poll=poll, timeout=timeout,
                         default_timeout=1800.0)
    if job is None:
        return
    values = dict(job.result or {})
    if json:
        print_json(service.job_dict(job))
        return
    of = f"eval of {parent.id[:8]}" + (f", epoch {spec.epoch}'s checkpoint" if spec.epoch else "")
    rows = [("job", f"{job.id} ({of})"),
            ("images", f"{values.get('n', n)} generated vs {values.get('n_real', '?')} real test images")]
    rows += quality.table(values)
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        typer.echo(f"{key:<{width}}  {value}")
    if values.get("collapse"):
        typer.echo(f"warning: {service.collapse_text(values.get('collapse_reasons') or [])}")
