"""The one trainer: K models of one shape, trained at once, with every source of randomness apart.

A :class:`Spec` is a flat description of one training run. Its four seeds are the four sources of
randomness of Summers & Dinneen (seed 001, §3.1) that a user can hold fixed or vary one at a time:

* ``seed_init``    -- the initial weights (drawn on the CPU, so identical on every device);
* ``seed_order``   -- the order in which training examples are visited;
* ``seed_aug``     -- random crops and flips;
* ``seed_dropout`` -- dropout masks.

``deterministic=True`` turns on deterministic kernels (cuDNN deterministic, benchmark off,
``torch.use_deterministic_algorithms``), so that the same spec gives bitwise the same weights.

Three hooks serve the instability experiments of seed 001 (chapter 05); at their defaults they
change nothing:

* ``perturb="bitflip:<i>:<+1|-1>"`` moves weight ``i`` (flat index) of the first layer to the
  next representable float32 value up or down (``torch.nextafter``) right after initialization
  (§4.1);
* ``onset=N`` trains the first N epochs as if the data-order, augmentation and dropout seeds were
  all 0 and with deterministic kernels, then switches to the spec's seeds (fresh generators) and
  its ``deterministic`` setting: runs that differ only in those seeds share their first N epochs
  exactly (§3.4, Fig 2);
* ``replica=k`` changes nothing in training, only the cache key, so that R runs of one spec (the
  control with nothing varied, or cuDNN's unseedable nondeterminism) are R separate runs;
* ``mask="<hash>"`` (chapter 02): the stored mask ``helpers.runs.stored(hash)`` is applied right
  after initialization and after every optimizer step, so pruned weights are exactly zero
  throughout training (their momentum may be non-zero; it never reaches the weights);
* ``init_from="<hash>"`` (chapter 02): the initial parameters and buffers are the stored state
  dict (e.g. a run's weights early in training: *rewinding*) instead of a draw from
  ``seed_init``; the mask, if any, is applied to it;
* ``schedule="cyclic"`` with ``milestones=(C,)``: cosine annealing restarted every C epochs, the
  snapshot-ensemble schedule (Huang et al. 2017; §5); keep the snapshots with ``save_epochs``.

MIMO (Havasi et al. 2021; seed 000 §4, chapter 04): ``mimo=M`` trains a network of M members
(:func:`helpers.models.build_mimo`) on M independently paired example streams drawn from the
data-order generator (input repetition ``mimo_rho``, batch repetition ``mimo_batch_rep``, see
:func:`mimo_positions`); the loss is the mean over heads of each head's cross-entropy (the
reference implementation sums over heads: for SGD a factor M on the learning rate of the data
term, for Adam, which is scale-invariant, nearly nothing); test logits are saved as (n_test, M, C). ``mimo_naive=True`` is the
control: one input, M heads, each trained on the same example.

Specs that differ only in their seeds train *together*: one optimizer updates all their
parameters, and because SGD and Adam act element by element, that is exactly K independent
optimizers. The K forward passes run either as a loop over K channels-last modules, or as one
``torch.func.vmap`` call (one batched kernel per layer). Deterministic fits always loop, so that a
run's bits do not depend on how many runs train beside it; otherwise :data:`BATCHING` picks per
device, as measured by ``bench/bench_train.py``. Every step's batches for all K models are one
gather and one crop/flip; the learning rate is set per step without a host sync, and nothing
waits for the GPU inside an epoch. ``precision`` selects fp32, TF32 or bfloat16 autocast, and
with deterministic kernels off the step may be compiled (``torch.compile``, with a clean
fallback to eager). A fit can be given a deadline and a checkpoint file: it stops in time and
resumes bitwise where it stopped.

``init_from="<run key>@<epoch>"`` starts from a cached run's checkpoint instead of a fresh
initialization (children fine-tuned from one shared parent, chapter 01); the optimizer state
starts afresh. ``init_gain=g`` multiplies every initial weight with two or more dimensions (the
convolutions' filters, the linear layers' matrices) by g: too small, He-scaled (1) or too large
an initialization (seed 002's unit variance, chapter 01).

``fit`` returns, for each spec, the weights and the test-set logits at the epochs named in
``save_epochs`` (0 is the initialization), the test-set logits alone at those in
``logit_epochs``, and a per-epoch log. Test logits are always computed in float32, whatever the
training precision. Caching is ``helpers.runs``'s job.
"""
from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import math
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch.func import functional_call, vmap

from . import data as data_mod
from . import models

# Bump when a change alters what a spec trains to; it is part of every cache key.
CODE_VERSION = 1

SEED_FIELDS = ("seed_init", "seed_order", "seed_aug", "seed_dropout")
# Fields that may differ between specs that train together.
# init_gain only scales a model's initial weights (init_model), so runs at several gains share a
# group: chapter 01's DeepCNN at three gains is one fit of three models, not three fits of one.
PER_MODEL_FIELDS = SEED_FIELDS + ("save_epochs", "logit_epochs", "perturb", "replica", "mask", "init_from",
                                  "init_gain")


