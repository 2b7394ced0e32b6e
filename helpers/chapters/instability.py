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

import itertools

import numpy as np
import torch

from .. import claims, config, data, gates, metrics, models, plots, prose, runs, stats, train

HELD = 1          # the value every held seed takes
SOURCE_NAMES = {
    "init": "Parameter initialization", "order": "Data shuffling", "aug": "Data augmentation",
    "dropout": "Dropout", "cudnn": "cuDNN", "all": "All nondeterminism sources",
    "bitflip": "Random bit change", "control": "Control (nothing varied)",
}
# "nearly as high" (seed 001 §3.2, Fig 2): a late onset keeps at least 3/4 of the disagreement
ONSET_BOUND = 0.75
SEED_OF = {"init": "seed_init", "order": "seed_order", "aug": "seed_aug", "dropout": "seed_dropout"}


def source_label(source: str) -> str:
    """'order+aug' -> 'Data shuffling + Data augmentation'."""
    return " + ".join(SOURCE_NAMES.get(s, s) for s in source.split("+"))


# --------------------------------------------------------------------------------------------
# specs


def base_spec(P, **changes) -> train.Spec:
    """The chapter's spec with every seed held at 1 (from a chapter's parameters ``P``): fp32 at
    every profile (the chapter's claims rest on bits), deterministic kernels (the Spec's default),
    and at gpu fixed vmap groups (``P.group``: bits independent of the neighbours)."""
    return train.spec_from(P).with_seed(HELD + config.seed_base(P)).replace(**changes)


def bitflips(spec: train.Spec, R: int, seed: int = 0) -> list[str]:
    """R ``perturb`` strings: distinct random weights of the first layer (a seeded draw), moved
    up and down to the next float32 value in turn (+1, -1, +1, ...). The draw is a prefix of one
    seeded permutation, so the first R of a longer list are these R."""
    _, w = models.first_layer_weight(train.init_model(spec.replace(perturb="")))
    idx = np.random.default_rng(seed).permutation(w.numel())[:R]
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


_ROWS: dict = {}   # run_row and snapshot_rows by the runs' cache keys: a table, its caption and
                   # the claims read the same rows (at gpu, R = 16 on 10,000 test images: seconds each)


def _memo(key, compute):
    if key is None or any(k is None for k in key):
        return compute()
    if key not in _ROWS:
        _ROWS[key] = compute()
    return dict(_ROWS[key])


def run_row(run_list) -> dict:
    """:func:`variability` of cached runs (Spearman on their logits, as in the paper);
    computed once per set of runs."""
    return _memo(("row",) + tuple(getattr(r, "key", None) for r in run_list),
                 lambda: variability([r.probs() for r in run_list], run_list[0].labels,
                                     [r.logits() for r in run_list]))


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


def cka_stack(run_list, x: torch.Tensor) -> tuple[list, np.ndarray]:
    """``(layers, (L, R, R) linear CKA of every pair of runs at every layer)``: the units of
    mean pairwise CKA per layer (:func:`stats.pair_mean`), for an interval that resamples runs."""
    feats = [{k: v.double().numpy() for k, v in models.layer_features(r.model(), x).items()}
             for r in run_list]
    layers = list(feats[0])
    return layers, np.stack([stats.pair_matrix(metrics.linear_cka, [f[l] for f in feats])
                             for l in layers])


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


CHAPTER = "05_instability"


def cudnn_testable(P) -> bool:
    """Nondeterministic kernels exist only on a GPU."""
    return train.pick_device(P.device).type == "cuda"


def all_epochs(P, epochs=None) -> tuple:
    return tuple(range(0, (epochs or P.epochs) + 1))


def divergence_epochs(P, epochs=None) -> tuple:
    """The epochs the bit-flip runs and their reference keep for :func:`divergence`: every epoch
    when ``P.div_epochs`` is None, else those of ``P.div_epochs`` up to the last (which is always
    kept). Each kept epoch stores the weights too, so the gpu preset lists a few."""
    last = epochs or P.epochs
    if P.div_epochs is None:
        return all_epochs(P, last)
    return tuple(sorted({e for e in P.div_epochs if 0 <= e <= last} | {last}))


@gates.gate(CHAPTER, maxsize=4)
def main_runs(P):
    """Table 1 + Table 3: ``(P, {source: runs or None})``, plus 'reference' (the base run with
    every epoch kept) and 'control'. The bit-flip runs keep every epoch (for the divergence).
    'init_sd' and 'bitflip_sd': those two rows extended to ``P.sd_seeds`` runs (their first R are
    the rows' own) for Table 3's accuracy-SD ratio."""
    base = base_spec(P)
    cud = cudnn_testable(P)
    groups = {s: source_specs(base, s, P.seeds, cud, config.seed_base(P)) for s in P.sources}
    groups["bitflip"] = [s.replace(save_epochs=divergence_epochs(P)) for s in groups["bitflip"]]
    for s in ("init", "bitflip"):
        if groups.get(s):
            more = source_specs(base, s, sd_count(P), cud, config.seed_base(P))
            groups[f"{s}_sd"] = groups[s] + more[P.seeds:]
    groups["reference"] = [base.replace(save_epochs=divergence_epochs(P))]
    groups["control"] = source_specs(base, "control", P.control_runs, cud, config.seed_base(P))
    flat = [s for g in groups.values() if g for s in g]
    got = dict(zip(flat, runs.get(flat, device=P.device)))
    return P, {k: (None if g is None else tuple(got[s] for s in g)) for k, g in groups.items()}


@gates.gate(CHAPTER, maxsize=4)
def depth_runs(P):
    """Table 8: ``(P, {model: {'init'|'bitflip'|'reference': runs}})`` for the linear and
    one-hidden-layer models, ``P.depth_seeds`` runs a row; the bit-flip runs and the reference keep
    :func:`divergence_epochs`, the 'init' runs only their last epoch (all that Table 8 reads; what
    a run keeps does not change how it trains, bit for bit)."""
    out, flat = {}, []
    for m in P.depth_models:
        base = base_spec(P, model=m, width=1, lr=P.depth_lr, epochs=P.depth_epochs,
                         save_epochs=divergence_epochs(P, P.depth_epochs))
        sb = config.seed_base(P)
        init = [base if s.replace(save_epochs=base.save_epochs) == base else s  # run 1 is the reference
                for s in source_specs(base.replace(save_epochs=()), "init", P.depth_seeds, False, sb)]
        out[m] = {"init": init, "reference": [base],
                  "bitflip": source_specs(base, "bitflip", P.depth_seeds, False, sb)}
        flat += [s for g in out[m].values() for s in g]
    got = dict(zip(flat, runs.get(flat, device=P.device)))
    return P, {m: {k: tuple(got[s] for s in g) for k, g in d.items()} for m, d in out.items()}


@gates.gate(CHAPTER, maxsize=4)
def onset_runs(P):
    """Fig 2: ``(P, {N: runs})`` -- deterministic (sources held) for N epochs, then
    ``P.onset_source`` on; N = 0 is the source's own Table 1 row."""
    base = base_spec(P)
    cud = cudnn_testable(P)
    groups = {0: source_specs(base, P.onset_source, P.seeds, cud, config.seed_base(P))}
    for n in P.onset_epochs:
        groups[n] = [s.replace(onset=n) for s in groups[0]]
    flat = [s for g in groups.values() for s in g]
    got = dict(zip(flat, runs.get(flat, device=P.device)))
    return P, {n: tuple(got[s] for s in g) for n, g in groups.items()}


@gates.gate(CHAPTER, maxsize=4)
def snapshot_runs(P):
    """Table 5: ``(P, snapshot_runs, pool)`` -- R all-source runs with a cyclic schedule of
    ``P.snapshots`` cycles in the same number of epochs (a snapshot kept at the end of each cycle),
    and a pool of ``P.vanilla_pool`` independent all-source runs (the Table 1 'all' row and more)."""
    if P.epochs % P.snapshots:
        raise config.ConfigError(f"epochs ({P.epochs}) must be a multiple of snapshots ({P.snapshots})")
    cycle = P.epochs // P.snapshots
    base = base_spec(P)
    cud = cudnn_testable(P)
    snap = [s.replace(schedule="cyclic", milestones=(cycle,), warmup_epochs=0.0,
                      save_epochs=tuple(range(cycle, P.epochs + 1, cycle)))
            for s in source_specs(base, "all", P.seeds, cud, config.seed_base(P))]
    pool = source_specs(base, "all", max(P.vanilla_pool, P.seeds), cud,
                          config.seed_base(P))
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


