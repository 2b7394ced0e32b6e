"""Instability: every source of nondeterminism against a one-bit change (chapter 05).

The protocol of Summers & Dinneen (seed 001 §3.1): to measure the effect of one source of
nondeterminism, hold every other source at one value (here: seed 1, deterministic kernels) and
vary only that source over R runs; then compare the R trained models on

* the standard deviation of their test accuracy and cross-entropy, with a bootstrap error on the
  SD (the paper's "±": "the standard deviation of the standard deviation");
* the mean pairwise disagreement, Spearman correlation of the logits, and ensemble gain
  (:mod:`helpers.metrics`).

The one-bit change of §4.1 is a source of its own: run i moves one randomly chosen weight of the
first layer to its float32 neighbour (``Spec.perturb``). Everything here works on cached runs
(:class:`helpers.runs.Run`) or plain arrays; training is :func:`helpers.runs.get`'s job.
"""
from __future__ import annotations

import functools
import itertools

import numpy as np
import torch

from . import config, data, metrics, models, plots, runs, train

HELD = 1          # the value every held seed takes
SOURCE_NAMES = {
    "init": "Parameter initialization", "order": "Data shuffling", "aug": "Data augmentation",
    "dropout": "Dropout", "cudnn": "cuDNN", "all": "All nondeterminism sources",
    "bitflip": "Random bit change", "control": "Control (nothing varied)",
}
SEED_OF = {"init": "seed_init", "order": "seed_order", "aug": "seed_aug", "dropout": "seed_dropout"}


def source_label(source: str) -> str:
    """'order+aug' -> 'Data shuffling + Data augmentation'."""
    return " + ".join(SOURCE_NAMES.get(s, s) for s in source.split("+"))


# --------------------------------------------------------------------------------------------
# specs


def base_spec(P, **changes) -> train.Spec:
    """The chapter's spec with every seed held at 1 (from a chapter's parameters ``P``)."""
    spec = train.Spec(
        model=P.model, width=P.width, dropout=P.dropout, dataset=P.dataset, n_train=P.n_train,
        n_test=P.n_test, epochs=P.epochs, batch_size=P.batch_size, optimizer=P.optimizer, lr=P.lr,
        momentum=P.momentum, weight_decay=P.weight_decay, schedule=P.schedule,
        warmup_epochs=P.warmup_epochs, augment=P.augment,
    ).with_seed(HELD)
    return spec.with_seed(HELD + P.seed_base).replace(**changes)


def bitflips(spec: train.Spec, R: int, seed: int = 0) -> list[str]:
    """R ``perturb`` strings: distinct random weights of the first layer (a seeded draw), moved
    up and down to the next float32 value in turn (+1, -1, +1, ...)."""
    _, w = models.first_layer_weight(train.init_model(spec.replace(perturb="")))
    idx = np.random.default_rng(seed).choice(w.numel(), size=R, replace=False)
    return [f"bitflip:{int(i)}:{'+1' if k % 2 == 0 else '-1'}" for k, i in enumerate(idx)]


def source_specs(base: train.Spec, source: str, R: int, cudnn: bool,
                 seed_base: int = 0) -> list[train.Spec] | None:
    """R specs that vary only ``source`` ('init', 'order', 'aug', 'dropout', 'cudnn', 'all',
    'bitflip', 'control', or a '+'-joined combination) and hold the rest at ``base``.

    ``cudnn`` says whether nondeterministic kernels can vary on this device (a GPU). Where they
    cannot, a row that is cuDNN alone returns None (not testable) and combinations drop it. 'all'
    is every seed plus nondeterministic kernels where they exist. 'control' varies nothing: R
    replicas of ``base`` with deterministic kernels. A varied seed takes the values
    ``seed_base + 1 .. seed_base + R`` (the chapter's ``P.seed_base``, also the seed of the draw
    of the bit-flipped weights).
    """
    parts = source.split("+")
    if source == "all":
        parts = list(SEED_OF) + ["cudnn"]
    if not cudnn:
        parts = [p for p in parts if p != "cudnn"]
        if not parts:
            return None
    out = []
    for i in range(1, R + 1):
        changes = {}
        for p in parts:
            if p in SEED_OF:
                changes[SEED_OF[p]] = seed_base + i
            elif p == "cudnn":
                changes.update(deterministic=False, replica=i)
            elif p == "control":
                changes.update(replica=i)
            elif p != "bitflip":
                raise ValueError(f"unknown source {p!r}; choose from: {', '.join(SOURCE_NAMES)}")
        out.append(base.replace(**changes))
    if "bitflip" in parts:
        out = [s.replace(perturb=f) for s, f in zip(out, bitflips(base, R, seed_base))]
    return out


