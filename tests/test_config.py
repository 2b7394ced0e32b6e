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


def test_precision_is_fp32_except_where_no_claim_rests_on_bits():
    from helpers import train

    for chapter, presets in config.CHAPTERS.items():
        for profile, preset in presets.items():
            assert preset["precision"] in ("fp32", "tf32", "bf16"), (chapter, profile)
            if profile != "gpu" or chapter == "05_instability":
                # smoke/cpu keep every cached run's key; chapter 05 (the one-bit change) needs bits
                assert preset["precision"] == "fp32", (chapter, profile)
    assert train.Spec().precision == "fp32"


def test_chapter_specs_carry_the_preset_precision():
    from helpers.chapters import instability, lottery, mimo, modes

    P = config.chapter_params("03_modes", "gpu")
    assert {s.precision for s in modes.specs(P)} == {P.precision}
    P = config.chapter_params("04_mimo", "gpu")
    assert {s.precision for g in mimo.chapter_specs(P).values() for s in g} == {P.precision}
    P = config.chapter_params("02_lottery_tickets", "gpu")
    assert lottery.spec_from(P).precision == lottery.spec_from(P, "rn_").precision == P.precision
    P = config.chapter_params("05_instability", "gpu")
    spec = instability.base_spec(P)
    assert spec.precision == "fp32" and spec.deterministic
