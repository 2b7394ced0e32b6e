"""helpers.cost: the chapters' runs counted as their own gates make them, and their estimated cost."""
import pytest

from helpers import config, cost, models


def test_macs_and_state_bytes_of_small_networks_by_hand():
    assert cost.macs("linear") == 3 * 32 * 32 * 10
    assert cost.macs("fc1") == 3 * 32 * 32 * 512 + 512 * 10
    # conv1: 16 filters of 3x3x3 at every one of 32x32 positions, then a linear read-out
    assert cost.macs("conv1") == 32 * 32 * 16 * 27 + 16 * 32 * 32 * 10
    assert 40e6 < cost.macs("resnet20") < 42e6          # ResNet20v1: about 41 M (issue 13)
    assert cost.macs("resnet20", 2) > 3.5 * cost.macs("resnet20")
    # MIMO: only the first convolution (3M input channels) and the head (10M outputs) grow
    extra = cost.macs("resnet20", mimo=3) - cost.macs("resnet20")
    assert extra == 32 * 32 * 16 * 9 * 6 + 64 * 20
    assert cost.state_bytes("linear") == (3072 * 10 + 10) * 4
    net = models.build("resnet14")
    assert cost.state_bytes("resnet14") == sum(t.numel() * t.element_size() for t in net.state_dict().values())


def test_modes_smoke_counted_by_hand():
    P = config.chapter_params("03_modes", "smoke")
    e = cost.estimate("03_modes", "smoke")
    assert (e["runs"], e["groups"]) == (3, 1)
    assert e["model_epochs"] == {"smallcnn width 1": 3 * 2}
    # 512 images in batches of 128: 4 steps an epoch; 3 models; kept epochs 0, 1, 2 (+ 1, 2 late)
    per_model_epoch = cost.SECONDS_PER_MODEL_EPOCH["fp32"] * cost.macs("smallcnn") / cost.macs("resnet20") \
        * 512 / cost.REFERENCE_IMAGES
    # smoke trains deterministically: a loop of 3 models, each step at least the launch floor,
    # which for SmallCNN (4 layers) is 4/22 of ResNet20's 12 ms
    assert P.deterministic and cost.layers("smallcnn") == 4 and cost.layers("resnet20") == 22
    per_epoch = 3 * max(per_model_epoch, 4 * cost.LOOP_STEP_S * 4 / 22)
    evals = 3 * cost.forward_seconds(("smallcnn", 1.0, 0, False), 3 * 256)
    assert e["cache_bytes"] == 3 * (3 * (cost.state_bytes("smallcnn") + 256 * 10 * 4) + 256 * 8)
    store = cost.STORE_S_PER_MIB * e["cache_bytes"] / 2 ** 20
    assert e["train_s"] == pytest.approx(2 * per_epoch + evals + store)
    assert e["total_s"] == pytest.approx(e["train_s"] + e["analysis_s"])
    assert P.seeds == 3


def test_the_model_reproduces_chapter_03_measured_on_an_h200():
    """Chapter 03 at gpu, executed cold by papermill on one NVIDIA H200 (2026-12-01, torch
    2.11.0+cu130; bench/results/2026-12-01-h200/chapter-03.txt): 456.7 s in all, of which the
    training cell (16 ResNet20 runs x 40 epochs, one compiled bf16 vmap group) 318.6 s, the
    subspace study 54.2 s and the dataset-shift study 22.4 s; a runs cache of 329 MiB."""
    e = cost.estimate("03_modes", "gpu")
    assert (e["runs"], e["groups"]) == (16, 1)
    assert e["total_s"] == pytest.approx(456.7, rel=0.15)
    assert e["train_s"] == pytest.approx(318.6, rel=0.15)
    assert e["analyses"]["subspace samples"] == pytest.approx(54.2, rel=0.15)
    assert e["analyses"]["dataset shift"] == pytest.approx(22.4, rel=0.15)
    assert e["cache_mib"] == pytest.approx(329, rel=0.15)


def test_a_model_costs_a_share_of_a_group_above_a_step_floor():
    """The bench's bf16 rows on the H200: 16 models 0.392 s per model-epoch, 32 models 0.324 s
    (50,000 images at 10,240 images per timed epoch's rate); the line reproduces both."""
    from helpers.chapters import modes

    group = modes.specs(config.chapter_params("03_modes", "gpu"))
    steps = cost.steps_per_epoch(group[0])
    for K, measured in ((16, 0.392), (32, 0.324)):
        per_model = (steps * cost.STEP_FLOOR + K * cost.model_epoch_seconds(group[0])) / K
        assert per_model == pytest.approx(measured, rel=0.03), K


