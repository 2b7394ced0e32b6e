"""The runs cache: a training result is computed once, keyed by what determines it.

``get(specs)`` returns one :class:`Run` per spec. Each lives in ``data/runs/<key>/`` where the
key hashes the spec's non-default fields, the dataset variant and ``train.CODE_VERSION`` (fields
left at their defaults do not enter the hash, so adding a field to ``Spec`` later keeps every
cached run valid).

* Writes are atomic: a run is written to a temporary folder and renamed into place.
* Every file is listed with its SHA-256 in ``manifest.json``, written last; an entry whose
  manifest is missing or whose files do not match is reported in one line, moved aside to
  ``data/runs/_corrupt/`` (nothing is deleted) and trained again.
* Missing runs are trained in groups (specs that differ only in seeds train together), and each
  group is written as soon as it finishes: an interrupted sweep resumes where it stopped.
* A group in training saves its progress to ``data/runs/_partial/`` every two minutes and at
  the deadline (``HELPERS_DEADLINE``, set by ``--budget``); the same call resumes it bitwise.
* Who trains a group is an *executor*: :data:`LOCAL` (this process, one group after another; the
  default in a script on a CPU, see :func:`cpu_workers`), :class:`ProcessExecutor` (the groups of
  a call side by side in worker processes on one device; the default on a GPU, and on a CPU in a
  notebook or ``python -m helpers``) or :class:`helpers.ray_executor.RayExecutor` (a
  Ray cluster or a local Ray instance, one task per group, imported only when chosen); see
  :func:`using`.
"""
from __future__ import annotations

import collections
import contextlib
import dataclasses
import functools
import hashlib
import io
import json
import os
import shutil
import sys
import time
from pathlib import Path

import numpy as np
import torch

from . import data as data_mod
from . import train

FILES = ("spec.json", "meta.json", "logits.npz", "states.pt")


class CorruptEntry(RuntimeError):
    pass


def runs_dir() -> Path:
    return data_mod.data_dir() / "runs"


def spec_key(spec: train.Spec, variant: str) -> str:
    """Content address of a run: non-default spec fields + dataset variant + code version."""
    default = train.Spec()
    fields = {}
    for f in dataclasses.fields(spec):
        value, base = getattr(spec, f.name), getattr(default, f.name)
        if f.name != "dataset" and value != base:
            fields[f.name] = float(value) if isinstance(base, float) else value  # 2 and 2.0 alike
    payload = json.dumps(dict(fields=fields, variant=variant, code=train.CODE_VERSION),
                         sort_keys=True, default=list)
    return hashlib.sha256(payload.encode()).hexdigest()[:20]


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


@dataclasses.dataclass
class Run:
    """A cached training run: its spec, log and, per kept epoch, weights and test logits."""

    spec: train.Spec
    key: str
    path: Path
    meta: dict

    @property
    def variant(self) -> str:
        return self.meta["variant"]

    @property
    def log(self) -> list:
        return self.meta["log"]

    @property
    def epochs(self) -> list:
        """Epochs whose weights (and test logits) were kept."""
        return self.meta["epochs"]

    @property
    def logit_epochs(self) -> list:
        """Epochs whose test logits were kept (``epochs`` and the spec's ``logit_epochs``)."""
        return self.meta.get("logit_epochs", self.meta["epochs"])

    def _epoch(self, epoch, kept=None):
        epoch = self.spec.epochs if epoch is None else epoch
        kept = self.epochs if kept is None else kept
        if epoch not in kept:
            raise KeyError(f"epoch {epoch} was not kept; kept epochs: {kept}")
        return epoch

    def logits(self, epoch: int | None = None) -> np.ndarray:
        """Test-set logits (n_test, classes) at ``epoch`` (default: the last); a MIMO network's
        are (n_test, M, classes), one row per head."""
        with np.load(self.path / "logits.npz") as z:
            return z[f"e{self._epoch(epoch, self.logit_epochs)}"]

    def probs(self, epoch: int | None = None) -> np.ndarray:
        """Test-set probabilities (n_test, classes); for MIMO, the mean of the heads' (the ensemble)."""
        return self.head_probs(epoch).mean(0)

    def head_probs(self, epoch: int | None = None) -> np.ndarray:
        """Probabilities per head, (M, n_test, classes); (1, n_test, classes) for an ordinary network."""
        z = torch.from_numpy(self.logits(epoch)).double()
        z = z.unsqueeze(1) if z.dim() == 2 else z
        return torch.softmax(z, -1).transpose(0, 1).numpy()

    @property
    def labels(self) -> np.ndarray:
        with np.load(self.path / "logits.npz") as z:
            return z["labels"]

    def state(self, epoch: int | None = None) -> dict:
        """Parameters and buffers (a state dict) at ``epoch``: a copy, free to change."""
        return _kept_state(self.path, self._epoch(epoch))

    def weights(self, epoch: int | None = None) -> np.ndarray:
        """The trainable parameters at ``epoch`` as one flat float64 vector (no BN statistics)."""
        names = _parameter_names(self.spec)
        st = self.state(epoch)
        return torch.cat([st[n].flatten() for n in names]).double().numpy()

    def model(self, epoch: int | None = None) -> torch.nn.Module:
        """The network at ``epoch``, in eval mode, on the CPU."""
        net = train.init_model(self.spec)  # the architecture (MIMO included); weights replaced below
        net.load_state_dict(self.state(epoch))
        return net.eval()

    @property
    def accuracy(self) -> float:
        return float((self.probs().argmax(1) == self.labels).mean())


