"""helpers.prose: values glued into a chapter's prose, in myst-nb's own format."""
from types import SimpleNamespace

import numpy as np
import pytest

from helpers import claims, prose, stats
from helpers.chapters import instability


def test_a_glued_value_is_what_myst_nb_glue_writes():
    from unittest import mock

    import myst_nb.ext.glue as mg

    class Text:  # plain text and markdown alike, as prose.bundle writes them
        def __repr__(self):
            return "4.85x (interval 1.00x to 32.60x)"

        def _repr_markdown_(self):
            return "4.85x (interval 1.00x to 32.60x)"

    seen = []
    with mock.patch.object(mg, "ipy_display", lambda data, raw, metadata: seen.append((data, metadata))):
        mg.glue("spread", Text(), display=False)
    data, metadata = prose.bundle("spread", "4.85x (interval 1.00x to 32.60x)")
    assert seen == [(data, metadata)]


def test_glue_outside_a_kernel_writes_nothing(capsys):
    prose.glue("x", "1.0")
    prose.glue_all({"a": "1", "b": "2"})
    assert capsys.readouterr().out == "" and not prose.in_kernel()


def test_words():
    assert prose.join(["a"]) == "a" and prose.join(["a", "b", "c"]) == "a, b and c"
    assert prose.join(["a", "", "b"]) == "a and b" and prose.join([]) == ""
    assert prose.times(4.85) == "about five times" and prose.times(1.4) == "1.4 times"
    assert prose.times(1.5e7) == "1.5e+07 times" and "undefined" in prose.times(float("nan"))
    assert prose.span(4.2, 5.1) == "4 to 5" and prose.span(8.6, 9.4) == "about 9"
    assert prose.orders(1.1) == "about one order of magnitude"
    assert prose.orders(3.8, 5.2) == "4 to 5 orders of magnitude"
    assert prose.plural(1, "epoch") == "1 epoch" and prose.plural(2.5, "epoch") == "2.5 epochs"


def test_the_claims_readings_list_each_evidence_row_under_its_verdict():
    T = claims.ClaimsTable("x", "cpu", "v")
    T.add("s", "ratio | near one", "1", stats.Estimate(0.96, 0.91, 1.01, "b", 6, "runs"),
          claims.between(0.75, 1.33))
    T.add("s", "... and its drift", "tiny", 6.9e-6, claims.below(1e-4), fmt="{:.1e}")
    T.add("s", "spread", "1.2x", stats.Estimate(4.85, 1.0, 32.6, "b", 6, "runs"),
          claims.below(2), fmt="{:.2f}x")
    T.check("s", "control", "0", 0.0, claims.within(0, 0))
    r = T.readings()
    assert r["claims_rows"] == "3"
    assert r["claims_tally"] == "2 hold, 0 differ, 1 inconclusive, 0 not testable; 1 check not counted"
    assert r["claims_holds"].splitlines() == [
        "- ratio \\| near one (0.96; interval 0.91 to 1.01; test between 0.75 and 1.33)",
        "- ... and its drift (6.9e-06; no interval; test < 0.0001)"]
    assert r["claims_inconclusive"] == "- spread (4.85x; interval 1.00x to 32.60x; test < 2)"
    assert r["claims_differs"] == "none" and "control" not in "".join(r.values())
    assert claims.within(0, 0).describe() == "= 0"
    # a continuation listed apart from the row it continues says that row's statement too
    U = claims.ClaimsTable("x", "cpu", "v")
    U.add("s", "gain", "1", stats.Estimate(0.96, 0.91, 1.01, "b", 6, "runs"), claims.above(0.5))
    U.add("s", "... and its spread", "1", stats.Estimate(0.9, 0.2, 3.0, "b", 6, "runs"),
          claims.below(1))
    assert U.readings()["claims_inconclusive"].startswith("- gain ... and its spread (0.90;")


def _fake_rows():
    rng = np.random.default_rng(0)
    labels = np.array([0, 1, 2, 0, 1, 2])

    def run(noise):
        p = np.clip(np.eye(3)[labels] + noise * rng.random((6, 3)), 1e-3, None)
        p = p / p.sum(1, keepdims=True)
        return SimpleNamespace(probs=lambda epoch=None: p, logits=lambda epoch=None: np.log(p),
                               labels=labels)
    return {"init": [run(2.0) for _ in range(3)], "order": [run(1.5) for _ in range(3)],
            "bitflip": [run(0.3) for _ in range(3)]}