def test_compiling_is_priced_per_network_body_and_shape():
    """The bench's warm-up epochs (H200): a vmap step compiled cold, the same shape again in the
    same process (nothing: test_train's counted frames), another K of it; a loop's one-model
    step is a body of its own; deterministic fits compile nothing."""
    from helpers import train
    from helpers.chapters import modes

    group = modes.specs(config.chapter_params("03_modes", "gpu"))
    seen = {}
    assert cost.compile_seconds(group, seen) == cost.COMPILE_S
    assert cost.compile_seconds(group, seen) == 0.0      # the same shape again: dynamo's cache
    assert cost.compile_seconds(group[:8], seen) == cost.RESHAPE_S
    # one model trains as a loop of modules, compiled only where train.COMPILE_LOOP says so
    loop_s = cost.LOOP_COMPILE_S if train.COMPILE_LOOP["cuda"] else 0.0
    assert cost.compile_seconds(group[:1], seen) == loop_s
    if not train.COMPILE_DETERMINISTIC["cuda"]:
        assert cost.compile_seconds([s.replace(deterministic=True) for s in group], {}) == 0.0


def test_mimo_configurations_and_groups():
    calls = cost.record("04_mimo", "smoke", widths=(1,), members=(1, 2), seeds=2)
    specs = [s for c in calls for s in c]
    # M=1: max(ensemble_size 3, 2 x seeds 2) = 4 runs; M=2: 2; naive: 2
    assert len(specs) == 8
    assert sorted((s.mimo, s.mimo_naive) for s in specs) == [(1, False)] * 4 + [(2, False)] * 2 + [(3, True)] * 2
    assert len(cost.training_groups(calls)) == 3
    assert len(cost.training_groups(calls, group_size=2)) == 4          # M=1 splits in two
    # batch repetition: twice the steps an epoch, each of ~batch_size images
    spec = next(s for s in specs if s.mimo == 2)
    assert cost.steps_per_epoch(spec) == 512 // (128 // 2)


def test_instability_smoke_runs_deduplicated_as_the_cache_does():
    # rows init/order/aug/order+aug share run 1 (all seeds 1) with the base; 'all' run 1 is the
    # cuDNN row's run 1; the depth 'init' run 1 is that model's reference. By hand: main 20
    # (base 1, init/order/aug/order+aug 2 each, cudnn 3, all 2, bitflip 3, reference 1, control
    # 2), depth 3 x 6, onset 3, snapshots 3, pool 1 more; Table 3's SD rows (sd_seeds 4) one
    # more run each of init and bitflip.
    assert cost.estimate("05_instability", "smoke")["runs"] == 20 + 18 + 3 + 3 + 1 + 2


def test_lottery_and_landscape_smoke_counted_by_hand():
    # lottery: 2 chains x 3 rounds, 2 + 2 controls for each chain, 2 ResNet seeds x (dense +
    # reset + rewind + reinit), and the width sweep's width 1/16 chains of seeds 1 and 2 (its
    # 1/8 chains are the main chains themselves)
    assert cost.estimate("02_lottery_tickets", "smoke")["runs"] == 6 + 8 + 2 * 4 + 2 * 3
    # landscape: 2 runs + 2 children, width 0.5 x 2 seeds (width 1 shares), 4 DeepCNNs x 3 gains,
    # batch 32 x 1 seed (batch 64 is run 1)
    assert cost.estimate("01_loss_landscape", "smoke")["runs"] == 2 + 2 + 2 + 12 + 1


def test_recording_reads_and_writes_nothing(no_data):
    cost.estimate("02_lottery_tickets", "smoke")
    cost.estimate("01_loss_landscape", "smoke")
    assert not any(no_data.iterdir())