@dataclasses.dataclass(frozen=True)
class Spec:
    """Everything that determines a training run (and so its cache key)."""

    model: str = "resnet20"
    width: float = 1.0
    dropout: float = 0.0
    dataset: str = "auto"            # 'auto' (CIFAR-10 from the best source) or 'synthetic'
    n_train: int | None = None       # class-balanced subset of the training set; None = all
    n_test: int | None = None        # subset of the test set the predictions are saved on
    epochs: int = 1
    batch_size: int = 128
    optimizer: str = "sgd"           # 'sgd' (with momentum) or 'adam'
    lr: float = 0.1
    momentum: float = 0.9
    weight_decay: float = 0.0
    schedule: str = "const"          # see lr_at
    warmup_epochs: float = 0.0
    milestones: tuple = ()
    gamma: float = 0.1
    augment: bool = False
    seed_init: int = 0
    seed_order: int = 0
    seed_aug: int = 0
    seed_dropout: int = 0
    deterministic: bool = True
    save_epochs: tuple = ()          # checkpoints to keep; the final epoch is always kept
    logit_epochs: tuple = ()         # epochs whose test logits (not weights) are kept as well
    perturb: str = ""                # "" or "bitflip:<flat index>:<+1|-1>" (first layer's weight)
    onset: int = 0                   # epochs trained with order/aug/dropout seeds 0, deterministic
    replica: int = 0                 # changes nothing but the cache key: R runs of one spec are R runs
    mask: str = ""                   # "" or the hash of a stored mask (helpers.runs.store)
    # "" or where the initial weights come from: "<cached run key>@<epoch>" (a run's checkpoint,
    # e.g. the shared parent of fine-tuned children), or the hash of a state dict stored by
    # helpers.runs.store (rewinding a lottery ticket)
    init_from: str = ""
    # training continues from this epoch (chapter 02's rewinding, with init_from the weights
    # there): epochs start_epoch + 1 .. epochs, at the schedule's learning rates there; kept
    # epochs count from the start of the whole schedule, and start_epoch itself is the first
    start_epoch: int = 0
    mimo: int = 0                    # M > 0: a MIMO network of M members (models.build_mimo); 0 = ordinary
    mimo_rho: float = 0.0            # MIMO input repetition: share of each batch all members see alike
    mimo_batch_rep: int = 1          # MIMO batch repetition: batch_size // rep examples a step, tiled rep times
    mimo_naive: bool = False         # the naive control: one input, M heads, all on the same example
    init_gain: float = 1.0           # every initial weight matrix/filter bank multiplied by this
    # Arithmetic of the fit on a GPU: 'fp32' (TF32 off: every bitwise claim), 'tf32' (TF32
    # matmuls and convolutions), 'bf16' (bfloat16 autocast; weights and optimizer stay fp32).
    # On a CPU 'fp32' and 'tf32' are the same arithmetic.
    precision: str = "fp32"
    # 0: a deterministic fit trains as a loop of modules (each model's bits as if it trained
    # alone). G > 0: the fit trains as one vmap call of exactly G models, padded with copies of
    # its own specs (work thrown away): bits then depend on G and the device, not on which runs
    # share the group or where they sit in it, and G models cost one step's launches, not G.
    group: int = 0

    def replace(self, **changes) -> "Spec":
        return dataclasses.replace(self, **changes)

    def with_seed(self, seed: int) -> "Spec":
        """All four seeds set to ``seed``: an independent run."""
        return self.replace(**{f: seed for f in SEED_FIELDS})

    def group_key(self) -> tuple:
        """Specs with equal group keys can train together (they differ only in
        :data:`PER_MODEL_FIELDS`: seeds, kept epochs, perturbation, replica index, mask, starting
        weights or initialization gain)."""
        return tuple((f.name, getattr(self, f.name)) for f in dataclasses.fields(self)
                     if f.name not in PER_MODEL_FIELDS)

    def trained_epochs(self) -> int:
        """Epochs the fit trains: ``epochs`` less the ``start_epoch`` it continues from."""
        return self.epochs - self.start_epoch

    def kept_epochs(self) -> tuple:
        """Epochs whose weights and test logits are kept (none before ``start_epoch``)."""
        return tuple(sorted({e for e in self.save_epochs if self.start_epoch <= e <= self.epochs}
                            | {self.epochs}))

    def logit_kept_epochs(self) -> tuple:
        """Epochs whose test logits are kept (a superset of :meth:`kept_epochs`)."""
        return tuple(sorted(set(self.kept_epochs()) | {e for e in self.logit_epochs
                                                       if self.start_epoch <= e <= self.epochs}))


def spec_from(P, prefix: str = "", **changes) -> Spec:
    """The one way a chapter's parameters become a :class:`Spec`: every Spec field that ``P``
    has, read as ``prefix + field`` where ``P`` has that (the lottery chapter's ResNet part:
    ``rn_lr``, ``rn_epochs``, ...), else as ``field``; fields ``P`` lacks keep the Spec's
    defaults; then ``changes``. Seeds stay 0 (:meth:`Spec.with_seed`). ``P`` is a
    :class:`helpers.config.Params` or any namespace."""
    values = P.values() if callable(getattr(P, "values", None)) else vars(P)
    kw = {}
    for f in dataclasses.fields(Spec):
        for name in (prefix + f.name, f.name):
            if name in values:
                kw[f.name] = values[name]
                break
    kw = {k: tuple(v) if isinstance(v, list) else v for k, v in kw.items()}
    return Spec(**kw).replace(**changes)


SCHEDULES = ("const", "step", "halving", "cosine", "onecycle", "cyclic")
OPTIMIZERS = ("sgd", "adam")


def lr_at(spec: Spec, step: int, steps_per_epoch: int) -> float:
    """The learning rate at optimizer step ``step`` (0-based).

    * ``const``    -- ``lr`` throughout;
    * ``step``     -- multiplied by ``gamma`` at each epoch in ``milestones``;
    * ``halving``  -- multiplied by ``gamma`` every ``milestones[0]`` epochs (Fort et al.: 0.5
      every 10);
    * ``cosine``   -- linear warmup over ``warmup_epochs``, then cosine decay to 0;
    * ``onecycle`` -- linear warmup over ``warmup_epochs``, then linear decay to 0;
    * ``cyclic``   -- cosine from ``lr`` to 0 over every ``milestones[0]`` epochs, restarted at the
      start of each cycle (snapshot ensembles, Huang et al. 2017).
    """
    epoch = step / steps_per_epoch
    total = spec.epochs * steps_per_epoch
    warm = spec.warmup_epochs * steps_per_epoch
    if spec.schedule == "const":
        return spec.lr
    if spec.schedule == "step":
        return spec.lr * spec.gamma ** sum(epoch >= m for m in spec.milestones)
    if spec.schedule == "halving":
        return spec.lr * spec.gamma ** math.floor(epoch / spec.milestones[0])
    if spec.schedule == "cyclic":
        cycle = spec.milestones[0] * steps_per_epoch
        return spec.lr * 0.5 * (1 + math.cos(math.pi * (step % cycle) / cycle))
    if step < warm:
        return spec.lr * (step + 1) / warm
    frac = (step - warm) / max(1, total - warm)
    if spec.schedule == "cosine":
        return spec.lr * 0.5 * (1 + math.cos(math.pi * frac))
    if spec.schedule == "onecycle":
        return spec.lr * (1 - frac)
    raise ValueError(f"unknown schedule {spec.schedule!r}; choose one of: {', '.join(SCHEDULES)}")


