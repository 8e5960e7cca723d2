"""What the pages and the API show, from ganctl.jobs.service, with file paths turned into
/artifacts/ URLs. Plain functions of (store, root): called in a thread by the async routes."""
from __future__ import annotations

from pathlib import Path, PurePosixPath

from ganctl.jobs import experiments, service, sweeps
from ganctl.jobs.spec import trains_with
from ganctl.web.security import artifact_url


def jobs(store, root: Path, status: str | None = None, arch: str | None = None, limit: int = 200,
         tag: str | None = None, sweep: str | None = None) -> list[dict]:
    return service.job_rows(store, status=status or None, arch=arch or None, limit=limit, tag=tag or None,
                            sweep=sweep or None)


def job(store, root: Path, job_id: str) -> dict:
    d = service.job_details(store, job_id)
    for g in d["grids"]:
        g["url"] = artifact_url(root, g["path"])
    for a in d["artifacts"]:  # a folder (a SavedModel, a sample's images/) has no download: its path is shown
        a["url"] = artifact_url(root, a["path"]) if PurePosixPath(a["path"]).suffix else None
    for c in d["children"]:
        c["grid_url"] = artifact_url(root, (c.get("result") or {}).get("grid"))
    d["lineage"] = experiments.lineage(store, store.get_job(job_id)) if d["kind"] == "train" else None
    d["trains_with"] = trains_with(d["spec"] or {}) if d["kind"] == "train" else {}  # for options left unset
    d["grid_url"] = artifact_url(root, (d.get("result") or {}).get("grid")) if d["kind"] == "sample" else None
    return d


def workers(store, root: Path) -> list[dict]:
    return service.worker_rows(store)


def sweeps_list(store, root: Path, limit: int = 20) -> list[dict]:
    """The newest sweeps (jobs/sweeps.overview): the dashboard's /sweeps."""
    return sweeps.overview(store, limit)


def sweep(store, root: Path, sweep_id: str) -> dict:
    """The sweep's ranking (jobs/sweeps.ranking) and its jobs' curves for GanctlCharts.overlay."""
    return sweeps.view(store, sweep_id)


def compare(store, root: Path, ids: list[str]) -> dict:
    """jobs/compare.compare's table of these jobs, their curves (GanctlCharts.overlay's shape) and,
    for the last epochs every job has a grid of, each job's grid URL: the compare page."""
    from ganctl.jobs.compare import compare as side_by_side
    from ganctl.jobs.compare import labels, overlay_runs, same_epoch_grids

    data = side_by_side(store, ids)
    names = labels(data)
    return data | {"labels": names, "curves": overlay_runs(store, names),
                   "grids": [{"epoch": e, "jobs": [{"id": i, "label": names[i], "url": artifact_url(root, g.path)}
                                                   for i, g in rows.items()]}
                             for e, rows in same_epoch_grids(store, list(names))]}
