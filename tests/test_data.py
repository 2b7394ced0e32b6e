"""helpers.data: the sources, the cache, and batched augmentation."""
import io

import numpy as np
import pytest
import torch

from helpers import data


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    """An empty data folder, no pack, no download, and no in-process cache."""
    monkeypatch.setenv("HELPERS_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("CIFAR10_PACK", raising=False)
    monkeypatch.delenv("CIFAR10_DIR", raising=False)
    monkeypatch.setenv("CIFAR10_DOWNLOAD", "0")
    data.load.cache_clear()
    data.on_device.cache_clear()
    yield tmp_path
    data.load.cache_clear()
    data.on_device.cache_clear()


def make_pack(path, n_train=20, n_test=10, seed=0):
    """A tiny pack in the format of ../shared/data/README.md, and the images it was made from."""
    from PIL import Image

    g = np.random.default_rng(seed)
    out, originals = {}, {}
    header = None
    for split, n in (("train", n_train), ("test", n_test)):
        imgs = g.integers(0, 256, size=(n, 32, 32, 3), dtype=np.uint8)
        blobs = []
        for im in imgs:
            buf = io.BytesIO()
            Image.fromarray(im).save(buf, format="JPEG", quality=75)
            b = buf.getvalue()
            sos = b.index(b"\xff\xda")
            cut = sos + 2 + int.from_bytes(b[sos + 2:sos + 4], "big")  # end of the SOS segment
            assert header is None or header == b[:cut], "PIL headers differ between images"
            header = b[:cut]
            blobs.append(b[cut:])
        offsets = np.cumsum([0] + [len(b) for b in blobs])
        out[f"{split}_scans"] = np.frombuffer(b"".join(blobs), dtype=np.uint8)
        out[f"{split}_offsets"] = offsets.astype(np.int64)
        out[f"{split}_labels"] = (np.arange(n) % 10).astype(np.uint8)
        originals[split] = [Image.open(io.BytesIO(header + b)).convert("RGB") for b in blobs]
    np.savez(path, jpeg_header=np.frombuffer(header, dtype=np.uint8), classes=np.array(data.CLASSES), **out)
    return originals


def test_pack_decodes_to_the_same_pixels_as_pil(tmp_path):
    originals = make_pack(tmp_path / "pack.npz")
    ds = data.read_pack(tmp_path / "pack.npz")
    assert ds.variant == "cifar10-jpeg"
    assert ds.train_x.shape == (20, 32, 32, 3) and ds.train_x.dtype == np.uint8
    assert ds.test_x.shape == (10, 32, 32, 3)
    assert ds.train_y.tolist() == [i % 10 for i in range(20)]
    pil = np.stack([np.asarray(im) for im in originals["test"]])
    assert np.abs(ds.test_x.astype(int) - pil.astype(int)).max() <= 2  # decoders may round differently


def test_pack_is_decoded_once_and_cached(isolated, monkeypatch):
    make_pack(isolated / "pack.npz")
    monkeypatch.setenv("CIFAR10_PACK", str(isolated / "pack.npz"))
    ds = data.load("auto")
    assert ds.variant == "cifar10-jpeg"
    assert (isolated / "data" / "cifar10-jpeg.npz").exists()
    # second time: from the cache, even without the pack
    data.load.cache_clear()
    monkeypatch.delenv("CIFAR10_PACK")
    again = data.load("auto")
    assert again.variant == "cifar10-jpeg"
    assert np.array_equal(again.train_x, ds.train_x)


def test_corrupt_cache_is_reported_and_rebuilt(isolated, monkeypatch, capsys):
    make_pack(isolated / "pack.npz")
    monkeypatch.setenv("CIFAR10_PACK", str(isolated / "pack.npz"))
    first = data.load("auto")
    cache = isolated / "data" / "cifar10-jpeg.npz"
    cache.write_bytes(cache.read_bytes()[:1000])  # truncated
    data.load.cache_clear()
    second = data.load("auto")
    err = capsys.readouterr().err
    assert "corrupt" in err and len(err.strip().splitlines()) == 1
    assert np.array_equal(first.test_x, second.test_x)
    assert np.array_equal(data._load_cache("cifar10-jpeg").test_x, first.test_x)  # whole again


def test_processes_that_decode_at_once_both_write_the_cache(isolated, monkeypatch):
    """Worker processes that find no cache decode the pack at once: a writer that saves the cache
    while another is between writing and renaming must not take the other's file away (the
    failure seen in CI: FileNotFoundError on the rename)."""
    ds = data.synthetic(n_train=20, n_test=10)
    savez, nested = np.savez, []

    def savez_then_another_writer(path, **arrays):
        savez(path, **arrays)
        if not nested:  # the first writer has written its file: the second saves the whole cache
            nested.append(path)
            data._save_cache(ds)

    monkeypatch.setattr(np, "savez", savez_then_another_writer)
    data._save_cache(ds)
    folder = isolated / "data"
    assert sorted(p.name for p in folder.iterdir()) == ["synthetic.npz"]  # no temporary left
    again = data._load_cache("synthetic")
    assert np.array_equal(again.train_x, ds.train_x)


def test_missing_dataset_says_both_ways_to_provide_it(isolated):
    with pytest.raises(data.DatasetMissing) as err:
        data.load("auto")
    msg = str(err.value)
    assert "CIFAR-10" in msg and "CIFAR10_PACK" in msg and "cifar-10-batches-py" in msg


def test_unreadable_pack_is_a_clear_error(isolated, monkeypatch):
    (isolated / "bad.npz").write_bytes(b"not a zip file")
    monkeypatch.setenv("CIFAR10_PACK", str(isolated / "bad.npz"))
    with pytest.raises(data.DatasetMissing, match="CIFAR10_PACK"):
        data.load("auto")


def test_synthetic_stand_in():
    ds = data.synthetic(n_train=100, n_test=50)
    assert ds.variant == "synthetic"
    assert ds.train_x.shape == (100, 32, 32, 3) and ds.train_x.dtype == np.uint8
    assert set(ds.train_y.tolist()) == set(range(10))
    assert "SYNTHETIC" in ds.describe()


def test_subset_is_class_balanced_and_fixed():
    labels = np.repeat(np.arange(10), 50)
    idx = data.subset_indices(500, 100, labels)
    assert len(idx) == 100 and len(set(idx.tolist())) == 100
    assert np.bincount(labels[idx], minlength=10).tolist() == [10] * 10
    assert np.array_equal(idx, data.subset_indices(500, 100, labels))
    assert len(data.subset_indices(500, None, labels)) == 500


def test_batch_order_is_a_seeded_permutation():
    a = data.batch_order(10, 3, torch.Generator().manual_seed(0))
    b = data.batch_order(10, 3, torch.Generator().manual_seed(0))
    c = data.batch_order(10, 3, torch.Generator().manual_seed(1))
    assert [len(x) for x in a] == [3, 3, 3]  # the partial batch is dropped
    assert len(set(torch.cat(a).tolist())) == 9
    assert all(torch.equal(x, y) for x, y in zip(a, b))
    assert not all(torch.equal(x, y) for x, y in zip(a, c))


def test_crop_flip_gives_a_shifted_possibly_mirrored_crop():
    x = torch.randn(6, 3, 8, 8)
    out = data.random_crop_flip(x, torch.Generator().manual_seed(0), pad=2)
    assert out.shape == x.shape
    padded = torch.nn.functional.pad(x, (2, 2, 2, 2))
    for i in range(6):
        candidates = [padded[i, :, dy:dy + 8, dx:dx + 8] for dy in range(5) for dx in range(5)]
        candidates += [c.flip(-1) for c in candidates]
        assert any(torch.equal(out[i], c) for c in candidates)
    again = data.random_crop_flip(x, torch.Generator().manual_seed(0), pad=2)
    other = data.random_crop_flip(x, torch.Generator().manual_seed(1), pad=2)
    assert torch.equal(out, again) and not torch.equal(out, other)


def test_on_device_normalizes():
    d = data.on_device("synthetic", "cpu", 100, 50)
    assert d.train_x.shape == (100, 3, 32, 32) and d.train_x.dtype == torch.float32
    assert d.variant == "synthetic" and d.test_y.dtype == torch.int64
    # undoing CIFAR-10's per-channel mean and SD gives back the subset's own pixels
    ds = data.load("synthetic")
    idx = data.subset_indices(len(ds.train_y), 100, ds.train_y)
    mean, sd = torch.tensor(data.MEAN).view(3, 1, 1), torch.tensor(data.STD).view(3, 1, 1)
    pixels = torch.from_numpy(ds.train_x[idx]).permute(0, 3, 1, 2).float()
    assert torch.allclose((d.train_x * sd + mean) * 255, pixels, atol=1e-3)


def test_epoch_plan_draws_exactly_what_step_by_step_draws_would():
    """The trainer's one-copy-per-epoch plan replays batch_order and random_crop_flip's draws."""
    x = torch.arange(6 * 3 * 4 * 4, dtype=torch.float32).view(6, 3, 4, 4)
    idx, shifts, flips = data.epoch_plan(6, 3, torch.Generator().manual_seed(1),
                                         torch.Generator().manual_seed(2), "cpu", pad=1)
    order = data.batch_order(6, 3, torch.Generator().manual_seed(1))
    aug = torch.Generator().manual_seed(2)
    for it, batch in enumerate(order):
        assert torch.equal(idx[it], batch)
        assert torch.equal(data.crop_flip(x[batch], shifts[it], flips[it], pad=1),
                           data.random_crop_flip(x[batch], aug, pad=1))
    no_aug = data.epoch_plan(6, 3, torch.Generator().manual_seed(1), None, "cpu")
    assert no_aug[1] is None and torch.equal(no_aug[0], idx)