def validate(spec: Spec) -> None:
    if spec.model not in models.ARCHITECTURES:
        raise ValueError(f"unknown model {spec.model!r}; choose one of: {', '.join(models.ARCHITECTURES)}")
    if spec.optimizer not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {spec.optimizer!r}; choose one of: {', '.join(OPTIMIZERS)}")
    if spec.schedule not in SCHEDULES:
        raise ValueError(f"unknown schedule {spec.schedule!r}; choose one of: {', '.join(SCHEDULES)}")
    if spec.schedule in ("halving", "cyclic") and not spec.milestones:
        raise ValueError(f"schedule {spec.schedule!r} needs milestones=(period_in_epochs,)")
    if spec.perturb:
        parse_perturb(spec.perturb)
    if spec.onset < 0:
        raise ValueError("onset must be >= 0 epochs")
    if spec.precision not in PRECISIONS:
        raise ValueError(f"unknown precision {spec.precision!r}; choose one of: {', '.join(PRECISIONS)}")
    if spec.group < 0 or (spec.group and spec.dropout > 0):
        raise ValueError(f"group={spec.group}: a vmap group size is 0 (off) or positive, and cannot be "
                         "used with dropout (vmap cannot give each model its own dropout masks)")
    validate_mimo(spec)
    if spec.init_from:
        parse_init_from(spec.init_from)
    if not 0 <= spec.start_epoch < spec.epochs or (spec.start_epoch and not spec.init_from):
        raise ValueError(f"start_epoch={spec.start_epoch}: training continues from an epoch in 0.."
                         f"{spec.epochs - 1} (epochs={spec.epochs}) and needs init_from, the "
                         "weights it continues from")


def parse_perturb(perturb: str) -> tuple[int, int]:
    """``"bitflip:<i>:<+1|-1>"`` -> (i, +1 or -1); a clear error for anything else."""
    parts = perturb.split(":")
    if len(parts) != 3 or parts[0] != "bitflip" or parts[2] not in ("+1", "-1", "1"):
        raise ValueError(f"unknown perturb {perturb!r}; expected 'bitflip:<flat index>:<+1|-1>'")
    try:
        index = int(parts[1])
    except ValueError:
        raise ValueError(f"perturb {perturb!r}: the index must be an integer") from None
    return index, (-1 if parts[2] == "-1" else 1)


@torch.no_grad()
def apply_perturbation(net: torch.nn.Module, perturb: str) -> torch.nn.Module:
    """Move one weight of the first layer to its float32 neighbour (seed 001 §4.1), in place."""
    if not perturb:
        return net
    index, direction = parse_perturb(perturb)
    name, w = models.first_layer_weight(net)
    if not 0 <= index < w.numel():
        raise ValueError(f"perturb index {index} out of range for {name} ({w.numel()} weights)")
    flat = w.view(-1)
    target = torch.tensor(direction * math.inf, dtype=flat.dtype)
    flat[index] = torch.nextafter(flat[index], target)
    return net


def pick_device(device: str | None = "auto") -> torch.device:
    if device in (None, "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


PRECISIONS = ("fp32", "tf32", "bf16")
# The new TF32 switches (torch >= 2.9); reading the legacy ones after they are set raises.
_NEW_TF32 = hasattr(torch.backends.cuda.matmul, "fp32_precision")


def _numerics_state() -> dict:
    state = dict(algorithms=torch.are_deterministic_algorithms_enabled(),
                 warn_only=torch.is_deterministic_algorithms_warn_only_enabled(),
                 cudnn_deterministic=torch.backends.cudnn.deterministic,
                 cudnn_benchmark=torch.backends.cudnn.benchmark)
    if _NEW_TF32:
        state.update(matmul=torch.backends.cuda.matmul.fp32_precision,
                     conv=torch.backends.cudnn.conv.fp32_precision)
    else:
        state.update(matmul=torch.backends.cuda.matmul.allow_tf32, conv=torch.backends.cudnn.allow_tf32)
    return state


def _set_numerics(state: dict) -> None:
    torch.use_deterministic_algorithms(state["algorithms"], warn_only=state["warn_only"])
    torch.backends.cudnn.deterministic = state["cudnn_deterministic"]
    torch.backends.cudnn.benchmark = state["cudnn_benchmark"]
    if _NEW_TF32:
        torch.backends.cuda.matmul.fp32_precision = state["matmul"]
        torch.backends.cudnn.conv.fp32_precision = state["conv"]
    else:
        torch.backends.cuda.matmul.allow_tf32 = state["matmul"]
        torch.backends.cudnn.allow_tf32 = state["conv"]


def set_determinism(on: bool, precision: str = "fp32") -> None:
    """Deterministic kernels on or off (cuDNN and every torch op that has a deterministic
    variant) and the float32 arithmetic of matmuls and convolutions: IEEE for 'fp32', TF32 for
    'tf32' and 'bf16' (whose autocast leaves few float32 products). Process-wide: a fit calls it
    inside :func:`numerics`, which restores the caller's settings afterwards."""
    if precision not in PRECISIONS:
        raise ValueError(f"unknown precision {precision!r}; choose one of: {', '.join(PRECISIONS)}")
    tf32 = precision != "fp32"
    _set_numerics(dict(algorithms=on, warn_only=False, cudnn_deterministic=on, cudnn_benchmark=not on,
                       matmul=("tf32" if tf32 else "ieee") if _NEW_TF32 else tf32,
                       conv=("tf32" if tf32 else "ieee") if _NEW_TF32 else tf32))


@contextlib.contextmanager
def numerics(deterministic: bool, precision: str = "fp32"):
    """Within the block: :func:`set_determinism` (``deterministic``, ``precision``); after it,
    even on an error, every setting is what it was before."""
    saved = _numerics_state()
    try:
        set_determinism(deterministic, precision)
        yield
    finally:
        _set_numerics(saved)


def autocast(spec: "Spec", device: torch.device):
    """bfloat16 autocast for ``precision='bf16'``, else a no-op context."""
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=spec.precision == "bf16")


def parse_init_from(init_from: str) -> tuple[str, int | None]:
    """``"<run key>@<epoch>"`` -> (key, epoch); ``"<stored state hash>"`` -> (hash, None)."""
    key, sep, epoch = init_from.rpartition("@")
    if not sep:
        if not init_from.isalnum():
            raise ValueError(f"init_from {init_from!r}: expected '<cached run key>@<epoch>' or a stored state's hash")
        return init_from, None
    if not key or not epoch.isdigit():
        raise ValueError(f"init_from {init_from!r}: expected '<cached run key>@<epoch>' or a stored state's hash")
    return key, int(epoch)


# The runs cache owns every stored tensor: cached runs' checkpoints ("<run key>@<epoch>"), masks
# and states to rewind to ("<content hash>"). helpers.runs sets this reader when it is imported
# (helpers.runs.stored: the checksum checked, a damaged entry moved aside), so train never
# imports runs.
READER = None


def stored(name: str) -> dict:
    """The tensors a spec names (``Spec.mask``, ``Spec.init_from``), read by the runs cache."""
    if READER is None:
        raise RuntimeError(f"{name!r} is read from the runs cache: import helpers.runs first")
    return READER(name)