def test_table_1s_reading_states_the_range_and_where_the_bit_change_sits():
    G = _fake_rows()
    P = SimpleNamespace(sources=("init", "order", "cudnn", "bitflip"))
    G["cudnn"] = None   # a row not run at this profile is left out
    rows = {s: instability.run_row(G[s]) for s in ("init", "order", "bitflip")}
    text = instability.table1_reading(P, G)["t1_reading"]
    sd = {s: 100 * r["acc_sd"] for s, r in rows.items()}
    assert f"from {min(sd.values()):.2f} pp" in text and f"to {max(sd.values()):.2f} pp" in text
    least = instability.least_diverse_metrics(rows)
    if least:
        assert "is the least diverse row on" in text
        assert all(instability.FUNCTION_METRICS[k] in text for k in least)
    else:
        assert "is not the least diverse row on any function metric" in text
    assert f"a new initialization disagrees on {100 * rows['init']['disagree']:.1f}%" in text


def test_figure_1s_reading_follows_the_intervals():
    e = lambda v, lo, hi: stats.Estimate(v, lo, hi)  # noqa: E731
    share = {n: dict(acc_sd=e(v, 0.5, 4), ce_sd=e(v / 10, 0.05, 0.4), disagree=e(40, 35, 45))
             for n, v in (("A", 1.0), ("B", 2.9))}
    P = SimpleNamespace(seeds=6)
    r = instability.sources_reading(P, {}, share)
    assert r["f1_k"] == "2"
    assert "the largest accuracy SD (B) is about three times the smallest (A)" in r["f1_reading"]
    assert "share a common value in every column" in r["f1_reading"]
    p = stats.chance_sd_spread(2, 6)
    assert f"spread by more than a factor of 2 in {p:.0%} of draws" in r["f1_reading"]
    apart = dict(share, C=dict(acc_sd=e(0.0, 0.0, 0.0), ce_sd=e(0.1, 0.05, 0.4),
                               disagree=e(80, 75, 85)))
    text = instability.sources_reading(P, {}, apart)["f1_reading"]
    assert "the smallest (C) zero" in text
    assert "in accuracy SD and disagreement one row's interval lies wholly above another's" in text


def test_say_picks_the_sentence_of_the_rows_verdict():
    T = claims.ClaimsTable("x", "cpu", "v")
    T.add("s", "Heads lose accuracy (mean head minus M = 1)", "< 0",
          stats.Estimate(-10.4, -12.0, -8.8, "t", 3, "runs"), claims.below(0), fmt="{:+.2f} pp")
    T.add("s", "Capacity helps", "> 0", stats.Estimate(-1.3, -4.5, 2.0, "t", 3, "runs"),
          claims.above(0), fmt="{:+.2f} pp")
    T.add("s", "Surplus capacity", "> 0", 1.0, claims.above(0), testable=False)
    texts = {claims.HOLDS: "they lose ({m}, {ci})", claims.DIFFERS: "they do not",
             claims.INCONCLUSIVE: "undecided ({m}, test {test})"}
    assert T.say("Heads lose", texts) == "they lose (-10.40 pp, -12.00 pp to -8.80 pp)"
    assert T.say("Capacity", texts) == "undecided (-1.30 pp, test > 0)"
    # a verdict without a text: the statement and its verdict
    assert T.say("Capacity", {}) == \
        "Capacity helps is inconclusive (-1.30 pp, interval -4.50 pp to +2.00 pp)"
    assert T.say("Surplus", texts) == "Surplus capacity is not testable at this profile"
    with pytest.raises(KeyError, match="no claims row"):
        T.find("Nothing like it")
    assert T.untested() is None
    S = claims.ClaimsTable("x", "smoke", "v")
    S.add("s", "Heads lose accuracy", "< 0", -1.0, claims.below(0))
    assert S.untested() == "Nothing is tested at profile `smoke`, which only checks that the chapter runs."



@pytest.mark.parametrize("chapter", ["04_mimo", "02_lottery_tickets", "01_loss_landscape"])
@pytest.mark.parametrize("verdict", ["holds", "differs", "inconclusive"])
def test_a_closing_section_has_a_sentence_for_every_verdict_of_every_row(chapter, verdict):
    """closing_reading at a profile where every row is tested (as at gpu): each row it reads is
    found by its prefix, and each verdict's sentence formats completely."""
    import importlib
    import inspect
    import re

    from helpers import config

    module = importlib.import_module({"04_mimo": "helpers.chapters.mimo",
                                      "02_lottery_tickets": "helpers.chapters.lottery",
                                      "01_loss_landscape": "helpers.chapters.loss_landscape"}[chapter])
    prefixes = re.findall(r'say\("([^"]+)"', inspect.getsource(module.closing_reading))
    prefixes += list(getattr(module, "SOURCE_FIGURES", ()))
    est = {"holds": stats.Estimate(2.0, 1.5, 2.5, "t", 3, "runs"),
           "differs": stats.Estimate(-2.0, -2.5, -1.5, "t", 3, "runs"),
           "inconclusive": stats.Estimate(0.1, -0.5, 0.7, "t", 3, "runs")}[verdict]
    T = claims.ClaimsTable(chapter, "gpu", "cifar10")
    for p in prefixes:
        T.add("source", f"{p}: a row", "1", est, claims.above(0), fmt="{:+.2f}")
    out = module.closing_reading(config.chapter_params(chapter, "gpu"), T)
    text = " ".join(out.values())
    assert "a row is " not in text, text   # no row fell back to "<statement> is <verdict>"
    assert "{m}" not in text and "{ci}" not in text and "{test}" not in text
    if chapter == "04_mimo":
        said = {"holds": "7 hold, 0 differ and 0 are", "differs": "0 hold, 7 differ and 0 are",
                "inconclusive": "0 hold, 0 differ and 7 are"}[verdict]
        assert f"Of the source's 7 ResNet20 figures, {said}" in out["close_source"]


