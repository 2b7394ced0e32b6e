"""helpers.config: profiles and chapter presets."""
import pytest

from helpers import config


def test_unknown_profile_names_the_valid_ones():
    with pytest.raises(config.ConfigError) as err:
        config.resolve_profile("laptop")
    assert all(p in str(err.value) for p in config.PROFILES)
    assert "\n" not in str(err.value)


def test_auto_is_cpu_without_cuda():
    import torch

    assert config.resolve_profile("auto") == ("gpu" if torch.cuda.is_available() else "cpu")


def test_overrides_apply_and_none_is_ignored():
    p = config.chapter_params("03_modes", "cpu", seeds=3, epochs=None, save_epochs=[0, 1])
    assert p.seeds == 3 and p.epochs == config.CHAPTERS["03_modes"]["cpu"]["epochs"]
    assert p.save_epochs == (0, 1) and p.profile == "cpu"


def test_unknown_parameter_names_the_valid_ones():
    with pytest.raises(config.ConfigError, match="seeds"):
        config.chapter_params("03_modes", "smoke", sedes=3)


def test_every_profile_defines_the_same_keys():
    for chapter, presets in config.CHAPTERS.items():
        keys = {tuple(sorted(p)) for p in presets.values()}
        assert len(keys) == 1, chapter
        assert set(presets) == {"smoke", "cpu", "gpu"}
