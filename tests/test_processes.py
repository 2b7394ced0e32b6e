"""helpers.runs.ProcessExecutor (a call's groups side by side in worker processes, the default
on a GPU and, in notebooks and the CLI, on a CPU) and helpers.gates.prefetch (a chapter's first-stage runs asked for in one call)."""
import os
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from helpers import config, cost, gates, runs, train

SPEC = train.Spec(model="smallcnn", dataset="synthetic", n_train=128, n_test=32, epochs=1, batch_size=64,
                  optimizer="adam", lr=1e-3, save_epochs=(0,))
# two groups (specs that differ in more than their seeds): two train.fit calls
SPECS = [SPEC.with_seed(1), SPEC.with_seed(2), SPEC.replace(width=0.5).with_seed(1)]


def _bits(run_list):
    return [(r.key, np.asarray(r.logits()).tobytes(), r.weights().tobytes()) for r in run_list]


def test_groups_trained_in_worker_processes_give_the_local_bits(tmp_path, monkeypatch):
    """Deterministic specs on a CPU, every fit on one thread: the same keys,
    logits and weights as one group after another here; a second call trains nothing."""
    monkeypatch.setenv("HELPERS_DATA_DIR", str(tmp_path / "local"))
    local = _bits(runs.get(SPECS, progress=False, executor=runs.LOCAL))
    monkeypatch.setenv("HELPERS_DATA_DIR", str(tmp_path / "workers"))
    executor = runs.ProcessExecutor(2)
    assert _bits(runs.get(SPECS, progress=False, executor=executor)) == local
    monkeypatch.setattr(runs.ProcessExecutor, "run", lambda *a, **k: pytest.fail("trained again"))
    assert _bits(runs.get(SPECS, progress=False, executor=executor)) == local
    assert not list((tmp_path / "workers" / "runs" / "_partial").glob("*"))


def test_a_failing_group_is_raised_after_the_others_are_cached():
    bad = SPEC.replace(model="nosuchnet")            # fails in its worker (train.validate)
    with pytest.raises(ValueError, match="unknown model 'nosuchnet'"):
        runs.get([SPEC.with_seed(3), bad], progress=False, executor=runs.ProcessExecutor(2))
    calls = []
    with runs.using(runs.ProcessExecutor(2)):
        monkey = runs.LOCAL.run
        try:
            runs.LOCAL.run = lambda chunks, *a: calls.append(chunks)
            runs.get([SPEC.with_seed(3)], progress=False)   # cached before the error was raised
        finally:
            runs.LOCAL.run = monkey
    assert calls == []


def test_no_group_starts_after_the_deadline():
    with pytest.raises(train.BudgetExhausted, match="before 3 groups could start"):
        runs.get(SPECS, progress=False, executor=runs.ProcessExecutor(2), deadline=time.time() - 1)


def test_one_group_or_one_worker_trains_in_this_process(monkeypatch):
    monkeypatch.setattr(runs.ProcessExecutor, "pool", lambda *a: pytest.fail("a worker was started"))
    runs.get(SPECS[:2], group_size=2, progress=False, executor=runs.ProcessExecutor(4))
    runs.get(SPECS, progress=False, executor=runs.ProcessExecutor(1))
    with pytest.raises(ValueError, match="at least 1"):
        runs.ProcessExecutor(0)


def test_the_default_executor_is_processes_on_a_gpu_unless_a_script_would_run_again(monkeypatch):
    monkeypatch.setattr(runs, "_processes", None)
    assert runs.default_executor("cpu") is runs.LOCAL              # HELPERS_CPU_WORKERS=1 (conftest)
    monkeypatch.setattr(train, "pick_device",
                        lambda device="auto": torch.device("cpu" if device == "cpu" else "cuda"))
    monkeypatch.setattr(runs, "CUDA_WORKERS_SET", False)
    monkeypatch.setattr(runs, "spawn_safe", lambda: False)         # a script: this process
    assert runs.default_executor("auto") is runs.LOCAL
    monkeypatch.setattr(runs, "CUDA_WORKERS_SET", True)            # ... unless asked for
    assert isinstance(runs.default_executor("auto"), runs.ProcessExecutor)
    monkeypatch.setattr(runs, "spawn_safe", lambda: True)          # a notebook, python -m helpers
    chosen = runs.default_executor("auto")
    assert isinstance(chosen, runs.ProcessExecutor) and chosen.workers == runs.CUDA_WORKERS > 1
    assert chosen.persistent and runs.default_executor("cuda") is chosen   # kept for the next call
    monkeypatch.setenv("HELPERS_CPU_WORKERS", str(runs.CUDA_WORKERS))     # as many, for a CPU:
    on_cpu = runs.default_executor("cpu")                                   # other workers' set-up
    assert on_cpu is not chosen and on_cpu.kind == "cpu" and on_cpu.workers == chosen.workers
    monkeypatch.setattr(runs, "CUDA_WORKERS", 1)
    assert runs.default_executor("auto") is runs.LOCAL


