"""helpers.landscape: lines, planes, directions, curvature and curves on tiny hand-made cases."""
import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from helpers import landscape as L
from helpers import models


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny tensors: one thread is fastest, and immune to a busy machine's thread contention."""
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


def tiny_mlp(seed=0, bn=False):
    torch.manual_seed(seed)
    layers = [nn.Flatten(), nn.Linear(12, 8)]
    if bn:
        layers.append(nn.BatchNorm1d(8))
    layers += [nn.Tanh(), nn.Linear(8, 3)]
    return nn.Sequential(*layers)


def toy_data(n=96, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 12, generator=g)
    y = (x[:, :3].argmax(1)).long()
    return x, y


def fit_quickly(net, x, y, steps=150, lr=0.05):
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    for _ in range(steps):
        opt.zero_grad()
        F.cross_entropy(net(x), y).backward()
        opt.step()
    return net.eval()


def test_vector_round_trip_and_state_dict():
    net = tiny_mlp()
    v = L.vector(net)
    assert v.numel() == sum(p.numel() for p in net.parameters())
    assert torch.equal(L.vector(net.state_dict(), net), v)
    other = tiny_mlp(seed=1)
    L.load_vector(other, v)
    assert torch.equal(L.vector(other), v)
    with pytest.raises(ValueError):
        L.unflatten(net, v[:-1])


def test_reset_bn_gives_the_exact_mean_and_variance_of_the_data():
    net = tiny_mlp(bn=True)
    x, _ = toy_data(100)
    L.reset_bn(net, x, batch_size=30)  # 4 uneven batches: the average must still be exact
    h = net[1](x[:, :12])
    bn = net[2]
    assert torch.allclose(bn.running_mean, h.mean(0), atol=1e-5)
    # the variance is the average of the batches' variances: close to, not exactly, the total's
    assert torch.allclose(bn.running_var, h.var(0, unbiased=True), rtol=0.1)
    assert not net.training and bn.momentum == 0.1


def test_interpolation_endpoints_reproduce_the_endpoints():
    x, y = toy_data()
    a, b = fit_quickly(tiny_mlp(0), x, y), fit_quickly(tiny_mlp(1), x, y)
    ev = L.Evaluator(tiny_mlp(5), x, y, x[:40], y[:40])
    line = L.interpolate(ev, L.vector(a), L.vector(b), [0, 0.5, 1])
    for net, i in ((a, 0), (b, 2)):
        with torch.no_grad():
            out = net(x)
        assert line["train_loss"][i] == pytest.approx(F.cross_entropy(out, y).item(), rel=1e-5)
        assert line["train_acc"][i] == pytest.approx((out.argmax(1) == y).float().mean().item())
        assert np.array_equal(line["test_pred"][i], out[:40].argmax(1).numpy())
    assert line["test_pred"].shape == (3, 40)


def test_interpolation_with_bn_recomputes_statistics_at_each_point():
    x, y = toy_data()
    a = fit_quickly(tiny_mlp(0, bn=True).train(), x, y)
    b = fit_quickly(tiny_mlp(1, bn=True).train(), x, y)
    ev = L.Evaluator(tiny_mlp(5, bn=True), x, y, x, y)
    line = L.interpolate(ev, L.vector(a), L.vector(b), [0, 1])
    for net, i in ((a, 0), (b, 1)):
        L.reset_bn(net, x)
        with torch.no_grad():
            assert line["train_loss"][i] == pytest.approx(F.cross_entropy(net(x), y).item(), rel=1e-5)


def test_barrier_and_max_increase_by_hand():
    assert L.barrier([1.0, 3.0, 2.0]) == pytest.approx(1.5)    # chord at the middle is 1.5
    assert L.barrier([2.0, 1.0, 0.5]) == 0.0                   # below the chord
    assert L.barrier([0.0, 1.0, 0.0, 0.0], alphas=[0, 0.1, 0.9, 1]) == pytest.approx(1.0)
    assert L.max_increase([3, 2, 2, 1]) == 0.0
    assert L.max_increase([3, 1, 2, 0.5, 2.5]) == pytest.approx(2.0)
    assert np.allclose(L.agreement([[0, 1, 2], [0, 0, 0]], [0, 1, 1]), [2 / 3, 1 / 3])


def test_plane_basis_reproduces_the_three_points():
    g = torch.Generator().manual_seed(0)
    w0, w1, w2 = (torch.randn(50, generator=g) for _ in range(3))
    origin, u, v, coords = L.plane_basis(w0, w1, w2)
    assert abs(float(u @ v)) < 1e-6 and float(u.norm()) == pytest.approx(1, abs=1e-6)
    for w, (cx, cy) in zip((w0, w1, w2), coords):
        assert torch.allclose(origin + cx * u + cy * v, w, atol=1e-5)
    with pytest.raises(ValueError):
        L.plane_basis(w0, w1, 2 * w1 - w0)


