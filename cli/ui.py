"""`ganctl ui`: the live dashboard (ganctl.web) on 127.0.0.1:8765, printing its URL with the token."""
from __future__ import annotations

import secrets
from typing import Annotated

import typer

from ganctl.jobs import service
from ganctl.jobs.config import get_settings

from ganctl.cli._errors import CliError, user_errors

Host = Annotated[str, typer.Option("--host", help="Address to bind; other than loopback needs GANCTL_UI_TOKEN.")]
Port = Annotated[int, typer.Option("--port", min=1, max=65535, help="TCP port.")]


@user_errors
def ui(host: Host = "127.0.0.1", port: Port = 8765) -> None:
    """Serve the live dashboard: jobs, each job's curves and grids as it trains, workers, actions."""
    from ganctl.web.security import is_loopback

    s = get_settings()
    if not is_loopback(host) and not s.ui_token:
        raise CliError(f"--host {host} is not a loopback address: set GANCTL_UI_TOKEN to serve beyond this machine")
    token = s.ui_token or secrets.token_urlsafe(24)
    service.check_artifacts()  # a bucket that does not answer: one line now, not a 404 per picture
    import uvicorn

    from ganctl.jobs import objects
    from ganctl.web.app import Config, create_app

    app = create_app(Config(store=service.open_store(s), artifacts=s.resolved_artifacts_dir, token=token,
                            bucket=objects.from_settings(s)))
    shown = f"[{host}]" if ":" in host else host
    typer.echo(f"ganctl ui: serving {s.resolved_database_url.split('@')[-1]}")
    typer.echo(f"    http://{shown}:{port}/?token={token}", err=False)
    uvicorn.run(app, host=host, port=port, log_level="warning", timeout_graceful_shutdown=2)