def _recording_get(monkeypatch):
    """runs.get replaced by a recorder (nothing trains): returns the list of calls."""
    calls = []

    def get(specs, device="auto", **kw):
        calls.append(list(specs))
        return [cost._FakeRun(s) for s in specs]

    monkeypatch.setattr(runs, "get", get)
    return calls


def test_prefetch_asks_for_every_first_stage_run_at_once(monkeypatch):
    """Chapter 01 at smoke where runs train side by side: its first gate's call is every run that
    needs no other (the main seeds, the widths, the deep nets, the batch sizes) before the main
    gate's own calls; the children of a checkpoint come later, by their gate."""
    P = config.chapter_params("01_loss_landscape", "smoke")
    want = cost.first_stage(cost.record_params(P, device="cpu"))
    assert {s.model for s in want} >= {"deepcnn", P.model} and not any(s.init_from for s in want)
    calls = _recording_get(monkeypatch)
    gates.cache_clear("01_loss_landscape")
    from helpers.chapters import loss_landscape

    with runs.using(runs.ProcessExecutor(2)):
        loss_landscape.main_runs(P)
        loss_landscape.width_runs(P)       # once per parameters
    assert len(calls) == 4 and calls[0] == want
    # then the gates' own calls: the seeds and the widths were in the first call (cached by then
    # in a real run), the children were not
    assert set(calls[1]) <= set(want) and set(calls[3]) <= set(want)
    assert len(calls[2]) == 2 * P.parents and all(s.init_from for s in calls[2])
    gates.cache_clear("01_loss_landscape")


def test_no_prefetch_where_groups_train_one_after_another(monkeypatch):
    P = config.chapter_params("01_loss_landscape", "smoke")
    calls = _recording_get(monkeypatch)
    gates.cache_clear("01_loss_landscape")
    from helpers.chapters import loss_landscape

    loss_landscape.main_runs(P)                # CPU: the local executor
    assert [len(c) for c in calls] == [P.seeds, 2 * P.parents]
    gates.cache_clear("01_loss_landscape")


def test_first_stage_keeps_order_and_drops_dependent_and_repeated_specs():
    a, b = SPEC.with_seed(1), SPEC.with_seed(2)
    child = SPEC.replace(init_from="abc@1")
    pruned = SPEC.replace(mask="f00")
    assert cost.first_stage([[a, child], [b, a, pruned]]) == [a, b]
    assert cost.staged([[a, child], [b]], workers=1) == [[a, child], [b]]
    assert cost.staged([[a, child], [b]], workers=2) == [[a, b], [a, child], [b]]


def test_a_persistent_executor_keeps_its_workers_for_the_next_call(tmp_path, monkeypatch):
    executor = runs.ProcessExecutor(2, persistent=True)
    try:
        runs.get(SPECS[:2], progress=False, executor=executor)
        pool = executor._pool
        assert pool is not None
        runs.get([SPEC.with_seed(7), SPEC.with_seed(8)], progress=False, executor=executor)
        assert executor._pool is pool
    finally:
        executor.close()
    assert executor._pool is None


def _manifests(folder):
    """``{run key: SHA-256 of its spec, logits and states}`` of a runs cache (meta.json, with its
    timings, differs from run to run)."""
    import json

    out = {}
    for d in (folder / "runs").iterdir():
        if (d / "manifest.json").exists():
            m = json.loads((d / "manifest.json").read_text())
            out[d.name] = {f: m[f] for f in ("spec.json", "logits.npz", "states.pt")}
    return out


def test_chapters_trained_through_workers_and_prefetch_give_the_local_runs(cli, tmp_path):
    """Chapters 01 and 02 at smoke, every run computed by their gates (``helpers train``): with
    ``HELPERS_CPU_WORKERS=2`` (the first stage asked for at once, then the children of a
    checkpoint and the lottery's pruned rounds, their starting states and masks handed to the
    workers) the runs cache holds the same runs, file for file, as one group after another."""
    caches = {}
    for workers in (1, 2):
        folder = tmp_path / f"w{workers}"
        run = cli("train", "01", "02", "--profile", "smoke", "--dataset", "synthetic",
                  env={"HELPERS_CPU_WORKERS": workers, "HELPERS_DATA_DIR": folder, "OMP_NUM_THREADS": 1,
                       "HELPERS_PROGRESS": 1})
        assert run.returncode == 0, run.stderr[-2000:]
        assert ("in worker processes" in run.stdout) == (workers == 2)
        caches[workers] = _manifests(folder)
    assert len(caches[1]) > 30 and caches[1] == caches[2]


def _die(*args):
    """A worker that dies (stands in for one killed, or that cannot start CUDA)."""
    import os

    os._exit(3)


