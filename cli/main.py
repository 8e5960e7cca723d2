"""`ganctl`: the root Typer app. One module per command (the `_` modules are their shared helpers:
_errors, _output, _options, _child, _quality_text, _tf); nothing here imports TensorFlow.

Usage errors (unknown option, a value of the wrong type, a missing argument) come out as one
`error: ...` line on stderr with exit status 2, like every other bad input.
"""
from __future__ import annotations

import sys

import typer
from typer.core import TyperGroup

from ganctl.cli import (archs, cancel, data, db, grids, listing, plot, report, sample, status, submit, watch,
               ui, worker, workers)
from ganctl.cli.eval import evaluate
from ganctl.cli.extend import extend
from ganctl.cli.fork import fork
from ganctl.cli import compare, sweep


class OneLineErrors(TyperGroup):
    """Runs the CLI in non-standalone mode and turns Click's multi-line usage errors into one line."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        if not standalone_mode:
            return super().main(args=args, prog_name=prog_name, complete_var=complete_var,
                                standalone_mode=False, **extra)
        from typer._click.exceptions import ClickException, NoArgsIsHelpError

        try:
            rv = super().main(args=args, prog_name=prog_name, complete_var=complete_var,
                              standalone_mode=False, **extra)
        except NoArgsIsHelpError as exc:
            typer.echo(exc.format_message())
            sys.exit(exc.exit_code)
        except ClickException as exc:
            message = " ".join(exc.format_message().split())
            ctx = getattr(exc, "ctx", None)
            hint = f" (see `{ctx.command_path} --help`)" if ctx is not None else ""
            typer.echo(f"error: {message}{hint}", err=True)
            sys.exit(exc.exit_code)
        except typer.Abort:
            typer.echo("aborted", err=True)
            sys.exit(1)
        sys.exit(rv if isinstance(rv, int) else 0)


app = typer.Typer(
    name="ganctl",
    cls=OneLineErrors,
    help="GAN training as a job system: queue, watch and sample TensorFlow GAN experiments.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

app.command("submit")(submit.submit)
app.command("status")(status.status)
app.command("list")(listing.list_jobs)
app.command("watch")(watch.watch)
app.command("cancel")(cancel.cancel)
app.command("sample")(sample.sample)
app.command("eval")(evaluate)
app.command("worker")(worker.worker)
app.command("workers")(workers.workers)
app.command("report")(report.report)
app.command("plot")(plot.plot)
app.command("grids")(grids.grids)
app.command("extend")(extend)
app.command("fork")(fork)
app.command("ui")(ui.ui)
app.add_typer(archs.app, name="archs")
app.add_typer(db.app, name="db")
app.add_typer(data.app, name="data")
app.add_typer(sweep.app, name="sweep")
app.command("compare")(compare.compare)


if __name__ == "__main__":  # python -m ganctl.cli.main
    app()
