"""seed_base: every chapter takes it, and it shifts the seeds of the specs a chapter builds and
nothing else (so seed_base=0 keeps the published runs' cache keys)."""
import dataclasses

import pytest

from helpers import config, train

from helpers.chapters import instability, lottery, mimo, modes


def _assert_shifted(a: train.Spec, b: train.Spec, k: int, also=()):
    for f in dataclasses.fields(train.Spec):
        x, y = getattr(a, f.name), getattr(b, f.name)
        if f.name in train.SEED_FIELDS:
            assert y == x + k, f.name
        elif f.name not in also:
            assert y == x, f.name


@pytest.mark.parametrize("chapter", list(config.CHAPTERS))
def test_every_chapter_takes_seed_base(chapter):
    for profile in ("smoke", "cpu", "gpu"):
        assert config.chapter_params(chapter, profile).seed_base == 0
    assert config.chapter_params(chapter, "smoke", seed_base=7).seed_base == 7


def test_modes_specs_shift():
    a = modes.specs(config.chapter_params("03_modes", "smoke"))
    b = modes.specs(config.chapter_params("03_modes", "smoke", seed_base=1000))
    assert [s.seed_init for s in a] == [1, 2, 3]
    for x, y in zip(a, b):
        _assert_shifted(x, y, 1000)


def test_mimo_specs_shift():
    a = mimo.chapter_specs(config.chapter_params("04_mimo", "smoke"))
    b = mimo.chapter_specs(config.chapter_params("04_mimo", "smoke", seed_base=50))
    assert a.keys() == b.keys()
    for k in a:
        assert len(a[k]) == len(b[k])
        for x, y in zip(a[k], b[k]):
            _assert_shifted(x, y, 50)


def test_instability_specs_shift():
    P0 = config.chapter_params("05_instability", "smoke", dataset="synthetic")
    P1 = config.chapter_params("05_instability", "smoke", dataset="synthetic", seed_base=100)
    b0, b1 = instability.base_spec(P0), instability.base_spec(P1)
    _assert_shifted(b0, b1, 100)
    for src in ("init", "order", "all", "control"):
        for x, y in zip(instability.source_specs(b0, src, 3, False, P0.seed_base),
                        instability.source_specs(b1, src, 3, False, P1.seed_base)):
            _assert_shifted(x, y, 100)
    # the bit flips: seeds shift, and so does the draw of the flipped weights
    f0 = instability.source_specs(b0, "bitflip", 3, False, 0)
    f1 = instability.source_specs(b1, "bitflip", 3, False, 100)
    for x, y in zip(f0, f1):
        _assert_shifted(x, y, 100, also=("perturb",))
    assert [s.perturb for s in f0] != [s.perturb for s in f1]
    assert f0 == instability.source_specs(b0, "bitflip", 3, False)  # the default is 0


def test_lottery_specs_shift():
    P0 = config.chapter_params("02_lottery_tickets", "smoke")
    P1 = config.chapter_params("02_lottery_tickets", "smoke", seed_base=10)
    for prefix, seed in (("", 1), ("", 2), ("rn_", 1)):
        _assert_shifted(lottery.spec_from(P0, prefix, seed=seed),
                        lottery.spec_from(P1, prefix, seed=seed), 10)