# --------------------------------------------------------------------------------------------
# uncertainty: the units each figure rests on, and the claims table


def same_training(a, b) -> bool:
    """Whether two runs trained identically (their specs differ at most in the kept epochs): the
    'init' row's first run and the reference are one training, saved at different epochs."""
    return a.spec.replace(save_epochs=()) == b.spec.replace(save_epochs=())


def new_init_runs(G) -> list:
    """The 'init' runs that really are a new initialization (not the reference's own training)."""
    ref = G["reference"][0]
    return [r for r in G["init"] if not same_training(r, ref)]


def new_init_disagreement(G) -> stats.Estimate:
    """Final disagreement of each new initialization with the reference (Fig 3's dashed line),
    with a t interval over those runs."""
    ref = G["reference"][0]
    return stats.mean_t([metrics.disagreement(r.probs(), ref.probs()) for r in new_init_runs(G)])


def per_run(run_list) -> dict:
    """Per-run test accuracy and cross-entropy, and (R, R) matrices of the pairwise disagreement
    and ensemble gain: the units that the row's figures rest on; computed once per set of runs."""
    return _memo(("per_run",) + tuple(getattr(r, "key", None) for r in run_list),
                 lambda: per_run_probs([r.probs() for r in run_list], run_list[0].labels))


def sd_count(P) -> int:
    """Runs in each of Table 3's two accuracy-SD rows at parameters ``P``: ``P.sd_seeds``, and
    never fewer than Table 1's R."""
    return max(P.sd_seeds, P.seeds)


def sd_groups(G) -> dict:
    """``{'bitflip'|'init': runs}`` of Table 3's accuracy-SD ratio: the rows extended by
    :func:`main_runs` ('bitflip_sd', 'init_sd')."""
    return {s: G.get(f"{s}_sd") or G[s] for s in ("bitflip", "init")}


def _sd(x):
    return np.std(x, ddof=1)


def _ratio(a, b):
    return float(a) / float(b) if b else float("nan")


def sd_runs(G) -> int:
    """Runs in each of Table 3's two accuracy-SD rows (new initialization, one-bit change)."""
    return min(map(len, sd_groups(G).values()))


def sd_design(P, G) -> str:
    """What the run counts of Table 3's accuracy-SD ratio can decide: the smallest ratio an F
    test detects and how often an equal pair of SDs is shown to be within a factor of 2."""
    n, R = sd_runs(G), P.seeds
    text = (f"{n} runs in each of the two rows" + (f" (the first {R} are Table 1's)" if n > R
                                                    else "")
            + f": an F test detects a {stats.detectable_sd_ratio(n, n):.1f}x ratio (80% power), "
            f"and when the two SDs are equal, the interval falls inside 0.5-2 "
            f"{stats.sd_equivalence_power(n, n):.0%} of the time")
    if n > R:
        text += f" ({stats.sd_equivalence_power(R, R):.0%} with Table 1's {R} runs)"
    return text


def detectable_sentences(P, G) -> list[str]:
    """What the main comparisons can detect with the chapter's run counts (80% power, 5%)."""
    R = P.seeds
    init, bit = per_run(G["init"]), per_run(G["bitflip"])
    d_init = stats.pairwise(init["disagree"], n_resamples=1000)
    d_bit = stats.pairwise(bit["disagree"], n_resamples=1000)
    mdd = stats.detectable(d_init, d_bit)
    return [
        f"With R = {R} runs a row, an F test detects a ratio of two rows' accuracy SDs only "
        f"when it exceeds {stats.detectable_sd_ratio(R, R):.1f}x (80% power, 5% level): the "
        f"factor-of-2 questions of Table 1 cannot be decided with these runs.",
        f"Table 3's accuracy SD of the one-bit change against a new initialization: "
        f"{sd_design(P, G)}.",
        f"Between two rows' pairwise disagreements (bootstrap over runs, as in the table) a "
        f"difference of {100 * mdd:.1f} pp would be detected (80% power), "
        f"{_ratio(mdd, d_init.value):.0%} of the new-initialization row's "
        f"{100 * d_init.value:.1f}%.",
    ]


