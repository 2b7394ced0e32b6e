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
import itertools

import numpy as np
from scipy.stats import t as _t
from .. import claims, config, gates, metrics, models, prose, pruning, runs, stats, train

CHAPTER = "02_lottery_tickets"
# the controls' seeds, far above any rerun's seed_base (1000), so that a rerun on fresh seeds
# never starts a chain from a control's weights of the published run, or the reverse
REINIT_OFFSET = 100_000        # the control's fresh initialization: seed_init + 100,000
RANDOM_MASK_OFFSET = 200_000   # the random mask's seed: chain seed + 200,000 + round
# chains that get the two controls (each control is a run per round: on two CPU cores the
# controls of every chain cost more than the chains themselves)
CONTROL_CHAINS = 3


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
    dense run's weights (and batch-norm statistics) at ``rewind_epoch`` and trains the epochs
    after it (``Spec.start_epoch``), so that every round trains as long as the dense run.
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
            # wherever the dense run keeps them. A rewound round trains the epochs after the
            # rewinding point, as the sources do (rewind to iteration k, train the T - k that
            # remain), so that it trains as long as the dense network and a reset round
            specs.append(b.replace(mask=runs.store(masks[k]), init_from=starts[k], save_epochs=(),
                                   logit_epochs=tuple(sorted({*b.save_epochs, *b.logit_epochs})),
                                   start_epoch=rewind_epoch if starts[k] else 0))
        for k, got in enumerate(runs.get(specs, device=device)):
            out[k].append(Round(r, pruning.density(masks[k]), masks[k], got))
    return out


def control_specs(chain: list[Round]) -> tuple[list, list]:
    """(reinit specs, random-mask specs), one per pruned round of ``chain``."""
    reinit, rand = [], []
    for rd in chain[1:]:
        s = rd.run.spec
        reinit.append(s.replace(seed_init=s.seed_init + REINIT_OFFSET, init_from="", start_epoch=0))
        rmask = pruning.random_mask_like(rd.mask, seed=s.seed_init + RANDOM_MASK_OFFSET + rd.round)
        rand.append(s.replace(mask=runs.store(rmask)))
    return reinit, rand


def controls(chain: list[Round], which=("reinit", "random mask"), device="auto") -> dict:
    """The controls of every pruned round: ``{'reinit': [Round], 'random mask': [Round]}``."""
    return controls_of([chain], which, device)[0]


def controls_of(chains, which=("reinit", "random mask"), device="auto") -> list[dict]:
    """:func:`controls` of several chains, asked of the runs cache in one call (they train side
    by side where the executor allows): one dict per chain."""
    asked = []  # (chain index, kind, pruned round, spec)
    for i, chain in enumerate(chains):
        for kind, specs in zip(("reinit", "random mask"), control_specs(chain)):
            if kind in which:
                asked += [(i, kind, rd, s) for rd, s in zip(chain[1:], specs)]
    got = runs.get([s for *_, s in asked], device=device) if asked else []
    out = [{kind: [] for kind in ("reinit", "random mask") if kind in which} for _ in chains]
    for (i, kind, rd, s), g in zip(asked, got):
        out[i][kind].append(Round(rd.round, rd.density, runs.stored(s.mask), g, kind))
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
    disagreement of the two tickets' end-of-training predictions (the last epoch, not the
    early-stopping one); and of the two dense networks', with the part of it where both are
    wrong and more (``dense_parts``: :func:`disagreement_parts`)."""
    _, test = halves(len(chain_a[0].run.labels))
    out = dict(density=[], overlap=[], random=[], jaccard=[], disagreement=[])
    for a, b in zip(chain_a[1:], chain_b[1:]):
        out["density"].append(a.density)
        out["overlap"].append(pruning.overlap(a.mask, b.mask))
        out["random"].append(pruning.expected_random_overlap(a.mask, b.mask))
        out["jaccard"].append(pruning.jaccard(a.mask, b.mask))
        out["disagreement"].append(metrics.disagreement(a.run.probs()[test], b.run.probs()[test]))
    out = {k: np.array(v) for k, v in out.items()}
    labels = chain_a[0].run.labels[test]
    parts = disagreement_parts(chain_a[0].run.probs()[test], chain_b[0].run.probs()[test], labels)
    out["dense_disagreement"] = parts["total"]
    out["dense_parts"] = parts
    return out


def disagreement_parts(probs_a, probs_b, labels) -> dict:
    """Two networks' disagreement split by who is right: ``total`` (predicted classes differ),
    ``both_wrong`` (they differ and neither is right), ``one_right`` (they differ and one is
    right; ``total = both_wrong + one_right``); also ``either_wrong``, where at least one is
    wrong (the most they can disagree on), and ``acc``, their mean accuracy. Fractions."""
    a, b = np.asarray(probs_a).argmax(1), np.asarray(probs_b).argmax(1)
    labels = np.asarray(labels)
    differ = a != b
    both_wrong = differ & (a != labels) & (b != labels)
    return dict(total=float(differ.mean()), both_wrong=float(both_wrong.mean()),
                one_right=float((differ & ~both_wrong).mean()),
                either_wrong=float(((a != labels) | (b != labels)).mean()),
                acc=float(((a == labels).mean() + (b == labels).mean()) / 2))


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
    """Parameters, the IMP chains of ``P.seeds`` seeds (reset to θ0) and the controls of the
    first :data:`CONTROL_CHAINS` chains: ``(P, chains, ctrls)``, ``ctrls[i]`` = ``{'reinit':
    rounds, 'random mask': rounds}`` of chain i."""
    chains = tuple(tuple(c) for c in imp_chains([(spec_from(P, seed=s), "reset") for s in range(1, P.seeds + 1)],
                                                P.rounds, rates(P), P.scope, device=P.device))
    ctrls = tuple({k: tuple(v) for k, v in c.items()}
                  for c in controls_of([list(ch) for ch in chains[:CONTROL_CHAINS]], device=P.device))
    return P, chains, ctrls


@gates.gate(CHAPTER)
def resnet_experiment(P):
    """Parameters and, for the ResNet over ``P.rn_seeds`` seeds (global pruning at ``rn_rate`` a
    round): ``(P, reset, rewind, reinit)``, each a tuple of one chain (a tuple of rounds) per
    seed: the reset chains, the rewind chains, and the rewind chains' reinitialized controls
    (their pruned rounds only)."""
    bases = [spec_from(P, "rn_", seed=s) for s in range(1, P.rn_seeds + 1)]
    chains = imp_chains([(b, kind) for b in bases for kind in ("reset", "rewind")], P.rn_rounds,
                        P.rn_rate, "global", P.rn_rewind_epoch, device=P.device)  # in lockstep
    reset, rewind = chains[0::2], chains[1::2]
    reinit = [c["reinit"] for c in controls_of(rewind, which=("reinit",), device=P.device)]
    return P, *(tuple(tuple(ch) for ch in x) for x in (reset, rewind, reinit))


@gates.gate(CHAPTER)
def width_experiment(P):
    """Parameters and ``{width: (chain of seed 1, chain of seed 2, ...)}`` (reset to θ0),
    ``P.width_seeds`` chains for every width in ``P.widths`` (at ``P.width`` they are the main
    chains of :func:`experiment`, from the cache)."""
    asked = [(w, s) for w in P.widths for s in range(1, P.width_seeds + 1)]
    chains = imp_chains([(spec_from(P, seed=s, width=w), "reset") for w, s in asked], P.rounds,
                        rates(P), P.scope, device=P.device)  # in lockstep: side by side
    return P, {w: tuple(tuple(ch) for (v, _), ch in zip(asked, chains) if v == w)
               for w in P.widths}


def n_weights(spec: train.Spec) -> int:
    """Number of prunable weights of the spec's network."""
    net = models.build(spec.model, spec.width)
    return sum(p.numel() for n, p in net.named_parameters() if p.dim() >= 2)


