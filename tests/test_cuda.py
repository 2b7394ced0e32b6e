"""The GPU path on a CUDA device (``make gpu-check``); every test is skipped without CUDA.

What only a GPU can show: deterministic kernels give a run the same bits whatever trains beside
it and across a resume; fp32 keeps a one-ulp change of one weight (TF32 would round most of it
away); the precision settings are restored after a fit; a compiled step matches eager.
"""
import numpy as np
import pytest
import torch

from helpers import train

pytestmark = [pytest.mark.cuda,
              pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")]

SPEC = train.Spec(model="resnet8", width=0.5, dataset="synthetic", n_train=512, n_test=256, epochs=2,
                  batch_size=64, lr=0.05, momentum=0.9, weight_decay=5e-4, augment=True, save_epochs=(0, 1))


def same(a, b):
    return a.keys() == b.keys() and all(torch.equal(a[n], b[n]) for n in a)


def test_deterministic_bits_do_not_depend_on_the_group():
    alone = train.fit([SPEC.with_seed(5)], device="cuda")[0]
    in3 = train.fit([SPEC.with_seed(s) for s in (1, 5, 2)], device="cuda")[1]
    in8 = train.fit([SPEC.with_seed(s) for s in (9, 8, 7, 6, 5, 4, 3, 2)], device="cuda")[4]
    again = train.fit([SPEC.with_seed(5)], device="cuda")[0]
    assert alone.device.startswith("cuda")
    for other in (in3, in8, again):
        assert same(alone.states[2], other.states[2])
        assert np.array_equal(alone.logits[2], other.logits[2])


def test_deterministic_bits_survive_a_resume(tmp_path, fake_clock):
    spec = SPEC.replace(epochs=3)
    specs = [spec.with_seed(1), spec.with_seed(2)]
    whole = train.fit(specs, device="cuda")
    with pytest.raises(train.BudgetExhausted):
        train.fit(specs, device="cuda", checkpoint=tmp_path / "c.pt",
                  deadline=fake_clock.t + 3.5 * fake_clock.tick)
    resumed = train.fit(specs, device="cuda", checkpoint=tmp_path / "c.pt")
    for w, r in zip(whole, resumed):
        assert same(w.states[3], r.states[3]) and np.array_equal(w.logits[3], r.logits[3])


def test_a_one_ulp_change_survives_in_fp32_and_identical_runs_stay_identical():
    ref = SPEC.replace(epochs=1, save_epochs=(0,))
    a, b = train.fit([ref, ref.replace(replica=1)], device="cuda")
    flip = train.fit([ref.replace(perturb="bitflip:0:+1")], device="cuda")[0]
    assert same(a.states[1], b.states[1])
    name = train.models.first_layer_weight(train.init_model(ref))[0]
    diff = (flip.states[0][name] != a.states[0][name]).sum().item()
    assert diff == 1                                      # one weight, one ulp, at initialization
    assert not same(a.states[1], flip.states[1])          # and training carried it on


@pytest.mark.parametrize("precision", train.PRECISIONS)
def test_precision_and_determinism_are_restored_after_a_fit(precision):
    before = train._numerics_state()
    spec = SPEC.replace(epochs=1, precision=precision, deterministic=precision == "fp32")
    train.fit([spec], device="cuda", compile=False)
    assert train._numerics_state() == before


def test_a_compiled_step_matches_eager_within_tolerance():
    spec = SPEC.replace(epochs=1, lr=1e-3, momentum=0.0, weight_decay=0.0, deterministic=False,
                        augment=False, save_epochs=())
    eager = train.fit([spec.with_seed(1), spec.with_seed(2)], device="cuda", compile=False)
    comp = train.fit([spec.with_seed(1), spec.with_seed(2)], device="cuda", compile=True)
    assert comp[0].compiled, "torch.compile fell back to eager (see stderr)"
    for e, c in zip(eager, comp):
        for name, t in e.states[1].items():
            assert torch.allclose(t, c.states[1][name], atol=1e-3, rtol=1e-3), name
        assert np.mean(e.logits[1].argmax(1) == c.logits[1].argmax(1)) > 0.95


def test_vmap_and_loop_agree_on_cuda_and_bf16_trains():
    spec = SPEC.replace(epochs=1, lr=1e-3, momentum=0.0, deterministic=False, augment=False, save_epochs=())
    v = train.fit([spec.with_seed(1), spec.with_seed(2)], device="cuda", mode="vmap", compile=False)
    loop = train.fit([spec.with_seed(2)], device="cuda", mode="loop", compile=False)
    for name, t in v[1].states[1].items():
        assert torch.allclose(t, loop[0].states[1][name], atol=1e-3, rtol=1e-3), name
    bf = train.fit([spec.replace(precision="bf16", epochs=2, lr=0.05)], device="cuda")[0]
    assert bf.log[-1]["train_loss"] < bf.log[0]["train_loss"]


@pytest.mark.parametrize("compile", ["default", "reduce-overhead"])
def test_a_compiled_deterministic_loop_keeps_bits_independent_of_the_group(compile):
    # What COMPILE_DETERMINISTIC needs before it may be turned on for chapter 05 at gpu.
    spec = SPEC.replace(epochs=1, save_epochs=())
    alone = train.fit([spec.with_seed(5)], device="cuda", compile=compile)[0]
    in3 = train.fit([spec.with_seed(s) for s in (1, 5, 2)], device="cuda", compile=compile)[1]
    assert alone.compiled and in3.compiled and alone.mode == in3.mode == "loop"
    assert same(alone.states[1], in3.states[1]) and np.array_equal(alone.logits[1], in3.logits[1])


def test_a_fixed_vmap_group_keeps_deterministic_bits_independent_of_neighbours():
    # What chapter 05 at gpu relies on (group=16): one vmap call of G models, padded
    spec = SPEC.replace(epochs=1, save_epochs=(), group=4)
    alone = train.fit([spec.with_seed(5)], device="cuda")[0]
    middle = train.fit([spec.with_seed(s) for s in (1, 5, 2)], device="cuda")[1]
    last = train.fit([spec.with_seed(s) for s in (7, 8, 9, 5)], device="cuda")[3]
    assert alone.mode == "vmap"
    for other in (middle, last):
        assert same(alone.states[1], other.states[1]) and np.array_equal(alone.logits[1], other.logits[1])


def test_groups_in_worker_processes_give_the_local_bits_on_cuda(tmp_path, monkeypatch):
    # What the default executor on a GPU (runs.ProcessExecutor) must keep: a deterministic run's
    # bits do not depend on the process it trains in; a bf16 vmap group (compiled where it is long
    # enough) trains in a worker too
    from helpers import runs

    spec = SPEC.replace(epochs=1, save_epochs=())
    specs = [spec.with_seed(1), spec.with_seed(2), spec.replace(width=0.25).with_seed(1),
             spec.replace(precision="bf16", deterministic=False, lr=0.04).with_seed(3)]
    monkeypatch.setenv("HELPERS_DATA_DIR", str(tmp_path / "local"))
    local = runs.get(specs, device="cuda", progress=False, executor=runs.LOCAL)
    monkeypatch.setenv("HELPERS_DATA_DIR", str(tmp_path / "workers"))
    side = runs.get(specs, device="cuda", progress=False, executor=runs.ProcessExecutor(3))
    for a, b in list(zip(local, side))[:3]:
        assert a.key == b.key and same(a.state(), b.state()) and np.array_equal(a.logits(), b.logits())
    assert side[3].spec.precision == "bf16" and np.isfinite(side[3].logits()).all()