@gates.gate(CHAPTER, maxsize=0)  # not memoized: a fresh table each call
def claims_table(P):
    """The chapter's claims table: every row with its 95% interval over the runs it rests on."""
    P, G = main_runs(P)
    _, D = depth_runs(P)
    _, O = onset_runs(P)
    _, S, pool = snapshot_runs(P)
    ref = G["reference"][0]
    labels = ref.labels
    rows = {s: per_run(G[s]) for s in P.sources if G[s] is not None}
    acc = [rows[s]["acc"] for s in rows]
    dis = [rows[s]["disagree"] for s in rows]
    scale = (f"{P.model}, {P.n_train or 50000} training images, {P.epochs} epochs, R = {P.seeds} "
             f"(paper: ResNet-14, 50,000 images, 500 epochs, R = 100)")
    gpu = cudnn_testable(P)
    T = claims.ClaimsTable("05_instability", P.profile, ref.variant, config.seed_base(P))

    ctrl = list(G["control"]) + [ref]
    max_dw = max(float(np.abs(r.weights() - ctrl[0].weights()).max()) for r in ctrl[1:])
    T.check("seed 001 §3.1", "Control: with nothing varied and deterministic kernels, runs are "
            "bitwise identical (largest weight difference)", "0 (by construction of the protocol)",
            max_dw, claims.within(0, 0), fmt="{:.1e}",
            note=f"{len(ctrl)} runs from separate cache entries, trained {runs.provenance(ctrl)}; "
            "a check of the trainer's determinism, not evidence about the sources")
    T.add("seed 001 Table 1", "Each source has about the same effect on accuracy SD: no row a "
          "factor of 2 above another (max/min over rows incl. bit change)", "0.21-0.26 % → 1.24x",
          stats.sd_spread(acc),
          claims.below(2), fmt="{:.2f}x",
          note=f"{scale}; the observed max/min of {len(acc)} noisy SDs is biased upward, the "
          "interval is not; an F test of two rows of "
          f"{P.seeds} runs detects only a {stats.detectable_sd_ratio(P.seeds, P.seeds):.1f}x "
          "ratio (80% power)" + (
              f"; one row's simultaneous interval alone spans {span:.1f}x, so with "
              f"{P.seeds} runs a row the claim cannot hold here: it can only be inconclusive "
              "or differ"
              if (span := stats.sd_interval_span(P.seeds, len(acc))) >= 2 else ""))
    T.add("seed 001 Table 1", "Each source gives the same pairwise disagreement (max/min over "
          "rows incl. bit change)", "10.5-10.7 % → 1.02x",
          stats.max_over_min([stats.pairwise(m, confidence=1 - 0.05 / len(dis)) for m in dis],
                             unit="rows"), claims.below(1.25), fmt="{:.2f}x",
          note=f"ours {100 * min(map(stats.pair_mean, dis)):.1f}-"
          f"{100 * max(map(stats.pair_mean, dis)):.1f} %; {scale}")
    if gpu and G.get("cudnn"):
        c = per_run(G["cudnn"])
        T.add("seed 001 Table 1", "cuDNN nondeterminism alone matters as much as a new "
              "initialization (disagreement ratio)", "10.5 / 10.7 = 0.98",
              stats.pairwise([c["disagree"], rows["init"]["disagree"]], _ratio),
              claims.between(0.75, 1.33), fmt="{:.2f}")
    else:
        T.add("seed 001 Table 1", "cuDNN nondeterminism alone matters as much as a new "
              "initialization", "10.5 / 10.7 = 0.98", None, claims.between(0.75, 1.33),
              testable=False, note="CPU kernels are deterministic: this source cannot vary here")
    bit, init = rows["bitflip"], rows["init"]
    bit_sd, init_sd = (np.array([metrics.accuracy(r.probs(), r.labels) for r in runs_])
                       for runs_ in sd_groups(G).values())
    T.add("seed 001 Table 3", "A one-bit change gives as much accuracy SD as a new "
          "initialization (ratio)", "0.21 / 0.22 = 0.95", stats.sd_ratio_ci(bit_sd, init_sd),
          claims.between(0.5, 2), fmt="{:.2f}",
          note="; ".join(filter(None, [
              f"accuracy SD over these runs {100 * _sd(bit_sd):.2f} pp (bit change) and "
              f"{100 * _sd(init_sd):.2f} pp (new initialization)", sd_design(P, G),
              stats.normality_note(
              {"bit change": bit_sd, "new initialization": init_sd}, "accuracies")])))
    T.add("seed 001 Table 3", "A one-bit change gives as much pairwise disagreement as a new "
          "initialization (ratio)", "10.6 / 10.7 = 0.99",
          stats.pairwise([bit["disagree"], init["disagree"]], _ratio),
          claims.between(0.75, 1.33), fmt="{:.2f}")
    T.add("seed 001 Table 3", "... and the same ensemble gain of a pair (ratio to a new "
          "initialization)", "1.82 / 1.82 = 1.00",
          stats.pairwise([bit["ens_gain"], init["ens_gain"]], _ratio),
          claims.between(0.5, 2), fmt="{:.2f}")
    least = least_diverse(G, P.sources)
    if least:
        T.rows[-1].note = f"the bit change is the least diverse row on {least}"

    stacks = cka_stacks(P)
    sp = cka_spread(stacks)
    layers, spread, worst = sp["layers"], sp["spread"], sp["worst"]
    T.add("seed 001 Fig 1", "By and large, CKA differs far less between sources than between "
          "layers (range across sources, averaged over layers / range across layers of the mean)",
          "small vs large (Fig 1)",
          stats.pairwise([st for _, st in stacks.values()], sources_over_layers,
                         n_resamples=1000),
          claims.below(0.5), fmt="{:.2f}",
          note=f"layers: {', '.join(layers)}; widest spread across sources at {worst} "
          f"({spread[worst]:.2f}); {P.cka_runs} runs ({P.cka_runs * (P.cka_runs - 1) // 2} pairs) "
          f"per source, {P.cka_examples} test images")

    flips = G["bitflip"]
    div = divergence(ref, flips)
    j3 = min(3, len(div["epochs"]) - 1)
    j1 = min(1, j3)
    T.add("seed 001 §4.1", f"A one-bit change grows into an accuracy gap in the first epochs "
          f"(|accuracy gap| to the unperturbed run after epoch {div['epochs'][j3]} minus after "
          f"epoch {div['epochs'][j1]})", "0.18 → 10.42 pp after epochs 1 → 3: +10.2 pp",
          stats.bootstrap_runs(100 * (div["acc_gap"][:, j3] - div["acc_gap"][:, j1])),
          claims.above(0), fmt="{:+.2f} pp",
          note="mean gaps after epochs 1-3: " + ", ".join(
              f"{100 * div['acc_gap'][:, j].mean():.2f}" for j in range(1, j3 + 1)) + " pp")
    dx = np.array([perturbation_size(r.spec) for r in flips])
    k_acc = np.array([condition_number(100 * (r.accuracy - ref.accuracy), d)
                      for r, d in zip(flips, dx)])
    one = 100 / len(labels) / np.median(dx)
    need = max(1, int(np.ceil(1e7 / one)))   # predictions that must change to pass the bound
    T.check("seed 001 §4.1", "Condition number of training for accuracy is huge, of the "
            "paper's order (|Δ accuracy in pp| / |Δ weight|, median over runs)", "≥ 2.6e8",
            stats.bootstrap_runs(k_acc, np.median, method="percentile"),
            claims.above(1e7), fmt="{:.1e}",
            note=f"true by construction once {prose.plural(need, 'test prediction')} "
            f"{'changes' if need == 1 else 'change'}: each one of {len(labels)} over the median "
            f"|Δw| = {np.median(dx):.1e} adds {one:.1e}")

    dep = {m: {k: per_run(g[k]) for k in ("init", "bitflip")} for m, g in D.items()}
    lin = dep["linear"]["bitflip"]
    T.add("seed 001 Table 8", "A linear model is stable: a one-bit change leaves the accuracy "
          "SD at 0", "0.00 ± 0.00 %", stats.sd_ci(100 * lin["acc"]), claims.within(0, 0),
          fmt="{:.2f} pp")
    T.add("seed 001 Table 8", "... and its cross-entropy SD vanishingly small", "2e-8",
          stats.sd_ci(lin["ce"]), claims.below(1e-5), fmt="{:.1e}",
          note=rounding_note(lin["ce"]))

    drift = {m: relative_drift(g) for m, g in D.items()}
    T.add("seed 001 §4.2", "... and it stays on the unperturbed trajectory (largest relative "
          "weight distance ‖w − w_ref‖ / ‖w_ref‖ over runs and epochs)",
          "never more than vanishingly small",
          stats.point(drift["linear"], f"largest of {len(D['linear']['bitflip'])} runs: no interval"),
          claims.below(1e-4), fmt="{:.1e}",
          note="one hidden layer: " + ", ".join(f"{m} {v:.1e}" for m, v in drift.items()
                                                if m != "linear"))
    for m, paper in (("fc1", "0.0055 / 2e-8 = 2.8e5x: 'a factor of 10,000'"),
                     ("conv1", "0.0024 / 2e-8 = 1.2e5x: 'a factor of 10,000'")):
        if m not in dep:
            continue
        b = dep[m]["bitflip"]
        kind = "fully-connected" if m == "fc1" else "convolutional"
        T.add("seed 001 Table 8 / §4.2", f"One hidden layer ({kind}) is unstable: bit-change "
              "cross-entropy SD / the linear model's", paper,
              stats.sd_ratio_ci(b["ce"], lin["ce"]), claims.above(1e4), fmt="{:.1e}x",
              note=f"cross-entropy SD {_sd(b['ce']):.1e} over the linear model's "
              f"{_sd(lin['ce']):.1e}, a tiny genuine spread near float32's rounding level (its "
              f"row), so the ratio is only as steady as that denominator; the row tests the "
              f"paper's factor of 10,000, not instability itself, which the model's own spread "
              f"shows: accuracy SD {100 * _sd(b['acc']):.2f} pp, disagreement "
              f"{100 * stats.pair_mean(b['disagree']):.1f} % (the linear model's: 0)")
        paper_dis = {"fc1": "23.4 / 24.2 = 0.97", "conv1": "6.4 / 12.5 = 0.51"}[m]
        T.add("seed 001 Table 8", f"One hidden layer ({kind}): a one-bit change gives a "
              "substantial share of a new initialization's disagreement (ratio)", paper_dis,
              disagreement_share(dep[m]), claims.between(0.3, 1.2), fmt="{:.2f}",
              note=f"ours {100 * stats.pair_mean(b['disagree']):.1f} % vs "
              f"{100 * stats.pair_mean(dep[m]['init']['disagree']):.1f} %")

    on = {n: per_run(rs) for n, rs in O.items()}
    n_late = min([n for n in on if n >= 0.1 * P.epochs] or [max(on)])  # the paper's 10%
    dis_on = {n: stats.pair_mean(v["disagree"]) for n, v in on.items()}
    T.add("seed 001 Fig 2", f"Turning the source on late barely reduces its effect "
          f"(disagreement at onset N = {n_late} / at N = 0)", "nearly as high after 10% of training",
          stats.pairwise([on[n_late]["disagree"], on[0]["disagree"]], _ratio),
          claims.above(ONSET_BOUND), fmt="{:.2f}",
          note=f"N = {n_late} of {P.epochs} epochs; source {source_label(P.onset_source)}; "
          f"ratio at "
          + ", ".join(f"N = {n}: {_ratio(dis_on[n], dis_on[0]):.2f}" for n in sorted(on) if n)
          + "; the paper's Fig 2 plots the accuracy and cross-entropy SD, but with "
          f"{P.seeds} runs a point an F test detects only a "
          f"{stats.detectable_sd_ratio(P.seeds, P.seeds):.1f}x ratio of SDs (80% power), so "
          "this row tests the disagreement")
    snap = per_run_probs([snapshot_probs(r) for r in S], labels)
    single = per_run(pool[:P.seeds])
    T.add("seed 001 Table 5", "Snapshot ensembles vary less than single runs (pairwise "
          "disagreement, snapshot / single)", "6.1 / 10.7 = 0.57",
          stats.pairwise([snap["disagree"], single["disagree"]], _ratio), claims.below(1),
          fmt="{:.2f}", note=f"{P.snapshots} cycles in {P.epochs} epochs")
    T.add("seed 001 Table 5", "Snapshot ensembles vary less in accuracy than single runs "
          "(accuracy SD, snapshot / single)", "0.19 / 0.26 = 0.73",
          stats.sd_ratio_ci(snap["acc"], single["acc"]), claims.below(1), fmt="{:.2f}",
          note="the source also finds the snapshot's SD equal to a vanilla ensemble of 2 "
          "(0.19 vs 0.19); our vanilla ensembles share members of one pool, so their SD is "
          "not an independent estimate")
    return T