def test_trimmed_epochs_are_what_the_analyses_read():
    from helpers.chapters import instability, loss_landscape

    P = config.chapter_params("01_loss_landscape", "gpu")
    assert set(P.traj_epochs) <= set(loss_landscape.kept(P, 1))
    assert {0, P.parent_epoch, *P.saddle_epochs} <= set(loss_landscape.kept(P, 0))
    assert loss_landscape.kept(P, 2) == loss_landscape.kept(P, None) == ()
    # width 1 of the sweep and the chapter's batch size are the main runs themselves
    assert loss_landscape.independent(P, 0, width=1.0) == loss_landscape.independent(P, 0)
    assert loss_landscape.independent(P, 1, batch_size=P.batch_size) == loss_landscape.independent(P, 1)
    P = config.chapter_params("01_loss_landscape", "cpu")
    assert loss_landscape.kept(P, 3) == tuple(range(P.epochs + 1))
    P = config.chapter_params("05_instability", "gpu")
    assert instability.divergence_epochs(P)[:4] == (0, 1, 2, 3)   # the growth claim reads epoch 3
    assert instability.divergence_epochs(P)[-1] == P.epochs


def test_gpu_presets_have_the_sources_shape():
    P = config.chapter_params("03_modes", "gpu")
    assert P.model == "resnet20" and P.n_train is None and P.seeds >= 8
    P = config.chapter_params("05_instability", "gpu")
    assert P.model == "resnet14" and P.seeds >= 16 and P.precision == "fp32"
    P = config.chapter_params("04_mimo", "gpu")
    assert P.model == "resnet20" and 1 in P.widths and max(P.widths) > 1 and P.seeds >= 2
    P = config.chapter_params("02_lottery_tickets", "gpu")
    assert P.rn_model == "resnet20" and P.rn_n_train is None and P.rn_rewind_epoch >= 1


def test_a_slower_step_costs_more_and_loops_pay_per_model():
    s = config.chapter_params("03_modes", "gpu")
    from helpers.chapters import modes
    group = modes.specs(s)
    assert not cost.loops(group) and cost.loops(group[:1])
    det = [g.replace(deterministic=True) for g in group]
    assert cost.loops(det) and cost.group_seconds(det) > 5 * cost.group_seconds(group)


def test_a_short_fit_is_priced_eager_and_a_long_one_compiled():
    """Chapter 05's 500-step groups run eagerly on a GPU (train.COMPILE_MIN_STEPS): no compile,
    the eager floor and, in bf16, the eager share; chapter 03's 40 epochs are compiled."""
    from helpers import train
    from helpers.chapters import modes

    long = modes.specs(config.chapter_params("03_modes", "gpu"))
    assert cost.compiled(long) and train.total_steps(long[0], cost.TRAIN_N) >= train.COMPILE_MIN_STEPS["cuda"]
    short = [s.replace(epochs=2) for s in long]          # 780 steps
    assert not cost.compiled(short) and cost.compile_seconds(short, {}) == 0.0
    steps, K = cost.steps_per_epoch(short[0]), len(short)
    per_epoch = steps * cost.EAGER_STEP_FLOOR + K * cost.EAGER_SHARE * cost.model_epoch_seconds(short[0])
    kept = set().union(*(set(x.logit_kept_epochs()) for x in short))
    evals = len(kept) * cost.forward_seconds(short[0], K * 10_000, "bf16")
    store = cost.STORE_S_PER_MIB * sum(cost.run_bytes(x) for x in short) / 2 ** 20
    assert cost.group_seconds(short, {}) == pytest.approx(2 * per_epoch + evals + store)


@pytest.mark.xfail(strict=True, reason="calibrated on one H200 (2026-12-01): one group after another in one "
                   "process, chapters 01 (10.1 min) and 04 (9.7 min) do not fit 8 minutes at the sources' "
                   "shape, mostly compiling a step per small group (the book: 41.7 min against the "
                   "40 min target since chapter 02's ResNet part and width sweep run 4 seeds, "
                   "2026-12-07; 40.0 before)")
def test_gpu_presets_within_the_budgets_in_one_process():
    _within_the_budgets(cost.book("gpu", workers=1))


def test_gpu_presets_within_the_budgets_with_groups_side_by_side():
    """The default on a GPU (runs.CUDA_WORKERS processes; an ESTIMATE until a GPU measures it)."""
    _within_the_budgets(cost.book("gpu"))


def _within_the_budgets(b):
    assert b["total_s"] <= cost.BUDGET_BOOK_S
    for chapter, e in b["chapters"].items():
        assert e["within_time"], (chapter, e["total_s"] / 60)
        assert e["within_cache"], (chapter, e["cache_mib"])