def test_grid_evaluates_origin_plus_combinations():
    x, y = toy_data()
    a = fit_quickly(tiny_mlp(0), x, y)
    ev = L.Evaluator(tiny_mlp(3), x, y, x, y)
    w = L.vector(a)
    g = L.grid(ev, torch.zeros_like(w), w, torch.zeros_like(w), xs=[0, 1], ys=[0, 1, 2])
    assert g["train_loss"].shape == (3, 2) and g["test_pred"].shape == (3, 2, len(y))
    # x = 1 is the trained network, whatever y (d2 = 0); x = 0 is the zero network: loss log(3)
    assert np.allclose(g["train_loss"][:, 1], ev(w).train_loss)
    assert np.allclose(g["train_loss"][:, 0], np.log(3), atol=1e-6)


def test_filter_normalized_direction_matches_filter_norms_and_skips_1d():
    net = models.build("resnet8", width=0.25)
    d = L.filter_normalized_direction(net, torch.Generator().manual_seed(0))
    parts = L.unflatten(net, d)
    for n, p in net.named_parameters():
        if p.dim() <= 1:
            assert torch.all(parts[n] == 0), n
        else:
            assert torch.allclose(parts[n].reshape(len(p), -1).norm(dim=1),
                                  p.detach().reshape(len(p), -1).norm(dim=1), rtol=1e-4), n
    d2 = L.filter_normalized_direction(net, torch.Generator().manual_seed(1))
    assert not torch.allclose(d, d2)


def test_hessian_vector_product_matches_finite_differences_of_the_gradient():
    x, y = toy_data(64)
    net = fit_quickly(tiny_mlp(0), x, y, steps=20)
    w = L.vector(net)
    op = L.HessianOperator(net, w, x, y, chunk=25)

    def grad_at(vec):
        vec = vec.double().clone().requires_grad_(True)
        net64 = tiny_mlp(0).double()
        out = torch.func.functional_call(net64, L.unflatten(net64, vec), (x.double(),))
        (g,) = torch.autograd.grad(F.cross_entropy(out, y), vec)
        return g

    v = torch.randn(w.numel(), generator=torch.Generator().manual_seed(2))
    eps = 1e-4
    fd = (grad_at(w.double() + eps * v) - grad_at(w.double() - eps * v)) / (2 * eps)
    hv = op(v)
    assert torch.allclose(hv.double(), fd, rtol=1e-3, atol=1e-4)
    assert op.products == 1


def test_hessian_operator_in_chunks_is_the_explicit_hessian_of_the_mean_loss():
    # BN in eval mode with statistics recomputed at w on all of x: the loss is a fixed function of
    # w, and every chunking (one example, uneven chunks, all at once) gives its exact Hessian
    x, y = toy_data(50)
    net = fit_quickly(tiny_mlp(1, bn=True), x, y, steps=20)
    w = L.vector(net)
    L.load_vector(net, w)
    L.reset_bn(net, x)
    buffers = {n: b.clone() for n, b in net.named_buffers()}

    def mean_loss(vec):
        out = torch.func.functional_call(net, (L.unflatten(net, vec), buffers), (x,))
        return F.cross_entropy(out, y)

    H = torch.autograd.functional.hessian(mean_loss, w.clone())
    v = torch.randn(w.numel(), generator=torch.Generator().manual_seed(3))
    for chunk in (1, 7, 50, 512):
        op = L.HessianOperator(tiny_mlp(1, bn=True), w, x, y, chunk=chunk)
        assert torch.allclose(op(v), H @ v, rtol=1e-4, atol=1e-5), chunk
        assert torch.allclose(op(2 * v), 2 * (H @ v), rtol=1e-4, atol=1e-5), chunk  # nothing kept between products
        assert op.products == 2
    cols = torch.stack([L.HessianOperator(tiny_mlp(1, bn=True), w, x, y, chunk=16)(e) for e in torch.eye(w.numel())])
    assert torch.allclose(cols, H, rtol=1e-4, atol=1e-5)


def test_evaluation_accumulated_on_the_device_equals_the_per_chunk_host_sums():
    x, y = toy_data(97)
    net = fit_quickly(tiny_mlp(2), x, y, steps=10).eval()
    loss, correct, preds = 0.0, 0, []
    with torch.no_grad():
        for i in range(0, len(x), 10):  # what the loop did before: a host sync per chunk
            out = net(x[i:i + 10]).float()
            loss += F.cross_entropy(out, y[i:i + 10], reduction="sum").item()
            correct += (out.argmax(1) == y[i:i + 10]).sum().item()
            preds.append(out.argmax(1))
    got = L._loss_acc(net, x, y, batch_size=10, keep_probs=True)
    assert got[0] == loss / len(y) and got[1] == correct / len(y)
    assert np.array_equal(got[2], torch.cat(preds).numpy())
    assert np.allclose(got[3].sum(1), 1) and got[3].dtype == np.float64


