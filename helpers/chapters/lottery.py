"""Lottery tickets (chapter 02): iterative magnitude pruning over cached runs, its controls, and the
analyses of Frankle & Carbin (2019; seed 003) and of seed 000 §2.

* :func:`imp` -- iterative magnitude pruning: train the dense network, prune a fraction of the
  surviving weights (:func:`helpers.pruning.magnitude_mask`), *reset* the survivors to their
  initial values θ0 (the same ``seed_init``) or *rewind* them to the dense run's weights at an
  early epoch (``Spec.init_from``), retrain with the mask held fixed (``Spec.mask``: pruned
  weights stay exactly zero), and repeat. Each round is one cached run.
* :func:`controls` -- at every sparsity: the same mask with a fresh random initialization
  ("reinit"), and a random mask of the same per-layer sparsity from θ0 ("random mask").
* :func:`early_stop` -- the paper's learning-speed measure: the iteration of the minimum
  validation loss and the test accuracy there. The saved test subset is split in two: even
  positions are the validation half, odd positions the test half.
* :func:`curve`, :func:`matching_extent`, :func:`seed_overlap` -- the figures' numbers.

The cached-run gates :func:`experiment`, :func:`resnet_experiment` and :func:`width_experiment`
are memoized on the chapter's parameters (:func:`helpers.gates.gate`): every cell of the chapter
starts with one of them, so any cell can run on its own after the notebook's top cells.
"""
from __future__ import annotations

import dataclasses

import numpy as np
from .. import claims, config, gates, metrics, models, pruning, runs, stats, train

CHAPTER = "02_lottery_tickets"
REINIT_OFFSET = 1000      # the control's fresh initialization: seed_init + 1000
RANDOM_MASK_OFFSET = 2000  # the random mask's seed: chain seed + 2000 + round


@dataclasses.dataclass
class Round:
    """One network of an IMP chain (or a control): its mask, sparsity and cached run."""

    round: int
    density: float         # fraction of prunable weights remaining (1.0 = dense)
    mask: dict | None      # None for the dense network
    run: runs.Run
    kind: str = "ticket"   # ticket | reinit | random mask


def spec_from(P, prefix: str = "", seed: int = 1, **changes) -> train.Spec:
    """The run spec of a chapter part: keys ``<prefix>model``, ``<prefix>width``, ... of ``P``.

    The Conv-k part (no prefix) keeps the test logits (not the weights) of ``P.es_points`` evenly
    spaced epochs (every epoch when it equals ``epochs``: early stopping reads the validation loss
    there) and the final weights (the next round's mask); the ResNet part (``rn_``) keeps the initialization, the rewind epoch and the last one
    (its figures use the final accuracy: evaluating a ResNet every epoch costs too much on a CPU)."""
    epochs = getattr(P, prefix + "epochs")
    spec = train.spec_from(
        P, prefix,
        save_epochs=() if not prefix else (0, P.rn_rewind_epoch, epochs),
        logit_epochs=kept_epochs(epochs, P.es_points)[1:] if not prefix else (),
    )
    return spec.with_seed(config.seed_base(P) + seed).replace(**changes)


def kept_epochs(epochs: int, points: int) -> tuple:
    """0 and ``points`` evenly spaced epochs up to ``epochs`` (all of them when points >= epochs)."""
    points = max(1, min(points, epochs))
    return tuple(sorted({0} | {round(i * epochs / points) for i in range(1, points + 1)}))


def prunable_weights(state: dict) -> dict:
    return {n: state[n] for n in pruning.prunable(state)}


def imp(base: train.Spec, rounds: int, rate, scope: str, reinit: str = "reset", rewind_epoch: int = 1,
        device="auto") -> list[Round]:
    """Iterative magnitude pruning from the dense run ``base``: ``rounds`` + 1 cached runs.

    ``reinit='reset'`` starts every round from θ0 (the spec's ``seed_init``); ``'rewind'`` from the
    dense run's weights (and batch-norm statistics) at ``rewind_epoch``.
    """
    return imp_chains([(base, reinit)], rounds, rate, scope, rewind_epoch, device)[0]