# ----------------------------------------------------------------------------------------------
# uncertainty and the claims table
#
# A claim about what IMP *finds* is a claim about training from a random seed, so its interval
# must cover the seed-to-seed spread: every Conv-2 row is a mean of per-chain values (one value
# per IMP chain, each chain with its own controls) with Student's t interval over the chains;
# a row about two seeds' tickets takes the mean over every pair of chains, with a jackknife
# over chains (:func:`pairs_jackknife`: pairs that share a chain are not independent, chains
# are). The ResNet part takes one value per seed (each seed's reset, rewound and fresh-init
# networks against each other) and a t interval over the seeds; the width sweep compares the
# two widths' chains with Welch's t. A row left with one seed (``rn_seeds`` or ``width_seeds`` 1) has no
# such interval: the seed rule (:func:`seed_rule`) keeps it out of holds and differs.

SPARSE = 0.2        # the sparse regime: at most 20% of the weights left
# "different tickets": two seeds' masks share less than this multiple of what two random masks
# of the same per-layer sparsities would share (our line: the sources give no number)
SHARED_LINE = 2.0
# "different functions": two seeds' tickets disagree at least this fraction as often as their
# dense networks do (our line: the sources give none)
FUNCTION_LINE = 0.8
SEED_UNITS = ("chains", "seeds")


def sparse_rounds(density) -> np.ndarray:
    """Boolean per pruned round: at most :data:`SPARSE` of the weights left (else the sparsest)."""
    density = np.asarray(density)
    sparse = density <= SPARSE + 1e-9
    return sparse if sparse.any() else np.arange(len(density)) == len(density) - 1


def chain_values(chain, ctrl: dict, tol: float) -> dict:
    """One chain's values for the claims (accuracies in pp, against the chain's own dense
    network): the sparse-regime gap to dense, the gaps to both controls there, the matching
    extent, the median speed-up over the matching rounds and the mean gain over the matching
    rounds with more than :data:`SPARSE` left (NaN where no round qualifies)."""
    c = curve(list(chain))
    acc, dense = 100 * c["acc"], 100 * c["acc"][0]
    sparse = sparse_rounds(c["density"][1:])
    matching = acc[1:] >= dense - tol
    big = matching & (c["density"][1:] > SPARSE + 1e-9)
    out = dict(dense=dense, sparse_gap=float(np.mean((acc[1:] - dense)[sparse])),
               extent=matching_extent(c["density"], acc, dense, tol),
               speedup=float(np.median(c["iteration"][0] / c["iteration"][1:][matching]))
               if matching.any() else float("nan"),
               gain=float(np.mean(acc[1:][big] - dense)) if big.any() else float("nan"))
    for kind, rds in ctrl.items():
        k = 100 * curve(list(rds))["acc"]
        out[kind] = float(np.mean((acc[1:] - k)[sparse]))
    return out


def per_chain(chains, ctrls, tol: float) -> dict:
    """:func:`chain_values` of every chain, as arrays over the chains (NaN for the controls of
    a chain that has none)."""
    rows = [chain_values(ch, ctrls[i] if i < len(ctrls) else {}, tol)
            for i, ch in enumerate(chains)]
    keys = dict.fromkeys(k for r in rows for k in r)
    return {k: np.array([r.get(k, np.nan) for r in rows]) for k in keys}


def disjoint_pairs(n: int) -> list[tuple[int, int]]:
    """The disjoint pairs (0, 1), (2, 3), ... of ``n`` chains (the figure's pairs)."""
    return [(i, i + 1) for i in range(0, n - 1, 2)]


def pairs_jackknife(values: dict, n: int, confidence: float = stats.CONFIDENCE) -> stats.Estimate:
    """The mean of a pairwise quantity over the pairs ``{(i, j): value}`` of ``n`` chains, with
    a leave-one-chain-out jackknife interval: the mean over the pairs without chain k, for each
    k; SE² = (n - 1)/n Σ (loo_k - mean loo)², and Student's t with n - 1 degrees of freedom.
    Pairs that share a chain are not independent; the chains are, so they are the units."""
    v = float(np.mean(list(values.values())))
    if n < 3:
        return stats.Estimate(v, None, None, f"{n} chains: one pair, no interval", n, "chains")
    loo = np.array([np.mean([x for p, x in values.items() if k not in p]) for k in range(n)])
    se = float(np.sqrt((n - 1) / n * np.sum((loo - loo.mean()) ** 2)))
    h = float(_t.ppf(0.5 + confidence / 2, n - 1)) * se
    return stats.Estimate(v, v - h, v + h, f"jackknife over {n} chains (leave one out), "
                          f"t interval, {n - 1} df; {len(values)} pairs", n, "chains")


def pair_values(chains) -> dict:
    """For every pair i < j of chains: the survivors shared at the sparsest round over what
    random masks would share (``shared``), the tickets' disagreement over the dense networks'
    (mean over the rounds; ``disagreement``), and the pair's :func:`seed_overlap`
    (``overlaps``), each a dict keyed by the pair."""
    pairs = list(itertools.combinations(range(len(chains)), 2))
    ovs = {(i, j): seed_overlap(list(chains[i]), list(chains[j])) for i, j in pairs}
    return dict(pairs=pairs, overlaps=ovs,
                shared={p: float(o["overlap"][-1] / o["random"][-1]) for p, o in ovs.items()},
                disagreement={p: float(np.mean(o["disagreement"]) / o["dense_disagreement"])
                              for p, o in ovs.items()})


def resnet_values(reset, rewind, reinit) -> dict:
    """The ResNet part per seed (arrays over the seeds, pp): the final test-half accuracy of the
    dense network (``dense``) and, at the sparsest round, of the reset, rewound and fresh-init
    networks; ``rewind - reset`` and ``rewind - fresh init`` (each seed against its own)."""
    acc = {name: np.array([100 * curve(list(ch))["final_acc"][-1] for ch in chains])
           for name, chains in (("reset", reset), ("rewind", rewind), ("fresh init", reinit))}
    acc["dense"] = np.array([100 * curve([ch[0]])["final_acc"][0] for ch in reset])
    acc["rewind - reset"] = acc["rewind"] - acc["reset"]
    acc["rewind - fresh init"] = acc["rewind"] - acc["fresh init"]
    return acc


def width_values(wchains) -> dict:
    """The width sweep: ``drop[w]`` (pp, an array over the width's chains): the sparsest
    ticket's test accuracy at early stop minus its own dense network's. Chain s of two widths
    shares a seed number but no weights, so the widths are independent samples (the claims row
    compares them with Welch's t)."""
    return dict(drop={w: np.array([100 * (c["acc"][-1] - c["acc"][0])
                                   for c in (curve(list(ch)) for ch in wchains[w])])
                      for w in sorted(wchains)})


def capacity_match(P, wchains) -> dict:
    """The width sweep against plain capacity: the widest width's sparsest tickets
    (``sparse_wide``) and the narrowest width's dense networks (``dense_narrow``), each with
    its prunable weights left (mean over chains) and mean test accuracy at early stop (%)."""
    def side(w, i):
        cs = [curve(list(ch)) for ch in wchains[w]]
        n = n_weights(spec_from(P, width=w))
        return dict(width=w, weights=float(np.mean([n * c["density"][i] for c in cs])),
                    acc=float(np.mean([100 * c["acc"][i] for c in cs])))
    return dict(sparse_wide=side(max(wchains), -1), dense_narrow=side(min(wchains), 0))


