"""A sweep's training on Ray: one task per group of runs, cached by the driver as results arrive.

Chosen with ``python -m helpers train NN --executor ray [--address ADDR]`` or, in Python,
``with runs.using(RayExecutor(address)): ...``. Only this module imports Ray; training on one
machine (:data:`helpers.runs.LOCAL`) never does.

* **Where**: the cluster at ``address`` (or ``RAY_ADDRESS``); without one, a local Ray instance
  is started (and shut down by :meth:`RayExecutor.close`). The job ships this package's code to
  the workers (``runtime_env`` ``py_modules``): nodes need the dependencies (torch, ...) and the
  dataset, not a checkout. An instance already started in this process (``ray.init``) is used
  as it is.
* **What**: each group of specs that trains together (one :func:`helpers.train.fit` call; see
  :func:`helpers.runs.get`) is one task asking for one GPU where the cluster has GPUs (groups
  of :data:`GPU_GROUP_SIZE`), else ``cpus_per_task`` CPUs, the threads its fit runs on
  (default: :data:`helpers.train.CPU_FIT_THREADS`, as local training; on a CPU the bits of a run
  depend on its thread count, so this keeps Ray's runs equal to local ones) and a group of one run. Every group of one
  ``runs.get`` call is submitted at once and collected with ``ray.wait``; a chapter calls
  ``runs.get`` stage by stage (a lottery round needs the previous round's masks), so the
  parallelism is within a call.
* **Data a task needs**: the masks and starting states its specs name (``Spec.mask``,
  ``Spec.init_from``) are read by the driver and handed to the task through Ray's object store
  (:func:`helpers.runs.shipped`); a worker reads no cache of the driver's and writes none: it
  returns the trained states and logits, and the driver writes each run into its runs cache
  atomically (``runs._write``) as it arrives.
* **Failures**: a task that raises or whose worker dies is retried (``max_retries``; Ray
  reschedules it, on another node if its node is lost); a long group also checkpoints its
  progress in the worker's temporary folder every ``HELPERS_CHECKPOINT_S`` seconds, which a retry
  on the same node resumes from. Groups that still fail are reported together at the end
  (:class:`helpers.runs.SweepFailed`) after every other group has been cached. An interrupted
  driver caches the results that are ready and cancels the other tasks; the same command later
  trains only what is not cached.
* **Budget**: a deadline (``HELPERS_DEADLINE``) only keeps a call's tasks from being submitted
  after it; tasks submitted run to their end (``python -m helpers train`` refuses ``--budget``
  with Ray: stop a sweep with Ctrl-C, resume it with the same command).
* **Progress**: a bar (runs done of total, failures, ETA) when stderr is a terminal (tqdm);
  otherwise a line at most every :data:`helpers.runs.LOG_EVERY_S` seconds and one at the end.

Results are bitwise those of local training on the same kind of device (and, on a CPU, the same
thread count) for deterministic specs: the task runs the same ``train.fit``.
"""
from __future__ import annotations

import logging
import os
import socket
import sys
import tempfile
import time
from pathlib import Path

import ray
import torch

from . import runs, train

PACKAGE = Path(__file__).resolve().parent
GPU_GROUP_SIZE = 16      # runs per task on a GPU (as runs.default_group_size on a GPU)
CONNECT_TIMEOUT_S = 10.0


def runtime_env() -> dict:
    """The job's runtime environment: this package's code, shipped to every worker."""
    return {"py_modules": [str(PACKAGE)]}


def _first_line(obj) -> str:
    return (str(obj).strip().splitlines() or [""])[0]


def train_group(specs: list, device, shipped: dict, threads: int | None, variant: str) -> list:
    """One Ray task: ``train.fit(specs)`` with the tensors they name handed over (``shipped``:
    ``{name: ObjectRef}``), on ``threads`` CPU threads; returns the results (the driver caches
    them). Progress is checkpointed in this node's temporary folder, where a retry resumes it."""
    if threads:
        torch.set_num_threads(threads)
        train.CPU_FIT_THREADS = threads   # the fit's threads on a CPU
    tensors = {name: ray.get(ref) if isinstance(ref, ray.ObjectRef) else ref for name, ref in shipped.items()}
    ckpt = Path(tempfile.gettempdir()) / f"helpers-ray-{os.getuid()}" / variant / train.checkpoint_name(specs)
    with runs.shipped(tensors):
        results = train.fit(specs, device=device, checkpoint=ckpt)
    ckpt.unlink(missing_ok=True)
    return results


