"""The loss landscape: lines, planes, random slices, curvature and low-loss curves in weight space.

A point of the landscape is a flat float32 vector of a network's trainable parameters (the
order of ``net.named_parameters()``); :func:`vector` and :func:`load_vector` convert. Batch-norm
running statistics are *not* part of the point: at every point that is evaluated they are
recomputed on a few training batches (:func:`reset_bn`), because the statistics stored with one
network are wrong for any other (Garipov et al. 2018; Li et al. 2018).

* :class:`Evaluator` -- loss and accuracy on a fixed training subset, loss, accuracy and the
  predicted classes on a fixed test subset, at any point;
* :func:`interpolate` -- along the straight line between two points (Goodfellow et al. 2015),
  :func:`barrier` / :func:`max_increase` summarise such a line;
* :func:`plane_basis` -- the plane through any three points (an orthonormal basis), and
  :func:`grid` -- evaluate ``origin + x d1 + y d2`` on a grid (also the radial plane through the
  origin and two optima of Fort et al., and the random slices of Li et al.);
* :func:`filter_normalized_direction` -- a random direction scaled filter by filter to the
  weights' norms (Li et al. 2018);
* :class:`HessianOperator` -- Hessian-vector products of the training loss on a fixed batch
  (computed chunk by chunk: memory does not grow with the batch);
  :func:`power_iteration`, :func:`lanczos` (extreme eigenvalues and the stochastic Lanczos
  quadrature spectral density of Ghorbani et al. 2019), :func:`spectral_density`;
* :func:`bezier_point` / :func:`train_bezier` -- a quadratic Bezier curve between two optima whose
  control point is trained so that the whole curve has low loss (Garipov et al. 2018).
"""
from __future__ import annotations

import dataclasses
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.func import functional_call

# ------------------------------------------------------------------------------- points


def param_names(net: nn.Module) -> list[str]:
    return [n for n, _ in net.named_parameters()]


def vector(source, net: nn.Module | None = None) -> torch.Tensor:
    """The trainable parameters as one flat float32 vector, from a module or from a state dict
    (then ``net`` names the parameters)."""
    if isinstance(source, nn.Module):
        return torch.cat([p.detach().reshape(-1) for p in source.parameters()]).float().clone()
    names = param_names(net)
    return torch.cat([source[n].reshape(-1) for n in names]).float().clone()


def unflatten(net: nn.Module, vec: torch.Tensor) -> dict:
    """``{name: view of vec}`` shaped like ``net``'s parameters (differentiable in ``vec``)."""
    total = sum(p.numel() for p in net.parameters())
    if total != vec.numel():
        raise ValueError(f"vector of {vec.numel()} values for a network of {total} parameters")
    out, i = {}, 0
    for n, p in net.named_parameters():
        out[n] = vec[i:i + p.numel()].view_as(p)
        i += p.numel()
    return out


@torch.no_grad()
def load_vector(net: nn.Module, vec: torch.Tensor) -> nn.Module:
    """Copy ``vec`` into ``net``'s parameters, in place."""
    for p, v in zip(net.parameters(), unflatten(net, vec).values()):
        p.copy_(v)
    return net


# ------------------------------------------------------------------------------- batch norm

BN_TYPES = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)


def has_bn(net: nn.Module) -> bool:
    return any(isinstance(m, BN_TYPES) for m in net.modules())


@torch.no_grad()
def reset_bn(net: nn.Module, x: torch.Tensor, batch_size: int = 500) -> nn.Module:
    """Recompute every batch-norm layer's running statistics from ``x`` (in batches), leaving the
    network in eval mode. The running mean is the exact mean over ``x`` (batches weighted by their
    size); the running variance is the size-weighted average of the batches' variances, as in
    Garipov et al.'s and Izmailov et al.'s ``bn_update``. Networks without BN are left as they are.

    Only the BN layers run in training mode; dropout stays off, so the result is deterministic.
    """
    bns = [m for m in net.modules() if isinstance(m, BN_TYPES)]
    net.eval()
    if not bns:
        return net
    saved = [m.momentum for m in bns]
    for m in bns:
        m.reset_running_stats()
        m.train()
    seen = 0
    for i in range(0, len(x), batch_size):
        b = len(x[i:i + batch_size])
        for m in bns:
            m.momentum = b / (seen + b)  # running average weighted by batch size
        net(x[i:i + batch_size])
        seen += b
    for m, mom in zip(bns, saved):
        m.momentum = mom
        m.eval()
    return net


