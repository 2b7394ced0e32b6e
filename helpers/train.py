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
* ``mask="<hash>"`` (chapter 02): the stored mask ``helpers.pruning.load(hash)`` is applied right
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

Specs that differ only in their seeds train *together*: their parameters are stacked along a
leading axis and updated by one optimizer. Because SGD and Adam act element by element, that is
exactly K independent optimizers. How the K forward passes run is the device's choice: on a GPU
one ``torch.func.vmap`` call (one batched kernel launch per layer), on a CPU a plain loop (grouped
convolutions are slower there than K separate ones).

``init_from="<run key>@<epoch>"`` starts from a cached run's checkpoint instead of a fresh
initialization (children fine-tuned from one shared parent, chapter 01); the optimizer state
starts afresh. ``init_gain=g`` multiplies every initial weight with two or more dimensions (the
convolutions' filters, the linear layers' matrices) by g: too small, He-scaled (1) or too large
an initialization (seed 002's unit variance, chapter 01).

``fit`` returns, for each spec, the weights and the test-set logits at the epochs named in
``save_epochs`` (0 is the initialization) and a per-epoch log. Caching is ``helpers.runs``'s job.
"""
from __future__ import annotations

import dataclasses
import math
import os
import time

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
PER_MODEL_FIELDS = SEED_FIELDS + ("save_epochs", "perturb", "replica", "mask", "init_from")


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
    perturb: str = ""                # "" or "bitflip:<flat index>:<+1|-1>" (first layer's weight)
    onset: int = 0                   # epochs trained with order/aug/dropout seeds 0, deterministic
    replica: int = 0                 # changes nothing but the cache key: R runs of one spec are R runs
    mask: str = ""                   # "" or the hash of a stored mask (helpers.pruning.store)
    # "" or where the initial weights come from: "<cached run key>@<epoch>" (a run's checkpoint,
    # e.g. the shared parent of fine-tuned children), or the hash of a state dict stored by
    # helpers.pruning.store (rewinding a lottery ticket)
    init_from: str = ""
    mimo: int = 0                    # M > 0: a MIMO network of M members (models.build_mimo); 0 = ordinary
    mimo_rho: float = 0.0            # MIMO input repetition: share of each batch all members see alike
    mimo_batch_rep: int = 1          # MIMO batch repetition: batch_size // rep examples a step, tiled rep times
    mimo_naive: bool = False         # the naive control: one input, M heads, all on the same example
    init_gain: float = 1.0           # every initial weight matrix/filter bank multiplied by this
    # Arithmetic of the fit on a GPU: 'fp32' (TF32 off: every bitwise claim), 'tf32' (TF32
    # matmuls and convolutions), 'bf16' (bfloat16 autocast; weights and optimizer stay fp32).
    # On a CPU 'fp32' and 'tf32' are the same arithmetic.
    precision: str = "fp32"

    def replace(self, **changes) -> "Spec":
        return dataclasses.replace(self, **changes)

    def with_seed(self, seed: int) -> "Spec":
        """All four seeds set to ``seed``: an independent run."""
        return self.replace(**{f: seed for f in SEED_FIELDS})

    def group_key(self) -> tuple:
        """Specs with equal group keys can train together (they differ only in seeds, kept
        epochs, perturbation or replica index)."""
        return tuple((f.name, getattr(self, f.name)) for f in dataclasses.fields(self)
                     if f.name not in PER_MODEL_FIELDS)

    def kept_epochs(self) -> tuple:
        return tuple(sorted({e for e in self.save_epochs if 0 <= e <= self.epochs} | {self.epochs}))


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
    validate_mimo(spec)
    if spec.init_from:
        parse_init_from(spec.init_from)


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


def set_determinism(on: bool) -> None:
    """Deterministic kernels on or off (cuDNN and every torch op that has a deterministic variant)."""
    if on:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    torch.backends.cudnn.deterministic = on
    torch.backends.cudnn.benchmark = not on
    torch.use_deterministic_algorithms(on, warn_only=False)


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


def load_init_from(init_from: str) -> dict:
    """The state dict a spec with ``init_from`` starts from: a kept epoch of a cached run (a
    shared parent that children are fine-tuned from; chapter 01), or a state stored by
    ``helpers.pruning.store`` (a rewinding point; chapter 02)."""
    from . import runs  # runs imports train

    key, epoch = parse_init_from(init_from)
    if epoch is None:  # a state dict stored by helpers.pruning.store
        from . import pruning
        return pruning.load(key)
    path = runs.runs_dir() / key / "states.pt"
    if not path.exists():
        raise ValueError(f"init_from {init_from!r}: no cached run {key} in {runs.runs_dir()}; train it first")
    states = torch.load(path, weights_only=True)
    if epoch not in states:
        raise ValueError(f"init_from {init_from!r}: epoch {epoch} was not kept; kept: {sorted(states)}")
    return states[epoch]


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
        pruning.apply(net, pruning.load(spec.mask))
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


class Stack:
    """K models of one architecture run as one: stacked tensors under ``vmap`` (mode 'vmap'), or
    K ordinary modules in a loop (mode 'loop', channels-last, the faster choice on a CPU)."""

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

    def parameters(self) -> list[torch.Tensor]:
        if self.mode == "vmap":
            return list(self.params.values())
        return [p for m in self.nets for p in m.parameters()]

    @torch.no_grad()
    def apply_masks(self, masks: list) -> None:
        """Multiply model k's masked parameters by ``masks[k]`` (a {name: tensor} dict or None)."""
        for k, mask in enumerate(masks):
            if not mask:
                continue
            params = self.params if self.mode == "vmap" else dict(self.nets[k].named_parameters())
            for n, m in mask.items():
                p = params[n][k] if self.mode == "vmap" else params[n]
                p.mul_(m)

    def train(self, on: bool = True) -> None:
        for m in ([self.base] if self.mode == "vmap" else self.nets):
            m.train(on)

    def forward(self, xs: torch.Tensor, dropout_gens=None) -> torch.Tensor:
        """(K, B, ...) inputs -> (K, B, classes) logits, in the current train/eval mode."""
        if self.mode == "vmap":
            f = lambda p, b, x: functional_call(self.base, (p, b), (x,))  # noqa: E731
            return vmap(f, randomness="error")(self.params, self.buffers, xs)
        outs = []
        for k, net in enumerate(self.nets):
            if dropout_gens is not None:
                models.set_dropout_generator(net, dropout_gens[k])
            outs.append(net(xs[k].contiguous(memory_format=torch.channels_last)))
        return torch.stack(outs)

    def state(self, k: int) -> dict:
        """Model k's parameters and buffers, copied to the CPU."""
        if self.mode == "vmap":
            items = {**{n: v[k] for n, v in self.params.items()}, **{n: v[k] for n, v in self.buffers.items()}}
        else:
            items = self.nets[k].state_dict()
        return {n: t.detach().to("cpu", memory_format=torch.contiguous_format, copy=True) for n, t in items.items()}

    @torch.no_grad()
    def logits(self, x: torch.Tensor, chunk: int = 1000) -> torch.Tensor:
        """(K, N, classes) logits on ``x`` in eval mode (no dropout, BN running statistics)."""
        self.train(False)
        outs = [self.forward(x[i:i + chunk].unsqueeze(0).expand(self.K, *x[i:i + chunk].shape))
                for i in range(0, len(x), chunk)]
        self.train(True)
        return torch.cat(outs, 1)


def cross_entropy(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy over the last-but-one axis, (K, B, C) x (K, B) -> (K,).

    Written with a one-hot product instead of ``F.cross_entropy``, whose CUDA backward may
    scatter non-deterministically; this form is deterministic everywhere.
    """
    logp = F.log_softmax(logits, -1)
    return -(logp * F.one_hot(labels, logits.shape[-1])).sum(-1).mean(-1)


def fit(specs: list[Spec], device: str | None = "auto", mode: str = "auto", progress: bool = False) -> list[Trained]:
    """Train ``specs`` (which must differ only in their seeds) together; see the module doc."""
    if len({s.group_key() for s in specs}) != 1:
        raise ValueError("fit() trains specs together only when they differ in seeds (or kept epochs, "
                         "perturbation, replica) alone")
    spec = specs[0]
    validate(spec)
    dev = pick_device(device)
    set_determinism(spec.deterministic if spec.onset == 0 else True)
    data = data_mod.on_device(spec.dataset, str(dev), spec.n_train, spec.n_test)
    nets = [init_model(s) for s in specs]
    if mode == "auto":
        mode = "vmap" if dev.type == "cuda" and len(specs) > 1 and not models.has_dropout(nets[0]) else "loop"
    if mode == "vmap" and models.has_dropout(nets[0]):
        raise ValueError("vmap mode cannot give each model its own dropout generator; use mode='loop'")
    stack = Stack(nets, dev, mode)
    if any(s.mask for s in specs):
        from . import pruning
        masks = [{n: m.to(dev, torch.float32) for n, m in pruning.load(s.mask).items()} if s.mask else None
                 for s in specs]
    else:
        masks = None
    params = stack.parameters()
    if spec.optimizer == "sgd":
        opt = torch.optim.SGD(params, lr=spec.lr, momentum=spec.momentum, weight_decay=spec.weight_decay)
    else:
        opt = torch.optim.Adam(params, lr=spec.lr, weight_decay=spec.weight_decay)

    def generators(before_onset: bool):
        seeds = [(0, 0, 0) if before_onset else (s.seed_order, s.seed_aug, s.seed_dropout) for s in specs]
        return ([torch.Generator().manual_seed(o) for o, _, _ in seeds],
                [torch.Generator().manual_seed(a) for _, a, _ in seeds],
                [torch.Generator(dev).manual_seed(d) for _, _, d in seeds])

    order_gens, aug_gens, drop_gens = generators(before_onset=spec.onset > 0)
    n = len(data.train_y)
    bs = min(spec.batch_size, n) // spec.mimo_batch_rep  # distinct examples a step (MIMO: tiled back)
    steps_per_epoch = n // bs
    kept = [s.kept_epochs() for s in specs]
    states = [dict() for _ in specs]
    logits = [dict() for _ in specs]
    logs = [[] for _ in specs]

    def snapshot(epoch):
        if not any(epoch in kp for kp in kept):
            return None
        lg = stack.logits(data.test_x)  # (K, N, C), or (K, N, M, C) for MIMO: scored by the heads' mean
        accs = ((lg if lg.dim() == 3 else lg.softmax(-1).mean(-2)).argmax(-1) == data.test_y).float().mean(1).tolist()
        for k in range(len(specs)):
            if epoch in kept[k]:
                states[k][epoch] = stack.state(k)
                logits[k][epoch] = lg[k].float().cpu().numpy()
        return accs

    t0 = time.perf_counter()
    stack.train()
    snapshot(0)
    step = 0
    for epoch in range(1, spec.epochs + 1):
        te = time.perf_counter()
        if spec.onset and epoch == spec.onset + 1:  # the sources switch on now
            order_gens, aug_gens, drop_gens = generators(before_onset=False)
            set_determinism(spec.deterministic)
        plans = [data_mod.epoch_plan(n, bs, order_gens[k], aug_gens[k] if spec.augment else None, dev)
                 for k in range(len(specs))]
        mimo_plans = [mimo_positions(steps_per_epoch, bs, spec, order_gens[k], dev) for k in range(len(specs))]
        loss_sum = torch.zeros(len(specs), device=dev)
        correct = torch.zeros(len(specs), device=dev)
        for it in range(steps_per_epoch):
            for group in opt.param_groups:
                group["lr"] = lr_at(spec, step, steps_per_epoch)
            xs, ys = [], []
            for (idx, shifts, flips), pos in zip(plans, mimo_plans):
                x = data.train_x[idx[it]]
                x, y = mimo_batch(x if shifts is None else data_mod.crop_flip(x, shifts[it], flips[it]),
                                  data.train_y[idx[it]], spec, None if pos is None else pos[it])
                xs.append(x)
                ys.append(y)
            xs, ys = torch.stack(xs), torch.stack(ys)
            out = stack.forward(xs, drop_gens)
            losses = cross_entropy(out.flatten(1, -2), ys.flatten(1))  # MIMO: the mean over heads too
            opt.zero_grad(set_to_none=True)
            losses.sum().backward()
            opt.step()
            if masks is not None:  # pruned weights stay exactly zero
                stack.apply_masks(masks)
            step += 1
            loss_sum += losses.detach()
            correct += (out.argmax(-1) == ys).float().flatten(1).mean(1).detach()
        accs = snapshot(epoch)
        for k in range(len(specs)):
            logs[k].append(dict(epoch=epoch, train_loss=(loss_sum[k] / steps_per_epoch).item(),
                                train_acc=(correct[k] / steps_per_epoch).item(),
                                test_acc=None if accs is None else accs[k],
                                lr=lr_at(spec, step - 1, steps_per_epoch),
                                seconds=time.perf_counter() - te))
        if progress:
            print(f"  epoch {epoch}/{spec.epochs}: train loss {np.mean([lg[-1]['train_loss'] for lg in logs]):.3f}"
                  f" ({time.perf_counter() - te:.1f} s for {len(specs)} model(s))", flush=True)
    seconds = (time.perf_counter() - t0) / len(specs)
    labels = data.test_y.cpu().numpy()
    return [Trained(s, states[k], logits[k], labels, logs[k], data.variant, str(dev), seconds)
            for k, s in enumerate(specs)]


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