class RayExecutor:
    """Trains ``runs.get``'s groups as Ray tasks; see the module doc.

    ``address``: a cluster (``host:port``, ``ray://host:port``, ``auto``); None: ``RAY_ADDRESS``,
    else a local instance started here. ``cpus_per_task``: CPUs (and torch threads) a task asks
    for on a CPU cluster (None: :data:`helpers.train.CPU_FIT_THREADS`, as local fits). ``max_retries``: retries of a
    task that fails or whose worker dies. ``task``: the function a task runs (default
    :func:`train_group`; tests wrap it).
    """

    name = "ray"

    def __init__(self, address: str | None = None, cpus_per_task: int | None = None, max_retries: int = 3,
                 task=None):
        self.address = address if address else (os.environ.get("RAY_ADDRESS") or None)
        self.cpus_per_task, self.max_retries = cpus_per_task, max_retries
        self.task = task or train_group
        self.owned = False       # whether connect() started or joined Ray (close() shuts it down)
        self.submitted = 0       # tasks submitted so far (what a resumed sweep did not need: tests)

    # ------------------------------------------------------------------ the cluster

    def connect(self) -> "RayExecutor":
        """Join the cluster (or start a local instance); an unreachable address is a one-line
        :class:`helpers.runs.ExecutorError`. A Ray already initialized in this process is used."""
        if ray.is_initialized():
            return self
        quiet = dict(logging_level=logging.WARNING, runtime_env=runtime_env())
        if self.address in (None, "local"):
            where = "a new local Ray instance"
            kwargs = dict(address="local", include_dashboard=False, **quiet)
        else:
            where = f"the Ray cluster at {self.address}"
            _check_reachable(self.address)
            kwargs = dict(address=self.address, **quiet)
        try:
            ray.init(**kwargs)
        except Exception as err:  # a malformed address, no cluster there, a version mismatch
            raise runs.ExecutorError(f"cannot start or join {where}: {type(err).__name__}: {_first_line(err)}") from None
        self.owned = True
        return self

    def close(self) -> None:
        """Leave the cluster (a local instance started here is shut down)."""
        if self.owned and ray.is_initialized():
            ray.shutdown()
        self.owned = False

    def resources(self) -> dict:
        self.connect()
        return ray.cluster_resources()

    def _on_gpu(self, device) -> bool:
        gpus = self.resources().get("GPU", 0)
        if device not in (None, "auto") and str(device).startswith("cuda") and not gpus:
            raise runs.ExecutorError(f"device {device!r} was asked for, but the Ray cluster has no GPU")
        return bool(gpus) and (device in (None, "auto") or str(device).startswith("cuda"))

    def _cpus(self) -> int:
        want = self.cpus_per_task or train.CPU_FIT_THREADS or torch.get_num_threads()
        biggest = max((n["Resources"].get("CPU", 0) for n in ray.nodes() if n.get("Alive")), default=0)
        if biggest and want > biggest:
            print(f"ray: tasks ask for {int(biggest)} CPUs (the largest node), not {want}", file=sys.stderr)
            want = int(biggest)
        return max(1, int(want))

    # ------------------------------------------------------------------ the executor interface

    def group_size(self, device) -> int:
        return GPU_GROUP_SIZE if self._on_gpu(device) else 1

    def describe(self, device, groups: int = 2) -> str:
        res = self.resources()
        each = "1 GPU" if self._on_gpu(device) else f"{self._cpus()} CPU(s)"
        return (f"on Ray ({res.get('GPU', 0):g} GPUs, {res.get('CPU', 0):g} CPUs in the cluster; "
                f"one task per group, {each} each)")

    def run(self, chunks: list, device, deadline, on_done, progress: bool) -> None:
        """Submit every chunk (a list of ``(key, spec)``) as a task, then hand each finished
        ``(chunk, results)`` to ``on_done`` (which caches them) as it arrives."""
        if deadline is not None and time.time() >= deadline:  # a budget (HELPERS_DEADLINE): no task starts after it
            raise train.BudgetExhausted(f"the training budget ran out before {len(chunks)} Ray task(s) could start")
        self.connect()
        on_gpu = self._on_gpu(device)
        opts = dict(num_gpus=1, num_cpus=self.cpus_per_task or 1) if on_gpu else dict(num_cpus=self._cpus())
        threads = None if on_gpu else opts["num_cpus"]
        remote = ray.remote(self.task).options(max_retries=self.max_retries, retry_exceptions=True, **opts)
        refs: dict = {}       # tensors put in the object store once per call, by the name specs give them
        pending: dict = {}
        variant = lambda s: runs.data_mod.load(s.dataset).variant  # noqa: E731 (memoized by data.load)
        for chunk in chunks:
            specs = [s for _, s in chunk]
            needed = {}
            for s in specs:
                for name in (s.mask, s.init_from):  # what the spec names (runs.stored reads it)
                    if name:
                        if name not in refs:
                            refs[name] = ray.put(runs.stored(name))
                        needed[name] = refs[name]
            pending[remote.remote(specs, device, needed, threads, variant(specs[0]))] = chunk
            self.submitted += 1
        bar = runs.Progress(sum(len(c) for c in chunks), progress, "ray", runs.LOG_EVERY_S)
        failures = []
        try:
            while pending:
                ready, _ = ray.wait(list(pending), num_returns=1, timeout=5.0)
                for ref in ready:
                    chunk = pending.pop(ref)
                    try:
                        on_done(chunk, ray.get(ref))
                    except (ray.exceptions.RayError, ValueError) as err:
                        failures.append((chunk, _why(err)))
                        bar.update(len(chunk), failed=True)
                    else:
                        bar.update(len(chunk))
        except BaseException:  # interrupted (Ctrl-C) or the cache unwritable
            try:
                _salvage(pending, on_done)  # but first cache what had finished
            finally:
                for ref in pending:
                    ray.cancel(ref, force=True)
            raise
        finally:
            bar.close()
        if failures:
            n_runs = sum(len(c) for c, _ in failures)
            raise runs.SweepFailed(
                f"{len(failures)} of {len(chunks)} Ray tasks ({n_runs} runs) failed after {self.max_retries} "
                f"retries; first: {failures[0][1]}. Every other run is cached; the same command retries the rest")