def test_figure_3_says_about_as_many_inside_the_new_initializations_interval():
    from helpers import train
    spec = train.Spec(model="linear", dataset="synthetic", n_train=128, n_test=64, epochs=2,
                      batch_size=32).with_seed(1)
    G = {"bitflip": [SimpleNamespace(spec=spec.replace(perturb="bitflip:3:+1"))]}
    div = dict(epochs=np.array([0, 1, 2]), weight_dist=np.array([[1e-9, 1.0, 2.0]]),
               disagree=np.array([[0.0, 0.30, 0.3932]]))
    new = stats.Estimate(0.3928, 0.360, 0.426, "t", 5, "runs")
    text = instability.divergence_reading(G, div, new)["f3_reading"]
    assert "about as many as a run with a *new* initialization" in text
    assert "inside that interval" in text and "more than" not in text
    # outside the interval: more or fewer, and it says so
    assert instability.versus_new_init(0.45, new).startswith("more than")
    assert "outside that interval" in instability.versus_new_init(0.45, new)
    assert instability.versus_new_init(0.30, new).startswith("fewer than")
    # at the interval's ends: still inside
    assert instability.versus_new_init(0.360, new).startswith("about as many as")
    assert "more" not in instability.versus_new_init(0.5, stats.Estimate(0.4, None, None))


def test_the_introductions_numbers_come_from_the_presets_and_the_runs_r():
    from helpers import config, train
    r = instability.setup_reading(config.chapter_params("05_instability", "cpu"))
    assert "With R = 6 (this run's)" in r["sd_uncertainty"]
    assert "about 32%" in r["sd_uncertainty"] and "from 0.62 to 2.45 times" in r["sd_uncertainty"]
    assert r["control_runs"] == str(config.CHAPTERS["05_instability"]["cpu"]["control_runs"])
    gpu = config.CHAPTERS["05_instability"]["gpu"]
    steps = gpu["epochs"] * train.epoch_steps(train.Spec(batch_size=gpu["batch_size"]),
                                              gpu["n_train"])
    assert 480 <= steps <= 520 and "about 500 steps" in r["profile_gpu"]
    cpu = config.CHAPTERS["05_instability"]["cpu"]
    for text, Q in ((r["profile_gpu"], gpu), (r["profile_cpu"], cpu)):
        assert f"{Q['n_train']:,}-image subset for {Q['epochs']} epochs" in text
        assert f"batch {Q['batch_size']} and maximum learning rate {Q['lr']:g}" in text
        assert f"R = {Q['seeds']} runs" in text
        assert f"and {Q['sd_seeds']} in the new-initialization and bit-change rows" in text
    assert f"extended to {cpu['sd_seeds']} runs, their first 6" in r["sd_more"]
    assert "scaled linearly" in r["profile_gpu"] and "scaled linearly" not in r["profile_cpu"]
    lo, hi = instability.sd_factors(16)
    assert lo == pytest.approx(0.739, abs=0.002) and hi == pytest.approx(1.548, abs=0.002)


def test_figure_5s_caption_gives_the_onset_as_a_share_of_this_runs_training():
    G = _fake_rows()
    P = SimpleNamespace(epochs=8, seeds=3)
    r = instability.onset_reading(P, {0: G["init"], 1: G["order"]})
    assert r["f5_scale"] == ("our runs are 8 epochs long, the paper's 500, so N = 1 here is "
                             "already 12.5% of training")
    assert r["f5_why"].startswith("with 3 runs a point, an F test detects a ratio of two SDs "
                                  f"only beyond {stats.detectable_sd_ratio(3, 3):.1f}x")


