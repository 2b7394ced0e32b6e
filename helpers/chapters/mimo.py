"""MIMO: several subnetworks in one network, if it has room for them (chapter 04).

Seed 000 §4 reproduces MIMO (Havasi et al. 2021) on ResNet20: M images go in on the channel axis,
M heads come out, each head trained on its own independently paired example; at test time the same
image goes in M times and the heads' probabilities are averaged. The network, input layout and
loss live in :mod:`helpers.models` (``build_mimo``) and :mod:`helpers.train` (``Spec.mimo*``);
this module builds the chapter's specs and measures, on cached runs:

* per-head accuracy, the ensemble's accuracy, NLL and calibration error (ECE);
* D_dis, the mean pairwise disagreement between heads (Havasi et al.'s diversity measure);
* the same for a naive multi-head control (one input, M heads) and for deep ensembles of M
  independently trained M = 1 networks, with the cost of each: parameters, training time and
  inference passes.
"""
from __future__ import annotations

import functools
import itertools

import numpy as np

from .. import claims, config, gates, metrics, models, plots, prose, runs, stats, train

SEED = 1  # the first seed of every network: seeds SEED .. SEED + P.seeds - 1 (M = 1: m1_seeds)


# --------------------------------------------------------------------------------------------
# specs


CHAPTER = "04_mimo"


def base_spec(P, width: float) -> train.Spec:
    """An ordinary network of the chapter at ``width`` (its first seed, ``SEED``), from the
    chapter's parameters."""
    return train.spec_from(P, width=width).with_seed(SEED)


def mimo_spec(P, width: float, members: int, seed: int = SEED) -> train.Spec:
    """A MIMO network of ``members`` heads (``members = 1``: the baseline network, trained with
    the same input and batch repetition)."""
    return base_spec(P, width).replace(mimo=members, mimo_rho=float(P.rho),
                                       mimo_batch_rep=int(P.batch_rep)).with_seed(seed + config.seed_base(P))


def naive_spec(P, width: float, seed: int = SEED) -> train.Spec:
    """The naive multi-head control: one input, ``P.naive_members`` heads, one example a step."""
    return base_spec(P, width).replace(mimo=P.naive_members, mimo_naive=True).with_seed(
        seed + config.seed_base(P))


def m1_seeds(P) -> int:
    """Seeds of the M = 1 network: twice ``P.seeds``, so that each MIMO M = 2 seed has its own
    two independently trained M = 1 networks to be compared with (the diversity row), and at
    least ``P.ensemble_size`` (the members of the deep ensembles)."""
    return max(P.ensemble_size, 2 * P.seeds)


def chapter_specs(P) -> dict:
    """``{(width, name): [specs]}``: 'M=m' for each m in ``P.members`` and 'naive', each with
    ``P.seeds`` seeds (seed 1 first; 'M=1' has :func:`m1_seeds`)."""
    if P.ensemble_size < max(P.members):
        raise config.ConfigError(
            f"ensemble_size {P.ensemble_size} is smaller than the largest M in members "
            f"{tuple(P.members)}: the deep ensemble of M runs needs M of them; set ensemble_size "
            f">= {max(P.members)}")
    naive = naive_widths(P)
    out = {}
    for w in P.widths:
        for m in P.members:
            seeds = range(SEED, SEED + (m1_seeds(P) if m == 1 else P.seeds))
            out[(w, f"M={m}")] = [mimo_spec(P, w, m, s) for s in seeds]
        if w in naive:
            out[(w, "naive")] = [naive_spec(P, w, s) for s in range(SEED, SEED + P.seeds)]
    return out


def naive_widths(P) -> tuple:
    """The widths that train the naive control: ``P.naive_widths`` (None: every width), which
    must be among ``P.widths`` and include ``P.ref_width`` (the claims read it there)."""
    ws = tuple(P.widths) if P.naive_widths is None else tuple(P.naive_widths)
    if P.ref_width not in P.widths:
        raise config.ConfigError(f"ref_width {P.ref_width} is not among widths {tuple(P.widths)}; "
                                 "add it to widths or set ref_width to one of them")
    if any(w not in P.widths for w in ws) or P.ref_width not in ws:
        raise config.ConfigError(f"naive_widths {ws} must be among widths {tuple(P.widths)} and include "
                                 f"ref_width {P.ref_width}; set naive_widths=None for every width")
    return ws


@gates.gate(CHAPTER, maxsize=4)
def experiment(P):
    """The chapter's parameters and runs, ``(P, {(width, name): tuple of runs})``, trained once
    and cached: every cell of the chapter starts with this call."""
    groups = chapter_specs(P)
    flat = [s for g in groups.values() for s in g]
    got = dict(zip(flat, runs.get(flat, device=P.device)))
    return P, {k: tuple(got[s] for s in g) for k, g in groups.items()}


# --------------------------------------------------------------------------------------------
# measures


def head_disagreement(head_probs) -> float:
    """D_dis: the mean over pairs of heads of the fraction of examples whose predicted classes
    differ (``metrics.disagreement``); ``head_probs`` is (M, N, C). 0 for a single head."""
    head_probs = np.asarray(head_probs)
    if len(head_probs) < 2:
        return 0.0
    return float(np.mean([metrics.disagreement(a, b) for a, b in itertools.combinations(head_probs, 2)]))


def summary(head_probs, labels) -> dict:
    """Per-head accuracies, and the averaged prediction's accuracy, NLL and ECE, and D_dis, of M
    predictions ``head_probs`` (M, N, C): the heads of one MIMO network or the members of an
    ensemble. ``gain`` is the ensemble's accuracy minus the mean of the heads'; ``error_dis``
    is D_dis per unit of the heads' mean error rate (less accurate heads disagree more: two
    classifiers at error rate e can disagree on at most 2e of the images)."""
    head_probs = np.asarray(head_probs)
    ens = head_probs.mean(0)
    head_acc = [metrics.accuracy(p, labels) for p in head_probs]
    acc = metrics.accuracy(ens, labels)
    d_dis, head_mean = head_disagreement(head_probs), float(np.mean(head_acc))
    return dict(members=len(head_probs), head_acc=head_acc, head_acc_mean=head_mean,
                acc=acc, nll=metrics.nll(ens, labels), ece=metrics.ece(ens, labels),
                d_dis=d_dis, error_dis=d_dis / max(1e-12, 1 - head_mean),
                gain=acc - head_mean)