def quadratic(eigs, seed=0):
    """A symmetric matrix with the given eigenvalues and a random eigenbasis."""
    g = torch.Generator().manual_seed(seed)
    q, _ = torch.linalg.qr(torch.randn(len(eigs), len(eigs), generator=g, dtype=torch.float64))
    return q @ torch.diag(torch.tensor(eigs, dtype=torch.float64)) @ q.T


def test_lanczos_and_power_iteration_on_a_quadratic_with_a_known_hessian():
    eigs = [-3.0] + list(np.linspace(-0.5, 1.0, 38)) + [10.0]
    A = quadratic(eigs)
    op = lambda v: (A @ v.double()).float()  # noqa: E731
    ritz, wts = L.lanczos(op, 40, iters=40, generator=torch.Generator().manual_seed(0))
    assert np.allclose(np.sort(ritz), np.sort(eigs), atol=1e-4)
    assert wts.sum() == pytest.approx(1.0)
    lo, hi = L.extreme_eigenvalues(op, 40, iters=15, generator=torch.Generator().manual_seed(1))
    assert lo == pytest.approx(-3.0, abs=1e-2) and hi == pytest.approx(10.0, abs=1e-2)
    assert L.power_iteration(op, 40, iters=60, generator=torch.Generator().manual_seed(0)) == pytest.approx(10.0, rel=1e-3)


def test_lanczos_on_the_hessian_of_a_quadratic_loss_through_the_operator():
    # a linear model with squared-free softmax is not quadratic; use the exact Hessian instead
    x, y = toy_data(64)
    net = fit_quickly(tiny_mlp(0), x, y, steps=30)
    w = L.vector(net)
    op = L.HessianOperator(net, w, x, y)
    H = torch.stack([op(e) for e in torch.eye(w.numel())]).double()
    assert torch.allclose(H, H.T, atol=1e-4)
    true = np.linalg.eigvalsh(((H + H.T) / 2).numpy())
    lo, hi = L.extreme_eigenvalues(op, w.numel(), iters=w.numel(), generator=torch.Generator().manual_seed(0))
    assert lo == pytest.approx(true[0], abs=1e-3) and hi == pytest.approx(true[-1], rel=1e-3)


def test_spectral_density_integrates_to_one_and_log_volume_by_hand():
    xs = np.linspace(-5, 15, 4001)
    dens = L.spectral_density([0.0, 10.0], [0.25, 0.75], xs, sigma=0.3)
    assert np.trapezoid(dens, xs) == pytest.approx(1.0, abs=1e-3)
    assert dens[np.argmin(abs(xs - 10))] > dens[np.argmin(abs(xs - 0))]
    # top 3 are 4, 1, 0.5: -1/2 (log 4 + log 1 + log 0.5); the negative one is past k
    assert L.log_volume_proxy([4.0, 1.0, -2.0, 0.5], k=3) == pytest.approx(-0.5 * np.log(2.0))
    assert L.log_volume_proxy([4.0, -2.0]) == pytest.approx(-0.5 * np.log(4.0))  # negatives skipped


def test_bezier_ends_are_fixed_and_training_lowers_the_middle():
    x, y = toy_data(128)
    a, b = fit_quickly(tiny_mlp(0), x, y), fit_quickly(tiny_mlp(7), x, y)
    w0, w2 = L.vector(a), L.vector(b)
    th = torch.randn_like(w0)
    assert torch.equal(L.bezier_point(w0, th, w2, 0.0), w0) and torch.equal(L.bezier_point(w0, th, w2, 1.0), w2)
    ev = L.Evaluator(tiny_mlp(3), x, y, x, y)
    line_mid = ev((w0 + w2) / 2).train_loss
    theta, losses = L.train_bezier(tiny_mlp(3), w0, w2, x, y, steps=300, batch_size=64, lr=0.02,
                                   generator=torch.Generator().manual_seed(0))
    path = L.curve(ev, w0, theta, w2, [0, 0.5, 1])
    assert path["train_loss"][1] < line_mid
    assert path["train_loss"][0] == pytest.approx(ev(w0).train_loss)
    assert len(losses) == 300


# ------------------------------------------------------------------ the chapter's own analyses
from helpers import config
from helpers.chapters import loss_landscape as LL  # noqa: E402