def test_figure_4s_reading_reports_the_plotted_mean_and_the_farthest_run():
    ref = SimpleNamespace(weights=lambda epoch=None: np.ones(4))
    D = {m: {"reference": [ref]} for m in ("linear", "fc1")}
    lin = dict(epochs=np.array([0, 1, 2]), weight_dist=np.array([[1e-9, 2e-5, 1e-5],
                                                                 [1e-9, 8e-5, 3e-5]]),
               ce_gap=np.full((2, 3), 1e-8))
    fc1 = dict(lin, weight_dist=np.array([[1e-9, 1.0, 2.0], [1e-9, 1.0, 2.0]]),
               ce_gap=np.full((2, 3), 1e-3))
    text = instability.depth_divergence_reading(D, {"linear": lin, "fc1": fc1})["f4_reading"]
    assert "mean distance grows too, to 5e-05 at its largest (the farthest run: 8e-05)" in text
    assert "ends at 2e-05" in text


def test_the_closing_names_the_data_and_counts_checks_apart_from_claims():
    from helpers import config
    P = config.chapter_params("05_instability", "cpu")
    assert "images of the JPEG-compressed copy of CIFAR-10" in \
        instability.scale_reading(P, "cifar10-jpeg")["scale_reading"]
    assert "images of CIFAR-10 and" in instability.scale_reading(P, "cifar10")["scale_reading"]
    T = claims.ClaimsTable("05_instability", "cpu", "cifar10")
    T.add("s", "a claim", "1", 1.0, claims.above(0))
    T.check("s", "a check", "0", 0.0, claims.within(0, 0))
    T.check("s", "another", "0", 0.0, claims.within(0, 0))
    r = instability.closing_readings(P, T)
    assert r["claims_makeup"] == "3 rows: 1 claim and 2 checks"
    assert "of CIFAR-10" in r["scale_reading"]


def _presets_and_sentences(chapter, sentence):
    """A chapter's introduction readings, and (its parameters, its sentence) per profile."""
    from helpers import config
    r = prose.profile_readings(sentence)
    return r, [(config.chapter_params(chapter, p), r[f"profile_{p}"]) for p in ("cpu", "gpu")]


def test_chapter_01s_introduction_reads_its_presets():
    from helpers.chapters import loss_landscape as LL
    r, pairs = _presets_and_sentences("01_loss_landscape", LL.profile_sentence)
    for Q, text in pairs:
        assert f"for {Q.epochs} epochs, with {Q.seeds} independent runs" in text
        assert f"{Q.precision} for" in text and f"{Q.width_seeds} seeds each" in text
        assert f"train {Q.deep_epochs} epochs" in text
    assert r["profile_cpu"].startswith("SmallCNN trained on a 5,000-image subset")
    assert "all 50,000 training images with crops and flips" in r["profile_gpu"]
    assert "batch sizes 64, 128 and 1,024" in r["profile_gpu"]


def test_chapter_02s_introduction_reads_its_presets():
    from helpers.chapters import lottery
    r, pairs = _presets_and_sentences("02_lottery_tickets", lottery.profile_sentence)
    for Q, text in pairs:
        assert f"for {Q.epochs} epochs (" in text and f"; {Q.seeds} chains." in text
        assert f"in {Q.rounds} rounds of {Q.rate_conv:.0%} / {Q.rate_fc:.0%}" in text
        assert f"{(1 - Q.rate_fc) ** Q.rounds:.1%} of the fully-connected" in text
        assert f"in {Q.rn_rounds} rounds of {Q.rn_rate:.0%}" in text
    assert "a quarter of the paper's width trains on a 4,000-image subset" in r["profile_cpu"]
    assert "(528 iterations" in r["profile_cpu"] and "half its usual width" in r["profile_cpu"]
    assert "half the paper's width trains on all 50,000 training images" in r["profile_gpu"]


def test_chapter_04s_introduction_reads_its_presets():
    from helpers.chapters import mimo
    r, pairs = _presets_and_sentences("04_mimo", mimo.profile_sentence)
    for Q, text in pairs:
        assert f"{prose.plural(Q.seeds, 'seed')} of each network" in text
        assert f"({mimo.m1_seeds(Q)} of M = 1: the deep ensembles' members" in text
        assert f"in {Q.precision}: MIMO with M = 1, 2 and 3" in text
    assert r["profile_gpu"].startswith("ResNet20v1 at widths 1 and 2 on the full CIFAR-10")
    assert "naive control at width 1 only" in r["profile_gpu"]
    assert "class-balanced 4,000-image subset" in r["profile_cpu"]
    assert "naive control at every width" in r["profile_cpu"]


def test_chapter_03s_introduction_reads_its_presets():
    from helpers.chapters import modes
    r, pairs = _presets_and_sentences("03_modes", modes.profile_sentence)
    for Q, text in pairs:
        assert text.startswith(f"{Q.seeds} independent runs of")
        assert f"for {Q.epochs} epochs in {Q.precision}" in text
    assert "the rate multiplied by 0.5 every 5 epochs" in r["profile_cpu"]
    assert "SmallCNN (dropout 0.1) on all 50,000" in r["profile_cpu"]
    assert "2 warmup epochs then cosine decay" in r["profile_gpu"]