@functools.lru_cache(maxsize=64)
def n_params(spec: train.Spec) -> int:
    """Trainable parameters of ``spec``'s network."""
    return models.n_params(train.init_model(spec))


def train_images(spec: train.Spec) -> int:
    """Images a training run pushes through its network: epochs x training set x batch
    repetition (a MIMO step of ``batch_size`` images carries ``batch_size // batch_rep`` distinct
    ones, so an epoch takes ``batch_rep`` times the steps). A compute measure that, unlike
    wall time, does not depend on what else the machine was doing; an image costs a MIMO network
    about what it costs its M = 1 network (only the first layer and the heads are wider)."""
    return spec.epochs * (spec.n_train or 50_000) * spec.mimo_batch_rep


def run_row(run) -> dict:
    """:func:`summary` of one network's heads plus its cost: parameters, training images and
    seconds (the run's meta), and inference passes (1: the M heads come out of one forward pass)."""
    return dict(summary(run.head_probs(), run.labels), params=n_params(run.spec),
                train_images=train_images(run.spec), seconds=float(run.meta["seconds"]), passes=1)


def ensemble_row(run_list) -> dict:
    """A deep ensemble of the networks ``run_list`` (each one head): :func:`summary` of their
    predictions plus the cost, summed over members (parameters, training seconds, passes)."""
    return dict(summary([r.probs() for r in run_list], run_list[0].labels),
                params=sum(n_params(r.spec) for r in run_list),
                train_images=sum(train_images(r.spec) for r in run_list),
                seconds=float(sum(r.meta["seconds"] for r in run_list)), passes=len(run_list))


MEAN_KEYS = ("head_acc_mean", "acc", "nll", "ece", "d_dis", "error_dis", "gain", "seconds")


def mean_row(rs: list[dict]) -> dict:
    """The mean over runs of :func:`run_row` (or :func:`ensemble_row`) dicts ``rs``: every
    measure averaged (each head's accuracy head by head), the cost of one of them, ``n`` (how
    many), ``sd`` (each measure's SD over them; NaN for one) and ``runs`` (the dicts)."""
    out = dict(rs[0], **{k: float(np.mean([r[k] for r in rs])) for k in MEAN_KEYS})
    out["head_acc"] = [float(a) for a in np.mean([r["head_acc"] for r in rs], axis=0)]
    out.update(n=len(rs), runs=list(rs),
               sd={k: float(np.std([r[k] for r in rs], ddof=1)) if len(rs) > 1 else np.nan
                   for k in MEAN_KEYS})
    return out


