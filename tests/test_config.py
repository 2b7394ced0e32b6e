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


def test_parameters_are_read_only_hashable_and_replace_checks_keys_and_kinds():
    P = config.chapter_params("03_modes", "smoke", save_epochs=[0, 1])
    Q = config.chapter_params("03_modes", "smoke", save_epochs=(0, 1))
    assert P == Q and hash(P) == hash(Q) and P.save_epochs == (0, 1)
    with pytest.raises(config.ConfigError, match=r"read-only.*P.replace\(seeds=...\)"):
        P.seeds = 4
    R = P.replace(seeds=4, n_train=None)
    assert (R.seeds, R.n_train, P.seeds) == (4, None, 3) and R != P
    with pytest.raises(config.ConfigError, match="unknown parameter 'sedes'"):
        P.replace(sedes=4)
    for bad, kind in [(dict(seeds="five"), "a number"), (dict(augment=1), "True or False"),
                      (dict(save_epochs=5), "a list"), (dict(model=3), "a string")]:
        with pytest.raises(config.ConfigError, match=kind) as err:
            config.chapter_params("03_modes", "cpu", **bad)
        assert "\n" not in str(err.value)


def test_a_key_that_is_none_at_some_profile_takes_none_or_its_kind():
    assert config.chapter_params("05_instability", "cpu", div_epochs=[0, 2]).div_epochs == (0, 2)
    P = config.chapter_params("05_instability", "gpu")
    assert P.replace(div_epochs=None).div_epochs is None
    assert config.chapter_params("03_modes", "smoke", n_train=None).n_train == 512  # None: preset


def test_from_cell_reads_profile_and_every_preset_key_in_the_namespace():
    ns = dict(profile="smoke", dataset="synthetic", claims_dir=None, seed_base=0, seeds=None,
              lr=0.01, milestones=[3], np=object(), unrelated=1)
    P = config.from_cell("03_modes", ns)
    assert (P.profile, P.dataset, P.lr, P.milestones, P.seeds) == ("smoke", "synthetic", 0.01, (3,), 3)


def test_presets_are_a_base_and_differences_and_every_key_has_a_meaning():
    for chapter, presets in config.CHAPTERS.items():
        for key in presets["cpu"]:
            assert config.meaning(chapter, key), (chapter, key)
        text = config.describe(chapter, "gpu", seeds=7)
        assert f"# {chapter} at profile gpu" in text and "7*" in text
    # the base is the cpu edition: smoke and gpu only list what differs
    assert config.CHAPTERS["04_mimo"]["smoke"]["lr"] == config.CHAPTERS["04_mimo"]["cpu"]["lr"]



def test_counts_take_whole_numbers_from_their_least_value():
    for bad in (dict(seeds=-3), dict(seeds=2.5), dict(epochs=0), dict(seed_base=-1)):
        with pytest.raises(config.ConfigError, match="whole number"):
            config.chapter_params("05_instability", "cpu", **bad)
    P = config.chapter_params("05_instability", "cpu", seeds=4.0, group=0, seed_base=1000)
    assert (P.seeds, P.group, P.seed_base) == (4, 0, 1000) and isinstance(P.seeds, int)
    # a width is a multiplier, not a count
    assert config.chapter_params("03_modes", "cpu", width=0.5).width == 0.5
    assert config.whole_number_floor("03_modes", "width") is None