def disagreement_share(rows: dict) -> stats.Estimate:
    """Table 8's share: the bit change's mean pairwise disagreement over a new initialization's
    (``rows``: ``{'init'|'bitflip': per_run(...)}`` of one model), with the bootstrap interval
    that resamples runs."""
    return stats.pairwise([rows["bitflip"]["disagree"], rows["init"]["disagree"]], _ratio)


def rounding_note(ce) -> str:
    """The linear model's cross-entropy SD against float32's rounding at its loss: the unit
    roundoff (2^-24) times the mean cross-entropy, a scale for an SD this small."""
    floor = float(np.mean(ce)) * 2.0 ** -24
    return (f"for scale: float32's unit roundoff (2^-24) times the mean cross-entropy "
            f"({np.mean(ce):.2f}) is {floor:.1e}, so this SD is {_sd(ce) / floor:.1f} times "
            "rounding level: a genuine run-to-run spread (the runs' weights differ, row below), "
            "as small as rounding; the ratios below divide by it")


def per_run_probs(probs_list, labels) -> dict:
    """:func:`per_run` from predictions (e.g. snapshot ensembles) instead of runs."""
    return dict(
        acc=np.array([metrics.accuracy(p, labels) for p in probs_list]),
        ce=np.array([metrics.nll(p, labels) for p in probs_list]),
        disagree=stats.pair_matrix(metrics.disagreement, probs_list),
        ens_gain=stats.pair_matrix(lambda a, b: metrics.ensemble_gain(a, b, labels), probs_list))


# --------------------------------------------------------------------------------------------
# what the notebook shows: its tables, the numbers under its figures, the units of its error bars


def labels_of(P, G) -> dict:
    """``{source: row label}`` of Table 1's rows that were run (the testable sources), in
    ``P.sources`` order; 'all' says '(+ cuDNN)' where kernels vary too."""
    gpu = cudnn_testable(P)
    return {s: source_label(s) + (" (+ cuDNN)" if s == "all" and gpu else "")
            for s in P.sources if G.get(s) is not None}


def setup_report(P, G) -> str:
    """The chapter's opening lines: data, machine, profile, recipe, run counts, cuDNN."""
    ref = G["reference"][0]
    n_runs = len({r.key for g in G.values() if g for r in g})
    secs = np.mean([r.meta["seconds"] for g in G.values() if g for r in g])
    cudnn = ("varied (GPU)" if cudnn_testable(P) else "cannot vary on a CPU (its kernels are "
             "deterministic): the cuDNN row is not testable here")
    return "\n".join([
        data.report(P.dataset, P.device),
        f"profile: {P.profile}; model: {P.model} (width {P.width}); training images: "
        f"{P.n_train or 'all'}; test images: {len(ref.labels)}; epochs: {P.epochs}; batch "
        f"{P.batch_size}; {P.optimizer} lr {P.lr} ({P.schedule}, warmup {P.warmup_epochs}), "
        f"weight decay {P.weight_decay}, augmentation {'on' if P.augment else 'off'}",
        f"R = {P.seeds} runs per row ({sd_runs(G)} in the new-initialization and bit-change "
        f"rows for Table 3's accuracy-SD ratio); {n_runs} distinct runs; {secs:.0f} s of "
        "training per run "
        f"on {ref.meta['device_name']}",
        f"cuDNN nondeterminism: {cudnn}"])


def control_report(G) -> str:
    """The control runs and the reference compared bit for bit."""
    ctrl = list(G["control"]) + [G["reference"][0]]
    w = [r.weights() for r in ctrl]
    max_dw = max(float(np.abs(a - w[0]).max()) for a in w[1:])
    same = all(np.array_equal(r.logits(), ctrl[0].logits()) for r in ctrl[1:])
    acc = np.array([r.accuracy for r in ctrl])
    return (f"{len(ctrl) - 1} control runs and the reference, nothing varied, trained "
            f"{runs.provenance(ctrl)}: largest |weight difference| = {max_dw:.1e}; "
            f"identical test logits: {same}; accuracy SD = {100 * acc.std(ddof=1):.4f} pp")


def main_table(P, G) -> Table:
    """Tables 1 and 3: every source in ``P.sources`` (None: not testable) and the control."""
    names = labels_of(P, G)
    rows = {names.get(s, source_label(s)): None if G[s] is None else run_row(G[s])
            for s in list(P.sources) + ["control"]}
    return table(rows)


FUNCTION_METRICS = {"disagree": "disagreement", "corr": "correlation", "ens_gain": "ensemble gain"}


def least_diverse_metrics(rows: dict) -> list[str]:
    """The keys of :data:`FUNCTION_METRICS` on which the bit change is the least diverse of
    ``rows`` (``{source: run_row}``): lowest disagreement and ensemble gain, highest
    correlation."""
    if "bitflip" not in rows:
        return []
    pick = {"disagree": min, "corr": max, "ens_gain": min}
    return [k for k, f in pick.items() if rows["bitflip"][k] == f(r[k] for r in rows.values())]


def least_diverse(G, sources) -> str:
    """The function metrics on which the bit change is the least diverse of the rows (lowest
    disagreement and ensemble gain, highest correlation), as words ('' when none)."""
    return prose.join([FUNCTION_METRICS[k] for k in least_diverse_metrics(_rows(sources, G))])


def source_intervals(P, G) -> dict:
    """Figure 1's units: per testable source (its label as key) the per-run accuracies
    (``acc``, %), and the accuracy SD (pp), cross-entropy SD and pairwise disagreement (%) as
    :class:`stats.Estimate` with *simultaneous* 95% intervals over the k rows (Bonferroni, each
    at 1 - 0.05/k: chi-square for the SDs, a bootstrap over runs for the disagreement), the
    intervals the claims table's max/min rows rest on."""
    names = labels_of(P, G)
    k = len(names)
    level = 1 - (1 - stats.CONFIDENCE) / k
    out = {}
    for s, name in names.items():
        u = per_run(G[s])
        out[name] = dict(
            acc=100 * u["acc"], bitflip=s == "bitflip",
            acc_sd=stats.sd_ci(100 * u["acc"], confidence=level),
            ce_sd=stats.sd_ci(u["ce"], confidence=level),
            disagree=stats.pairwise(u["disagree"], confidence=level,
                                    n_resamples=1000).scale(100))
    return out


FIGURE1_COLUMNS = {"acc_sd": "accuracy SD", "ce_sd": "cross-entropy SD",
                   "disagree": "disagreement"}


def overlaps(intervals: dict) -> dict:
    """Per column of Figure 1 (:data:`FIGURE1_COLUMNS`): ``(shared, top, low)``: whether every
    row's simultaneous interval shares a common value, the row whose interval starts highest
    and the row whose interval ends lowest."""
    out = {}
    for key in FIGURE1_COLUMNS:
        est = {n: v[key] for n, v in intervals.items()}
        top = max(est, key=lambda n: est[n].lo)
        low = min(est, key=lambda n: est[n].hi)
        out[key] = (est[top].lo <= est[low].hi, top, low)
    return out


def overlap_sentence(intervals: dict) -> str:
    """Per column of Figure 1: whether every row's simultaneous interval shares a common value
    (then the data allow equal effects) or which row's interval lies wholly above which."""
    parts = []
    for key, (shared, top, low) in overlaps(intervals).items():
        word = FIGURE1_COLUMNS[key]
        if shared:
            parts.append(f"{word}: all {len(intervals)} intervals share a common value")
        else:
            parts.append(f"{word}: {top}'s interval lies wholly above {low}'s")
    return ("Simultaneous 95% intervals (Bonferroni over the rows): " + "; ".join(parts) + ".")


@gates.gate(CHAPTER, maxsize=4)
def cka_stacks(P) -> dict:
    """``{source: (layers, (L, R', R') pairwise linear CKA)}`` of the first ``P.cka_runs`` runs
    of every testable source on ``P.cka_examples`` test images: computed once for Figure 2 and
    the claims table."""
    _, G = main_runs(P)
    x = cka_inputs(P, P.cka_examples)
    return {s: cka_stack(G[s][:P.cka_runs], x) for s in P.sources if G.get(s) is not None}


def sources_over_layers(*means) -> float:
    """CKA's range across sources (averaged over the layers) over its range across layers (of
    the sources' mean); ``means``: one (L,) array of pair means per source."""
    m = np.stack(means)  # (sources, L)
    return _ratio(np.ptp(m, axis=0).mean(), np.ptp(m.mean(0)))


