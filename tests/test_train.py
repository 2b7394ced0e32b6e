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
    with pytest.raises(ValueError, match="no stored tensors"):  # a bare key names a stored state
        train.init_model(base.replace(init_from=parent.key))
    with pytest.raises(ValueError, match="no cached run"):
        train.init_model(base.replace(init_from="0123abc@1"))
    with pytest.raises(ValueError, match="was not kept"):
        train.init_model(base.replace(init_from=f"{parent.key}@7"))
    # a damaged parent is caught by the cache's checksum, moved aside, and named in one line
    with open(parent.path / "states.pt", "r+b") as f:
        f.seek(100)
        f.write(b"\x00" * 8)
    with pytest.raises(ValueError, match="corrupt.*rerun the chapter"):
        train.init_model(child)
    assert (runs.runs_dir() / "_corrupt").exists() and not parent.path.exists()


def test_start_epoch_continues_the_schedule_from_a_checkpoint(tmp_path, monkeypatch):
    """Rewinding (chapter 02): a run started from a checkpoint at epoch k trains epochs k+1..T
    at the schedule's rates there, keeps its starting weights as epoch k, and leaves every
    other spec's key alone."""
    from helpers import runs

    monkeypatch.setenv("HELPERS_DATA_DIR", str(tmp_path))
    base = BASE.replace(dropout=0.0, augment=False, epochs=3, schedule="cosine",
                        save_epochs=(0, 1))
    (parent,) = runs.get([base.with_seed(1)], progress=False)
    later = base.with_seed(1).replace(init_from=f"{parent.key}@1", start_epoch=1,
                                      save_epochs=(0, 1), logit_epochs=(0, 2))
    assert runs.spec_key(base.replace(start_epoch=0), "synthetic") == \
        runs.spec_key(base, "synthetic")
    assert later.kept_epochs() == (1, 3) and later.logit_kept_epochs() == (1, 2, 3)
    (t,) = train.fit([later])
    assert [e["epoch"] for e in t.log] == [2, 3]
    assert [e["lr"] for e in t.log] == pytest.approx([e["lr"] for e in parent.log[1:]])
    assert states_equal(t.states[1], parent.state(1)) and sorted(t.logits) == [1, 2, 3]
    for bad in (later.replace(init_from=""), later.replace(start_epoch=3)):
        with pytest.raises(ValueError, match="start_epoch"):
            train.validate(bad)


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


# --------------------------------------------------------------------------- the GPU path, on CPU

def test_a_deterministic_runs_bits_do_not_depend_on_what_trains_beside_it():
    spec = BASE.replace(epochs=1, n_train=128, save_epochs=())
    alone = train.fit([spec.with_seed(5)])[0]
    in3 = train.fit([spec.with_seed(s) for s in (1, 5, 2)])[1]
    in8 = train.fit([spec.with_seed(s) for s in (9, 8, 7, 6, 5, 4, 3, 2)])[4]
    assert alone.mode == in3.mode == in8.mode == "loop"
    assert states_equal(alone.states[1], in3.states[1]) and states_equal(alone.states[1], in8.states[1])
    assert np.array_equal(alone.logits[1], in8.logits[1])


def _numerics_flags():
    return (torch.are_deterministic_algorithms_enabled(), torch.backends.cudnn.deterministic,
            torch.backends.cudnn.benchmark, train._numerics_state()["matmul"], train._numerics_state()["conv"])


def test_a_cpu_runs_bits_do_not_depend_on_the_callers_thread_count(monkeypatch):
    # (two threads, not three: torch 2.14's CPU backward of this net crashed on three, 2026-12-07)
    spec = BASE.replace(model="resnet8", width=0.5, dropout=0.0, batch_size=128, epochs=1,
                        optimizer="sgd", lr=0.05, momentum=0.9).with_seed(5)
    before = torch.get_num_threads()
    got = {}
    try:
        for threads in (1, 2):
            torch.set_num_threads(threads)
            got[threads] = train.fit([spec], device="cpu")[0]
            assert torch.get_num_threads() == threads            # restored after the fit
        monkeypatch.setattr(train, "CPU_FIT_THREADS", 2)           # the fit itself on 2 threads
        got["fit on 2"] = train.fit([spec], device="cpu")[0]
    finally:
        torch.set_num_threads(before)
    assert states_equal(got[1].states[1], got[2].states[1])
    assert got[1].device_name.endswith("(1 thread)")
    # what the pin prevents: a backward pass on 2 threads sums in another order
    assert not states_equal(got[1].states[1], got["fit on 2"].states[1])
    assert got["fit on 2"].device_name.endswith("(2 threads)")


