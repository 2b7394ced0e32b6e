"""What a chapter costs at a profile: estimated seconds on one GPU and bytes in the runs cache.

``estimate(chapter, profile)`` enumerates the chapter's runs with the chapter module's own
functions (its cached-run gates, e.g. :func:`helpers.chapters.modes.independent_runs`, run with
``helpers.runs.get`` replaced by a recorder: nothing is trained, no data is read, nothing is
written), groups them as ``runs.get`` would train them (specs that differ only in per-model
fields, in chunks of ``group_size``, a chapter's later calls hitting what its earlier calls
trained), and prices them with the cost model below. The chapter's analyses are priced from the
number of forward passes they make (and, for chapter 05's CKA, the CPU work).

The cost model's constants were measured on one NVIDIA H200 (torch 2.11.0+cu130, 2026-12-01:
``bench/bench_train.py`` and chapter 03 at ``gpu`` executed cold by papermill; raw files in
``bench/results/2026-12-01-h200/``); what was not measured there is marked ESTIMATE:

* A group that trains as one vmap call (crops and flips, batch 128) costs, per epoch,
  ``steps x`` :data:`STEP_FLOOR` (launch-bound work that does not grow with the models) plus
  ``K x`` :data:`SECONDS_PER_MODEL_EPOCH` (each model's share; ResNet20v1, 50,000 images).
  Measured in bf16 (compiled): 16 models ran 16.1 ms a step (0.392 s per model-epoch), 32 models
  26.5 ms (0.324 s): the line through them is 5.6 ms a step plus 0.65 ms per model and step,
  i.e. 0.255 s per model-epoch. A vmap step that is not compiled (``train.auto_compile``: a fit
  of fewer than ``train.COMPILE_MIN_STEPS`` steps, or a deterministic one) has the floor
  :data:`EAGER_STEP_FLOOR` (ESTIMATE: 17 ms; the eager one-model loop measured 11.4 ms, and
  autocast and vmap add launches) and, in bf16 or tf32, :data:`EAGER_SHARE` times the compiled share
  (ESTIMATE: batch norm and activations unfused). In fp32 with deterministic kernels (eager vmap
  of 16, a fixed ``group``): 2.337 s per model-epoch all in, 1.92 s once the eager floor is taken
  off. fp32 without deterministic kernels is priced as the deterministic fit (ESTIMATE: not
  measured; on the high side), tf32 is an ESTIMATE. Other models scale with their forward
  multiply-accumulates per image (:func:`macs`; ResNet20v1 has about 41 M), the floor with their
  layers (:func:`step_floor`, ESTIMATE), both with the images an epoch (``n_train``, times MIMO's
  batch repetition).
* A group that trains as a loop of modules (deterministic fits without a fixed ``group``, onset
  fits, dropout, one model; see ``train.fit``) runs its models one after another, each step bound
  by kernel launches: at least :data:`LOOP_STEP_S` seconds per model and step for ResNet20
  (measured: a loop of 16 in fp32 with deterministic kernels, eager, 4.436 s per model-epoch =
  11.4 ms a step; the plain one-model loop 11.2 ms), :data:`LOOP_STEP_S_GRAPHS` when the loop is
  compiled with CUDA graphs (``'reduce-overhead'``, measured 3.361 s per model-epoch = 8.6 ms).
* A compiled step (vmap groups that are not deterministic and long enough; see
  ``train.auto_compile``) is compiled at the first step of a fit (:func:`compile_seconds`),
  measured as the first timed epoch's
  excess over the others (``warmup_s`` in the bench's JSON): :data:`COMPILE_S` for a vmap step
  compiled cold (2026-11-30: 51.4 s; chapter 03's training cell of 2026-12-01 agrees: 318.6 s
  for 16 runs x 40 epochs is 250.3 s of steps by the line above, 8.7 s of test-set predictions
  at its 14 kept epochs, :data:`STORE_S_PER_MIB` per MiB written to the runs cache and about
  50 s besides), :data:`LOOP_COMPILE_S` for a loop's one-model step (2026-11-30: 39.9 s, 25 s
  more than its steps), :data:`RESHAPE_S` for a new shape (another K, other MIMO heads, another
  batch) of a body compiled before in the same process (2026-12-01: K = 32 after K = 16, 37.5 s);
  a shape compiled before in the same process (a chapter is one process) costs nothing: dynamo
  finds it in its cache (measured on a CPU, 2026-12-01: the second fit of a shape compiled no
  frame and took 0.36 s against 22.3 s; a new process with inductor's disk cache warm took
  13.7 s on the H200). Measured on ResNet20; other networks scale with their layers, at least a
  quarter (ESTIMATE: a graph's kernels grow with its layers).
* A forward pass without training costs :data:`EVAL_S_PER_IMAGE` seconds per image for ResNet20
  (measured: chapter 03's 1,235 subspace evaluations of 11,000 images, 2,500-image chunks, took
  53 s), scaled by the multiply-accumulates; a Hessian-vector product costs :data:`HVP_FORWARDS`
  forward passes per example (forward, backward with its graph, the second backward; ESTIMATE).
* On a GPU the groups of one ``runs.get`` call train side by side in ``runs.CUDA_WORKERS``
  processes (:class:`helpers.runs.ProcessExecutor`), kept for the chapter, and a chapter first
  asks for every run that needs no other (:func:`helpers.gates.prefetch`, :func:`staged`). Priced
  by :func:`parallel_seconds` (ESTIMATE, not yet measured: ``bench/bench_workers.py``): the
  processes start in :data:`WORKER_START_S`, each compiles for itself (a shape another process
  compiled costs :data:`WARM_COMPILE_S`, measured on the H200: a new process with inductor's disk
  cache warm), compiles and launch-bound step floors overlap, the models' arithmetic
  (:func:`busy_seconds`) does not. ``estimate(..., workers=1)`` prices one group after another.
* Every chapter pays :data:`NOTEBOOK_S` (kernel start, imports, papermill; measured on chapter
  03: 456.7 s in all against 445.5 s in its cells after the imports) and :data:`FIGURES_S` for
  its figures, tables and claims on stored predictions (measured on chapter 03: 50.3 s over its
  cells besides the imports, training, the subspace and the shift studies; an ESTIMATE for the
  others).
* The runs cache holds, per run and kept epoch, the state dict (float32) and the test logits
  (float32, ``n_test`` x classes x heads).

With these constants the model gives chapter 03 at ``gpu`` 455 s cold against the 456.7 s
measured (``tests/test_cost.py``).
"""
from __future__ import annotations

