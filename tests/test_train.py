"""helpers.train: determinism, training together, and one source of randomness at a time."""
import numpy as np
import pytest
import torch

from helpers import data, models, train

BASE = train.Spec(model="smallcnn", dataset="synthetic", n_train=256, n_test=64, epochs=2, batch_size=64,
                  optimizer="adam", lr=2e-3, dropout=0.2, augment=True, save_epochs=(0, 1))


def states_equal(a, b):
    return a.keys() == b.keys() and all(torch.equal(a[n], b[n]) for n in a)


def test_identical_specs_give_bitwise_identical_weights_together_and_alone():
    together = train.fit([BASE.with_seed(3), BASE.with_seed(3), BASE.with_seed(4)], mode="loop")
    alone = train.fit([BASE.with_seed(3)], mode="loop")
    assert states_equal(together[0].states[2], together[1].states[2])
    assert states_equal(together[0].states[2], alone[0].states[2])
    assert np.array_equal(together[0].logits[2], alone[0].logits[2])
    assert not states_equal(together[0].states[2], together[2].states[2])


def test_vmap_and_loop_agree_within_tolerance():
    # a few small steps: past that, chaotic training amplifies float rounding (chapter 05)
    spec = BASE.replace(dropout=0.0, epochs=1, n_train=128, lr=1e-4, optimizer="sgd", momentum=0.0)
    v = train.fit([spec.with_seed(1), spec.with_seed(2)], mode="vmap")
    loop = train.fit([spec.with_seed(2)], mode="loop")
    for name, t in v[1].states[1].items():
        assert torch.allclose(t, loop[0].states[1][name], atol=1e-5, rtol=1e-4), name
    # on a GPU, cuDNN convolutions run in TF32 (10-bit mantissa): a looser tolerance there
    assert np.allclose(v[1].logits[1], loop[0].logits[1], atol=1e-4 if v[1].device == "cpu" else 2e-3)


def test_vmap_refuses_dropout_it_cannot_seed_per_model():
    with pytest.raises(ValueError, match="loop"):
        train.fit([BASE.with_seed(1), BASE.with_seed(2)], mode="vmap")


def test_specs_that_differ_in_more_than_seeds_do_not_train_together():
    with pytest.raises(ValueError, match="seeds"):
        train.fit([BASE, BASE.replace(lr=0.1)])


def record_randomness(monkeypatch):
    """Record, per training step, the batch indices, crop/flip draws and dropout masks."""
    log = {"order": [], "aug": [], "dropout": []}
    real_order, real_aug = data.batch_order, data.draw_crop_flip

    def batch_order(n, bs, gen):
        out = real_order(n, bs, gen)
        log["order"].append(torch.cat(out).clone())
        return out

    def draw_crop_flip(b, gen, pad=4):
        shifts, flips = real_aug(b, gen, pad)
        log["aug"].append(torch.cat([shifts.flatten(), flips.long()]))
        return shifts, flips

    real_forward = models.SeededDropout.forward

    def dropout_forward(self, x):
        if self.training and self.p:
            log["dropout"].append(self.generator.get_state().clone())
        return real_forward(self, x)

    monkeypatch.setattr(data, "batch_order", batch_order)
    monkeypatch.setattr(data, "draw_crop_flip", draw_crop_flip)
    monkeypatch.setattr(models.SeededDropout, "forward", dropout_forward)
    return log


def test_changing_only_the_order_seed_changes_the_order_and_nothing_else(monkeypatch):
    log = record_randomness(monkeypatch)
    a = train.fit([BASE.with_seed(0)])[0]
    first = {k: list(v) for k, v in log.items()}
    for v in log.values():
        v.clear()
    b = train.fit([BASE.with_seed(0).replace(seed_order=1)])[0]
    assert states_equal(a.states[0], b.states[0])                      # same initialization
    assert not all(torch.equal(x, y) for x, y in zip(first["order"], log["order"]))  # new order
    assert all(torch.equal(x, y) for x, y in zip(first["aug"], log["aug"]))          # same crops/flips
    assert all(torch.equal(x, y) for x, y in zip(first["dropout"], log["dropout"]))  # same masks
    assert len(first["aug"]) == len(log["aug"]) > 0 and len(first["dropout"]) > 0
    assert not states_equal(a.states[2], b.states[2])                  # and it matters