def test_groups_whose_workers_die_train_here_instead(monkeypatch, capsys):
    monkeypatch.setattr(runs, "_train_in_worker", _die)
    executor = runs.ProcessExecutor(2, persistent=True)
    got = runs.get(SPECS, progress=False, executor=executor)
    assert [r.spec for r in got] == SPECS and executor._pool is None     # the broken pool is gone
    assert "training the 3 group(s) left in this process" in capsys.readouterr().err


DRIVER = """
import os, sys
from helpers import runs, train
spec = train.Spec(model="smallcnn", dataset="synthetic", n_train=128, n_test=32, epochs=5000,
                  batch_size=64, optimizer="adam", lr=1e-3, save_epochs=())
print(os.getpid(), flush=True)
runs.get([spec.with_seed(1), spec.replace(width=0.5).with_seed(1)], progress=False,
         executor=runs.ProcessExecutor(2))
"""


def test_workers_stop_when_their_driver_is_killed(tmp_path):
    """A time limit's SIGKILL takes the driver only: its workers, mid-training, must not train on
    (on a GPU the rerun needs, writing the checkpoint the rerun resumes from)."""
    import os
    import signal
    import subprocess
    import sys

    import psutil

    env = dict(os.environ, HELPERS_DATA_DIR=str(tmp_path), OMP_NUM_THREADS="1", PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    driver = subprocess.Popen([sys.executable, "-c", DRIVER], env=env, stdout=subprocess.PIPE, text=True)
    workers = []
    try:
        me = psutil.Process(int(driver.stdout.readline()))
        for _ in range(120):   # until both workers train (spawned, imported, the data on the device)
            workers = [p for p in me.children() if "resource_tracker" not in " ".join(p.cmdline())]
            if len(workers) == 2 and all(p.cpu_times().user > 3 for p in workers):
                break
            time.sleep(0.5)
        assert len(workers) == 2, [p.cmdline() for p in workers]
        driver.send_signal(signal.SIGKILL)
        driver.wait()
        gone, alive = psutil.wait_procs(workers, timeout=10)
        assert not alive, f"{len(alive)} worker(s) still training 10 s after their driver died"
    finally:
        for p in workers:
            if p.is_running():
                p.kill()
        driver.kill()


def test_a_budget_that_runs_out_in_the_workers_resumes_to_the_uninterrupted_bits(tmp_path, monkeypatch):
    """The GPU's default path under ``--budget``: the deadline falls while both groups train in
    workers; the driver raises BudgetExhausted with their progress checkpointed, and the same
    call then resumes them to the bits of an uninterrupted run."""
    long = SPEC.replace(n_train=64, epochs=600, save_epochs=(300,))
    specs = [long.with_seed(1), long.replace(width=0.5).with_seed(1)]
    monkeypatch.setenv("HELPERS_DATA_DIR", str(tmp_path / "workers"))
    executor = runs.ProcessExecutor(2, persistent=True)
    try:
        runs.get(SPECS[:2], progress=False, executor=executor)  # the workers started, imports done
        with pytest.raises(train.BudgetExhausted, match="ran out after epoch"):
            runs.get(specs, progress=False, executor=executor, deadline=time.time() + 3)
        assert len(list(runs.partial_dir().glob("*"))) == 2     # both stopped mid-fit, kept
        resumed = _bits(runs.get(specs, progress=False, executor=executor))
    finally:
        executor.close()
    assert not list(runs.partial_dir().glob("*"))
    monkeypatch.setenv("HELPERS_DATA_DIR", str(tmp_path / "local"))
    assert resumed == _bits(runs.get(specs, progress=False, executor=runs.LOCAL))


def test_cpu_workers_default_to_one_per_core_unless_a_script_would_run_again_in_each(monkeypatch):
    import types

    monkeypatch.delenv("HELPERS_CPU_WORKERS")
    monkeypatch.setattr(runs, "_processes", None)
    monkeypatch.setattr(runs, "usable_cpus", lambda: 64)
    script = types.ModuleType("__main__")
    script.__file__, script.__spec__ = "/home/reader/train_tickets.py", None
    monkeypatch.setitem(sys.modules, "__main__", script)
    assert not runs.spawn_safe() and runs.cpu_workers() == 1
    assert runs.default_executor("cpu") is runs.LOCAL
    script.__spec__ = types.SimpleNamespace(name="helpers.__main__")      # python -m helpers ...
    assert runs.spawn_safe() and runs.cpu_workers() == runs.MAX_CPU_WORKERS
    kernel = types.ModuleType("__main__")                                  # a notebook kernel
    monkeypatch.setitem(sys.modules, "__main__", kernel)
    assert runs.spawn_safe() and runs.cpu_workers() == runs.MAX_CPU_WORKERS
    assert runs.default_executor("cpu").workers == runs.MAX_CPU_WORKERS
    monkeypatch.setattr(runs, "usable_cpus", lambda: 2)                  # a two-core container
    assert runs.cpu_workers() == 2
    monkeypatch.setenv("HELPERS_CPU_WORKERS", "3")
    assert runs.cpu_workers() == 3
    assert 1 <= runs.usable_cpus() <= (os.cpu_count() or 1)