import contextlib
import dataclasses
import functools
import hashlib
from unittest import mock

import torch
import torch.nn as nn

from . import config, models, runs, train

# ----------------------------------------------------------------------------- the cost model
# Measured on one H200 (2026-12-01) where the module doc says so; the rest are ESTIMATES.
# bf16: the marginal cost of a model in a compiled vmap group (bench K = 16 and K = 32 rows);
# fp32: deterministic eager vmap of 16 (bench), the eager floor taken off; tf32: ESTIMATE.
SECONDS_PER_MODEL_EPOCH = {"bf16": 0.255, "tf32": 0.41, "fp32": 1.92}  # ResNet20v1 in a vmap group
REFERENCE_IMAGES = 50_000      # a ResNet20v1 model-epoch above
STEP_FLOOR = 5.6e-3            # seconds per optimizer step of a vmap group (bench: bf16 K = 16, 32)
EAGER_STEP_FLOOR = 17e-3       # ... of one not compiled (ESTIMATE: the eager loop's 11.4 ms, plus)
EAGER_SHARE = 1.5              # bf16/tf32: an eager model's share over a compiled one's (ESTIMATE)
LOOP_STEP_S = 11.4e-3          # per model and step in loop mode (bench: fp32 deterministic loop)
LOOP_STEP_S_GRAPHS = 8.6e-3    # ... compiled 'reduce-overhead' (bench: the same loop, CUDA graphs)
COMPILE_S = 50.0               # compiling a vmap step, cold (bench 2026-11-30: 51.4 s warm-up)
LOOP_COMPILE_S = 25.0          # ... a loop's one-model step (bench 2026-11-30: 39.9 s warm-up)
RESHAPE_S = 35.0               # ... another K of a body compiled before (bench: K = 32, 37.5 s)
WARM_COMPILE_S = 13.7          # ... a shape compiled by another process (inductor's disk cache, H200)
WORKER_START_S = 10.0          # a training process: torch, CUDA, the data on the GPU (ESTIMATE)
STORE_S_PER_MIB = 0.027        # writing the runs cache (ESTIMATE: 9 s of chapter 03's residual)
TRAIN_PER_FORWARD = 3.0        # a training step costs 3 forward passes (forward + backward)
HVP_FORWARDS = 6.0             # a Hessian-vector product: forward passes per example
EVAL_S_PER_IMAGE = 3.9e-6      # a ResNet20 forward pass per image (chapter 03's subspace: 53 s)
CORRUPT_S_PER_IMAGE = 5.3e-5   # making a corrupted test image (chapter 03's shift study residual)
NOTEBOOK_S = 11.2              # kernel start, imports, papermill (chapter 03: 5.4 s + 5.8 s)
FIGURES_S = 50.3               # figures, tables, claims (chapter 03; ESTIMATE for the others)
CPU_MACS_PER_S = 3e10          # CPU forward passes (16 cores, fp32): chapter 05's CKA features
CPU_F64_MACS_PER_S = 5e10      # CPU float64 matrix products (numpy): linear CKA's Gram matrices
GROUP_SIZE = 16                # runs.default_group_size on a GPU
VARIANT = "cifar10"            # the dataset variant put in the estimated cache keys
TRAIN_N, TEST_N, CLASSES = 50_000, 10_000, 10

