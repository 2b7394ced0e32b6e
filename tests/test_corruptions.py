"""helpers.corruptions: the CIFAR-10-C-like families, their intensities, determinism, errors."""
import numpy as np
import pytest

from helpers import corruptions as C


def images(n=16, seed=0):
    rng = np.random.default_rng(seed)
    base = rng.integers(40, 215, size=(n, 1, 1, 3))
    smooth = np.linspace(-30, 30, 32)[None, :, None, None] + np.linspace(-20, 20, 32)[None, None, :, None]
    return np.clip(base + smooth + rng.normal(0, 10, (n, 32, 32, 3)), 0, 255).astype(np.uint8)


@pytest.mark.parametrize("family", C.FAMILIES)
def test_each_family_grows_with_intensity_and_keeps_shape(family):
    x = images()
    assert np.array_equal(C.corrupt(x, family, 0), x)
    dist = []
    for i in C.INTENSITIES:
        y = C.corrupt(x, family, i, seed=3)
        assert y.shape == x.shape and y.dtype == np.uint8
        assert np.array_equal(y, C.corrupt(x, family, i, seed=3))  # deterministic
        dist.append(np.abs(y.astype(float) - x).mean())
    assert dist[0] > 0.3
    assert dist[-1] > dist[0] and all(b >= a - 0.05 for a, b in zip(dist, dist[1:])), dist


def test_family_semantics():
    x = images()
    flat = np.full((2, 32, 32, 3), 100, np.uint8)
    assert np.abs(C.corrupt(flat, "gaussian_blur", 5).astype(int) - 100).max() <= 1   # blur keeps flat images
    c = C.corrupt(x, "contrast", 5).astype(float)
    assert c.std(axis=(1, 2, 3)).mean() < 0.3 * x.astype(float).std(axis=(1, 2, 3)).mean()
    assert np.allclose(c.mean(axis=(1, 2, 3)), x.mean(axis=(1, 2, 3)), atol=2)      # same mean
    assert C.corrupt(x, "brightness", 3).mean() > x.mean() + 30
    n1, n2 = C.corrupt(x, "gaussian_noise", 5, seed=1), C.corrupt(x, "gaussian_noise", 5, seed=2)
    assert not np.array_equal(n1, n2)


def test_bad_input_is_a_clear_error():
    x = images(2)
    with pytest.raises(ValueError, match="unknown corruption"):
        C.corrupt(x, "fog", 1)
    with pytest.raises(ValueError, match="intensity"):
        C.corrupt(x, "contrast", 6)
    with pytest.raises(ValueError, match="uint8"):
        C.corrupt(x.astype(np.float32), "contrast", 1)