def test_sweep_spreads_each_stage_over_the_gpus():
    """cost.sweep (a Ray sweep's estimate): on one GPU its time is estimate()'s training time
    (chapter 05 at gpu compiles nothing: its fits are short, so a task's own process does not
    matter); on many, the same GPU time in less wall time, never less than the stages' longest
    groups. A chapter that compiles pays it in every task (each in a new process)."""
    one = cost.sweep("05_instability", "gpu", gpus=1, group_size=8)
    est = cost.estimate("05_instability", "gpu", group_size=8, workers=1)
    assert (one["runs"], one["groups"]) == (est["runs"], est["groups"])
    assert one["gpu_s"] == pytest.approx(est["train_s"]) and one["wall_s"] == pytest.approx(one["gpu_s"])
    assert one["cache_mib"] == pytest.approx(est["cache_mib"])
    many = cost.sweep("05_instability", "gpu", gpus=1000, group_size=8)
    assert many["gpu_s"] == pytest.approx(one["gpu_s"]) and many["wall_s"] < one["wall_s"] / 3
    calls = cost.record("05_instability", "gpu")
    assert not any(cost.compiled(g) for g in cost.training_groups(calls, 8))
    longest = sum(max(cost.group_seconds(g) for g in cost.training_groups([c], 8)) for c in calls)
    assert many["wall_s"] <= longest + 1e-6
    # chapter 03 in 2 groups of 8: in one process the second finds the first's compile; as 2 Ray
    # tasks each compiles cold
    modes3 = cost.sweep("03_modes", "gpu", gpus=1, group_size=8)
    one_process = cost.estimate("03_modes", "gpu", group_size=8, workers=1)["train_s"]
    assert modes3["gpu_s"] == pytest.approx(one_process + cost.COMPILE_S)


def test_groups_side_by_side_overlap_compiles_and_floors_but_not_arithmetic():
    """Chapter 04 at gpu (7 small groups in one call, each compiling its own shape): in 4
    processes the call takes its longest process's time, never less than every group's busy
    GPU time; chapter 03 (one group) costs the same either way; one worker is the serial sum."""
    calls = cost.record("04_mimo", "gpu")
    (groups,) = cost.call_groups(calls)
    serial = cost.train_seconds(calls, workers=1)
    shapes = {}
    assert serial == pytest.approx(sum(cost.group_seconds(g, shapes) for g in groups))
    assert serial == pytest.approx(cost.estimate("04_mimo", "gpu", workers=1)["train_s"])
    side = cost.train_seconds(calls, workers=4)
    busy = cost.WORKER_START_S + sum(cost.busy_seconds(g) for g in groups)
    assert busy <= side < serial / 2
    # 7 groups over 4 processes: the longest process runs two groups, each compiling cold or a
    # new shape of a body another process compiled (never a shape of its own, never free)
    assert side >= cost.WORKER_START_S + 2 * cost.RESHAPE_S
    assert cost.estimate("03_modes", "gpu", workers=4)["train_s"] == \
        pytest.approx(cost.estimate("03_modes", "gpu", workers=1)["train_s"])


def test_a_shape_another_process_compiled_comes_from_the_disk_cache():
    from helpers.chapters import modes

    group = modes.specs(config.chapter_params("03_modes", "gpu"))
    disk = {}
    assert cost.compile_seconds(group, {}, disk) == cost.COMPILE_S        # the first process
    assert cost.compile_seconds(group, {}, disk) == cost.WARM_COMPILE_S   # another process
    mine = {}
    assert cost.compile_seconds(group[:8], mine, disk) == cost.RESHAPE_S  # a new shape
    assert cost.compile_seconds(group[:8], mine, disk) == 0.0             # again in that process


def test_the_table_says_what_it_prices_and_lists_every_chapter():
    """`python -m helpers.cost cpu` prices the cpu profile's runs on one GPU: its first line says
    so (its minutes are not a CPU's), then one row per chapter and the book."""
    lines = cost.table("smoke").splitlines()
    assert lines[0].startswith("profile smoke, cold") and "one GPU" in lines[0]
    assert lines[1].split()[0] == "chapter"
    assert [row.split()[0] for row in lines[2:]] == [*config.CHAPTERS, "book"]
