"""MIMO (chapter 04): the wrapper, the trainer's input/label layout, the cache and the analyses."""
import types

import numpy as np
import pytest
import scipy.stats as st
import torch

from helpers import config, models, runs, stats, train

from helpers.chapters import mimo

TINY = train.Spec(model="smallcnn", dataset="synthetic", n_train=128, n_test=32, epochs=2, batch_size=32,
                  optimizer="adam", lr=2e-3, augment=True).with_seed(1)


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    monkeypatch.setenv("HELPERS_DATA_DIR", str(tmp_path))


def states_equal(a, b):
    return a.keys() == b.keys() and all(torch.equal(a[n], b[n]) for n in a)


# --------------------------------------------------------------------------------------------
# the wrapper


@pytest.mark.parametrize("model", ["smallcnn", "resnet8"])
def test_mimo_network_shapes_and_test_time_repetition(model):
    torch.manual_seed(0)
    net = models.build_mimo(model, 3, width=0.5).eval()
    x = torch.randn(4, 3, 3, 32, 32)
    assert net(x).shape == (4, 3, 10)
    assert torch.equal(net(x), net(x.flatten(1, 2)))            # (B, M, 3, H, W) == stacked channels
    one = torch.randn(4, 3, 32, 32)                              # test: the same image in every slot
    assert torch.allclose(net(one), net(one.unsqueeze(1).expand(4, 3, 3, 32, 32)))
    first = next(net.parameters())
    assert first.shape[1] == 9                                   # 3M input channels


def test_naive_network_has_one_input_and_m_heads():
    net = models.build_mimo("smallcnn", 3, naive=True).eval()
    assert next(net.parameters()).shape[1] == 3
    assert net(torch.randn(2, 3, 32, 32)).shape == (2, 3, 10)
    with pytest.raises(ValueError, match="one image"):
        net(torch.randn(2, 3, 3, 32, 32))


def test_one_member_is_the_ordinary_network_with_the_same_draws():
    torch.manual_seed(5)
    plain = models.build("smallcnn", 1)
    torch.manual_seed(5)
    wrapped = models.build_mimo("smallcnn", 1)
    assert states_equal(plain.state_dict(), wrapped.net.state_dict())
    with pytest.raises(ValueError, match="convolutional"):
        models.build_mimo("linear", 2)


# --------------------------------------------------------------------------------------------
# the trainer


def test_positions_rho_zero_pairs_each_member_with_a_permutation_of_the_tiled_batch():
    spec = TINY.replace(mimo=3, mimo_batch_rep=2)
    pos = train.mimo_positions(5, 8, spec, torch.Generator().manual_seed(0))
    assert pos.shape == (5, 3, 16)
    for s in range(5):
        for m in range(3):  # every example of the batch twice per member
            assert torch.equal(torch.bincount(pos[s, m], minlength=8), torch.full((8,), 2))
        assert not torch.equal(pos[s, 1], pos[s, 2])


def test_positions_rho_one_gives_every_member_the_same_images():
    spec = TINY.replace(mimo=3, mimo_rho=1.0)
    pos = train.mimo_positions(4, 8, spec, torch.Generator().manual_seed(0))
    assert all(torch.equal(pos[:, 0], pos[:, m]) for m in range(3))
    half = train.mimo_positions(4, 8, TINY.replace(mimo=2, mimo_rho=0.5), torch.Generator().manual_seed(0))
    assert torch.equal(half[:, 0, 4:], half[:, 1, 4:])            # the last rho share is shared
    assert train.mimo_positions(4, 8, TINY, torch.Generator()) is None


def test_rho_one_feeds_identical_inputs_to_all_heads_during_training(monkeypatch):
    seen = []
    real = models.MIMO.forward

    def forward(self, x):
        if self.training:
            seen.append(x.detach().clone())
        return real(self, x)

    monkeypatch.setattr(models.MIMO, "forward", forward)
    train.fit([TINY.replace(mimo=3, mimo_rho=1.0, epochs=1)])
    assert seen and all(x.shape[1] == 9 for x in seen)
    assert all(torch.equal(x[:, 0:3], x[:, 3:6]) and torch.equal(x[:, 0:3], x[:, 6:9]) for x in seen)
    seen.clear()
    train.fit([TINY.replace(mimo=3, epochs=1)])                  # rho = 0: different images
    assert not torch.equal(seen[0][:, 0:3], seen[0][:, 3:6])


