"""Tags, and what extend / fork / sample --epoch refuse before anything is queued (the embedded
broker, no worker needed; training through real workers: tests/integration/test_experiments.py)."""
from __future__ import annotations

import json
import re

from cli_helpers import assert_one_line_error, broker_messages, job_rows
from finished_jobs import finished_job
from sweep_rows import three_job_sweep


def test_tags_are_stored_listed_and_shown(cli, home):
    a = cli("submit", "--epochs", "2", "--tag", "baseline", "--tag", "lr-sweep").stdout.strip()
    b = cli("submit", "--epochs", "2", "--tag", "lr-sweep").stdout.strip()
    cli("submit", "--epochs", "2")
    assert re.search(r"^tags\s+baseline, lr-sweep$", cli("status", a[:8]).stdout, re.M)
    assert json.loads(cli("status", b, "--json").stdout)["tags"] == ["lr-sweep"]
    assert {j["id"] for j in json.loads(cli("list", "--tag", "lr-sweep", "--json").stdout)} == {a, b}
    assert [j["id"] for j in json.loads(cli("list", "--tag", "baseline", "--json").stdout)] == [a]
    assert "no jobs matching" in cli("list", "--tag", "nothing").stdout
    assert_one_line_error(cli("list", "--arch", "dcgna"), "unknown arch 'dcgna'; available: dcgan, dcgan64, upsample")
    assert_one_line_error(cli("list", "--tag", " "), "--tag: a tag cannot be empty")
    for carry in (("fork", a[:8]), ("extend", a[:8], "--epochs", "1")):  # refused before the job's state is
        assert_one_line_error(cli(*carry, "--tag", ""), "--tag: a tag cannot be empty")
        assert_one_line_error(cli(*carry, "--tag", "x" * 65), "a tag has at most 64 characters")


def test_unfinished_or_checkpointless_jobs_are_refused_in_one_line(cli, home):
    queued = cli("submit", "--epochs", "2").stdout.strip()
    rows, messages = job_rows(home), broker_messages(home)
    assert_one_line_error(cli("extend", queued[:8], "--epochs", "2"), f"job {queued[:8]} is queued",
                          "extend a finished job")
    assert_one_line_error(cli("fork", queued[:8], "--lr-g", "1e-4"), "fork a finished job")
    assert_one_line_error(cli("sample", queued[:8], "--epoch", "best"), "no evaluated epoch")
    assert_one_line_error(cli("eval", queued[:8], "--epoch", "x"), "--epoch x: give best or an epoch number")
    assert_one_line_error(cli("sample", queued[:8], "--epoch", "2", "--format", "savedmodel"), "--format h5")
    cli("cancel", queued[:8])  # cancelled before it ran: finished, but no checkpoint
    assert_one_line_error(cli("extend", queued[:8], "--epochs", "2"), "has no checkpoint to start from")
    assert job_rows(home) == [(queued, "train", "cancelled")] and broker_messages(home) == messages
    assert len(rows) == 1


def test_sweep_refusals_queue_nothing(cli, home):
    base = ("sweep", "--arch", "dcgan", "--epochs", "4", "--set", "lr_g=1e-4,2e-4")
    assert_one_line_error(cli(*base), "a sweep needs --eval-every N")
    assert_one_line_error(cli(*base, "--eval-every", "4"), "--eval-every 4 leaves no evaluated epoch before the last")
    assert_one_line_error(cli(*base, "--eval-every", "2", "--set", "lr_g=3e-4"), "--set lr_g given twice")
    assert_one_line_error(cli("sweep", "--arch", "dcgan", "--eval-every", "1", "--set", "arch=dcgan,upsample"),
                          "--set arch: not an option a sweep can vary")
    one = "the sweep's --set values give one configuration (lr_g=1e-4); a sweep compares two or more"
    assert_one_line_error(cli("sweep", "--arch", "dcgan", "--epochs", "4", "--eval-every", "2", "--set", "lr_g=1e-4"), one)
    assert_one_line_error(cli(*base[:-1], "lr_g=1e-4,0.0001", "--eval-every", "2"),
                          "the sweep's configurations lr_g=1e-4 and lr_g=0.0001 are the same job")
    assert_one_line_error(cli("sweep", "--arch", "dcgan", "--epochs", "4", "--eval-every", "2", "--set", "lr_g=1e-4",
                              "--set", "seed=1", "--random", "5"), "give one configuration (lr_g=1e-4 seed=1)")
    assert_one_line_error(cli(*base, "--eval-every", "2", "--random", "1"), "--random 1: N must be at least 2 (a sweep compares two or more")
    assert_one_line_error(cli(*base, "--eval-every", "2", "--random", "3"),
                          "--random 3: the --set values give 2 configurations; draw fewer")
    assert job_rows(home) == [] and broker_messages(home) == 0
    # Evaluating only the last epoch is a ranking, not a halving: accepted with --keep 1.
    ranked = json.loads(cli(*base, "--eval-every", "4", "--keep", "1", "--json").stdout)
    assert len(ranked["jobs"]) == 2 and len(job_rows(home)) == 2
    # Cancelling a sweep that has ended would relabel it: refused, its state kept.
    assert cli("sweep", "cancel", ranked["id"][:8]).exit_code == 0
    assert_one_line_error(cli("sweep", "cancel", ranked["id"][:8]), f"sweep {ranked['id'][:8]} is cancelled: nothing to cancel")


