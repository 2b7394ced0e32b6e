"""CIFAR-10: from its sources to batches that live on the training device.

Where the images come from, in order of preference:

1. a torchvision ``cifar-10-batches-py`` folder (in ``data/``, or the folder named by
   ``CIFAR10_DIR``), or torchvision's download of it where the network allows
   (``CIFAR10_DOWNLOAD=0`` skips the attempt);
2. the offline JPEG pack named by ``CIFAR10_PACK`` (every image JPEG-compressed once, so models
   score a point or two lower; see its README).

Either way the images are decoded once into a uint8 cache, ``data/cifar10.npz`` or
``data/cifar10-jpeg.npz``, and every run records which *variant* it used: ``cifar10``,
``cifar10-jpeg`` or, for unit tests only, ``synthetic``.

On the device the training set is a float tensor; batches are index gathers, and random crop
(zero padding 4) and horizontal flip are applied to whole batches with parameters drawn from
their own seeded generator (airbench style), so that data order and augmentation are separate
sources of randomness.
"""
from __future__ import annotations

import dataclasses
import functools
import io
import os
import platform
import socket
import sys
import uuid
import warnings
import zipfile
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

REPO = Path(__file__).resolve().parents[1]
# How a chapter's prose names each dataset variant ("trained on <name>").
PROSE_NAMES = {"cifar10": "CIFAR-10", "cifar10-jpeg": "the JPEG-compressed copy of CIFAR-10",
               "synthetic": "synthetic images (not CIFAR-10)"}
CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
# Per-channel statistics of the CIFAR-10 training set (the original; the pack's agree to 1e-4).
MEAN = (0.4914, 0.4822, 0.4465)
STD = (0.2470, 0.2435, 0.2616)
VARIANTS = ("cifar10", "cifar10-jpeg", "synthetic")


class DatasetMissing(RuntimeError):
    """Neither source of CIFAR-10 is available; the message says how to provide one."""


MISSING_MESSAGE = (
    "CIFAR-10 not found. Provide it one of two ways: put torchvision's 'cifar-10-batches-py' "
    "folder in {data_dir} (or point CIFAR10_DIR at it; with internet access it is downloaded "
    "there automatically), or set CIFAR10_PACK to the offline JPEG pack, e.g. "
    "CIFAR10_PACK=../shared/data/cifar10_jpeg.npz"
)


def data_dir() -> Path:
    """The folder for the dataset cache and the runs cache (``HELPERS_DATA_DIR`` or ``data/``)."""
    return Path(os.environ.get("HELPERS_DATA_DIR", REPO / "data"))


@dataclasses.dataclass
class Dataset:
    """CIFAR-10 in memory: uint8 images (N, 32, 32, 3) and int64 labels, plus its variant."""

    train_x: np.ndarray
    train_y: np.ndarray
    test_x: np.ndarray
    test_y: np.ndarray
    variant: str
    classes: tuple = CLASSES

    def describe(self) -> str:
        what = {
            "cifar10": "the original CIFAR-10 (torchvision)",
            "cifar10-jpeg": "the offline JPEG-compressed copy of CIFAR-10 (CIFAR10_PACK)",
            "synthetic": "a tiny SYNTHETIC stand-in (unit tests / smoke only, not CIFAR-10)",
        }[self.variant]
        return f"{what}: {len(self.train_y)} training and {len(self.test_y)} test images"


# ---------------------------------------------------------------------------- the sources

def _from_torchvision_folder(root: Path, download: bool) -> Dataset:
    import torchvision

    parts = {}
    for split in ("train", "test"):
        ds = torchvision.datasets.CIFAR10(str(root), train=split == "train", download=download)
        parts[split] = (np.asarray(ds.data, dtype=np.uint8), np.asarray(ds.targets, dtype=np.int64))
    return Dataset(*parts["train"], *parts["test"], variant="cifar10")