# --------------------------------------------------------------------------------------------
# the Table 1 / Table 3 row


def bootstrap_sd(values, n_boot: int = 1000, seed: int = 0) -> tuple[float, float]:
    """The sample SD (ddof=1) of ``values`` and its bootstrap standard error (the SD of the SDs of
    ``n_boot`` resamples with replacement) -- the "±" of seed 001's tables."""
    v = np.asarray(values, dtype=np.float64)
    sd = float(v.std(ddof=1)) if len(v) > 1 else float("nan")
    if len(v) < 2:
        return sd, float("nan")
    rng = np.random.default_rng(seed)
    boots = v[rng.integers(0, len(v), size=(n_boot, len(v)))].std(axis=1, ddof=1)
    return sd, float(boots.std(ddof=1))


def variability(probs_list, labels, scores_list=None, n_boot: int = 1000) -> dict:
    """Seed 001's five columns for a set of R models, from their test predictions.

    ``probs_list``: R arrays (N, C) of probabilities; ``scores_list``: what the Spearman
    correlation is taken on (the logits; default: log-probabilities). Accuracies are in [0, 1]
    (multiply by 100 for the paper's %).
    """
    scores_list = scores_list if scores_list is not None else [np.log(np.clip(p, 1e-300, None)) for p in probs_list]
    acc = np.array([metrics.accuracy(p, labels) for p in probs_list])
    ce = np.array([metrics.nll(p, labels) for p in probs_list])
    acc_sd, acc_err = bootstrap_sd(acc, n_boot)
    ce_sd, ce_err = bootstrap_sd(ce, n_boot)
    return dict(
        R=len(probs_list), acc_mean=float(acc.mean()), ce_mean=float(ce.mean()),
        acc_sd=acc_sd, acc_sd_err=acc_err, ce_sd=ce_sd, ce_sd_err=ce_err,
        disagree=metrics.mean_pairwise(metrics.disagreement, probs_list),
        corr=metrics.mean_pairwise(metrics.prediction_correlation, scores_list),
        ens_gain=metrics.mean_pairwise(lambda a, b: metrics.ensemble_gain(a, b, labels), probs_list),
    )


def run_row(run_list) -> dict:
    """:func:`variability` of cached runs (Spearman on their logits, as in the paper)."""
    return variability([r.probs() for r in run_list], run_list[0].labels, [r.logits() for r in run_list])


COLUMNS = ("Nondeterminism source", "R", "Accuracy (%)", "Accuracy SD (%)", "Cross-Entropy SD",
           "Pairwise Disagree (%)", "Pairwise Corr.", "Ensemble Δ (%)")


def Table(rows: list[list[str]]) -> "plots.TextTable":
    """Rows of seed 001's tables as text cells; shows as HTML in a notebook, as text elsewhere."""
    return plots.TextTable(COLUMNS, rows, left=1)


def table(rows: dict, ce_sci: bool = False) -> Table:
    """The rows ``{name: variability dict or None}`` laid out like seed 001 Tables 1 and 3
    (None: not testable). ``ce_sci`` writes the cross-entropy SD in scientific notation."""
    out = []
    for name, r in rows.items():
        if r is None:
            out.append([name, "0", "not testable"] + [""] * 5)
            continue
        ce = (f"{r['ce_sd']:.1e} ± {r['ce_sd_err']:.0e}" if ce_sci else f"{r['ce_sd']:.4f} ± {r['ce_sd_err']:.4f}")
        out.append([name, str(r["R"]), f"{100 * r['acc_mean']:.2f}",
                    f"{100 * r['acc_sd']:.2f} ± {100 * r['acc_sd_err']:.2f}", ce,
                    f"{100 * r['disagree']:.1f}", f"{r['corr']:.3f}", f"{100 * r['ens_gain']:.2f}"])
    return Table(out)


# --------------------------------------------------------------------------------------------
# CKA per layer (Fig 1)


