"""helpers.pruning (masks, overlap, storage) and the trainer's mask / init_from hooks."""
import numpy as np
import pytest
import torch

from helpers import models, pruning, runs, train


@pytest.fixture(autouse=True)
def private_store(tmp_path, monkeypatch):
    monkeypatch.setenv("HELPERS_DATA_DIR", str(tmp_path / "data"))


def test_prunable_and_kinds_of_conv2():
    net = models.build("conv2", 0.125)
    kinds = pruning.layer_kinds(net)
    assert list(kinds.values()) == ["conv", "conv", "fc", "fc", "output"]
    assert all(net.get_parameter(n).dim() >= 2 for n in kinds)  # no bias is pruned
    assert pruning.density(pruning.full_mask(net)) == 1.0


def test_global_magnitude_mask_hand_case():
    w = {"a": torch.tensor([[0.1, -5.0], [3.0, 0.2]]), "b": torch.tensor([[-0.3, 4.0, 0.05]])}
    m = pruning.magnitude_mask(w, rate=0.4, scope="global")  # 7 weights: round(0.4 * 7) = 3 go
    assert m["a"].tolist() == [[False, True], [True, False]]
    assert m["b"].tolist() == [[True, True, False]]
    # the next round prunes 40% of the 4 survivors (2): the smallest survivors are -0.3 and 3.0
    m2 = pruning.magnitude_mask(w, m, rate=0.4, scope="global")
    assert m2["a"].tolist() == [[False, True], [False, False]] and m2["b"].tolist() == [[False, True, False]]


def test_layerwise_rates_by_kind_and_ties_broken_by_position():
    w = {"conv.weight": torch.ones(2, 1, 1, 5), "fc.weight": torch.arange(10.0).view(2, 5),
         "out.weight": torch.arange(4.0).view(2, 2)}
    m = pruning.magnitude_mask(w, rate=dict(conv=0.2, fc=0.5, output=0.5), scope="layer")
    assert int(m["conv.weight"].sum()) == 8 and not m["conv.weight"].flatten()[:2].any()  # ties: first go
    assert m["fc.weight"].flatten().tolist() == [False] * 5 + [True] * 5
    assert m["out.weight"].flatten().tolist() == [False, False, True, True]
    with pytest.raises(ValueError, match="rate"):
        pruning.magnitude_mask(w, rate=dict(conv=0.2), scope="layer")


def test_random_mask_keeps_per_layer_counts_and_overlap_statistics():
    a = {"x": torch.rand(200, 50) < 0.3, "y": torch.rand(100, 10) < 0.8}
    r = pruning.random_mask_like(a, seed=1)
    assert all(int(r[n].sum()) == int(a[n].sum()) for n in a)
    assert pruning.overlap(a, a) == 1.0 and pruning.jaccard(a, a) == 1.0
    # two random masks overlap as the formula says (within sampling noise)
    r2 = pruning.random_mask_like(a, seed=2)
    assert pruning.overlap(r, r2) == pytest.approx(pruning.expected_random_overlap(a), abs=0.02)
    # hand case: one layer of 4 weights, 2 kept in each: expected |a∩b|/|a| = 2*2/4/2 = 0.5
    h = {"z": torch.tensor([True, True, False, False])}
    assert pruning.expected_random_overlap(h) == 0.5
    assert pruning.overlap(h, {"z": torch.tensor([True, False, True, False])}) == 0.5
    assert pruning.jaccard(h, {"z": torch.tensor([True, False, True, False])}) == pytest.approx(1 / 3)


def test_the_runs_cache_stores_tensors_by_content_checks_them_and_recovers(capsys):
    m = {"w": torch.tensor([True, False])}
    k1 = runs.store(m)
    assert runs.store({"w": torch.tensor([True, False])}) == k1
    assert runs.store({"w": torch.tensor([False, True])}) != k1
    assert torch.equal(runs.stored(k1)["w"], m["w"]) and train.stored(k1).keys() == m.keys()
    path = runs.tensors_dir() / f"{k1}.pt"
    torch.save({"w": torch.tensor([False, False])}, path)       # damaged on disk
    with pytest.raises(ValueError, match=r"corrupt .*moved to .*_corrupt.*rerun the chapter") as err:
        runs.stored(k1)
    assert "\n" not in str(err.value) and not path.exists()      # moved aside, nothing deleted
    assert list((runs.runs_dir() / "_corrupt").glob(f"{k1}.pt-*"))
    torch.save({"w": torch.tensor([False, False])}, path)       # damaged again: storing recovers
    assert runs.store(m) == k1 and torch.equal(runs.stored(k1)["w"], m["w"])
    assert "written again" in capsys.readouterr().err
    with pytest.raises(ValueError, match="no stored tensors"):
        runs.stored("0" * 20)


def test_rounds_to():
    assert pruning.rounds_to(0.05, 0.2) == 14 and pruning.rounds_to(0.5, 0.5) == 1


BASE = train.Spec(model="conv2", width=0.125, dataset="synthetic", n_train=128, n_test=32, epochs=2,
                  batch_size=32, optimizer="sgd", lr=0.05, momentum=0.9, weight_decay=5e-4, save_epochs=(0, 1))


def test_new_spec_fields_keep_old_cache_keys():
    assert runs.spec_key(train.Spec(), "x") == runs.spec_key(train.Spec(mask="", init_from=""), "x")
    assert runs.spec_key(train.Spec(mask="ab"), "x") != runs.spec_key(train.Spec(), "x")


@pytest.mark.parametrize("mode", ["loop", "vmap"])
def test_pruned_weights_stay_exactly_zero_and_reset_gives_masked_init(mode):
    net = train.init_model(BASE.with_seed(1))
    mask = pruning.magnitude_mask({n: p for n, p in net.named_parameters() if p.dim() >= 2},
                                  rate=0.7, scope="global")
    key = runs.store(mask)
    specs = [BASE.with_seed(1).replace(mask=key), BASE.with_seed(2)]
    out = train.fit(specs, mode=mode)
    init = net.state_dict()
    s0, s2 = out[0].states[0], out[0].states[2]
    for n, m in mask.items():
        assert torch.equal(s0[n], init[n] * m)               # reset: the masked original init
        assert torch.all(s2[n][~m] == 0)                      # pruned weights exactly zero after training
        assert torch.count_nonzero(s2[n][m]) == int(m.sum())  # survivors trained (none stuck at zero)
        assert not torch.equal(s2[n][m], s0[n][m])
    dense = out[1].states[2]
    assert all(torch.count_nonzero(dense[n]) == dense[n].numel() for n in mask)  # the other model: unmasked


def test_init_from_rewinds_to_a_stored_state():
    first = train.fit([BASE.with_seed(1)])[0]
    key = runs.store(first.states[1])
    net = train.init_model(BASE.with_seed(5).replace(init_from=key))
    assert all(torch.equal(net.state_dict()[n], t) for n, t in first.states[1].items())
    mask = {n: torch.rand(t.shape, generator=torch.Generator().manual_seed(0)) < 0.5
            for n, t in first.states[1].items() if t.dim() >= 2}
    rewound = train.init_model(BASE.with_seed(5).replace(init_from=key, mask=runs.store(mask)))
    for n, m in mask.items():
        assert torch.equal(rewound.state_dict()[n], first.states[1][n] * m)
    assert np.isfinite(train.fit([BASE.with_seed(5).replace(init_from=key)])[0].log[-1]["train_loss"])