def imp_chains(chains, rounds: int, rate, scope: str, rewind_epoch: int = 1, device="auto") -> list[list[Round]]:
    """:func:`imp` of several chains ``[(base, reinit), ...]`` in lockstep: round r of every
    chain is asked of the runs cache in one call, so chains whose specs differ only in per-model
    fields (seeds, masks, rewinding points) train together on a GPU (one group instead of one run
    after another). Each chain's runs are exactly those :func:`imp` gives it alone."""
    for _, reinit in chains:
        if reinit not in ("reset", "rewind"):
            raise ValueError(f"unknown reinit {reinit!r}; choose one of: reset, rewind")
    dense = runs.get([b for b, _ in chains], device=device)
    out = [[Round(0, 1.0, None, d)] for d in dense]
    starts = [runs.store(d.state(rewind_epoch)) if reinit == "rewind" else "" for d, (_, reinit) in zip(dense, chains)]
    masks = [None] * len(chains)
    for r in range(1, rounds + 1):
        specs = []
        for k, (b, _) in enumerate(chains):
            masks[k] = pruning.magnitude_mask(prunable_weights(out[k][-1].run.state()), masks[k], rate, scope)
            # a pruned round's weights are read at its end only (the next mask); its logits
            # wherever the dense run keeps them
            specs.append(b.replace(mask=runs.store(masks[k]), init_from=starts[k], save_epochs=(),
                                   logit_epochs=tuple(sorted({*b.save_epochs, *b.logit_epochs}))))
        for k, got in enumerate(runs.get(specs, device=device)):
            out[k].append(Round(r, pruning.density(masks[k]), masks[k], got))
    return out


def control_specs(chain: list[Round]) -> tuple[list, list]:
    """(reinit specs, random-mask specs), one per pruned round of ``chain``."""
    reinit, rand = [], []
    for rd in chain[1:]:
        s = rd.run.spec
        reinit.append(s.replace(seed_init=s.seed_init + REINIT_OFFSET, init_from=""))
        rmask = pruning.random_mask_like(rd.mask, seed=s.seed_init + RANDOM_MASK_OFFSET + rd.round)
        rand.append(s.replace(mask=runs.store(rmask)))
    return reinit, rand


def controls(chain: list[Round], which=("reinit", "random mask"), device="auto") -> dict:
    """The controls of every pruned round: ``{'reinit': [Round], 'random mask': [Round]}``."""
    reinit, rand = control_specs(chain)
    out = {}
    for kind, specs in (("reinit", reinit), ("random mask", rand)):
        if kind not in which:
            continue
        got = runs.get(specs, device=device)
        out[kind] = [Round(rd.round, rd.density, runs.stored(s.mask), g, kind)
                     for rd, s, g in zip(chain[1:], specs, got)]
    return out


# ----------------------------------------------------------------------------------------------
# measures


def halves(n: int) -> tuple[np.ndarray, np.ndarray]:
    """(validation, test) positions of the saved test subset: even and odd positions."""
    idx = np.arange(n)
    return idx[0::2], idx[1::2]


def steps_per_epoch(spec: train.Spec, n_train_total: int = 50000) -> int:
    n = spec.n_train or n_train_total
    return n // min(spec.batch_size, n)


def early_stop(run) -> dict:
    """Iteration of the minimum validation loss (over the kept epochs after 0), and the test
    accuracy / loss there; also the final test accuracy. Accuracies in [0, 1]."""
    labels = run.labels
    val, test = halves(len(labels))
    epochs = [e for e in run.logit_epochs if e > 0]
    vloss = [metrics.nll(run.probs(e)[val], labels[val]) for e in epochs]
    best = epochs[int(np.argmin(vloss))]
    p_best, p_final = run.probs(best), run.probs()
    return dict(epoch=best, iteration=best * steps_per_epoch(run.spec),
                acc=metrics.accuracy(p_best[test], labels[test]),
                final_acc=metrics.accuracy(p_final[test], labels[test]),
                val_loss=float(np.min(vloss)))