def capacity_sentence(cm: dict) -> str:
    """Whether the widest width's sparsest tickets beat the narrowest dense networks with no
    more weights (:func:`capacity_match`): where they do, plain capacity does not explain the
    width row."""
    a, b = cm["sparse_wide"], cm["dense_narrow"]
    text = (f"the width-{a['width']:g} tickets at the sparsest round keep {a['weights']:,.0f} "
            f"weights and reach {a['acc']:.1f}%, the dense width-{b['width']:g} networks "
            f"{b['weights']:,.0f} weights and {b['acc']:.1f}% (means over chains)")
    if a["weights"] <= b["weights"] and a["acc"] > b["acc"]:
        return (text + ": with no more weights the sparse wide network is the more accurate, "
                "so the weights' number alone does not explain the row")
    return text + ": this comparison does not separate width from capacity"


def shared_line_note(chance: float) -> str:
    """Why the "different tickets" row tests < :data:`SHARED_LINE` x chance, given ``chance``
    (the fraction of a mask's survivors that a random mask of the same per-layer sparsities
    shares at the sparsest round): identical masks would share 1 / chance x chance."""
    same = 1 / chance if chance > 0 else float("inf")
    head = f"< {SHARED_LINE:g}x chance is our line for different tickets (the sources give none)"
    if same > 2 * SHARED_LINE:
        return (f"{head}: the same ticket would share {same:.0f}x chance at this density, so "
                "the line sits near chance (1x), far from the same ticket")
    return (f"{head}: the same ticket would share only {same:.1f}x chance at this density, "
            "too close to the line for it to tell different tickets from the same one")


def seed_rule(claim: claims.Claim, est) -> claims.Claim:
    """:func:`helpers.claims.seed_rule` over the chapter's seed units (chains, seeds)."""
    return claims.seed_rule(claim, est, SEED_UNITS)


def seed_row(T: claims.ClaimsTable, *args, **kw) -> claims.Claim:
    """``T.add(...)`` under the chapter's :func:`seed_rule` (:func:`helpers.claims.seed_row`)."""
    return claims.seed_row(T, *args, units=SEED_UNITS, **kw)


def _each(values, fmt: str = "{:+.1f}") -> str:
    return ", ".join(fmt.format(v) for v in values)


def detectable_sentences(P, chains, ctrls=()) -> list[str]:
    """What the Conv-2 chains can detect (:func:`seed_sentences`: the ResNet part's and the
    width sweep's seeds)."""
    dense = [100 * early_stop(ch[0].run)["acc"] for ch in chains]
    if len(chains) < 2:
        return [f"One chain: no row has a seed-to-seed interval, so none is decided "
                f"(set seeds >= 2; dense accuracy {dense[0]:.1f}%)."]
    sd = float(np.std(dense, ddof=1))
    mdd = stats.detectable_difference(sd, len(chains))
    out = [f"{len(chains)} IMP chains (seeds), the first {len(ctrls)} with their two "
           f"controls: the dense accuracy varies by an SD of {sd:.1f} pp from seed to seed, "
           f"so a mean over {len(chains)} chains detects a departure of about {mdd:.1f} pp "
           f"from a fixed value (80% power, 5% level) in a quantity that varies as much."]
    npairs = len(chains) * (len(chains) - 1) // 2
    out.append(f"Rows on two seeds' tickets average over the {npairs}"
               f" pairs of chains, with a jackknife over the {len(chains)} chains "
               f"({len(chains) - 1} degrees of freedom)." if len(chains) > 2 else
               "Rows on two seeds' tickets rest on one pair of chains: no interval over seeds, "
               "so they are inconclusive.")
    return out


def seed_sentences(P, reset, rewind, reinit, wchains) -> list[str]:
    """What the ResNet part's seeds and the width sweep's chains can detect."""
    v = resnet_values(reset, rewind, reinit)["rewind - reset"]
    drop = width_values(wchains)["drop"]
    lo, hi = drop[min(drop)], drop[max(drop)]
    out = []
    if len(v) < 2:
        out.append("The ResNet part has one seed: its rows have no interval over seeds, so the "
                   "seed rule keeps them inconclusive (set rn_seeds >= 2).")
    else:
        sd = float(np.std(v, ddof=1))
        out.append(f"The ResNet part has {len(v)} seeds: rewind minus reset varies by an SD of "
                   f"{sd:.1f} pp between them, so its mean detects a departure of about "
                   f"{stats.detectable_difference(sd, len(v)):.1f} pp from a fixed value (80% "
                   "power, 5% level).")
    if min(len(lo), len(hi)) < 2:
        out.append("The width sweep has one chain a width: its row has no interval over seeds, "
                   "so the seed rule keeps it inconclusive (set width_seeds >= 2).")
    else:
        sd, _ = stats.pooled_sd([lo, hi])
        out.append(f"The width sweep has {len(hi)} chains a width: the change from dense at the "
                   f"sparsest round varies by an SD of {sd:.1f} pp between chains (the two "
                   f"widths' pooled), so the row detects a difference of about "
                   f"{stats.detectable_difference(sd, len(lo), len(hi)):.1f} pp between the "
                   "widths (80% power, 5% level).")
    return out


