"""helpers.runs: a result is computed once; damage is detected; sweeps resume."""
import numpy as np
import pytest
import torch

from helpers import runs, train

SPEC = train.Spec(model="smallcnn", dataset="synthetic", n_train=128, n_test=32, epochs=1, batch_size=64,
                  optimizer="adam", lr=1e-3, save_epochs=(0,))


REAL_FIT = train.fit


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    monkeypatch.setenv("HELPERS_DATA_DIR", str(tmp_path))
    return tmp_path


def count_fits(monkeypatch, fail_after=None):
    calls = []
    real = REAL_FIT

    def fit(specs, **kw):
        if fail_after is not None and len(calls) >= fail_after:
            raise KeyboardInterrupt("simulated interruption")
        calls.append(len(specs))
        return real(specs, **kw)

    monkeypatch.setattr(train, "fit", fit)
    return calls


def test_a_result_is_computed_once(monkeypatch):
    calls = count_fits(monkeypatch)
    first = runs.get([SPEC.with_seed(1), SPEC.with_seed(2)], progress=False)
    second = runs.get([SPEC.with_seed(2), SPEC.with_seed(1)], progress=False)
    assert sum(calls) == 2
    assert second[0].key == first[1].key
    assert np.array_equal(second[0].logits(), first[1].logits())
    assert first[0].epochs == [0, 1] and first[0].variant == "synthetic"
    w = first[0].weights()
    assert w.ndim == 1 and w.size == sum(p.numel() for p in first[0].model().parameters())


def test_identical_specs_in_one_sweep_train_once(monkeypatch):
    calls = count_fits(monkeypatch)
    a, b = runs.get([SPEC, SPEC], progress=False)
    assert sum(calls) == 1 and a.key == b.key


def test_key_ignores_defaults_and_number_spelling_but_not_seeds_or_data():
    assert runs.spec_key(train.Spec(width=2), "cifar10") == runs.spec_key(train.Spec(width=2.0), "cifar10")
    assert runs.spec_key(train.Spec(), "cifar10") == runs.spec_key(train.Spec(dataset="synthetic"), "cifar10")
    assert runs.spec_key(train.Spec(), "cifar10") != runs.spec_key(train.Spec(), "cifar10-jpeg")
    assert runs.spec_key(train.Spec(), "cifar10") != runs.spec_key(train.Spec(seed_order=1), "cifar10")