def test_chapter_presets_share_their_keys_and_lines_include_the_midpoint():
    presets = config.CHAPTERS[LL.CHAPTER]
    assert set(presets) == {"smoke", "cpu", "gpu"}
    assert presets["smoke"].keys() == presets["cpu"].keys() == presets["gpu"].keys()
    for prof in ("smoke", "cpu", "gpu"):
        P = config.chapter_params(LL.CHAPTER, prof)
        assert 0.5 in LL.alphas(P)
        assert 0 < P.parent_epoch < P.epochs and (P.model == "smallcnn" or prof == "gpu")
        assert 1.0 in P.init_gains and P.batch_size in P.flat_batches


def test_pair_summary_soup_and_ensemble_by_hand():
    x, y = toy_data()
    a = fit_quickly(tiny_mlp(0), x, y)
    ev = L.Evaluator(tiny_mlp(3), x, y, x, y)
    w = L.vector(a)
    s = LL.pair_summary(ev, w, w, y.numpy())
    # a pair of identical networks: the soup and the ensemble are the network itself
    assert s["soup_acc"] == pytest.approx(s["acc_a"]) and s["ens_acc"] == pytest.approx(s["acc_a"])
    assert s["disagreement"] == 0 and s["ens_loss"] == pytest.approx(s["soup_loss"], rel=1e-5)


def test_project_recovers_coordinates_in_the_span():
    g = torch.Generator().manual_seed(0)
    d1, d2 = torch.randn(30, generator=g), torch.randn(30, generator=g)
    assert LL.project(0.3 * d1 - 1.5 * d2, d1, d2) == pytest.approx((0.3, -1.5), abs=1e-5)


def test_activation_scales_vanish_explode_and_bn_pins_them():
    x = torch.randn(32, 3, 32, 32)

    def scales(name, gain):
        torch.manual_seed(0)
        net = models.build(name)
        with torch.no_grad():
            for p in net.parameters():
                if p.dim() >= 2:
                    p.mul_(gain)
        s = LL.activation_scales(net, x)
        assert len(s) == 21 and not net.training
        return s

    ratio = lambda s: s[-1] / s[0]  # noqa: E731
    assert ratio(scales("deepcnn", 0.5)) < 1e-3 < 1e3 < ratio(scales("deepcnn", 2.0))
    # with BN every layer's output has the same scale whatever the gain (the stem has no BN)
    assert scales("deepcnn-bn", 0.5)[1:] == pytest.approx(scales("deepcnn-bn", 2.0)[1:], rel=1e-3)


def test_cpu_threads_restores_the_thread_count():
    P = config.chapter_params(LL.CHAPTER, "smoke", device="cpu")
    before = torch.get_num_threads()
    with LL.cpu_threads(P):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before


# ------------------------------------------------------------------ figures and sentences
def fake_analyses(seed=0):
    """Small stand-ins for the outputs of the chapter's analyses, shaped as the real ones."""
    rng = np.random.default_rng(seed)
    t = np.linspace(0, 1, 5)

    def line():
        return dict(alpha=t, train_loss=rng.uniform(0.5, 2, 5), test_loss=rng.uniform(0.5, 2, 5),
                    test_acc=rng.uniform(0.1, 0.5, 5), agree0=np.linspace(1, 0.5, 5),
                    agree1=np.linspace(0.5, 1, 5), barrier=0.5)

    def pair():
        return dict(acc_a=0.5, acc_b=0.48, mean_acc=0.49, soup_acc=0.12, ens_acc=0.52,
                    disagreement=0.3)

    xs = np.linspace(-0.2, 1.2, 4)
    inits = [line(), line()]
    LN = dict(init=inits[0], inits=inits, independent=[line(), line(), line()],
              independent_pairs=[(0, 1), (0, 2), (1, 2)],
              children=[line(), line()], pairs=dict(independent=[pair(), pair(), pair()],
                                                    children=[pair(), pair()]),
              init_max_increase=0.0, init_rises=np.array([-0.0123, -0.002]),
              independent_barrier=1.234, children_barrier=0.0123,
              children_barriers=np.array([0.0123, -0.004]))
    RP = dict(xs=xs, ys=xs, test_acc=rng.uniform(0.1, 0.5, (4, 4)),
              agree1=rng.uniform(0, 1, (4, 4)), agree2=rng.uniform(0, 1, (4, 4)),
              traj=[rng.uniform(0, 1, (3, 2)), rng.uniform(0, 1, (3, 2))],
              traj_epochs=[[0, 1, 2], [0, 1, 2]],
              optima_acc=(0.5, 0.49), optima_disagreement=0.3, cosine=0.1)
    tunnels = [dict(curve=line(), line=line(), steps=7) for _ in range(2)]
    TU = dict(tunnels[0], tunnels=tunnels, pairs=[(0, 1), (2, 3)])
    bm = np.array([[np.nan, 0.3, 0.4], [0.3, np.nan, 0.5], [0.4, 0.5, np.nan]])
    width_row = dict(params=1234, train_loss=rng.uniform(1, 2, 3), test_acc=rng.uniform(.3, .5, 3),
                     barrier=0.4, barrier_m=bm, sharpness=rng.uniform(5, 9, 3))
    grid = dict(xs=xs, ys=xs, train_loss=rng.uniform(1, 3, (4, 4)))
    WS = dict(rows={0.5: width_row, 1: dict(width_row), "compare": dict(width_row, model="resnet8")},
              slices={"narrow": grid, "wide": dict(grid)})
    ritz = [np.sort(rng.normal(0, 3, 6)) for _ in range(3)]
    SD = dict(epochs=np.array([0, 1, 2]), ritz=ritz, weights=[np.full(6, 1 / 6)] * 3,
              lam_min=np.array([r[0] for r in ritz]), lam_max=np.array([r[-1] for r in ritz]),
              ratio=np.array([0.5, 0.3, 0.2]), train_loss=[2.3, 1.9, 1.5],
              runs=[dict(seed=s, epochs=np.array([0, 1, 2]), grad_norm=np.array([0.2, 0.9, 0.5]),
                         small=0, last=2, lam={0: (-1.0, 2.0), 2: (-0.5, 20.0)}) for s in (1, 2)])
    UV = {(m, g): dict(scales=np.geomspace(1, g ** 20, 21), train_loss=2.3, test_acc=0.1)
          for m in LL.DEEP_MODELS for g in (0.6, 1.0, 1.6)}
    FM = dict(rows=[dict(batch=b, seed=s, sharpness=rng.uniform(5, 20), log_volume=-3.0,
                         test_acc=rng.uniform(.3, .5), train_loss=1.5)
                    for b in (32, 128) for s in (1, 2)],
              rho_sharpness=-0.2, rho_volume=0.2, top_k=5)
    return LN, RP, TU, WS, SD, UV, FM