@functools.lru_cache(maxsize=4)
def _states(path: str, mtime_ns: int) -> dict:
    """Every kept epoch's state dict of one run, read once: an analysis that walks a run's
    checkpoints (chapter 03 reads 16 runs x 15 epochs) would otherwise read the whole file per epoch."""
    return torch.load(path, weights_only=True)


def _kept_state(path: Path, epoch: int) -> dict:
    """A copy of the state dict kept at ``epoch`` in the run folder ``path`` (KeyError if not kept)."""
    f = path / "states.pt"
    return {k: v.clone() for k, v in _states(str(f), f.stat().st_mtime_ns)[epoch].items()}


@functools.lru_cache(maxsize=32)
def _parameter_names(spec: train.Spec) -> tuple:
    return tuple(n for n, _ in train.init_model(spec).named_parameters())


_written = [0]  # runs this process has written into the cache (``python -m helpers train``)


def written() -> int:
    """How many runs this process has trained and written into the cache so far."""
    return _written[0]


def _write(trained: train.Trained, key: str) -> Path:
    final = runs_dir() / key
    tmp = runs_dir() / f".tmp-{key}-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    spec_dict = dataclasses.asdict(trained.spec)
    (tmp / "spec.json").write_text(json.dumps(spec_dict, indent=1, default=list))
    meta = dict(variant=trained.variant, device=trained.device, seconds=trained.seconds,
                mode=trained.mode, compiled=trained.compiled, precision=trained.spec.precision,
                log=trained.log, epochs=sorted(trained.states), logit_epochs=sorted(trained.logits),
                torch=torch.__version__,
                device_name=trained.device_name or data_mod.device_name(trained.device), written=time.strftime("%Y-%m-%d %H:%M:%S"))
    (tmp / "meta.json").write_text(json.dumps(meta, indent=1))
    np.savez(tmp / "logits.npz", labels=trained.test_labels, **{f"e{e}": v for e, v in trained.logits.items()})
    torch.save(trained.states, tmp / "states.pt")
    manifest = {name: _sha256(tmp / name) for name in FILES}
    (tmp / "manifest.json").write_text(json.dumps(manifest, indent=1))
    if final.exists():  # a concurrent writer got there first, or a stale entry: keep theirs aside
        _quarantine(final, "replaced")
    os.replace(tmp, final)
    _written[0] += 1
    return final


def provenance(run_list) -> str:
    """Where ``run_list`` was trained, from the cache's records: one device and torch version
    ("on X, torch V"), or each with its run count where a cache mixes them (a Ray sweep's nodes,
    a cache copied between machines, or runs recorded before the CPU's kernel set was), which can
    break bit-for-bit comparisons."""
    where = [(r.meta.get("device_name", "an unrecorded device"), r.meta.get("torch", "?"))
             for r in run_list]
    counts = collections.Counter(where)   # in the order first seen
    if len(counts) == 1:
        return f"on {where[0][0]}, torch {where[0][1]}"
    return f"on {len(counts)} devices as recorded: " + "; ".join(f"{n} run{'s' * (n > 1)} on {d}, torch {t}"
                                                    for (d, t), n in counts.items())


def _quarantine(path: Path, why: str) -> None:
    dst = runs_dir() / "_corrupt" / f"{path.name}-{time.strftime('%Y%m%d-%H%M%S')}-{why}"
    dst.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(str(path), str(dst))


