"""helpers.subspace: the four samplers, the Gaussian fit, evaluation with BN reset, MC dropout."""
import numpy as np
import pytest
import torch

from helpers import landscape, models, subspace


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


def test_random_direction_steps_a_relative_distance_t():
    theta0 = torch.randn(5000, generator=gen(1))
    for t in (0.01, 0.3):
        theta = subspace.random_direction(theta0, t, gen(2))
        assert (theta - theta0).norm() / theta0.norm() == pytest.approx(t, rel=1e-5)
    a, b = subspace.random_direction(theta0, 0.1, gen(3)), subspace.random_direction(theta0, 0.1, gen(4))
    assert not torch.allclose(a, b)  # different seeds, different directions


def test_dropout_on_weights_keeps_a_fraction_and_rescales():
    theta0 = torch.rand(100_000, generator=gen(1)) + 0.5
    theta = subspace.dropout_weights(theta0, 0.8, gen(2))
    kept = theta != 0
    assert kept.float().mean().item() == pytest.approx(0.8, abs=0.01)
    assert torch.allclose(theta[kept], theta0[kept] / 0.8)
    assert theta.mean().item() == pytest.approx(theta0.mean().item(), rel=0.01)  # unbiased
    assert torch.equal(subspace.dropout_weights(theta0, 1.0, gen(2)), theta0)
    with pytest.raises(ValueError):
        subspace.dropout_weights(theta0, 0.0, gen(2))


def test_fit_iterates_mean_sd_and_low_rank_covariance():
    g = gen(0)
    basis = torch.randn(2, 300, generator=g, dtype=torch.float64)
    coef = torch.randn(12, 2, generator=g, dtype=torch.float64) * torch.tensor([3.0, 1.0], dtype=torch.float64)
    iterates = 5 + coef @ basis                       # 12 iterates in a 2-D affine subspace
    mean, sd, comps = subspace.fit_iterates(iterates, rank=4)
    np.testing.assert_allclose(mean, iterates.mean(0), rtol=1e-12)
    np.testing.assert_allclose(sd, iterates.std(0), rtol=1e-9)  # unbiased, as torch.std
    assert comps.shape == (4, 300)
    cov = torch.cov(iterates.T)
    np.testing.assert_allclose(comps.T @ comps, cov, atol=1e-9)  # rank 2: captured exactly
    assert comps[2:].norm() < 1e-8
    # few iterates: at most K - 1 components
    assert subspace.fit_iterates(iterates[:3], rank=4)[2].shape == (2, 300)
    with pytest.raises(ValueError, match="at least 2"):
        subspace.fit_iterates(iterates[:1], rank=4)


def test_gaussian_samplers_match_their_moments():
    g = gen(0)
    mean, sd = torch.randn(50, generator=g), torch.rand(50, generator=g) + 0.1
    draws = torch.stack([subspace.diagonal_gaussian(mean, sd, 2.0, gen(i)) for i in range(4000)])
    np.testing.assert_allclose(draws.mean(0), mean, atol=0.15)
    np.testing.assert_allclose(draws.std(0), 2.0 * sd, rtol=0.08)
    comps = torch.randn(3, 50, generator=g)
    draws = torch.stack([subspace.low_rank_gaussian(mean, comps, 1.0, gen(i)) for i in range(4000)])
    np.testing.assert_allclose(torch.cov(draws.T), comps.T @ comps, atol=0.35)


def test_subspace_draw_is_reproducible_from_its_seed_and_strength_maps_ranges():
    it = torch.randn(6, 40, generator=gen(0))
    sub = subspace.Subspace(it[-1], *subspace.fit_iterates(it, 4))
    for s in subspace.SAMPLERS:
        assert torch.equal(sub.draw(s, 0.5, 7), sub.draw(s, 0.5, 7))
        assert not torch.equal(sub.draw(s, 0.5, 7), sub.draw(s, 0.5, 8))
    with pytest.raises(ValueError, match="unknown sampler"):
        sub.draw("swag", 1.0, 0)
    r = {"random": (0.01, 1.0), "dropout": (0.5, 1.0), "gauss": (1.0, 100.0)}
    assert subspace.strength("random", 0.0, r) == pytest.approx(0.01)
    assert subspace.strength("random", 0.5, r) == pytest.approx(0.1)   # log-uniform: geometric middle
    assert subspace.strength("dropout", 0.5, r) == pytest.approx(0.75)  # uniform
    assert subspace.strength("lowrank", 1.0, r) == pytest.approx(100.0)


def test_evaluate_recomputes_batch_norm_statistics():
    torch.manual_seed(0)
    net = models.build("resnet8", width=0.25)
    x = torch.randn(64, 3, 32, 32)
    vec = landscape.vector(net)
    for m in net.modules():  # stale statistics, as a sampled weight vector would have
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.fill_(3.0)
    stale = subspace.evaluate(net, vec, x)  # no bn_x: statistics left alone
    fresh = subspace.evaluate(net, vec, x, bn_x=x)
    landscape.reset_bn(net, x)
    with torch.no_grad():
        expected = torch.softmax(net(x), -1).numpy()
    np.testing.assert_allclose(fresh, expected, atol=1e-5)
    assert np.abs(stale - fresh).max() > 1e-3
    np.testing.assert_allclose(fresh.sum(1), 1.0, atol=1e-5)


def test_mc_dropout_samples_differ_are_seeded_and_restore_eval_mode():
    torch.manual_seed(0)
    net = models.build("smallcnn", dropout=0.3).eval()
    x = torch.randn(50, 3, 32, 32)
    a = subspace.mc_dropout(net, x, 3, seed=1)
    b = subspace.mc_dropout(net, x, 3, seed=1)
    assert len(a) == 3 and all(np.array_equal(p, q) for p, q in zip(a, b))
    assert np.abs(a[0] - a[1]).max() > 1e-4
    assert not any(m.training for m in net.modules())
    with torch.no_grad():
        det = torch.softmax(net(x), -1).numpy()
    assert np.abs(np.mean(a, 0) - det).max() < np.abs(a[0] - det).max() + 1e-6
    with pytest.raises(ValueError, match="dropout"):
        subspace.mc_dropout(models.build("smallcnn", dropout=0.0), x, 2)