def test_every_chapter_figure_is_one_titled_labelled_figure():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from helpers import plots

    LN, RP, TU, WS, SD, UV, FM = fake_analyses()
    P = plots.loss_landscape
    figs = [P.lines(LN), P.soups(LN), P.radial(RP), P.tunnel(TU), P.width_sweep(WS, "smallcnn"),
            P.slices(WS), P.saddles(SD), P.unit_variance(UV, LL.DEEP_MODELS, (0.6, 1.0, 1.6)),
            P.flat_minima(FM)]
    for fig in figs:
        assert isinstance(fig, matplotlib.figure.Figure)
        assert fig.axes[0].get_title() and fig.axes[0].get_xlabel(), fig
        for ax in fig.axes:
            if ax.get_label() == "<colorbar>":
                continue
            assert ax.get_title() or not ax.get_xlabel(), fig  # twin axes carry no title
    assert [len(f.axes) for f in figs[:2]] == [3, 1]
    sweep = figs[4].axes[0]
    assert sweep.get_ylabel() and sweep.get_xlabel() and sweep.get_legend() is not None
    assert len(sweep.containers) == 1  # the mean's error bar: the 95% interval over seeds
    # the barrier (pairs, bootstrap over runs) and the sharpness (t over seeds) have theirs
    assert [len(figs[4].axes[k].containers) for k in (1, 2)] == [1, 1]
    assert sweep.get_xlabel() == "width multiplier of SmallCNN"   # the prose's name
    assert all("α on the line" in ax.get_xlabel() for ax in figs[3].axes[:2])
    # Figure 7's density panel marks every Ritz value of its two checkpoints along the bottom
    rugs = [ln for ln in figs[6].axes[1].lines if ln.get_marker() == "|"]
    assert [len(ln.get_xdata()) for ln in rugs] == [6, 6]
    plt.close("all")


def test_slice_levels_are_round_numbers_and_cover_the_losses():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from helpers import plots

    WS = fake_analyses()[3]
    fig = plots.loss_landscape.slices(WS)
    levels = fig.axes[0].collections[0].levels   # the filled contour (a ContourSet)
    step = np.diff(levels)
    assert np.allclose(step, step[0]) and np.allclose(np.round(levels / step[0]), levels / step[0])
    assert levels[0] <= min(g["train_loss"].min() for g in WS["slices"].values())
    plt.close("all")


