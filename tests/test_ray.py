"""The Ray executor (helpers.ray_executor) on a local Ray instance with 2 CPUs, shared by the module.

* a smoke chapter's runs through Ray equal the same runs trained locally, bit for bit (chapter 01:
  its children start from a cached run's checkpoint, shipped to the task);
* a worker killed mid-task is retried and the sweep completes (masks and a rewinding state
  shipped too);
* an interrupted driver resumes without retraining what finished;
* a bad address is a one-line error from the command line.

The workers' ``HELPERS_DATA_DIR`` is not the driver's: a task that read the driver's cache
(masks, states to start from) instead of what it was shipped would fail.
Deselect with ``-m "not ray"``.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import ray
import torch

from helpers import config, gates, pruning, ray_executor, runs, train

pytestmark = pytest.mark.ray
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """A local Ray instance (2 CPUs); its workers' data folder is a private one of their own."""
    saved = os.environ.get("HELPERS_DATA_DIR")
    workers = tmp_path_factory.mktemp("worker-data")
    os.environ["HELPERS_DATA_DIR"] = str(workers)  # inherited by the workers
    ray.init(num_cpus=2, include_dashboard=False, runtime_env=ray_executor.runtime_env(),
             logging_level="WARNING")
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])  # the killing task below
    try:
        yield workers
    finally:
        ray.shutdown()
        if saved is None:
            os.environ.pop("HELPERS_DATA_DIR", None)
        else:
            os.environ["HELPERS_DATA_DIR"] = saved


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """A fresh private data folder for the driver (``folder(name)`` switches to another)."""

    def folder(name: str) -> Path:
        path = tmp_path / name
        path.mkdir()
        monkeypatch.setenv("HELPERS_DATA_DIR", str(path))
        return path

    monkeypatch.delenv("HELPERS_DEADLINE", raising=False)
    folder("driver")
    return folder


def _dir_bits(folder: Path) -> list:
    """A cached run's weights and logits, as bytes (NaN and all: some smoke runs diverge)."""
    states = torch.load(folder / "states.pt", weights_only=True)
    with np.load(folder / "logits.npz") as z:
        logits = [(k, z[k].tobytes()) for k in sorted(z.files)]
    return [(e, n, t.numpy().tobytes()) for e in sorted(states) for n, t in sorted(states[e].items())] + logits


def _bits(run) -> list:
    return _dir_bits(run.path)


def _folder_bits(data_dir: Path) -> dict:
    return {d.name: _dir_bits(d) for d in (data_dir / "runs").iterdir() if d.is_dir() and d.name[0] not in "._"}


def test_smoke_chapter_through_ray_equals_local(cluster, cache):
    chapter = "01_loss_landscape"
    local = cache("local")
    gates.cache_clear(chapter)
    gates.compute(config.chapter_params(chapter, "smoke", dataset="synthetic"))
    through_ray = cache("ray")
    gates.cache_clear(chapter)
    executor = ray_executor.RayExecutor()
    with runs.using(executor):
        gates.compute(config.chapter_params(chapter, "smoke", dataset="synthetic"))
    gates.cache_clear(chapter)
    a, b = _folder_bits(local), _folder_bits(through_ray)
    assert len(a) == 19 and a.keys() == b.keys()
    assert executor.submitted == 19  # one task per run on CPUs
    assert [k for k in a if a[k] != b[k]] == []


def tiny(**changes) -> train.Spec:
    return train.Spec(model="smallcnn", width=0.5, dataset="synthetic", n_train=128, n_test=64, epochs=1,
                      batch_size=32, optimizer="adam", lr=1e-3).replace(**changes)


def kill_first_attempt(specs, device, shipped, threads, variant):
    """The task of :func:`test_a_killed_worker_is_retried`: the group marked ``replica=7`` kills its
    own worker process the first time it runs (a marker file says it has)."""
    marker = Path(os.environ["HELPERS_DATA_DIR"]) / "killed-once"
    if any(s.replica == 7 for s in specs) and not marker.exists():
        marker.touch()
        os.kill(os.getpid(), signal.SIGKILL)
    return ray_executor.train_group(specs, device, shipped, threads, variant)


def test_a_killed_worker_is_retried(cluster, cache):
    dense = runs.get([tiny(save_epochs=(0,))])[0]
    mask = pruning.magnitude_mask({n: t for n, t in dense.state().items() if t.dim() >= 2}, rate=0.5)
    start = runs.store(dense.state(0))  # a rewinding point (a stored state's hash)
    specs = [tiny(seed_init=2, replica=7, mask=runs.store(mask), init_from=start), tiny(seed_init=3)]
    executor = ray_executor.RayExecutor(task=kill_first_attempt)
    got = runs.get(specs, executor=executor)
    assert (cluster / "killed-once").exists()  # in the workers' data folder, not the driver's
    assert executor.submitted == 2 and len(got) == 2
    cache("local")
    runs.store(mask), runs.store(dense.state(0))
    assert [_bits(r) for r in got] == [_bits(r) for r in runs.get(specs)]


def test_an_interrupted_driver_resumes(cluster, cache, monkeypatch):
    specs = [tiny(seed_init=s) for s in (11, 12, 13, 14)]
    write = runs._write

    def interrupt_once(trained, key):
        write(trained, key)
        monkeypatch.setattr(runs, "_write", write)
        raise KeyboardInterrupt  # Ctrl-C as the first result arrives (it is cached)

    monkeypatch.setattr(runs, "_write", interrupt_once)
    with pytest.raises(KeyboardInterrupt):
        runs.get(specs, executor=ray_executor.RayExecutor())
    cached = {p: (p / "manifest.json").stat().st_mtime_ns for p in (runs.runs_dir()).iterdir() if p.name[0] not in "._"}
    assert 1 <= len(cached) < 4  # the first result, and any other ready then; the rest cancelled
    executor = ray_executor.RayExecutor()
    got = runs.get(specs, executor=executor)
    assert executor.submitted == 4 - len(cached)  # what finished is not trained again
    assert {p: (p / "manifest.json").stat().st_mtime_ns for p in cached} == cached
    assert len({r.path for r in got}) == 4


@pytest.mark.parametrize("address, message", [("127.0.0.1:1", "no Ray cluster reachable at 127.0.0.1:1"),
                                              ("nonsense", "not a Ray address")])
def test_a_bad_address_is_one_line(address, message, no_data):
    done = subprocess.run([sys.executable, "-m", "helpers", "train", "01", "--profile", "smoke", "--dataset",
                           "synthetic", "--executor", "ray", "--address", address],
                          cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("error: ") and message in done.stderr, done.stderr
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr, done.stderr