def test_mimo_one_trains_exactly_like_the_ordinary_network():
    plain = train.fit([TINY])[0]
    one = train.fit([TINY.replace(mimo=1)])[0]
    assert one.logits[2].shape == (32, 1, 10)
    assert np.array_equal(plain.logits[2], one.logits[2][:, 0])


def test_mimo_training_is_deterministic_and_has_per_head_logits():
    spec = TINY.replace(mimo=2, mimo_batch_rep=2)
    a, b = train.fit([spec]), train.fit([spec])
    assert a[0].logits[2].shape == (32, 2, 10)
    assert states_equal(a[0].states[2], b[0].states[2])
    other = train.fit([spec.with_seed(2)])[0]
    assert not states_equal(a[0].states[2], other.states[2])
    naive = train.fit([TINY.replace(mimo=3, mimo_naive=True)])[0]
    assert naive.logits[2].shape == (32, 3, 10)


def test_batch_repetition_keeps_the_step_size_and_multiplies_the_steps(monkeypatch):
    shapes = []
    real = models.MIMO.forward
    monkeypatch.setattr(models.MIMO, "forward", lambda self, x: (shapes.append(tuple(x.shape)) if self.training else None)
                        or real(self, x))
    train.fit([TINY.replace(mimo=2, mimo_batch_rep=2, epochs=1)])
    assert len(shapes) == 128 // 16 and all(s[0] == 32 for s in shapes)


@pytest.mark.parametrize("bad", [dict(mimo_rho=0.5), dict(mimo=2, mimo_rho=1.5), dict(mimo=2, mimo_batch_rep=0),
                                 dict(mimo=2, mimo_naive=True, mimo_batch_rep=2), dict(mimo=-1)])
def test_bad_mimo_specs_are_refused(bad):
    with pytest.raises(ValueError, match="mimo"):
        train.validate(TINY.replace(**bad))


def test_cached_mimo_run_averages_heads_and_keeps_them():
    run = runs.get([TINY.replace(mimo=2)], progress=False)[0]
    heads = run.head_probs()
    assert heads.shape == (2, 32, 10)
    assert np.allclose(run.probs(), heads.mean(0))
    assert run.accuracy == pytest.approx(float((heads.mean(0).argmax(1) == run.labels).mean()))
    assert run.model()(torch.randn(1, 3, 32, 32)).shape == (1, 2, 10)
    plain = runs.get([TINY], progress=False)[0]
    assert plain.head_probs().shape == (1, 32, 10) and plain.probs().shape == (32, 10)


# --------------------------------------------------------------------------------------------
# the analyses


def onehot(pred, C=4):
    return np.eye(C)[pred]


def test_head_disagreement_by_hand():
    heads = np.stack([onehot([0, 1, 2, 3]), onehot([0, 1, 2, 0]), onehot([0, 0, 2, 3])])
    # pairs: (0,1) 1/4, (0,2) 1/4, (1,2) 2/4
    assert mimo.head_disagreement(heads) == pytest.approx(1 / 3)
    assert mimo.head_disagreement(heads[:1]) == 0.0


def test_summary_by_hand():
    labels = np.array([0, 1, 2, 3])
    a = np.array([[.6, .4, 0, 0], [.1, .9, 0, 0], [.5, 0, .5 - 1e-9, 1e-9], [0, 0, .4, .6]])
    b = np.array([[.6, .4, 0, 0], [.7, .3, 0, 0], [0, 0, 1, 0], [0, 0, .6, .4]])
    s = mimo.summary(np.stack([a, b]), labels)
    assert s["head_acc"] == [0.75, 0.5]
    # average: [.6,.4], [.4,.6], [.25, 0, .75, 0], [0, 0, .5, .5] -> 0, 1, 2 right; the tie at 3 goes to class 2
    assert s["acc"] == 0.75
    assert s["gain"] == pytest.approx(0.75 - 0.625)
    assert s["d_dis"] == pytest.approx(0.75)


