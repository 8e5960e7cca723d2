"""`ganctl`: the root Typer app. One module per command (the `_` modules are their shared helpers:
_errors, _output, _options, _child, _quality_text, _tf); nothing here imports TensorFlow.

Usage errors (unknown option, a value of the wrong type, a missing argument) come out as one
`error: ...` line on stderr with exit status 2, like every other bad input.
"""
from __future__ import annotations

import sys
from collections.abc import MutableMapping

import typer
from typer.core import TyperGroup

# Command name -> (module under ganctl.cli, attribute): the command's function, or a sub-app's Typer.
# Imported only when that command runs (or for --help), so `ganctl status` does not pay for the
# experiments, sweeps, compare, dashboard and S3 code the other commands pull in; the order is the
# order `ganctl --help` lists them in.
COMMANDS = {
    "submit": ("submit", "submit"),
    "status": ("status", "status"),
    "list": ("listing", "list_jobs"),
    "watch": ("watch", "watch"),
    "cancel": ("cancel", "cancel"),
    "sample": ("sample", "sample"),
    "eval": ("eval", "evaluate"),
    "worker": ("worker", "worker"),
    "workers": ("workers", "workers"),
    "report": ("report", "report"),
    "plot": ("plot", "plot"),
    "grids": ("grids", "grids"),
    "extend": ("extend", "extend"),
    "fork": ("fork", "fork"),
    "ui": ("ui", "ui"),
    "compare": ("compare", "compare"),
    "archs": ("archs", "app"),
    "db": ("db", "app"),
    "data": ("data", "app"),
    "sweep": ("sweep", "app"),
}


def _load(name: str):
    """The Click command Typer builds for COMMANDS[name], built the way `app.command(name)(f)` /
    `app.add_typer(sub, name=name)` on the root would build it (same help, options, errors)."""
    module, attr = COMMANDS[name]
    # __import__ rather than importlib.import_module: the statement's path, which `python -X
    # importtime` traces.
    target = getattr(__import__(f"ganctl.cli.{module}", fromlist=[attr]), attr)
    one = typer.Typer()
    if isinstance(target, typer.Typer):
        one.add_typer(target, name=name)
    else:
        one.command(name)(target)
    return typer.main.get_group(one).commands[name]


class LazyCommands(MutableMapping):
    """The root group's name -> command mapping: every name is known up front (listing, typo
    suggestions), a command's module is imported when the command is first looked up."""

    def __init__(self, eager=None):
        self._built = dict(eager or {})  # commands registered on `app` the usual way, if any

    def __getitem__(self, name):
        if name not in self._built:
            if name not in COMMANDS:
                raise KeyError(name)
            self._built[name] = _load(name)
        return self._built[name]

    def __setitem__(self, name, command):
        self._built[name] = command

    def __delitem__(self, name):
        del self._built[name]

    def __iter__(self):
        return iter(dict.fromkeys([*COMMANDS, *self._built]))

    def __len__(self):
        return len(dict.fromkeys([*COMMANDS, *self._built]))


class OneLineErrors(TyperGroup):
    """Runs the CLI in non-standalone mode and turns Click's multi-line usage errors into one line.
    Its commands are COMMANDS, loaded lazily."""

    def __init__(self, *, commands=None, **attrs):
        super().__init__(commands=LazyCommands(commands), **attrs)

    def get_command(self, ctx, cmd_name):
        return self.commands.get(cmd_name)

    def list_commands(self, ctx):
        return list(self.commands)  # names only: listing must not import every command

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


@app.callback()
def _root() -> None:
    # No options of its own: a callback makes Typer build `app` as a group (OneLineErrors) even
    # though no command is registered on it; COMMANDS are resolved by that group.
    pass


if __name__ == "__main__":  # python -m ganctl.cli.main
    app()
