"""`ganctl eval <train-id>`: queue an 'eval' job on the 'sample' queue, wait, print the figures."""
from __future__ import annotations

import typer

from ganctl.cli import options as o
from ganctl.cli import quality
from ganctl.cli.child import queue_and_wait
from ganctl.cli.common import CliError, job_json, open_store, print_json, user_errors


def check_source(store, job) -> None:
    """A completed Fashion-MNIST training job with an exported h5 generator, else a CliError."""
    if job.kind != "train":
        raise CliError(f"job {job.id[:8]} is a {job.kind} job; evaluate a completed train job")
    dataset = str((job.spec or {}).get("dataset", "fashion-mnist"))
    if dataset != "fashion-mnist":
        raise CliError(f"quality metrics are for Fashion-MNIST jobs; this job trained on {dataset}")
    arts = {a.format for a in store.artifacts(job.id)}
    if job.status != "completed" or "h5-generator" not in arts:
        what = f"is {job.status}" + ("" if "h5-generator" in arts else " and has no exported generator")
        raise CliError(f"job {job.id[:8]} {what}; evaluate a completed train job")


@user_errors
def evaluate(
    job_id: o.JobId,
    n: o.EvalN = 10_000,
    seed: o.EvalSeed = 0,
    no_wait: o.EvalNoWait = False,
    timeout: o.Timeout = 1800.0,
    json: o.Json = False,
    poll: o.Poll = 0.2,
) -> None:
    """Score a completed training job's generator: FD beside its real-vs-real floor, KID, precision/recall, density/coverage, and the mode-collapse alarm.

    Runs on a worker (the 'sample' queue); Fashion-MNIST jobs only.
    The figures are also stored on the training job (`ganctl status` shows the latest).
    """
    from ganctl.jobs.spec import EvalSpec

    spec = EvalSpec(n=n, seed=seed)
    store = open_store()
    parent = store.get_job(job_id)
    check_source(store, parent)
    job = queue_and_wait(store, parent, "eval", spec.model_dump(mode="json"), no_wait=no_wait, json=json,
                         poll=poll, timeout=timeout)
    if job is None:
        return
    values = dict(job.result or {})
    if json:
        print_json(job_json(job))
        return
    rows = [("job", f"{job.id} (eval of {parent.id[:8]})"),
            ("images", f"{values.get('n', n)} generated vs {values.get('n_real', '?')} real test images")]
    rows += quality.table(values)
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        typer.echo(f"{key:<{width}}  {value}")
    if values.get("collapse"):
        reasons = "; ".join(str(r) for r in values.get("collapse_reasons") or []) or "see the figures"
        typer.echo(f"warning: possible mode collapse: {reasons}")