def curve(rounds: list[Round]) -> dict:
    """Arrays over the rounds: density, early-stop iteration, accuracy there, final accuracy."""
    es = [early_stop(rd.run) for rd in rounds]
    return dict(density=np.array([rd.density for rd in rounds]),
                iteration=np.array([e["iteration"] for e in es]),
                acc=np.array([e["acc"] for e in es]),
                final_acc=np.array([e["final_acc"] for e in es]))


def matching_extent(density, acc, dense_acc: float, tol: float) -> float:
    """The smallest density reached by pruning while every network down to it stays within
    ``tol`` of ``dense_acc`` (accuracy at least dense - tol); densities in decreasing order."""
    order = np.argsort(-np.asarray(density))
    best = 1.0
    for i in order:
        if acc[i] >= dense_acc - tol:
            best = float(density[i])
        else:
            break
    return best


def seed_overlap(chain_a: list[Round], chain_b: list[Round]) -> dict:
    """Per pruned round: overlap of the two chains' masks (|a ∩ b| / |a|), what random masks of
    the same per-layer sparsities would share, the Jaccard index, and the test-half
    disagreement of the two tickets' predictions (and of the two dense networks')."""
    _, test = halves(len(chain_a[0].run.labels))
    out = dict(density=[], overlap=[], random=[], jaccard=[], disagreement=[])
    for a, b in zip(chain_a[1:], chain_b[1:]):
        out["density"].append(a.density)
        out["overlap"].append(pruning.overlap(a.mask, b.mask))
        out["random"].append(pruning.expected_random_overlap(a.mask, b.mask))
        out["jaccard"].append(pruning.jaccard(a.mask, b.mask))
        out["disagreement"].append(metrics.disagreement(a.run.probs()[test], b.run.probs()[test]))
    out = {k: np.array(v) for k, v in out.items()}
    out["dense_disagreement"] = metrics.disagreement(chain_a[0].run.probs()[test], chain_b[0].run.probs()[test])
    return out


def zero_fraction_kept(rd: Round) -> float:
    """Fraction of the pruned weights that are exactly zero in the trained run (1.0 if masks work)."""
    st = rd.run.state()
    pruned = sum(int((~m).sum()) for m in rd.mask.values())
    zeros = sum(int(((st[n] == 0) & ~m).sum()) for n, m in rd.mask.items())
    return zeros / max(1, pruned)


# ----------------------------------------------------------------------------------------------
# cached-run gates: every cell of the chapter starts with one of these


def rates(P):
    """Layer-wise pruning rates by kind (Conv-k) or one global rate."""
    if P.scope == "layer":
        return dict(conv=P.rate_conv, fc=P.rate_fc, output=P.rate_output)
    return P.rate_fc


@gates.gate(CHAPTER)
def experiment(P):
    """Parameters, the IMP chains of ``P.seeds`` seeds (reset to θ0) and seed 1's controls."""
    chains = tuple(tuple(c) for c in imp_chains([(spec_from(P, seed=s), "reset") for s in range(1, P.seeds + 1)],
                                                P.rounds, rates(P), P.scope, device=P.device))
    ctrl = controls(list(chains[0]), device=P.device)
    return P, chains, {k: tuple(v) for k, v in ctrl.items()}


@gates.gate(CHAPTER)
def resnet_experiment(P):
    """Parameters and, for the ResNet: the reset chain, the rewind chain, and the rewind chain's
    reinitialized controls (global pruning at ``rn_rate`` a round)."""
    base = spec_from(P, "rn_")
    reset, rewind = imp_chains([(base, "reset"), (base, "rewind")], P.rn_rounds, P.rn_rate, "global",
                               P.rn_rewind_epoch, device=P.device)  # in lockstep: they train together
    reinit = controls(rewind, which=("reinit",), device=P.device)["reinit"]
    return P, tuple(reset), tuple(rewind), tuple(reinit)