def _verify(path: Path) -> None:
    """Raise :class:`CorruptEntry` unless every file of the entry matches its manifest."""
    manifest_path = path / "manifest.json"
    if not manifest_path.exists():
        raise CorruptEntry("no manifest (an interrupted write?)")
    manifest = json.loads(manifest_path.read_text())
    for name in FILES:
        if not (path / name).exists():
            raise CorruptEntry(f"{name} missing")
        if _sha256(path / name) != manifest.get(name):
            raise CorruptEntry(f"{name} does not match its checksum")


def _open(spec: train.Spec, key: str) -> Run | None:
    """The cached run for ``key``, None if absent; a damaged entry is reported and moved aside."""
    path = runs_dir() / key
    if not path.exists():
        return None
    try:
        _verify(path)
        meta = json.loads((path / "meta.json").read_text())
        return Run(spec, key, path, meta)
    except (CorruptEntry, json.JSONDecodeError, OSError) as err:
        print(f"runs cache: entry {key} is corrupt ({err}); moved to {runs_dir() / '_corrupt'} and recomputing",
              file=sys.stderr)
        _quarantine(path, "corrupt")
        return None


def initial_state(key: str, epoch: int) -> dict:
    """Epoch ``epoch`` of cached run ``key`` (a parent that ``init_from`` starts from), read
    through the same checksum check as every cached run; a damaged entry is moved aside."""
    path = runs_dir() / key
    if not path.exists():
        raise ValueError(f"init_from {key}@{epoch}: no cached run {key} in {runs_dir()}; train it first")
    try:
        _verify(path)
    except (CorruptEntry, json.JSONDecodeError, OSError) as err:
        _quarantine(path, "corrupt")
        raise ValueError(f"init_from {key}@{epoch}: the cached run is corrupt ({err}); moved to "
                         f"{runs_dir() / '_corrupt'}: rerun the chapter to train it again") from None
    try:
        return _kept_state(path, epoch)
    except KeyError:
        kept = json.loads((path / "meta.json").read_text())["epochs"]
        raise ValueError(f"init_from {key}@{epoch}: epoch {epoch} was not kept; kept: {kept}") from None


# ---------------------------------------------------------------------------------------------
# Stored tensors: masks and states to rewind to (chapter 02), named by the SHA-256 of their
# content, in data/runs/_tensors/; with the checkpoints of cached runs, everything a spec can
# name (``Spec.mask``, ``Spec.init_from``) is read here, through a checksum.


def tensors_dir() -> Path:
    return runs_dir() / "_tensors"


def content_hash(tensors: dict) -> str:
    """SHA-256 (first 20 hex digits) of names, dtypes, shapes and bytes, in sorted name order."""
    h = hashlib.sha256()
    for n in sorted(tensors):
        t = tensors[n].detach().cpu().contiguous()
        h.update(f"{n}|{t.dtype}|{tuple(t.shape)}|".encode())
        h.update(t.numpy().tobytes() if t.dtype != torch.bfloat16 else t.float().numpy().tobytes())
    return h.hexdigest()[:20]


def _read_tensors(path: Path, key: str) -> dict:
    tensors = torch.load(path, weights_only=True)
    if content_hash(tensors) != key:
        raise CorruptEntry("its content does not match its hash")
    return tensors


def store(tensors: dict) -> str:
    """Save ``{name: tensor}`` (a mask, a state dict to rewind to) under its content hash,
    atomically and once, and return the hash. A stored copy that fails its check is moved to
    ``data/runs/_corrupt/`` and written again: storing is how a damaged entry recovers."""
    tensors = {n: t.detach().cpu().contiguous().clone() for n, t in tensors.items()}
    key = content_hash(tensors)
    path = tensors_dir() / f"{key}.pt"
    if path.exists():
        try:
            _read_tensors(path, key)
            return key
        except (CorruptEntry, OSError, RuntimeError, EOFError) as err:
            print(f"runs cache: stored tensors {key} are corrupt ({err}); moved to "
                  f"{runs_dir() / '_corrupt'} and written again", file=sys.stderr)
            _quarantine(path, "corrupt")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    torch.save(tensors, tmp)
    os.replace(tmp, path)
    return key


# Tensors handed to this process with its work instead of read from disk: a Ray worker gets the
# masks and starting states of its group with the task (see helpers.ray_executor), keyed by the
# name a spec gives them, and reads no cache of the driver's.
_shipped: dict[str, dict] = {}