def cka_by_layer(run_list, x: torch.Tensor) -> dict:
    """Mean pairwise linear CKA of the runs' representations of ``x``, layer by layer
    (:func:`helpers.models.layer_features`): ``{layer: mean CKA}`` in the network's order."""
    feats = [{k: v.double().numpy() for k, v in models.layer_features(r.model(), x).items()} for r in run_list]
    return {layer: metrics.mean_pairwise(metrics.linear_cka, [f[layer] for f in feats]) for layer in feats[0]}


# --------------------------------------------------------------------------------------------
# the one-bit change, epoch by epoch (§4.1, Appendix C)


def perturbation_size(spec: train.Spec) -> float:
    """|w' - w| of the one weight ``spec.perturb`` moves (one float32 ulp of that weight)."""
    index, _ = train.parse_perturb(spec.perturb)
    a = models.first_layer_weight(train.init_model(spec.replace(perturb="")))[1].view(-1)[index]
    b = models.first_layer_weight(train.init_model(spec))[1].view(-1)[index]
    return abs(float(b.detach().double()) - float(a.detach().double()))


def condition_number(delta_f: float, delta_x: float) -> float:
    """Seed 001 §4.1's condition number of training, end to end: |Δf| / |Δx|, the change of the
    output metric over the change of the input (the perturbed weight). With the paper's figures,
    accuracy in % (90.12 - 90.0) and cross-entropy (0.3519 - 0.34335) over a change of 4.7e-10
    give its 2.6e8 and 1.8e7."""
    return abs(delta_f) / abs(delta_x)


def divergence(reference, run_list) -> dict:
    """How far each run drifts from ``reference`` at every epoch both kept.

    Returns arrays of shape (R, E) for ``acc_gap`` (|Δ accuracy|, fraction), ``ce_gap``
    (|Δ cross-entropy|), ``disagree`` (fraction of test predictions that differ) and ``weight_dist``
    (L2 distance of the trainable parameters), plus ``epochs`` (E,).
    """
    epochs = [e for e in reference.epochs if all(e in r.epochs for r in run_list)]
    labels = reference.labels
    out = {k: np.zeros((len(run_list), len(epochs))) for k in ("acc_gap", "ce_gap", "disagree", "weight_dist")}
    for j, e in enumerate(epochs):
        p0, w0 = reference.probs(e), reference.weights(e)
        for i, r in enumerate(run_list):
            p = r.probs(e)
            out["acc_gap"][i, j] = abs(metrics.accuracy(p, labels) - metrics.accuracy(p0, labels))
            out["ce_gap"][i, j] = abs(metrics.nll(p, labels) - metrics.nll(p0, labels))
            out["disagree"][i, j] = metrics.disagreement(p, p0)
            out["weight_dist"][i, j] = float(np.linalg.norm(r.weights(e) - w0))
    out["epochs"] = np.array(epochs)
    return out


# --------------------------------------------------------------------------------------------
# ensembles (§5, Table 5)


def vanilla_ensembles(pool_probs, size: int, count: int, seed: int = 0) -> list[np.ndarray]:
    """``count`` ensembles of ``size`` members drawn from a pool of independent runs' predictions:
    distinct random subsets (all of them when there are fewer), each the mean of its members'
    probabilities. Subsets of a finite pool share members, so their spread is an underestimate."""
    subsets = list(itertools.combinations(range(len(pool_probs)), size))
    rng = np.random.default_rng(seed)
    if len(subsets) > count:
        subsets = [subsets[i] for i in sorted(rng.choice(len(subsets), count, replace=False))]
    return [metrics.ensemble_probs([pool_probs[i] for i in sub]) for sub in subsets]


# --------------------------------------------------------------------------------------------
# the chapter's experiments, trained once and cached (every notebook cell starts with one)


def params(profile: str = "auto", dataset: str = "auto", **overrides):
    return config.chapter_params("05_instability", profile, dataset=dataset, **overrides)


def cudnn_testable(P) -> bool:
    """Nondeterministic kernels exist only on a GPU."""
    return train.pick_device(P.device).type == "cuda"


def all_epochs(P, epochs=None) -> tuple:
    return tuple(range(0, (epochs or P.epochs) + 1))