@gates.gate(CHAPTER)
def width_experiment(P):
    """Parameters and ``{width: IMP chain}`` (seed 1, reset) for every width in ``P.widths``."""
    chains = {w: tuple(imp(spec_from(P, seed=1, width=w), P.rounds, rates(P), P.scope, "reset", device=P.device))
              for w in P.widths}
    return P, chains


def n_weights(spec: train.Spec) -> int:
    """Number of prunable weights of the spec's network."""
    net = models.build(spec.model, spec.width)
    return sum(p.numel() for n, p in net.named_parameters() if p.dim() >= 2)


def sparsity_axis(ax) -> None:
    """A log-scale x axis of "weights remaining (%)", dense on the left, with plain percent ticks."""
    from matplotlib.ticker import FixedLocator, NullFormatter, NullLocator

    ax.set_xscale("log")
    lo, hi = ax.get_xlim()
    ticks = [t for t in (100, 50, 30, 20, 10, 5, 3, 2, 1, 0.5) if min(lo, hi) <= t <= max(lo, hi)]
    ax.xaxis.set_major_locator(FixedLocator(ticks))
    ax.xaxis.set_major_formatter(lambda x, _: f"{x:g}")
    ax.xaxis.set_minor_locator(NullLocator())
    ax.xaxis.set_minor_formatter(NullFormatter())
    if lo < hi:
        ax.invert_xaxis()
    ax.set_xlabel("weights remaining (%, log scale)")


# ----------------------------------------------------------------------------------------------
# uncertainty and the claims table
#
# The chains here are single runs (one per seed, control and width), so a comparison of two
# networks gets a paired bootstrap over the images of the test half: it says how sure we are
# about *these* networks, not about another seed. The notes say so row by row.


def correct(run, at: str = "es") -> np.ndarray:
    """0/1 per test-half image: the run's prediction at its early-stop epoch (``'es'``) or at the
    end (``'final'``)."""
    labels = run.labels
    _, test = halves(len(labels))
    epoch = early_stop(run)["epoch"] if at == "es" else None
    return (run.probs(epoch)[test].argmax(1) == labels[test]).astype(np.float64)


def detectable_sentences(P, chains) -> list[str]:
    """What a comparison of two networks on the test half can detect, and what it leaves out."""
    n = len(halves(len(chains[0][0].run.labels))[1])
    acc = np.mean(correct(chains[0][0].run))
    sd = float(np.sqrt(2 * acc * (1 - acc)))  # two independent models' 0/1 outcomes
    mdd = 100 * stats.detectable_difference(sd, n)
    out = [f"On {n} test-half images a comparison of two networks detects an accuracy "
           f"difference of about {mdd:.1f} pp (80% power, 5% level; less when the two agree on "
           f"most images, as a ticket and its control do)."]
    if len(chains) > 1:
        dense = [100 * early_stop(ch[0].run)["acc"] for ch in chains]
        out.append(f"Another seed moves the dense accuracy by {abs(dense[1] - dense[0]):.1f} pp "
                   f"here ({len(chains)} seeds); the controls, the ResNet part and the width sweep "
                   f"are single runs, so their intervals do not include that spread.")
    return out