@contextlib.contextmanager
def shipped(tensors: dict):
    """Within the block, :func:`stored` finds ``{name: tensors}`` here first, by the name a spec
    uses (a stored hash, or ``"<run key>@<epoch>"``)."""
    _shipped.update(tensors)
    try:
        yield
    finally:
        for name in tensors:
            _shipped.pop(name, None)


def stored(name: str) -> dict:
    """What a spec names: ``"<run key>@<epoch>"`` a cached run's checkpoint
    (:func:`initial_state`), ``"<hash>"`` tensors saved by :func:`store`; both checked against
    their checksums. A damaged entry is moved aside and the error says how to recover."""
    if name in _shipped:
        return _shipped[name]
    key, epoch = train.parse_init_from(name)
    if epoch is not None:
        return initial_state(key, epoch)
    path = tensors_dir() / f"{key}.pt"
    if not path.exists():
        raise ValueError(f"no stored tensors {key!r} in {tensors_dir()}: masks and rewinding states "
                         "are stored (helpers.runs.store) by the chapter before the runs that use them; "
                         "rerun the chapter")
    try:
        return _read_tensors(path, key)
    except (CorruptEntry, OSError, RuntimeError, EOFError) as err:
        _quarantine(path, "corrupt")
        raise ValueError(f"stored tensors {key} are corrupt ({err}); moved to {runs_dir() / '_corrupt'}: "
                         "rerun the chapter to store them again") from None


train.READER = stored


def chunk_size(spec: train.Spec, group_size: int) -> int:
    """Runs of ``spec``'s group per ``train.fit`` call: ``group_size``, at most ``spec.group``."""
    return min(group_size, spec.group or group_size)


def default_group_size(device: str | None = "auto") -> int:
    """How many runs train together: many on a GPU, one at a time on a CPU (where a loop of K
    models is no faster than K fits; see bench/bench_train.py)."""
    return 16 if train.pick_device(device).type == "cuda" else 1


def deadline_from_env() -> float | None:
    """``HELPERS_DEADLINE`` (seconds since the epoch, set by ``python -m helpers run --budget``)."""
    value = os.environ.get("HELPERS_DEADLINE")
    return float(value) if value else None


def partial_dir() -> Path:
    """Where interrupted groups keep their progress until they finish."""
    return runs_dir() / "_partial"


class ExecutorError(RuntimeError):
    """An executor cannot start (e.g. no Ray cluster at the address): one line, nothing trained."""


class SweepFailed(RuntimeError):
    """Some groups failed (after their retries); every run that finished is cached."""


LOG_EVERY_S = 60.0  # without a terminal: a progress line at most this often


class Progress:
    """Runs done of total, the running group's epoch and images/s, ETA: a tqdm bar where stderr
    is a terminal (``python -m helpers train``), else a line per finished group or, for Ray, at
    most every :data:`LOG_EVERY_S` seconds (notebooks and CI logs stay readable), except within a
    :func:`stage`, whose two lines say it all; ``HELPERS_PROGRESS=0`` silences both."""

    def __init__(self, total: int, enabled: bool, name: str = "training", every_s: float = 0.0):
        self.total, self.done, self.failed, self.t0 = total, 0, 0, time.perf_counter()
        self.enabled = enabled and os.environ.get("HELPERS_PROGRESS", "1") != "0"
        self.name, self.every_s, self.bar, self.last = name, every_s, None, self.t0
        if self.enabled and sys.stderr.isatty():
            try:
                from tqdm import tqdm
                self.bar = tqdm(total=total, unit="run", desc=name, dynamic_ncols=True)
            except ImportError:
                pass
        self.lines = self.enabled and self.bar is None and _stage[0] is None

    def epoch(self, epoch: int, epochs: int, images_per_s: float) -> None:
        """The running group finished ``epoch`` of ``epochs`` at ``images_per_s`` (all its models)."""
        if self.bar is not None:
            self.bar.set_postfix_str(f"epoch {epoch}/{epochs}, {images_per_s:,.0f} images/s")

    def update(self, n: int, failed: bool = False, note: str = "") -> None:
        self.done += 0 if failed else n
        self.failed += n if failed else 0
        if self.bar is not None:
            self.bar.update(n)
            if self.failed:
                self.bar.set_postfix(failed=self.failed, refresh=False)
        elif self.lines and time.perf_counter() - self.last >= self.every_s:
            self.last = time.perf_counter()
            print(f"  {self.name}: {self.line()}{note}", flush=True)

    def line(self) -> str:
        elapsed = time.perf_counter() - self.t0
        finished = self.done + self.failed
        eta = elapsed / finished * (self.total - finished) if finished else float("nan")
        eta_text = f", ETA {eta / 60:.1f} min" if finished < self.total and finished else ""
        failed = f", {self.failed} failed" if self.failed else ""
        return f"{self.done}/{self.total} runs trained{failed}, {elapsed:.0f} s{eta_text}"

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
        if self.bar is not None or (self.lines and self.every_s):  # lines per group said it all
            print(f"  {self.name}: {self.line()}", flush=True)