# ------------------------------------------------------------------------------- evaluation


@dataclasses.dataclass
class Point:
    """What :class:`Evaluator` measures at one point."""

    train_loss: float
    train_acc: float
    test_loss: float
    test_acc: float
    test_pred: np.ndarray   # predicted class per test example
    test_probs: np.ndarray | None = None


@torch.no_grad()
def _loss_acc(net, x, y, batch_size=1000, keep_probs=False):
    """Mean loss, accuracy, predicted classes (and probabilities) of ``net`` on ``x`` in chunks.
    Everything accumulates on the device (the loss in float64, chunk sums added in order as a
    Python float would) and comes to the host once at the end: no host sync per chunk."""
    loss = torch.zeros((), dtype=torch.float64, device=x.device)
    correct = torch.zeros((), dtype=torch.long, device=x.device)
    preds, probs = [], []
    for i in range(0, len(x), batch_size):
        out = net(x[i:i + batch_size]).float()
        loss += F.cross_entropy(out, y[i:i + batch_size], reduction="sum").double()
        pred = out.argmax(1)
        correct += (pred == y[i:i + batch_size]).sum()
        preds.append(pred)
        if keep_probs:
            probs.append(torch.softmax(out.double(), 1))
    n = len(y)
    return (loss.item() / n, correct.item() / n, torch.cat(preds).cpu().numpy(),
            torch.cat(probs).cpu().numpy() if keep_probs else None)


class Evaluator:
    """Loss and accuracy at any point, with BN statistics recomputed there.

    ``net`` is a skeleton of the architecture (its weights are overwritten); ``train_x/y`` give the
    training loss (and the first ``bn_examples`` of them the BN statistics), ``test_x/y`` the test
    metrics and predictions.
    """

    def __init__(self, net, train_x, train_y, test_x, test_y, bn_examples: int = 1000,
                 batch_size: int = 1000):
        self.net = net.eval()
        self.train_x, self.train_y, self.test_x, self.test_y = train_x, train_y, test_x, test_y
        self.bn_x = train_x[:bn_examples]
        self.batch_size = batch_size
        self.calls = 0

    def prepare(self, vec: torch.Tensor) -> nn.Module:
        """The skeleton loaded with ``vec`` and its BN statistics recomputed."""
        load_vector(self.net, vec)
        return reset_bn(self.net, self.bn_x, self.batch_size)

    def __call__(self, vec: torch.Tensor, keep_probs: bool = False, test: bool = True) -> Point:
        """The metrics at ``vec``; ``test=False`` skips the test set (NaN metrics, no predictions)."""
        self.calls += 1
        net = self.prepare(vec)
        tl, ta, _, _ = _loss_acc(net, self.train_x, self.train_y, self.batch_size)
        if not test:
            return Point(tl, ta, math.nan, math.nan, np.zeros(0, dtype=np.int64))
        vl, va, pred, probs = _loss_acc(net, self.test_x, self.test_y, self.batch_size, keep_probs)
        return Point(tl, ta, vl, va, pred, probs)


def _collect(points: list[Point], shape=None) -> dict:
    out = {k: np.array([getattr(p, k) for p in points])
           for k in ("train_loss", "train_acc", "test_loss", "test_acc")}
    out["test_pred"] = np.stack([p.test_pred for p in points])
    if shape is not None:
        out = {k: v.reshape(*shape, *v.shape[1:]) for k, v in out.items()}
    return out


def interpolate(evaluator: Evaluator, a: torch.Tensor, b: torch.Tensor, alphas) -> dict:
    """Metrics at ``(1 - alpha) a + alpha b`` for each alpha: arrays over alphas, plus
    ``test_pred`` (len(alphas), n_test) and ``alpha``."""
    alphas = np.asarray(alphas, dtype=float)
    out = _collect([evaluator((1 - float(t)) * a + float(t) * b) for t in alphas])
    out["alpha"] = alphas
    return out