def cka_spread(stacks: dict) -> dict:
    """From :func:`cka_stacks`: ``layers``; ``spread`` per layer (the range of the sources'
    mean pairwise CKA); ``worst``, the layer where it is widest; ``across_sources`` (its mean
    over the layers), ``across_layers`` (the range of the sources' mean over the layers) and
    their ``ratio``, the claims table's CKA row."""
    layers = next(iter(stacks.values()))[0]
    means = [stats.pair_mean(st) for _, st in stacks.values()]
    m = np.stack(means)
    spread = dict(zip(layers, np.ptp(m, axis=0)))
    return dict(layers=layers, spread=spread, worst=max(spread, key=spread.get),
                across_sources=float(np.ptp(m, axis=0).mean()),
                across_layers=float(np.ptp(m.mean(0))), ratio=sources_over_layers(*means))


def cka_intervals(P) -> dict:
    """Figure 2's points: ``{row label: {layer: Estimate}}``, the mean pairwise CKA with a 95%
    bootstrap over the runs (too narrow with a handful of runs: a lower bound on the
    uncertainty)."""
    _, G = main_runs(P)
    names = labels_of(P, G)
    return {names[s]: {layer: stats.pairwise(m, n_resamples=1000)
                       for layer, m in zip(layers, stack)}
            for s, (layers, stack) in cka_stacks(P).items()}


def cka_lines(cka: dict) -> str:
    """One line per row: its mean pairwise CKA at every layer."""
    return "\n".join(f"{name:45s} " + "  ".join(f"{layer} {e.value:.3f}"
                                                for layer, e in c.items())
                     for name, c in cka.items())


def divergence_lines(div: dict, new_init=None) -> str:
    """Figure 3's numbers, epoch by epoch: mean (and largest) accuracy gap, disagreement and
    weight distance of the bit-flip runs to the reference; then, given ``new_init``
    (:func:`new_init_disagreement`), a new initialization's final disagreement with it."""
    out = []
    for j, e in enumerate(div["epochs"]):
        gap = 100 * div["acc_gap"][:, j]
        out.append(f"epoch {e}: accuracy gap {gap.mean():.2f} pp (max {gap.max():.2f}), "
                   f"disagreement {100 * div['disagree'][:, j].mean():.2f}%, weight distance "
                   f"{div['weight_dist'][:, j].mean():.2e}")
    if new_init is not None:
        out.append(f"a new initialization, final ({new_init.n} runs): disagreement "
                   f"{new_init.scale(100).text('{:.2f}', '%')}")
    return "\n".join(out)


def condition_report(G) -> str:
    """§4.1 end to end: each bit-flip run's |Δw| and final changes, and the condition numbers."""
    ref, flips = G["reference"][0], G["bitflip"]
    dx = np.array([perturbation_size(r.spec) for r in flips])
    dacc = np.array([100 * (r.accuracy - ref.accuracy) for r in flips])
    ce0 = metrics.nll(ref.probs(), ref.labels)
    dce = np.array([metrics.nll(r.probs(), r.labels) - ce0 for r in flips])
    k_acc = np.array([condition_number(a, d) for a, d in zip(dacc, dx)])
    k_ce = np.array([condition_number(c, d) for c, d in zip(dce, dx)])
    out = [f"{r.spec.perturb:22s} |Δw| = {d:.2e}; final Δaccuracy {a:+.2f} pp, "
           f"Δcross-entropy {c:+.4f}" for r, d, a, c in zip(flips, dx, dacc, dce)]
    out.append(f"condition number, accuracy (pp per unit weight): median "
               f"{np.median(k_acc):.1e}, max {k_acc.max():.1e}")
    out.append(f"condition number, cross-entropy: median {np.median(k_ce):.1e}, "
               f"max {k_ce.max():.1e}")
    return "\n".join(out)


def depth_table(D) -> Table:
    """Table 8: a new initialization and a bit change per model, cross-entropy SD in
    scientific notation (the linear model's is tiny)."""
    rows = {}
    for m, g in D.items():
        for s in ("init", "bitflip"):
            rows[f"{m}: {source_label(s)}"] = run_row(g[s])
    return table(rows, ce_sci=True)


def relative_drift(g, d: dict | None = None) -> float:
    """The largest ||w - w_ref|| / ||w_ref|| of a depth model's bit-flip runs over their runs
    and epochs (``g``: one model's groups of :func:`depth_runs`; ``d``: their
    :func:`divergence`, if already computed)."""
    d = divergence(g["reference"][0], g["bitflip"]) if d is None else d
    norms = np.array([np.linalg.norm(g["reference"][0].weights(e)) for e in d["epochs"]])
    return float((d["weight_dist"] / norms).max())


def depth_divergence(D) -> dict:
    """``{model: divergence of its bit-flip runs from its unperturbed run}`` (Figure 4)."""
    return {m: divergence(g["reference"][0], g["bitflip"]) for m, g in D.items()}


def depth_lines(dv: dict) -> str:
    """Figure 4's numbers: weight distance at the start, largest and at the end; final
    |Δ cross-entropy|, per model (means over the bit-flip runs)."""
    return "\n".join(
        f"{m:7s} weight distance to the unperturbed run: start "
        f"{d['weight_dist'].mean(0)[0]:.1e}, max (farthest run) {d['weight_dist'].max():.1e}, "
        f"end "
        f"{d['weight_dist'].mean(0)[-1]:.1e}; final |Δcross-entropy| "
        f"{d['ce_gap'][:, -1].mean():.1e}" for m, d in dv.items())


def onset_intervals(O) -> dict:
    """Figure 5's points: ``{N: {"acc_sd" (pp), "ce_sd", "disagree" (%): Estimate}}`` with 95%
    intervals (chi-square for the SDs, a bootstrap over runs for the disagreement)."""
    out = {}
    for n, rs in sorted(O.items()):
        u = per_run(rs)
        out[n] = dict(acc_sd=stats.sd_ci(100 * u["acc"]), ce_sd=stats.sd_ci(u["ce"]),
                      disagree=stats.pairwise(u["disagree"], n_resamples=1000).scale(100))
    return out


def onset_lines(P, O) -> str:
    """Figure 5's numbers: the source turned on, and per onset N the accuracy SD (± the
    bootstrap error of the SD, the paper's '±'), cross-entropy SD and disagreement."""
    out = [f"source turned on: {source_label(P.onset_source)}; {P.epochs} epochs in all"]
    for n, rs in sorted(O.items()):
        r = run_row(rs)
        out.append(f"N = {n}: accuracy SD {100 * r['acc_sd']:.2f} ± {100 * r['acc_sd_err']:.2f}"
                   f" pp, cross-entropy SD {r['ce_sd']:.4f}, disagreement "
                   f"{100 * r['disagree']:.1f}%")
    return "\n".join(out)


def snapshot_rows(P, S, pool) -> dict:
    """Table 5's rows: the R snapshot ensembles, and vanilla ensembles of 1..5 pool runs
    (computed once per set of runs)."""
    return _memo(("snapshots", P.seeds) + tuple(getattr(r, "key", None) for r in list(S) + list(pool)),
                 lambda: _snapshot_rows(P, S, pool))


def _snapshot_rows(P, S, pool) -> dict:
    labels = S[0].labels
    snap = [snapshot_probs(r) for r in S]
    rows = {f"Snapshot ({len(S[0].epochs)} snapshots, one run each)": variability(snap, labels)}
    pool_probs = [r.probs() for r in pool]
    for size in range(1, min(5, len(pool) - 1) + 1):
        ens = vanilla_ensembles(pool_probs, size, count=P.seeds, seed=size)
        rows[f"Vanilla (N = {size})"] = variability(ens, labels)
    return rows


def snapshot_accuracies(S, pool) -> dict:
    """Mean test accuracies (%) of the R cyclic runs' final models (``cyclic``), of their R
    snapshot ensembles (``snapshot``) and of the R standard runs the claims table compares them
    with, the pool's first R (``standard``)."""
    labels = S[0].labels
    return dict(cyclic=100 * float(np.mean([r.accuracy for r in S])),
                snapshot=100 * float(np.mean([metrics.accuracy(snapshot_probs(r), labels)
                                              for r in S])),
                standard=100 * float(np.mean([r.accuracy for r in pool[:len(S)]])))


