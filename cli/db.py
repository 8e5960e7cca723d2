"""`ganctl db upgrade|current`: the store's schema revision."""
from __future__ import annotations

import typer

from ganctl.jobs.service import open_store

from ganctl.cli import _options as o
from ganctl.cli._errors import user_errors
from ganctl.cli._output import print_json

app = typer.Typer(help="Database schema: upgrade to the latest revision, show the current one.",
                  no_args_is_help=True)


def _where(store) -> str:
    return store.engine.url.render_as_string(hide_password=True)


@app.command("upgrade")
@user_errors
def upgrade(json: o.Json = False) -> None:
    """Create or migrate the store's tables to the latest revision."""
    store = open_store()
    rev = store.upgrade()
    if json:
        print_json({"database": _where(store), "revision": rev})
    else:
        typer.echo(f"{_where(store)}: at revision {rev} (head)")


@app.command("current")
@user_errors
def current(json: o.Json = False) -> None:
    """Show the store's schema revision and the one this ganctl needs."""
    store = open_store()
    rev, head = store.current_revision(), store.head_revision()
    if json:
        print_json({"database": _where(store), "revision": rev, "head": head, "up_to_date": rev == head})
        return
    note = "up to date" if rev == head else (
        "the embedded store upgrades itself at its first use" if store.auto_upgrade
        else "out of date: run `ganctl db upgrade`")
    typer.echo(f"{_where(store)}: revision {rev or 'none (empty)'}, head {head} ({note})")