@gates.gate(CHAPTER, maxsize=0)  # not memoized: a fresh table each call
def claims_table(P):
    """The chapter's claims, each with its 95% interval (see the comment above)."""
    P, chains, ctrls = experiment(P)
    _, reset, rewind, reinit = resnet_experiment(P)
    _, wchains = width_experiment(P)
    tol = P.match_tol
    V = per_chain(chains, ctrls, tol)
    n = len(chains)
    tk = curve(list(chains[0]))
    sparse_d = tk["density"][1:][sparse_rounds(tk["density"][1:])]
    where = f"rounds with {_each(100 * sparse_d, '{:.1f}')}% left"
    variant = chains[0][0].run.variant
    note_scale = (f"{P.model} width {P.width} on {P.n_train or 'all'} images, {P.epochs} epochs; "
                  f"rates {rates(P)}; " if P.profile != "gpu" else "")
    per = "per chain (pp): "

    T = claims.ClaimsTable(CHAPTER, P.profile, variant, config.seed_base(P))
    seed_row(T, "seed 003; F&C 2019 abstract", "Tickets reset to θ0 match the dense network with "
             "at most 20% of its weights left (ticket minus its own dense network, mean over the "
             "rounds with ≤ 20% left, mean over chains)", "less than 10-20% of the size",
             stats.mean_t(V["sparse_gap"], "chains"), claims.above(-tol), fmt="{:+.1f} pp",
             note=note_scale + f"{where}; {per}{_each(V['sparse_gap'])}; within {tol} pp of "
             f"dense at every round down to (per chain; 100.0: the first pruned round "
             f"already fell short): "
             f"{_each(100 * V['extent'], '{:.1f}')}% left")
    for kind, what, src, expected in (
            ("reinit", "Randomly reinitializing the ticket's mask drops accuracy (ticket minus "
             "the same mask from a fresh init", "seed 003", "performance drops"),
            ("random mask", "A random mask of the same sparsity does worse than the ticket "
             "(ticket minus random mask", "F&C 2019",
             "random sparse networks do worse (paraphrase)")):
        seed_row(T, src, f"{what}, mean over the rounds with ≤ 20% left, mean over chains)",
                 expected, stats.mean_t(V[kind], "chains"), claims.above(tol), fmt="{:+.1f} pp",
                 note=f"chains 1-{len(ctrls)}, each against its own controls; "
                 f"{per}{_each(V[kind][:len(ctrls)])}; " + unfinished_note(chains, ctrls, kind))
    seed_row(T, "seed 003; F&C 2019 abstract", "Tickets sometimes train faster: dense early-stop "
             "iteration / a matching ticket's (median over a chain's matching rounds, mean over "
             "chains)", '"learn faster" (F&C); "Sometimes even faster" (seed 003)',
             stats.mean_t(V["speedup"], "chains"), claims.above(1.0), fmt="{:.2f}x",
             note=f"validation loss read at epochs {list(chains[0][0].run.logit_epochs)}, so a "
             f"chain's speed-up is a ratio of whole epochs; per chain: "
             f"{_each(V['speedup'], '{:.2f}x')}; the median, not the fastest round, over every "
             "matching round, the sparse ones included (the F&C abstract says it of tickets "
             "above 10-20% of the size; seed 003 says \"sometimes\")")
    seed_row(T, "F&C 2019 abstract", "With more than 20% of the weights left, tickets reach "
             "higher test accuracy than the dense network (ticket minus dense, mean over a "
             "chain's matching rounds with > 20% left, mean over chains)", "reach higher test accuracy",
             stats.mean_t(V["gain"], "chains"), claims.above(0.0), fmt="{:+.1f} pp",
             note=f"{per}{_each(V['gain'])}; a mean over rounds, not the best of them")
    R = resnet_values(reset, rewind, reinit)
    k = len(reset)
    seeds_note = f"{prose.plural(k, 'seed')}; per seed (pp): "
    seed_row(T, "seed 003; F&C 2019 §4; Frankle et al. 2019", f"ResNet at lr {P.rn_lr}: "
             f"rewinding beats resetting (rewind minus reset, final test accuracy at the sparsest round, mean over "
             f"seeds, {P.rn_model} width {P.rn_width})",
             "resetting to early training weights works better than resetting to full "
             "initialization",
             stats.mean_t(R["rewind - reset"], "seeds"), claims.above(tol), fmt="{:+.1f} pp",
             note=f"{seeds_note}{_each(R['rewind - reset'])}; rewind to epoch "
             f"{P.rn_rewind_epoch} of {P.rn_epochs}, then the remaining epochs; mean dense "
             f"{R['dense'].mean():.1f}%; at {100 * rewind[0][-1].density:.1f}% left, reset "
             f"{R['reset'].mean():.1f}%, rewind {R['rewind'].mean():.1f}%"
             + ("" if P.profile == "gpu" else
                f"; {P.rn_epochs * steps_per_epoch(reset[0][0].run.spec)} iterations on "
                f"{P.rn_n_train} images leave the dense ResNet far from converged, and the "
                "sources' failure of reset needs long training at lr 0.1"))
    seed_row(T, "Frankle et al. 2019", "The rewound weights matter, not only the mask (rewind "
             "minus fresh init, final test accuracy at the sparsest round, mean over seeds)",
             "random reinitialization fails (paraphrase)",
             stats.mean_t(R["rewind - fresh init"], "seeds"), claims.above(tol),
             fmt="{:+.1f} pp", note=f"{seeds_note}{_each(R['rewind - fresh init'])}; each "
             f"seed's fresh initialization takes its own rewound masks and trains all "
             f"{P.rn_epochs} epochs; mean fresh init {R['fresh init'].mean():.1f}%; the rewound "
             f"weights come from {rewind_share(P):.3g}% of the way through "
             "training (the sources rewind within the first few percent), so they carry more "
             "of the training")
    W = width_values(wchains)
    lo_w, hi_w = min(wchains), max(wchains)
    seed_row(T, "seed 000 §2", f"The widest net loses less accuracy at the sparsest round "
             f"than the narrowest, as \"more width, more tickets\" predicts (widths {lo_w} vs "
             f"{hi_w}: the narrowest's loss minus the widest's, loss = dense minus sparsest "
             "ticket, mean over chains)",
             "having more parameters means having more lottery tickets",
             stats.diff_t(W["drop"][hi_w], W["drop"][lo_w], "seeds"), claims.above(0.0),
             fmt="{:+.1f} pp",
             note=f"{prose.plural(len(W['drop'][hi_w]), 'chain')} per width (seeds 1.., the "
             f"main chains at width {P.width}); change from dense at the sparsest round per "
             "chain (pp): "
             + "; ".join(f"width {w}: {_each(W['drop'][w])}" for w in (lo_w, hi_w))
             + "; the widths keep the same fraction of their weights, so the widest keeps "
             "more of them: plain capacity predicts the same direction; "
             + capacity_sentence(capacity_match(P, wchains)))
    if n > 1:
        pv = pair_values(chains)
        chance = float(pv["overlaps"][pv["pairs"][0]]["random"][-1])

        def each(d, f):
            return ", ".join(f"{i + 1}-{j + 1}: {f.format(v)}" for (i, j), v in d.items())
        seed_row(T, "seed 000 §2-3", "Different seeds find different tickets: the survivors two "
                 "seeds share at the sparsest round, over what random masks would share (mean "
                 "over every pair of chains)", "each random initialization reveals a "
                 "different winning ticket", pairs_jackknife(pv["shared"], n),
                 claims.below(SHARED_LINE),
                 fmt="{:.2f}x chance",
                 note=f"pairs {each(pv['shared'], '{:.2f}x')}; chance (1x) is "
                 f"{100 * chance:.1f}% of the survivors; " + shared_line_note(chance))
        seed_row(T, "seed 000 §3", "Tickets of different seeds compute different functions "
                 "(ticket-pair disagreement / dense-pair disagreement, mean over rounds, mean "
                 "over every pair of chains)", "a different function that happens to "
                 "achieve the same overall accuracy",
                 pairs_jackknife(pv["disagreement"], n), claims.above(FUNCTION_LINE),
                 fmt="{:.2f}x",
                 note=f"> {FUNCTION_LINE:g}x is our line for different functions, set near 1x "
                 "(the sources give none; 1x would be as different as two independently trained "
                 "dense networks, and tickets that computed one function would disagree far "
                 "less), so the row asks that tickets stay nearly as different as those; "
                 f"pairs {each(pv['disagreement'], '{:.2f}x')}; end-of-training "
                 "predictions on the test half; dense pairs disagree on "
                 + _each([100 * o["dense_disagreement"] for o in pv["overlaps"].values()],
                         "{:.1f}%")
                 + ("" if near_source(np.mean([o["dense_parts"]["acc"]
                                               for o in pv["overlaps"].values()])) else
                    "; not comparable with seed 000's 10% at 90% accuracy (Figure 4's caption)"))
    return T


# ----------------------------------------------------------------------------------------------
# the printed lines under the figures (the notebook prints them; no logic in the notebook)


def _width_words(w: float, whose: str = "the paper's") -> str:
    """A width multiplier in words ('half the paper's width', 'its usual width')."""
    words = {1: "{} width", 0.5: "half {} width", 0.25: "a quarter of {} width",
             0.125: "an eighth of {} width"}
    return words.get(w, f"{w:g} times {{}} width").format(whose)


def profile_sentence(profile: str) -> str:
    """What the chapter's preset at ``profile`` trains and prunes, in words, read from
    :mod:`helpers.config` (so the introduction cannot go stale when a preset changes)."""
    Q = config.chapter_params(CHAPTER, profile)
    conv, rn = spec_from(Q), spec_from(Q, "rn_")

    def images(n):
        return "all 50,000 training images" if n is None else f"a {n:,}-image subset"
    left = (1 - Q.rate_fc) ** Q.rounds
    rates_ = " / ".join(f"{r:.0%}" for r in (Q.rate_conv, Q.rate_fc, Q.rate_output))
    return (f"{models.display_name(Q.model)} at {_width_words(Q.width)} trains on "
            f"{images(Q.n_train)} with {Q.optimizer.capitalize()} at {Q.lr:g}, batch "
            f"{Q.batch_size}, for {prose.plural(Q.epochs, 'epoch')} "
            f"({Q.epochs * steps_per_epoch(conv):,} iterations; the paper's: 20,000) in "
            f"{Q.precision}, and is pruned in {Q.rounds} rounds of {rates_} of the surviving "
            "weights per round for convolutional / fully-connected / output layers (the paper: "
            f"10% / 20% / 10% for 14 rounds), which leaves {left:.1%} of the fully-connected "
            f"weights; {Q.seeds} chains. {models.display_name(Q.rn_model)} at "
            f"{_width_words(Q.rn_width, 'its usual')} trains on "
            f"{images(Q.rn_n_train)} for {prose.plural(Q.rn_epochs, 'epoch')} "
            f"({Q.rn_epochs * steps_per_epoch(rn):,} iterations) and is pruned globally in "
            f"{prose.plural(Q.rn_rounds, 'round')} of {Q.rn_rate:.0%}, rewinding to epoch "
            f"{Q.rn_rewind_epoch}, over {prose.plural(Q.rn_seeds, 'seed')}; the width sweep "
            f"runs {prose.plural(Q.width_seeds, 'chain')} at each width")