def test_the_printed_sentences_carry_the_analyses_numbers():
    LN, RP, TU, WS, SD, UV, FM = fake_analyses()
    text = LL.lines_text(LN)
    assert "independent pairs: 1.234 nats (mean)" in text and "+0.0123, -0.0040 nats" in text
    assert "-0.0123, -0.0020 nats" in text
    names = [n for n, _ in LL.pair_rows(LN)]
    assert names == ["runs 1-2", "runs 1-3", "runs 2-3", "children of run 1", "children of run 2"]
    soup = LL.soups_text(LN).splitlines()
    assert len(soup) == 6 and "soup 12.0%, ensemble 52.0%" in soup[-2]
    assert soup[-1] == ("ensemble gain over the members' mean: independent pairs +3.00 pp (95% "
                        "interval +3.00 to +3.00); children +3.00 pp (95% interval +3.00 to "
                        "+3.00)")
    kids = [dict(k, ens_acc=k["mean_acc"] + g) for k, g in
            zip(LN["pairs"]["children"], (0.001, 0.003))]   # +0.1 and +0.3 pp
    gains = LL.ensemble_gains(dict(LN, pairs=dict(LN["pairs"], children=kids)))
    assert gains["children"].value == pytest.approx(0.2) and gains["children"].n == 2
    assert gains["children"].lo < 0 < 0.2 < gains["independent"].value
    radial = LL.radial_text(RP).splitlines()
    assert "disagree on 30.0% of test images; cosine of the weights 0.100" in radial[0]
    tr = RP["traj"][1]
    assert radial[2] == (f"run 2's checkpoints project from (a, b) = ({tr[0, 0]:.2f}, "
                         f"{tr[0, 1]:.2f}) at epoch 0 to ({tr[-1, 0]:.2f}, {tr[-1, 1]:.2f}) at epoch 2")
    tunnel = LL.tunnel_text(TU).splitlines()
    assert len(tunnel) == 2 and tunnel[1].startswith("runs 3-4: curve trained for 7 steps")
    width = LL.width_text(WS).splitlines()
    assert [w.split(" (")[0] for w in width] == ["width 0.5", "width 1", "resnet8"]
    assert all(w.endswith("(± SD over 3 seeds)") for w in width[:2])
    assert len(LL.slices_text(WS).splitlines()) == 2
    sd = LL.saddles_text(SD).splitlines()
    assert sd[0].startswith("run 1, epoch 0: train loss 2.300") and len(sd) == 3 + 2
    assert "(smallest at epoch 0); epoch 0: λ_min -1.000, λ_max 2.000" in sd[-1]
    uv = LL.unit_variance_text(UV).splitlines()
    assert len(uv) == 1 + len(UV) and uv[0].split()[:2] == ["model", "gain"]
    assert LL.flat_minima_text(FM).endswith("sharpness -0.20, log-volume +0.20")


# ------------------------------------------------------------------ the statistics of the rows
from helpers import stats  # noqa: E402

def test_signed_rise_is_negative_exactly_when_the_loss_falls_at_every_step():
    assert LL.signed_rise([3.0, 2.0, 1.5, 1.4]) == pytest.approx(-0.1)
    assert LL.signed_rise([3.0, 2.0, 2.5, 1.0]) == pytest.approx(0.5)  # a bump of 0.5
    assert LL.signed_rise([1.0, 1.0]) == 0.0
    # where it is positive it is the clipped landscape.max_increase
    v = [2.0, 1.0, 1.7, 0.5, 0.9]
    assert LL.signed_rise(v) == pytest.approx(L.max_increase(v)) == pytest.approx(0.7)
    with pytest.raises(ValueError):
        LL.signed_rise([1.0])


def test_signed_barrier_is_the_barrier_where_positive_and_goes_below_the_chord():
    t = np.linspace(0, 1, 5)
    bump = np.array([1.0, 1.5, 2.0, 1.5, 1.0])
    assert LL.signed_barrier(bump, t) == pytest.approx(L.barrier(bump, t)) == pytest.approx(1.0)
    bowl = np.array([1.0, 0.8, 0.7, 0.8, 1.0])
    assert L.barrier(bowl, t) == 0.0
    assert LL.signed_barrier(bowl, t) == pytest.approx(-0.2)  # the closest point to the chord
    with pytest.raises(ValueError):
        LL.signed_barrier([1.0, 2.0], [0, 1])


def test_disjoint_pairs_share_no_run():
    assert LL.disjoint_pairs(6, 3) == [(0, 1), (2, 3), (4, 5)]
    assert LL.disjoint_pairs(5, 3) == [(0, 1), (2, 3)]
    assert LL.disjoint_pairs(4, 1) == [(0, 1)] and LL.disjoint_pairs(1, 3) == []


def test_curvature_ratio_and_detectable_note():
    assert LL.curvature_ratio(-1.0, 4.0) == 0.25 and LL.curvature_ratio(0.3, 4.0) == 0.0
    note = LL.detectable_note([1.0, 2.0, 3.0], "{:.2f}", "runs")
    d = stats.detectable_difference(1.0, 3)
    assert note == f"with 3 runs it detects a mean {d:.2f} from the bound (80% power)"
    assert LL.detectable_note([1.0], "{:.2f}", "parents").startswith("one parent")
    # a geometric mean: the spread of the logs, given back as a factor
    ratios = [0.5, 1.0, 2.0, np.nan]
    f = np.exp(stats.detectable_difference(float(np.std(np.log(ratios[:3]), ddof=1)), 3))
    assert LL.detectable_factor_note(ratios, "runs") == \
        f"with 3 runs it detects a geometric mean a factor {f:.2f} from the bound (80% power)"


