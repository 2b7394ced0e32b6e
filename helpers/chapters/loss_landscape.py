"""Chapter 01, the loss landscape: the runs it needs (cached) and its analyses.

Seed 000 §1/§5, seed 002 and seed 004 (Appendix A, Fig 5), measured with ``helpers.landscape``:

* :func:`main_runs` -- R independent runs (every epoch kept) and, for each of the first
  ``parents`` runs, two children fine-tuned from its checkpoint at ``parent_epoch``
  (``Spec.init_from``);
* :func:`lines` -- init -> solution (every run), independent pairs, each parent's children:
  loss/accuracy along the line, barriers, and the weight average ("soup") against the
  prediction ensemble of each pair;
* :func:`radial` -- the plane through the origin and two independent optima (Fort et al. Fig 5 /
  S1) with the two trajectories projected onto it;
* :func:`tunnel` -- a trained quadratic Bezier curve between the optima of each of ``tunnels``
  disjoint pairs of runs (Garipov et al.; Fort et al. Figs S2-S3);
* :func:`width_sweep` -- per width: final training loss over seeds, barrier, sharpness, and 2D
  filter-normalized slices of the narrowest, widest and a comparison architecture;
* :func:`saddles` -- extreme Hessian eigenvalues (and the Lanczos density) along training, and
  for ``saddle_seeds`` runs at initialization, at the checkpoint of smallest gradient and at the
  end;
* :func:`unit_variance` -- activation scale through depth at initialization, and training, for
  DeepCNN with/without BN and residuals at three initialization gains;
* :func:`flat_minima` -- sharpness and the log-volume proxy against test accuracy across batch sizes.

Every function is memoized on its arguments, so a notebook cell can call it again at no cost.
"""
from __future__ import annotations

import collections
import contextlib
import dataclasses
import functools
import itertools

import numpy as np
import torch
import torch.nn.functional as F
from torch.func import functional_call

from .. import claims, config, data, gates, metrics, models, prose, runs, stats, train
from .. import landscape as L

CHAPTER = "01_loss_landscape"
DEEP_MODELS = ("deepcnn", "deepcnn-bn", "deepcnn-res", "deepcnn-bn-res")
CHILD_SEEDS = (101, 102)
CHILD_SEED_FIELDS = ("seed_order", "seed_aug", "seed_dropout")  # a child keeps its init


def base_spec(P, **changes) -> train.Spec:
    """The chapter's recipe as a spec (kept epochs: ``kept(P, None)``), with ``changes`` applied."""
    return train.spec_from(P, save_epochs=kept(P, None)).replace(**changes)


def kept(P, index: int | None) -> tuple:
    """The epochs run ``index`` (0-based) of the recipe keeps. Every epoch when ``P.traj_epochs``
    is None (smoke and cpu, as their books were built). Otherwise only what the analyses read
    (each kept epoch stores the weights): run 1 its initialization (the init line),
    ``parent_epoch`` (where the children start), ``saddle_epochs`` and ``traj_epochs`` (its
    trajectory on the radial plane); run 2 its trajectory; every other run (``index`` None: the
    width, batch-size and comparison runs) only its last epoch."""
    if P.traj_epochs is None:
        return tuple(range(P.epochs + 1))
    want = {0: {0, P.parent_epoch, *P.saddle_epochs, *P.traj_epochs}, 1: set(P.traj_epochs)}.get(index, set())
    return tuple(sorted(e for e in want if 0 <= e <= P.epochs))


def independent(P, index: int, **changes) -> train.Spec:
    """Run ``index`` (0-based; seed index + 1) of the recipe with ``changes``. Where the changes
    leave the recipe as it is (width 1 in the width sweep, the chapter's batch size among the flat
    minima) it is the main run itself, kept epochs included, so the two share one cache entry."""
    seed = config.seed_base(P) + index + 1
    spec = base_spec(P, **changes).with_seed(seed)
    main = base_spec(P).with_seed(seed)
    if spec.replace(save_epochs=()) == main.replace(save_epochs=()):
        return main.replace(save_epochs=kept(P, index))
    return spec


def device(P) -> torch.device:
    return train.pick_device(P.device)


@contextlib.contextmanager
def cpu_threads(P):
    """One intra-op thread on a CPU while this chapter trains and evaluates. Its networks are small:
    on a busy two-core machine (the book's cpu edition is built on one shared by several jobs)
    two threads that wait on each other made training and Hessian products 3-8 times slower than
    one (measured); on a free machine one thread costs less than a factor 2."""
    with train.cpu_threads(device(P), 1):
        yield


def vec(run, epoch=None) -> torch.Tensor:
    """A run's trainable parameters at ``epoch`` as a float32 vector (a landscape point). Its
    initialization (epoch 0) is rebuilt from its spec when the run did not keep it."""
    if epoch == 0 and 0 not in run.epochs:
        return L.vector(train.init_model(run.spec)).float()
    return torch.from_numpy(run.weights(epoch)).float()


def signed_rise(values) -> float:
    """The largest rise along a sequence, ``max over i < j of values[j] - values[i]``, not
    clipped at 0: negative when the sequence falls at every step (then minus its smallest fall
    between neighbours). Unlike :func:`helpers.landscape.max_increase` it varies from run to
    run when every run falls monotonically, so it can carry an interval."""
    v = np.asarray(values, dtype=float)
    if len(v) < 2:
        raise ValueError("signed_rise needs at least two values")
    i, j = np.triu_indices(len(v), 1)
    return float(np.max(v[j] - v[i]))


def signed_barrier(values, alphas) -> float:
    """:func:`helpers.landscape.barrier` over the interior of the path, not clipped at 0: the
    largest height of the loss above the chord between the ends, negative when the whole path
    lies below the chord (a convex bowl), so that several near-zero barriers have a spread."""
    v, t = np.asarray(values, dtype=float), np.asarray(alphas, dtype=float)
    if len(v) < 3 or len(t) != len(v):
        raise ValueError("signed_barrier needs three or more points and one alpha per point")
    chord = (1 - t) * v[0] + t * v[-1]
    return float(np.max((v - chord)[1:-1]))