class LocalExecutor:
    """Trains the missing groups one after another in this process (the default in a script on
    a CPU, see :func:`cpu_workers`, or with one worker). A group that
    would run past the deadline is checkpointed under :func:`partial_dir`; the same call resumes it."""

    name = "local"

    def group_size(self, device) -> int:
        return default_group_size(device)

    def describe(self, device, groups: int = 2) -> str:
        """Where ``groups`` groups of one call train (as printed when they start)."""
        return f"on {train.pick_device(device)}"

    def run(self, chunks: list, device, deadline, on_done, progress: bool) -> None:
        """Train each chunk (a list of ``(key, spec)``) and hand ``(chunk, results)`` to ``on_done``
        (which caches them) as soon as it finishes."""
        bar = Progress(sum(len(c) for c in chunks), progress)
        try:
            for chunk in chunks:
                t0 = time.perf_counter()
                chunk_specs = [s for _, s in chunk]
                ckpt = partial_dir() / train.checkpoint_name(chunk_specs)
                results = train.fit(chunk_specs, device=device, checkpoint=ckpt, deadline=deadline,
                                    on_epoch=bar.epoch)
                on_done(chunk, results)
                ckpt.unlink(missing_ok=True)
                bar.update(len(chunk), note=f" ({time.perf_counter() - t0:.0f} s for the last {len(chunk)})")
        finally:
            bar.close()


LOCAL = LocalExecutor()


# Worker processes per runs.get call on a GPU (the default executor there, see default_executor):
# the groups of one call train side by side, each in its own process, so that one group's
# torch.compile (35-50 s of CPU work on an H200, per shape) overlaps the others' training and a
# launch-bound group (a loop of small models, a vmap group of two or three) leaves the GPU to the
# others between its kernels. HELPERS_CUDA_WORKERS=1 trains one group after another in this
# process, as a script does unless the variable is set (see spawn_safe).
CUDA_WORKERS = int(os.environ.get("HELPERS_CUDA_WORKERS", 4))
CUDA_WORKERS_SET = bool(os.environ.get("HELPERS_CUDA_WORKERS"))
# ... and on a CPU: see cpu_workers().
MAX_CPU_WORKERS = 8


def spawn_safe() -> bool:
    """Whether worker processes can start from this program. They start with ``spawn``, which
    imports the program's ``__main__`` again in each of them: harmless in a notebook kernel or an
    interactive session (no ``__main__.__file__``) and in ``python -m helpers`` (multiprocessing
    does not run a package's ``__main__`` again), not in a script without an
    ``if __name__ == "__main__":`` guard, whose top level would run again in every worker."""
    main = sys.modules.get("__main__")
    if getattr(main, "__file__", None) is None:
        return True
    spec = getattr(main, "__spec__", None)
    return spec is not None and spec.name.split(".")[0] == "helpers"


def usable_cpus() -> int:
    """The cores this process may run on (its affinity: a container's or a job's share, not the
    host's count)."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except (AttributeError, OSError):   # not on Linux
        return os.cpu_count() or 1


def cpu_workers() -> int:
    """Worker processes on a CPU: ``HELPERS_CPU_WORKERS`` if set (1: this process), else one per
    usable core (at most :data:`MAX_CPU_WORKERS`) where :func:`spawn_safe`, else 1. A fit there
    runs on ``train.CPU_FIT_THREADS`` threads (1), so that its bits do not depend on the machine's
    cores: the cores train a call's runs side by side instead (one run per group on a CPU). On two
    free cores (2026-12-07, ``bench/bench_cpu_workers.py --epochs 2``) four ResNet20 runs took
    37.5 s that way, the workers' start (about 4 s, once per chapter) included, against 33.5 s in
    one process of two threads (whose runs' bits depend on the core count) and 60.9 s in one
    process of one thread."""
    if os.environ.get("HELPERS_CPU_WORKERS"):
        return int(os.environ["HELPERS_CPU_WORKERS"])
    return min(usable_cpus(), MAX_CPU_WORKERS) if spawn_safe() else 1


def _worker_init(threads: int) -> None:
    """A training process's set-up: ``threads`` CPU threads for torch, its fits on a CPU
    (:data:`helpers.train.CPU_FIT_THREADS`) and inductor's compile workers (several processes
    share the machine's cores); Ctrl-C (or a notebook kernel's
    interrupt, sent to its process group) is the driver's to handle: it stops the workers. A
    worker whose driver died (killed, or a time limit's SIGKILL) exits within a second instead of
    training on: a rerun resumes its group from the checkpoint, which it would otherwise keep
    writing beside the rerun's own worker, on a GPU the rerun needs."""
    import signal
    import threading

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    torch.set_num_threads(threads)
    train.CPU_FIT_THREADS = threads
    os.environ["TORCHINDUCTOR_COMPILE_THREADS"] = str(threads)
    driver = os.getppid()

    def exit_when_orphaned():
        while os.getppid() == driver:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=exit_when_orphaned, name="exit-when-orphaned", daemon=True).start()