def barrier(values, alphas=None) -> float:
    """The height of the bump on a path: max over the path of ``value - linear interpolation of
    the two end values`` (Frankle et al. 2020's loss barrier); 0 when the path lies under the chord.
    ``alphas`` default to equal spacing from 0 to 1."""
    v = np.asarray(values, dtype=float)
    t = np.linspace(0, 1, len(v)) if alphas is None else np.asarray(alphas, dtype=float)
    chord = (1 - t) * v[0] + t * v[-1]
    return float(max(0.0, np.max(v - chord)))


def max_increase(values) -> float:
    """The largest rise along a sequence: max over i < j of ``values[j] - values[i]`` (0 if it
    never rises, i.e. it is monotonically non-increasing)."""
    v = np.asarray(values, dtype=float)
    return float(max(0.0, np.max(v - np.minimum.accumulate(v))))


def agreement(pred_a, pred_b) -> np.ndarray:
    """Fraction of examples with the same predicted class, over the last axis (broadcasts)."""
    return (np.asarray(pred_a) == np.asarray(pred_b)).mean(-1)


# ------------------------------------------------------------------------------- planes


def plane_basis(w0: torch.Tensor, w1: torch.Tensor, w2: torch.Tensor):
    """The plane through three points: ``(origin, u, v, coords)`` with ``origin = w0``, ``u, v``
    orthonormal (u along w1 - w0) and ``coords`` the (x, y) of w0, w1, w2 in that basis, so that
    ``origin + x u + y v`` reproduces each point."""
    d1, d2 = (w1 - w0).double(), (w2 - w0).double()
    u = d1 / d1.norm()
    r = d2 - (d2 @ u) * u
    if r.norm() <= 1e-5 * d2.norm().clamp_min(1e-30):
        raise ValueError("the three points are collinear; they do not define a plane")
    v = r / r.norm()
    coords = np.array([[0.0, 0.0], [float(d1 @ u), 0.0], [float(d2 @ u), float(d2 @ v)]])
    return w0.clone(), u.float(), v.float(), coords


def grid(evaluator: Evaluator, origin: torch.Tensor, d1: torch.Tensor, d2: torch.Tensor, xs, ys,
         test: bool = True) -> dict:
    """Metrics at ``origin + x d1 + y d2`` for x in ``xs``, y in ``ys``: arrays (len(ys), len(xs)),
    ``test_pred`` (len(ys), len(xs), n_test), and ``xs``, ``ys``. ``test=False``: training loss
    and accuracy only (half the cost)."""
    xs, ys = np.asarray(xs, dtype=float), np.asarray(ys, dtype=float)
    pts = [evaluator(origin + float(x) * d1 + float(y) * d2, test=test) for y in ys for x in xs]
    out = _collect(pts, shape=(len(ys), len(xs)))
    out["xs"], out["ys"] = xs, ys
    return out


def filter_normalized_direction(net: nn.Module, generator: torch.Generator | None = None,
                                weights: torch.Tensor | None = None) -> torch.Tensor:
    """A random Gaussian direction, rescaled filter by filter (Li et al. 2018, §4).

    Each filter of a weight tensor (a slice along its first axis: one output channel of a
    convolution, one row of a linear layer) gets the norm of the corresponding filter of the
    weights (``weights``, default ``net``'s own). Biases and BN parameters (1-D tensors) get 0, as
    Li et al. do, so the slice moves only the weights that have a scale invariance to factor out.
    """
    ws = unflatten(net, (vector(net) if weights is None else weights).cpu())
    parts = []
    for n, w in ws.items():
        if w.dim() <= 1:
            parts.append(torch.zeros(w.numel()))
            continue
        d = torch.randn(w.shape, generator=generator)
        wn = w.reshape(len(w), -1).norm(dim=1)
        dn = d.reshape(len(d), -1).norm(dim=1).clamp_min(1e-12)
        parts.append((d.reshape(len(d), -1) * (wn / dn)[:, None]).reshape(-1))
    return torch.cat(parts).float()


# ------------------------------------------------------------------------------- curvature