def snapshot_report(S, pool) -> str:
    """What Table 5 rests on: the pool, the snapshot epochs, and the mean accuracies of the
    cyclic runs' final models, of their snapshot ensembles and of as many standard runs."""
    a, R = snapshot_accuracies(S, pool), len(S)
    return (f"pool of {len(pool)} independent runs; snapshots kept at epochs {S[0].epochs}\n"
            f"mean final accuracy of the {R} cyclic runs {a['cyclic']:.2f}%; of their {R} "
            f"snapshot ensembles {a['snapshot']:.2f}%; of the pool's first {R} (standard) runs "
            f"{a['standard']:.2f}%")


def cost_report(P, started: float) -> str:
    """The chapter's training cost (every distinct run, as measured when it was trained) and
    this execution's wall time since ``started`` (a ``time.time()``)."""
    import time

    _, G = main_runs(P)
    _, D = depth_runs(P)
    _, O = onset_runs(P)
    _, S, pool = snapshot_runs(P)
    every = {r.key: r for g in list(G.values()) + list(O.values()) + [S, pool] if g for r in g}
    every.update({r.key: r for d in D.values() for g in d.values() for r in g})
    train_s = sum(r.meta["seconds"] for r in every.values())
    return (f"{len(every)} distinct training runs in this chapter; their training took "
            f"{train_s / 60:.1f} min in all (measured when each was trained, on "
            f"{G['reference'][0].meta['device_name']})\n"
            f"this execution of the notebook: {time.time() - started:.0f} s (less than the "
            "above when runs came from the cache or trained side by side)")


# --------------------------------------------------------------------------------------------
# the prose's numbers: what each caption says about this run, glued into the page by
# helpers.prose (so that a page executed at any profile, on any seeds, says what it shows)

PHRASE = {"init": "a new initialization", "order": "data shuffling", "aug": "data augmentation",
          "dropout": "dropout", "cudnn": "cuDNN's kernels",
          "order+aug": "shuffling and augmentation together", "all": "all sources together",
          "bitflip": "the one-bit change"}


def phrase(source: str) -> str:
    """A source as words inside a sentence ('order+aug' -> 'shuffling and augmentation
    together')."""
    return PHRASE.get(source, source_label(source).lower())


def _rows(sources, G) -> dict:
    """``{source: run_row}`` of the sources that were run."""
    return {s: run_row(G[s]) for s in sources if G.get(s) is not None}


def table1_reading(P, G) -> dict:
    """Table 1's caption: the range of the accuracy SDs and disagreements over the rows, and
    where the one-bit change sits on the function metrics (``t1_reading``)."""
    rows = _rows(P.sources, G)
    sd = {s: 100 * r["acc_sd"] for s, r in rows.items()}
    dis = {s: 100 * r["disagree"] for s, r in rows.items()}
    lo, hi = min(sd, key=sd.get), max(sd, key=sd.get)
    text = (f"Here the accuracy SDs run from {sd[lo]:.2f} pp ({phrase(lo)}) to {sd[hi]:.2f} pp "
            f"({phrase(hi)}), the disagreements from {min(dis.values()):.1f}% to "
            f"{max(dis.values()):.1f}%.")
    if "bitflip" in rows:
        b, least = rows["bitflip"], least_diverse_metrics(rows)
        values = {"disagree": f"{100 * b['disagree']:.1f}%", "corr": f"{b['corr']:.3f}",
                  "ens_gain": f"{100 * b['ens_gain']:.2f}%"}
        where = (f"all three function metrics ({prose.join(f'{FUNCTION_METRICS[k]} {values[k]}' for k in least)})"
                 if len(least) == 3 else prose.join(
                     f"{FUNCTION_METRICS[k]} ({values[k]})" for k in least))
        text += (f" The one-bit change is the least diverse row on {where}" if least else
                 " The one-bit change is not the least diverse row on any function metric")
        if "init" in rows:
            text += (f"; a new initialization disagrees on {dis['init']:.1f}% of test images, "
                     f"the one-bit change on {dis['bitflip']:.1f}%")
        text += "."
    return {"t1_reading": text}


def sources_reading(P, G, intervals: dict) -> dict:
    """Figure 1's caption: ``f1_k`` (the rows, the Bonferroni k) and ``f1_reading`` (how far
    the bars differ, whether their intervals share a value, how often equal SDs of this many
    runs spread by a factor of 2)."""
    k, R = len(intervals), P.seeds
    words = {label: phrase(s) for s, label in labels_of(P, G).items()} if G else {}
    sd = {words.get(n, n): v["acc_sd"].value for n, v in intervals.items()}
    ce = {words.get(n, n): v["ce_sd"].value for n, v in intervals.items()}
    ov = overlaps(intervals)
    apart = [FIGURE1_COLUMNS[c] for c, (shared, _, _) in ov.items() if not shared]
    def compared(d: dict, what: str, unit: str = "") -> str:
        top, low = max(d, key=d.get), min(d, key=d.get)
        if d[low] > 0:
            return (f"the largest {what} ({top}) is {prose.times(d[top] / d[low])} the smallest "
                    f"({low})")
        return f"the largest {what} ({top}) is {d[top]:.3g}{unit}, the smallest ({low}) zero"
    text = (f"bars of different heights -- {compared(sd, 'accuracy SD', ' pp')}, "
            f"{compared(ce, 'cross-entropy SD')} -- ")
    if not apart:
        text += ("whose intervals still share a common value in every column (the line printed "
                 f"with the figure says so): with {R} runs a row, differences of this size cannot "
                 "be told from noise.")
    else:
        text += (f"and in {prose.join(apart)} one row's interval lies wholly above another's "
                 "(the line printed with the figure names them): a difference these runs "
                 "resolve.")
    p = stats.chance_sd_spread(k, R)
    text += (f" Even with equal true SDs, {k} SDs of {R} runs each spread by more than a factor "
             f"of 2 in {p:.0%} of draws, which is why the claims table judges the spread by "
             "these intervals, not by the observed max/min.")
    return {"f1_k": str(k), "f1_reading": text}


def cka_reading(P) -> dict:
    """Figure 2's setup (``cka_runs``: runs and pairs a row; ``cka_examples``) and caption
    (``f2_reading``: the spread across sources against the spread across layers)."""
    sp = cka_spread(cka_stacks(P))
    n = P.cka_runs
    worst = sp["worst"]
    tied = [k for k, v in sp["spread"].items() if round(v, 2) == round(sp["spread"][worst], 2)]
    at = (f"at {worst}, the widest" if len(tied) == 1 else
          f"at {prose.join(tied)}, tied for the widest")
    text = (f"Averaged over the layers the sources span {sp['across_sources']:.2f} "
            f"({sp['spread'][worst]:.2f} {at}; the paper's sources differ most "
            f"at the output of its first residual block), against a range of "
            f"{sp['across_layers']:.2f} across layers of the mean: a ratio of {sp['ratio']:.2f}, "
            "which the claims table tests against the bound 0.5 with its interval.")
    return {"cka_runs": f"{n} runs, {n * (n - 1) // 2} pairs", "cka_examples": str(P.cka_examples),
            "f2_reading": text}


def divergence_reading(G, div: dict, new_init) -> dict:
    """Figure 3's caption (``f3_reading``): the size of the flips, the growth of the distance
    in the first epoch, the disagreement's peak and end against a new initialization's."""
    dx = np.array([perturbation_size(r.spec) for r in G["bitflip"]])
    dist = div["weight_dist"].mean(0)
    dis = 100 * div["disagree"].mean(0)
    epochs = list(div["epochs"])
    text = f"the weights start one float32 step apart (|Δw| between {dx.min():.1e} and {dx.max():.1e}"
    text += ", printed under the next cell)"
    if len(epochs) > 1 and dist[0] > 0 and dist[1] > 0:
        text += (f" and the distance grows by {prose.orders(np.log10(dist[1] / dist[0]))} "
                 f"within epoch {epochs[1]} (right, log scale).")
    else:
        text += "."
    j = int(np.argmax(dis))
    if j < len(dis) - 1 and dis[j] > dis[-1] + 1:
        text += (f" In between, the perturbed runs disagree with the reference on more test images "
                 f"({dis[j]:.0f}% after epoch {epochs[j]}) than at the end, when they disagree on "
                 f"{dis[-1]:.1f}% on average,")
    else:
        text += f" At the end the perturbed runs disagree with the reference on {dis[-1]:.1f}% on average,"
    text += " " + versus_new_init(dis[-1] / 100, new_init)
    return {"f3_reading": text}