def disjoint_pairs(n_runs: int, wanted: int) -> list[tuple[int, int]]:
    """Up to ``wanted`` pairs of runs that share no run: (0, 1), (2, 3), ... -- independent
    units for a t interval over pairs."""
    return [(2 * i, 2 * i + 1) for i in range(min(wanted, n_runs // 2))]


def grad_norm(P, run, epoch, x: torch.Tensor, y: torch.Tensor) -> float:
    """Norm of the gradient of the mean training loss on ``(x, y)`` at ``run``'s ``epoch`` (BN
    statistics recomputed there, as in :func:`hessian`)."""
    net = models.build(run.spec.model, run.spec.width, 0.0).to(device(P))
    op = L.HessianOperator(net, vec(run, epoch), x, y)
    w = op.w.clone().requires_grad_(True)
    out = functional_call(net, (L.unflatten(net, w), op.buffers), (x,))
    (g,) = torch.autograd.grad(F.cross_entropy(out, y), w)
    return float(g.norm())


def train_sample(P, n: int):
    """``n`` training images of the runs' training subset drawn at random (fixed seed), as
    ``(x, y)`` on the device. Not the first ``n``: the data may be stored sorted by class (the
    JPEG pack is), and the first images would then all be airplanes."""
    d = data.on_device(P.dataset, str(device(P)), P.n_train, P.n_test)
    idx = torch.randperm(len(d.train_y), generator=torch.Generator().manual_seed(0))[:n].to(d.device)
    return d.train_x[idx], d.train_y[idx]


def evaluator(P, model: str | None = None, width: float | None = None) -> L.Evaluator:
    """Landscape points of ``model`` evaluated on ``n_eval`` random training images (the first
    ``bn_examples`` of them give the BN statistics, recomputed each time) and on the test subset
    the runs were tested on."""
    d = data.on_device(P.dataset, str(device(P)), P.n_train, P.n_test)
    x, y = train_sample(P, P.n_eval)
    net = models.build(model or P.model, P.width if width is None else width, 0.0).to(device(P))
    return L.Evaluator(net, x, y, d.test_x, d.test_y, bn_examples=P.bn_examples)


def draws(P, seed: int = 0) -> torch.Generator:
    """The generator of an analysis' random draws (Lanczos start vectors, the tunnels' training
    draws, the slices' directions): it moves with ``seed_base``, so that a rerun on fresh seeds
    redraws them with its runs."""
    return torch.Generator().manual_seed(seed + config.seed_base(P))


def hessian(P, run, epoch=None, seed: int = 0):
    """Lanczos on the training-loss Hessian of ``run`` at ``epoch`` (``hessian_examples``
    training images drawn at random): ``(ritz values, weights)``."""
    x, y = train_sample(P, P.hessian_examples)
    net = models.build(run.spec.model, run.spec.width, 0.0).to(device(P))
    w = vec(run, epoch)
    op = L.HessianOperator(net, w, x, y)
    return L.lanczos(op, w.numel(), P.lanczos_iters, draws(P, seed))


def alphas(P) -> np.ndarray:
    n = P.line_points if P.line_points % 2 else P.line_points + 1  # always include 0.5
    return np.linspace(0, 1, n)


# ------------------------------------------------------------------------------- the runs

@gates.gate(CHAPTER, maxsize=4)
def main_runs(P):
    """``(P, {'independent': R runs, 'children': ((child, child), ...)})``: for each of the first
    ``parents`` runs that kept ``parent_epoch`` (every run at cpu), two children start from its
    checkpoint there and train the remaining epochs at ``child_lr`` with their own data order
    (everything else as their parent). Parent i's children take data-order seeds 101 + 100 i
    and 102 + 100 i (parent 1's are those of the book's first edition)."""
    base = base_spec(P)
    with cpu_threads(P):
        indep = runs.get([independent(P, i) for i in range(P.seeds)], device=P.device)
        parents = [r for r in indep[:P.parents] if P.parent_epoch in r.epochs]
        specs = []
        for i, parent in enumerate(parents):
            child = base.with_seed(config.seed_base(P) + i + 1).replace(
                init_from=f"{parent.key}@{P.parent_epoch}", epochs=P.epochs - P.parent_epoch,
                lr=P.child_lr, warmup_epochs=0.0, save_epochs=())
            specs += [child.replace(**{f: config.seed_base(P) + s + 100 * i for f in CHILD_SEED_FIELDS})
                      for s in CHILD_SEEDS]
        kids = runs.get(specs, device=P.device)
    pairs = tuple(tuple(kids[2 * i:2 * i + 2]) for i in range(len(parents)))
    return P, {"independent": tuple(indep), "children": pairs}


@gates.gate(CHAPTER, maxsize=4)
def width_runs(P):
    """``(P, {width: runs}, compare_runs)``: ``width_seeds`` runs per width (width 1 shares the
    main runs' cache entries) and, if ``compare_model`` is set, that architecture's runs."""
    specs = {w: [independent(P, i, width=float(w)) for i in range(P.width_seeds)] for w in P.widths}
    cmp = ([base_spec(P, model=P.compare_model, width=1.0).with_seed(config.seed_base(P) + s)
            for s in range(1, 3)]
           if P.compare_model else [])
    flat = [s for g in specs.values() for s in g] + cmp
    with cpu_threads(P):
        got = dict(zip(flat, runs.get(flat, device=P.device)))
    return P, {w: tuple(got[s] for s in g) for w, g in specs.items()}, tuple(got[s] for s in cmp)


@gates.gate(CHAPTER, maxsize=4)
def deep_runs(P):
    """``(P, {(model, gain): run})``: DeepCNN (20 layers) plain / BN / residual / both, at each
    initialization gain, trained ``deep_epochs`` at ``deep_lr`` (seed 1)."""
    keys = [(m, g) for m in DEEP_MODELS for g in P.init_gains]
    specs = [base_spec(P, model=m, width=1.0, init_gain=float(g), epochs=P.deep_epochs, lr=P.deep_lr,
                       save_epochs=(0,)).with_seed(config.seed_base(P) + 1) for m, g in keys]
    with cpu_threads(P):
        return P, dict(zip(keys, runs.get(specs, device=P.device)))


@gates.gate(CHAPTER, maxsize=4)
def batch_runs(P):
    """``(P, {batch_size: runs})``: ``flat_seeds`` runs per batch size, the recipe otherwise
    unchanged (the learning rate too); the chapter's own batch size shares the main runs."""
    specs = {b: [independent(P, i, batch_size=int(b)) for i in range(P.flat_seeds)] for b in P.flat_batches}
    flat = [s for g in specs.values() for s in g]
    with cpu_threads(P):
        got = dict(zip(flat, runs.get(flat, device=P.device)))
    return P, {b: tuple(got[s] for s in g) for b, g in specs.items()}


# ------------------------------------------------------------------------------- analyses

def analysis(runs_fn):
    """Turn ``body(*runs_fn(P))`` into a memoized ``f(P)`` (a gate, :func:`helpers.gates.gate`):
    the runs are trained or loaded first, then the body runs, both under :func:`cpu_threads`."""
    def deco(body):
        @gates.gate(CHAPTER, maxsize=4)
        @functools.wraps(body)
        def wrapper(P):
            got = runs_fn(P)
            with cpu_threads(got[0]):
                return body(*got)
        return wrapper
    return deco


def pair_summary(ev: L.Evaluator, a: torch.Tensor, b: torch.Tensor, labels: np.ndarray) -> dict:
    """Two solutions: each one's test accuracy, their weight average's ("soup", BN recomputed)
    and their prediction ensemble's (mean of probabilities), and their disagreement."""
    pa, pb = ev(a, keep_probs=True), ev(b, keep_probs=True)
    soup = ev((a + b) / 2)
    ens = metrics.ensemble_probs([pa.test_probs, pb.test_probs])
    return dict(acc_a=pa.test_acc, acc_b=pb.test_acc, mean_acc=(pa.test_acc + pb.test_acc) / 2,
                soup_acc=soup.test_acc, ens_acc=metrics.accuracy(ens, labels),
                soup_loss=soup.test_loss, ens_loss=metrics.nll(ens, labels),
                disagreement=float(1 - L.agreement(pa.test_pred, pb.test_pred)))


@analysis(main_runs)
def lines(P, G) -> dict:
    """Straight lines: 'inits' (each run from its initialization to its solution; 'init' is run
    1's), 'independent' (every pair of runs; 'independent_pairs': their indices), 'children'
    (one line per parent); 'pairs': soup vs ensemble per pair; 'init_rises'
    (:func:`signed_rise` per run) and 'children_barriers' (:func:`signed_barrier` per parent)."""
    ev = evaluator(P)
    t = alphas(P)
    indep, kids = G["independent"], G["children"]
    labels = indep[0].labels
    inits = [L.interpolate(ev, vec(r, 0), vec(r), t) for r in indep]
    out = {"init": inits[0], "inits": inits,
           "init_rises": np.array([signed_rise(x["train_loss"]) for x in inits])}
    pairs = list(itertools.combinations(range(len(indep)), 2))
    out["independent_pairs"] = pairs
    out["independent"] = [L.interpolate(ev, vec(indep[i]), vec(indep[j]), t) for i, j in pairs]
    out["children"] = [L.interpolate(ev, vec(a), vec(b), t) for a, b in kids]
    out["pairs"] = {"independent": [pair_summary(ev, vec(indep[i]), vec(indep[j]), labels) for i, j in pairs],
                    "children": [pair_summary(ev, vec(a), vec(b), labels) for a, b in kids]}
    for name in ("independent", "children"):
        out[f"{name}_barrier"] = float(np.mean([L.barrier(x["train_loss"], t) for x in out[name]]))
    out["children_barriers"] = np.array([signed_barrier(x["train_loss"], t) for x in out["children"]])
    out["init_max_increase"] = L.max_increase(out["init"]["train_loss"])
    return out


def project(w: torch.Tensor, d1: torch.Tensor, d2: torch.Tensor) -> tuple[float, float]:
    """Least-squares coordinates (a, b) of ``w`` in the span of ``d1, d2``."""
    A = torch.stack([d1, d2], 1).double()
    sol = torch.linalg.lstsq(A, w.double()[:, None]).solution[:, 0]
    return float(sol[0]), float(sol[1])


@analysis(main_runs)
def radial(P, G) -> dict:
    """The plane ``a w1 + b w2`` through the origin and optima 1 and 2 (Fort et al. Fig 5 / S1):
    grids of loss, accuracy and agreement with each optimum, and both trajectories projected."""
    r1, r2 = G["independent"][:2]
    ev = evaluator(P)
    w1, w2 = vec(r1), vec(r2)
    xs = np.linspace(*P.radial_range, P.radial_points)
    g = L.grid(ev, torch.zeros_like(w1), w1, w2, xs, xs)
    p1, p2 = ev(w1).test_pred, ev(w2).test_pred
    g["agree1"] = L.agreement(g["test_pred"], p1)
    g["agree2"] = L.agreement(g["test_pred"], p2)
    g["traj"] = [np.array([project(vec(r, e), w1, w2) for e in r.epochs]) for r in (r1, r2)]
    g["traj_epochs"] = [list(r.epochs) for r in (r1, r2)]
    g["optima_disagreement"] = float(1 - L.agreement(p1, p2))
    g["optima_acc"] = (float((p1 == r1.labels).mean()), float((p2 == r2.labels).mean()))
    g["cosine"] = metrics.cosine_similarity(w1.numpy(), w2.numpy())
    del g["test_pred"]
    return g


def one_tunnel(P, ev: L.Evaluator, r1, r2, seed: int = 0) -> dict:
    """A quadratic Bezier curve between the solutions of ``r1`` and ``r2``, its control point
    trained for ``bezier_epochs`` passes over the training subset (Adam, ``bezier_lr``; batches
    and points drawn from ``seed``); metrics along the curve and the straight line, and
    agreement of every point with both ends."""
    d = data.on_device(P.dataset, str(device(P)), P.n_train, P.n_test)
    w0, w2 = vec(r1).to(device(P)), vec(r2).to(device(P))
    steps = max(1, P.bezier_epochs * len(d.train_y) // P.batch_size)
    net = models.build(P.model, P.width, 0.0).to(device(P))
    theta, losses = L.train_bezier(net, w0, w2, d.train_x, d.train_y, steps=steps, batch_size=P.batch_size,
                                   lr=P.bezier_lr, generator=draws(P, seed))
    ts = np.linspace(0, 1, P.curve_points if P.curve_points % 2 else P.curve_points + 1)
    out = {"curve": L.curve(ev, w0.cpu(), theta.cpu(), w2.cpu(), ts),
           "line": L.interpolate(ev, w0.cpu(), w2.cpu(), ts), "train_losses": losses, "steps": steps}
    for k in ("curve", "line"):
        preds = out[k]["test_pred"]
        out[k]["agree0"] = L.agreement(preds, preds[0])
        out[k]["agree1"] = L.agreement(preds, preds[-1])
        out[k]["barrier"] = L.barrier(out[k]["train_loss"], ts)
    return out


def tunnel_summary(tu: dict) -> dict:
    """One tunnel's figures for the claims: the ends' test accuracies and disagreement, the
    curve's barrier over the line's, the test accuracy at the curve's middle, and the smaller
    disagreement of the curve's middle with an end over the ends' disagreement."""
    c = tu["curve"]
    mid = len(c["alpha"]) // 2
    ends_dis = 1 - c["agree0"][-1]
    acc = (float(c["test_acc"][0]), float(c["test_acc"][-1]))
    return dict(acc=acc, acc_gap=100 * abs(acc[0] - acc[1]), disagreement=float(ends_dis),
                mid_acc=float(c["test_acc"][mid]),
                dis_over_error=float(ends_dis / max(1 - np.mean(acc), 1e-9)),
                barrier_ratio=float(c["barrier"] / max(tu["line"]["barrier"], 1e-9)),
                mid_ratio=float(min(1 - c["agree0"][mid], 1 - c["agree1"][mid]) / max(ends_dis, 1e-9)))


@analysis(main_runs)
def tunnel(P, G) -> dict:
    """:func:`one_tunnel` for each of :func:`disjoint_pairs` (runs 1-2, 3-4, ...; at most
    ``tunnels``): the first pair's keys at the top level (the figure), every pair's under
    'tunnels' and their :func:`tunnel_summary` under 'summaries'."""
    R = G["independent"]
    ev = evaluator(P)
    pairs = disjoint_pairs(len(R), P.tunnels)
    all_ = [one_tunnel(P, ev, R[i], R[j], seed=k) for k, (i, j) in enumerate(pairs)]
    out = dict(all_[0])
    out.update(tunnels=all_, pairs=pairs, summaries=[tunnel_summary(tu) for tu in all_])
    return out


def slice_2d(P, run, seed: int = 0) -> dict:
    """Training loss on a 2D slice through ``run``'s solution along two filter-normalized random
    directions (Li et al. 2018), coordinates in ``[-slice_range, slice_range]``."""
    ev = evaluator(P, run.spec.model, run.spec.width)
    w = vec(run)
    g = draws(P, seed)
    d1 = L.filter_normalized_direction(ev.net, g, weights=w)
    d2 = L.filter_normalized_direction(ev.net, g, weights=w)
    xs = np.linspace(-P.slice_range, P.slice_range, P.slice_points)
    out = L.grid(ev, w, d1, d2, xs, xs, test=False)
    del out["test_pred"]
    return out


@analysis(width_runs)
def width_sweep(P, W, C) -> dict:
    """Per width: final training loss (mean, SD over seeds), test accuracy, barrier between every
    pair of seeds ('barrier_m'; 'barrier' their mean), sharpness (top Hessian eigenvalue, every
    seed), parameter count; 2D slices of the narrowest and widest networks and of
    ``compare_model``."""
    t = alphas(P)
    rows = {}
    for w, rs in W.items():
        ev = evaluator(P, width=w)
        pts = [ev(vec(r)) for r in rs]
        pairs = list(itertools.combinations(range(len(rs)), 2))
        lines_ = [L.interpolate(ev, vec(rs[i]), vec(rs[j]), t) for i, j in pairs]
        barrier_m = _pairs_matrix(len(rs), pairs, [L.barrier(x["train_loss"], t) for x in lines_])
        sharp = [float(hessian(P, r)[0][-1]) for r in rs]
        rows[w] = dict(params=models.n_params(models.build(P.model, w)),
                       train_loss=np.array([p.train_loss for p in pts]),
                       test_acc=np.array([p.test_acc for p in pts]),
                       barrier=stats.pair_mean(barrier_m), barrier_m=barrier_m,
                       line=lines_[0]["train_loss"], sharpness=np.array(sharp))
    name = models.display_name
    slices = {f"{name(P.model)} width {w:g}": slice_2d(P, W[w][0])
              for w in (min(P.widths), max(P.widths))}
    if C:
        slices[f"{name(P.compare_model)} width 1"] = slice_2d(P, C[0])
        ev = evaluator(P, P.compare_model, 1.0)
        line = L.interpolate(ev, vec(C[0]), vec(C[1]), t)
        rows["compare"] = dict(model=P.compare_model, params=models.n_params(models.build(P.compare_model, 1.0)),
                               train_loss=np.array([ev(vec(r)).train_loss for r in C]),
                               test_acc=np.array([r.accuracy for r in C]),
                               barrier=L.barrier(line["train_loss"], t), line=line["train_loss"],
                               sharpness=np.array([float(hessian(P, C[0])[0][-1])]))
    return {"rows": rows, "slices": slices, "alpha": t}


@analysis(main_runs)
def saddles(P, G) -> dict:
    """Lanczos on run 1's Hessian at each of ``saddle_epochs``: most negative and most positive
    eigenvalue, and the Ritz values / weights (the spectral density). 'runs': for each of the
    first ``saddle_seeds`` runs, the gradient norm on the Hessian batch at each of its
    ``saddle_epochs`` (the initialization rebuilt if not kept), and the extreme eigenvalues at
    the initialization, at the checkpoint of smallest gradient ('small') and at the last."""
    r = G["independent"][0]
    epochs = [e for e in P.saddle_epochs if e in r.epochs]
    out = {"epochs": np.array(epochs), "ritz": [], "weights": [], "train_loss": []}
    ev = evaluator(P)
    for e in epochs:
        ritz, wts = hessian(P, r, e)
        out["ritz"].append(ritz)
        out["weights"].append(wts)
        out["train_loss"].append(ev(vec(r, e), test=False).train_loss)
    out["lam_min"] = np.array([x[0] for x in out["ritz"]])
    out["lam_max"] = np.array([x[-1] for x in out["ritz"]])
    out["ratio"] = np.array([curvature_ratio(lo, hi) for lo, hi in zip(out["lam_min"], out["lam_max"])])
    x, y = train_sample(P, P.hessian_examples)
    done = {e: (float(lo), float(hi)) for e, lo, hi in zip(epochs, out["lam_min"], out["lam_max"])}
    out["runs"] = []
    for k, run in enumerate(G["independent"][:max(1, P.saddle_seeds)]):
        es = [e for e in P.saddle_epochs if e in run.epochs or e == 0]
        g = np.array([grad_norm(P, run, e, x, y) for e in es])
        small, last = es[int(np.argmin(g))], max(es)
        lam = {}
        for e in dict.fromkeys((0, small, last)):
            if k == 0 and e in done:
                lam[e] = done[e]
            else:
                ritz, _ = hessian(P, run, e)
                lam[e] = (float(ritz[0]), float(ritz[-1]))
        out["runs"].append(dict(seed=run.spec.seed_init, epochs=np.array(es), grad_norm=g,
                                small=small, last=last, lam=lam))
    return out


def curvature_ratio(lam_min: float, lam_max: float) -> float:
    """|λ_min| / λ_max, 0 when λ_min is not negative (no negative curvature found)."""
    return abs(min(lam_min, 0.0)) / lam_max


@torch.no_grad()
def activation_scales(net: torch.nn.Module, x: torch.Tensor) -> np.ndarray:
    """Root mean square of a DeepCNN's activations after the stem and after each of its layers
    (residual sum included) on ``x``, with BN using batch statistics as in training."""
    net.train()
    h = net.stem(x)
    out = [h.pow(2).mean().sqrt().item()]
    for layer in net.layers:
        h = h + layer(h) if net.residual else layer(h)
        out.append(h.pow(2).mean().sqrt().item())
    net.eval()
    return np.array(out)


@analysis(deep_runs)
def unit_variance(P, D) -> dict:
    """Per (model, gain): activation RMS through depth at initialization (on 256 training
    images), and the trained run's last-epoch training loss and test accuracy."""
    x = train_sample(P, 256)[0].cpu()
    out = {}
    for (m, g), run in D.items():
        net = train.init_model(run.spec)
        out[(m, g)] = dict(scales=activation_scales(net, x), train_loss=run.log[-1]["train_loss"],
                           test_acc=run.accuracy, log=[e["train_loss"] for e in run.log])
    return out


@analysis(batch_runs)
def flat_minima(P, B, top_k: int = 5) -> dict:
    """Per run of every batch size: sharpness (top Hessian eigenvalue), the essay's log-volume proxy
    ``-1/2 sum log lambda`` over the top ``top_k`` Ritz values, test accuracy, final train loss;
    and the Spearman correlations of sharpness and log-volume with test accuracy."""
    from scipy.stats import spearmanr

    ev = evaluator(P)
    rows = []
    for b, rs in B.items():
        for r in rs:
            ritz, _ = hessian(P, r)
            rows.append(dict(batch=b, seed=r.spec.seed_init, sharpness=float(ritz[-1]),
                             log_volume=L.log_volume_proxy(ritz, top_k), test_acc=r.accuracy,
                             train_loss=ev(vec(r), test=False).train_loss))
    sharp = np.array([r["sharpness"] for r in rows])
    vol = np.array([r["log_volume"] for r in rows])
    acc = np.array([r["test_acc"] for r in rows])
    rho_s = float(spearmanr(sharp, acc)[0]) if len(rows) > 2 else float("nan")
    rho_v = float(spearmanr(vol, acc)[0]) if len(rows) > 2 else float("nan")
    return {"rows": rows, "rho_sharpness": rho_s, "rho_volume": rho_v, "top_k": top_k}


# ------------------------------------------------------------------------------- sentences
#
# What the notebook prints under each figure (the figures: helpers.plots.loss_landscape).


def profile_sentence(profile: str) -> str:
    """What the chapter's preset at ``profile`` trains, in words, read from :mod:`helpers.config`
    (so the introduction cannot go stale when a preset changes)."""
    Q = config.chapter_params(CHAPTER, profile)
    runs = min(Q.seeds, Q.parents), min(Q.tunnels, Q.seeds // 2), min(Q.saddle_seeds, Q.seeds)
    images = ("all 50,000 training images" if Q.n_train is None
              else f"a {Q.n_train:,}-image subset of the training set")
    widths = prose.join([f"{w:g}" for w in Q.widths])
    beside = (f" beside {models.display_name(Q.compare_model)}" if Q.compare_model else "")
    return (f"{models.display_name(Q.model)} trained on {images} "
            f"{'with crops and flips' if Q.augment else 'without augmentation'} in "
            f"{Q.precision} for {prose.plural(Q.epochs, 'epoch')}, with {Q.seeds} independent "
            f"runs, {prose.plural(runs[0], 'parent')} branching at epoch {Q.parent_epoch}, "
            f"{prose.plural(runs[1], 'tunnel')} and the Hessians of {runs[2]} runs; the width "
            f"sweep covers widths {widths} ({Q.width_seeds} seeds each){beside}, the flat-minima "
            f"runs use batch sizes {prose.join([f'{b:,}' for b in Q.flat_batches])} with "
            f"{prose.plural(Q.flat_seeds, 'seed')} each, and the 20-layer networks train "
            f"{prose.plural(Q.deep_epochs, 'epoch')}")


def runs_text(P, G) -> str:
    """The recipe, the landscape's evaluation settings, and every run's test accuracy."""
    R, kids = G["independent"], G["children"]
    lines = [
        f"profile: {P.profile}; model: {P.model} (width {P.width}); training images: "
        f"{P.n_train or 'all'}; test images: {len(R[0].labels)}; {P.epochs} epochs of batch "
        f"{P.batch_size}, {P.optimizer} lr {P.lr} ({P.schedule}), weight decay "
        f"{P.weight_decay}, augmentation {'on' if P.augment else 'off'}",
        f"landscape points: loss on {P.n_eval} training images, BN statistics from "
        f"{P.bn_examples}; Hessians: {P.lanczos_iters} Lanczos steps on {P.hessian_examples} "
        "training images"]
    lines += [f"independent run {i}: test accuracy {100 * r.accuracy:.1f}%"
              for i, r in enumerate(R, 1)]
    lines += [f"children of run {p} (from epoch {P.parent_epoch}, lr {P.child_lr}): test accuracy "
              f"{100 * a.accuracy:.1f}% and {100 * b.accuracy:.1f}%" for p, (a, b) in enumerate(kids, 1)]
    return "\n".join(lines)


def lines_text(LN) -> str:
    """The rise along init -> solution (run 1, then every run's signed rise), and the barriers
    of the independent pairs and of each parent's children."""
    init = LN["init"]["train_loss"]
    return (f"init → solution (run 1): the training loss falls from {init[0]:.3f} to "
            f"{init[-1]:.3f} nats, "
            + ("never rising; " if LN["init_max_increase"] <= 0 else
               f"rising at most {LN['init_max_increase']:.4f} above an earlier point; ")
            + f"per run, the largest rise (negative: the smallest fall between neighbouring "
            f"points): {', '.join(f'{v:+.4f}' for v in LN['init_rises'])} nats\n"
            f"barrier (training loss above the chord), independent pairs: "
            f"{LN['independent_barrier']:.3f} nats (mean); children, per parent (height above "
            f"the chord, negative: below it): "
            f"{', '.join(f'{v:+.4f}' for v in LN['children_barriers'])} nats")


def pair_rows(LN) -> list[tuple[str, dict]]:
    """``[(name, pair summary)]``: each independent pair of :func:`lines`, then the children."""
    ind, kids = LN["pairs"]["independent"], LN["pairs"]["children"]
    return ([(f"runs {i + 1}-{j + 1}", r) for (i, j), r in zip(LN["independent_pairs"], ind)]
            + [(f"children of run {i + 1}", r) for i, r in enumerate(kids)])


def ensemble_gains(LN) -> dict:
    """The prediction ensemble's gain over its members' mean accuracy (pp), with a 95% interval:
    ``independent`` over every pair of runs (resampled by run, as the claims row), ``children``
    over the parents (Student's t)."""
    ind, kids = LN["pairs"]["independent"], LN["pairs"]["children"]
    gain = _pairs_matrix(1 + max(max(p) for p in LN["independent_pairs"]), LN["independent_pairs"],
                         [100 * (r["ens_acc"] - r["mean_acc"]) for r in ind])
    kid = np.array([100 * (k["ens_acc"] - k["mean_acc"]) for k in kids])
    return {"independent": stats.pairwise(gain),
            "children": stats.mean_t(kid, unit="parents") if len(kid) else stats.point(np.nan)}


def soups_text(LN) -> str:
    """Per pair: the members' accuracies, the soup's and the ensemble's, and the disagreement;
    then the ensemble's gain over its members for each kind of pair (:func:`ensemble_gains`)."""
    lines = [f"{n:20s} members {100 * r['acc_a']:.1f}% / {100 * r['acc_b']:.1f}%, soup "
             f"{100 * r['soup_acc']:.1f}%, ensemble {100 * r['ens_acc']:.1f}%, disagreement of "
             f"the members {100 * r['disagreement']:.1f}%" for n, r in pair_rows(LN)]
    gains = ensemble_gains(LN)
    lines.append("ensemble gain over the members' mean: " + "; ".join(
        f"{name} {e.text('{:+.2f}', ' pp')}" for name, e in
        (("independent pairs", gains["independent"]), ("children", gains["children"]))))
    return "\n".join(lines)


def radial_text(RP) -> str:
    """The two optima of the radial plane: accuracies, disagreement, cosine of the weights; and
    where each trajectory's first and last kept checkpoint project onto the plane."""
    acc = RP["optima_acc"]
    lines = [f"optima: test accuracy {100 * acc[0]:.1f}% and {100 * acc[1]:.1f}%, they disagree "
             f"on {100 * RP['optima_disagreement']:.1f}% of test images; cosine of the weights "
             f"{RP['cosine']:.3f}"]
    for i, (tr, es) in enumerate(zip(RP["traj"], RP["traj_epochs"]), 1):
        lines.append(f"run {i}'s checkpoints project from (a, b) = ({tr[0, 0]:.2f}, "
                     f"{tr[0, 1]:.2f}) at epoch {es[0]} to ({tr[-1, 0]:.2f}, {tr[-1, 1]:.2f}) at "
                     f"epoch {es[-1]}")
    return "\n".join(lines)


def tunnel_text(TU) -> str:
    """Per tunnel (pair of runs): the curve's training steps and barriers, and accuracy and
    agreement at its middle."""
    out = []
    for (i, j), tu in zip(TU["pairs"], TU["tunnels"]):
        c, line = tu["curve"], tu["line"]
        mid = len(c["alpha"]) // 2
        out.append(
            f"runs {i + 1}-{j + 1}: curve trained for {tu['steps']} steps; barrier on the line "
            f"{line['barrier']:.3f} nats, on the curve {c['barrier']:.3f} nats; middle of the "
            f"curve: test accuracy {100 * c['test_acc'][mid]:.1f}% (ends "
            f"{100 * c['test_acc'][0]:.1f}% / {100 * c['test_acc'][-1]:.1f}%), agrees with one "
            f"end on {100 * c['agree0'][mid]:.1f}% and with the other on "
            f"{100 * c['agree1'][mid]:.1f}%; the ends agree with each other on "
            f"{100 * c['agree0'][-1]:.1f}%")
    return "\n".join(out)


def width_text(WS) -> str:
    """Per width (and the comparison architecture): parameters, training loss (mean ± SD over
    seeds), test accuracy, barrier and sharpness (mean ± SD over seeds)."""
    rows = {w: r for w, r in WS["rows"].items() if w != "compare"}
    lines = [f"width {w:g} ({r['params']:,} parameters): train loss "
             f"{r['train_loss'].mean():.3f} ± {r['train_loss'].std(ddof=1):.3f}, test accuracy "
             f"{100 * r['test_acc'].mean():.1f}%, barrier {r['barrier']:.3f} nats (mean over "
             f"pairs of seeds), sharpness {r['sharpness'].mean():.2f} ± "
             f"{np.std(r['sharpness'], ddof=1) if len(r['sharpness']) > 1 else float('nan'):.2f}"
             f" (± SD over {len(r['train_loss'])} seeds)"
             for w, r in sorted(rows.items())]
    if "compare" in WS["rows"]:
        r = WS["rows"]["compare"]
        lines.append(f"{r['model']} ({r['params']:,} parameters): train loss "
                     f"{r['train_loss'].mean():.3f}, test accuracy "
                     f"{100 * r['test_acc'].mean():.1f}%, barrier {r['barrier']:.3f} nats, "
                     f"sharpness {r['sharpness'].mean():.2f} ({len(r['train_loss'])} seeds; "
                     f"barrier of their first pair, sharpness of seed 1)")
    return "\n".join(lines)


def slices_text(WS) -> str:
    """Per 2D slice: the loss at the solution and the mean loss on the slice's border."""
    lines = []
    for name, g in WS["slices"].items():
        loss = g["train_loss"]
        c = len(g["xs"]) // 2
        edge = np.concatenate([loss[0], loss[-1], loss[:, 0], loss[:, -1]])
        lines.append(f"{name}: loss at the solution {loss[c, c]:.3f}, mean on the border of "
                     f"the slice {edge.mean():.3f} nats")
    return "\n".join(lines)


def saddles_text(SD) -> str:
    """Per checkpoint of run 1: training loss, extreme eigenvalues and their ratio; then per
    probed run: gradient norms, the checkpoint of smallest gradient and the eigenvalues there."""
    out = [f"run 1, epoch {e}: train loss {tl:.3f}, λ_min {lo:+.3f}, λ_max {hi:.3f}, "
           f"|λ_min|/λ_max {100 * r:.1f}%" for e, lo, hi, r, tl in
           zip(SD["epochs"], SD["lam_min"], SD["lam_max"], SD["ratio"], SD["train_loss"])]
    for k, r in enumerate(SD["runs"], 1):
        lam = "; ".join(f"epoch {e}: λ_min {lo:+.3f}, λ_max {hi:.3f}"
                        for e, (lo, hi) in sorted(r["lam"].items()))
        out.append(f"run {k}: gradient norm at epochs {', '.join(str(e) for e in r['epochs'])}: "
                   f"{', '.join(f'{g:.2f}' for g in r['grad_norm'])} (smallest at epoch "
                   f"{r['small']}); {lam}")
    return "\n".join(out)


def probed_epochs(SR) -> str:
    """The checkpoints whose gradient norm :func:`saddles` measured, in words: 'epochs 0, 1, 2
    and 4', or per group of runs where they kept different epochs ('epochs 0, 1 and 10 in runs
    1 and 2; 0 and 10 in runs 3 and 4')."""
    groups = {}
    for k, r in enumerate(SR, 1):
        groups.setdefault(tuple(int(e) for e in r["epochs"]), []).append(str(k))
    if len(groups) == 1:
        return "epochs " + prose.join([str(e) for e in next(iter(groups))])
    return "epochs " + "; ".join(
        f"{prose.join([str(e) for e in es])} in run{'s' if len(ks) > 1 else ''} {prose.join(ks)}"
        for es, ks in groups.items())


def smallest_where(SR) -> str:
    """Where the runs' gradient norm is smallest: 'the initialization in 6 of 6 runs', 'epoch 8
    in 3 of 4 runs and the initialization in 1'."""
    counts = collections.Counter(int(r["small"]) for r in SR).most_common()
    parts = [f"{'the initialization' if e == 0 else f'epoch {e}'} in {c}" for e, c in counts]
    parts[0] += f" of {len(SR)} runs"
    return prose.join(parts)


def saddles_reading(P, SD) -> dict:
    """Glued into Figure 7's caption: ``saddle_where`` (a sentence: the probed checkpoints and
    where the gradient is smallest) and ``hessian_batch`` (the Hessians' batch size)."""
    SR = SD["runs"]
    at_init = all(r["small"] == 0 for r in SR)
    return {"saddle_where": f"Among the probed checkpoints ({probed_epochs(SR)}) the gradient "
                            f"norm is smallest at {smallest_where(SR)}"
                            + (": where training starts, not a point it comes to." if at_init
                               else "."),
            "hessian_batch": f"{P.hessian_examples:,}"}


def unit_variance_text(UV) -> str:
    """A table: per DeepCNN and gain, last over first activation RMS and the training outcome."""
    lines = [f"{'model':16s} {'gain':>5s} {'RMS last/first':>15s} {'final train loss':>17s} "
             f"{'test acc':>9s}"]
    lines += [f"{m:16s} {g:5g} {u['scales'][-1] / u['scales'][0]:15.3g} {u['train_loss']:17.3f} "
              f"{100 * u['test_acc']:8.1f}%" for (m, g), u in UV.items()]
    return "\n".join(lines)


def flat_minima_text(FM) -> str:
    """Per run: sharpness, log-volume, training loss, test accuracy; then the Spearman
    correlations with test accuracy."""
    lines = [f"batch {r['batch']:4d} seed {r['seed']}: sharpness {r['sharpness']:.2f}, "
             f"log-volume {r['log_volume']:.2f}, train loss {r['train_loss']:.3f}, test accuracy "
             f"{100 * r['test_acc']:.1f}%" for r in FM["rows"]]
    lines.append(f"Spearman correlation with test accuracy: sharpness "
                 f"{FM['rho_sharpness']:+.2f}, log-volume {FM['rho_volume']:+.2f}")
    return "\n".join(lines)


def without_largest_batch(FM) -> dict:
    """The flat-minima runs without the largest batch size: ``rho`` (Spearman ρ of sharpness with
    test accuracy over the other runs; NaN with fewer than three), ``batch`` (the largest) and the
    mean final training loss of its runs (``loss``) and of the others (``loss_rest``), and how
    many runs the others are (``n_rest``)."""
    rows = FM["rows"]
    batch = np.array([r["batch"] for r in rows])
    sharp, acc, loss = (np.array([r[k] for r in rows])
                        for k in ("sharpness", "test_acc", "train_loss"))
    rest = batch != batch.max()
    rho = stats.spearman(sharp[rest], acc[rest], n_resamples=1000).value \
        if rest.sum() > 2 else float("nan")
    return dict(rho=float(rho), batch=int(batch.max()), loss=float(loss[~rest].mean()),
                loss_rest=float(loss[rest].mean()) if rest.any() else float("nan"),
                n_rest=int(rest.sum()))


# ------------------------------------------------------------------------------- claims
#
# Every row's interval is over independent units: runs (the init lines, the width seeds, the
# batch-size runs, the Hessians of saddle_seeds runs; pairs of runs resampled by run), parents
# (each with its two children), disjoint pairs of runs (each with its tunnel); the activation
# scales at initialization are cheap, so their rows are measured over INIT_SEEDS fresh
# initializations. Rows whose units are parents or disjoint pairs go through the seed rule with
# those units added to the seed units: each is an independent seed of the whole procedure.

INIT_SEEDS = 50   # no training: a forward pass each, so enough to decide the He row
PAIR_UNITS = claims.SEED_UNITS + ("parents", "disjoint pairs")


def log_ratio(a, b) -> stats.Estimate:
    """The ratio of the geometric means of two independent samples of a positive quantity
    (sharpness), with Welch's t interval on the difference of their logs: over two or three runs
    a side, a bootstrap's interval is no wider than the spread of the few values themselves."""
    e = stats.diff_t(np.log(np.asarray(a, float)), np.log(np.asarray(b, float)), "runs")
    e = e.map(np.exp)
    return dataclasses.replace(e, method=f"{e.method} on the logs (ratio of geometric means)")


def peak_note(narrow: dict, wide: dict) -> str:
    """Where the line between two seeds peaks, at the narrowest and the widest width (mean end
    loss plus mean barrier, nats), against chance (ln 10): a middle at chance at both widths
    means the barrier grows with width only because the wider ends fit better."""
    peak = {k: float(np.mean(r["train_loss"]) + r["barrier"]) for k, r in
            (("narrowest", narrow), ("widest", wide))}
    text = (f"the line's highest point sits at about {peak['narrowest']:.2f} nats (narrowest) "
            f"and {peak['widest']:.2f} (widest), against chance's ln 10 = {np.log(10):.2f}")
    if peak["widest"] <= peak["narrowest"] + 0.05:
        text += (": the middle does not rise with width, the ends fall, so the barrier grows "
                 "because the wider networks fit better")
    return text


def init_scales(P, D, seeds: int = INIT_SEEDS) -> dict:
    """``{(model, gain): (seeds, layers+1) activation RMS}`` over ``seeds`` initializations of
    each DeepCNN of :func:`deep_runs` (no training: a forward pass of 256 training images)."""
    x = train_sample(P, 256)[0].cpu()
    return {k: np.stack([activation_scales(train.init_model(
        run.spec.with_seed(config.seed_base(P) + s)), x) for s in range(1, seeds + 1)])
        for k, run in D.items()}


def _log_mean(values, unit: str = "initializations") -> stats.Estimate:
    """Geometric mean of positive values with the t interval of their log10."""
    return stats.mean_t(np.log10(np.asarray(values, dtype=np.float64)),
                        unit=unit).map(lambda v: 10 ** v)


def _pairs_matrix(n: int, pairs, values) -> np.ndarray:
    m = np.full((n, n), np.nan)
    for (i, j), v in zip(pairs, values):
        m[i, j] = m[j, i] = v
    return m


def detectable_sentences(P, W) -> list[str]:
    """What the width sweep's seeds can detect (the chapter's main comparison with replicates)."""
    k = P.width_seeds
    sd = float(np.mean([np.std([r.accuracy for r in rs], ddof=1) for rs in W.values()])) \
        if k > 1 else float("nan")
    if k < 2:
        return ["One seed per width: no comparison between widths can be decided here."]
    return [f"With {k} seeds per width, a true difference of "
            f"{100 * stats.detectable_difference(sd, k, k):.1f} pp in test accuracy between two "
            f"widths would be detected with 80% power at the 5% level (seed SD {100 * sd:.2f} "
            "pp); for scale only: no claims row compares accuracy across widths (the width "
            "rows' own intervals are in the table)."]


def detectable_note(values, fmt: str, unit: str, what: str = "a mean", transform=None) -> str:
    """What a t interval over these per-unit values can detect: the true mean's distance from a
    test's bound that is found with 80% power at the 5% level, from the values' own spread
    (``transform`` maps that distance to the printed one)."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if len(v) < 2:
        return f"one {unit.rstrip('s')}: nothing detectable"
    d = stats.detectable_difference(float(np.std(v, ddof=1)), len(v))
    d = transform(d) if transform else d
    return f"with {len(v)} {unit} it detects {what} {fmt.format(d)} from the bound (80% power)"


def detectable_factor_note(ratios, unit: str) -> str:
    """:func:`detectable_note` for a geometric mean of positive ratios: the factor from the bound
    that a t interval over the logs finds with 80% power."""
    with np.errstate(divide="ignore", invalid="ignore"):
        logs = np.log(np.asarray(ratios, dtype=float))
    return detectable_note(logs, "a factor {:.2f}", unit, "a geometric mean", np.exp)


@gates.gate(CHAPTER, maxsize=0)  # not memoized: a fresh table each call
def claims_table(P):
    """The chapter's claims, each with its interval where the chapter has replicates."""
    P, G = main_runs(P)
    LN = lines(P)
    RP = radial(P)
    TU = tunnel(P)
    WS = width_sweep(P)
    SD = saddles(P)
    UV = unit_variance(P)
    FM = flat_minima(P)
    _, D = deep_runs(P)
    with cpu_threads(P):
        IS = init_scales(P, D)
    ind, kids = LN["pairs"]["independent"], LN["pairs"]["children"]
    n_ind, pairs = len(G["independent"]), LN["independent_pairs"]
    t = alphas(P)
    barrier_m = _pairs_matrix(n_ind, pairs, [L.barrier(x["train_loss"], t)
                                             for x in LN["independent"]])
    soup_m = _pairs_matrix(n_ind, pairs, [100 * (r["soup_acc"] - r["mean_acc"]) for r in ind])
    TS = TU["summaries"]
    n_tun = len(TS)
    tunnel_pairs = ", ".join(f"{i + 1}-{j + 1}" for i, j in TU["pairs"])
    rows = {w: r for w, r in WS["rows"].items() if w != "compare"}
    narrow, wide = rows[min(rows)], rows[max(rows)]
    small_g, large_g = min(P.init_gains), max(P.init_gains)

    def last_first(s, first=0):  # last over first (the stem's) activation RMS, per init
        return s[:, -1] / s[:, first]
    T = claims.ClaimsTable(CHAPTER, P.profile, G["independent"][0].variant,
                           config.seed_base(P))
    # every row goes through claims.seed_row: without an interval over independent units
    # (runs, parents, disjoint pairs) it is kept out of holds and differs
    rises = LN["init_rises"]
    claims.seed_row(T, "seed 000 §1", "Init → solution is downhill all the way (largest rise of train loss "
                       "on the line; negative: it falls at every step)",
                       "\"the optimizer rolls you downhill\" (said of its path; the straight "
                       "line is Goodfellow et al.'s test)", stats.mean_t(rises),
                       claims.below(0.01), fmt="{:+.4f} nats",
                       note=f"per run: {', '.join(f'{v:+.4f}' for v in rises)} nats; "
                       + detectable_note(rises, "{:.4f} nats", "runs"))
    T.add("seed 004 §2 (Garipov, Draxler)", "The straight line between independent optima "
          "crosses a high-loss barrier", "\"hits a high loss area in the middle\"",
          stats.pairwise(barrier_m), claims.above(0.25), fmt="{:.3f} nats")
    cb = LN["children_barriers"]
    claims.seed_row(T, "seed 000 §5", "Children fine-tuned from one shared parent: no barrier on the line "
                       "(largest height above the chord; negative: below it)",
                       "same broad basin", stats.mean_t(cb, unit="parents"),
                       claims.below(0.05), fmt="{:+.4f} nats", units=PAIR_UNITS,
                       note=f"per parent: {', '.join(f'{v:+.4f}' for v in cb)} nats; "
                       + detectable_note(cb, "{:.4f} nats", "parents"))
    soup_kid = np.array([100 * (k["soup_acc"] - k["mean_acc"]) for k in kids])
    claims.seed_row(T, "seed 000 §5", "The soup of the children works (soup − mean member accuracy)",
                       "weight averaging works", stats.mean_t(soup_kid, unit="parents"),
                       claims.above(-1.0), fmt="{:+.2f} pp", units=PAIR_UNITS,
                       note=f"per parent: {', '.join(f'{v:+.2f}' for v in soup_kid)} pp; "
                       + detectable_note(soup_kid, "{:.1f} pp", "parents"))
    T.add("seed 000 §5", "The soup of independent solutions fails (soup − mean member "
          "accuracy)", "\"averaging their weights produces nonsense\"", stats.pairwise(soup_m),
          claims.below(-10.0), fmt="{:+.1f} pp")
    T.add("seed 000 §3", "The prediction ensemble of independent solutions beats its members",
          "errors cancel", ensemble_gains(LN)["independent"], claims.above(0.5),
          fmt="{:+.1f} pp",
          note="per pair: " + ", ".join(f"{100 * (r['ens_acc'] - r['mean_acc']):+.1f}"
                                       for r in ind)
          + " pp")
    per_pair = f"disjoint pairs of runs {tunnel_pairs}"

    def tunnel_row(source, statement, expected, key, test, fmt, floor=None):
        v = np.array([x[key] for x in TS])
        est = stats.mean_t(v, unit="disjoint pairs", floor=floor)
        claims.seed_row(T, source, statement, expected, est, test, fmt=fmt, units=PAIR_UNITS,
                        note=f"{per_pair}: {', '.join(fmt.format(x) for x in v)}; "
                        + detectable_note(v, fmt, "disjoint pairs"))
    tunnel_row("seed 004 Fig 5 / S1", "Two optima: similar accuracy (|difference|) ...",
               "similar accuracy", "acc_gap", claims.below(3.0), "{:.1f} pp", floor=0.0)
    tunnel_row("seed 004 Fig 5 / S1", "... but different functions (disagreement / mean error "
               "rate of the two optima)", "functions different", "dis_over_error",
               claims.above(0.3), "{:.2f}")
    tunnel_row("seed 004 Fig S2", "The trained tunnel is low-loss (barrier on the curve / barrier "
               "on the line)", "\"the tunnel is indeed low-loss\"", "barrier_ratio",
               claims.below(0.25), "{:.2f}")
    tunnel_row("seed 004 Fig S3", "Mid-tunnel predictions differ from both ends (min disagreement "
               "with an end / ends' disagreement)",
               "\"does not correspond to similar solutions in function space\"", "mid_ratio",
               claims.above(0.3), "{:.2f}")
    T.add("seed 000 §1", "Wider networks reach lower training loss (narrowest − widest)",
          "\"SGD almost always finds a good solution\" (said of massively "
          "overparameterized networks)",
          stats.diff_t(narrow["train_loss"], wide["train_loss"]),
          claims.above(0), fmt="{:+.3f} nats")
    images = "all 50,000" if P.n_train is None else f"{P.n_train:,}"
    under = (f"widths {min(rows):g}-{max(rows):g} of {models.display_name(P.model)} on {images} images for "
             f"{P.epochs} epochs are all far from interpolation (widest: training loss "
             f"{wide['train_loss'].mean():.2f} nats); the smoothing the source describes belongs "
             "to heavily overparameterized networks, which this profile cannot train")
    claims.seed_row(T, "seed 000 §1", "Wider networks: lower barrier between seeds (narrowest − widest)",
                       "basins \"more connected\"",
                       stats.pairwise([narrow["barrier_m"], wide["barrier_m"]], lambda a, b: a - b),
                       claims.above(0), fmt="{:+.3f} nats",
                       note=f"mean over the pairs of {P.width_seeds} seeds per width; "
                       + (under + "; " + peak_note(narrow, wide)
                          if narrow["barrier"] <= wide["barrier"] else ""))
    width_sharp = log_ratio(wide["sharpness"], narrow["sharpness"])
    T.add("seed 000 §1", "Wider networks: flatter minima (sharpness widest / narrowest)",
          "basins \"become wider\"",
          width_sharp,
          claims.below(1), fmt="{:.2f}",
          note=(under + "; a wider network also reaches lower loss, where curvature is "
                "typically higher") if width_sharp.value >= 1 else "")
    SR = SD["runs"]
    small = np.array([curvature_ratio(*r["lam"][r["small"]]) for r in SR])
    g_small = np.array([r["grad_norm"].min() for r in SR])
    g_last = np.array([r["grad_norm"][-1] for r in SR])
    g_max = np.array([r["grad_norm"].max() for r in SR])
    claims.seed_row(T, "seed 002", "Points of small gradient away from the optimum are saddles "
                       "(|λ_min| / λ_max at each run's checkpoint of smallest gradient norm)",
                       "\"almost all critical points away from the optimum are saddle points\"",
                       stats.mean_t(small), claims.above(0.2), fmt="{:.2f}",
                       note=f"the checkpoint of smallest gradient among {probed_epochs(SR)} "
                       f"is {smallest_where(SR)}: gradient norm "
                       f"{', '.join(f'{v:.2f}' for v in g_small)} there, against "
                       f"{', '.join(f'{v:.2f}' for v in g_last)} at the last checkpoint and up to "
                       f"{', '.join(f'{v:.2f}' for v in g_max)} in between; the closest to a critical "
                       "point among the probed checkpoints, not a critical point (locating one, by "
                       "minimizing the gradient norm, is beyond this profile); per run: "
                       f"{', '.join(f'{v:.2f}' for v in small)}; "
                       + detectable_note(small, "{:.2f}", "runs"))
    lmin0 = np.array([abs(min(r["lam"][0][0], 0.0)) for r in SR])
    lmin_end = np.array([abs(min(r["lam"][r["last"]][0], 0.0)) for r in SR])
    shrink = np.where(lmin0 > 0, lmin_end / np.where(lmin0 > 0, lmin0, 1), np.nan)
    claims.seed_row(T, "seed 002", "Saddles are escaped: the most negative curvature shrinks along training "
                       "(|λ_min| at the last checkpoint / at initialization, geometric mean over runs)",
                       "saddles are escaped easily", _log_mean(shrink, unit="runs"),
                       claims.below(0.5), fmt="{:.2f}",
                       note=f"per run: {', '.join(f'{v:.2f}' for v in shrink)} (λ_min "
                       + ", ".join(f"{r['lam'][0][0]:+.2f} → {r['lam'][r['last']][0]:+.2f}" for r in SR)
                       + "); a falling |λ_min| / λ_max can come from a growing λ_max alone, so the "
                       "test is on λ_min; at the last checkpoint training is still far from a "
                       "minimum, in the region where the essay expects saddles; "
                       + detectable_factor_note(shrink, "runs"))
    plain = last_first(IS[("deepcnn", 1.0)]) if ("deepcnn", 1.0) in IS else np.array([np.nan])
    T.add("seed 002 a", "He initialization keeps the activation scale over 20 plain layers "
          f"(last / first RMS, geometric mean over {INIT_SEEDS} initializations)",
          "unit variance", _log_mean(plain), claims.between(0.1, 10), fmt="{:.3g}",
          note="He scaling preserves the expected second moment; with 8 channels (fan-in 72) "
          "each layer's actual gain fluctuates around it and the product over 20 layers drifts")
    depth = IS[("deepcnn", large_g)].shape[1] - 1
    T.check("seed 002 a", f"Too small / too large a gain ({small_g:g} / {large_g:g}): the scale "
            "vanishes / explodes (ratio of their last/first RMS, geometric mean over "
            "initializations)", "vanishing / exploding",
            _log_mean(last_first(IS[("deepcnn", large_g)])
                      / last_first(IS[("deepcnn", small_g)])),
            claims.above(1e4), fmt="{:.3g}",
            note=f"true by construction: a bias-free ReLU network scales its activations by "
            f"the gain at every layer, so the ratio is ({large_g:g}/{small_g:g})^{depth} = "
            f"{(large_g / small_g) ** depth:.3g} whatever the initialization")
    # over layer 1, the first with batch norm: the stem has none and scales with the gain
    bn = np.stack([last_first(IS[("deepcnn-bn", g)], 1) for g in P.init_gains])  # (gains, seeds)
    worst = np.maximum(bn, 1 / bn).max(0)
    T.add("seed 002 c", "Batch norm keeps every normalized layer near one scale whatever the gain "
          "(last / layer 1 RMS, layer 1 the first with batch norm; worst over gains, mean over "
          "initializations)",
          "normalization forces unit variance", stats.mean_t(worst, unit="initializations"),
          claims.below(3), fmt="{:.2f}",
          note="at initialization batch norm normalizes every channel whatever the scale of the "
          "convolution before it, so the gain drops out after the stem (which has no batch norm "
          "and scales with the gain: the table's last/first is over the stem); per "
          f"initialization: {', '.join(f'{v:.2f}' for v in worst)}")
    sharp = np.array([r["sharpness"] for r in FM["rows"]])
    acc = np.array([r["test_acc"] for r in FM["rows"]])
    batch = np.array([r["batch"] for r in FM["rows"]])
    vol = np.array([r["log_volume"] for r in FM["rows"]])
    rho_rest = without_largest_batch(FM)["rho"]
    rho_sv = stats.spearman(sharp, vol, n_resamples=200).value if len(sharp) > 2 \
        else float("nan")
    T.add("seed 002", "Flatter minima generalize better (Spearman ρ of sharpness with test "
          "accuracy)", "flat minima generalize", stats.spearman(sharp, acc), claims.below(0),
          fmt="{:+.2f}",
          note=f"{len(sharp)} runs; without the largest batch ({batch.max()}, the least trained "
          f"runs) ρ = {rho_rest:+.2f}; the log-volume proxy from the top {FM['top_k']} "
          f"eigenvalues follows sharpness (ρ = {rho_sv:+.2f} between them) and is no independent "
          "evidence")
    big = [r["sharpness"] for r in FM["rows"] if r["batch"] == max(P.flat_batches)]
    small_b = [r["sharpness"] for r in FM["rows"] if r["batch"] == min(P.flat_batches)]
    T.add("Keskar et al. 2017 (a view seed 002 calls not the main reason)",
          f"Larger batches find "
          f"sharper minima (sharpness, batch {max(P.flat_batches)} / batch "
          f"{min(P.flat_batches)})", "SGD noise → flat minima",
          log_ratio(big, small_b),
          claims.above(1), fmt="{:.2f}",
          note="the essay (seed 002) says SGD's implicit bias is not the main reason for flat "
          "minima (geometry is): this row tests the common view, not the essay's; the batch "
          "size also changes how far training got at a fixed learning rate and epoch budget")
    return T


# --------------------------------------------------------------------------------------------
# the closing section's prose: each clause is the one its row's verdict calls for (glued into
# the page by helpers.prose, so that a page executed at any profile says what its table decides)


@dataclasses.dataclass(frozen=True)
class Facts:
    """What the closing section reads besides the claims table (:func:`facts`); the defaults
    (nothing measured) leave those clauses out."""

    saddle_where: str = ""        # saddles_reading's sentence: probed epochs, smallest gradient
    last_lam_min: tuple = ()      # per saddle run, λ_min at its last checkpoint
    mid_acc: float = float("nan")   # test accuracy at the tunnels' middle, mean over tunnels, %
    ends_acc: float = float("nan")  # ... at their ends, mean over both ends and tunnels, %
    flat: dict = dataclasses.field(default_factory=dict)   # without_largest_batch
    kids_gain: stats.Estimate | None = None   # the children's ensemble gain (ensemble_gains)


def facts(P) -> Facts:
    """The :class:`Facts` of this run (from the memoized analyses: nothing is computed again)."""
    SD, TU, FM = saddles(P), tunnel(P), flat_minima(P)
    TS = TU["summaries"]
    return Facts(kids_gain=ensemble_gains(lines(P))["children"],
                 saddle_where=saddles_reading(P, SD)["saddle_where"],
                 last_lam_min=tuple(r["lam"][r["last"]][0] for r in SD["runs"]),
                 mid_acc=100 * float(np.mean([x["mid_acc"] for x in TS])),
                 ends_acc=100 * float(np.mean([np.mean(x["acc"]) for x in TS])),
                 flat=without_largest_batch(FM))


def closing_reading(P, T: claims.ClaimsTable, F: Facts | None = None) -> dict:
    """The paragraphs of 'What this shows' (``close_scale``, ``close_between``,
    ``close_tunnels``, ``close_width``, ``close_curvature``, ``close_init``, ``close_flat``);
    ``F`` (:func:`facts`) adds what the table does not hold."""
    F = F or Facts()
    keys = ("close_scale", "close_between", "close_tunnels", "close_width", "close_curvature",
            "close_init", "close_flat")
    scale = (f"This run trains {models.display_name(P.model)} for {P.epochs} epochs on "
             f"{'all 50,000' if P.n_train is None else f'{P.n_train:,}'} training images, "
             f"evaluates landscapes on {P.n_eval:,} training and {P.n_test or 10000:,} test images "
             f"and takes Hessian eigenvalues from {P.lanczos_iters} Lanczos steps on "
             f"{P.hessian_examples:,} images.")
    if T.untested():
        return dict({k: T.untested() for k in keys}, close_scale=scale)
    H, D, I = claims.HOLDS, claims.DIFFERS, claims.INCONCLUSIVE
    say = T.say
    between = (
        "From every initialization the training loss falls along the straight line to the "
        "solution " + say("Init → solution is downhill", {
            H: "without a rise above the test's bound (mean largest rise {m}, interval {ci}, "
               "against {test} nats)",
            D: "but not all the way: its mean largest rise is {m} (interval {ci}, against "
               "{test} nats)",
            I: "-- whether at every step, these runs cannot decide ({m}, interval {ci})"})
        + "; between independently trained solutions the line " + say("The straight line between", {
            H: "crosses a high barrier (mean {m}, interval {ci}, against {test} nats)",
            D: "crosses a mean barrier of at most the test's bound ({m}, interval {ci}, against "
               "{test} nats)",
            I: "crosses a mean barrier of {m}, undecided against {test} nats (interval {ci})"})
        + ", and averaging their weights " + say("The soup of independent", {
            H: "fails ({m} against the members, interval {ci}, against {test} pp)",
            D: "does not fail by the test's margin ({m}, interval {ci})",
            I: "costs {m} against the members, undecided against {test} (interval {ci})"})
        + " while averaging their predictions " + say("The prediction ensemble", {
            H: "gains over the members ({m}, interval {ci}).",
            D: "does not gain the test's margin over them ({m}, interval {ci}).",
            I: "gains {m}, undecided against {test} (interval {ci})."})
        + " The children of one parent " + say("Children fine-tuned", {
            H: "sit in one basin, with no barrier on the line between them above the test's "
               "bound ({m}, interval {ci}, against {test} nats)",
            D: "are separated by a barrier ({m}, interval {ci}, against {test})",
            I: "may or may not be separated by a barrier ({m}, interval {ci})"})
        + ", and their soup " + say("The soup of the children", {
            H: "is within the test's margin of them or better ({m}, interval {ci}, against {test} "
               "pp)",
            D: "is worse than they are by more than the test allows ({m}, interval {ci})",
            I: "is {m} from them, undecided against {test} (interval {ci})"})
        + ("." if F.kids_gain is None or not F.kids_gain.has_interval else
           f"; their ensemble's gain over them is {F.kids_gain.text('{:+.2f}', ' pp')}, not a "
           "claims row: set beside the independent pairs' gain, an informal comparison on the "
           "same runs."))
    accs = f"{F.mid_acc:.1f}% against {F.ends_acc:.1f}% at the ends, mean over the tunnels"
    mid_acc = ("." if np.isnan(F.mid_acc) else
               f", though the middle is also less accurate ({accs}), which may account for part "
               "of it."
               if F.mid_acc < F.ends_acc - 0.5 else
               f"; the middle is about as accurate as the ends ({accs}).")
    mid = T.find("Mid-tunnel predictions differ").interval
    decided = bool(mid) and (mid[0] > 1 or mid[1] < 1)
    share = T.find("Mid-tunnel predictions differ").test.lstrip("> ")
    mid_vs_ends = (f"by more than the test's {share} times the ends' own disagreement"
                   if not decided else
                   f"{'more' if mid[0] > 1 else 'less'} than the ends disagree with each other")
    mid_open = ("" if decided else "; whether more or less than the ends disagree with each "
                "other, the interval cannot say")
    tunnels = (
        "Two independent optima " + say("Two optima: similar accuracy", {
            H: "reach similar accuracy (a gap of {m}, interval {ci})",
            D: "differ in accuracy by {m} (interval {ci}, against {test})",
            I: "differ in accuracy by {m}, undecided against {test} (interval {ci})"})
        + " " + say("... but different functions", {
            H: "and compute different functions (they disagree on {m} times their mean error rate, "
               "interval {ci}).",
            D: "but do not compute clearly different functions ({m} times their mean error rate, "
               "interval {ci}).",
            I: "and whether they compute different functions is undecided ({m}, interval {ci})."})
        + " " + say("The trained tunnel is low-loss", {
            H: "The curves trained between them are low-loss: their barrier is {m} of the line's "
               "(interval {ci}, against {test}).",
            D: "The curves trained between them keep more than the test allows of the line's "
               "barrier ({m}, interval {ci}, against {test}).",
            I: "Whether the curves trained between them are low-loss in the test's sense (a "
               "barrier under a quarter of the line's) these tunnels cannot decide: their barrier "
               "is {m} of the line's, interval {ci} (the row's note gives each pair's)."})
        + " " + say("Mid-tunnel predictions differ", {
            H: "Near its middle a curve passes through functions that disagree with each end "
               + mid_vs_ends + " ({m} times as much, interval {ci}" + mid_open + ")" + mid_acc,
            D: "The middle of a curve does not differ in function from the ends by the test's "
               "margin ({m}, interval {ci}).",
            I: "Whether the middle of a curve differs in function from both ends is undecided "
               "({m}, interval {ci})."}))
    barrier_row = T.find("Wider networks: lower barrier")
    rises = bool(barrier_row.interval) and barrier_row.interval[1] < 0
    width = (
        say("Wider networks reach lower training loss", {
            H: "Wider networks reach lower training loss ({m}, interval {ci})",
            D: "Wider networks do not reach lower training loss here ({m}, interval {ci})",
            I: "Whether wider networks reach lower training loss is undecided ({m}, interval "
               "{ci})"})
        + "; " + say("Wider networks: lower barrier", {
            H: "the barrier between seeds falls with width ({m}, interval {ci})",
            D: ("the barrier between seeds rises with width" if rises else
                "the barrier between seeds does not fall with width")
               + ": narrowest minus widest is {m} (interval {ci}), and the row's note says how far "
               "these widths are from the overparameterized networks the source describes",
            I: "whether the barrier between seeds falls with width is undecided ({m}, interval "
               "{ci})"})
        + "; " + say("Wider networks: flatter minima", {
            H: "and the widest networks find flatter minima ({m}, interval {ci}).",
            D: "and the widest networks do not find flatter minima ({m}, interval {ci}).",
            I: "and whether wider networks find flatter minima the width seeds cannot decide ({m}, "
               "interval {ci})."}))
    lam = F.last_lam_min
    neg = sum(v < 0 for v in lam)
    batch = f"these Hessians are on one batch of {P.hessian_examples:,} training images."
    lams = f"λ_min {min(lam):+.2f} to {max(lam):+.2f}" if lam else ""
    who = "every run still has" if neg == len(lam) else f"{neg} of {len(lam)} runs still have"
    last = (" T" + batch[1:] if not lam else
            f" At the last checkpoint no run has negative curvature left ({lams}); {batch}"
            if not neg else
            f" At the last checkpoint {who} negative curvature ({lams}): a run that stops far "
            f"from a minimum still has some, and {batch}")
    curvature = (
        (F.saddle_where or "The saddle printout names each run's checkpoint of smallest gradient "
         "among those probed.")
        + " " + say("Points of small gradient", {
            H: "There the most negative curvature is of the order of the most positive ({m}, "
               "interval {ci}): saddle-like, as the essay says of critical points away from the "
               "optimum, though these points are not critical points.",
            D: "There the negative curvature is small beside the positive ({m}, interval {ci}, "
               "against {test}).",
            I: "Whether there the negative curvature is of the order of the positive is undecided "
               "({m}, interval {ci})."})
        + " " + say("Saddles are escaped", {
            H: "From initialization to the last checkpoint the most negative curvature shrinks "
               "by more than half ({m}, interval {ci}; Figure 7 shows its path).",
            D: "From initialization to the last checkpoint the most negative curvature does not "
               "shrink by half ({m}, interval {ci}; Figure 7 shows its path).",
            I: "Whether it shrinks by half from initialization to the last checkpoint is undecided "
               "({m}, interval {ci}; Figure 7 shows its path)."})
        + last)
    init = (
        say("Too small / too large a gain", {
            H: "A wrong gain makes the plain network's activations vanish or explode, as it must "
               "(a check: {m})",
            D: "A wrong gain does not make the plain network's activations vanish or explode here "
               "({m}), contrary to construction: a bug to look for",
            I: "Whether a wrong gain makes the plain network's activations vanish or explode is "
               "undecided ({m}, interval {ci})"})
        + "; " + say("He initialization keeps", {
            H: "the He gain keeps the scale within a factor of 10 over 20 plain layers ({m}, "
               "interval {ci})",
            D: "the He gain does not keep the scale within a factor of 10 over 20 plain layers "
               "({m}, interval {ci})",
            I: "whether the He gain keeps the scale within a factor of 10 over 20 plain layers "
               "is undecided ({m}, interval {ci})"})
        + "; " + say("Batch norm keeps every normalized layer", {
            H: "and with batch norm the last layer stays within the test's factor of layer 1, the "
               "first normalized one, whatever the gain ({m}, interval {ci}; the stem, without "
               "batch norm, scales with the gain).",
            D: "and with batch norm the last layer does not stay within the test's factor of "
               "layer 1, the first normalized one ({m}, interval {ci}).",
            I: "and whether with batch norm the last layer stays within the test's factor of "
               "layer 1, the first normalized one, is undecided ({m}, interval {ci})."}))
    few = ("; a bootstrap over {k} runs per batch size, whose interval is too narrow: read it as "
           "the least uncertainty there is").format(k=P.flat_seeds) \
        if "too narrow" in T.find("Larger batches").uncertainty else ""
    fl = F.flat
    sign = ("" if not fl or np.isnan(fl["rho"]) else
            "the sharper solutions were the more accurate" if fl["rho"] > 0 else
            "the flatter solutions were the more accurate" if fl["rho"] < 0 else "no order")
    budget = (" The comparison varies the batch size at a fixed learning rate and epoch budget, "
              "which also changes how far training got")
    budget += (": the row's note says what the correlation is without the largest batch." if not fl
               else f": the runs at the largest batch ({fl['batch']:,}) end at a training loss of "
               f"{fl['loss']:.2f} nats against {fl['loss_rest']:.2f} for the others, and too few "
               "runs are left without them for a correlation." if not sign else
               f": the runs at the largest batch ({fl['batch']:,}) end at a training loss of "
               f"{fl['loss']:.2f} nats against {fl['loss_rest']:.2f} for the others, and without "
               f"them ρ = {fl['rho']:+.2f} over {fl.get('n_rest', 'the other')} runs, too few "
               f"for an interval: {sign} in this run, not a decided result.")
    flat = (
        say("Larger batches find sharper minima", {
            H: "Larger batches find sharper minima ({m}, interval {ci}" + few + ")",
            D: "Larger batches do not find sharper minima here ({m}, interval {ci}" + few + ")",
            I: "Whether larger batches find sharper minima is undecided ({m}, interval {ci}"
               + few + ")"})
        + "; " + say("Flatter minima generalize better", {
            H: "and flatter minima generalize better (Spearman ρ {m}, interval {ci}).",
            D: "but flatter minima do not generalize better here (Spearman ρ {m}, interval {ci}).",
            I: "whether flatter minima generalize better is undecided (Spearman ρ {m}, interval "
               "{ci})."})
        + budget)
    return dict(zip(keys, (scale, between, tunnels, width, curvature, init, flat)))