def test_grad_norm_is_the_norm_of_the_batch_gradient():
    from types import SimpleNamespace

    P = config.chapter_params(LL.CHAPTER, "smoke", device="cpu")
    net = models.build("smallcnn", 0.25, 0.0)
    w = L.vector(net)
    spec = SimpleNamespace(model="smallcnn", width=0.25)
    run = SimpleNamespace(spec=spec, epochs=[3], weights=lambda e=None: w.numpy())
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(16, 3, 32, 32, generator=g), torch.randint(0, 10, (16,), generator=g)
    loss = torch.nn.functional.cross_entropy(net(x), y)
    expected = torch.cat([p.reshape(-1) for p in torch.autograd.grad(loss, list(net.parameters()))])
    assert LL.grad_norm(P, run, 3, x, y) == pytest.approx(float(expected.norm()), rel=1e-4)


def test_vec_rebuilds_an_initialization_the_run_did_not_keep():
    from types import SimpleNamespace

    from helpers import train

    spec = train.Spec(model="smallcnn", width=0.25).with_seed(7)
    kept = torch.zeros(L.vector(train.init_model(spec)).numel())
    run = SimpleNamespace(spec=spec, epochs=[2], weights=lambda e=None: kept.numpy())
    w0 = LL.vec(run, 0)
    assert torch.equal(w0, L.vector(train.init_model(spec)).float()) and w0.abs().sum() > 0
    assert torch.equal(LL.vec(run, 2), kept)  # a kept epoch is read from the run


# ------------------------------------------------------------------ the closing section's facts
def test_saddles_reading_names_the_probed_checkpoints_and_where_the_gradient_is_smallest():
    def run(epochs, small):
        return dict(epochs=np.array(epochs), small=small)

    P = config.chapter_params(LL.CHAPTER, "cpu")
    SR = [run([0, 1, 2, 4, 8], 0) for _ in range(6)]
    got = LL.saddles_reading(P, dict(runs=SR))
    assert got["saddle_where"] == ("Among the probed checkpoints (epochs 0, 1, 2, 4 and 8) the "
                                   "gradient norm is smallest at the initialization in 6 of 6 "
                                   "runs: where training starts, not a point it comes to.")
    assert got["hessian_batch"] == f"{P.hessian_examples:,}"
    # runs that kept different epochs (the gpu profile), and a later checkpoint in most runs
    SR = [run([0, 1, 10], 10), run([0, 1, 10], 10), run([0, 10], 10), run([0, 10], 0)]
    assert LL.probed_epochs(SR) == "epochs 0, 1 and 10 in runs 1 and 2; 0 and 10 in runs 3 and 4"
    assert LL.smallest_where(SR) == "epoch 10 in 3 of 4 runs and the initialization in 1"
    assert LL.saddles_reading(P, dict(runs=SR))["saddle_where"].endswith("initialization in 1.")


def test_without_largest_batch_drops_its_runs():
    rows = [dict(batch=b, sharpness=s, test_acc=a, train_loss=l) for b, s, a, l in
            [(32, 1.0, 0.50, 1.0), (32, 2.0, 0.55, 1.2), (128, 3.0, 0.60, 1.1),
             (128, 4.0, 0.65, 0.9), (512, 9.0, 0.40, 1.7), (512, 8.0, 0.41, 1.6)]]
    got = LL.without_largest_batch(dict(rows=rows))
    assert got["rho"] == pytest.approx(1.0) and got["batch"] == 512
    assert got["loss"] == pytest.approx(1.65) and got["loss_rest"] == pytest.approx(1.05)
    assert np.isnan(LL.without_largest_batch(dict(rows=rows[:2] + rows[4:]))["rho"])


def _table(verdicts: dict, default: str = "holds"):
    """A claims table with every row closing_reading reads, each with the verdict of
    ``verdicts`` (by prefix) or ``default``."""
    import inspect
    import re

    from helpers import claims

    est = {"holds": stats.Estimate(2.0, 1.5, 2.5, "t", 3, "runs"),
           "differs": stats.Estimate(-2.0, -2.5, -1.5, "t", 3, "runs"),
           "inconclusive": stats.Estimate(0.1, -0.5, 0.7, "t", 3, "runs")}
    T = claims.ClaimsTable(LL.CHAPTER, "cpu", "cifar10-jpeg")
    for p in re.findall(r'say\("([^"]+)"', inspect.getsource(LL.closing_reading)):
        e = est[verdicts.get(p, default)]
        if p == "Larger batches find sharper minima":
            e = stats.Estimate(e.value, e.lo, e.hi, "bootstrap; with 2 runs a bootstrap interval "
                               "is too narrow (read it as a lower bound)", 2, "runs")
        T.add("source", f"{p}: a row", "1", e, claims.above(0), fmt="{:+.2f}")
    return T