def _decode_jpegs(blobs: list[bytes]) -> np.ndarray:
    """Decode same-sized JPEG files to a uint8 array (N, 32, 32, 3)."""
    try:
        with warnings.catch_warnings():  # torchvision 0.29 deprecates its decoders (still fastest)
            warnings.simplefilter("ignore", DeprecationWarning)
            from torchvision.io import decode_jpeg

            tensors = [torch.frombuffer(bytearray(b), dtype=torch.uint8) for b in blobs]
            out = []
            for i in range(0, len(tensors), 5000):
                out.append(torch.stack(decode_jpeg(tensors[i:i + 5000])).permute(0, 2, 3, 1))
            return torch.cat(out).numpy()
    except (ImportError, RuntimeError):  # torchvision without its image extension: PIL
        from PIL import Image

        return np.stack([np.asarray(Image.open(io.BytesIO(b)).convert("RGB")) for b in blobs])


def read_pack(path: str | Path) -> Dataset:
    """Decode the offline JPEG pack (format: ``../shared/data/README.md``)."""
    try:
        z = np.load(path, allow_pickle=False)
        header = z["jpeg_header"].tobytes()
        parts = {}
        for split in ("train", "test"):
            scans, offsets = z[f"{split}_scans"], z[f"{split}_offsets"]
            blobs = [header + scans[offsets[i]:offsets[i + 1]].tobytes() for i in range(len(offsets) - 1)]
            parts[split] = (_decode_jpegs(blobs), z[f"{split}_labels"].astype(np.int64))
    except (OSError, KeyError, ValueError, zipfile.BadZipFile) as err:
        raise DatasetMissing(f"CIFAR10_PACK={path} is not a readable CIFAR-10 JPEG pack ({err})") from None
    return Dataset(*parts["train"], *parts["test"], variant="cifar10-jpeg")


def synthetic(n_train: int = 512, n_test: int = 256, seed: int = 0) -> Dataset:
    """A tiny learnable stand-in: each class is a fixed smooth colour pattern plus noise."""
    g = np.random.default_rng(seed)
    protos = g.uniform(40, 215, size=(10, 4, 4, 3))
    protos = protos.repeat(8, axis=1).repeat(8, axis=2)  # (10, 32, 32, 3) blocky patterns

    def make(n):
        y = np.arange(n) % 10
        g.shuffle(y)
        x = protos[y] + g.normal(0, 40, size=(n, 32, 32, 3))
        return np.clip(x, 0, 255).astype(np.uint8), y.astype(np.int64)

    return Dataset(*make(n_train), *make(n_test), variant="synthetic")


# ----------------------------------------------------------------------------- the cache

def _cache_path(variant: str) -> Path:
    return data_dir() / f"{variant}.npz"


def _save_cache(ds: Dataset) -> None:
    path = _cache_path(ds.variant)
    path.parent.mkdir(parents=True, exist_ok=True)
    # a name of this process's own: processes that decode at once (workers) must not share it
    tmp = path.with_name(f"{path.stem}.{os.getpid()}-{uuid.uuid4().hex[:8]}.tmp.npz")
    try:
        np.savez(tmp, train_x=ds.train_x, train_y=ds.train_y, test_x=ds.test_x, test_y=ds.test_y)
        os.replace(tmp, path)  # atomic: a reader sees the old file or the whole new one
    finally:
        tmp.unlink(missing_ok=True)


def _load_cache(variant: str) -> Dataset | None:
    path = _cache_path(variant)
    if not path.exists():
        return None
    try:
        with np.load(path) as z:
            ds = Dataset(z["train_x"], z["train_y"], z["test_x"], z["test_y"], variant=variant)
        for x, y in ((ds.train_x, ds.train_y), (ds.test_x, ds.test_y)):
            if x.shape[1:] != (32, 32, 3) or x.dtype != np.uint8 or len(x) != len(y) or len(y) == 0:
                raise ValueError(f"unexpected arrays {x.shape} {x.dtype} / {y.shape}")
        return ds
    except Exception as err:  # a truncated or foreign file: say so, decode again
        print(f"data cache {path} is corrupt ({err}); decoding it again", file=sys.stderr)
        path.unlink(missing_ok=True)
        return None