def setup_lines(P, chains, ctrls) -> list[str]:
    """The chapter's settings, the masks of chain 1, and the training cost of these runs."""
    spec = chains[0][0].run.spec
    zeros = [zero_fraction_kept(rd) for ch in chains for rd in ch[1:]]
    allruns = [rd.run for ch in chains for rd in ch] + \
        [rd.run for ct in ctrls for v in ct.values() for rd in v]
    out = [f"profile: {P.profile}; model: {P.model} (width {P.width}, "
           f"{n_weights(spec):,} prunable weights); training images: {P.n_train or 'all'}; "
           f"{P.epochs} epochs of batch {P.batch_size} "
           f"({P.epochs * steps_per_epoch(spec)} iterations); {P.optimizer} lr {P.lr}; "
           f"test subset {len(chains[0][0].run.labels)} (half validation, half test)",
           f"pruning: {P.scope}-wise, per round {rates(P)} of the surviving weights; "
           f"{P.rounds} rounds; {len(chains)} chain(s), the first {len(ctrls)} with their "
           "two controls"]
    out += [f"round {rd.round}: {pruning.summary(rd.mask)}" for rd in chains[0][1:]]
    out += [f"pruned weights exactly zero after training: {100 * min(zeros):.2f}% (worst run)",
            f"{len(allruns)} Conv-2 runs ({len(chains)} chains of {len(chains[0])} rounds and "
            f"{len(allruns) - len(chains) * len(chains[0])} control runs); training time per run: "
            f"{np.mean([r.meta['seconds'] for r in allruns]):.0f} s on "
            f"{allruns[0].meta['device_name']}"]
    return out


def accuracy_lines(chains, ctrls) -> list[str]:
    """Mean accuracy over the chains (and its range) at every density, tickets and controls."""
    def line(name, groups):
        acc = 100 * np.array([curve(list(g))["acc"] for g in groups])
        dens = 100 * curve(list(groups[0]))["density"]
        return f"{name:>11}: " + ", ".join(
            f"{d:.1f}% left: {a.mean():.1f}% ({a.min():.1f}-{a.max():.1f})"
            for d, a in zip(dens, acc.T))
    out = [line("ticket", chains)]
    for kind in ctrls[0]:
        out.append(line(kind, [ct[kind] for ct in ctrls]))
    return out + ["(mean over the chains, their range in brackets)"]


def resnet_lines(P, reset, rewind, reinit) -> list[str]:
    """The ResNet part's settings and its three curves' final accuracies (mean over seeds)."""
    spec = reset[0][0].run.spec
    out = [f"{P.rn_model} width {P.rn_width} ({n_weights(spec):,} prunable weights); training "
           f"images: {P.rn_n_train or 'all'}; {P.rn_epochs} epochs of batch {P.rn_batch_size} "
           f"({P.rn_epochs * steps_per_epoch(spec)} iterations); {P.rn_optimizer} lr "
           f"{P.rn_lr}, schedule {P.rn_schedule}, warmup {P.rn_warmup_epochs}, augmentation "
           f"{'on' if P.rn_augment else 'off'}",
           f"global pruning, {100 * P.rn_rate:.0f}% of the survivors per round, {P.rn_rounds} "
           f"rounds; rewinding to the end of epoch {P.rn_rewind_epoch} (iteration "
           f"{P.rn_rewind_epoch * steps_per_epoch(spec)}), then training the remaining "
           f"{prose.plural(P.rn_epochs - P.rn_rewind_epoch, 'epoch')}; the fresh-init control "
           f"trains all {P.rn_epochs}"]
    for name, chains in resnet_curves(P, reset, rewind, reinit).items():
        acc = 100 * np.array([curve(list(ch))["final_acc"] for ch in chains])
        dens = 100 * curve(list(chains[0]))["density"]
        out.append(f"{name:>32}: " + ", ".join(
            f"{d:.1f}% left: {a.mean():.1f}% ({a.min():.1f}-{a.max():.1f})"
            for d, a in zip(dens, acc.T)))
    return out + [f"(final test accuracy, mean over {prose.plural(len(reset), 'seed')}, their "
                  "range in brackets)"]


def resnet_curves(P, reset, rewind, reinit) -> dict:
    """``{name: chains}`` of the ResNet figure, one chain (rounds) per seed; each fresh-init
    chain starts at its seed's dense run."""
    return {"reset to θ0": reset, f"rewind to epoch {P.rn_rewind_epoch}": rewind,
            "rewind masks, fresh random init": tuple((ch[0],) + tuple(ri)
                                                     for ch, ri in zip(reset, reinit))}


def width_lines(P, wchains) -> list[str]:
    """Per width: mean dense and sparsest-ticket accuracy over its chains, and how far each
    chain's tickets stay within tolerance."""
    out = []
    for w, chains in wchains.items():
        cs = [curve(list(ch)) for ch in chains]
        acc = 100 * np.array([c["acc"] for c in cs])
        ext = [matching_extent(c["density"], 100 * c["acc"], 100 * c["acc"][0], P.match_tol)
               for c in cs]
        out.append(f"width {w}: dense {acc[:, 0].mean():.1f}%; sparsest ticket "
                   f"({100 * cs[0]['density'][-1]:.1f}% left) {acc[:, -1].mean():.1f}% (mean "
                   f"over {prose.plural(len(cs), 'chain')}); within {P.match_tol} pp of dense "
                   f"down to (per chain): {_each(100 * np.array(ext), '{:.1f}')}% left")
    return out


def pair_lines(chains) -> list[str]:
    """Per density, for the figure's disjoint pairs of chains: shared survivors against chance,
    and the two tickets' disagreement (end-of-training predictions); the dense pair's, split by
    who is wrong; then every pair's two summaries (the claims' values)."""
    if len(chains) < 2:
        return ["one chain: nothing to compare (set seeds >= 2)"]
    pv = pair_values(chains)
    out = []
    for i, j in disjoint_pairs(len(chains)):
        ov = pv["overlaps"][(i, j)]
        out.append(f"chains {i + 1} and {j + 1}:")
        out += [f"  {100 * d:5.1f}% left: shared {100 * o:5.1f}% (random {100 * r:5.1f}%, "
                f"{o / r:.2f}x), Jaccard {jc:.3f}; disagreement {100 * dis:.1f}%"
                for d, o, r, jc, dis in zip(ov["density"], ov["overlap"], ov["random"],
                                            ov["jaccard"], ov["disagreement"])]
        dp = ov["dense_parts"]
        out.append(f"  dense networks ({100 * dp['acc']:.1f}% accurate) disagree on "
                   f"{100 * dp['total']:.1f}%, of which {100 * dp['both_wrong']:.1f} pp both "
                   f"get wrong; at least one is wrong on {100 * dp['either_wrong']:.1f}%")
    out.append("every pair: shared at the sparsest round (x chance); ticket / dense "
               "disagreement")
    out += [f"  chains {i + 1}-{j + 1}: {pv['shared'][(i, j)]:.2f}x; "
            f"{pv['disagreement'][(i, j)]:.2f}x" for i, j in pv["pairs"]]
    return out