def _train_in_worker(specs: list, device, shipped_bytes: bytes, checkpoint: str, deadline) -> bytes:
    """One group in a worker process: ``train.fit`` with the tensors its specs name handed over
    (``torch.save``'d, like the results it returns), its progress checkpointed where the driver
    would (the same call, in or out of workers, resumes it). The GPU memory it cached is freed
    for the other processes."""
    tensors = torch.load(io.BytesIO(shipped_bytes), weights_only=False)
    try:
        with shipped(tensors):
            results = train.fit(specs, device=device, checkpoint=checkpoint, deadline=deadline)
    finally:
        if torch.cuda.is_initialized():
            torch.cuda.empty_cache()
    buf = io.BytesIO()
    torch.save(results, buf)
    return buf.getvalue()


class ProcessExecutor:
    """Trains the groups of one :func:`get` call side by side, up to ``workers`` at a time, each
    in a process of its own on this machine's device (started with ``spawn``, so CUDA is never
    forked). A worker reads no cache: the masks and starting states its specs name are handed to
    it, and the trained results handed back; this process writes each group into the cache as it
    arrives, so a failure or an interruption loses only the groups in training (whose progress is
    checkpointed under :func:`partial_dir`, as the local executor does). A call with one group
    trains it here (:data:`LOCAL`). Deterministic specs give the bits they give locally: the
    worker runs the same ``train.fit``, on a CPU on the same threads (``threads``, default
    :data:`helpers.train.CPU_FIT_THREADS`).

    ``persistent``: keep the processes for the next call (the default executor on a GPU: a
    chapter starts its workers once, and a worker that compiled a shape keeps it); otherwise
    they stop at the end of each call. An interrupted call stops them either way.
    """

    name = "processes"

    def __init__(self, workers: int, threads: int | None = None, persistent: bool = False,
                 kind: str | None = None):
        if workers < 1:
            raise ValueError(f"workers must be at least 1 (got {workers})")
        self.workers, self.threads, self.persistent = workers, threads, persistent
        self.kind = kind   # the device type default_executor made it for
        self._pool = None

    def group_size(self, device) -> int:
        return default_group_size(device)

    def trains_here(self, groups: int) -> bool:
        """Whether a call of ``groups`` groups trains in this process (:data:`LOCAL`) instead."""
        return groups < 2 or self.workers < 2

    def describe(self, device, groups: int = 2) -> str:
        if self.trains_here(groups):
            return LOCAL.describe(device)
        return f"on {train.pick_device(device)}, up to {self.workers} groups at a time in worker processes"

    def _threads(self, device) -> int:
        if self.threads:
            return self.threads
        if train.pick_device(device).type == "cpu":
            return train.CPU_FIT_THREADS or torch.get_num_threads()  # a CPU run's bits depend on it
        return max(1, (os.cpu_count() or 1) // self.workers)

    def pool(self, device):
        """The worker processes (started as tasks arrive, up to ``workers``)."""
        import concurrent.futures as cf
        import multiprocessing

        if self._pool is None:
            self._pool = cf.ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("spawn"),
                                                initializer=_worker_init, initargs=(self._threads(device),))
        return self._pool

    def close(self, kill: bool = False) -> None:
        """Stop the worker processes (``kill``: at once, dropping their work)."""
        pool, self._pool = self._pool, None
        if pool is None:
            return
        if kill:
            for proc in list((getattr(pool, "_processes", None) or {}).values()):
                proc.terminate()
        pool.shutdown(wait=not kill, cancel_futures=True)

    def run(self, chunks: list, device, deadline, on_done, progress: bool) -> None:
        """Train each chunk (a list of ``(key, spec)``) in a worker and hand ``(chunk, results)`` to
        ``on_done`` as each finishes; then raise what a worker raised (a deadline first)."""
        if self.trains_here(len(chunks)):
            return LOCAL.run(chunks, device, deadline, on_done, progress)
        import concurrent.futures as cf

        if deadline is not None and train._clock() >= deadline:
            raise train.BudgetExhausted(f"the training budget ran out before {len(chunks)} groups could start")
        bar = Progress(sum(len(c) for c in chunks), progress, "processes")
        pool = self.pool(device)
        errors, pending, here = [], {}, []   # here: chunks left to this process (workers died)
        try:
            for chunk in chunks:
                specs = [s for _, s in chunk]
                names = {x for s in specs for x in (s.mask, s.init_from) if x}
                buf = io.BytesIO()
                torch.save({name: stored(name) for name in names}, buf)
                ckpt = partial_dir() / train.checkpoint_name(specs)
                try:
                    fut = pool.submit(_train_in_worker, specs, device, buf.getvalue(), str(ckpt), deadline)
                except cf.process.BrokenProcessPool:
                    here.append(chunk)
                    continue
                pending[fut] = (chunk, ckpt)
            for fut in cf.as_completed(list(pending)):
                chunk, ckpt = pending.pop(fut)
                try:
                    results = torch.load(io.BytesIO(fut.result()), weights_only=False)
                except cf.process.BrokenProcessPool:  # a worker died (or could not start)
                    here.append(chunk)
                    continue
                except Exception as err:  # the worker's own exception
                    errors.append(err)
                    bar.update(len(chunk), failed=True)
                    continue
                on_done(chunk, results)
                ckpt.unlink(missing_ok=True)
                bar.update(len(chunk))
        except BaseException:  # interrupted, or the cache unwritable: keep what finished, stop the rest
            for fut, (chunk, ckpt) in list(pending.items()):
                if fut.done() and not fut.cancelled() and fut.exception() is None:
                    with contextlib.suppress(Exception):
                        on_done(chunk, torch.load(io.BytesIO(fut.result()), weights_only=False))
            self.close(kill=True)
            raise
        finally:
            bar.close()
        if not self.persistent or here:
            self.close()
        if here and not errors:  # like torch.compile, fall back: the same groups, here, resumed
            print(f"worker processes stopped (a worker died or could not start); training the "
                  f"{len(here)} group(s) left in this process", file=sys.stderr, flush=True)
            LOCAL.run(here, device, deadline, on_done, progress)
        if errors:
            out_of_time = [e for e in errors if isinstance(e, train.BudgetExhausted)]
            raise out_of_time[0] if out_of_time else errors[0]