def versus_new_init(end: float, new_init) -> str:
    """How the bit-flip runs' final disagreement ``end`` (a fraction) compares with a new
    initialization's (``new_init``: :func:`new_init_disagreement`): "about as many as" when
    ``end`` lies inside its 95% t interval, "more than" or "fewer than" only outside it."""
    if new_init is None or not new_init.has_interval:
        return "compared with a run with a *new* initialization (dashed line, middle)."
    inside = new_init.lo <= end <= new_init.hi
    rel = ("about as many as" if inside else
           "fewer than" if end < new_init.value else "more than")
    return (f"{rel} a run with a *new* initialization does (dashed line, middle: "
            f"{100 * new_init.value:.1f}%, the mean over the init row's {new_init.n} runs "
            f"other than the reference's own training, its 95% t interval shaded, "
            f"{max(0.0, 100 * new_init.lo):.1f} to {min(100.0, 100 * new_init.hi):.1f}%): "
            f"{'inside' if inside else 'outside'} that interval.")


PAPER_SHARE = {"fc1": 23.4 / 24.2, "conv1": 6.4 / 12.5}   # seed 001 Table 8: bit / new init


def depth_reading(D) -> dict:
    """Table 8's caption: the bit change against a new initialization per model
    (``t8_reading``), against the paper's shares (``t8_paper``), and the runs a row
    (``t8_runs``)."""
    dep = {m: {k: run_row(g[k]) for k in ("init", "bitflip")} for m, g in D.items()}
    lin = dep["linear"]
    hidden = [m for m in dep if m != "linear"]
    if lin["bitflip"]["disagree"] == 0 and lin["bitflip"]["acc_sd"] == 0:
        text = ("for the linear model a one-bit change leaves every test prediction as it was "
                "(accuracy SD 0, disagreement 0)")
    else:
        text = (f"for the linear model a one-bit change moves {100 * lin['bitflip']['disagree']:.1f}% "
                "of the test predictions")
    text += f" while a new initialization moves {100 * lin['init']['disagree']:.1f}%"
    share = {m: _ratio(dep[m]["bitflip"]["disagree"], dep[m]["init"]["disagree"]) for m in hidden}
    if hidden:
        ce = {m: dep[m]["bitflip"]["ce_sd"] for m in hidden}
        lin_ce = lin["bitflip"]["ce_sd"]
        factor = {m: _ratio(ce[m], lin_ce) for m in hidden}
        text += ("; with a hidden layer the one-bit change produces cross-entropy SDs "
                 + prose.join([f"{factor[m]:.1e} ({m})" for m in hidden])
                 + " times the linear model's (" + prose.join([f"{ce[m]:.1e}" for m in hidden])
                 + f" against {lin_ce:.1e}) and a share of a new initialization's disagreement of "
                 + prose.join([f"{share[m]:.2f} in {m} "
                               f"({100 * dep[m]['bitflip']['disagree']:.1f}% against "
                               f"{100 * dep[m]['init']['disagree']:.1f}%)" for m in hidden]))
    text += "."

    def compare(m):   # against the paper's share, by the interval of the claims table's row
        e = disagreement_share({k: per_run(D[m][k]) for k in ("init", "bitflip")})
        paper = PAPER_SHARE[m]
        if not e.has_interval:
            return f"our {m}, {e.text()}, cannot be set against the paper's {paper:.2f}"
        how = ("as stable as" if e.lo <= paper <= e.hi else
               "more stable than" if e.hi < paper else "less stable than")
        return (f"our {m}, {e.text()}, is {how} the paper's {paper:.2f}"
                + (" (inside the interval)" if how == "as stable as" else ""))
    paper = ("As a share of a new initialization's disagreement, "
             + "; ".join([compare(m) for m in hidden if m in PAPER_SHARE]) + "."
             if any(m in PAPER_SHARE for m in hidden) else "")

    return {"t8_reading": text, "t8_paper": paper, "t8_runs": str(len(D["linear"]["bitflip"]))}


def depth_divergence_reading(D, dv: dict) -> dict:
    """Figure 4's caption (``f4_reading``): where the bit-flip runs of each model start and end
    (``dv``: :func:`depth_divergence`), and their largest relative drift."""
    hidden = [m for m in dv if m != "linear"]
    start = [d["weight_dist"].mean(0)[0] for d in dv.values()]
    drift = {m: relative_drift(g, dv[m]) for m, g in D.items()}
    ld = dv["linear"]
    lmean = ld["weight_dist"].mean(0)
    f4 = (f"all three start {min(start):.0e} to {max(start):.0e} apart. The linear model's "
          f"mean distance grows too, to {lmean.max():.0e} at its largest (the farthest run: "
          f"{ld['weight_dist'].max():.0e}), and ends at "
          f"{lmean[-1]:.0e}: a vanishingly small fraction of its weights "
          f"(largest relative distance {drift['linear']:.1e}), and its loss gap ends near "
          f"{ld['ce_gap'][:, -1].mean():.0e}.")
    if hidden:
        grow = [np.log10(dv[m]["weight_dist"].mean(0)[-1] / dv[m]["weight_dist"].mean(0)[0])
                for m in hidden]
        f4 += (f" With one hidden layer the distance grows by {prose.orders(min(grow), max(grow))}, "
               "to " + prose.join(
                   [f"{dv[m]['weight_dist'].mean(0)[-1]:.2g} ({m})" for m in hidden])
               + ", and the loss gap to " + prose.join(
                   [f"{dv[m]['ce_gap'][:, -1].mean():.0e}" for m in hidden])
               + " (largest relative distances " + prose.join(
                   [f"{drift[m]:.2g}" for m in hidden]) + ").")
    return {"f4_reading": f4}


def onset_reading(P, O) -> dict:
    """Figure 5's caption: the disagreement and accuracy SD at N = 0, at the claims table's late
    onset and at the last, and whether the SDs' intervals overlap (``f5_reading``); why the
    claims table tests the disagreement, not the paper's SDs (``f5_why``: the F test's
    resolution with R runs, the two ratios with their intervals); the late onset as a share
    of training (``f5_scale``)."""
    on = {n: run_row(rs) for n, rs in sorted(O.items())}
    ns = sorted(on)
    late = min([n for n in ns if n >= 0.1 * P.epochs] or [max(ns)])
    last = ns[-1]
    d = {n: 100 * on[n]["disagree"] for n in ns}
    sd = {n: 100 * on[n]["acc_sd"] for n in ns}
    moves = "falls" if d[late] <= d[0] else "rises"
    text = (f"Here the disagreement {moves} from {d[0]:.1f}% (N = 0) to {d[late]:.1f}% after "
            f"{late} shared epoch{'s' if late != 1 else ''} (a ratio of "
            f"{_ratio(d[late], d[0]):.2f}, which the claims table tests against the bound "
            f"{ONSET_BOUND} "
            "with its interval)")
    if last != late:
        text += f" and to {d[last]:.1f}% after {last}"
    text += (f". The accuracy SD is {sd[0]:.2f} pp at N = 0 and {sd[late]:.2f} pp at "
             f"N = {late}")
    iv = onset_intervals(O)
    apart = [(a, b) for a, b in zip(ns, ns[1:])
             if iv[a]["acc_sd"].lo > iv[b]["acc_sd"].hi or iv[b]["acc_sd"].lo > iv[a]["acc_sd"].hi]
    steps = "from one N to the next" if len(ns) > 2 else f"between N = {ns[0]} and N = {ns[-1]}"
    same = f"{sd[0]:.2f}" == f"{sd[late]:.2f}"
    text += (f", {'and' if same else 'but'} with {P.seeds} runs its intervals overlap {steps}."
             if not apart
             else "; its intervals separate between N = " + prose.join(
                 [f"{a} and {b}" for a, b in apart]) + ".")
    u = {n: per_run(O[n]) for n in (0, late)}
    sd_r = stats.sd_ratio_ci(u[late]["acc"], u[0]["acc"])
    dis_r = stats.pairwise([u[late]["disagree"], u[0]["disagree"]], _ratio)
    why = (f"with {P.seeds} runs a point, an F test detects a ratio of two SDs only beyond "
           f"{stats.detectable_sd_ratio(P.seeds, P.seeds):.1f}x (80% power, 5% level): here the "
           f"accuracy SD at N = {late} over N = 0 is {sd_r.text()}; the disagreement's ratio "
           f"{dis_r.text()}")
    scale = (f"our runs are {prose.plural(P.epochs, 'epoch')} long, the paper's 500, so "
             f"N = {late} here is already {100 * late / P.epochs:.3g}% of training")
    return {"f5_reading": text, "f5_why": why, "f5_scale": scale}