class HessianOperator:
    """``H v`` for the mean cross-entropy of ``net`` at ``w`` on the fixed batch ``(x, y)``.

    The network is evaluated in eval mode with its BN statistics recomputed at ``w`` on ``x``, so
    the loss is a fixed function of the parameters. Every product runs over chunks of ``chunk``
    examples: per chunk a forward pass, the gradient of the chunk's summed loss with its graph,
    then the gradient of ``<gradient, v>``; the chunk's graph is freed before the next chunk, and
    the sum over chunks divided by the number of examples is the product for the mean loss. So the
    memory is one chunk's double-backward graph whatever the number of examples (keeping the
    graph of all of them, as an earlier version did, took tens of GB for 5,000 images of a wide
    ResNet20); the price is one forward and one backward pass per chunk and product.
    """

    def __init__(self, net: nn.Module, w: torch.Tensor, x: torch.Tensor, y: torch.Tensor, chunk: int = 512):
        load_vector(net, w.to(x.device))
        reset_bn(net, x)
        self.net, self.dim, self.x, self.y, self.chunk = net, w.numel(), x, y, chunk
        self.w = w.detach().to(x.device).clone()
        self.buffers = dict(net.named_buffers())
        self.products = 0

    def __call__(self, v: torch.Tensor) -> torch.Tensor:
        self.products += 1
        v = v.to(self.w.device, self.w.dtype)
        hv = torch.zeros_like(self.w)
        for i in range(0, len(self.x), self.chunk):
            w = self.w.clone().requires_grad_(True)
            out = functional_call(self.net, (unflatten(self.net, w), self.buffers), (self.x[i:i + self.chunk],))
            loss = F.cross_entropy(out, self.y[i:i + self.chunk], reduction="sum")
            (g,) = torch.autograd.grad(loss, w, create_graph=True)
            (h,) = torch.autograd.grad(g @ v, w)
            hv += h
        return (hv / len(self.x)).cpu()


def power_iteration(op, dim: int, iters: int = 20, generator: torch.Generator | None = None,
                    tol: float = 1e-4) -> float:
    """The eigenvalue of largest magnitude of the symmetric operator ``op`` (a callable v -> Av)."""
    v = torch.randn(dim, generator=generator)
    v /= v.norm()
    lam = 0.0
    for _ in range(iters):
        hv = op(v).float()
        new = float(v @ hv)
        v = hv / hv.norm().clamp_min(1e-30)
        if abs(new - lam) <= tol * max(1.0, abs(new)):
            return new
        lam = new
    return lam


def lanczos(op, dim: int, iters: int = 20, generator: torch.Generator | None = None):
    """``iters`` steps of Lanczos with full reorthogonalization on the symmetric operator ``op``.

    Returns ``(ritz, weights)``: the eigenvalues of the tridiagonal matrix (ascending) and the
    squared first components of its eigenvectors (they sum to 1). The extreme Ritz values converge
    first to the extreme eigenvalues of ``op``; ``(ritz, weights)`` is also the stochastic
    Lanczos quadrature estimate of the spectral density (Ghorbani et al. 2019).
    """
    m = min(iters, dim)
    Q = torch.zeros(m, dim, dtype=torch.float64)
    q = torch.randn(dim, generator=generator, dtype=torch.float64)
    q /= q.norm()
    alpha, beta = [], []
    for j in range(m):
        Q[j] = q
        w = op(q.float()).double()
        a = float(q @ w)
        alpha.append(a)
        w = w - Q[:j + 1].T @ (Q[:j + 1] @ w)  # full reorthogonalization (twice is enough)
        w = w - Q[:j + 1].T @ (Q[:j + 1] @ w)
        b = float(w.norm())
        if j == m - 1 or b < 1e-10:
            break
        beta.append(b)
        q = w / b
    k = len(alpha)
    T = np.diag(alpha) + np.diag(beta[:k - 1], 1) + np.diag(beta[:k - 1], -1)
    ritz, vecs = np.linalg.eigh(T)
    return ritz, vecs[0] ** 2


def extreme_eigenvalues(op, dim: int, iters: int = 20, generator: torch.Generator | None = None):
    """``(most negative, most positive)`` Hessian eigenvalue estimates from one Lanczos run."""
    ritz, _ = lanczos(op, dim, iters, generator)
    return float(ritz[0]), float(ritz[-1])