@pytest.mark.parametrize("field", ["seed_init", "seed_aug", "seed_dropout"])
def test_every_seed_changes_the_result(field):
    a = train.fit([BASE])[0]
    b = train.fit([BASE.replace(**{field: 1})])[0]
    assert states_equal(a.states[0], b.states[0]) == (field != "seed_init")
    assert not states_equal(a.states[2], b.states[2])


def test_kept_epochs_and_log():
    r = train.fit([BASE])[0]
    assert sorted(r.states) == [0, 1, 2] and sorted(r.logits) == [0, 1, 2]
    assert r.logits[2].shape == (64, 10) and r.test_labels.shape == (64,)
    assert [e["epoch"] for e in r.log] == [1, 2] and r.variant == "synthetic"
    assert r.log[-1]["test_acc"] == pytest.approx(float((r.logits[2].argmax(1) == r.test_labels).mean()))


def test_training_learns_the_synthetic_task():
    spec = BASE.replace(epochs=4, n_train=512, dropout=0.0, augment=False)
    r = train.fit([spec])[0]
    assert r.log[-1]["train_loss"] < r.log[0]["train_loss"]
    assert r.log[-1]["test_acc"] > 0.5  # chance is 0.1


def test_learning_rate_schedules():
    s = train.Spec(lr=1.0, epochs=10, gamma=0.5)
    assert train.lr_at(s.replace(schedule="step", milestones=(5,)), 49, 10) == 1.0
    assert train.lr_at(s.replace(schedule="step", milestones=(5,)), 50, 10) == 0.5
    assert train.lr_at(s.replace(schedule="halving", milestones=(3,)), 65, 10) == 0.25
    cos = s.replace(schedule="cosine", warmup_epochs=2)
    assert train.lr_at(cos, 0, 10) == pytest.approx(1 / 20)
    assert train.lr_at(cos, 19, 10) == pytest.approx(1.0)
    assert train.lr_at(cos, 60, 10) == pytest.approx(0.5)
    one = s.replace(schedule="onecycle", warmup_epochs=2)
    assert train.lr_at(one, 60, 10) == pytest.approx(0.5)
    with pytest.raises(ValueError, match="cosine"):
        train.validate(s.replace(schedule="warm"))


def test_init_from_starts_children_at_the_parents_checkpoint(tmp_path, monkeypatch):
    from helpers import runs

    monkeypatch.setenv("HELPERS_DATA_DIR", str(tmp_path))
    base = BASE.replace(dropout=0.0, augment=False, epochs=1, save_epochs=(0, 1))
    (parent,) = runs.get([base.with_seed(1)], progress=False)
    child = base.replace(init_from=f"{parent.key}@1", seed_order=5)
    assert runs.spec_key(base, "synthetic") != runs.spec_key(child, "synthetic")
    assert runs.spec_key(base.replace(init_from=""), "synthetic") == runs.spec_key(base, "synthetic")
    start = train.init_model(child).state_dict()
    assert states_equal(start, parent.state(1))
    assert not states_equal(start, parent.state(0))
    (trained,) = train.fit([child])
    assert states_equal(trained.states[0], parent.state(1))
    with pytest.raises(ValueError, match="epoch"):
        train.validate(base.replace(init_from=f"{parent.key}@one"))
    with pytest.raises(FileNotFoundError, match="no stored tensors"):  # a bare key names a stored state
        train.init_model(base.replace(init_from=parent.key))
    with pytest.raises(ValueError, match="no cached run"):
        train.init_model(base.replace(init_from="0123abc@1"))


def test_init_gain_scales_weight_matrices_only_and_default_keeps_the_key():
    from helpers import runs

    spec = train.Spec(model="deepcnn-bn", dataset="synthetic")
    a, b = train.init_model(spec).state_dict(), train.init_model(spec.replace(init_gain=0.5)).state_dict()
    for name, t in a.items():
        if t.dim() >= 2:
            assert torch.allclose(b[name], 0.5 * t), name
        else:
            assert torch.equal(b[name], t), name
    assert runs.spec_key(spec.replace(init_gain=1.0), "synthetic") == runs.spec_key(spec, "synthetic")