def test_sweep_list_shows_each_sweep_its_jobs_and_best_fd(cli, store, home):
    assert cli("sweep", "list").stdout.strip() == "no sweeps yet: `ganctl sweep --eval-every N --set KEY=V1,V2 ...`"
    done, ids, _ = three_job_sweep(store)
    queued = json.loads(cli("sweep", "--arch", "dcgan", "--epochs", "4", "--eval-every", "2", "--set", "lr_g=1e-4,2e-4",
                            "--set", "loss=bce,hinge", "--random", "3", "--json").stdout)["id"]
    rows = [" ".join(line.split()) for line in cli("sweep", "list").stdout.splitlines()]
    assert rows[0] == "sweep created state arch epochs swept jobs best FD"
    assert rows[1].startswith(queued[:8]) and rows[2].startswith(done[:8]), rows  # newest first
    assert rows[1].endswith("running dcgan 4 lr_g=1e-4,2e-4 loss=bce,hinge (3 drawn) 3: 3 queued -")
    assert rows[2].endswith(f"finished dcgan 4 lr_g=1e-4,2e-4,5e-5 3: 2 completed, 1 stopped 20 ({ids[2][:8]}, epoch 4)")
    one = cli("sweep", "list", "-n", "1")
    assert one.stdout.splitlines()[-1] == "the newest 1: -n N for more"
    assert [r["id"] for r in json.loads(cli("sweep", "list", "-n", "1", "--json").stdout)] == [queued]
    cli("sweep", "cancel", queued[:8])
    assert " cancelled dcgan 4 " in " ".join(cli("sweep", "list").stdout.split())


def test_fork_refusals_name_the_option_first(cli, store, home):
    """A bad value names its flag as submit's do; a fork from the last epoch asks for --epochs."""
    job = finished_job(store, {"arch": "dcgan", "epochs": 2, "classes": [1]})  # the seed recipe: no EMA
    short = job.id[:8]
    assert_one_line_error(cli("fork", short, "--epoch", "1", "--lr-g", "-1"), "--lr-g: Input should be greater than 0")
    assert_one_line_error(cli("fork", short, "--recipe", "bogus"), "--recipe: unknown recipe 'bogus'")
    assert_one_line_error(cli("fork", short, "--lr-g", "1e-4"),
                          f"from epoch 2, job {short} has no epochs left of its planned 2: give --epochs N")
    assert_one_line_error(cli("fork", short, "--epoch", "best"), f"job {short} has no evaluated epoch")
    assert_one_line_error(cli("fork", short, "--epoch", "x"), "--epoch x: give best or an epoch number")
    assert_one_line_error(cli("fork", short, "--epoch", "1", "--recipe", "ema-augment-batch32"),
                          "fork cannot switch EMA on (recipe ema-augment-batch32 with these options has it on)")
    assert job_rows(home) == [(job.id, "train", "completed")] and broker_messages(home) == 0
    forked = cli("fork", short, "--lr-g", "1e-4", "--epochs", "1", "--json")
    assert forked.exit_code == 0, forked.stderr
    assert json.loads(forked.stdout)["spec"]["epochs"] == 3
    store.record_metrics(job.id, None, 1, 100, {"fd": 50.0}, False)  # epoch 1 evaluated: the best
    best = cli("fork", short, "--epoch", "best", "--lr-g", "1e-4", "--json")
    assert best.exit_code == 0, best.stderr
    best = json.loads(best.stdout)["id"]
    assert store.link_of(best).start_epoch == 1


def test_compare_shows_what_each_job_trains_with(cli, store, home):
    """A learning rate left to the recipe and the same rate given are the same; an extension counts
    its parent's epochs and seconds up to where it starts; ids with --sweep, or one job twice: refused."""
    spec = {"arch": "dcgan", "epochs": 2, "classes": [1], "recipe": "ema-augment-batch32"}
    left, given, other = (finished_job(store, spec | extra) for extra in ({}, {"lr_g": 2e-4}, {"lr_g": 1e-4}))
    ext = json.loads(cli("extend", other.id[:8], "--epochs", "3", "--json").stdout)["id"]
    rows = [line.split() for line in cli("compare", left.id[:8], given.id[:8], other.id[:8], ext[:8]).stdout.splitlines()]
    assert rows[0] == ["job", "status", "lr_g", "epochs", "FD", "best", "FD", "KID", "recall", "training"]
    assert [(r[0], r[2], r[3], r[-1]) for r in rows[1:]] == [
        (left.id[:8], "0.0002", "2/2", "2.0s"), (given.id[:8], "0.0002", "2/2", "2.0s"),
        (other.id[:8], "0.0001", "2/2", "2.0s"), (ext[:8], "0.0001", "2/5", "2.0s")]
    assert_one_line_error(cli("compare", left.id[:8], left.id), f"job {left.id[:8]} given twice")
    assert_one_line_error(cli("compare", left.id[:8], given.id[:8], "--sweep", "abcd"),
                          "compare takes job ids or --sweep S, not both")