@pytest.mark.parametrize("precision", train.PRECISIONS)
def test_a_fit_restores_determinism_and_precision_settings_even_when_it_fails(precision):
    before = _numerics_flags()
    spec = BASE.replace(epochs=1, n_train=64, dropout=0.0, precision=precision)
    train.fit([spec])
    assert _numerics_flags() == before

    def fail(*args):
        raise RuntimeError("a fit that fails after its first epoch")

    with pytest.raises(RuntimeError, match="fails after its first epoch"):
        train.fit([spec], on_epoch=fail)
    assert _numerics_flags() == before
    with pytest.raises(ValueError, match="bitflip"):
        with train.numerics(True, precision):
            assert torch.are_deterministic_algorithms_enabled()
            train.parse_perturb("flip")
    assert _numerics_flags() == before
    with pytest.raises(ValueError, match="fp32, tf32, bf16"):
        train.validate(spec.replace(precision="fp16"))


def test_bf16_autocast_trains_and_differs_from_fp32():
    spec = BASE.replace(epochs=1, n_train=128, dropout=0.0, augment=False, optimizer="sgd", lr=0.05)
    a, b = train.fit([spec])[0], train.fit([spec.replace(precision="bf16")])[0]
    assert all(torch.isfinite(t).all() for t in b.states[1].values())
    assert not states_equal(a.states[1], b.states[1])
    assert b.logits[1].dtype == np.float32


def test_stacked_masks_keep_pruned_weights_at_zero_under_vmap(tmp_path, monkeypatch):
    from helpers import runs

    monkeypatch.setenv("HELPERS_DATA_DIR", str(tmp_path))
    spec = BASE.replace(dropout=0.0, epochs=1, n_train=128, deterministic=False, save_epochs=())
    net = train.init_model(spec)
    mask = {n: (torch.rand(p.shape, generator=torch.Generator().manual_seed(0)) > 0.5).float()
            for n, p in net.named_parameters() if p.dim() >= 2}
    masked = spec.replace(mask=runs.store(mask))
    out = train.fit([masked.with_seed(1), spec.with_seed(2), masked.with_seed(3)], mode="vmap")
    for k in (0, 2):
        for n, m in mask.items():
            assert torch.all(out[k].states[1][n][m == 0] == 0), n
    assert any((out[1].states[1][n][m == 0] != 0).any() for n, m in mask.items())  # unmasked model


def test_a_fit_stopped_at_its_deadline_resumes_to_the_same_bits(tmp_path, fake_clock):
    spec = BASE.replace(epochs=3, n_train=128, save_epochs=(0, 1, 2), optimizer="sgd", lr=0.05,
                        schedule="cosine", warmup_epochs=0.5, momentum=0.9)
    specs = [spec.with_seed(1), spec.with_seed(2)]
    whole = train.fit(specs)
    clock = fake_clock
    ckpt = tmp_path / "group.pt"
    # readings: the start check (+1 tick), last_save (+2), then one at each epoch's end: +3 passes,
    # +4 would end the next epoch past the deadline (+3.5): stop after epoch 2
    with pytest.raises(train.BudgetExhausted, match="after epoch 2 of 3"):
        train.fit(specs, checkpoint=ckpt, deadline=clock.t + 3.5 * clock.tick)
    assert ckpt.exists()
    resumed = train.fit(specs, checkpoint=ckpt)
    for w, r in zip(whole, resumed):
        assert sorted(r.states) == [0, 1, 2, 3]
        for e in r.states:
            assert states_equal(w.states[e], r.states[e]), e
            assert np.array_equal(w.logits[e], r.logits[e])
        assert [x["train_loss"] for x in w.log] == [x["train_loss"] for x in r.log]
    # a checkpoint of other runs is ignored, not loaded
    other = train.fit([spec.with_seed(3), spec.with_seed(4)], checkpoint=ckpt)
    assert other[0].log[0]["epoch"] == 1


def test_an_expired_deadline_trains_nothing_and_the_runs_cache_resumes(tmp_path, monkeypatch, fake_clock):
    from helpers import runs

    monkeypatch.setenv("HELPERS_DATA_DIR", str(tmp_path))
    spec = BASE.replace(epochs=2, n_train=128, save_epochs=())
    monkeypatch.setenv("HELPERS_DEADLINE", "1")  # long past
    with pytest.raises(train.BudgetExhausted, match="0 of 2 runs"):
        runs.get([spec.with_seed(1), spec.with_seed(2)], progress=False)
    assert not any(p for p in runs.runs_dir().glob("*") if p.name != "_partial")
    clock = fake_clock
    monkeypatch.setenv("HELPERS_DEADLINE", str(clock.t + 6.5 * clock.tick))
    with pytest.raises(train.BudgetExhausted, match="1 of 2 runs were trained"):
        runs.get([spec.with_seed(1), spec.with_seed(2)], progress=False)  # groups of one on a CPU
    assert len(list(runs.partial_dir().glob("*.pt"))) == 1
    monkeypatch.delenv("HELPERS_DEADLINE")
    got = runs.get([spec.with_seed(1), spec.with_seed(2)], progress=False)
    alone = train.fit([spec.with_seed(2)])[0]
    assert states_equal(got[1].state(2), alone.states[2])
    assert not list(runs.partial_dir().glob("*.pt"))