BUDGET_CHAPTER_S = 8 * 60      # issue 13: each chapter cold in <= 8 minutes on one H100 (H200)
BUDGET_BOOK_S = 40 * 60        # ... the whole book in <= 40 minutes
BUDGET_CACHE_BYTES = 500 * 2 ** 20  # ... and <= 500 MiB of runs cache per chapter


# ----------------------------------------------------------------------------- networks


def _network(model: str, width: float = 1.0, mimo: int = 0, naive: bool = False) -> nn.Module:
    """The network, on the meta device (shapes only: nothing is computed, nothing allocated)."""
    with torch.device("meta"), torch.random.fork_rng(devices=[]):
        if mimo:
            return models.build_mimo(model, mimo, width, naive=naive)
        return models.build(model, width)


@functools.lru_cache(maxsize=None)
def macs(model: str, width: float = 1.0, mimo: int = 0, naive: bool = False) -> int:
    """Multiply-accumulates of one forward pass of one 32x32 image: every convolution and linear
    layer (batch norm, activations and pooling are left out)."""
    net = _network(model, width, mimo, naive).eval()
    total = [0]

    def conv(m, inp, out):
        total[0] += out[0].numel() * (m.in_channels // m.groups) * m.kernel_size[0] * m.kernel_size[1]

    def linear(m, inp, out):
        total[0] += m.in_features * m.out_features

    hooks = [m.register_forward_hook(conv if isinstance(m, nn.Conv2d) else linear)
             for m in net.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    c_in = 3 if naive or not mimo else 3 * mimo
    with torch.no_grad():
        net(torch.zeros(1, c_in, 32, 32, device="meta"))
    for h in hooks:
        h.remove()
    return total[0]


@functools.lru_cache(maxsize=None)
def state_bytes(model: str, width: float = 1.0, mimo: int = 0, naive: bool = False) -> int:
    """Bytes of a network's state dict (parameters and buffers) as the runs cache stores it."""
    net = _network(model, width, mimo, naive)
    return sum(t.numel() * t.element_size() for t in net.state_dict().values())


@functools.lru_cache(maxsize=None)
def layers(model: str, width: float = 1.0, mimo: int = 0, naive: bool = False) -> int:
    """Convolution and linear layers: a step's kernel launches grow with them."""
    net = _network(model, width, mimo, naive)
    return sum(isinstance(m, (nn.Conv2d, nn.Linear)) for m in net.modules())


def step_floor(arch: tuple, per_resnet20: float) -> float:
    """A launch-bound step's seconds, ``per_resnet20`` for ResNet20 and scaled by the layers
    (at least a tenth of it: the data gather, crop/flip and optimizer launch too)."""
    return per_resnet20 * max(layers(*arch) / layers("resnet20"), 0.1)


def reference_macs() -> int:
    return macs("resnet20", 1.0)


def _arch(spec: train.Spec) -> tuple:
    return (spec.model, float(spec.width), spec.mimo, spec.mimo_naive)


def forward_seconds(spec_or_arch, images: int, precision: str = "fp32") -> float:
    """Forward passes of ``images`` images through one network (an analysis), in seconds."""
    arch = _arch(spec_or_arch) if isinstance(spec_or_arch, train.Spec) else spec_or_arch
    return images * EVAL_S_PER_IMAGE * max(macs(*arch) / reference_macs(), 0.05)


# ----------------------------------------------------------------------------- one training run


def steps_per_epoch(spec: train.Spec) -> int:
    return train.epoch_steps(spec, spec.n_train or TRAIN_N)


def model_epoch_seconds(spec: train.Spec) -> float:
    """One model's share of an epoch of ``spec`` inside a vmap group (the floor not included)."""
    images = steps_per_epoch(spec) * (min(spec.batch_size, spec.n_train or TRAIN_N) // spec.mimo_batch_rep) \
        * spec.mimo_batch_rep
    return SECONDS_PER_MODEL_EPOCH[spec.precision] * macs(*_arch(spec)) / reference_macs() * images / REFERENCE_IMAGES


def loops(specs: list) -> bool:
    """Whether ``train.fit`` trains the group as a loop of modules on a GPU (mode 'auto')."""
    s = specs[0]
    return train.auto_mode(s, max(len(specs), s.group), "cuda", s.dropout > 0) == "loop"


def loop_step_s(spec: train.Spec) -> float:
    """A loop-mode step's launch floor for ResNet20: 8.6 ms when ``train.auto_compile`` compiles
    the loop with CUDA graphs, else 11.4 ms."""
    graphs = train.auto_compile(spec, "loop", "cuda", spec.dropout > 0) == "reduce-overhead"
    return LOOP_STEP_S_GRAPHS if graphs else LOOP_STEP_S


def compiled(specs: list) -> bool:
    """Whether ``train.fit`` (compile 'auto') compiles the group's step on a GPU."""
    s = specs[0]
    return bool(train.auto_compile(s, "loop" if loops(specs) else "vmap", "cuda", s.dropout > 0,
                                   train.total_steps(s, s.n_train or TRAIN_N)))


def compile_shape(specs: list) -> tuple:
    """``(body, shape)`` of a group's compiled step: the body is the network and width, vmap or
    loop, precision; the shape adds the heads, the models and the images a step."""
    s = specs[0]
    body = (s.model, float(s.width), loops(specs), s.precision, s.deterministic)
    return body, (s.mimo, s.mimo_naive, max(len(specs), s.group), min(s.batch_size, s.n_train or TRAIN_N))


def compile_seconds(specs: list, compiled_before: dict | None = None, disk: dict | None = None) -> float:
    """Compiling a group's step: :data:`COMPILE_S` (:data:`LOOP_COMPILE_S` for a loop's one-model
    step) the first time its body is compiled in the chapter, :data:`RESHAPE_S` for a new shape
    of a body compiled before, nothing for a shape compiled before in this process (dynamo's
    cache) and :data:`WARM_COMPILE_S` for one compiled before by another process of the chapter
    (inductor's disk cache); scaled by the network's layers (at least a quarter of ResNet20's).
    ``compiled_before`` (``{body: shapes}``, this process) and ``disk`` (the same, every process
    of the chapter; None: this process is the only one) are updated."""
    if not compiled(specs):
        return 0.0
    body, shape = compile_shape(specs)
    seen = {} if compiled_before is None else compiled_before
    anywhere = seen if disk is None else disk
    if shape in seen.get(body, ()):
        base = 0.0
    elif shape in anywhere.get(body, ()):
        base = WARM_COMPILE_S
    elif body in seen or body in anywhere:
        base = RESHAPE_S
    else:
        base = LOOP_COMPILE_S if body[2] else COMPILE_S
    seen.setdefault(body, set()).add(shape)
    anywhere.setdefault(body, set()).add(shape)
    return base * max(layers(specs[0].model, float(specs[0].width)) / layers("resnet20"), 0.25)


def group_seconds(specs: list, compiled_before: dict | None = None, disk: dict | None = None) -> float:
    """Training ``specs`` together (one ``train.fit`` call). Under vmap every epoch costs the step
    floor plus each model's share; in loop mode each model costs the larger of its compute and
    its launch floor. Plus the test-set predictions at each kept epoch, writing the runs cache
    and, for a compiled step, compiling it (:func:`compile_seconds`; ``compiled_before``: what
    this process compiled before this group, updated; ``disk``: what any process of the chapter
    compiled, see :func:`compile_seconds`). An eager vmap step has the floor
    :data:`EAGER_STEP_FLOOR` and, in bf16 or tf32, :data:`EAGER_SHARE` times a model's share."""
    s, K = specs[0], max(len(specs), specs[0].group)   # a fixed vmap group trains G models
    if loops(specs):
        per_epoch = K * max(model_epoch_seconds(s), steps_per_epoch(s) * step_floor(_arch(s), loop_step_s(s)))
    elif compiled(specs):
        per_epoch = steps_per_epoch(s) * step_floor(_arch(s), STEP_FLOOR) + K * model_epoch_seconds(s)
    else:
        share = EAGER_SHARE if s.precision != "fp32" else 1.0   # fp32's share was measured eager
        per_epoch = steps_per_epoch(s) * step_floor(_arch(s), EAGER_STEP_FLOOR) + K * share * model_epoch_seconds(s)
    warm = compile_seconds(specs, compiled_before, disk)
    kept = set().union(*(set(x.logit_kept_epochs()) for x in specs))
    evals = len(kept) * forward_seconds(s, K * (s.n_test or TEST_N), s.precision)
    store = STORE_S_PER_MIB * sum(run_bytes(x) for x in specs) / 2 ** 20
    return s.trained_epochs() * per_epoch + evals + warm + store


def run_bytes(spec: train.Spec) -> int:
    """Bytes a run keeps in the cache: its state dict per kept epoch, its test logits per epoch
    whose logits are kept."""
    heads = spec.mimo or 1
    logits = (spec.n_test or TEST_N) * CLASSES * heads * 4
    return (len(spec.kept_epochs()) * state_bytes(*_arch(spec)) + len(spec.logit_kept_epochs()) * logits
            + (spec.n_test or TEST_N) * 8)


def busy_seconds(specs: list) -> float:
    """The part of :func:`group_seconds` that keeps the GPU busy: the models' arithmetic and the
    test-set predictions, not the launch-bound floor of each step, compiling or writing (which
    leave the GPU to another process's kernels)."""
    s, K = specs[0], max(len(specs), specs[0].group)
    eager = not loops(specs) and not compiled(specs) and s.precision != "fp32"
    kept = set().union(*(set(x.logit_kept_epochs()) for x in specs))
    evals = len(kept) * forward_seconds(s, K * (s.n_test or TEST_N), s.precision)
    return s.trained_epochs() * K * (EAGER_SHARE if eager else 1.0) * model_epoch_seconds(s) + evals


def parallel_seconds(groups: list[list], workers: int, disk: dict, procs: list | None = None) -> float:
    """One ``runs.get`` call's groups trained side by side in ``workers`` processes
    (:class:`helpers.runs.ProcessExecutor`; ESTIMATE, not yet measured): the processes start in
    :data:`WORKER_START_S` (unless ``procs``, their ``{body: shapes}`` compiled so far, says they
    run already: the default executor keeps them from call to call) and each compiles for itself
    (a shape another process compiled comes from inductor's disk cache, ``disk``); the groups go,
    in order, to the process that frees first; their launch-bound floors and compiles overlap,
    their arithmetic does not: the call takes the longest process's time, and at least every
    group's :func:`busy_seconds`. ``procs`` is updated."""
    n = min(workers, len(groups))
    if procs is None:
        procs = []
    start = WORKER_START_S if len(procs) < n else 0.0
    procs += [{} for _ in range(n - len(procs))]
    load = [start] * len(procs)
    for g in groups:
        i = load.index(min(load))
        load[i] += group_seconds(g, procs[i], disk)
    return max(max(load), start + sum(busy_seconds(g) for g in groups))


def train_seconds(calls: list[list], group_size: int = GROUP_SIZE, workers: int = 1) -> float:
    """Training ``calls`` (a chapter's ``runs.get`` calls) on an empty cache: one group after
    another in the chapter's process (``workers`` = 1), or each call's groups side by side in
    ``workers`` processes, kept from call to call, with the first stage asked for at once
    (:func:`staged`, :func:`parallel_seconds`); a call of one group trains in the chapter's
    process."""
    shapes, disk, procs, total = {}, {}, [], 0.0
    for groups in call_groups(staged(calls, workers), group_size):
        if workers > 1 and len(groups) > 1:
            total += parallel_seconds(groups, workers, disk, procs)
        else:
            total += sum(group_seconds(g, shapes, disk) for g in groups)
    return total


# ----------------------------------------------------------------------------- recording a chapter


class _FakeRun:
    """What the chapter gates read of a run while they are recorded: its spec, key, kept epochs
    and a stand-in state dict, one tiny tensor that names the run and the epoch (the recorder's
    masks and rewind states only need to be distinct, not real)."""

    def __init__(self, spec: train.Spec):
        self.spec, self.key = spec, runs.spec_key(spec, VARIANT)
        self.epochs = list(spec.kept_epochs())
        self.logit_epochs = list(spec.logit_kept_epochs())

    def state(self, epoch=None) -> dict:
        return {f"{self.key}@{epoch}": torch.ones(1, 1, dtype=torch.bool)}


@contextlib.contextmanager
def recording(device: str = "cuda"):
    """Within the block, ``runs.get`` records its calls (yielded, a list of spec lists) instead of
    training; the device is ``device`` (a GPU), masks and rewind states stay in memory, no dataset
    is read."""
    from . import data, pruning

    calls, stored = [], {}

    def get(specs, device="auto", group_size=None, progress=True, deadline=None, executor=None):
        specs = list(specs)
        calls.append(specs)
        return [_FakeRun(s) for s in specs]

    def magnitude_mask(weights, mask=None, rate=0.2, scope="global"):
        # a function of what the real mask depends on (the run, the previous mask, rate, scope)
        what = repr((sorted(weights), sorted(mask or ()), rate, scope)).encode()
        return {f"mask-{hashlib.sha256(what).hexdigest()[:16]}": torch.ones(1, 1, dtype=torch.bool)}

    def random_mask_like(mask, seed=0):
        return {f"random{seed}-{n}": m for n, m in mask.items()}

    def store(tensors):
        key = runs.content_hash(tensors)
        stored[key] = {n: t.detach().clone() for n, t in tensors.items()}
        return key

    def pick_device(want="auto"):
        return torch.device(device if want in (None, "auto") else want)

    fake_data = type("Dataset", (), {"variant": VARIANT})()
    with contextlib.ExitStack() as stack:
        stack.enter_context(mock.patch.object(runs, "get", get))
        stack.enter_context(mock.patch.object(runs, "store", store))
        stack.enter_context(mock.patch.object(runs, "stored", lambda key: stored[key]))
        stack.enter_context(mock.patch.object(pruning, "magnitude_mask", magnitude_mask))
        stack.enter_context(mock.patch.object(pruning, "random_mask_like", random_mask_like))
        stack.enter_context(mock.patch.object(train, "pick_device", pick_device))
        stack.enter_context(mock.patch.object(data, "load", lambda dataset="auto": fake_data))
        yield calls


def record(chapter: str, profile: str = "gpu", **overrides) -> list[list]:
    """The chapter's ``runs.get`` calls at ``profile``: a list of spec lists, in order. The gates
    are :data:`helpers.gates.GATES` (unmemoized), given the chapter's parameters with
    ``overrides`` (any preset key)."""
    return record_params(config.chapter_params(chapter, profile, **overrides))


def record_params(P, device: str = "cuda") -> list[list]:
    """:func:`record` of parameters ``P`` on a ``device`` ('cuda' or 'cpu': a chapter may ask for
    other runs where nondeterministic kernels exist)."""
    from . import gates

    with recording(device) as calls:
        gates.record_calls(P)
    return calls


def first_stage(calls: list[list]) -> list:
    """The specs of ``calls`` that depend on no other run (no mask, no starting state), each once,
    in order: what :func:`helpers.gates.prefetch` asks for in one call."""
    seen, out = set(), []
    for specs in calls:
        for s in specs:
            if not s.mask and not s.init_from and s not in seen:
                seen.add(s)
                out.append(s)
    return out


def staged(calls: list[list], workers: int) -> list[list]:
    """The calls ``runs.get`` sees: with ``workers`` > 1 (groups side by side, see
    :func:`helpers.gates.prefetch`), the first stage in one call before the rest."""
    if workers <= 1:
        return calls
    first = first_stage(calls)
    return ([first] if first else []) + calls


def call_groups(calls: list[list], group_size: int = GROUP_SIZE) -> list[list[list]]:
    """Per call of ``calls``, the ``train.fit`` calls it makes on an empty cache (see
    ``runs.get``; a run an earlier call trained is not trained again)."""
    seen, out = set(), []
    for specs in calls:
        missing, groups = {}, []
        for s in specs:
            key = runs.spec_key(s, VARIANT)
            if key not in seen:
                missing.setdefault(s.group_key(), {})[key] = s
        for group in missing.values():
            seen.update(group)
            items = list(group.values())
            size = runs.chunk_size(items[0], group_size)
            groups += [items[i:i + size] for i in range(0, len(items), size)]
        out.append(groups)
    return out


def training_groups(calls: list[list], group_size: int = GROUP_SIZE) -> list[list]:
    """The ``train.fit`` calls that ``calls`` make on an empty cache (see ``runs.get``)."""
    return [g for groups in call_groups(calls, group_size) for g in groups]


def sweep(chapter: str, profile: str = "gpu", gpus: int = 8, group_size: int = 16, **overrides) -> dict:
    """The estimated training of ``chapter`` as a Ray sweep on ``gpus`` GPUs (``python -m helpers
    train NN --executor ray``), from the cost model above (an ESTIMATE): one task per group of up
    to ``group_size`` runs (:data:`helpers.ray_executor.GPU_GROUP_SIZE`), each compiling its own
    step, the groups of one ``runs.get`` call spread over the GPUs (longest first), the calls one after another (a
    chapter's later stages need its earlier runs). Returns ``runs``, ``groups``, ``gpu_s`` (GPU
    time in all), ``wall_s`` and ``cache_mib``."""
    calls = record(chapter, profile, **overrides)
    seen, gpu_s, wall_s, n_groups, cache = set(), 0.0, 0.0, 0, 0
    for specs in calls:
        fresh = [s for s in specs if runs.spec_key(s, VARIANT) not in seen]
        groups = training_groups([fresh], group_size)
        seen.update(runs.spec_key(s, VARIANT) for g in groups for s in g)
        # every group compiles its step afresh: Ray runs a GPU task in a worker process that exits
        # after it (max_calls defaults to 1 for GPU tasks), so no task finds another's compile
        times = sorted((group_seconds(g, {}) for g in groups), reverse=True)
        load = [0.0] * max(1, gpus)
        for t in times:  # each group to the GPU that frees first
            load[load.index(min(load))] += t
        gpu_s, wall_s, n_groups = gpu_s + sum(times), wall_s + max(load), n_groups + len(times)
        cache += sum(run_bytes(s) for g in groups for s in g)
    return dict(chapter=chapter, profile=profile, gpus=gpus, runs=len(seen), groups=n_groups,
                gpu_s=gpu_s, wall_s=wall_s, cache_mib=cache / 2 ** 20)


# ----------------------------------------------------------------------------- analyses


def _evals(arch, calls: int, images: int) -> float:
    return calls * forward_seconds(arch, images)


def _hessian(P, arch) -> float:
    """One Lanczos run of ``helpers.chapters.loss_landscape.hessian``: BN reset plus ``lanczos_iters``
    Hessian-vector products on ``hessian_examples`` images."""
    n = P.hessian_examples
    return forward_seconds(arch, n) + P.lanczos_iters * forward_seconds(arch, int(HVP_FORWARDS * n))


def _analysis_01(P) -> dict:
    """Chapter 01's analyses as :mod:`helpers.chapters.loss_landscape` does them: a line from
    every run's initialization, lines and soups between every pair of runs, one line per
    parent's children, one tunnel per disjoint pair, barriers between every pair of seeds and the
    sharpness of every seed of each width, and Hessians at three points of each saddle run."""
    from itertools import combinations

    arch = (P.model, float(P.width), 0, False)
    full = P.bn_examples + P.n_eval + (P.n_test or TEST_N)   # an Evaluator call with the test set
    train_only = P.bn_examples + P.n_eval
    n_line = P.line_points if P.line_points % 2 else P.line_points + 1
    n_curve = P.curve_points if P.curve_points % 2 else P.curve_points + 1
    pairs = len(list(combinations(range(P.seeds), 2)))
    parents = min(P.parents, P.seeds)
    tunnels = min(P.tunnels, P.seeds // 2)
    out = {
        "lines": _evals(arch, (P.seeds + pairs + parents) * n_line + 3 * (pairs + parents), full),
        "radial": _evals(arch, P.radial_points ** 2 + 2, full),
        "tunnel": tunnels * (forward_seconds(arch, int(TRAIN_PER_FORWARD * P.bezier_epochs
                                                        * (P.n_train or TRAIN_N)))
                             + _evals(arch, 2 * n_curve, full)),
    }
    width = 0.0
    seed_pairs = P.width_seeds * (P.width_seeds - 1) // 2
    for w in P.widths:
        a = (P.model, float(w), 0, False)
        width += _evals(a, P.width_seeds + seed_pairs * n_line, full) + P.width_seeds * _hessian(P, a)
    for w in {min(P.widths), max(P.widths)}:
        width += _evals((P.model, float(w), 0, False), P.slice_points ** 2, train_only)
    if P.compare_model:
        c = (P.compare_model, 1.0, 0, False)
        width += _evals(c, P.slice_points ** 2, train_only) + _evals(c, n_line + 2, full) + _hessian(P, c)
    out["width_sweep"] = width
    saddle_runs = min(max(1, P.saddle_seeds), P.seeds)
    out["saddles"] = (len(P.saddle_epochs) + 3 * saddle_runs) * _hessian(P, arch) \
        + saddle_runs * len(P.saddle_epochs) * _evals(arch, 1, train_only)
    out["flat_minima"] = len(P.flat_batches) * P.flat_seeds * (_hessian(P, arch) + _evals(arch, 1, train_only))
    return out


DRAWS_PER_ACCEPTED = 1.8   # chapter 03: samples drawn per accepted one (measured at gpu: 1,139 / 637)


def _analysis_03(P) -> dict:
    from . import corruptions, subspace

    arch = (P.model, float(P.width), 0, False)
    n_test = P.n_test or TEST_N
    per_eval = P.bn_examples + n_test
    samplers = len(subspace.SAMPLERS)
    evals = samplers * P.plane_samples + samplers * P.seeds * P.samples * DRAWS_PER_ACCEPTED + P.seeds
    sets = 1 + len(corruptions.FAMILIES) * len(corruptions.INTENSITIES)
    members = min(P.shift_members, P.seeds) + samplers * P.shift_members + 1
    shift_n = min(P.shift_examples or n_test, n_test)
    return {"subspace samples": _evals(arch, evals, per_eval),
            "dataset shift": _evals(arch, sets * members, P.bn_examples + shift_n)
            + (sets - 1) * shift_n * CORRUPT_S_PER_IMAGE}


def _cka_seconds(arch, n: int, runs_per_source: int, sources: int) -> float:
    """Chapter 05's CKA on the CPU: features of ``n`` images per model, then linear CKA of every
    pair of models at every layer (``metrics.linear_cka`` recomputes both Gram matrices per pair)."""
    net = _network(*arch).eval()
    x = torch.zeros(2, 3 * (arch[2] or 1) if not arch[3] else 3, 32, 32, device="meta")
    dims = [v[0].numel() for v in models.layer_features(net, x).values()]
    pairs = runs_per_source * (runs_per_source - 1) // 2
    gram = sum(2 * n * n * d if n < d else 3 * d * d * n for d in dims)
    feats = runs_per_source * n * macs(*arch) / CPU_MACS_PER_S
    return sources * (feats + pairs * gram / CPU_F64_MACS_PER_S)


def _analysis_05(P) -> dict:
    arch = (P.model, float(P.width), 0, False)
    sources = len(P.sources)
    # once (instability.cka_stacks is memoized: the figure and the claims table share it)
    n = min(P.cka_examples, P.n_test or TEST_N)
    return {"CKA (CPU)": _cka_seconds(arch, n, P.cka_runs, sources)}


def analysis_seconds(chapter: str, P) -> dict:
    """``{analysis: estimated seconds}`` of the chapter's analyses at parameters ``P``, with the
    notebook's start and its figures and tables (chapters 02 and 04 read stored logits and masks
    only)."""
    fn = {"01_loss_landscape": _analysis_01, "03_modes": _analysis_03, "05_instability": _analysis_05}.get(chapter)
    parts = fn(P) if fn else {}
    what = "measured" if chapter == "03_modes" else "ESTIMATE"
    parts.update({"notebook start (measured)": NOTEBOOK_S, f"figures and tables ({what})": FIGURES_S})
    return parts


# ----------------------------------------------------------------------------- the estimate


def estimate(chapter: str, profile: str = "gpu", group_size: int = GROUP_SIZE, workers: int | None = None,
             **overrides) -> dict:
    """The estimated cold cost of ``chapter`` at ``profile`` on one GPU (see the module doc), its
    groups trained by ``workers`` processes side by side (None: ``runs.CUDA_WORKERS``, what a GPU
    uses by default; 1: one after another in the chapter's process).

    Returns a dict: ``runs`` (distinct training runs), ``groups`` (``train.fit`` calls),
    ``model_epochs`` (``{"model width w": model-epochs}``, an epoch of a MIMO network with batch
    repetition r counted r times: r passes over the training set), ``train_s``, ``analysis_s`` (and
    ``analyses``: the parts), ``total_s``, ``cache_bytes`` and ``cache_mib``, and whether the
    chapter is within issue 13's budgets (``within_time``, ``within_cache``).
    """
    P = config.chapter_params(chapter, profile, **overrides)
    workers = runs.CUDA_WORKERS if workers is None else workers
    calls = record(chapter, profile, **overrides)
    groups = training_groups(calls, group_size)
    specs = [s for g in groups for s in g]
    model_epochs: dict = {}
    for s in specs:
        name = f"{s.model} width {s.width:g}" + (f" {'naive' if s.mimo_naive else 'MIMO'} M={s.mimo}" if s.mimo else "")
        model_epochs[name] = model_epochs.get(name, 0) + s.trained_epochs() * s.mimo_batch_rep
    train_s = train_seconds(calls, group_size, workers)
    parts = analysis_seconds(chapter, P)
    total = train_s + sum(parts.values())
    cache = sum(run_bytes(s) for s in specs)
    return dict(chapter=chapter, profile=P.profile, runs=len(specs), groups=len(groups), workers=workers,
                model_epochs=model_epochs, train_s=train_s, analyses=parts,
                analysis_s=sum(parts.values()), total_s=total, cache_bytes=cache, cache_mib=cache / 2 ** 20,
                within_time=total <= BUDGET_CHAPTER_S, within_cache=cache <= BUDGET_CACHE_BYTES)


def book(profile: str = "gpu", **kw) -> dict:
    """:func:`estimate` of every chapter, and the sums."""
    per = {c: estimate(c, profile, **kw) for c in config.CHAPTERS}
    return dict(chapters=per, total_s=sum(e["total_s"] for e in per.values()),
                cache_mib=sum(e["cache_mib"] for e in per.values()))


def table(profile: str = "gpu", **kw) -> str:
    """One line per chapter: runs, training and analysis minutes, cache MiB (estimates), under a
    line that says what is priced: ``profile``'s runs, cold, on one GPU."""
    b = book(profile, **kw)
    lines = [f"profile {profile}, cold (empty runs cache), estimated on one GPU by the cost model "
             "calibrated on an H200 (not a CPU's time: see the README's cost tables)",
             f"{'chapter':20s} {'runs':>5s} {'train min':>9s} {'analysis min':>12s} {'total min':>9s} {'cache MiB':>9s}"]
    for c, e in b["chapters"].items():
        lines.append(f"{c:20s} {e['runs']:5d} {e['train_s'] / 60:9.1f} {e['analysis_s'] / 60:12.1f} "
                     f"{e['total_s'] / 60:9.1f} {e['cache_mib']:9.0f}")
    lines.append(f"{'book':20s} {'':5s} {'':9s} {'':12s} {b['total_s'] / 60:9.1f} {b['cache_mib']:9.0f}")
    return "\n".join(lines)


if __name__ == "__main__":  # python -m helpers.cost [profile]
    import sys

    arg = sys.argv[1] if len(sys.argv) > 1 else "gpu"
    if arg in ("-h", "--help") or arg not in config.PROFILES or len(sys.argv) > 2:
        print("usage: python -m helpers.cost [PROFILE]: the estimated cold cost of every chapter "
              f"on one GPU; PROFILE: one of {', '.join(config.PROFILES)} (default gpu)")
        sys.exit(0 if arg in ("-h", "--help") else 2)
    print(table(arg))