def cost_lines(P, t0: float | None = None) -> list[str]:
    """How many distinct runs the chapter used and what their training cost (cache records)."""
    import time

    _, chains, ctrls = experiment(P)
    _, reset, rewind, reinit = resnet_experiment(P)
    _, wchains = width_experiment(P)
    groups = (*chains, *(v for ct in ctrls for v in ct.values()), *reset, *rewind, *reinit,
              *(ch for w in wchains.values() for ch in w))
    every = {rd.run.key: rd.run for g in groups for rd in g}
    first = next(iter(every.values()))
    out = [f"{len(every)} distinct runs; their training took "
           f"{sum(r.meta['seconds'] for r in every.values()):.0f} s in all on "
           f"{first.meta['device_name']} (from the runs cache's records)"]
    if t0 is not None:
        out.append(f"chapter wall time: {time.time() - t0:.0f} s (training included unless "
                   "the runs were cached)")
    return out


# --------------------------------------------------------------------------------------------
# the sentences glued into the figures' captions and the closing section (helpers.prose), each
# computed from the chapter's results, so that a page executed at any profile says what it shows

RESNET_LABELS = ("reset", "rewound", "fresh init")   # resnet_curves' three curves, in order


def end_iteration(run) -> int:
    """The last iteration at which ``run``'s validation loss is read (the end of its training)."""
    return max(run.logit_epochs) * steps_per_epoch(run.spec)


def truncation_reading(chains, ctrls) -> dict:
    """``fig1_end``: how many pruned networks of each of Figure 1's curves have their lowest
    validation loss at the last evaluated iteration (:func:`end_sentence`)."""
    groups = {"pruned-ticket": [curve(list(ch))["iteration"][1:] for ch in chains]}
    names = {"reinit": "fresh-init control", "random mask": "random-mask control"}
    for kind in (ctrls[0] if ctrls else {}):
        groups[names[kind]] = [curve(list(ct[kind]))["iteration"] for ct in ctrls]
    return {"fig1_end": end_sentence(groups, end_iteration(chains[0][0].run))}


def unfinished_note(chains, ctrls, kind: str) -> str:
    """How many of the ``kind`` controls' networks were still improving when training stopped
    (lowest validation loss at the last evaluated iteration): their accuracy at early stop is
    then the end of a curve still rising, and part of a ticket's lead may be speed."""
    if not ctrls:
        return ""
    last = end_iteration(chains[0][0].run)
    cs = [curve(list(ct[kind])) for ct in ctrls]
    its = np.concatenate([c["iteration"][sparse_rounds(c["density"])] for c in cs])
    k = int(np.sum(its >= last))
    if not k:
        return "every control network with ≤ 20% left had stopped improving before training ended"
    return (f"{k} of the {len(its)} control networks with ≤ 20% left were still improving when "
            f"training ended (lowest validation loss at the last evaluated iteration, {last:,}), "
            "so part of the lead may be that tickets train faster, not only that they reach more")


def end_sentence(groups: dict, last: int) -> str:
    """Figure 1's sentence on the points at the end of training, from ``{curve: [early-stop
    iterations of a chain's pruned rounds, ...]}`` and the last evaluated iteration ``last``: a
    network whose validation loss is lowest there was still improving when training stopped, so
    its early-stopping iteration is a lower bound."""
    parts = []
    for name, its in groups.items():
        its = np.concatenate([np.ravel(i) for i in its]) if its else np.array([])
        k = int(np.sum(its >= last))
        every = "all" if k == len(its) and k > 1 else k or "none"
        parts.append(f"{every} of the {len(its)} {name} points")
    return (f"A point at the end of training (iteration {last:,}, the last evaluated) means the "
            "validation loss was still falling when training stopped, so that network's "
            f"early-stopping iteration is only a lower bound: {prose.join(parts)} sit there.")


def resnet_reading(P, reset, rewind, reinit) -> dict:
    """``fig2_dense``: where the dense ResNet's final accuracy sits among the pruned ones'
    (:func:`dense_position`), each a mean over the seeds."""
    # percent first, then the mean, as the claims table and the printout compute it (the
    # other order can round a mean the other way at the last printed digit)
    finals = [np.mean([100 * curve(list(ch))["final_acc"] for ch in chains], axis=0)
              for chains in resnet_curves(P, reset, rewind, reinit).values()]
    return {"fig2_dense": dense_position(
        float(finals[0][0]), {k: f[1:] for k, f in zip(RESNET_LABELS, finals)},
        100 * reset[0][-1].density, len(reset)),
        "fig2_rewind": rewind_sentence(P, rewind[0][0].run.spec)}


def rewind_share(P) -> float:
    """How far through the ResNet's training rewinding goes back to (%)."""
    return 100 * P.rn_rewind_epoch / P.rn_epochs


def rewind_sentence(P, spec: train.Spec) -> str:
    """Where rewinding goes back to, as a share of training: the trainer keeps whole epochs, so
    at a few epochs the rewinding point is later than the sources' (within the first few
    percent of training)."""
    k, steps = P.rn_rewind_epoch, steps_per_epoch(spec)
    share = rewind_share(P)
    text = (f"Rewinding goes back to the end of epoch {k}: iteration {k * steps:,} of "
            f"{P.rn_epochs * steps:,}, {share:.3g}% of training")
    if share > 5:
        text += (", later than the sources, who rewind within the first few percent (the "
                 "trainer keeps whole epochs), so a rewound network here has already learned "
                 "more before its masks are applied")
    return text + "."


UNDER_TRAINED = ("a sparse network trained for as long beating the dense one says that the dense "
                 "network is under-trained at this scale, so this figure says little about reset "
                 "against rewinding, which the sources compare with a dense network trained to "
                 "convergence.")


def dense_position(dense: float, pruned: dict, left: float, seeds: int = 1,
                   control: str = "fresh init") -> str:
    """Figure 2's sentence: the dense ResNet's accuracy ``dense`` (%) against ``pruned``
    (``{curve: accuracies (%) of its pruned rounds, sparsest last}``); ``left``: the sparsest
    round's % of weights left; ``seeds``: how many seeds each accuracy is the mean of;
    ``control``: the curve that is a control, not a ticket. The branch is the data's: every
    pruned network above the dense one, every ticket (not the control), every one at the
    sparsest round, none, or some."""
    every = np.concatenate([np.ravel(v) for v in pruned.values()])
    above, n = int(np.sum(every > dense)), len(every)
    last = ", ".join(f"{k} {float(v[-1]):.1f}%" for k, v in pruned.items())
    span = f"pruned {every.min():.1f}% to {every.max():.1f}%"
    avg = f"on average over the {seeds} seeds, " if seeds > 1 else ""
    what = (f"points ({len(pruned)} curves of "
            f"{prose.plural(len(every) // len(pruned), 'round')})" if seeds > 1 else "networks")

    def start(text):
        text = avg + text
        return text[0].upper() + text[1:]
    if above == n:
        return (start("every pruned ResNet, even the fresh initialization with the rewound masks, "
                      f"ends above the dense one ({dense:.1f}%; {span}): ") + UNDER_TRAINED)
    if all(float(v[-1]) > dense for v in pruned.values()):
        return (start(f"at the sparsest round ({left:.1f}% left) every pruned ResNet, even the "
                      f"fresh initialization with the rewound masks, ends above the dense one "
                      f"({dense:.1f}%; {last}), and {above} of the {n} pruned {what} do: ")
                + UNDER_TRAINED)
    tickets = {k: v for k, v in pruned.items() if k != control}
    if control in pruned and tickets and all(np.all(np.asarray(v) > dense)
                                             for v in tickets.values()):
        ends = ", ".join(f"{k} {float(v[-1]):.1f}%" for k, v in tickets.items())
        return (start(f"the {prose.join(list(tickets))} tickets end above the dense ResNet "
                      f"({dense:.1f}%) at every round ({ends} at {left:.1f}% left), and the "
                      f"{control} control ends at {float(pruned[control][-1]):.1f}%: ")
                + UNDER_TRAINED)
    if above == 0:
        return start(f"every pruned ResNet ends below the dense one ({dense:.1f}%; {span}).")
    return start(f"the dense ResNet ({dense:.1f}%) sits among the pruned ones: {above} of the {n} "
                 f"pruned {what} end above it ({last} at the "
                 f"sparsest round, {left:.1f}% left).")