def test_a_compile_that_fails_falls_back_to_eager_with_the_same_bits(monkeypatch, capsys):
    def broken(fn, mode=None):  # torch.compile's signature as train calls it
        def call(*args, **kwargs):
            fn(*args, **kwargs)  # as if the forward ran (BN statistics move) before the failure
            raise RuntimeError("inductor: no working C++ compiler")
        return call

    spec = train.Spec(model="resnet8", width=0.5, dataset="synthetic", n_train=128, n_test=64, epochs=1,
                      batch_size=32, lr=0.05, deterministic=False)
    eager = train.fit([spec], compile=False)[0]
    monkeypatch.setattr(torch, "compile", broken)
    fell = train.fit([spec], compile=True)[0]
    err = capsys.readouterr().err
    assert not fell.compiled and "torch.compile failed (RuntimeError: inductor" in err
    assert states_equal(eager.states[1], fell.states[1])


def test_logit_epochs_keep_test_logits_without_weights(tmp_path, monkeypatch):
    from helpers import runs

    monkeypatch.setenv("HELPERS_DATA_DIR", str(tmp_path))
    spec = BASE.replace(save_epochs=(), logit_epochs=(0, 1))
    (run,) = runs.get([spec], progress=False)
    assert run.epochs == [2] and run.logit_epochs == [0, 1, 2]
    both = train.fit([spec.replace(save_epochs=(0, 1), logit_epochs=())])[0]
    assert np.array_equal(run.logits(1), both.logits[1])      # training is the same
    assert states_equal(run.state(), both.states[2])
    with pytest.raises(KeyError, match="not kept"):
        run.state(1)
    assert runs.spec_key(spec, "synthetic") != runs.spec_key(spec.replace(logit_epochs=()), "synthetic")


def test_a_bf16_runs_test_logits_are_evaluated_in_float32():
    spec = BASE.replace(epochs=1, n_train=128, dropout=0.0, augment=False, precision="bf16")
    r = train.fit([spec])[0]
    net = train.init_model(spec)
    net.load_state_dict(r.states[1])
    x = data.on_device("synthetic", "cpu", None, spec.n_test).test_x
    with torch.no_grad():
        ref = net.eval()(x).numpy()
    assert np.allclose(r.logits[1], ref, atol=1e-4)


def test_a_fixed_vmap_group_gives_bits_independent_of_neighbours_and_position():
    # group=G: one vmap call of exactly G models (padded), so a deterministic run's bits depend
    # on G, not on the runs beside it or its place among them (chapter 05 at gpu)
    spec = BASE.replace(dropout=0.0, epochs=1, save_epochs=(), optimizer="sgd", momentum=0.9, group=4)
    alone = train.fit([spec.with_seed(5)])
    middle = train.fit([spec.with_seed(1), spec.with_seed(5), spec.with_seed(2)])
    last = train.fit([spec.with_seed(s) for s in (7, 8, 9, 5)])
    assert len(alone) == 1 and len(middle) == 3 and alone[0].mode == "vmap"
    for other in (middle[1], last[3]):
        assert states_equal(alone[0].states[1], other.states[1])
        assert np.array_equal(alone[0].logits[1], other.logits[1])
    assert not states_equal(alone[0].states[1], middle[0].states[1])
    with pytest.raises(ValueError, match="at most 4"):
        train.fit([spec.with_seed(s) for s in range(5)])
    with pytest.raises(ValueError, match="dropout"):
        train.validate(spec.replace(dropout=0.2))