def test_closing_reading_says_what_the_facts_and_the_verdicts_call_for():
    P = config.chapter_params(LL.CHAPTER, "cpu")
    F = LL.Facts(saddle_where="Among the probed checkpoints (epochs 0 and 8) the gradient norm is "
                              "smallest at the initialization in 2 of 2 runs.",
                 last_lam_min=(-0.87, -0.65), mid_acc=45.0, ends_acc=53.0,
                 flat=dict(rho=0.6, batch=512, loss=1.69, loss_rest=1.05),
                 kids_gain=stats.Estimate(0.14, -0.15, 0.43, "t", 6, "parents"))
    out = LL.closing_reading(P, _table({"Wider networks: lower barrier": "differs"}), F)
    assert out["close_between"].endswith(
        "; their ensemble's gain over them is +0.14 pp (95% interval -0.15 to +0.43), not a "
        "claims row: set beside the independent pairs' gain, an informal comparison on the same "
        "runs.")
    assert "less accurate (45.0% against 53.0% at the ends, mean over the tunnels)" \
        in out["close_tunnels"]
    assert ("disagree with each end more than the ends disagree with each other (+2.00 times as "
            "much, interval +1.50 to +2.50), though") in out["close_tunnels"]
    T = _table({})
    T.find("Mid-tunnel predictions differ").interval = [0.76, 1.93]   # straddles 1
    assert ("by more than the test's 0 times the ends' own disagreement (+2.00 times as much, "
            "interval +1.50 to +2.50; whether more or less than the ends disagree with each other, "
            "the interval cannot say), though") in LL.closing_reading(P, T, F)["close_tunnels"]
    assert "the barrier between seeds rises with width: narrowest minus widest is -2.00" \
        in out["close_width"]
    curvature = out["close_curvature"]
    assert curvature.startswith(F.saddle_where + " There the most negative curvature")
    assert ("every run still has negative curvature (λ_min -0.87 to -0.65)" in curvature
            and f"one batch of {P.hessian_examples} training images." in curvature)
    flat = out["close_flat"]
    assert "a bootstrap over 2 runs per batch size, whose interval is too narrow" in flat
    assert ("largest batch (512) end at a training loss of 1.69 nats against 1.05 for the others, "
            "and without them ρ = +0.60 over the other runs, too few for an interval: the sharper "
            "solutions were the more accurate in this run, not a decided result.") in flat
    assert "layer 1, the first normalized one" in out["close_init"]
    # an interval that reaches zero: the barrier does not fall, which is not to say it rises
    T = _table({"Wider networks: lower barrier": "differs"})
    T.find("Wider networks: lower barrier").interval = [-2.5, 0.0]
    assert "does not fall with width" in LL.closing_reading(P, T, F)["close_width"]
    # without the facts: the table's own clauses, none of the facts'
    bare = LL.closing_reading(P, _table({}))
    assert bare["close_curvature"].startswith("The saddle printout names each run's checkpoint")
    assert "%" not in bare["close_tunnels"] and "ρ =" not in bare["close_flat"]
    assert bare["close_curvature"].endswith(f"one batch of {P.hessian_examples} training images.")


def test_peak_note_says_when_the_barrier_grows_only_because_the_ends_fall():
    narrow = dict(train_loss=np.array([1.9, 2.0]), barrier=0.35)     # peak 2.30
    wide = dict(train_loss=np.array([1.2, 1.4]), barrier=0.95)       # peak 2.25
    text = LL.peak_note(narrow, wide)
    assert text.startswith("the line's highest point sits at about 2.30 nats (narrowest) and "
                           "2.25 (widest), against chance's ln 10 = 2.30")
    assert "the ends fall" in text
    wide["barrier"] = 1.5                                             # peak 2.80: it rises
    assert "the ends fall" not in LL.peak_note(narrow, wide)


def test_log_ratio_is_a_ratio_of_geometric_means_with_welch_on_the_logs():
    from helpers import stats

    e = LL.log_ratio([2.0, 8.0], [1.0, 2.0, 4.0])
    assert e.value == pytest.approx(4.0 / 2.0)
    want = stats.diff_t(np.log([2.0, 8.0]), np.log([1.0, 2.0, 4.0]), "runs")
    assert (e.lo, e.hi) == pytest.approx((np.exp(want.lo), np.exp(want.hi)))
    assert "on the logs (ratio of geometric means)" in e.method and e.lo < 1 < e.hi