def snapshot_reading(P, S, pool) -> dict:
    """Table 5's caption (``t5_reading``): snapshot against vanilla ensembles on disagreement
    and accuracy SD, and the accuracies of the cyclic runs and of their snapshot ensembles
    against a standard run's (:func:`snapshot_accuracies`)."""
    rows = snapshot_rows(P, S, pool)
    snap = next(iter(rows.values()))
    van = {int(k.split("= ")[1].rstrip(")")): v for k, v in rows.items() if k.startswith("Vanilla")}
    near = min(van, key=lambda n: abs(van[n]["disagree"] - snap["disagree"]))
    single = run_row(pool[:P.seeds])   # the claims table's single runs: the pool's first R
    less = snap["disagree"] < single["disagree"]
    text = (f"a snapshot ensemble, the cost of one run, {'varies less' if less else 'does not vary less'} "
            f"from run to run than a single model on disagreement ({100 * snap['disagree']:.1f}% "
            f"against {100 * single['disagree']:.1f}% for the pool's first {P.seeds} runs, a ratio "
            f"of {_ratio(snap['disagree'], single['disagree']):.2f}"
            + (f"; about as much as a vanilla ensemble of {near}: "
               f"{100 * van[near]['disagree']:.1f}%)" if near > 1 else ")"))
    text += (f"; its accuracy SD is {100 * snap['acc_sd']:.2f} pp against their "
             f"{100 * single['acc_sd']:.2f} pp (a ratio of "
             f"{_ratio(snap['acc_sd'], single['acc_sd']):.2f}; the claims table's interval decides "
             "whether they differ). The table's vanilla rows draw their members from the whole "
             "pool, so its N = 1 row differs a little from these runs.")
    a = snapshot_accuracies(S, pool)
    cyc, ens, std = a["cyclic"], a["snapshot"], a["standard"]
    text += (f" Check the accuracies too (printed above the table): the mean final accuracy of "
             f"the {len(S)} cyclic runs is {cyc:.2f}%, {'below' if cyc < std else 'above'} the "
             f"{std:.2f}% of as many standard runs, and the snapshot ensemble itself "
             f"({ens:.2f}%) is {'less' if ens < std else 'more'} accurate than a single standard "
             f"run")
    text += (", so part of what it buys in stability is paid in accuracy." if ens < std else
             ": averaging the snapshots more than makes up for the cyclic runs' loss."
             if cyc < std else ".")
    return {"t5_reading": text}




def _steps(Q) -> str:
    """A preset's optimizer steps in all: 'about 500' when 2 significant figures are within 2%,
    else exact ('1,250')."""
    n = Q.epochs * train.epoch_steps(train.Spec(batch_size=Q.batch_size), Q.n_train or 50000)
    r = float(f"{n:.2g}")
    return f"about {r:,.0f}" if r != n and abs(r - n) <= 0.02 * n else f"{n:,}"


def profile_sentence(profile: str) -> str:
    """What the chapter's preset at ``profile`` trains, in words, read from :mod:`helpers.config`
    (so the introduction cannot go stale when a preset changes)."""
    Q = config.chapter_params(CHAPTER, profile)
    model = {"resnet14": "the paper's ResNet-14",
             "smallcnn": "Fort et al.'s SmallCNN (three conv layers)"}.get(
                 Q.model, models.display_name(Q.model))
    recipe = [f"{Q.schedule} decay" if Q.schedule == "cosine" else f"a {Q.schedule} schedule",
              f"weight decay {Q.weight_decay:g}",
              "crops and flips" if Q.augment else "no augmentation",
              "no dropout" if not Q.dropout else f"dropout {Q.dropout:g}"]
    subset = (f"a class-balanced {Q.n_train:,}-image subset" if Q.n_train
              else "all 50,000 training images")
    linear = (" (the paper's 512 and 0.4 scaled linearly)"
              if abs(Q.lr - 0.4 * Q.batch_size / 512) < 1e-12 else "")
    test = f"{Q.n_test:,}" if Q.n_test else "all 10,000"
    cpu_cudnn = profile == "cpu" and "cudnn" in Q.sources   # a row that a CPU cannot run
    rows = len(Q.sources) - cpu_cudnn
    return (f"{model}, trained with {prose.join(recipe)} in fp32 with deterministic kernels, "
            f"on {subset} for "
            f"{Q.epochs} epochs ({prose.plural(Q.warmup_epochs, 'warmup epoch')}; the paper's: 3) "
            f"at batch {Q.batch_size} and maximum learning rate {Q.lr:g}{linear}, {_steps(Q)} "
            f"steps in all; R = {Q.seeds} runs in each of {prose.plural(rows, 'row')}"
            + (" (a seventh, cuDNN, cannot vary on a CPU and is not run)" if cpu_cudnn else "")
            + (f" and {sd_count(Q)} in the new-initialization and bit-change rows for Table 3's "
               "accuracy-SD ratio" if sd_count(Q) > Q.seeds else "")
            + f", {Q.depth_seeds} a row in Table 8, evaluated on {test} test images")


def sd_factors(R: int, confidence: float = stats.CONFIDENCE) -> tuple[float, float]:
    """The chi-square interval of an SD of ``R`` normal values as multiples of the measured SD
    (:func:`stats.sd_ci`'s interval is proportional to the SD, so any sample gives them)."""
    e = stats.sd_ci(np.arange(R, dtype=float), confidence=confidence)
    return e.lo / e.value, e.hi / e.value


def setup_reading(P) -> dict:
    """The introduction's and the control's numbers: the ``cpu`` and ``gpu`` presets in words
    (``profile_cpu``, ``profile_gpu``), how uncertain an SD of this run's R runs is
    (``sd_uncertainty``), the number of control runs (``control_runs``) and the runs of Table 3's
    accuracy-SD ratio (``sd_more``)."""
    R = P.seeds
    lo, hi = sd_factors(R)
    sd = (f"With R = {R} (this run's), a standard deviation is itself uncertain by about "
          f"{1 / np.sqrt(2 * (R - 1)):.0%} (1/√(2(R − 1)) for normal data; the tables' bootstrap "
          f"errors, from the same {R} runs, only estimate it roughly), and its 95% interval "
          f"(chi-square) runs from {lo:.2f} to {hi:.2f} times the measured SD.")
    n = sd_count(P)
    more = (f"Table 3's accuracy-SD ratio, the one-bit change against a new initialization, "
            f"asks for more runs than {R} a row can give (see the claims table): for it those two "
            f"rows are extended to {n} runs, their first {R} being the rows shown here."
            if n > R else f"Table 3's accuracy-SD ratio uses these rows' {R} runs.")
    return prose.profile_readings(profile_sentence) | {"sd_uncertainty": sd,
                                                       "control_runs": str(P.control_runs),
                                                       "sd_more": more}


def claims_makeup(T) -> dict:
    """``claims_makeup``: the claims table's rows as claims plus checks ('20 rows: 18 claims and
    2 checks'), so that a count of claims and a count of verdicts are not read as one."""
    checks = sum(r.is_check for r in T.rows)
    n = len(T.rows)
    return {"claims_makeup": f"{n} rows: {prose.plural(n - checks, 'claim')} and "
                             f"{prose.plural(checks, 'check')}"}


def closing_readings(P, T) -> dict:
    """The closing section's numbers: :func:`scale_reading` (on the table's data variant) and
    :func:`claims_makeup`."""
    return scale_reading(P, T.variant) | claims_makeup(T)


def scale_reading(P, variant: str) -> dict:
    """What does not carry over at this profile (``scale_reading``); ``variant``: the data the
    runs were trained on (a run's ``variant``: 'cifar10', 'cifar10-jpeg', 'synthetic')."""
    n = P.n_train or 50000
    cyc = P.epochs / P.snapshots if P.snapshots else float("nan")
    data_name = data.PROSE_NAMES.get(variant, variant)
    jpeg = " (the paper's is CIFAR-10 itself)" if variant == "cifar10-jpeg" else ""
    text = (f"our accuracy SDs and disagreements are those of {models.display_name(P.model)} "
            f"trained for {P.epochs} "
            f"epochs on {n:,} images of {data_name}{jpeg} and tested on {P.n_test or 10000:,}, "
            "against the paper's "
            "ResNet-14 trained for 500 epochs on 50,000. Snapshot ensembles here have cycles of "
            f"{prose.plural(cyc, 'epoch')} ({P.snapshots} in {P.epochs}), far shorter than the "
            "paper's 100-epoch cycles.")
    if not cudnn_testable(P):
        text += " The cuDNN row cannot be measured on a CPU."
    return {"scale_reading": text}