def fake_run(spec, head_probs, labels, seconds):
    return types.SimpleNamespace(spec=spec, head_probs=lambda: head_probs, probs=lambda: head_probs.mean(0),
                                 labels=labels, meta={"seconds": seconds})


def test_rows_cost_and_deep_ensemble():
    P = config.chapter_params("04_mimo", "smoke", widths=(1,), members=(1, 2), ensemble_size=2)
    labels = np.array([0, 1])
    p = lambda *preds: np.stack([onehot(list(q), 2) for q in preds])  # noqa: E731
    R = {(1, "M=1"): (fake_run(mimo.mimo_spec(P, 1, 1), p([0, 1]), labels, 10.0),
                      fake_run(mimo.mimo_spec(P, 1, 1, seed=2), p([0, 0]), labels, 12.0)),
         (1, "M=2"): (fake_run(mimo.mimo_spec(P, 1, 2), p([0, 1], [1, 1]), labels, 11.0),),
         (1, "naive"): (fake_run(mimo.naive_spec(P, 1), p([0, 1], [0, 1], [0, 1]), labels, 9.0),)}
    rows = mimo.rows(P, R)
    assert [r["name"] for r in rows] == ["MIMO M=1", "MIMO M=2", "naive M=3", "deep ensemble of 2"]
    ens = mimo.pick(rows, 1, "deep ensemble of 2")
    assert ens["passes"] == 2 and ens["seconds"] == 22.0
    assert ens["train_images"] == 2 * mimo.pick(rows, 1, "MIMO M=1")["train_images"] == 2 * P.epochs * 512 * 2
    assert ens["params"] == 2 * mimo.pick(rows, 1, "MIMO M=1")["params"]
    assert ens["d_dis"] == 0.5 and mimo.pick(rows, 1, "naive M=3")["d_dis"] == 0.0
    assert mimo.pick(rows, 1, "MIMO M=2")["params"] > mimo.pick(rows, 1, "MIMO M=1")["params"]
    assert "deep ensemble of 2" in repr(mimo.table(rows))


def test_chapter_presets_resolve_at_every_profile():
    for profile in ("smoke", "cpu", "gpu"):
        P = config.chapter_params("04_mimo", profile)
        specs = mimo.chapter_specs(P)
        assert len(specs) == len(P.widths) * len(P.members) + len(mimo.naive_widths(P))
        for group in specs.values():
            for s in group:
                train.validate(s)
    assert config.chapter_params("04_mimo", "gpu").model == "resnet20"


def test_the_naive_control_trains_at_its_widths_only():
    """naive_widths: every width by default (cpu); at gpu width 1 only, where the claims read it;
    a width outside widths, or one without ref_width, is refused in one line."""
    cpu = config.chapter_params("04_mimo", "cpu")
    assert mimo.naive_widths(cpu) == tuple(cpu.widths)
    gpu = config.chapter_params("04_mimo", "gpu")
    specs = mimo.chapter_specs(gpu)
    assert [w for w, n in specs if n == "naive"] == [1] and mimo.naive_widths(gpu) == (1,)
    for bad in ((2,), (1, 4)):
        with pytest.raises(config.ConfigError, match="naive_widths"):
            mimo.chapter_specs(config.chapter_params("04_mimo", "gpu", naive_widths=bad))
    with pytest.raises(config.ConfigError, match="ref_width 3 is not among widths"):
        mimo.naive_widths(config.chapter_params("04_mimo", "gpu", ref_width=3))


def _fake_rows():
    rng = np.random.default_rng(0)
    rows = []
    for w, params in ((0.5, 100), (1, 300)):
        for name, kind, m in (("MIMO M=1", "mimo", 1), ("MIMO M=2", "mimo", 2),
                              ("naive M=3", "naive", 3), ("deep ensemble of 2", "ensemble", 2)):
            rows.append(dict(width=w, name=name, kind=kind, M=m,
                             head_acc=list(rng.uniform(.5, .7, m)), acc=rng.uniform(.5, .7),
                             d_dis=rng.uniform(0, .3), params=params * m, seconds=10.0 * m,
                             train_images=1000 * m, passes=m if kind == "ensemble" else 1))
    return rows