def _real_cifar10() -> Dataset | None:
    """The original CIFAR-10 from a torchvision folder, or its download; None if unavailable."""
    roots = [Path(os.environ["CIFAR10_DIR"])] if os.environ.get("CIFAR10_DIR") else []
    roots.append(data_dir())
    for root in roots:
        if root.name == "cifar-10-batches-py":
            root = root.parent
        if (root / "cifar-10-batches-py").is_dir():
            return _from_torchvision_folder(root, download=False)
    if os.environ.get("CIFAR10_DOWNLOAD", "1") != "0":
        old = socket.getdefaulttimeout()
        socket.setdefaulttimeout(20)
        try:
            return _from_torchvision_folder(data_dir(), download=True)
        except Exception:  # offline, blocked, or torchvision missing: fall through to the pack
            return None
        finally:
            socket.setdefaulttimeout(old)
    return None


@functools.lru_cache(maxsize=4)
def load(dataset: str = "auto") -> Dataset:
    """CIFAR-10 as uint8 arrays: ``dataset`` is 'auto' (best available source) or 'synthetic'."""
    if dataset == "synthetic":
        return synthetic()
    if dataset not in ("auto", "cifar10", "cifar10-jpeg"):
        raise ValueError(f"unknown dataset {dataset!r}; choose one of: auto, cifar10, cifar10-jpeg, synthetic")
    if dataset in ("auto", "cifar10"):
        ds = _load_cache("cifar10") or _real_cifar10()
        if ds is not None:
            if not _cache_path("cifar10").exists():
                _save_cache(ds)
            return ds
    if dataset in ("auto", "cifar10-jpeg"):
        ds = _load_cache("cifar10-jpeg")
        if ds is None and os.environ.get("CIFAR10_PACK"):
            ds = read_pack(os.environ["CIFAR10_PACK"])
            _save_cache(ds)
        if ds is not None:
            return ds
    raise DatasetMissing(MISSING_MESSAGE.format(data_dir=data_dir()))


def prepare() -> str:
    """Make sure a decoded cache exists; return the variant that will be used."""
    return load("auto").variant


def report(dataset: str = "auto", device: str = "auto") -> str:
    """Which data and which machine a chapter ran on: printed at the top of every chapter."""
    from .train import CPU_FIT_THREADS, pick_device   # train imports this module

    ds = load(dataset)
    dev = pick_device(device)
    fits = (f"; each run trains on {CPU_FIT_THREADS} thread{'s' * (CPU_FIT_THREADS != 1)}"
            if dev.type == "cpu" and CPU_FIT_THREADS > 0 else "")
    return (f"dataset: {ds.variant} -- {ds.describe()}\n"
            f"device:  {device_name(dev)}{fits}; torch {torch.__version__}, "
            f"python {platform.python_version()}")


def device_name(device) -> str:
    """The GPU's name, or the CPU's architecture, kernel set and thread count: what a run's bits
    depend on besides its spec and torch (AVX2 and AVX-512 kernels round differently)."""
    dev = torch.device(device)
    if dev.type == "cuda" and torch.cuda.is_available():
        return torch.cuda.get_device_name(dev)
    n = torch.get_num_threads()
    return (f"{platform.processor() or platform.machine()} CPU, "
            f"{torch.backends.cpu.get_cpu_capability()} kernels ({n} thread{'s' * (n != 1)})")


# ------------------------------------------------------------------------- on the device

@dataclasses.dataclass
class DeviceData:
    """Normalized float images (N, 3, 32, 32) and labels, resident on one device."""

    train_x: torch.Tensor
    train_y: torch.Tensor
    test_x: torch.Tensor
    test_y: torch.Tensor
    variant: str

    @property
    def device(self) -> torch.device:
        return self.train_x.device


def _normalize(x: np.ndarray, device) -> torch.Tensor:
    t = torch.from_numpy(np.ascontiguousarray(x)).to(device).permute(0, 3, 1, 2).float().div_(255)
    mean = torch.tensor(MEAN, device=device).view(1, 3, 1, 1)
    std = torch.tensor(STD, device=device).view(1, 3, 1, 1)
    return ((t - mean) / std).contiguous()


def subset_indices(n_total: int, n: int | None, labels: np.ndarray, seed: int = 0) -> np.ndarray:
    """The first ``n`` examples of a fixed class-balanced shuffle (all of them if n is None)."""
    if n is None or n >= n_total:
        return np.arange(n_total)
    g = np.random.default_rng(seed)
    per_class = [g.permutation(np.flatnonzero(labels == c)) for c in range(10)]
    interleaved = np.stack([p[: min(len(q) for q in per_class)] for p in per_class], 1).reshape(-1)
    return np.sort(interleaved[:n])


