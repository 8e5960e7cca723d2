"""A sweep of three dcgan jobs made through the store API (no training): FD at epochs 2 and 4,
one job stopped at its first rung, one extended by a tagged child. For the dashboard's tests."""
from __future__ import annotations


def three_job_sweep(store):
    """(sweep id, [job ids in configuration order], child id). FDs at epoch 2: 50, 80, 30 (keep 1/2:
    the second is cut at rung 1); at epoch 4: 40 and 20. Ranking: third, first, second."""
    specs = [({"arch": "dcgan", "epochs": 4, "eval_every": 2, "lr_g": lr}, 4) for lr in (1e-4, 2e-4, 5e-5)]
    sweep, jobs = store.create_sweep({"base": {"arch": "dcgan", "epochs": 4, "eval_every": 2},
                                        "sets": {"lr_g": ["1e-4", "2e-4", "5e-5"]}}, 0.5, specs)
    ids = []
    for job, fds in zip(jobs, ((50.0, 40.0), (80.0, None), (30.0, 20.0))):
        job = store.claim(job.id, worker="w@h", gpu=None, lease_s=60)
        for e in (1, 2, 3, 4):
            store.record_epoch(job.id, job.attempts, e, 0.7, 1.4 - 0.1 * e, 2.0, 10.0)
            if e % 2 == 0:
                fd = fds[e // 2 - 1]
                store.record_metrics(job.id, job.attempts, e, 100, {"fd": fd, "kid": 0.1}, False)
                decision = store.decide_rung(job.id, job.attempts, e, fd, keep=0.5, rung=e // 2, final=e == 4)
                if not decision.go_on:
                    break
        if store.get_job(job.id).status == "running":
            store.finish(job.id, job.attempts, "completed")
        ids.append(job.id)
    child = store.create_linked_job({"arch": "dcgan", "epochs": 6, "eval_every": 2, "lr_g": 5e-5}, total_epochs=6,
                                    max_attempts=3, parent_id=ids[2], link=("extend", 4), tags=["best", "lr"])
    return sweep.id, ids, child.id