def width_extents(P, wchains) -> dict:
    """``{width: [(k, density, rounds) per chain]}``: the first ``k`` pruned rounds of the chain
    stay within ``P.match_tol`` of its own dense accuracy (matching is one-sided: at least
    dense minus the tolerance), down to ``density`` (:func:`matching_extent`), of ``rounds``."""
    out = {}
    for w in sorted(wchains):
        out[w] = []
        for ch in wchains[w]:
            c = curve(list(ch))
            acc = 100 * c["acc"]
            ok = acc[1:] >= acc[0] - P.match_tol
            k = len(ok) if ok.all() else int(np.argmin(ok))
            out[w].append((k, matching_extent(c["density"], acc, acc[0], P.match_tol), len(ok)))
    return out


def width_sentence(extents: dict, tol: float) -> str:
    """The width section's own criterion, answered: for how many pruning rounds each width's
    tickets stay within ``tol`` pp of their own dense accuracy (``extents``:
    :func:`width_extents`, one entry per chain), and whether the widest goes further than the
    narrowest, on average over its chains (in rounds: every width prunes at the same rates)."""
    def reach(exts):
        if len(exts) == 1:
            k, d, r = exts[0]
            return ("not even at the first pruned round" if k == 0 else
                    f"down to {100 * d:.1f}% of the weights ({k} of {r} rounds)")
        ks = [k for k, _, _ in exts]
        return (f"lasts {np.mean(ks):.1f} of {exts[0][2]} rounds on average (per chain: "
                f"{', '.join(map(str, ks))})")
    widths = sorted(extents)
    one = all(len(e) == 1 for e in extents.values())
    head = (f"By the section's own criterion, how far a network can be pruned before its tickets "
            f"fall more than {tol:g} pp below its own dense accuracy, one chain per width: "
            if one else
            f"By the section's own criterion (how many pruning rounds a network's tickets stay "
            f"within {tol:g} pp of its own dense accuracy, the first round that falls short "
            f"ending the count; {prose.plural(len(extents[widths[0]]), 'chain')} per width), ")
    head += prose.join([f"width {w:g} {reach(extents[w])}" for w in widths]) + "."
    mean_k = {w: np.mean([k for k, _, _ in e]) for w, e in extents.items()}
    k_lo, k_hi = mean_k[widths[0]], mean_k[widths[-1]]
    where = ", on one chain each" if one else " on average"
    if len(widths) < 2:
        tail = "One width: nothing to compare."
    elif all(k == r for e in extents.values() for k, _, r in e):
        tail = ("Every width matched at every round, so the sweep stops before the widths could "
                "differ.")
    elif k_hi > k_lo:
        full = all(k == r for k, _, r in extents[widths[-1]])
        tail = ("The widest stays within the tolerance for more rounds than the narrowest"
                f"{where}, the direction of seed 000's reading"
                + ("; in this run it lasts every round on every chain, so the sweep ends before "
                   "it falls short." if full and not one else "."))
    elif k_hi == k_lo:
        tail = (f"The widest is pruned no further than the narrowest before it falls out of the "
                f"tolerance{where}, so by this criterion more width did not buy sparser tickets.")
    else:
        tail = ("The widest falls out of the tolerance sooner than the narrowest"
                f"{where}, against seed 000's reading.")
    return f"{head} {tail}"


def pair_reading(chains) -> dict:
    """``fig4_reading``: which predictions Figure 4's disagreement compares, and how much of the
    dense pairs' disagreement the error rate allows (:func:`disagreement_sentence`)."""
    if len(chains) < 2:
        return {"fig4_reading": "With one chain there is no pair to compare."}
    parts = [o["dense_parts"] for o in pair_values(chains)["overlaps"].values()]
    return {"fig4_reading": disagreement_sentence(
        {k: float(np.mean([p[k] for p in parts])) for k in parts[0]}, len(parts))}


SOURCE_ACC, SOURCE_DISAGREEMENT = 0.90, 0.10   # seed 000 §3: two runs at 90%, 10% disagreement


def near_source(acc: float) -> bool:
    """Whether networks of accuracy ``acc`` (a fraction) are near enough seed 000's 90% for
    their disagreement to be set beside its 10% (within 5 points)."""
    return acc >= SOURCE_ACC - 0.05


def disagreement_sentence(dense: dict, pairs: int | None = None) -> str:
    """Figure 4's sentence from the dense pairs' :func:`disagreement_parts` (mean over the
    ``pairs`` pairs of chains, all of them, not only the figure's disjoint ones):
    the predictions compared, where two networks can disagree at all, and whether that makes
    the disagreement comparable with seed 000's."""
    bound = 2 * (1 - SOURCE_ACC)
    out = ("Both panels compare end-of-training predictions (the last epoch, not the "
           "early-stopping one) on the test half. Two networks can disagree only where at least "
           f"one of them is wrong: the dense networks end at {100 * dense['acc']:.1f}% accuracy "
           f"(mean over {f'all {pairs} pairs of chains' if pairs else 'the pairs'}), and at "
           "least one of a pair is wrong on "
           f"{100 * dense['either_wrong']:.1f}% of the test half, against at most "
           f"{100 * bound:.0f}% for two networks at {100 * SOURCE_ACC:.0f}%; of the dense pairs' "
           f"{100 * dense['total']:.1f}% "
           f"disagreement, {100 * dense['both_wrong']:.1f} pp are images both get wrong, in "
           "different ways.")
    if not near_source(dense["acc"]):
        return out + (" At this accuracy much of the disagreement follows from the error rate, "
                      f"so it is not comparable with seed 000's {100 * SOURCE_DISAGREEMENT:.0f}% "
                      f"between networks at {100 * SOURCE_ACC:.0f}%: the claims row sets each "
                      "ticket pair against its own dense pair instead.")
    return out + (f" At this accuracy the disagreement can be set beside seed 000's "
                  f"{100 * SOURCE_DISAGREEMENT:.0f}% between networks at {100 * SOURCE_ACC:.0f}%.")


# --------------------------------------------------------------------------------------------
# the closing section's prose: each sentence is the one its row's verdict calls for (glued into
# the page by helpers.prose, so that a page executed at any profile says what its table decides)