@pytest.mark.parametrize("damage", ["truncate", "no_manifest", "bitflip"])
def test_a_damaged_entry_is_reported_moved_aside_and_recomputed(monkeypatch, capsys, isolated, damage):
    (run,) = runs.get([SPEC], progress=False)
    before = run.logits().copy()
    if damage == "truncate":
        p = run.path / "states.pt"
        p.write_bytes(p.read_bytes()[:100])
    elif damage == "no_manifest":
        (run.path / "manifest.json").unlink()
    else:
        p = run.path / "logits.npz"
        raw = bytearray(p.read_bytes())
        raw[len(raw) // 2] ^= 1
        p.write_bytes(bytes(raw))
    calls = count_fits(monkeypatch)
    (again,) = runs.get([SPEC], progress=False)
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(err) == 1 and "corrupt" in err[0] and run.key in err[0]
    assert sum(calls) == 1
    assert np.array_equal(again.logits(), before)  # deterministic: the same result again
    assert len(list((isolated / "runs" / "_corrupt").iterdir())) == 1  # kept, not deleted


def test_an_interrupted_sweep_resumes_without_losing_finished_runs(monkeypatch):
    sweep = [SPEC.with_seed(s) for s in range(3)]
    count_fits(monkeypatch, fail_after=2)
    with pytest.raises(KeyboardInterrupt):
        runs.get(sweep, group_size=1, progress=False)
    calls = count_fits(monkeypatch)
    out = runs.get(sweep, group_size=1, progress=False)
    assert calls == [1]  # only the third run was left
    assert len({r.key for r in out}) == 3


def test_unkept_epoch_is_a_clear_error():
    (run,) = runs.get([SPEC], progress=False)
    with pytest.raises(KeyError, match="kept epochs"):
        run.logits(epoch=5)
    assert isinstance(run.state(0)["fc.weight"], torch.Tensor)


def test_states_are_read_once_per_run_and_handed_out_as_copies(monkeypatch):
    (run,) = runs.get([SPEC], progress=False)
    runs._states.cache_clear()
    reads = []
    real_load = torch.load
    monkeypatch.setattr(torch, "load", lambda *a, **k: reads.append(a[0]) or real_load(*a, **k))
    first = run.state(0)
    first["fc.weight"].zero_()                      # a caller changing its copy ...
    assert run.state(0)["fc.weight"].abs().sum() > 0  # ... changes nothing for the next one
    assert np.array_equal(run.weights(1), run.weights(None))
    assert len(reads) == 1                          # four reads of two epochs: one file read


def test_a_sweep_of_fixed_vmap_groups_is_split_into_groups_of_at_most_g(monkeypatch):
    calls = count_fits(monkeypatch)
    spec = SPEC.replace(optimizer="sgd", group=2)
    runs.get([spec.with_seed(s) for s in range(5)], group_size=16, progress=False)
    assert calls == [2, 2, 1]


def test_progress_reports_each_group_and_the_trainer_reports_each_epoch(monkeypatch, capsys):
    monkeypatch.delenv("HELPERS_PROGRESS", raising=False)  # as in CI, whatever this shell says
    epochs = []
    train.fit([SPEC.replace(epochs=2)], on_epoch=lambda e, n, ips: epochs.append((e, n, ips > 0)))
    assert epochs == [(1, 2, True), (2, 2, True)]
    runs.get([SPEC.with_seed(s) for s in (1, 2)], progress=True)   # not a terminal: lines
    out = capsys.readouterr().out
    assert "1/2 runs trained" in out and "2/2 runs trained" in out
    monkeypatch.setenv("HELPERS_PROGRESS", "0")
    runs.get([SPEC.with_seed(s) for s in (3, 4)], progress=True)
    assert "runs trained" not in capsys.readouterr().out


def test_a_stage_reports_its_first_training_call_and_then_one_summary(monkeypatch, capsys):
    monkeypatch.setenv("HELPERS_PROGRESS", "0")
    runs.get([SPEC.with_seed(9)], progress=False)              # cached before the stage
    with runs.stage("pruning chain") as st:
        runs.get([SPEC.with_seed(s) for s in (1, 2)])
        with runs.stage("inner"):                             # part of the outer stage
            runs.get([SPEC.with_seed(s) for s in (2, 3)])
        runs.get([SPEC.with_seed(s) for s in (3, 9)])           # nothing to train
    lines = [x for x in capsys.readouterr().out.splitlines() if x.startswith("runs cache")]
    assert lines == [
        "runs cache: pruning chain: 0 of 2 runs cached; training 2 on cpu (up to 1 model a group)",
        f"runs cache: pruning chain: 3 of 4 runs trained (1 cached) in 2 calls, "
        f"{st.seconds / 60:.1f} min"]
    runs.get([SPEC.with_seed(4)])                              # after the stage: its own line
    assert capsys.readouterr().out.startswith("runs cache: 0 of 1 runs cached; training 1 on cpu (")
    with runs.stage("one call"):                               # one training call: no summary
        runs.get([SPEC.with_seed(5)])
    assert "one call: 0 of 1" in (out := capsys.readouterr().out) and "trained (" not in out
    monkeypatch.setenv("HELPERS_PROGRESS", "1")                # not a terminal: no group lines
    with runs.stage("quiet"):
        runs.get([SPEC.with_seed(6)])
        runs.get([SPEC.with_seed(7)])
    assert "runs trained," not in capsys.readouterr().out      # Progress's per-group line
    with pytest.raises(KeyboardInterrupt), runs.stage("interrupted"):
        runs.get([SPEC.with_seed(8)])
        runs.get([SPEC.with_seed(10)])
        raise KeyboardInterrupt
    assert runs._stage[0] is None and "interrupted: 2 of" not in capsys.readouterr().out


def test_provenance_names_the_cpu_kernels_and_says_where_a_cache_mixes_machines():
    (run,) = runs.get([SPEC.with_seed(1)], device="cpu", progress=False)
    here = runs.provenance([run])
    assert here == f"on {run.meta['device_name']}, torch {torch.__version__}"
    assert torch.backends.cpu.get_cpu_capability() in run.meta["device_name"]  # AVX2, AVX512...
    other = runs.Run(run.spec, run.key, run.path, dict(run.meta, device_name="x86_64 CPU, AVX512 kernels"))
    mixed = runs.provenance([run, other, other])
    assert mixed.startswith("on 2 devices as recorded: 1 run on ") and "; 2 runs on x86_64 CPU, AVX512 kernels" in mixed
