"""The dashboard's Starlette app: pages, the JSON API, event streams and artifact downloads.

Reads are open (the server binds to loopback unless a token was set); every POST needs the token
in the X-Ganctl-Token header (the page's script sends it; a cross-site form cannot set a header)
and, from a browser, an Origin naming this server. Job ids go through jobs.layout.valid_job_id.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from ganctl.jobs import charts, experiments, service, sweeps
from ganctl.jobs.layout import BadJobId, valid_job_id
from ganctl.web import data
from ganctl.web.events import Shared, stream
from ganctl.web.security import TOKEN_HEADER, artifact_file, artifact_target, same_origin, token_ok

HERE = Path(__file__).parent
STATUSES = ("queued", "running", "completed", "failed", "cancelled", "stopped")


@dataclass
class Config:
    store: object
    artifacts: Path
    token: str
    every: float = 1.0  # seconds between two store polls of one event stream
    bucket: object = None  # ganctl.jobs.objects.Bucket when artifacts live in S3 (GANCTL_ARTIFACTS_URL)


def _error(exc: BaseException) -> JSONResponse:
    """A user error as {"error": one line}: 404 for an unknown job, 400 for other refusals."""
    names = {c.__name__ for c in type(exc).__mro__}
    code = 404 if "NotFound" in names else 400
    return JSONResponse({"error": service.one_line(exc)}, status_code=code)


def _is_user_error(exc: BaseException) -> bool:
    return isinstance(exc, ValueError) or "StoreError" in {c.__name__ for c in type(exc).__mro__}


def whole(body: dict, key: str, default: int | None = None) -> int:
    """body[key] as a whole number (2, 2.0 or "2"); a one-line ServiceError for null, 2.5, "abc", [1]."""
    from pydantic import TypeAdapter, ValidationError

    value = body.get(key, default)
    try:
        return TypeAdapter(int).validate_python(value)
    except ValidationError:
        raise service.ServiceError(f"{key}: give a whole number, not {value!r}") from None


def fork_args(body: dict) -> dict:
    """`POST .../fork`'s body as experiments.fork's arguments: `epoch` (start: a number or "best"),
    `epochs` (to train) and spec options to change ({"lr_g": 1e-4}), which the fork validates as
    `ganctl fork` does."""
    args = {k: body[k] if (k, body[k]) == ("epoch", "best") else whole(body, k)
            for k in ("epoch", "epochs") if body.get(k) is not None}
    return args | {"changes": {k: v for k, v in body.items() if k not in ("epoch", "epochs")}}


def _job_id(request: Request) -> str:
    try:
        return valid_job_id(request.path_params["job_id"])
    except BadJobId:
        raise HTTPException(404, "no such job") from None


def _sweep_id(request: Request) -> str:
    try:  # sweep ids are UUIDs too: canonical only, as job ids (prefixes are for the CLI)
        return valid_job_id(request.path_params["sweep_id"])
    except BadJobId:
        raise HTTPException(404, "no such sweep") from None


def _job_ids(request: Request) -> list[str]:
    """?ids=<id>,<id>,...: canonical job ids (the compare page), 2 to 12 of them."""
    raw = [i for i in request.query_params.get("ids", "").split(",") if i]
    try:
        ids = [valid_job_id(i) for i in raw]
    except BadJobId:
        raise HTTPException(404, "no such job") from None
    if not 2 <= len(ids) <= 12:
        raise HTTPException(400, "compare takes 2 to 12 job ids: ?ids=<id>,<id>")
    return ids


def _bound(action, what: str):
    """An endpoint function (Starlette treats a partial as a raw ASGI app) for one action."""
    async def endpoint(request: Request):
        return await action(request, what)
    return endpoint


def create_app(cfg: Config) -> Starlette:
    shared = Shared(cfg.every)
    env = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(default=True))

    def page(name: str, status_code: int = 200, **ctx) -> HTMLResponse:
        return HTMLResponse(env.get_template(name).render(statuses=STATUSES, **ctx), status_code=status_code)

    async def read(fn, *args):
        try:
            return await run_in_threadpool(fn, cfg.store, cfg.artifacts, *args)
        except Exception as exc:  # noqa: BLE001
            if _is_user_error(exc):
                raise HTTPException(404 if "NotFound" in {c.__name__ for c in type(exc).__mro__} else 400,
                                    service.one_line(exc)) from None
            raise

    # ------------------------------------------------------------------ pages
    async def jobs_page(request: Request):
        q = request.query_params
        try:  # a bad filter: said on the page, beside the form to fix it (the stream would only fail)
            status, arch, _, tag, sweep = _filters(request)
            await read(lambda store, _root: service.list_jobs(store, status=status, arch=arch, tag=tag, sweep=sweep,
                                                              limit=1))  # the checks, not the rows
            problem = None
        except HTTPException as exc:
            problem = exc.detail
        return page("jobs.html", status_code=400 if problem else 200, title="jobs", problem=problem,
                    status=q.get("status", ""), arch=q.get("arch", ""), tag=q.get("tag", ""), sweep=q.get("sweep", ""))

    async def job_page(request: Request):
        job = await read(data.job, _job_id(request))
        return page("job.html", title=f"job {job['id'][:8]}", job=job)

    async def sweeps_page(request: Request):
        return page("sweeps.html", title="sweeps")

    async def sweep_page(request: Request):
        sweep = await read(data.sweep, _sweep_id(request))
        return page("sweep.html", title=f"sweep {sweep['id'][:8]}", sweep=sweep)

    async def compare_page(request: Request):
        view = await read(data.compare, _job_ids(request))
        return page("compare.html", title="compare", view=view)

    async def api_compare(request: Request):
        return JSONResponse(await read(data.compare, _job_ids(request)))

    async def events_compare(request: Request):
        return stream(request, partial(data.compare, cfg.store, cfg.artifacts, _job_ids(request)), cfg.every, shared)

    async def workers_page(request: Request):
        return page("workers.html", title="workers")

    async def api_page(request: Request):
        return page("api.html", title="API")

    # ------------------------------------------------------------------ JSON reads
    def _filters(request: Request) -> tuple:
        q = request.query_params
        status = q.get("status") or None
        if status is not None and status not in STATUSES:
            raise HTTPException(400, f"unknown status {status!r}; expected one of {', '.join(STATUSES)}")
        return status, q.get("arch") or None, _limit(request), q.get("tag") or None, q.get("sweep") or None

    def _limit(request: Request) -> int:
        try:
            limit = int(request.query_params.get("limit", 200))
        except ValueError:
            raise HTTPException(400, "limit must be a whole number") from None
        return max(1, min(limit, 1000))

    async def api_jobs(request: Request):
        return JSONResponse(await read(data.jobs, *_filters(request)))

    async def api_job(request: Request):
        return JSONResponse(await read(data.job, _job_id(request)))

    async def api_sweeps(request: Request):
        return JSONResponse(await read(data.sweeps_list, _limit(request)))

    async def api_sweep(request: Request):
        return JSONResponse(await read(data.sweep, _sweep_id(request)))

    async def api_workers(request: Request):
        return JSONResponse(await read(data.workers))

    # ------------------------------------------------------------------ actions
    def refused(request: Request) -> JSONResponse | None:
        """Why this POST may not act (no token, another site's page), or None."""
        if not token_ok(request.headers.get(TOKEN_HEADER), cfg.token):
            return JSONResponse({"error": f"this action needs the token (header {TOKEN_HEADER}; "
                                          "it is printed by `ganctl ui`)"}, status_code=403)
        if not same_origin(request.headers.get("origin"), request.headers.get("host")):
            return JSONResponse({"error": "cross-origin request refused"}, status_code=403)
        return None

    async def action(request: Request, what: str):
        if (no := refused(request)) is not None:
            return no
        job_id = _job_id(request)
        try:
            body = await request.json() if await request.body() else {}
        except ValueError:
            return JSONResponse({"error": "the body must be JSON"}, status_code=400)
        if not isinstance(body, dict):
            return JSONResponse({"error": "the body must be a JSON object"}, status_code=400)
        calls = {"cancel": lambda: service.cancel(cfg.store, job_id),
                 "sample": lambda: service.queue_sample(cfg.store, job_id, n=whole(body, "n", 12),
                                                        seed=None if body.get("seed") is None else whole(body, "seed")),
                 "eval": lambda: service.queue_eval(cfg.store, job_id, n=whole(body, "n", 10_000)),
                 "extend": lambda: experiments.extend(cfg.store, job_id, epochs=whole(body, "epochs", 0)),
                 "fork": lambda: experiments.fork(cfg.store, job_id, **fork_args(body))}
        try:
            job = await run_in_threadpool(calls[what])
        except Exception as exc:  # noqa: BLE001
            if _is_user_error(exc):
                return _error(exc)
            raise
        return JSONResponse(service.job_dict(job), status_code=200 if what == "cancel" else 201)

    async def sweep_cancel(request: Request):
        if (no := refused(request)) is not None:
            return no
        sweep_id = _sweep_id(request)
        try:
            return JSONResponse(await run_in_threadpool(sweeps.cancel, cfg.store, sweep_id))
        except Exception as exc:  # noqa: BLE001
            if _is_user_error(exc):
                return _error(exc)
            raise

    # ------------------------------------------------------------------ streams and files
    async def events_jobs(request: Request):
        args = _filters(request)
        return stream(request, partial(data.jobs, cfg.store, cfg.artifacts, *args), cfg.every, shared)

    async def events_job(request: Request):
        return stream(request, partial(data.job, cfg.store, cfg.artifacts, _job_id(request)), cfg.every, shared)

    async def events_sweeps(request: Request):
        limit = _limit(request)
        return stream(request, partial(data.sweeps_list, cfg.store, cfg.artifacts, limit), cfg.every, shared)

    async def events_sweep(request: Request):
        return stream(request, partial(data.sweep, cfg.store, cfg.artifacts, _sweep_id(request)), cfg.every, shared)

    async def events_workers(request: Request):
        return stream(request, partial(data.workers, cfg.store, cfg.artifacts), cfg.every, shared)

    async def artifact(request: Request):
        job_id, rel = request.path_params["job_id"], request.path_params["path"]
        path = artifact_file(cfg.artifacts, job_id, rel)
        if path is None and cfg.bucket is not None:  # not on this host yet: from the bucket into the cache
            path = await run_in_threadpool(_from_bucket, job_id, rel)
        if path is None:
            raise HTTPException(404, "no such artifact")
        return FileResponse(path)

    def _from_bucket(job_id: str, rel: str) -> Path | None:
        from ganctl.jobs.objects import ObjectStoreError

        target = artifact_target(cfg.artifacts, job_id, rel)
        if target is None:
            return None
        try:
            return cfg.bucket.download(job_id, target.relative_to(cfg.artifacts.resolve() / job_id).as_posix(), target)
        except ObjectStoreError:
            return None

    async def not_found(request: Request, exc: HTTPException):
        if request.url.path.startswith(("/api/", "/events/", "/artifacts/")):
            return JSONResponse({"error": exc.detail}, status_code=exc.status_code)
        return HTMLResponse(env.get_template("error.html").render(title=str(exc.status_code), message=exc.detail,
                                                                  statuses=STATUSES), status_code=exc.status_code)

    routes = [
        Route("/", jobs_page), Route("/jobs/{job_id}", job_page), Route("/workers", workers_page),
        Route("/sweeps", sweeps_page), Route("/api/sweeps", api_sweeps), Route("/events/sweeps", events_sweeps),
        Route("/sweeps/{sweep_id}", sweep_page), Route("/api/sweeps/{sweep_id}", api_sweep),
        Route("/events/sweeps/{sweep_id}", events_sweep),
        Route("/api/sweeps/{sweep_id}/cancel", sweep_cancel, methods=["POST"]),
        Route("/compare", compare_page), Route("/api/compare", api_compare), Route("/events/compare", events_compare),
        Route("/api", api_page),
        Route("/api/jobs", api_jobs), Route("/api/jobs/{job_id}", api_job), Route("/api/workers", api_workers),
        *[Route(f"/api/jobs/{{job_id}}/{what}", _bound(action, what), methods=["POST"])
          for what in ("cancel", "sample", "eval", "extend", "fork")],
        Route("/events/jobs", events_jobs), Route("/events/jobs/{job_id}", events_job),
        Route("/events/workers", events_workers),
        Route("/artifacts/{job_id}/{path:path}", artifact),
        Mount("/static/charts", StaticFiles(directory=charts.ASSETS), name="charts"),  # shared with `report`
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
    ]
    return Starlette(routes=routes, exception_handlers={HTTPException: not_found})