def load_init_from(init_from: str) -> dict:
    """The state dict a spec with ``init_from`` starts from: a kept epoch of a cached run (a
    shared parent that children are fine-tuned from; chapter 01), or a state stored by
    :func:`helpers.runs.store` (a rewinding point; chapter 02)."""
    return stored(init_from)


def init_model(spec: Spec) -> torch.nn.Module:
    """The initial network of ``spec``: weights drawn on the CPU from ``seed_init`` alone, or,
    with ``init_from``, the weights (and BN statistics) of a cached run's checkpoint."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(spec.seed_init)
        net = (models.build_mimo(spec.model, spec.mimo, spec.width, spec.dropout, naive=spec.mimo_naive)
               if spec.mimo else models.build(spec.model, spec.width, spec.dropout))
    if spec.init_gain != 1.0:
        with torch.no_grad():
            for p in net.parameters():
                if p.dim() >= 2:
                    p.mul_(spec.init_gain)
    if spec.init_from:
        net.load_state_dict(load_init_from(spec.init_from))
    net = apply_perturbation(net, spec.perturb)
    if spec.mask:
        from . import pruning
        pruning.apply(net, stored(spec.mask))
    return net


@dataclasses.dataclass
class Trained:
    """What ``fit`` returns per spec: states and test logits by epoch, and the training log."""

    spec: Spec
    states: dict        # epoch -> {name: tensor} (parameters and buffers, on the CPU)
    logits: dict        # epoch -> float32 array (n_test, classes)
    test_labels: np.ndarray
    log: list           # one dict per epoch
    variant: str
    device: str
    seconds: float      # wall time of the group, divided by the group's size
    mode: str = "loop"  # how the group's models ran: 'loop' or 'vmap'
    compiled: bool = False
    device_name: str = ""   # data.device_name while it trained (a CPU's kernels and threads)


class BudgetExhausted(RuntimeError):
    """Training stopped at its deadline; what was done is kept and the same call resumes it."""


# How models of one group run, by device, when the caller says mode='auto' (see fit). Chosen by
# bench/bench_train.py: on a CPU a loop of channels-last modules beats vmap's grouped kernels; on
# an H200 one compiled vmap call of 16 ResNet20s ran 11x faster than a compiled loop of them.
# Deterministic fits always loop: each model then runs exactly the kernels it would run alone.
# HELPERS_CUDA_BATCHING (loop|vmap) and HELPERS_CUDA_COMPILE (0|1) override the CUDA entries.
BATCHING = {"cpu": "loop", "cuda": os.environ.get("HELPERS_CUDA_BATCHING", "vmap")}
# torch.compile for fits that are not deterministic, by device ('auto'); off on a CPU, where
# compiling costs more than it saves for the book's short fits.
COMPILE = {"cpu": False, "cuda": os.environ.get("HELPERS_CUDA_COMPILE", "1") != "0"}
# ... but not for a loop of modules that is not deterministic: each step of one model is bound by
# kernel launches, so on an H200 a compiled loop of 16 ran at the eager loop's speed (11,299 vs
# 10,685 images/s, 2026-11-30) after 25-40 s of compiling. HELPERS_CUDA_COMPILE_LOOP=1 compiles it.
COMPILE_LOOP = {"cpu": False, "cuda": os.environ.get("HELPERS_CUDA_COMPILE_LOOP", "0") != "0"}
# ... and for deterministic fits (a loop of modules): off until a GPU shows that a compiled step
# keeps a run's bits independent of its group and its resume (tests/test_cuda.py). On an H200 the
# eager loop ran at the plain loop's speed, launch-bound (README); HELPERS_CUDA_COMPILE_DET names a
# torch.compile mode ('default', 'reduce-overhead') to try there.
COMPILE_DETERMINISTIC = {"cpu": False, "cuda": os.environ.get("HELPERS_CUDA_COMPILE_DET") or False}
# ... and only for fits long enough to repay compiling. On an H200 compiling a vmap step took 50 s
# cold and 35 s for another shape of a network compiled before (bench, 2026-11-30 and 12-01; the
# same shape again in one process costs nothing: dynamo's cache). A compiled bf16 step of K
# ResNet20s ran 5.6 ms + 0.65 ms x K, the eager one-model loop 11.4 ms (launch-bound); an eager
# vmap step is not yet measured (bench/bench_train.py's eager rows). A fit of fewer than 1,000
# steps (epochs x steps an epoch) repays even a 35 s recompile only if compiling saved more than
# 35 ms a step, three times the eager loop's whole step: such fits run eagerly. Longer ones are
# compiled until the bench's eager rows say where the break-even lies.
# HELPERS_CUDA_COMPILE_MIN_STEPS overrides the threshold (0: compile every fit).
# Each new shape is a compile of its own: on a CPU (2026-12-01, chapter 04's seven gpu groups on
# 256 images, one process) every group recompiled the vmap step (its K, or a MIMO head count, or
# the width changed), 41-120 s each, and torch.compile(dynamic=True) did not help: the vmap step
# still specialized on K and on the channels, recompiling at the same seven places. So on a GPU
# those groups train side by side in worker processes (runs.ProcessExecutor), their compiles
# overlapping instead of adding up.
COMPILE_MIN_STEPS = {"cpu": 0, "cuda": int(os.environ.get("HELPERS_CUDA_COMPILE_MIN_STEPS", 1000))}
CHECKPOINT_EVERY_S = float(os.environ.get("HELPERS_CHECKPOINT_S", 120))


def auto_mode(spec: Spec, K: int, device_type: str, dropout: bool) -> str:
    """How ``fit(mode='auto')`` runs a group of K models of ``spec``: 'loop' or 'vmap' (above;
    a fixed ``group`` is always one vmap call)."""
    if spec.group:
        return "vmap"
    if spec.deterministic or spec.onset or K == 1 or dropout:
        return "loop"
    return BATCHING[device_type]


def epoch_steps(spec: Spec, n_train: int) -> int:
    """Optimizer steps an epoch of ``spec`` on ``n_train`` training images (a MIMO step takes
    batch_size // mimo_batch_rep distinct examples)."""
    return n_train // (min(spec.batch_size, n_train) // spec.mimo_batch_rep)


def total_steps(spec: Spec, n_train: int) -> int:
    """Optimizer steps of a whole fit of ``spec`` on ``n_train`` training images."""
    return spec.epochs * epoch_steps(spec, n_train)


def auto_compile(spec: Spec, mode: str, device_type: str, dropout: bool, steps: int | None = None):
    """What ``fit(compile='auto')`` does for a group of ``spec`` run in ``mode``: False, True or a
    ``torch.compile`` mode (:data:`COMPILE`, :data:`COMPILE_LOOP`, :data:`COMPILE_DETERMINISTIC`;
    fits with an onset or dropout are never compiled, vmap fits of fewer than
    :data:`COMPILE_MIN_STEPS` ``steps`` neither)."""
    if spec.onset or dropout:
        return False
    if spec.deterministic:
        return COMPILE_DETERMINISTIC[device_type]
    if mode == "loop":
        return COMPILE_LOOP[device_type]
    if steps is not None and steps < COMPILE_MIN_STEPS[device_type]:
        return False
    return COMPILE[device_type]


def _clock() -> float:
    """Wall-clock seconds (time.time), the clock that deadlines are given in."""
    return time.time()


class Stack:
    """K models of one architecture run as one: stacked tensors under ``vmap`` (mode 'vmap'), or
    K ordinary modules in a loop (mode 'loop', channels-last, the faster choice on a CPU). In
    loop mode each model runs exactly the kernels it would run alone, whatever K is."""

    def __init__(self, nets: list[torch.nn.Module], device: torch.device, mode: str):
        self.K, self.mode, self.device = len(nets), mode, device
        if mode == "vmap":
            # stack on the models' own device first, then move: nets[0] also serves as the skeleton
            self.params = {n: torch.stack([dict(m.named_parameters())[n].detach() for m in nets]).to(device)
                           .requires_grad_() for n, _ in nets[0].named_parameters()}
            self.buffers = {n: torch.stack([dict(m.named_buffers())[n] for m in nets]).to(device)
                            for n, _ in nets[0].named_buffers()}
            self.base = nets[0].to(device)
        elif mode == "loop":
            self.nets = [m.to(device, memory_format=torch.channels_last) for m in nets]
        else:
            raise ValueError(f"unknown mode {mode!r}; choose one of: auto, loop, vmap")
        self.masks = None

    def parameters(self) -> list[torch.Tensor]:
        if self.mode == "vmap":
            return list(self.params.values())
        return [p for m in self.nets for p in m.parameters()]

    def set_masks(self, masks: list) -> None:
        """Pruning masks, one {name: tensor} dict (or None) per model: in vmap mode stacked into
        one (K, ...) tensor per masked parameter (ones for unmasked models), applied in one
        multiplication."""
        if not any(masks):
            self.masks = None
        elif self.mode == "vmap":
            names = sorted({n for m in masks if m for n in m})
            self.masks = {n: torch.stack([m[n].to(self.device, torch.float32) if m and n in m
                                          else torch.ones_like(self.params[n][0]) for m in masks])
                          for n in names}
        else:  # (parameter, mask) pairs, looked up once here rather than at every step
            self.masks = [(dict(net.named_parameters())[n], t.to(self.device, torch.float32))
                          for net, m in zip(self.nets, masks) if m for n, t in m.items()]

    @torch.no_grad()
    def apply_masks(self) -> None:
        """Multiply every masked parameter by its mask: pruned weights stay exactly zero."""
        if self.masks is None:
            return
        if self.mode == "vmap":
            for n, m in self.masks.items():
                self.params[n].mul_(m)
            return
        for p, m in self.masks:
            p.mul_(m)

    def train(self, on: bool = True) -> None:
        for m in ([self.base] if self.mode == "vmap" else self.nets):
            m.train(on)

    def set_dropout_generators(self, gens) -> None:
        if self.mode == "loop":
            for net, g in zip(self.nets, gens):
                models.set_dropout_generator(net, g)

    def forward(self, xs: torch.Tensor, one=None) -> torch.Tensor:
        """(K, B, ...) inputs -> (K, B, classes) logits, in the current train/eval mode; in loop
        mode ``one(net, x)`` runs one model (default: ``net(x)``)."""
        if self.mode == "vmap":
            f = lambda p, b, x: functional_call(self.base, (p, b), (x,))  # noqa: E731
            return vmap(f, randomness="error")(self.params, self.buffers, xs)
        one = one or _call
        return torch.stack([one(net, xs[k].contiguous(memory_format=torch.channels_last))
                            for k, net in enumerate(self.nets)])

    def state(self, k: int) -> dict:
        """Model k's parameters and buffers, copied to the CPU."""
        if self.mode == "vmap":
            items = {**{n: v[k] for n, v in self.params.items()}, **{n: v[k] for n, v in self.buffers.items()}}
        else:
            items = self.nets[k].state_dict()
        return {n: t.detach().to("cpu", memory_format=torch.contiguous_format, copy=True) for n, t in items.items()}

    @torch.no_grad()
    def load(self, k: int, state: dict) -> None:
        """Model k's parameters and buffers set to ``state`` (as :meth:`state` returns it)."""
        if self.mode == "vmap":
            for n, v in {**self.params, **self.buffers}.items():
                v[k].copy_(state[n])
        else:
            self.nets[k].load_state_dict(state)

    @torch.no_grad()
    def logits(self, x: torch.Tensor, chunk: int = 1000, cast=contextlib.nullcontext) -> torch.Tensor:
        """(K, N, classes) float32 logits on ``x`` in eval mode (no dropout, BN running
        statistics); ``cast`` is the fit's autocast context."""
        self.train(False)
        outs = []
        for i in range(0, len(x), chunk):
            with cast():
                outs.append(self.forward(x[i:i + chunk].unsqueeze(0).expand(self.K, *x[i:i + chunk].shape)).float())
        self.train(True)
        return torch.cat(outs, 1)


def cross_entropy(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy over the last-but-one axis, (K, B, C) x (K, B) -> (K,).

    Written with a one-hot product instead of ``F.cross_entropy``, whose CUDA backward may
    scatter non-deterministically; this form is deterministic everywhere.
    """
    logp = F.log_softmax(logits, -1)
    return -(logp * F.one_hot(labels, logits.shape[-1])).sum(-1).mean(-1)


def _call(net: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    """One model on one batch: the unit that loop mode compiles (once for all K modules, which
    share their structure, so each model keeps the kernels it would have alone)."""
    return net(x)


def _loud_recompile_limit(limit: int = 64) -> None:
    """A chapter compiles many shapes (widths, batch sizes, MIMO heads) in one process; past
    dynamo's recompile limit (8 by default) it silently runs eager. Allow ``limit``, and make
    hitting it an error that the fit reports before falling back to eager (see _first_step)."""
    cfg = torch._dynamo.config
    for name in ("recompile_limit", "cache_size_limit"):  # the name changed across versions
        if hasattr(cfg, name):
            setattr(cfg, name, max(getattr(cfg, name), limit))
            break
    for name in ("fail_on_recompile_limit_hit", "fail_on_cache_limit_hit"):
        if hasattr(cfg, name):
            setattr(cfg, name, True)
            break


class _LossFn:
    """(K, B, ...) inputs and labels -> per-model (losses, accuracies): eager, or compiled by
    ``torch.compile`` where asked (``mode``: 'default', 'reduce-overhead' = CUDA graphs, ...). In
    loop mode the one-model forward is compiled, in vmap mode the stacked forward. A compilation
    that fails (no compiler, an unsupported op) is reported in one line and the fit continues
    eagerly (see :func:`_first_step`)."""

    def __init__(self, stack: Stack, spec: Spec, device: torch.device, compile_mode: str | None):
        self.stack, self.spec, self.device = stack, spec, device
        self.compiled, self.one, self.forward = False, _call, stack.forward
        if compile_mode:
            try:
                _loud_recompile_limit()
                if stack.mode == "loop":
                    self.one = torch.compile(_call, mode=compile_mode)
                else:
                    self.forward = torch.compile(stack.forward, mode=compile_mode)
                self.compiled = True
            except Exception as err:  # torch.compile unavailable (e.g. Python too new for dynamo)
                self.fallback(err)

    def __call__(self, xs: torch.Tensor, ys: torch.Tensor):
        with autocast(self.spec, self.device):
            out = self.forward(xs) if self.stack.mode == "vmap" else self.stack.forward(xs, self.one)
        out = out.float()  # the loss in float32 (a no-op without autocast)
        losses = cross_entropy(out.flatten(1, -2), ys.flatten(1))  # MIMO: the mean over heads too
        correct = (out.argmax(-1) == ys).float().flatten(1).mean(1)
        return losses, correct.detach()

    def fallback(self, err: Exception) -> None:
        why = (str(err).strip().splitlines() or [""])[0][:200]
        print(f"torch.compile failed ({type(err).__name__}: {why}); training eagerly", file=sys.stderr, flush=True)
        self.compiled, self.one, self.forward = False, _call, self.stack.forward


def _checkpoint_save(path: Path, payload: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    torch.save(payload, tmp)
    os.replace(tmp, path)


def _spec_list(specs) -> list:
    return [dataclasses.asdict(s) for s in specs]


def checkpoint_name(specs: list[Spec]) -> str:
    """A file name for an interrupted group of ``specs`` (the same group gives the same name)."""
    text = repr(_spec_list(specs)) + f"|code {CODE_VERSION}"
    return hashlib.sha256(text.encode()).hexdigest()[:20] + ".pt"


# Intra-op threads of a fit on a CPU (HELPERS_CPU_FIT_THREADS, default 1; 0: the caller's). Its
# kernels split their sums over threads (a backward pass's always, a linear layer's forward too),
# so a run trained on other threads has other bits; on one thread a run's bits (its weights and
# the test logits it keeps) do not depend on the machine's cores, whose other cores train a
# call's other runs side by side (runs.cpu_workers() worker processes). An analysis outside a fit
# runs on its caller's threads, so its last bits may depend on them.
CPU_FIT_THREADS = int(os.environ.get("HELPERS_CPU_FIT_THREADS", 1))


@contextlib.contextmanager
def cpu_threads(device: torch.device, n: int):
    """Within the block, on a CPU: ``n`` intra-op threads (restored after; ``n < 1``: as they are)."""
    if device.type != "cpu" or n < 1:
        yield
        return
    old = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(old)


def fit(specs: list[Spec], device: str | None = "auto", mode: str = "auto", progress: bool = False,
        compile: bool | str = "auto", checkpoint: str | Path | None = None,
        deadline: float | None = None, on_epoch=None) -> list[Trained]:
    """Train ``specs`` together; see :func:`_fit`. Specs with ``group=G`` train as one vmap call
    of exactly G models: the group is padded with copies of its own specs, whose results are
    dropped. ``on_epoch(epoch, epochs, images_per_s)`` is called after every epoch (progress).
    On a CPU the fit runs on :data:`CPU_FIT_THREADS` threads."""
    G = specs[0].group if specs else 0
    if G and (len(specs) > G or mode not in ("auto", "vmap")):
        raise ValueError(f"specs with group={G} train in vmap groups of at most {G} (got {len(specs)}, "
                         f"mode {mode!r}); runs.get splits them so")
    with cpu_threads(pick_device(device), CPU_FIT_THREADS):
        if not G:
            return _fit(specs, device, mode, progress, compile, checkpoint, deadline, on_epoch)
        padded = list(specs) + [specs[i % len(specs)] for i in range(G - len(specs))]
        return _fit(padded, device, "vmap", progress, compile, checkpoint, deadline, on_epoch)[:len(specs)]


def _fit(specs: list[Spec], device: str | None = "auto", mode: str = "auto", progress: bool = False,
         compile: bool | str = "auto", checkpoint: str | Path | None = None,
         deadline: float | None = None, on_epoch=None) -> list[Trained]:
    """Train ``specs`` (which must differ only in their seeds) together; see the module doc.

    * ``mode`` -- 'loop', 'vmap' or 'auto': a loop for deterministic fits (each model runs the
      kernels it would run alone, so its bits do not depend on K), else :data:`BATCHING`.
    * ``compile`` -- False, True (= 'default'), a ``torch.compile`` mode ('reduce-overhead':
      CUDA graphs; 'max-autotune-no-cudagraphs') or 'auto' (:data:`COMPILE` for fits that are
      not deterministic and have no dropout).
    * ``checkpoint`` -- a file: if it holds this group's progress, training resumes from it
      (bitwise as if never interrupted); progress is written there every
      :data:`CHECKPOINT_EVERY_S` seconds (``HELPERS_CHECKPOINT_S``) and at the deadline.
    * ``deadline`` -- a time (``time.time()``): when the next epoch would end past it, progress is
      checkpointed and :class:`BudgetExhausted` raised.

    Determinism, TF32 and autocast apply to this fit only (:func:`numerics`).
    """
    if len({s.group_key() for s in specs}) != 1:
        raise ValueError("fit() trains specs together only when they differ in seeds (or kept epochs, "
                         "perturbation, replica) alone")
    spec = specs[0]
    validate(spec)
    dev = pick_device(device)
    K = len(specs)
    checkpoint = Path(checkpoint) if checkpoint else None
    if deadline is not None and _clock() >= deadline:
        raise BudgetExhausted(f"the training budget ran out before a group of {K} runs could start")
    # epoch e (1-based) is trained deterministically up to the onset, then as the spec says
    det_at = lambda e: True if e <= spec.onset else spec.deterministic  # noqa: E731
    with numerics(det_at(1), spec.precision):
        data = data_mod.on_device(spec.dataset, str(dev), spec.n_train, spec.n_test)
        nets = [init_model(s) for s in specs]
        dropout = models.has_dropout(nets[0])
        if mode == "auto":
            mode = auto_mode(spec, K, dev.type, dropout)
        if mode == "vmap" and dropout:
            raise ValueError("vmap mode cannot give each model its own dropout generator; use mode='loop'")
        stack = Stack(nets, dev, mode)
        if any(s.mask for s in specs):
            stack.set_masks([stored(s.mask) if s.mask else None for s in specs])
        params = stack.parameters()
        if spec.optimizer == "sgd":
            opt = torch.optim.SGD(params, lr=spec.lr, momentum=spec.momentum, weight_decay=spec.weight_decay)
        else:
            opt = torch.optim.Adam(params, lr=spec.lr, weight_decay=spec.weight_decay)
        if compile == "auto":
            compile = auto_compile(spec, mode, dev.type, dropout, total_steps(spec, len(data.train_y)))
        loss_fn = _LossFn(stack, spec, dev, ("default" if compile is True else compile) or None)

        def generators(before_onset: bool):
            seeds = [(0, 0, 0) if before_onset else (s.seed_order, s.seed_aug, s.seed_dropout) for s in specs]
            gens = ([torch.Generator().manual_seed(o) for o, _, _ in seeds],
                    [torch.Generator().manual_seed(a) for _, a, _ in seeds],
                    [torch.Generator(dev).manual_seed(d) for _, _, d in seeds])
            stack.set_dropout_generators(gens[2])
            return gens

        order_gens, aug_gens, drop_gens = generators(before_onset=spec.onset > 0)
        n = len(data.train_y)
        bs = min(spec.batch_size, n) // spec.mimo_batch_rep  # distinct examples a step (MIMO: tiled back)
        steps_per_epoch = epoch_steps(spec, n)
        kept = [s.kept_epochs() for s in specs]
        kept_logits = [s.logit_kept_epochs() for s in specs]
        states = [dict() for _ in specs]
        logits = [dict() for _ in specs]
        logs = [[] for _ in specs]

        def snapshot(epoch):
            if not any(epoch in kp for kp in kept_logits):
                return None
            # in float32 whatever the training precision: bf16 rounding would tie argmaxes and
            # move the disagreement figures
            lg = stack.logits(data.test_x)  # (K, N, C), or (K, N, M, C) for MIMO: the heads' mean
            accs = ((lg if lg.dim() == 3 else lg.softmax(-1).mean(-2)).argmax(-1) == data.test_y).float().mean(1).tolist()
            for k in range(K):
                if epoch in kept[k]:
                    states[k][epoch] = stack.state(k)
                if epoch in kept_logits[k]:
                    logits[k][epoch] = lg[k].cpu().numpy()
            return accs

        first_epoch, elapsed = spec.start_epoch + 1, 0.0
        saved = _resume(checkpoint, specs) if checkpoint is not None else None
        if saved is not None:
            for k in range(K):
                stack.load(k, saved["models"][k])
            opt.load_state_dict(saved["optimizer"])
            for gens, key in ((order_gens, "order"), (aug_gens, "aug"), (drop_gens, "dropout")):
                for g, st in zip(gens, saved["generators"][key]):
                    g.set_state(st)
            states, logits, logs = saved["states"], saved["logits"], saved["logs"]
            first_epoch, elapsed = saved["epoch"] + 1, saved["elapsed"]
            print(f"  resuming {K} run(s) at epoch {first_epoch} of {spec.epochs} from {checkpoint}", flush=True)

        def save_progress(epoch):
            _checkpoint_save(checkpoint, dict(
                specs=_spec_list(specs), epoch=epoch, elapsed=elapsed + time.perf_counter() - t0,
                models=[stack.state(k) for k in range(K)], optimizer=opt.state_dict(),
                generators=dict(order=[g.get_state() for g in order_gens], aug=[g.get_state() for g in aug_gens],
                                dropout=[g.get_state() for g in drop_gens]),
                states=states, logits=logits, logs=logs))

        t0 = time.perf_counter()
        last_save = _clock()
        stack.train()
        if first_epoch == spec.start_epoch + 1:
            snapshot(spec.start_epoch)
        step = (first_epoch - 1) * steps_per_epoch
        for epoch in range(first_epoch, spec.epochs + 1):
            te = time.perf_counter()
            if spec.onset and epoch == spec.onset + 1:  # the sources switch on now
                order_gens, aug_gens, drop_gens = generators(before_onset=False)
            set_determinism(det_at(epoch), spec.precision)
            plans = [data_mod.epoch_plan(n, bs, order_gens[k], aug_gens[k] if spec.augment else None, dev)
                     for k in range(K)]
            mimo_plans = [mimo_positions(steps_per_epoch, bs, spec, order_gens[k], dev) for k in range(K)]
            idx = torch.stack([p[0] for p in plans], 1)                    # (steps, K, B)
            if spec.augment:
                shifts = torch.stack([p[1] for p in plans], 1).flatten(1, 2)  # (steps, K*B, 2)
                flips = torch.stack([p[2] for p in plans], 1).flatten(1, 2)   # (steps, K*B)
            loss_sum = torch.zeros(K, device=dev)
            correct = torch.zeros(K, device=dev)
            for it in range(steps_per_epoch):
                lr = lr_at(spec, step, steps_per_epoch)
                for group in opt.param_groups:
                    group["lr"] = lr
                x = data.train_x[idx[it]]                                  # (K, B, 3, H, W): one gather
                if spec.augment:
                    x = data_mod.crop_flip(x.flatten(0, 1), shifts[it], flips[it]).view(x.shape)
                y = data.train_y[idx[it]]
                if spec.mimo:
                    pairs = [mimo_batch(x[k], y[k], spec, None if pos is None else pos[it])
                             for k, pos in enumerate(mimo_plans)]
                    x, y = torch.stack([p[0] for p in pairs]), torch.stack([p[1] for p in pairs])
                first = it == 0 and epoch == first_epoch
                losses, accs = _first_step(loss_fn, stack, x, y) if first else loss_fn(x, y)
                opt.zero_grad(set_to_none=True)
                losses.sum().backward()
                opt.step()
                stack.apply_masks()  # pruned weights stay exactly zero
                step += 1
                loss_sum += losses.detach()
                correct += accs
            train_loss = (loss_sum / steps_per_epoch).tolist()  # the epoch's one wait for the device
            train_acc = (correct / steps_per_epoch).tolist()
            train_s = time.perf_counter() - te
            accs = snapshot(epoch)
            epoch_s = time.perf_counter() - te
            for k in range(K):
                logs[k].append(dict(epoch=epoch, train_loss=train_loss[k], train_acc=train_acc[k],
                                    test_acc=None if accs is None else accs[k],
                                    lr=lr_at(spec, step - 1, steps_per_epoch),
                                    seconds=epoch_s, train_seconds=train_s))
            if on_epoch is not None:
                on_epoch(epoch, spec.epochs, K * steps_per_epoch * bs * spec.mimo_batch_rep / train_s)
            if progress:
                print(f"  epoch {epoch}/{spec.epochs}: train loss {np.mean([lg[-1]['train_loss'] for lg in logs]):.3f}"
                      f" ({epoch_s:.1f} s for {K} model(s))", flush=True)
            now = _clock()
            out_of_time = deadline is not None and epoch < spec.epochs and now + epoch_s > deadline
            if checkpoint is not None and epoch < spec.epochs and (out_of_time or now - last_save >= CHECKPOINT_EVERY_S):
                save_progress(epoch)
                last_save = now
            if out_of_time:
                raise BudgetExhausted(f"the training budget ran out after epoch {epoch} of {spec.epochs} "
                                      f"of a group of {K} runs" + (f"; progress kept in {checkpoint}" if checkpoint
                                                                  else " (no checkpoint: progress lost)"))
        seconds = (elapsed + time.perf_counter() - t0) / K
    labels = data.test_y.cpu().numpy()
    return [Trained(s, states[k], logits[k], labels, logs[k], data.variant, str(dev), seconds, mode,
                    loss_fn.compiled, data_mod.device_name(dev))
            for k, s in enumerate(specs)]


def _first_step(loss_fn: _LossFn, stack: Stack, x, y):
    """The first compiled call: if compilation fails, undo what it changed (BN statistics) and
    fall back to eager for the rest of the fit."""
    if not loss_fn.compiled:
        return loss_fn(x, y)
    buffers = [b.clone() for b in _buffers(stack)]
    try:
        losses, accs = loss_fn(x, y)
        losses.sum().backward(retain_graph=True)  # compiles the backward now, inside the try
        for p in stack.parameters():
            p.grad = None
        return losses, accs
    except Exception as err:
        with torch.no_grad():
            for b, saved in zip(_buffers(stack), buffers):
                b.copy_(saved)
        for p in stack.parameters():
            p.grad = None
        loss_fn.fallback(err)
        return loss_fn(x, y)


def _buffers(stack: Stack) -> list[torch.Tensor]:
    if stack.mode == "vmap":
        return list(stack.buffers.values())
    return [b for net in stack.nets for b in net.buffers()]


def _resume(path: Path, specs: list[Spec]) -> dict | None:
    """The saved progress of exactly this group, or None (absent, another group's, unreadable)."""
    if not path.exists():
        return None
    try:
        saved = torch.load(path, weights_only=False)
    except Exception as err:  # a torn file: start afresh (its replacement is written atomically)
        print(f"checkpoint {path} is unreadable ({type(err).__name__}); training from the start", file=sys.stderr)
        return None
    if saved.get("specs") != _spec_list(specs):
        print(f"checkpoint {path} belongs to other runs; training from the start", file=sys.stderr)
        return None
    return saved


# --------------------------------------------------------------------------------------------
# MIMO (Havasi et al. 2021; seed 000 §4): the input/label layout. At mimo=0 nothing here runs.


def validate_mimo(spec: Spec) -> None:
    if spec.mimo < 0:
        raise ValueError("mimo must be >= 0 (0 = an ordinary network, M > 0 = M members)")
    if not spec.mimo and (spec.mimo_rho or spec.mimo_batch_rep != 1 or spec.mimo_naive):
        raise ValueError("mimo_rho, mimo_batch_rep and mimo_naive need mimo = M > 0")
    if not 0 <= spec.mimo_rho <= 1:
        raise ValueError("mimo_rho is a probability: 0 <= mimo_rho <= 1")
    if not 1 <= spec.mimo_batch_rep <= spec.batch_size:
        raise ValueError("mimo_batch_rep must be between 1 and batch_size")
    if spec.mimo_naive and (spec.mimo_rho or spec.mimo_batch_rep != 1):
        raise ValueError("the naive multi-head network has one input: leave mimo_rho and mimo_batch_rep at defaults")


def mimo_positions(steps: int, rows: int, spec: Spec, gen: torch.Generator, device="cpu") -> torch.Tensor | None:
    """One epoch's MIMO pairing: (steps, M, batch_rep * rows) positions in each batch, or None.

    As the reference implementation (uncertainty-baselines, ``mimo`` on CIFAR): a step draws
    ``rows = batch_size // batch_rep`` distinct examples (so an epoch has ``batch_rep`` times more
    steps, each of about ``batch_size`` images), tiles them ``batch_rep`` times and shuffles
    them (the main order); member 0 reads the main order, and
    every other member reads it with its first ``(1 - rho)`` share shuffled independently, so on
    the last ``rho`` share all members see the same image. With ``batch_rep = 1`` the main order
    is the batch as drawn, so M = 1 trains exactly like the ordinary network (and draws nothing).
    Draws come from ``gen`` (the spec's data-order generator), after the epoch's permutation, on
    the CPU; the result is sent to ``device`` in one copy. None for ordinary and naive networks.
    """
    if not spec.mimo or spec.mimo_naive:
        return None
    total = spec.mimo_batch_rep * rows
    base = torch.arange(rows).repeat(spec.mimo_batch_rep)
    shuffled = int(total * (1 - spec.mimo_rho))
    out = torch.empty(steps, spec.mimo, total, dtype=torch.long)
    for s in range(steps):
        main = base[torch.randperm(total, generator=gen)] if spec.mimo_batch_rep > 1 else base
        out[s, 0] = main
        for m in range(1, spec.mimo):
            out[s, m] = torch.cat([main[:shuffled][torch.randperm(shuffled, generator=gen)], main[shuffled:]])
    return out.to(device)


def mimo_batch(x: torch.Tensor, y: torch.Tensor, spec: Spec, pos: torch.Tensor | None) -> tuple:
    """A batch ``(B, 3, H, W)``, ``(B,)`` in the layout ``spec``'s network trains on.

    Ordinary: unchanged. MIMO (``pos`` of shape (M, B')): member m's images stacked on the channel
    axis, (B', 3M, H, W), and labels (B', M). Naive: the images unchanged, labels repeated (B, M).
    """
    if not spec.mimo:
        return x, y
    if spec.mimo_naive:
        return x, y.unsqueeze(1).expand(-1, spec.mimo)
    return x[pos.T].flatten(1, 2), y[pos.T]