def closing_reading(P, T: claims.ClaimsTable, wchains=None) -> dict:
    """The paragraphs of 'What this shows' (``close_tickets``, ``close_seeds``, ``close_speed``,
    ``close_resnet``, ``close_width``) from the claims table ``T``; with the width sweep's
    chains ``wchains`` (:func:`width_experiment`), ``close_width`` also answers the width
    section's own criterion (:func:`width_sentence`)."""
    keys = ("close_tickets", "close_seeds", "close_speed", "close_resnet", "close_width")
    factor = {"width_factor": width_factor(P, wchains) if wchains else "several times"}
    if T.untested():
        return dict.fromkeys(keys, T.untested()) | factor
    H, D, I = claims.HOLDS, claims.DIFFERS, claims.INCONCLUSIVE
    say = T.say
    core = [T.find(s).verdict for s in ("Tickets reset to θ0 match", "Randomly reinitializing",
                                        "A random mask of the same")]
    tickets = (
        f"In the {models.display_name(P.model)} family, over {P.seeds} IMP chains, subnetworks reset to $\\theta_0$ "
        + say("Tickets reset to θ0 match", {
            H: "on average stay within the tolerance of their own dense network with at most 20% "
               "of the weights left ({m}, interval {ci} over the chains, against {test}; the row's "
               "note gives each chain)",
            D: "on average fall below the tolerance of their own dense network with at most 20% "
               "of the weights left ({m}, interval {ci} over the chains, against {test})",
            I: "may or may not stay within the tolerance of their own dense network on average "
               "with at most 20% of the weights left: the interval over the chains ({m}, {ci}) "
               "straddles the test's bound ({test})"})
        + "; over the chains that have controls (the notes name them), "
        + say("Randomly reinitializing", {
            H: "the tickets lead the *same masks* with a fresh initialization by {m} (interval "
               "{ci})",
            D: "the tickets do not lead the *same masks* with a fresh initialization by the test's "
               "margin ({m}, interval {ci})",
            I: "the tickets lead the *same masks* with a fresh initialization by {m}, an interval "
               "({ci}) that straddles the test's margin"})
        + ", and " + say("A random mask of the same", {
            H: "random masks of the same per-layer sparsity by {m} (interval {ci}).",
            D: "do not lead random masks of the same per-layer sparsity by the test's margin ({m}, "
               "interval {ci}).",
            I: "random masks of the same per-layer sparsity by {m}, an interval ({ci}) that "
               "straddles the test's margin."})
        + (" The control rows' notes say how many control networks were still improving when "
           "training stopped: part of these leads may be speed rather than reach."
           if core[1:] == [H, H] else "")
        + (" So at this scale it is the mask together with these initial values, not the mask "
           "alone and not the sparsity alone, that trains well." if core == [H, H, H] else
           " So the mask together with its initial values trains better than either alone; "
           "whether it matches the dense network is undecided here." if core == [I, H, H] else
           " So this run does not show that the mask and the initial values together, rather "
           "than either alone, are what trains well."))
    fn = next((r for r in T.rows if r.statement.startswith("Tickets of different seeds")), None)
    below_one = bool(fn and fn.interval and None not in fn.interval and fn.interval[1] < 1)
    seeds = (
        say("Different seeds find different tickets", {
            H: "Different seeds find different tickets: the survivors two chains share at the "
               "sparsest round are less than twice what two random masks would share ({m} on "
               "average over the pairs, interval {ci}).",
            D: "Two seeds' tickets share at least twice the survivors that two random masks would "
               "({m} on average over the pairs, interval {ci}).",
            I: "Whether two seeds' tickets share less than twice the survivors that two random "
               "masks would, these runs cannot decide ({m} on average over the pairs, interval "
               "{ci})."})
        + " " + say("Tickets of different seeds compute", {
            H: "They compute different functions: two seeds' tickets disagree {m} as often as "
               "their dense networks do (interval {ci}, against {test})"
               + (", a little less often: the interval lies below 1, so two seeds' tickets are "
                  "somewhat closer to each other than their dense networks are, though of the "
                  "same order." if below_one else "."),
            D: "Yet two seeds' tickets disagree on fewer test images than the test asks of their "
               "dense networks' disagreement ({m}, interval {ci}, against {test}).",
            I: "Whether they compute different functions is undecided: two seeds' tickets "
               "disagree {m} as often as their dense networks do, and the interval ({ci}) "
               "straddles the test's bound ({test})."}))
    speed = (
        say("Tickets sometimes train faster", {
            H: "Tickets train faster: the dense network's early-stopping iteration is {m} a "
               "matching ticket's (interval {ci}), read at whole epochs.",
            D: "Tickets do not train faster here: the dense network's early-stopping iteration "
               "over a matching ticket's is {m} (interval {ci}).",
            I: "\"Tickets learn faster\" is undecided: the dense network's early-stopping "
               "iteration over a matching ticket's is {m}, read at whole epochs (the row's note "
               "gives each chain's), and the interval of the mean ({ci}) straddles 1."})
        + " " + say("With more than 20% of the weights left, tickets", {
            H: "Above 20% of the weights the tickets are more accurate than the dense network "
               "({m}, interval {ci}).",
            D: "Above 20% of the weights the tickets are not more accurate than the dense network "
               "({m}, interval {ci}).",
            I: "\"Tickets reach higher accuracy than dense\" above 20% of the weights is "
               "undecided: {m}, and its interval ({ci}) straddles 0."}))
    one_rn = "by the seed rule: one seed cannot say how another would come out ({m})"
    resnet = (
        say("ResNet at lr", {
            H: "On the ResNet, rewinding beats resetting at the sparsest round by the test's "
               "margin ({m} on average over the seeds, interval {ci}, against {test}).",
            D: "On the ResNet, rewinding does not beat resetting at the sparsest round by the "
               "test's margin ({m} on average over the seeds, interval {ci}, against {test}).",
            I: ("Whether rewinding beats resetting on the ResNet is inconclusive " + one_rn + "."
                if P.rn_seeds < 2 else
                "Whether rewinding beats resetting on the ResNet by the test's margin is "
                "undecided: rewinding minus reset is {m} on average over the seeds, and the "
                "interval ({ci}) straddles the test's bound ({test}); the row's note gives each "
                "seed's value and the mean dense, reset and rewound accuracies (Figure 2).")})
        + " " + say("The rewound weights matter", {
            H: "The rewound weights, not only the mask, carry the accuracy ({m} over the same "
               "masks from a fresh initialization on average, interval {ci}).",
            D: "The rewound weights do no better than the same masks from a fresh "
               "initialization by the test's margin ({m}, interval {ci}, against {test}).",
            I: ("Whether the rewound weights, not only the mask, carry the accuracy is "
                "inconclusive " + one_rn + "." if P.rn_seeds < 2 else
                "Whether the rewound weights, not only the mask, carry the accuracy by the "
                "test's margin is undecided ({m} over the same masks from a fresh "
                "initialization on average; the interval, {ci}, straddles {test}).")})
        + " The sources saw reset fail for deep networks trained long at a high learning rate; "
        f"this run trains the ResNet for {P.rn_epochs} epochs on "
        f"{'all of CIFAR-10' if P.rn_n_train is None else f'{P.rn_n_train:,} images'}, far from "
        "that regime, so what reset does here says more about the scale than about the claim.")
    cap = capacity_sentence(capacity_match(P, wchains)) if wchains else ""
    width = say("The widest net loses less", {
        H: "The widest network loses less accuracy at the sparsest round than the narrowest, the "
           "direction of seed 000's \"having more parameters means having more lottery "
           "tickets\" ({m}, a difference of the two widths' means over their chains, interval "
           "{ci}; Figure 3), though keeping the same fraction of its weights, the widest also "
           "keeps more of them, and plain capacity predicts the same direction.",
        D: "The widest network loses no less accuracy at the sparsest round than the narrowest "
           "({m}, a difference of the two widths' means over their chains, interval {ci}; "
           "Figure 3).",
        I: ("Whether the widest network loses less accuracy at the sparsest round than the "
            "narrowest, the direction of seed 000's \"having more parameters means having more "
            "lottery tickets\", rests on "
            "one chain per width (Figure 3), so it is inconclusive by the seed rule ({m})."
            if P.width_seeds < 2 else
            "Whether the widest network loses less accuracy at the sparsest round than the "
            "narrowest, the direction of seed 000's \"having more parameters means having more "
            "lottery tickets\", is "
            "undecided: {m}, a difference of the two widths' means over their chains, and the "
            "interval ({ci}) straddles 0 (Figure 3).")})
    if wchains:
        width = f"{width_sentence(width_extents(P, wchains), P.match_tol)} {width}"
    if cap:
        width += f" Against plain capacity: {cap}."
    return dict(zip(keys, (tickets, seeds, speed, resnet, width))) | factor


def width_factor(P, wchains) -> str:
    """How many times as many prunable weights the widest network of the width sweep has as
    the narrowest (so also at any one fraction left): "16 times"."""
    n = {w: n_weights(spec_from(P, width=w)) for w in (min(wchains), max(wchains))}
    return f"about {n[max(wchains)] / n[min(wchains)]:.0f} times"