def test_figures_have_titles_labels_and_legends():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from helpers import plots

    rows = _fake_rows()
    figs = [plots.mimo.heads(rows, 1), plots.mimo.capacity(rows, (0.5, 1), band=1.0),
            plots.mimo.cost(rows)]
    assert all(isinstance(f, matplotlib.figure.Figure) for f in figs)
    axes = [figs[0].axes[0], *figs[1].axes[:2], figs[2].axes[0]]
    for ax in axes:
        assert ax.get_title() and ax.get_xlabel() and ax.get_ylabel()
    assert all(axes[i].get_legend() is not None for i in (0, 1, 3))
    assert len(axes[1].get_lines()) >= 3  # one line per model besides M = 1, plus the zero line
    # a model trained at one width only (the naive control at gpu) is a single point there
    some = [r for r in rows if not (r["name"].startswith("naive") and r["width"] == 0.5)]
    fig = plots.mimo.capacity(some, (0.5, 1))
    naive = [c for c in fig.axes[0].containers if c.get_label().startswith("naive")]
    assert len(naive) == 1 and len(naive[0].lines[0].get_xdata()) == 1
    assert figs[1].axes[1].get_legend() is not None   # the right panel has its own legend
    plt.close("all")


def test_the_printed_sentences_follow_the_rows():
    import types

    rows = _fake_rows()
    P = types.SimpleNamespace(widths=(0.5, 1), members=(1, 2))
    heads = mimo.heads_text(rows, 1).splitlines()
    assert len(heads) == 4 and heads[0].strip().startswith("MIMO M=1 (1 run): heads")
    assert heads[3].strip().startswith("deep ensemble of 2 (1 ensemble): heads")
    cap = mimo.capacity_text(P, rows).splitlines()
    assert [c.split(":")[0] for c in cap] == ["width 0.5", "width 1"]
    gain = 100 * (mimo.pick(rows, 1, "MIMO M=2")["acc"] - mimo.pick(rows, 1, "MIMO M=1")["acc"])
    assert f"MIMO M=2 {gain:+.2f} pp" in cap[1]
    cost = mimo.cost_text(P, rows).splitlines()
    assert len(cost) == 2 and "deep ensemble 2x, 2x (20 s), 2 passes" in cost[1]


def test_an_ensemble_smaller_than_the_largest_M_is_refused_in_one_line():
    from helpers import config
    from helpers.chapters import mimo

    P = config.chapter_params("04_mimo", "smoke", members=(1, 2, 3), ensemble_size=2)
    with pytest.raises(config.ConfigError, match="set ensemble_size >= 3"):
        mimo.chapter_specs(P)



# --------------------------------------------------------------------------------------------
# the claims under the seed rule, and the sentences computed from the runs