_processes: ProcessExecutor | None = None   # the default executor, kept for the next call


def default_executor(device) -> "LocalExecutor | ProcessExecutor":
    """What :func:`get` trains with when no executor is named: groups side by side in
    :data:`CUDA_WORKERS` processes on a GPU, :func:`cpu_workers` on a CPU, kept from call to call
    (one worker: this process, :data:`LOCAL`). In a script (not :func:`spawn_safe`) only where
    ``HELPERS_CUDA_WORKERS`` / ``HELPERS_CPU_WORKERS`` asks for workers."""
    global _processes
    kind = train.pick_device(device).type
    if kind == "cuda":
        workers = CUDA_WORKERS if CUDA_WORKERS_SET or spawn_safe() else 1
    else:
        workers = cpu_workers()
    if workers < 2:
        return LOCAL
    if _processes is None or (_processes.workers, _processes.kind) != (workers, kind):
        if _processes is not None:   # its workers were set up for another device or count
            _processes.close()
        _processes = ProcessExecutor(workers, persistent=True, kind=kind)
    return _processes


_executor = None  # set by using(): the executor runs.get uses when none is given


@dataclasses.dataclass
class Stage:
    """What the :func:`get` calls of one stage asked and trained (see :func:`stage`)."""
    name: str
    asked: set = dataclasses.field(default_factory=set)     # run keys asked for
    trained: set = dataclasses.field(default_factory=set)   # ... and trained by this stage
    calls: int = 0          # calls that trained something
    seconds: float = 0.0    # their wall time
    report: bool = False    # a call asked for progress (its lines)

    def summary(self) -> str:
        return (f"runs cache: {self.name}: {len(self.trained)} of {len(self.asked)} runs trained "
                f"({len(self.asked) - len(self.trained)} cached) in {self.calls} calls, "
                f"{self.seconds / 60:.1f} min")