@functools.lru_cache(maxsize=4)
def on_device(dataset: str, device: str, n_train: int | None = None, n_test: int | None = None) -> DeviceData:
    """The chosen subsets, normalized, on ``device`` (cached per process)."""
    ds = load(dataset)
    tr = subset_indices(len(ds.train_y), n_train, ds.train_y)
    te = subset_indices(len(ds.test_y), n_test, ds.test_y)
    return DeviceData(
        _normalize(ds.train_x[tr], device), torch.from_numpy(ds.train_y[tr]).to(device),
        _normalize(ds.test_x[te], device), torch.from_numpy(ds.test_y[te]).to(device),
        ds.variant,
    )


def draw_crop_flip(b: int, gen: torch.Generator, pad: int = 4) -> tuple[torch.Tensor, torch.Tensor]:
    """The random part of :func:`random_crop_flip` for ``b`` images: (b, 2) shifts in
    ``[0, 2*pad]`` and (b,) flip flags, drawn on the CPU from ``gen`` (so a run's augmentation does
    not depend on the device it runs on nor on anything else that consumes random numbers)."""
    shifts = torch.randint(0, 2 * pad + 1, (b, 2), generator=gen)
    flips = torch.rand(b, generator=gen) < 0.5
    return shifts, flips


def crop_flip(x: torch.Tensor, shifts: torch.Tensor, flips: torch.Tensor, pad: int = 4) -> torch.Tensor:
    """Crop every image of ``x`` at its ``shifts`` after zero padding by ``pad``, and mirror those
    whose ``flips`` flag is set: one gather for the whole batch, on ``x``'s device."""
    b, c, h, w = x.shape
    shifts, flips = shifts.to(x.device, non_blocking=True), flips.to(x.device, non_blocking=True)
    padded = F.pad(x, (pad, pad, pad, pad))
    rows = (shifts[:, 0:1] + torch.arange(h, device=x.device)).view(b, 1, h, 1)
    cols = (shifts[:, 1:2] + torch.arange(w, device=x.device)).view(b, 1, 1, w)
    cols = torch.where(flips.view(b, 1, 1, 1), 2 * pad + w - 1 - cols, cols)  # flip = mirror cols
    bi = torch.arange(b, device=x.device).view(b, 1, 1, 1)
    ci = torch.arange(c, device=x.device).view(1, c, 1, 1)
    return padded[bi, ci, rows, cols]


def random_crop_flip(x: torch.Tensor, gen: torch.Generator, pad: int = 4) -> torch.Tensor:
    """Random crop after zero padding by ``pad`` and random horizontal flip, for a whole batch."""
    return crop_flip(x, *draw_crop_flip(len(x), gen, pad), pad=pad)


def batch_order(n: int, batch_size: int, gen: torch.Generator) -> list[torch.Tensor]:
    """One epoch's batches of indices (a permutation from ``gen``; the last partial batch dropped)."""
    perm = torch.randperm(n, generator=gen)
    return [perm[i:i + batch_size] for i in range(0, n - batch_size + 1, batch_size)]


def epoch_plan(n: int, batch_size: int, order_gen: torch.Generator, aug_gen: torch.Generator | None,
               device, pad: int = 4) -> tuple:
    """One epoch's random draws for one model, made on the CPU and sent to ``device`` at once.

    Returns ``(idx, shifts, flips)``: (steps, B) example indices, and the (steps, B, 2) crop
    shifts and (steps, B) flip flags, or ``None`` for both without augmentation. The draws are
    exactly those :func:`batch_order` and :func:`random_crop_flip` make step by step (same
    generators, same order); sending them in one copy per epoch keeps the GPU from waiting on the
    host at every step.
    """
    idx = torch.stack(batch_order(n, batch_size, order_gen))
    if aug_gen is None:
        return idx.to(device), None, None
    draws = [draw_crop_flip(batch_size, aug_gen, pad) for _ in range(len(idx))]
    shifts = torch.stack([d[0] for d in draws])
    flips = torch.stack([d[1] for d in draws])
    return idx.to(device), shifts.to(device), flips.to(device)