def ensemble_blocks(run_list, m: int) -> list:
    """The deep ensembles of ``m`` members that the M = 1 runs ``run_list`` make without
    sharing a member: runs 1..m, m+1..2m, ... (a remainder is left out)."""
    return [run_list[i * m:(i + 1) * m] for i in range(len(run_list) // m)]


def rows(P, R) -> list[dict]:
    """One row per width and model, each the mean over its runs (:func:`mean_row`): 'MIMO M=m'
    (M=1 is the baseline network), 'naive M=k' (at :func:`naive_widths`) and 'deep ensemble of
    m' for each m > 1 in ``P.members`` (the mean over the ensembles of disjoint M = 1 runs,
    :func:`ensemble_blocks`); each with ``width``, ``name``, ``kind`` and ``M``."""
    out = []
    for w in P.widths:
        for m in P.members:
            out.append(dict(mean_row([run_row(r) for r in R[(w, f"M={m}")]]), width=w,
                            name=f"MIMO M={m}", kind="mimo", M=m))
        if (w, "naive") in R:
            out.append(dict(mean_row([run_row(r) for r in R[(w, "naive")]]), width=w,
                            name=f"naive M={P.naive_members}", kind="naive",
                            M=P.naive_members))
        for m in P.members:
            blocks = ensemble_blocks(R[(w, "M=1")], m) if m > 1 else []
            if blocks:
                out.append(dict(mean_row([ensemble_row(b) for b in blocks]), width=w,
                                name=f"deep ensemble of {m}", kind="ensemble", M=m))
    return out


def pick(table_rows, width, name) -> dict:
    """The row of ``name`` at ``width``."""
    for r in table_rows:
        if r["width"] == width and r["name"] == name:
            return r
    raise KeyError(f"no row {name!r} at width {width}")


# --------------------------------------------------------------------------------------------
# the table


COLUMNS = ("Width", "Model", "Runs", "Parameters", "Head accuracy (%)",
           "Ensemble accuracy (%, ± SD)",
           "Gain over heads (pp)", "NLL", "ECE (%)", "D_dis", "Training images (k)",
           "Training (s)", "Inference passes")


def Table(cells: list[list[str]]) -> "plots.TextTable":
    """The chapter's results as text cells; HTML in a notebook, plain text elsewhere."""
    return plots.TextTable(COLUMNS, cells, left=2)


def table(table_rows) -> Table:
    """:func:`rows` laid out as the chapter's results table: means over each row's runs, the
    averaged prediction's accuracy with its SD over them."""
    cells = []
    for r in table_rows:
        heads = " / ".join(f"{100 * a:.1f}" for a in r["head_acc"])
        sd = r.get("sd", {}).get("acc", np.nan)
        acc = f"{100 * r['acc']:.2f}" + (f" ± {100 * sd:.2f}" if np.isfinite(sd) else "")
        cells.append([f"{r['width']:g}", r["name"], str(r.get("n", 1)), f"{r['params']:,}",
                      heads, acc,
                      f"{100 * r['gain']:+.2f}", f"{r['nll']:.3f}", f"{100 * r['ece']:.2f}",
                      f"{r['d_dis']:.3f}", f"{r['train_images'] / 1000:,.0f}", f"{r['seconds']:.0f}",
                      str(r["passes"])])
    return Table(cells)


# --------------------------------------------------------------------------------------------
# the sentences printed under the chapter's cells (figures: helpers.plots.mimo)


def describe(P, R) -> str:
    """The runs in words: the profile, backbone, data, recipe, number of networks, their
    measured training time and each width's parameter counts."""
    every = [r for g in R.values() for r in g]
    lines = [
        f"profile: {P.profile}; backbone: {P.model} at widths "
        f"{', '.join(f'{w:g}' for w in P.widths)}; training images: {P.n_train or 'all'}; "
        f"test images: {len(R[(P.widths[0], 'M=1')][0].labels)}",
        f"{P.epochs} epochs, batch {P.batch_size}, {P.optimizer} lr {P.lr} ({P.schedule}), "
        f"weight decay {P.weight_decay}, augmentation {'on' if P.augment else 'off'}; MIMO: "
        f"input repetition rho = {P.rho}, batch repetition {P.batch_rep}",
        f"{len(every)} networks; their training took "
        f"{sum(r.meta['seconds'] for r in every) / 60:.1f} min in all (measured when each was "
        f"trained, on {every[0].meta['device_name']})"]
    names = [f"M={m}" for m in P.members] + ["naive"]
    lines += [f"width {w:g}: " + ", ".join(f"{n} {n_params(R[(w, n)][0].spec):,} parameters"
                                          for n in names if (w, n) in R) for w in P.widths]
    return "\n".join(lines)


def _unit(row) -> str:
    """What a row averages over: 'ensemble' for a deep ensemble's row, else 'run'."""
    return "ensemble" if row.get("kind") == "ensemble" else "run"


def heads_text(table_rows, width) -> str:
    """Each model's head accuracies, averaged accuracy and D_dis at ``width`` (means over its
    runs), a line each."""
    return "\n".join(
        f"{r['name']:>20} ({prose.plural(r.get('n', 1), _unit(r))}): heads "
        f"{', '.join(f'{100 * a:.2f}' for a in r['head_acc'])} %; "
        f"averaged {100 * r['acc']:.2f} %; D_dis {r['d_dis']:.3f}"
        for r in table_rows if r["width"] == width)


def capacity_text(P, table_rows) -> str:
    """Per width: each model's averaged accuracy minus the M = 1 network's, and its D_dis."""
    lines = []
    for w in P.widths:
        base = pick(table_rows, w, "MIMO M=1")["acc"]
        lines.append(f"width {w:g}: " + "; ".join(
            f"{r['name']} {100 * (r['acc'] - base):+.2f} pp (D_dis {r['d_dis']:.3f})"
            for r in table_rows if r["width"] == w and r["name"] != "MIMO M=1"))
    return "\n".join(lines)


def cost_text(P, table_rows) -> str:
    """Per width and M > 1: MIMO's and the deep ensemble's cost relative to the M = 1 network
    (parameters, training images, measured seconds, passes) and their accuracy."""
    lines = []
    for w in P.widths:
        m1 = pick(table_rows, w, "MIMO M=1")
        for m in [m for m in P.members if m > 1]:
            r = pick(table_rows, w, f"MIMO M={m}")
            e = pick(table_rows, w, f"deep ensemble of {m}")
            lines.append(
                f"width {w:g}, M = {m}: MIMO {r['params'] / m1['params']:.2f}x the parameters, "
                f"{r['train_images'] / m1['train_images']:.0f}x the training images "
                f"({r['seconds']:.0f} s measured), 1 pass: {100 * r['acc']:.2f} %; deep ensemble "
                f"{e['params'] / m1['params']:.0f}x, {e['train_images'] / m1['train_images']:.0f}x "
                f"({e['seconds']:.0f} s), {e['passes']} passes: {100 * e['acc']:.2f} %")
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# uncertainty and the claims table
#
# Every network trains with ``P.seeds`` seeds (the M = 1 network with :func:`m1_seeds`), and the
# claims read means over them. A comparison of networks is a contrast of means with Welch's t
# interval (:func:`helpers.stats.contrast_t`), each network with its own seed-to-seed spread of
# the measure compared (they differ: MIMO M = 3 is the noisiest); a deep ensemble's spread is
# that of the disjoint ensembles. A ratio of disagreements is averaged over seeds, each seed's
# ratio from networks no other seed uses, with Student's t interval. The pooled SD
# (:func:`seed_spread`) only sizes what the run counts can detect and the figures' band. With one
# seed a network the seed rule (:func:`helpers.claims.seed_rule`) keeps a row inconclusive.


def accuracy_groups(P, R) -> dict:
    """``{(width, name): [accuracy of each run, pp]}`` of every MIMO and naive network: the
    groups whose spread :func:`seed_spread` pools."""
    return {k: [100 * metrics.accuracy(r.probs(), r.labels) for r in g] for k, g in R.items()}


def seed_spread(P, R) -> tuple[float, int]:
    """The run-to-run SD of a network's accuracy (pp), pooled over every MIMO and naive network
    at every width (:func:`helpers.stats.pooled_sd`), and its degrees of freedom."""
    return stats.pooled_sd(list(accuracy_groups(P, R).values()))


def difference_band(P, R) -> float:
    """Half-width (pp) of the 95% interval of a difference between a network's mean over
    ``P.seeds`` runs and the M = 1 network's over :func:`m1_seeds` (NaN without a spread)."""
    sd, df = seed_spread(P, R)
    n1 = len(R[(P.ref_width, "M=1")])
    n = len(R[(P.ref_width, "M=2")]) if (P.ref_width, "M=2") in R else n1
    e = stats.contrast_from_spread(0.0, sd, df, [n, n1])
    return e.hi if e.has_interval else float("nan")


def run_ratios(table_rows, width, top: str, bottom: str, key: str = "d_dis") -> list[float]:
    """Per seed s at ``width``: run s's ``key`` in row ``top`` over run s's in row ``bottom``
    (:func:`rows`; as many as the shorter row has). The diversity row divides MIMO M = 2's
    D_dis by the deep ensemble of 2's, whose s-th ensemble is the M = 1 network's runs 2s-1
    and 2s (its own pair, which no other seed uses); the naive row divides the naive heads'
    D_dis by MIMO M = 2's (independent networks)."""
    a, b = pick(table_rows, width, top)["runs"], pick(table_rows, width, bottom)["runs"]
    return [x[key] / y[key] for x, y in zip(a, b)]


# Two claims' tests, our lines (the source gives none): M = 2's heads "comparable to independent
# seeds" if they reach at least half their disagreement; the naive heads "essentially zero
# diversity" below a quarter of MIMO M = 2's D_dis (the source's own ratio: 0.005 / 0.139 = 0.04)
DIVERSE = claims.above(0.5)
NAIVE_FEW = claims.below(0.25)


@gates.gate(CHAPTER, maxsize=0)  # not memoized: a fresh table each call
def claims_table(P):
    """The chapter's claims, every row with its 95% interval over runs (see the comment above).
    Every row goes through the seed rule (:func:`helpers.claims.seed_row`), as in chapters 01
    and 02: a row without an interval over runs (one seed a network) is kept inconclusive."""
    P, R = experiment(P)
    rows_ = rows(P, R)
    w, wide, narrow = P.ref_width, max(P.widths), min(P.widths)
    m1, m2, m3 = (pick(rows_, w, f"MIMO M={m}") for m in (1, 2, 3))
    naive = pick(rows_, w, f"naive M={P.naive_members}")
    de2, de3 = pick(rows_, w, "deep ensemble of 2"), pick(rows_, w, "deep ensemble of 3")

    def contrast(*terms):  # Σ coef · mean over a row's runs of 100 · key, (coef, row, key): pp
        return stats.contrast_t([[100 * r[key] for r in row["runs"]] for _, row, key in terms],
                                [c for c, _, _ in terms])

    def runs_mean(row, key):  # the mean over a row's runs of one measure, t over its runs
        return stats.mean_t([r[key] for r in row["runs"]], unit="runs")

    source_scale = P.model == "resnet20" and P.n_train is None and w == 1
    ours = (f"{P.model} at width {w:g} ({m1['params']:,} parameters; ResNet20: 272k), {P.epochs} "
            f"epochs on {P.n_train or 'all'} training images (M = 1 at {100 * m1['acc']:.0f} %)")
    why = (f"the source's network and data, but {P.epochs} epochs with batch repetition "
           f"{P.batch_rep} (Havasi et al.'s recipe: {HAVASI_EPOCHS} epochs with "
           f"{HAVASI_BATCH_REP}), so a shorter schedule lowers every absolute accuracy"
           if source_scale and P.epochs < HAVASI_EPOCHS else "" if source_scale else
           f"the source's figure is for ResNet20v1 on full CIFAR-10; this run is {ours}")
    means = f"means over {m2['n']} runs a network ({m1['n']} of M = 1)"
    seed1 = SEED + config.seed_base(P)

    T = claims.ClaimsTable("04_mimo", P.profile, R[(w, "M=1")][0].variant, config.seed_base(P))

    def add(*args, **kw):  # T.add under the seed rule
        return claims.seed_row(T, *args, **kw)

    add("seed 000 §4", "ResNet20, M = 1: test accuracy", "89.53 %", contrast((1, m1, "acc")),
        claims.within(89.53, 1.5), fmt="{:.2f} %", testable=source_scale,
        note="; ".join(x for x in (
            f"mean over the M = 1 network's {m1['n']} runs (seed {seed1}: "
            f"{100 * m1['runs'][0]['acc']:.2f} %)", why) if x))
    T.check("seed 000 §4", "M = 1: zero disagreement", "D_dis 0", m1["d_dis"],
            claims.within(0, 0), fmt="{:.3f}", note="by construction (a single head)")
    add("seed 000 §4", "M = 2: D_dis of ResNet20's two heads", "0.139", runs_mean(m2, "d_dis"),
        claims.within(0.139, 0.04), fmt="{:.3f}", testable=source_scale, note=why)
    ratios = run_ratios(rows_, w, "MIMO M=2", "deep ensemble of 2")
    add("seed 000 §3-4", "M = 2 finds real diversity, comparable to independent seeds (D_dis "
        "of the heads / disagreement of two independently trained M = 1 networks)",
        "0.139 vs 0.1097 (§3): 1.3x", stats.mean_t(ratios, unit="seeds"), DIVERSE,
        fmt="{:.2f}x",
        note=f"mean over {len(ratios)} seeds of one M = 2 network's D_dis over the "
        f"disagreement of its own pair of M = 1 networks; {m2['d_dis']:.3f} / "
        f"{de2['d_dis']:.3f} on average; the heads' mean accuracy "
        f"{100 * m2['head_acc_mean']:.2f} %, the M = 1 networks' "
        f"{100 * de2['head_acc_mean']:.2f} %; per unit of error (D_dis / (1 − mean head "
        f"accuracy)) the ratio is "
        + stats.mean_t(run_ratios(rows_, w, "MIMO M=2", "deep ensemble of 2", "error_dis"),
                       unit="seeds").text("{:.2f}x")
        + "; > 0.5x is our line for \"comparable\" (the sources give none)")
    add("seed 000 §4", "M = 2: per-head accuracy of ResNet20", "~87.5 %",
        contrast((1, m2, "head_acc_mean")), claims.within(87.5, 1.5), fmt="{:.2f} %",
        testable=source_scale, note=why)
    add("seed 000 §4", "M = 2: the heads lose accuracy (mean head minus the M = 1 network)",
        "≈ −2.0 pp (89.53 → ~87.5)", contrast((1, m2, "head_acc_mean"), (-1, m1, "acc")),
        claims.below(0), fmt="{:+.2f} pp", note=means)
    add("seed 000 §4", "M = 2: the ensemble's accuracy is unchanged (minus the M = 1 "
        "network)", "≈ 0 pp ('unchanged')", contrast((1, m2, "acc"), (-1, m1, "acc")),
        claims.within(0, 1.0), fmt="{:+.2f} pp", note=means)
    add("seed 000 §4", "M = 3: per-head accuracy of ResNet20", "~84 %",
        contrast((1, m3, "head_acc_mean")), claims.within(84, 1.5), fmt="{:.2f} %",
        testable=source_scale, note=why)
    add("seed 000 §4", "M = 3: the heads lose more than at M = 2 (mean head at M = 3 minus "
        "at M = 2)", "≈ −3.5 pp (~84 % vs ~87.5 %)",
        contrast((1, m3, "head_acc_mean"), (-1, m2, "head_acc_mean")), claims.below(0),
        fmt="{:+.2f} pp", note=f"means over {m2['n']} runs a network")
    add("seed 000 §4", "M = 3: ResNet20's ensemble accuracy", "86.91 %", contrast((1, m3, "acc")),
        claims.within(86.91, 1.5), fmt="{:.2f} %", testable=source_scale, note=why)
    add("seed 000 §4", "M = 3 breaks: the ensemble falls below the M = 1 network",
        "−2.62 pp (89.53 → 86.91)", contrast((1, m3, "acc"), (-1, m1, "acc")), claims.below(0),
        fmt="{:+.2f} pp", note=means)
    add("seed 000 §4", "Naive multi-head: ResNet20's per-head accuracy", "89.3 %",
        contrast((1, naive, "head_acc_mean")), claims.within(89.3, 1.5), fmt="{:.2f} %",
        testable=source_scale, note=why)
    add("seed 000 §4", "Naive multi-head: heads as accurate as the M = 1 network (mean head "
        "minus M = 1)", "−0.23 pp (89.53 → 89.3)",
        contrast((1, naive, "head_acc_mean"), (-1, m1, "acc")), claims.within(0, 1.0),
        fmt="{:+.2f} pp", note=means)
    add("seed 000 §4", "Naive multi-head: D_dis of ResNet20's heads", "0.005",
        runs_mean(naive, "d_dis"), claims.below(0.02), fmt="{:.3f}", testable=source_scale,
        note=why)
    nratios = run_ratios(rows_, w, f"naive M={P.naive_members}", "MIMO M=2")
    add("seed 000 §4", f"Naive heads barely disagree: D_dis of the naive M = "
        f"{P.naive_members} over MIMO M = 2's", "0.005 / 0.139 (M = 2): 0.04",
        stats.mean_t(nratios, unit="seeds"), NAIVE_FEW, fmt="{:.2f}",
        note=f"mean over {len(nratios)} seeds of the ratio of seed s's naive network to seed "
        f"s's M = 2; {naive['d_dis']:.3f} / {m2['d_dis']:.3f} on average; the naive D_dis is "
        f"{naive['d_dis'] / 0.005:.0f}x the source's and "
        f"{naive['d_dis'] / de2['d_dis']:.0%} of the disagreement of two independent seeds; "
        "the denominator is MIMO M = 2's, as the source sets its naive heads beside M = 2's "
        f"0.139; over MIMO M = {P.naive_members}'s instead: "
        + stats.mean_t(run_ratios(rows_, w, f"naive M={P.naive_members}",
                                  f"MIMO M={P.naive_members}"), unit="seeds").text("{:.2f}")
        + "; < 0.25 is our line for \"essentially zero diversity\" (the source's ratio: 0.04)")

    def best(width):  # the M > 1 network whose mean averaged accuracy is highest at a width
        return max((pick(rows_, width, f"MIMO M={m}") for m in P.members if m > 1),
                   key=lambda r: r["acc"])

    def gain(width):
        return 100 * (best(width)["acc"] - pick(rows_, width, "MIMO M=1")["acc"])
    p_narrow = pick(rows_, narrow, "MIMO M=1")["params"]
    p_wide = pick(rows_, wide, "MIMO M=1")["params"]
    add("seed 000 §4; Havasi et al.", "The gains need capacity: MIMO's best gain over M = 1 "
        "grows from the narrowest to the widest backbone",
        "ResNet20: ≤ 0 pp; WRN-28-10 (36.5M): gains",
        contrast((1, best(wide), "acc"), (-1, pick(rows_, wide, "MIMO M=1"), "acc"),
                 (-1, best(narrow), "acc"), (1, pick(rows_, narrow, "MIMO M=1"), "acc")),
        claims.above(0), fmt="{:+.2f} pp",
        note=f"{gain(narrow):+.2f} pp at width {narrow:g} ({p_narrow:,} parameters; "
        f"{best(narrow)['name']}) → {gain(wide):+.2f} pp at {wide:g} ({p_wide:,}; "
        f"{best(wide)['name']}); {means}; the best of the M > 1 networks is picked at each "
        "width; both widths are far from the surplus capacity the source ties the gains to "
        "(next row), so this tests only the direction at small sizes")
    surplus = P.model == "resnet20" and wide >= 4
    add("seed 000 §4; Havasi et al.", "With surplus capacity MIMO's ensemble beats its M = 1 "
        "network (widest backbone)", "gains on WRN-28-10",
        contrast((1, best(wide), "acc"), (-1, pick(rows_, wide, "MIMO M=1"), "acc")),
        claims.above(0), fmt="{:+.2f} pp", testable=surplus,
        note="" if surplus else f"the widest backbone here is {P.model} at width {wide:g} "
        f"({p_wide:,} parameters), far from surplus capacity (WRN-28-10: 36.5M)")
    nll = stats.contrast_t([[r["nll"] for r in m3["runs"]], [r["nll"] for r in de3["runs"]]],
                           [1, -1])
    add("seed 000 §5", "Deep ensembles remain the gold standard for uncertainty: lower test NLL "
        "than MIMO (MIMO M = 3 minus the deep ensemble of 3)",
        "'the gold standard for uncertainty estimation'", nll, claims.above(0),
        fmt="{:+.3f} nats",
        note=f"{de3['n']} deep ensembles of 3 (disjoint M = 1 runs) against {m3['n']} MIMO M = 3 "
        f"networks; mean NLL {de3['nll']:.3f} against {m3['nll']:.3f}; accuracy "
        + contrast((1, de3, "acc"), (-1, m3, "acc")).text("{:+.2f}", " pp")
        + f" (deep ensemble minus MIMO); calibration error (ECE) {100 * de3['ece']:.2f} % for "
        f"the deep ensemble, {100 * m3['ece']:.2f} % for MIMO M = 3 and {100 * m1['ece']:.2f} % "
        f"for a single M = 1 network (means, no interval); at the cost of "
        f"{de3['params'] / m3['params']:.1f}x MIMO M = 3's parameters, 3 trainings and 3 "
        "forward passes")
    return T


def detectable_sentences(P, R) -> list[str]:
    """What a comparison of two networks' means can detect, from the pooled seed spread (a
    typical one), and whether the networks' spreads differ (Bartlett's test)."""
    sd, df = seed_spread(P, R)
    n1 = len(R[(P.ref_width, "M=1")])
    n = len(R[(P.ref_width, "M=2")])
    if df < 1:
        return ["One run per network and no seed spread to compare with: no comparison of two "
                "networks can be decided at this profile."]
    groups = accuracy_groups(P, R)
    two = stats.detectable_contrast(sd, [n, n], df)
    one = stats.detectable_contrast(sd, [n, n1], df)
    cap = stats.detectable_contrast(sd, [n, n1, n, n1], df)
    out = [f"A network's accuracy varies by {sd:.2f} pp (SD) from seed to seed, pooled over the "
           f"{len(groups)} MIMO and naive networks (df {df}). With {n} runs a network and {n1} "
           f"of M = 1, a difference of about {two:.1f} pp between two networks' means "
           f"({one:.1f} pp against the M = 1 network, {cap:.1f} pp for the capacity row's "
           "difference of two gains) is detected with 80% power at the 5% level for networks "
           "of typical spread; smaller gaps may be left inconclusive, which does not make them "
           "zero."]
    note = stats.equal_spread_note(list(groups.values()), "networks")
    return out + ([note + "; the claims' intervals take each network's own spread (Welch's t "
                   "interval), so they do not rest on one."] if note else [])


# --------------------------------------------------------------------------------------------
# sentences computed from the runs, glued into captions and the closing section


def spread_sentence(P, R) -> str:
    """Figure 1's caption: what each point averages, and the gap between a network and the
    M = 1 network that the pooled seed-to-seed spread allows (:func:`difference_band`)."""
    n1 = len(R[(P.ref_width, "M=1")])
    n = len(R[(P.ref_width, "M=2")])
    s0 = SEED + config.seed_base(P)
    runs_ = (f"Every point is a mean over {prose.plural(n, 'run')} of its network (seeds {s0} "
             f"to {s0 + n - 1}; the M = 1 network's over {n1}, seeds {s0} to {s0 + n1 - 1}; a "
             "deep ensemble of M networks is a mean over the ensembles that those M = 1 runs "
             "make without sharing a member)")
    band = difference_band(P, R)
    if not np.isfinite(band):
        return runs_ + (", and with one run of each network nothing here says how far other "
                        "seeds would move one.")
    sd, _ = seed_spread(P, R)
    return (runs_ + f". For a network of typical spread (pooled over them, {sd:.2f} pp SD), a "
            f"gap of up to ±{band:.2f} pp between its mean and the M = 1 network's is within "
            "what other seeds could produce (the 95% interval of that difference; the grey band "
            "around the dashed line); the claims take each network's own spread instead. A deep "
            "ensemble is made of the very M = 1 runs it is compared with, so the band does not "
            "apply to it.")


def capacity_sign(P, table_rows, band: float = float("nan")) -> str:
    """The sign of every MIMO network's mean gain over the M = 1 network of its width, and how
    many of those gaps exceed ``band`` (:func:`difference_band`, pp; NaN: not said)."""
    gaps = [(w, m, 100 * (pick(table_rows, w, f"MIMO M={m}")["acc"]
                          - pick(table_rows, w, "MIMO M=1")["acc"]))
            for w in P.widths for m in P.members if m > 1]
    if not gaps:
        return ""
    values = [g for *_, g in gaps]
    ms = sorted({m for _, m, _ in gaps})
    each = f"M = {ms[0]}" if len(ms) == 1 else f"M = {prose.join([str(m) for m in ms])} alike"
    span_ = f"{min(values):+.2f} to {max(values):+.2f} pp, means over runs"
    if all(g < 0 for g in values):
        text = (f"At every width MIMO's averaged prediction is below its M = 1 network's, for "
                f"{each} ({span_})")
    elif all(g > 0 for g in values):
        text = (f"At every width MIMO's averaged prediction is above its M = 1 network's, for "
                f"{each} ({span_})")
    else:
        up = [f"M = {m} at width {w:g} ({g:+.2f} pp)" for w, m, g in gaps if g > 0]
        text = (f"MIMO's averaged prediction is above its M = 1 network's only for "
                f"{prose.join(up)}, and at or below it for the other {len(gaps) - len(up)} of "
                f"the {len(gaps)} MIMO networks ({span_})")
    if not np.isfinite(band):
        return text + "."
    out = sum(abs(g) > band for g in values)
    if out == len(values):
        tail = (f"; every one of these gaps is wider than the ±{band:.2f} pp that other seeds "
                "could produce for a network of typical spread")
    elif out == 0:
        tail = (f"; none of these gaps is wider than the ±{band:.2f} pp that other seeds could "
                "produce for a network of typical spread")
    else:
        tail = (f"; {out} of these {len(values)} gaps {'is' if out == 1 else 'are'} wider than "
                f"the ±{band:.2f} pp that other seeds could produce for a network of typical "
                "spread")
    return text + tail + "."


def heads_against_seeds(P, table_rows) -> str:
    """MIMO M = 2's heads against the independently trained M = 1 networks whose pairs'
    disagreement the diversity row divides by: their mean accuracies at the reference width."""
    w = P.ref_width
    heads = 100 * pick(table_rows, w, "MIMO M=2")["head_acc_mean"]
    nets = 100 * pick(table_rows, w, "deep ensemble of 2")["head_acc_mean"]
    gap = f"{heads:.2f} % against {nets:.2f} % on average, {heads - nets:+.2f} pp"
    if heads < nets:
        return (f"Its heads are also less accurate than those M = 1 networks ({gap}), and less "
                "accurate classifiers disagree more (their errors leave more room to differ): "
                "part of the heads' disagreement is lost accuracy, not diversity.")
    return (f"Its heads are at least as accurate as those M = 1 networks ({gap}), so their "
            "disagreement is not a by-product of extra errors.")


def uncertainty_sentence(P, table_rows) -> str:
    """Beside the claims table's NLL row: the deep ensemble of the largest M against MIMO of
    that M on accuracy, and both against a single M = 1 network on calibration error (ECE),
    means over runs, no interval."""
    m, w = max(P.members), P.ref_width
    e, r = pick(table_rows, w, f"deep ensemble of {m}"), pick(table_rows, w, f"MIMO M={m}")
    one = pick(table_rows, w, "MIMO M=1")
    best = min((e, r, one), key=lambda x: x["ece"])
    name = {id(e): f"the deep ensemble of {m}", id(r): f"MIMO M = {m}",
            id(one): "the single M = 1 network"}
    return (f"On accuracy the deep ensemble of {m} is {100 * (e['acc'] - r['acc']):+.2f} pp "
            f"against MIMO M = {m}; on calibration error (ECE, lower is better) it is at "
            f"{100 * e['ece']:.2f} %, MIMO M = {m} at {100 * r['ece']:.2f} % and a single M = 1 "
            f"network at {100 * one['ece']:.2f} %, so {name[id(best)]} is the best calibrated "
            f"here (means over {e.get('n', 1)} ensembles and {r.get('n', 1)} networks, no "
            "interval).")


# Havasi et al.'s CIFAR recipe (their paper and reference code; not a figure of seed 000)
HAVASI_EPOCHS, HAVASI_BATCH_REP = 250, 4


def profile_sentence(profile: str) -> str:
    """Which networks the chapter's preset at ``profile`` trains, in words, read from
    :mod:`helpers.config` (so the introduction cannot go stale when a preset changes)."""
    Q = config.chapter_params(CHAPTER, profile)
    naive = naive_widths(Q)
    images = ("the full CIFAR-10" if Q.n_train is None
              else f"a class-balanced {Q.n_train:,}-image subset of the training set")
    where = ("at every width" if set(naive) == set(Q.widths)
             else f"at width {prose.join([f'{w:g}' for w in naive])} only")
    return (f"{models.display_name(Q.model)} at widths "
            f"{prose.join([f'{w:g}' for w in Q.widths])} on {images}, in {Q.precision}: "
            f"MIMO with M = {prose.join([str(m) for m in Q.members])} (and the naive control "
            f"{where}), "
            f"{prose.plural(Q.seeds, 'seed')} of each network "
            f"({m1_seeds(Q)} of M = 1: the deep ensembles' members and the independent pairs "
            "that MIMO's diversity is compared with)")


def scale_sentence() -> str:
    """How long the `cpu` and `gpu` presets train a network, next to Havasi et al.'s 250 epochs
    with batch repetition 4, read from the presets so that it cannot go stale."""
    def recipe(profile):
        P = config.chapter_params(CHAPTER, profile)
        n = P.n_train or 50_000
        steps = P.epochs * train.epoch_steps(mimo_spec(P, P.ref_width, 2), n)
        rep = ("without batch repetition" if P.batch_rep == 1
               else f"with batch repetition {P.batch_rep}")
        return (f"for {P.epochs} epochs {rep} on {n:,} images ({steps:,} steps, "
                f"{P.epochs * P.batch_rep} passes over its data)")
    return (f"Here the `cpu` profile trains a network {recipe('cpu')} and the `gpu` profile "
            f"{recipe('gpu')}, against their {HAVASI_EPOCHS * HAVASI_BATCH_REP:,} passes.")


# --------------------------------------------------------------------------------------------
# the closing section's prose: each sentence is the one its row's verdict calls for (glued into
# the page by helpers.prose, so that a page executed at any profile says what its table decides)

SOURCE_FIGURES = ("ResNet20, M = 1: test accuracy", "M = 2: D_dis of", "M = 2: per-head",
                  "M = 3: per-head", "M = 3: ResNet20's", "Naive multi-head: ResNet20's",
                  "Naive multi-head: D_dis")


def closing_reading(P, T: claims.ClaimsTable, R=None) -> dict:
    """The paragraphs of 'What this shows' (``close_mechanism``, ``close_price``,
    ``close_capacity``, ``close_cost``, ``close_source``) from the claims table ``T``, and
    ``close_scale`` (:func:`scale_sentence`); with the runs ``R``, the sentences computed from
    them (:func:`heads_against_seeds`, :func:`capacity_sign`, :func:`uncertainty_sentence`)."""
    keys = ("close_mechanism", "close_price", "close_capacity", "close_cost", "close_source")
    scale = {"close_scale": scale_sentence()}
    if T.untested():
        return dict(dict.fromkeys(keys, T.untested()), **scale)
    H, D, I = claims.HOLDS, claims.DIFFERS, claims.INCONCLUSIVE
    say = T.say
    table_rows = rows(P, R) if R is not None else None
    div = T.find("M = 2 finds real diversity")
    lo, hi = div.interval if div.interval and None not in div.interval else (div.measured,) * 2
    than = ("more than" if lo is not None and lo > 1 else
            "less than" if hi is not None and hi < 1 else "about as much as")
    mechanism = (
        f"In this run the heads of one MIMO network, each given its own, independently drawn "
        f"image in training, disagree {than} two independently trained networks do: "
        + say("M = 2 finds real diversity", {
            H: "MIMO M = 2's heads reach {m} the disagreement of two M = 1 seeds (interval "
               "{ci}; $D_{{dis}}$ in Table 1 and Figure 2, right). The claims row asks only for "
               "more than half ({test}), and holds.",
            D: "MIMO M = 2's heads reach {m} the disagreement of two M = 1 seeds (interval "
               "{ci}). The claims row asks for more than half ({test}), and differs: the whole "
               "interval is below it.",
            I: "MIMO M = 2's heads reach {m} the disagreement of two M = 1 seeds (interval "
               "{ci}; $D_{{dis}}$ in Table 1 and Figure 2, right). The claims row asks for more "
               "than half ({test}); its interval does not clear that bound, so the row is "
               "*inconclusive*."})
        + (" " + heads_against_seeds(P, table_rows) if table_rows is not None else ""))
    mechanism += " " + say("Naive heads barely disagree", {
        H: "The naive multi-head network, whose heads all see the same image, keeps its heads "
           "together ({m} of MIMO M = 2's $D_{{dis}}$, interval {ci}, below the test's quarter; "
           "the source: 0.04): the diversity comes from routing different inputs to the heads.",
        D: "The naive multi-head network, whose heads all see the same image, keeps its heads "
           "at {m} of MIMO M = 2's $D_{{dis}}$: the control is weaker here than in the "
           "source, and the row \"naive heads barely disagree\" *differs*: over its whole "
           "interval ({ci}) the naive heads' $D_{{dis}}$ is more than the test's quarter of "
           "MIMO M = 2's (the source: 0.04). The row's note gives it as a multiple of the "
           "source's and as a share of the disagreement between two independent seeds.",
        I: "The naive multi-head network, whose heads all see the same image, keeps its heads "
           "at {m} of MIMO M = 2's $D_{{dis}}$ (interval {ci}): whether that is below the "
           "test's quarter (the source: 0.04), these runs cannot decide."})
    price = (
        "Each MIMO head " + say("M = 2: the heads lose accuracy", {
            H: "is less accurate than the M = 1 network (M = 2: {m})",
            D: "is not less accurate than the M = 1 network (M = 2: {m}, interval {ci})",
            I: "may be less accurate than the M = 1 network (M = 2: {m}, interval {ci}: "
               "undecided)"})
        + ", and " + say("M = 3: the heads lose more", {
            H: "loses more at M = 3 than at M = 2 ({m}, M = 3 minus M = 2)",
            D: "does not lose more at M = 3 than at M = 2 ({m}, interval {ci})",
            I: "whether it loses more at M = 3 than at M = 2 is undecided ({m}, interval {ci})"})
        + ". In the source the M = 2 ensemble breaks even and the M = 3 ensemble loses; here "
        + say("M = 2: the ensemble's accuracy", {
            H: "averaging the M = 2 heads brings the ensemble within a point of the M = 1 network "
               "({m}: \"unchanged\" holds)",
            D: "the M = 2 ensemble is not unchanged: it differs from the M = 1 network by {m}, "
               "its interval ({ci}) wholly outside ±1 pp, so \"unchanged\" *differs*",
            I: "whether the M = 2 ensemble is as accurate as the M = 1 network is undecided "
               "({m}, interval {ci}, against ±1 pp)"})
        + ", and " + say("M = 3 breaks", {
            H: "the M = 3 ensemble falls below the M = 1 network ({m}: \"M = 3 breaks\" holds)",
            D: "the M = 3 ensemble does not fall below the M = 1 network ({m}, interval {ci}: "
               "\"M = 3 breaks\" *differs*)",
            I: "whether the M = 3 ensemble falls below the M = 1 network is undecided ({m}, "
               "interval {ci})"})
        + ". The naive heads, which share the whole network and all learn the same task, "
        + say("Naive multi-head: heads as accurate", {
            H: "are as accurate as the M = 1 network within a point ({m}), as in the source.",
            D: "differ from the M = 1 network by more than a point ({m}, interval {ci}).",
            I: "are at {m} relative to the M = 1 network (the source: -0.23 pp), but at these "
               "run counts their gap cannot be placed inside or outside the test's ±1 pp "
               "(interval {ci}): that row is *inconclusive*."}))
    wide = max(P.widths)
    sign = (capacity_sign(P, table_rows, difference_band(P, R)) + " "
            if table_rows is not None else "")
    capacity = (
        sign + say("The gains need capacity", {
            H: "Widening the backbone helps MIMO: its best gain over the M = 1 network grows from "
               "the narrowest to the widest backbone ({m}, interval {ci}; Figure 2, left).",
            D: "Widening the backbone does not help MIMO here: its best gain over the M = 1 "
               "network falls from the narrowest to the widest backbone ({m}, interval {ci}; "
               "Figure 2, left).",
            I: "Whether MIMO's best gain over the M = 1 network grows as the backbone widens, "
               "the runs cannot decide: the capacity row's interval straddles zero ({m}, "
               "interval {ci}; Figure 2, left)."})
        + " " + say("With surplus capacity", {
            claims.NOT_TESTABLE: f"The surplus-capacity row is not testable here: the widest "
                                 f"backbone, {models.display_name(P.model)} at width {wide:g}, "
                                 "is far short of "
                                 "WRN-28-10's 36.5M parameters.",
            H: "With the widest backbone MIMO's ensemble beats its M = 1 network ({m}, interval "
               "{ci}).",
            D: "Even the widest backbone's MIMO ensemble stays below its M = 1 network ({m}, "
               "interval {ci}).",
            I: "Whether the widest backbone's MIMO ensemble beats its M = 1 network is undecided "
               "({m}, interval {ci})."}))
    cost = say("Deep ensembles remain the gold standard", {
        H: "On the uncertainty that seed 000 §5 calls deep ensembles 'the gold standard' for, the "
           "claims table finds the deep ensemble of 3 ahead of MIMO M = 3: MIMO's test NLL is "
           "higher by {m} (interval {ci}), at three trainings and three forward passes to "
           "MIMO's one, and more parameters (Table 1).",
        D: "On the uncertainty that seed 000 §5 calls deep ensembles 'the gold standard' for, "
           "MIMO M = 3 is at least as good here: its test NLL minus the deep ensemble of 3's is "
           "{m} (interval {ci}), at a third of the trainings and forward passes.",
        I: "Whether the deep ensemble of 3 has a lower test NLL than MIMO M = 3, the uncertainty "
           "that seed 000 §5 calls deep ensembles 'the gold standard' for, these runs cannot "
           "decide ({m}, interval {ci})."})
    if table_rows is not None:
        cost += " " + uncertainty_sentence(P, table_rows)
    rows_ = [T.find(s) for s in SOURCE_FIGURES]
    testable = [r for r in rows_ if r.verdict != claims.NOT_TESTABLE]
    if not testable:
        source = (f"None of the source's {len(rows_)} ResNet20 figures is testable at this "
                  "profile: they need ResNet20v1 at width 1 on the full CIFAR-10 (the `gpu` "
                  "profile, which still trains for far fewer epochs than the source's "
                  "recipe).")
    else:
        counts = {v: sum(r.verdict == v for r in testable) for v in (H, D, I)}
        verb = {H: ("holds", "hold"), D: ("differs", "differ"),
                I: ("is inconclusive", "are inconclusive")}
        said = [f"{counts[v]} {verb[v][counts[v] != 1]}" for v in (H, D, I)]
        source = (f"Of the source's {len(rows_)} ResNet20 figures, {said[0]}, {said[1]} and "
                  f"{said[2]}: " + "; ".join(
                      f"{r.statement}: {r.measured_text} against {r.expected} ({r.verdict})"
                      for r in testable) + ".")
        if counts[I]:
            source += (" An inconclusive figure's interval reaches past the test's margin: "
                       "more seeds would narrow it.")
    return dict(zip(keys, (mechanism, price, capacity, cost, source)), **scale)