@functools.lru_cache(maxsize=4)
def main_runs(profile: str = "auto", dataset: str = "auto", **overrides):
    """Table 1 + Table 3: ``(P, {source: runs or None})``, plus 'reference' (the base run with
    every epoch kept) and 'control'. The bit-flip runs keep every epoch (for the divergence)."""
    P = params(profile, dataset, **overrides)
    base = base_spec(P)
    cud = cudnn_testable(P)
    groups = {s: source_specs(base, s, P.seeds, cud, P.seed_base) for s in P.sources}
    groups["bitflip"] = [s.replace(save_epochs=all_epochs(P)) for s in groups["bitflip"]]
    groups["reference"] = [base.replace(save_epochs=all_epochs(P))]
    groups["control"] = source_specs(base, "control", P.control_runs, cud, P.seed_base)
    flat = [s for g in groups.values() if g for s in g]
    got = dict(zip(flat, runs.get(flat, device=P.device)))
    return P, {k: (None if g is None else tuple(got[s] for s in g)) for k, g in groups.items()}


@functools.lru_cache(maxsize=4)
def depth_runs(profile: str = "auto", dataset: str = "auto", **overrides):
    """Table 8: ``(P, {model: {'init'|'bitflip'|'reference': runs}})`` for the linear and
    one-hidden-layer models, every epoch kept."""
    P = params(profile, dataset, **overrides)
    out, flat = {}, []
    for m in P.depth_models:
        base = base_spec(P, model=m, width=1, lr=P.depth_lr, epochs=P.depth_epochs,
                         save_epochs=all_epochs(P, P.depth_epochs))
        out[m] = {"init": source_specs(base, "init", P.seeds, False, P.seed_base),
                  "bitflip": source_specs(base, "bitflip", P.seeds, False, P.seed_base), "reference": [base]}
        flat += [s for g in out[m].values() for s in g]
    got = dict(zip(flat, runs.get(flat, device=P.device)))
    return P, {m: {k: tuple(got[s] for s in g) for k, g in d.items()} for m, d in out.items()}


@functools.lru_cache(maxsize=4)
def onset_runs(profile: str = "auto", dataset: str = "auto", **overrides):
    """Fig 2: ``(P, {N: runs})`` -- deterministic (sources held) for N epochs, then
    ``P.onset_source`` on; N = 0 is the source's own Table 1 row."""
    P = params(profile, dataset, **overrides)
    base = base_spec(P)
    cud = cudnn_testable(P)
    groups = {0: source_specs(base, P.onset_source, P.seeds, cud, P.seed_base)}
    for n in P.onset_epochs:
        groups[n] = [s.replace(onset=n) for s in groups[0]]
    flat = [s for g in groups.values() for s in g]
    got = dict(zip(flat, runs.get(flat, device=P.device)))
    return P, {n: tuple(got[s] for s in g) for n, g in groups.items()}


@functools.lru_cache(maxsize=4)
def snapshot_runs(profile: str = "auto", dataset: str = "auto", **overrides):
    """Table 5: ``(P, snapshot_runs, pool)`` -- R all-source runs with a cyclic schedule of
    ``P.snapshots`` cycles in the same number of epochs (a snapshot kept at the end of each cycle),
    and a pool of ``P.vanilla_pool`` independent all-source runs (the Table 1 'all' row and more)."""
    P = params(profile, dataset, **overrides)
    if P.epochs % P.snapshots:
        raise config.ConfigError(f"epochs ({P.epochs}) must be a multiple of snapshots ({P.snapshots})")
    cycle = P.epochs // P.snapshots
    base = base_spec(P)
    cud = cudnn_testable(P)
    snap = [s.replace(schedule="cyclic", milestones=(cycle,), warmup_epochs=0.0,
                      save_epochs=tuple(range(cycle, P.epochs + 1, cycle)))
            for s in source_specs(base, "all", P.seeds, cud, P.seed_base)]
    pool = source_specs(base, "all", max(P.vanilla_pool, P.seeds), cud,
                          P.seed_base)
    got = runs.get(snap + pool, device=P.device)
    return P, tuple(got[:len(snap)]), tuple(got[len(snap):])


def snapshot_probs(run) -> np.ndarray:
    """The snapshot ensemble of one cyclic run: the mean of its kept snapshots' probabilities."""
    return metrics.ensemble_probs([run.probs(e) for e in run.epochs if e > 0])


def cka_inputs(P, n: int) -> torch.Tensor:
    """``n`` of the test images the runs were evaluated on (a fixed random subset, not the first
    ``n``: the JPEG pack is grouped by class), on the CPU (for CKA)."""
    x = data.on_device(P.dataset, "cpu", P.n_train, P.n_test).test_x
    pick = np.sort(np.random.default_rng(0).choice(len(x), min(n, len(x)), replace=False))
    return x[torch.from_numpy(pick)]
