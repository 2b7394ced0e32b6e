"""Dataset shift: corrupted copies of test images, in the spirit of CIFAR-10-C.

Hendrycks & Dietterich (2019) publish CIFAR-10-C as files; this book cannot download them, so the
corruptions are computed here, on uint8 images of shape (N, 32, 32, 3), each family at five
intensities (1 mild .. 5 severe) whose parameters follow the CIFAR-10-C code's settings for 32x32
images where the family exists there. Fort et al. (seed 004, Fig 9) average over the benchmark's
19 corruption types; we use five families, one of each kind the benchmark groups them into:

* ``gaussian_noise`` (noise) -- add N(0, sigma^2) per pixel, sigma in [0, 1] units;
* ``gaussian_blur``  (blur) -- a Gaussian filter of standard deviation sigma pixels;
* ``contrast``       (digital) -- pull every pixel towards its image's mean by a factor c;
* ``brightness``     (weather/lighting) -- add b to every channel (an approximation of the
  benchmark's shift of the HSV value channel);
* ``jpeg``           (digital) -- re-encode with JPEG at a falling quality.

Every corruption is deterministic: the noise is drawn from a generator seeded by ``seed``.
"""
from __future__ import annotations

import io

import numpy as np
import torch
import torch.nn.functional as F

FAMILIES = ("gaussian_noise", "gaussian_blur", "contrast", "brightness", "jpeg")
INTENSITIES = (1, 2, 3, 4, 5)

# intensity 1..5 -> parameter (CIFAR-10-C's values for 32x32 images where the family exists there)
PARAMS = {
    "gaussian_noise": (0.04, 0.06, 0.08, 0.09, 0.10),   # sigma, in [0, 1] pixel units
    "gaussian_blur": (0.4, 0.6, 0.7, 0.8, 1.0),         # sigma, in pixels
    "contrast": (0.75, 0.5, 0.4, 0.3, 0.15),            # factor towards the image mean
    "brightness": (0.05, 0.1, 0.15, 0.2, 0.3),          # added, in [0, 1] pixel units
    "jpeg": (80, 65, 58, 50, 40),                       # JPEG quality
}


def _to_float(x: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(x)).float().div_(255)  # (N, H, W, 3) in [0, 1]


def _to_uint8(t: torch.Tensor) -> np.ndarray:
    return t.clamp_(0, 1).mul_(255).round_().to(torch.uint8).numpy()


def gaussian_kernel(sigma: float) -> torch.Tensor:
    """A normalised 1-D Gaussian kernel of standard deviation ``sigma`` (radius 3 sigma, at least 1)."""
    radius = max(1, int(np.ceil(3 * sigma)))
    r = torch.arange(-radius, radius + 1, dtype=torch.float32)
    k = torch.exp(-0.5 * (r / sigma) ** 2)
    return k / k.sum()


def _blur(t: torch.Tensor, sigma: float) -> torch.Tensor:
    k = gaussian_kernel(sigma)
    x = t.permute(0, 3, 1, 2)  # (N, 3, H, W)
    c, pad = x.shape[1], len(k) // 2
    x = F.conv2d(F.pad(x, (pad, pad, 0, 0), mode="reflect"), k.view(1, 1, 1, -1).repeat(c, 1, 1, 1), groups=c)
    x = F.conv2d(F.pad(x, (0, 0, pad, pad), mode="reflect"), k.view(1, 1, -1, 1).repeat(c, 1, 1, 1), groups=c)
    return x.permute(0, 2, 3, 1)


def _jpeg(x: np.ndarray, quality: int) -> np.ndarray:
    from PIL import Image

    out = np.empty_like(x)
    for i, img in enumerate(x):
        buf = io.BytesIO()
        Image.fromarray(img).save(buf, format="JPEG", quality=int(quality))
        buf.seek(0)
        out[i] = np.asarray(Image.open(buf).convert("RGB"))
    return out


def corrupt(x: np.ndarray, family: str, intensity: int, seed: int = 0) -> np.ndarray:
    """``x`` (N, 32, 32, 3) uint8 corrupted by ``family`` at ``intensity`` (0 = unchanged, 1..5)."""
    if family not in FAMILIES:
        raise ValueError(f"unknown corruption {family!r}; choose one of: {', '.join(FAMILIES)}")
    if intensity not in (0,) + INTENSITIES:
        raise ValueError(f"intensity must be 0 (clean) or one of 1..5, got {intensity!r}")
    if x.dtype != np.uint8 or x.ndim != 4 or x.shape[-1] != 3:
        raise ValueError(f"corrupt expects uint8 images of shape (N, H, W, 3), got {x.dtype} {x.shape}")
    if intensity == 0:
        return x.copy()
    v = PARAMS[family][intensity - 1]
    if family == "jpeg":
        return _jpeg(x, v)
    t = _to_float(x)
    if family == "gaussian_noise":
        g = torch.Generator().manual_seed(seed)
        t = t + v * torch.randn(t.shape, generator=g)
    elif family == "gaussian_blur":
        t = _blur(t, v)
    elif family == "contrast":
        mean = t.mean(dim=(1, 2, 3), keepdim=True)
        t = (t - mean) * v + mean
    elif family == "brightness":
        t = t + v
    return _to_uint8(t)