def _chapter_runs(P, n=3000, seed=0):
    """Fake runs for every group of ``P``: M = 1 seeds that mostly agree, MIMO heads that
    disagree more and are less accurate, naive heads that nearly agree."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, n)

    def preds(acc):  # predictions right with probability ``acc``, else a random class
        return np.where(rng.random(n) < acc, labels, rng.integers(0, 10, n))

    def probs(*ps):
        return np.stack([0.91 * np.eye(10)[p] + 0.009 for p in ps])

    def run(spec, heads):
        return types.SimpleNamespace(spec=spec, head_probs=lambda h=heads: h,
                                     probs=lambda h=heads: h.mean(0), labels=labels,
                                     meta={"seconds": 1.0}, variant="synthetic")
    R = {}
    for w in P.widths:
        base = preds(0.8)
        R[(w, "M=1")] = tuple(run(mimo.mimo_spec(P, w, 1, s),
                                  probs(np.where(rng.random(n) < 0.9, base, preds(0.8))))
                              for s in range(1, 1 + mimo.m1_seeds(P)))
        seeds = range(1, 1 + P.seeds)
        for m in (2, 3):
            R[(w, f"M={m}")] = tuple(run(mimo.mimo_spec(P, w, m, s),
                                         probs(*[preds(0.7 - 0.1 * m) for _ in range(m)]))
                                     for s in seeds)
        near = [np.where(rng.random(n) < 0.9, base, preds(0.8)) for _ in seeds]
        R[(w, "naive")] = tuple(run(mimo.naive_spec(P, w, s), probs(b, b, preds(0.8)))
                                for s, b in zip(seeds, near))
    return R


def test_the_claims_read_means_over_seeds_and_decide_over_runs(monkeypatch):
    P = config.chapter_params("04_mimo", "cpu", widths=(0.5, 1), seeds=3)
    R = _chapter_runs(P)
    monkeypatch.setattr(mimo, "experiment", lambda P: (P, R))
    T = mimo.claims_table.uncached(P)
    for r in T.rows:   # every decided row has its interval over runs or seeds
        if r.verdict in ("holds", "differs") and not r.is_check:
            assert r.units >= 2 and ("runs" in r.uncertainty or "seeds" in r.uncertainty)
    div = T.find("M = 2 finds real diversity")
    ratios = mimo.run_ratios(mimo.rows(P, R), 1, "MIMO M=2", "deep ensemble of 2")
    assert len(ratios) == P.seeds and div.measured == pytest.approx(np.mean(ratios))
    assert div.verdict == "holds" and "t interval over 3 seeds" in div.uncertainty
    lose = T.find("M = 2: the heads lose accuracy")
    assert lose.verdict == "holds" and lose.uncertainty == "Welch t interval, 3 and 6 runs"
    rows = mimo.rows(P, R)
    m1, m2 = mimo.pick(rows, 1, "MIMO M=1"), mimo.pick(rows, 1, "MIMO M=2")
    assert lose.measured == pytest.approx(100 * (m2["head_acc_mean"] - m1["acc"]))
    want = stats.diff_t([100 * r["head_acc_mean"] for r in m2["runs"]],
                        [100 * r["acc"] for r in m1["runs"]])
    assert lose.interval == pytest.approx([want.lo, want.hi])
    cap = T.find("The gains need capacity")
    assert cap.uncertainty == "Welch t interval, 3, 6, 3 and 6 runs"
    assert div.source == "seed 000 §3-4"
    gold = T.find("Deep ensembles remain")
    assert "uncertainty estimation" in gold.expected and "NLL" in gold.note and "ECE" in gold.note
    assert "2 deep ensembles of 3" in gold.note and gold.measured_text.endswith("nats")
    m3, de3 = mimo.pick(rows, 1, "MIMO M=3"), mimo.pick(rows, 1, "deep ensemble of 3")
    assert gold.measured == pytest.approx(m3["nll"] - de3["nll"])
    out = mimo.closing_reading(P, T, R)
    assert "disagree more than two independently trained networks" in out["close_mechanism"]
    assert "Its heads are also less accurate than those M = 1 networks" in out["close_mechanism"]
    assert "the M = 3 ensemble falls below the M = 1 network (" in out["close_price"]
    assert "At every width MIMO's averaged prediction is below" in out["close_capacity"]
    assert "NLL" in out["close_cost"] and out["close_scale"] == mimo.scale_sentence()
    assert not any(k in " ".join(out.values()) for k in ("{m}", "{ci}", "{test}"))
    said = " ".join(mimo.detectable_sentences(P, R))
    assert "pooled over the 8 MIMO and naive networks" in said and "Bartlett" in said


def test_with_one_seed_a_network_the_ratio_rows_stay_inconclusive(monkeypatch):
    P = config.chapter_params("04_mimo", "cpu", widths=(0.5, 1), seeds=1)
    R = _chapter_runs(P)
    assert len(R[(1, "M=1")]) == 3 and len(R[(1, "M=2")]) == 1
    monkeypatch.setattr(mimo, "experiment", lambda P: (P, R))
    T = mimo.claims_table.uncached(P)
    div = T.find("M = 2 finds real diversity")
    assert div.verdict == "inconclusive" and "kept inconclusive" in div.note
    # a single network has no spread of its own to compare with
    assert T.find("M = 3 breaks").verdict == "inconclusive"


def test_the_deep_ensembles_are_disjoint_blocks_of_m1_runs():
    assert mimo.ensemble_blocks(list(range(6)), 2) == [[0, 1], [2, 3], [4, 5]]
    assert mimo.ensemble_blocks(list(range(6)), 3) == [[0, 1, 2], [3, 4, 5]]
    assert mimo.ensemble_blocks(list(range(4)), 3) == [[0, 1, 2]]
    for profile, m1 in (("cpu", 16), ("gpu", 6), ("smoke", 4)):
        P = config.chapter_params("04_mimo", profile)
        assert mimo.m1_seeds(P) == m1 and len(mimo.chapter_specs(P)[(P.ref_width, "M=1")]) == m1


def _rows_with(gains, base=0.5):
    """Rows at widths 0.5 and 1 whose MIMO M = 2 and 3 gain ``gains[(w, m)]`` (pp) over M = 1."""
    rows = []
    for w in (0.5, 1):
        rows.append(dict(width=w, name="MIMO M=1", acc=base))
        for m in (2, 3):
            rows.append(dict(width=w, name=f"MIMO M={m}", acc=base + gains[(w, m)] / 100))
    return rows


def test_capacity_sign_says_the_sign_at_every_width_and_against_the_seed_band():
    P = types.SimpleNamespace(widths=(0.5, 1), members=(1, 2, 3))
    below = _rows_with({(0.5, 2): -5.0, (0.5, 3): -8.0, (1, 2): -9.0, (1, 3): -13.0})
    text = mimo.capacity_sign(P, below, band=2.3)
    assert text.startswith("At every width MIMO's averaged prediction is below its M = 1 "
                           "network's, for M = 2 and 3 alike (-13.00 to -5.00 pp")
    assert "every one of these gaps is wider than the ±2.30 pp" in text
    above = _rows_with({(0.5, 2): 1.0, (0.5, 3): 0.5, (1, 2): 2.5, (1, 3): 3.0})
    text = mimo.capacity_sign(P, above, band=2.3)
    assert "is above its M = 1 network's" in text and "2 of these 4 gaps are wider" in text
    assert "1 of these 4 gaps is wider" in mimo.capacity_sign(P, above, band=2.7)
    mixed = _rows_with({(0.5, 2): -1.0, (0.5, 3): -0.5, (1, 2): 0.4, (1, 3): -3.0})
    text = mimo.capacity_sign(P, mixed)
    assert "above its M = 1 network's only for M = 2 at width 1 (+0.40 pp)" in text
    assert "other 3 of the 4 MIMO networks" in text and text.endswith("means over runs).")
    assert "none of these gaps" in mimo.capacity_sign(P, mixed, band=5.0)


def test_heads_against_seeds_and_the_uncertainty_sentence_follow_the_rows():
    P = types.SimpleNamespace(widths=(1,), members=(1, 2, 3), ref_width=1)
    rows = [dict(width=1, name="MIMO M=2", head_acc_mean=0.40),
            dict(width=1, name="deep ensemble of 2", head_acc_mean=0.48),
            dict(width=1, name="MIMO M=3", nll=1.9, ece=0.05, acc=0.40),
            dict(width=1, name="deep ensemble of 3", nll=1.4, ece=0.08, acc=0.45),
            dict(width=1, name="MIMO M=1", ece=0.03, acc=0.48)]
    text = mimo.heads_against_seeds(P, rows)
    assert "less accurate than those M = 1 networks (40.00 % against 48.00 %" in text
    assert "-8.00 pp" in text and "disagree more" in text
    rows[0]["head_acc_mean"] = 0.5
    assert "at least as accurate" in mimo.heads_against_seeds(P, rows)
    text = mimo.uncertainty_sentence(P, rows)
    assert "the deep ensemble of 3 is +5.00 pp against MIMO M = 3" in text
    assert ("it is at 8.00 %, MIMO M = 3 at 5.00 % and a single M = 1 network at 3.00 %, so "
            "the single M = 1 network is the best calibrated") in text
    rows[-1]["ece"] = 0.09
    assert "so MIMO M = 3 is the best calibrated" in mimo.uncertainty_sentence(P, rows)


def test_the_scale_sentence_reads_the_presets():
    text = mimo.scale_sentence()
    gpu, cpu = (config.chapter_params("04_mimo", p) for p in ("gpu", "cpu"))
    steps = gpu.epochs * train.epoch_steps(mimo.mimo_spec(gpu, 1, 2), 50_000)
    assert (f"the `gpu` profile for {gpu.epochs} epochs with batch repetition {gpu.batch_rep} on "
            f"50,000 images ({steps:,} steps, {gpu.epochs * gpu.batch_rep} passes") in text
    assert f"the `cpu` profile trains a network for {cpu.epochs} epochs" in text
    assert text.endswith(f"against their {mimo.HAVASI_EPOCHS * mimo.HAVASI_BATCH_REP:,} passes.")


def test_the_spread_sentence_gives_the_band_of_a_difference_of_means():
    P = config.chapter_params("04_mimo", "cpu", widths=(0.5, 1), seeds=3)
    R = _chapter_runs(P)
    band = mimo.difference_band(P, R)
    sd, df = mimo.seed_spread(P, R)
    assert band == pytest.approx(st.t.ppf(0.975, df) * sd * np.sqrt(1 / 3 + 1 / 6))
    text = mimo.spread_sentence(P, R)
    assert text.startswith("Every point is a mean over 3 runs of its network (seeds 1 to 3; the "
                           "M = 1 network's over 6, seeds 1 to 6;")
    assert "the band does not apply to it" in text
    assert f"±{band:.2f} pp" in text
    one = {k: v[:1] for k, v in R.items()}
    assert "with one run of each network nothing here" in mimo.spread_sentence(P, one)


def test_figure_1_has_no_bars_from_an_axis_that_does_not_start_at_zero():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from helpers import plots

    ax = plots.mimo.heads(_fake_rows(), 1, band=1.5).axes[0]
    assert not ax.containers                         # no bar containers
    assert any("other seeds" in t.get_text() for t in ax.get_legend().get_texts())
    plt.close("all")


def test_figure_3_labels_do_not_overprint_and_every_compute_has_a_tick():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from helpers import plots
    from helpers.plots.mimo import _label_sides

    assert _label_sides([(1, 50.0), (1, 50.05), (1, 40.0), (2, 50.0)], 0.5) == [1, -1, 1, 1]
    rows = _fake_rows()
    ax = plots.mimo.cost(rows).axes[0]
    computes = sorted({r["train_images"] for r in rows})
    assert list(ax.get_xticks()) == computes
    assert [t.get_text() for t in ax.get_xticklabels()] == [f"{c / 1000:,.0f}k" for c in computes]
    assert any("(M passes)" in t.get_text() for t in ax.get_legend().get_texts())
    rows[1]["acc"] = rows[0]["acc"] + 1e-4      # MIMO M=1 and M=2 at one point: one label a side
    ax = plots.mimo.cost(rows).axes[0]
    ys = [t.xy[1] for t in ax.texts]
    gap = 0.035 * (max(ys) - min(ys))
    sides = {}
    for t in ax.texts:
        sides.setdefault((t.xy[0], t.get_position()[0] > 0), []).append(t.xy[1])
    assert all(b - a >= gap for v in sides.values() for a, b in zip(sorted(v), sorted(v)[1:]))
    close = [dict(r, train_images=x) for r, x in zip(rows[:3], (512, 1024, 2048))]
    ax = plots.mimo.cost(close).axes[0]        # 0.5k, 1.0k, 2.0k: not "1k" twice
    assert [t.get_text() for t in ax.get_xticklabels()] == ["0.5k", "1.0k", "2.0k"]
    plt.close("all")