_stage: list = [None]   # the Stage in progress, if any (this process trains from one thread)


@contextlib.contextmanager
def stage(name: str):
    """Within the block, the :func:`get` calls are one stage of a chapter (a gate: e.g. the
    rounds of a pruning chain, each asked when the one before it is trained): the first call that
    trains prints its ``runs cache:`` line, the others none, and no progress line is printed per
    group where stderr is not a terminal; the stage ends with one line of what it trained and how
    long it took (where more than one call trained; not when an exception ends it, which says
    what happened). A stage inside another is part of it. Yields the :class:`Stage`."""
    if _stage[0] is not None:
        yield _stage[0]
        return
    st = _stage[0] = Stage(name)
    try:
        yield st
    finally:
        _stage[0] = None
    if st.calls > 1 and st.report:
        print(st.summary(), flush=True)


@contextlib.contextmanager
def using(executor):
    """Within the block, :func:`get` trains through ``executor`` (e.g. a
    :class:`helpers.ray_executor.RayExecutor`) unless a call names its own; None: local."""
    global _executor
    saved, _executor = _executor, executor
    try:
        yield executor
    finally:
        _executor = saved


def get(specs: list[train.Spec], device: str | None = "auto", group_size: int | None = None,
        progress: bool = True, deadline: float | None = None, executor=None) -> list[Run]:
    """The runs of ``specs``, from the cache or trained now (and cached).

    Missing runs are trained in groups (specs that differ only in per-model fields, in chunks of
    ``group_size``) by ``executor``: the one set by :func:`using`, else :func:`default_executor`
    (several groups at once in worker processes, or one after another in this process: see there).
    The Ray executor (:mod:`helpers.ray_executor`) runs every
    group of this call at once, one Ray task each. Either way each group's results are written
    here, atomically, as soon as it finishes: an interrupted call loses nothing that finished.

    Training stops at ``deadline`` (``time.time()``; default ``HELPERS_DEADLINE``; local
    executor): no group starts after it, and a group that would run past it is checkpointed under
    :func:`partial_dir` and :class:`helpers.train.BudgetExhausted` raised. The same call later
    resumes it and gives the same bits as an uninterrupted run (deterministic fits).
    """
    specs = list(specs)
    executor = executor or _executor or default_executor(device)
    deadline = deadline_from_env() if deadline is None else deadline
    variants = {s.dataset: data_mod.load(s.dataset).variant for s in specs}
    keys = [spec_key(s, variants[s.dataset]) for s in specs]
    found = {k: r for k, s in zip(keys, specs) if (r := _open(s, k)) is not None}
    missing = {}
    for k, s in zip(keys, specs):
        if k not in found:
            missing.setdefault(s.group_key(), {})[k] = s  # dict: identical specs train once
    group_size = group_size or executor.group_size(device)
    chunks = []
    for group in missing.values():
        items = list(group.items())
        size = chunk_size(items[0][1], group_size)
        chunks += [items[i:i + size] for i in range(0, len(items), size)]
    n_todo = sum(len(c) for c in chunks)
    st = _stage[0]
    if st is not None:
        st.asked.update(keys)
        st.report = st.report or progress
    if progress and n_todo and (st is None or not st.calls):
        where = f"{st.name}: " if st is not None else ""
        models = f"up to {group_size} model{'s' * (group_size > 1)} a group"
        print(f"runs cache: {where}{len(found)} of {len(set(keys))} runs cached; training {n_todo} "
              f"{executor.describe(device, len(chunks))} ({models})", flush=True)
    done = [0]

    def on_done(chunk, results):
        for (k, s), trained in zip(chunk, results):
            if trained.variant != variants[s.dataset]:
                raise ValueError(f"run {k} was trained on dataset variant {trained.variant!r}, but this "
                                 f"machine's is {variants[s.dataset]!r}: give every node the same CIFAR-10 source")
            _write(trained, k)
            found[k] = _open(s, k)
        done[0] += len(chunk)

    if chunks:
        t0 = time.perf_counter()
        try:
            executor.run(chunks, device, deadline, on_done, progress)
        except train.BudgetExhausted as err:
            raise train.BudgetExhausted(f"{err}; {done[0]} of {n_todo} runs were trained and cached "
                                        f"before it; the same call resumes") from None
        finally:
            trained = st and {k for c in chunks for k, _ in c if k in found}
            if trained:
                st.calls += 1
                st.seconds += time.perf_counter() - t0
                st.trained.update(trained)
    return [found[k] for k in keys]
