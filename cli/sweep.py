"""`ganctl sweep`: queue a sweep (a grid or random draws of --set values, successive halving on FD);
`sweep list` the sweeps, `sweep status` one's ranking, `sweep cancel` its jobs. Thin: jobs/sweeps.py
does the work."""
from __future__ import annotations

from typing import Annotated, Optional

import typer

from ganctl.cli import _options as o
from ganctl.jobs import recipes
from ganctl.cli._errors import user_errors
from ganctl.cli._output import fmt_time, print_json
from ganctl.cli._quality_text import num

app = typer.Typer(help="Sweeps: many jobs over a grid of options; successive halving stops the worse early.",
                  invoke_without_command=True, no_args_is_help=False)

Sets = Annotated[Optional[list[str]], typer.Option(
    "--set", help="KEY=V1,V2: values of one submit option (spec field name, e.g. lr_g, loss, ema); repeatable.")]
Random = Annotated[Optional[int], typer.Option("--random", help="N random configurations of the grid instead of all.")]
RandomSeed = Annotated[int, typer.Option("--random-seed", help="Seed of the --random draws.")]
Keep = Annotated[str, typer.Option("--keep", help="Fraction that goes on at each rung (an evaluated epoch), e.g. 1/3.")]
SweepId = Annotated[str, typer.Argument(help="Sweep id or a unique prefix of it (at least 4 hex digits).",
                                        show_default=False)]


@app.callback()
@user_errors
def sweep(
    ctx: typer.Context,
    set_: Sets = None,
    random: Random = None,
    random_seed: RandomSeed = 0,
    keep: Keep = "1/3",
    arch: o.Arch = "upsample",
    epochs: o.Epochs = 20,
    eval_every: o.EvalEvery = 0,
    eval_n: o.TrainEvalN = 1000,
    classes: o.RealClasses = None,  # sweeps train on Fashion-MNIST
    split: o.Split = "train",
    limit: o.DataLimit = None,
    batch_size: o.BatchSize = None,
    seed: o.Seed = 0,
    precision: o.Precision = "auto",
    recipe: o.Recipe = recipes.DEFAULT,
    checkpoint_every: o.CheckpointEvery = 1,
    grid_every: o.GridEvery = 1,
    json: o.Json = False,
) -> None:
    """Queue one training job per configuration of the --set values; prints the sweep id."""
    if ctx.invoked_subcommand is not None:
        return
    from ganctl.jobs import service, sweeps

    sets = sweeps.parse_sets(set_ or [])
    fraction = sweeps.parse_keep(keep)
    base = dict(arch=arch, epochs=epochs, eval_every=eval_every, eval_n=eval_n, classes=classes, split=split,
                limit=limit, batch_size=batch_size, seed=seed, precision=precision, recipe=recipe,
                checkpoint_every=checkpoint_every, grid_every=grid_every)
    s, jobs = sweeps.create(service.open_store(), base, sets, keep=fraction, n_random=random, seed=random_seed)
    if json:
        print_json({"id": s.id, "jobs": [j.id for j in jobs]})
    else:
        typer.echo(s.id)


def sets_text(sets: dict) -> str:
    """A sweep's --set values as given: lr_g=1e-4,2e-4 loss=bce,hinge."""
    return " ".join(f"{k}={','.join(map(str, v))}" for k, v in sets.items())


def jobs_text(row: dict) -> str:
    """A sweep's jobs by state: 4: 1 running, 2 completed, 1 stopped."""
    counts = ", ".join(f"{n} {state}" for state, n in row["states"])
    return f"{row['jobs']}: {counts}" if counts else str(row["jobs"])


@app.command("list")
@user_errors
def list_sweeps(limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="Show at most this many sweeps.")] = 20,
                json: o.Json = False) -> None:
    """The newest sweeps: state, what each sweeps, its jobs by state and its best FD so far."""
    from datetime import datetime

    from ganctl.jobs import service, sweeps

    rows = sweeps.overview(service.open_store(), limit)
    if json:
        print_json(rows)
        return
    if not rows:
        typer.echo("no sweeps yet: `ganctl sweep --eval-every N --set KEY=V1,V2 ...`")
        return
    from rich.console import Console
    from rich.table import Table

    console = Console(highlight=False)
    if not console.is_terminal:
        console.width = max(console.width, 160)
    table = Table(box=None, pad_edge=False, header_style="bold")
    for col in ("sweep", "created", "state", "arch", "epochs", "swept", "jobs", "best FD"):
        table.add_column(col, no_wrap=col not in ("swept", "jobs"), justify="right" if col in ("epochs", "best FD") else "left")
    for r in rows:
        best = r["best"]
        table.add_row(r["id"][:8], fmt_time(datetime.fromisoformat(r["created_at"])), r["state"], r["arch"] or "-",
                      str(r["epochs"] or "-"), sets_text(r["sets"]) + (f" ({r['random']} drawn)" if r["random"] else ""),
                      jobs_text(r),
                      "-" if best is None else f"{num(best['fd'])} ({best['job'][:8]}, epoch {best['epoch']})")
    console.print(table)
    if len(rows) == limit:
        console.print(f"the newest {limit}: -n N for more")


@app.command("status")
@user_errors
def status(sweep_id: SweepId, json: o.Json = False) -> None:
    """The sweep's jobs ranked by best FD: configuration, epochs reached, best FD, state."""
    from ganctl.jobs import service, sweeps

    r = sweeps.ranking(service.open_store(), sweep_id)
    if json:
        print_json(r)
        return
    from rich.console import Console
    from rich.table import Table

    console = Console(highlight=False)
    if not console.is_terminal:
        console.width = max(console.width, 160)
    n = len(r["jobs"])
    console.print(f"sweep {r['id']}  {r['state']}  {n} job{'s' * (n != 1)}  keep {r['keep']:.3g} at each rung")
    table = Table(box=None, pad_edge=False, header_style="bold")
    for col in ("rank", "job", "configuration", "epochs", "best FD", "state"):
        table.add_column(col, no_wrap=col != "state", justify="right" if col in ("rank", "epochs", "best FD") else "left")
    for row in r["jobs"]:
        best = num(row["best_fd"]) + (f" (epoch {row['best_epoch']})" if row["best_epoch"] is not None else "")
        state = row["state"] + (f": {row['reason']}" if row["reason"] else "")
        table.add_row(str(row["rank"]), row["job"][:8], " ".join(f"{k}={v}" for k, v in row["config_text"].items()),
                      f"{row['epochs']}/{row['total_epochs']}", best, state)
    console.print(table)


@app.command("cancel")
@user_errors
def cancel(sweep_id: SweepId, json: o.Json = False) -> None:
    """Cancel the sweep's jobs that have not ended (queued: at once; running: at the next batch)."""
    from ganctl.jobs import service, sweeps

    done = sweeps.cancel(service.open_store(), sweep_id)
    if json:
        print_json({k: v for k, v in done.items() if k != "text"})
        return
    typer.echo(done["text"])
