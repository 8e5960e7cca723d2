"""The embedded broker (kombu's SQLAlchemy transport on a real SQLite file) when several worker
launchers start at once: kombu guards its check-then-insert of a queue row with a thread lock
only, so without declare_queues' retry one process dies with IntegrityError (seen in CI)."""
from __future__ import annotations

import multiprocessing as mp
import sqlite3

PROCESSES = 6


def _declare(url: str, barrier, errors) -> None:
    from ganctl.worker.app import create_app, declare_queues
    from ganctl.jobs.config import Settings

    app = create_app(Settings(broker_url=url))
    barrier.wait()  # all at once, on a broker file that does not exist yet
    try:
        declare_queues(app)
    except Exception as exc:  # noqa: BLE001 - reported to the parent
        errors.put(f"{type(exc).__name__}: {exc}")


def test_launchers_starting_together_all_get_the_queues(tmp_path):
    url = f"sqla+sqlite:///{tmp_path / 'broker.db'}"
    ctx = mp.get_context("spawn")
    barrier, errors = ctx.Barrier(PROCESSES), ctx.Queue()
    procs = [ctx.Process(target=_declare, args=(url, barrier, errors)) for _ in range(PROCESSES)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    assert [p.exitcode for p in procs] == [0] * PROCESSES
    found = []
    while not errors.empty():
        found.append(errors.get())
    assert found == []
    with sqlite3.connect(tmp_path / "broker.db") as db:
        names = sorted(row[0] for row in db.execute("SELECT name FROM kombu_queue"))
    assert names == ["sample", "train"]