def test_auto_compile_compiles_vmap_groups_not_launch_bound_loops(monkeypatch):
    """On CUDA a non-deterministic vmap group is compiled; a loop of modules (launch-bound: a
    compiled loop ran at the eager loop's speed on an H200) is not, nor are deterministic fits
    or fits with dropout or an onset; on a CPU nothing is."""
    monkeypatch.setitem(train.COMPILE, "cuda", True)
    monkeypatch.setitem(train.COMPILE_LOOP, "cuda", False)
    monkeypatch.setitem(train.COMPILE_DETERMINISTIC, "cuda", False)
    fast = BASE.replace(deterministic=False)
    assert train.auto_compile(fast, "vmap", "cuda", dropout=False) is True
    assert train.auto_compile(fast, "loop", "cuda", dropout=False) is False
    assert train.auto_compile(fast, "vmap", "cuda", dropout=True) is False
    assert train.auto_compile(fast.replace(onset=1), "vmap", "cuda", dropout=False) is False
    assert train.auto_compile(fast.replace(deterministic=True), "vmap", "cuda", dropout=False) is False
    assert train.auto_compile(fast, "vmap", "cpu", dropout=False) is False


def test_a_fit_too_short_to_repay_its_compile_runs_eagerly(monkeypatch):
    """Fewer than COMPILE_MIN_STEPS steps (epochs x steps an epoch): eager, on CUDA; as many or
    more: compiled. total_steps counts a MIMO step's distinct examples (batch repetition)."""
    monkeypatch.setitem(train.COMPILE, "cuda", True)
    monkeypatch.setitem(train.COMPILE_MIN_STEPS, "cuda", 1000)
    fast = BASE.replace(deterministic=False, dropout=0.0, batch_size=128, epochs=2)
    assert train.total_steps(fast, 50_000) == 2 * 390
    assert train.total_steps(fast.replace(mimo=2, mimo_batch_rep=2), 50_000) == 2 * 781
    assert train.auto_compile(fast, "vmap", "cuda", False, steps=999) is False
    assert train.auto_compile(fast, "vmap", "cuda", False, steps=1000) is True
    assert train.auto_compile(fast, "vmap", "cuda", False, steps=train.total_steps(fast, 50_000)) is False
    assert train.auto_compile(fast.replace(epochs=3), "vmap", "cuda", False,
                              steps=train.total_steps(fast.replace(epochs=3), 50_000)) is True


def test_fit_asks_the_rule_with_its_own_step_count(monkeypatch):
    """fit(compile='auto') passes the fit's whole step count (epochs x steps an epoch on the
    images it trains on) to auto_compile: too few, and the fit is not compiled."""
    asked = []
    real = train.auto_compile
    monkeypatch.setattr(train, "auto_compile", lambda *a, **k: asked.append(a[4]) or real(*a, **k))
    monkeypatch.setitem(train.COMPILE, "cpu", True)
    monkeypatch.setitem(train.COMPILE_MIN_STEPS, "cpu", 10 ** 6)
    spec = BASE.replace(dropout=0.0, deterministic=False, epochs=2, n_train=256, batch_size=64, save_epochs=())
    out = train.fit([spec.with_seed(1), spec.with_seed(2)], mode="vmap")
    assert asked == [2 * 256 // 64] and not out[0].compiled


def test_a_second_fit_of_a_compiled_shape_compiles_nothing(monkeypatch):
    """What helpers.cost relies on: a chapter (one process) pays for compiling a vmap step once
    per shape; a later fit of the same shape finds it in dynamo's cache, another K does not.
    Counted with a counting backend (no code generated)."""
    from torch._dynamo.testing import CompileCounter

    counter, real = CompileCounter(), torch.compile
    monkeypatch.setattr(torch, "compile", lambda fn, mode=None: real(fn, backend=counter))
    spec = BASE.replace(dropout=0.0, deterministic=False, epochs=1, n_train=128, save_epochs=())
    frames = []
    for K in (2, 2, 3):
        train.fit([spec.with_seed(s) for s in range(K)], mode="vmap", compile=True)
        frames.append(counter.frame_count)
    assert frames[0] >= 1
    assert frames[1] == frames[0]          # the same shape again: nothing compiled
    assert frames[2] > frames[1]           # another K: compiled again


def test_runs_at_several_init_gains_train_together_each_as_alone():
    """init_gain only scales a model's initial weights: runs that differ in it share a group
    (chapter 01's DeepCNN at three gains: one fit), and in deterministic mode each run's bits
    are those it has alone."""
    spec = BASE.replace(model="deepcnn", dropout=0.0, epochs=1, n_train=128, save_epochs=(0,)).with_seed(1)
    gains = [spec.replace(init_gain=g) for g in (0.6, 1.0, 1.6)]
    assert len({s.group_key() for s in gains}) == 1
    together = train.fit(gains)
    alone = train.fit([gains[2]])[0]
    assert states_equal(together[2].states[1], alone.states[1])
    assert not states_equal(together[0].states[0], together[2].states[0])
    w = next(n for n, t in alone.states[0].items() if t.dim() > 1)   # the first filter bank
    assert torch.allclose(together[2].states[0][w], 1.6 / 0.6 * together[0].states[0][w])