def _salvage(pending: dict, on_done) -> None:
    """Hand the results that are ready to ``on_done`` (an interrupted driver keeps what finished)."""
    ready, _ = ray.wait(list(pending), num_returns=len(pending), timeout=0)
    for ref in ready:
        chunk = pending.pop(ref)
        try:
            on_done(chunk, ray.get(ref))
        except Exception:  # a failed task, or the same error again: what was not cached is retrained later
            pass


def _why(err: BaseException) -> str:
    cause = getattr(err, "cause", None)
    if isinstance(cause, BaseException):
        return f"{type(cause).__name__}: {_first_line(cause)}"
    return f"{type(err).__name__}: {_first_line(err)}"


def _check_reachable(address: str) -> None:
    """Fail fast, in one line, where nothing listens at ``host:port`` (ray.init would retry for
    minutes). ``auto`` and other forms are left to Ray."""
    hostport = address.split("://", 1)[-1]
    host, sep, port = hostport.rpartition(":")
    if not sep:
        if address == "auto":
            return
        raise runs.ExecutorError(f"not a Ray address: {address!r} (expected host:port, ray://host:port or auto)")
    if not port.isdigit():
        raise runs.ExecutorError(f"not a Ray address: {address!r} (the port must be a number)")
    try:
        socket.create_connection((host, int(port)), timeout=CONNECT_TIMEOUT_S).close()
    except OSError as err:
        raise runs.ExecutorError(f"no Ray cluster reachable at {address} ({err.strerror or err}); start one "
                                 "with `ray start --head` there, or leave out --address for a local instance") from None