@gates.gate(CHAPTER, maxsize=0)  # not memoized: a fresh table each call
def claims_table(P):
    """The chapter's claims, each with its 95% interval (see the comment above)."""
    P, chains, ctrl = experiment(P)
    _, reset, rewind, reinit = resnet_experiment(P)
    _, wchains = width_experiment(P)
    tol = P.match_tol
    tk = curve(list(chains[0]))
    dense_acc = 100 * np.mean([early_stop(ch[0].run)["acc"] for ch in chains])
    tk_acc = 100 * tk["acc"]
    extent = matching_extent(tk["density"], tk_acc, dense_acc, tol)
    sparse = tk["density"][1:] <= 0.2 + 1e-9   # the sparse regime: at most 20% of the weights left
    if not sparse.any():
        sparse = np.arange(len(sparse)) == len(sparse) - 1  # else the sparsest round
    pruned = list(chains[0][1:])
    c_tk = [correct(rd.run) for rd in pruned]

    def gap_vs(kind):  # mean over the sparse rounds of (ticket - control), per test image, pp
        c = [correct(rd.run) for rd in ctrl[kind]]
        return 100 * np.mean([t - k for t, k, s in zip(c_tk, c, sparse) if s], 0)
    matching = tk_acc >= dense_acc - tol
    speedups = [tk["iteration"][0] / it for it, m in zip(tk["iteration"][1:], matching[1:]) if m]
    big = [i for i, (d, m) in enumerate(zip(tk["density"][1:], matching[1:])) if m and d > 0.2]
    big = big or [i for i, m in enumerate(matching[1:]) if m]
    gain_each = 100 * np.mean([c_tk[i] - correct(chains[0][0].run) for i in big], 0) \
        if big else None
    variant = chains[0][0].run.variant
    note_scale = (f"{P.model} width {P.width} on {P.n_train or 'all'} images, {P.epochs} epochs; "
                  f"rates {rates(P)}" if P.profile != "gpu" else "")
    one = "one chain (seed 1): the interval covers the test images, not another seed"

    T = claims.ClaimsTable(CHAPTER, P.profile, variant)
    T.add("seed 003; F&C 2019 abstract", "Tickets reset to θ0 match the dense network down to a "
          "small fraction of its weights (smallest fraction left that still matches, seed 1)",
          "less than 10-20% of the size",
          stats.point(100 * extent, "no interval: the last matching round of one chain"),
          claims.below(20.0), fmt="{:.1f} % left",
          note=("the sparsest round run still matches, so this is an upper bound; "
                if extent == tk["density"][-1] else "") + note_scale)
    T.add("seed 003", "Randomly reinitializing the ticket's mask drops accuracy (ticket minus "
          "reinit, mean over rounds with ≤ 20% left)", "performance drops",
          stats.per_example(np.mean, gap_vs("reinit")), claims.above(tol), fmt="{:+.1f} pp",
          note=one)
    T.add("F&C 2019 Fig 1/4", "A random mask of the same sparsity does worse than the ticket "
          "(mean over rounds with ≤ 20% left)", "random sparse networks fall behind",
          stats.per_example(np.mean, gap_vs("random mask")), claims.above(tol),
          fmt="{:+.1f} pp", note=one)
    T.add("seed 003; F&C 2019 abstract", "Tickets sometimes train faster: dense early-stop "
          "iteration / a matching ticket's (median over the matching rounds)",
          "learn faster (Sometimes even faster)",
          stats.point(float(np.median(speedups)) if speedups else float("nan"),
                      "no interval: early stopping is read at whole epochs"),
          claims.above(1.0), fmt="{:.2f}x",
          note=f"validation loss read at epochs {list(chains[0][0].run.logit_epochs)}; the median, "
          "not the fastest, so that picking the best round does not make the claim")
    T.add("F&C 2019 abstract", "Above that size, tickets reach higher test accuracy than the "
          "dense network (ticket minus dense, mean over the matching rounds with > 20% left, "
          "seed 1)", "reach higher test accuracy",
          stats.per_example(np.mean, gain_each) if gain_each is not None else None,
          claims.above(0.0), fmt="{:+.1f} pp",
          note=one + "; a mean over rounds, not the best of them")
    rs_c, rw_c, rr_c = (correct(x[-1].run, "final") for x in (reset, rewind, reinit))
    rs, rw = (100 * curve(list(x))["final_acc"] for x in (reset, rewind))
    T.add("F&C 2019 §5; Frankle et al. 2019", f"ResNet at lr {P.rn_lr}: rewinding beats "
          f"resetting (accuracy at the sparsest round, {P.rn_model} width {P.rn_width})",
          "reset fails, rewinding finds tickets", stats.per_example(np.mean, 100 * (rw_c - rs_c)),
          claims.above(tol), fmt="{:+.1f} pp",
          note=f"single runs; rewind to epoch {P.rn_rewind_epoch} of {P.rn_epochs}; dense "
          f"{rs[0]:.1f}%, reset {rs[-1]:.1f}%, rewind {rw[-1]:.1f}% at "
          f"{100 * rewind[-1].density:.1f}% left"
          + ("" if P.profile == "gpu" else
             f"; {P.rn_epochs * steps_per_epoch(reset[0].run.spec)} iterations on "
             f"{P.rn_n_train} images leave the dense ResNet far from converged, and reset does "
             "not fail there: the sources' failure of reset needs long training at lr 0.1 "
             "(gpu profile)"))
    T.add("Frankle et al. 2019", "The rewound weights matter, not only the mask (rewind minus "
          "fresh init, sparsest round)", "random reinitialization fails",
          stats.per_example(np.mean, 100 * (rw_c - rr_c)), claims.above(tol), fmt="{:+.1f} pp",
          note="single runs")
    widths = sorted(wchains)
    lo_w, hi_w = wchains[widths[0]], wchains[widths[-1]]
    drop = {w: 100 * (curve(list(wchains[w]))["acc"][-1] - curve(list(wchains[w]))["acc"][0])
            for w in widths}
    T.add("seed 000 §2", f"More width, more tickets: the widest net loses less at the sparsest "
          f"round than the narrowest (widths {widths[0]} vs {widths[-1]})",
          "overparameterization buys tickets",
          stats.per_example(np.mean, 100 * ((correct(hi_w[-1].run) - correct(hi_w[0].run))
                                             - (correct(lo_w[-1].run) - correct(lo_w[0].run)))),
          claims.above(0.0), fmt="{:+.1f} pp",
          note="single chains; " + ", ".join(f"width {w}: {drop[w]:+.1f} pp" for w in widths))
    if len(chains) > 1:
        ov = seed_overlap(list(chains[0]), list(chains[1]))
        a, b = chains[0][-1], chains[1][-1]
        kept = int(sum(int(m.sum()) for m in a.mask.values()))
        shared = int(round(ov["overlap"][-1] * kept))
        chance = float(ov["random"][-1])
        T.add("seed 000 §2-3", "Different seeds find different tickets: the survivors two seeds "
              "share at the sparsest round, over what random masks would share",
              "each initialization reveals a different ticket; chance: 1x",
              stats.proportion(shared, kept).scale(1 / chance), claims.below(2.0),
              fmt="{:.2f}x chance",
              note=f"{100 * ov['overlap'][-1]:.1f}% shared, chance {100 * chance:.1f}%; the "
              "interval treats the surviving weights as independent trials, which they are not "
              "quite")
        _, test = halves(len(a.run.labels))
        tp = [(x.run.probs()[test].argmax(1) != y.run.probs()[test].argmax(1)).astype(float)
              for x, y in zip(chains[0][1:], chains[1][1:])]
        dp = (chains[0][0].run.probs()[test].argmax(1)
              != chains[1][0].run.probs()[test].argmax(1)).astype(float)
        T.add("seed 000 §3", "Tickets of different seeds compute different functions "
              "(ticket-pair disagreement / dense-pair disagreement, mean over rounds)",
              "a different function, same accuracy",
              stats.per_example(lambda t, d: np.mean(t) / np.mean(d) if np.mean(d) else np.nan,
                                np.mean(tp, 0), dp),
              claims.above(0.8), fmt="{:.2f}x",
              note=f"dense pair: {100 * ov['dense_disagreement']:.1f}%; two chains, so the "
              "interval covers the test images only")
    return T