def spectral_density(ritz, weights, grid_values, sigma: float | None = None) -> np.ndarray:
    """The Lanczos spectral density ``sum_k weights_k N(x; ritz_k, sigma^2)`` on ``grid_values``
    (it integrates to 1); ``sigma`` defaults to 1% of the Ritz values' range."""
    ritz, weights, x = np.asarray(ritz), np.asarray(weights), np.asarray(grid_values, dtype=float)
    if sigma is None:
        sigma = max(1e-8, 0.01 * (ritz.max() - ritz.min()))
    z = (x[:, None] - ritz[None, :]) / sigma
    return (weights[None, :] * np.exp(-0.5 * z ** 2)).sum(1) / (sigma * math.sqrt(2 * math.pi))


def log_volume_proxy(eigenvalues, k: int | None = None) -> float:
    """The essay's (seed 002) flat-minimum volume proxy: ``-1/2 sum log lambda`` over the top ``k``
    eigenvalues (all given if None); only positive ones enter (a volume needs curvature > 0)."""
    lam = np.sort(np.asarray(eigenvalues, dtype=float))[::-1]
    lam = lam[:k] if k else lam
    lam = lam[lam > 0]
    return float(-0.5 * np.log(lam).sum())


# ------------------------------------------------------------------------------- curves


def bezier_point(w0: torch.Tensor, theta: torch.Tensor, w2: torch.Tensor, t: float) -> torch.Tensor:
    """The quadratic Bezier curve ``(1-t)^2 w0 + 2 t (1-t) theta + t^2 w2`` at ``t``."""
    return (1 - t) ** 2 * w0 + 2 * t * (1 - t) * theta + t ** 2 * w2


def train_bezier(net: nn.Module, w0: torch.Tensor, w2: torch.Tensor, x: torch.Tensor, y: torch.Tensor,
                 steps: int = 200, batch_size: int = 128, lr: float = 1e-3, optimizer: str = "adam",
                 weight_decay: float = 0.0, generator: torch.Generator | None = None,
                 theta: torch.Tensor | None = None):
    """Train the control point of a quadratic Bezier curve from ``w0`` to ``w2`` (Garipov et al. 2018).

    At each step a point ``t ~ U(0, 1)`` and a training batch are drawn (from ``generator``) and
    the loss of the network at ``bezier_point(w0, theta, w2, t)`` is minimised over ``theta``; the
    ends stay fixed. BN layers use batch statistics while training (dropout is off). Starts from
    the midpoint of the line unless ``theta`` is given. Returns ``(theta, losses)``.
    """
    theta = ((w0 + w2) / 2 if theta is None else theta).detach().clone().requires_grad_(True)
    if optimizer == "adam":
        opt = torch.optim.Adam([theta], lr=lr, weight_decay=weight_decay)
    else:
        opt = torch.optim.SGD([theta], lr=lr, momentum=0.9, weight_decay=weight_decay)
    net.eval()
    for m in net.modules():
        if isinstance(m, BN_TYPES):
            m.train()
    buffers = {n: b.clone() for n, b in net.named_buffers()}
    losses = []
    n = len(x)
    for _ in range(steps):
        t = float(torch.rand((), generator=generator))
        idx = torch.randint(0, n, (min(batch_size, n),), generator=generator)
        w = bezier_point(w0, theta, w2, t)
        out = functional_call(net, (unflatten(net, w), buffers), (x[idx],))
        loss = F.cross_entropy(out, y[idx])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        losses.append(loss.detach())  # on the device: no host sync per step
    net.eval()
    return theta.detach(), torch.stack(losses).double().cpu().numpy() if losses else np.zeros(0)


def curve(evaluator: Evaluator, w0: torch.Tensor, theta: torch.Tensor, w2: torch.Tensor, ts) -> dict:
    """Metrics along the Bezier curve at each t in ``ts`` (as :func:`interpolate` does on a line)."""
    ts = np.asarray(ts, dtype=float)
    out = _collect([evaluator(bezier_point(w0, theta, w2, float(t))) for t in ts])
    out["alpha"] = ts
    return out
