"""Profiles and chapter parameters.

A *profile* says how big a chapter's experiment is:

* ``smoke`` -- seconds per chapter, for CI; verdicts read "not testable at this profile".
* ``cpu``   -- the small-scale edition, sized for two CPU cores in minutes.
* ``gpu``   -- the sources' scale on one GPU.
* ``auto``  -- ``gpu`` when CUDA is available, else ``cpu``.

Each chapter keeps its presets in ``CHAPTERS[chapter][profile]`` as a flat dict of plain values
(nanoGPT style). A notebook's parameters cell names a profile and may override any key; the
result is a :class:`Params` namespace. Anything unknown is a :class:`ConfigError` whose one-line
message names the valid choices.
"""
from __future__ import annotations

import types

PROFILES = ("smoke", "cpu", "gpu", "auto")


class ConfigError(ValueError):
    """A bad profile, chapter or parameter; the message is one line that says what to do."""


def resolve_profile(name: str) -> str:
    """Map a profile name to one of ``smoke``/``cpu``/``gpu`` (``auto`` looks for CUDA)."""
    if name not in PROFILES:
        raise ConfigError(f"unknown profile {name!r}; choose one of: {', '.join(PROFILES)}")
    if name == "auto":
        import torch

        return "gpu" if torch.cuda.is_available() else "cpu"
    return name


# --------------------------------------------------------------------------------------------
# Chapter presets. Every value is a plain Python value so that papermill can override it.
# Common keys:
#   model, width        architecture (see helpers.models.build) and width multiplier
#   n_train, n_test     subset sizes (None = the whole split)
#   epochs, batch_size  training length and batch
#   optimizer, lr, momentum, weight_decay, schedule, warmup_epochs, milestones, gamma
#   augment, dropout    crop+flip augmentation on/off, dropout rate
#   seeds               number of independent runs (R)
#   save_epochs         checkpoints kept along each trajectory (0 = the initialization)
#   device              'auto', 'cpu' or 'cuda'
#   precision           the arithmetic of training on a GPU (helpers.train.Spec.precision):
#                       'fp32' (TF32 off; with deterministic kernels, bitwise repeatable: every
#                       bitwise claim and every smoke/cpu preset), 'tf32', or 'bf16' (bfloat16
#                       autocast, weights and optimizer in fp32: where speed matters and no claim
#                       rests on bits). On a CPU 'fp32' and 'tf32' are the same arithmetic.
#   deterministic       deterministic kernels (bitwise repeatable, a run's bits independent of
#                       the runs beside it); off at gpu where no claim rests on bits: the trainer
#                       may then batch models with vmap and compile the step (helpers.train.fit)
#   dataset             'auto' (real CIFAR-10, torchvision or the JPEG pack) or 'synthetic'
#   seed_base           added to every seed a chapter builds (default 0, every profile; see
#                       COMMON): rerun a chapter on fresh seeds with -p seed_base=1000
# --------------------------------------------------------------------------------------------

# Keys every chapter takes at every profile.
COMMON = dict(seed_base=0)

_MODES_COMMON = dict(
    width=1,
    n_test=None,
    momentum=0.9,
    weight_decay=0.0,
    warmup_epochs=0,
    milestones=(),
    gamma=0.5,
    dropout=0.0,
    device="auto",
    dataset="auto",
    tsne_examples=2000,
    deterministic=True,
    precision="fp32",
    # Part 2 (subspaces, seed 004 §4.2-§5). swag_epochs: the late iterates kept for the weight
    # average and the two Gaussians; rank: of the low-rank Gaussian (the source's rank 4 on
    # CIFAR-10); samples: accepted samples per sampler and run for the ensembles (the source's 10);
    # plane_samples: samples per sampler around the reference for the diversity-accuracy plane;
    # accuracy_floor: samples below it are rejected from the ensembles (the source's 0.65);
    # the *_range keys: the strengths the samplers draw from (see helpers.subspace);
    # shift_examples: test images per corrupted set; shift_members: members per method for the
    # Jensen-Shannon divergence (the source's 5); mc_samples: MC-dropout passes; bn_examples:
    # training images that re-estimate BatchNorm statistics for each sampled weight vector.
    swag_epochs=(),
    rank=4,
    samples=10,
    plane_samples=16,
    accuracy_floor=0.65,
    random_range=(0.02, 0.4),
    dropout_range=(0.97, 1.0),
    gauss_range=(1.0, 20.0),
    shift_examples=1000,
    shift_members=5,
    mc_samples=10,
    bn_examples=1000,
)

CHAPTERS: dict[str, dict[str, dict]] = {
    "03_modes": {
        "smoke": dict(
            _MODES_COMMON,
            model="smallcnn", n_train=512, n_test=256, epochs=2, batch_size=128,
            optimizer="adam", lr=1.6e-3, schedule="halving", milestones=(10,),
            augment=False, dropout=0.1, seeds=3, save_epochs=(0, 1, 2), tsne_examples=256,
            swag_epochs=(1, 2), samples=3, plane_samples=4, accuracy_floor=0.0,
            shift_examples=128, shift_members=3, mc_samples=3, bn_examples=128,
        ),
        # Fort et al.'s SmallCNN protocol (Adam 1.6e-3, batch 128, dropout 0.1, no augmentation;
        # they train 40 epochs halving the rate every 10) at half length: 20 epochs halving every
        # 5, so the late checkpoints are taken at a small learning rate as theirs are. About
        # 2 minutes per run on two CPU cores, 11 minutes for the chapter.
        "cpu": dict(
            _MODES_COMMON,
            model="smallcnn", n_train=None, epochs=20, batch_size=128,
            optimizer="adam", lr=1.6e-3, schedule="halving", milestones=(5,),
            augment=False, dropout=0.1, seeds=5,
            save_epochs=(0, 1, 2, 3, 5, 7, 10, 12, 14, 16, 18, 20),
            swag_epochs=tuple(range(11, 21)),
        ),
        # ResNet20v1 on all of CIFAR-10, SGD 0.1 + momentum, weight decay 5e-4, crops and flips,
        # 2 warmup epochs then cosine, 16 seeds (two groups of 8) for 40 epochs: the sources
        # train 200 epochs and show fewer seeds; 40 epochs reach about 91% on the original
        # CIFAR-10 (a point less on the JPEG pack: the issue asks >= 89%). Nondeterministic kernels
        # (25% faster) and bf16: no claim of this chapter rests on bits. Kept epochs: 9 along the
        # trajectory plus the last 6 (35-40) for the weight average and the Gaussians (rank 4 needs
        # >= 5 iterates), 15 states a run. Measured on one H200 (2026-11-30): 16 runs x 40 epochs
        # in about 5.5 min (vmap, bf16, compiled), 1,219 subspace evaluations in 140 s; the
        # corruption sets use 5,000 test images so that the chapter fits one 10-minute window
        # (helpers.cost: about 9 min cold); runs cache ~320 MiB.
        "gpu": dict(
            _MODES_COMMON,
            model="resnet20", n_train=None, epochs=40, batch_size=128,
            optimizer="sgd", lr=0.1, momentum=0.9, weight_decay=5e-4, schedule="cosine",
            warmup_epochs=2, augment=True, seeds=16, deterministic=False,
            precision="bf16",
            save_epochs=(0, 1, 2, 3, 5, 10, 20, 30, 40),
            swag_epochs=tuple(range(35, 41)), accuracy_floor=0.85, shift_examples=5000,
        ),
    },
    # Summers & Dinneen (seed 001): each source of nondeterminism varied alone over R runs.
    # Extra keys: sources (the rows of Table 1), control_runs (identical deterministic runs),
    # cka_runs / cka_examples (models and test images per CKA estimate), depth_models /
    # depth_lr / depth_epochs (Table 8), onset_source / onset_epochs (Fig 2), snapshots (cycles
    # of the snapshot ensemble) and vanilla_pool (independent all-source runs for Table 5),
    # depth_seeds (runs per row of Table 8), div_epochs (the epochs the bit-flip runs and their
    # reference keep, weights included, for the divergence figures; None = every epoch).
    "05_instability": {
        "smoke": dict(
            model="smallcnn", width=0.5, dropout=0.0, dataset="auto", n_train=256, n_test=200,
            epochs=2, batch_size=32, optimizer="sgd", lr=0.05, momentum=0.9, weight_decay=5e-4,
            schedule="cosine", warmup_epochs=0.5, augment=True, seeds=3, device="auto", precision="fp32",
            sources=("init", "order", "aug", "cudnn", "order+aug", "all", "bitflip"),
            control_runs=2, cka_runs=3, cka_examples=100,
            depth_models=("linear", "fc1", "conv1"), depth_lr=0.01, depth_epochs=2,
            onset_source="order+aug", onset_epochs=(1,), snapshots=2, vanilla_pool=4,
            depth_seeds=3, div_epochs=None, group=0,
        ),
        # Two CPU cores: Fort et al.'s SmallCNN (no dropout) on a 4,000-image subset, 10 epochs of
        # batch 32 (1,250 SGD steps: a one-bit change needs a few hundred steps to grow).
        "cpu": dict(
            model="smallcnn", width=1, dropout=0.0, dataset="auto", n_train=4000, n_test=2000,
            epochs=10, batch_size=32, optimizer="sgd", lr=0.05, momentum=0.9, weight_decay=5e-4,
            schedule="cosine", warmup_epochs=1, augment=True, seeds=6, device="auto", precision="fp32",
            sources=("init", "order", "aug", "cudnn", "order+aug", "all", "bitflip"),
            control_runs=3, cka_runs=4, cka_examples=500,
            depth_models=("linear", "fc1", "conv1"), depth_lr=0.01, depth_epochs=10,
            onset_source="order+aug", onset_epochs=(1, 3, 5), snapshots=5, vanilla_pool=10,
            depth_seeds=6, div_epochs=None, group=0,
        ),
        # The paper's ResNet-14 and recipe (max lr 0.4, batch 512, cosine, weight decay 5e-4, crops
        # and flips) on full CIFAR-10 in fp32 with deterministic kernels (every claim here rests on
        # bits), R = 16 runs a row (the paper: 100), 8 epochs (776 steps; the paper: 500 epochs;
        # warmup 1 epoch instead of 3). What one H100 affords in 8 minutes (helpers.cost, an
        # estimate: 138 runs, 6.1 min of training + 1 min of CKA on the CPU): five rows of Table 1
        # (the paper's 'aug' row and the combined rows are left out: 16 more runs each), one onset
        # N = 1 (>= 10% of training) besides N = 0, 4 snapshot cycles of 2 epochs, a pool of 16 for
        # the vanilla ensembles, CKA from 4 runs (6 pairs) on 500 images (its Gram matrices, on the
        # CPU, cost N^2 per pair). Runs cache ~475 MiB: the bit-flip runs and their reference keep
        # epochs 0-3 and the last (the growth claim reads epoch 3), Table 8 has 4 runs a row (fc1
        # keeps 6.3 MB of weights per kept epoch).
        "gpu": dict(
            model="resnet14", width=1, dropout=0.0, dataset="auto", n_train=None, n_test=None,
            epochs=8, batch_size=512, optimizer="sgd", lr=0.4, momentum=0.9, weight_decay=5e-4,
            schedule="cosine", warmup_epochs=1, augment=True, seeds=16, device="auto", precision="fp32",
            sources=("init", "order", "cudnn", "all", "bitflip"),
            control_runs=3, cka_runs=4, cka_examples=500,
            depth_models=("linear", "fc1", "conv1"), depth_lr=0.01, depth_epochs=8,
            onset_source="order", onset_epochs=(1,), snapshots=4, vanilla_pool=16,
            depth_seeds=4, div_epochs=(0, 1, 2, 3),
            # one vmap call of 16 runs (train.Spec.group): a loop of modules is launch-bound on a
            # GPU (12 ms a ResNet step on an H200); bits independent of the neighbours is what
            # tests/test_cuda.py checks before this chapter is published at gpu
            group=16,
        ),
    },
    # Lottery tickets (Frankle & Carbin 2019, seed 003; seed 000 §2). Keys: the Conv-k part
    # (model ... augment) with layer-wise rates by kind (rate_conv / rate_fc / rate_output, the
    # fraction of the *surviving* weights removed per round; scope 'layer', or 'global' with
    # rate_fc as the one rate), rounds of IMP, seeds (independent IMP chains, for the overlap of
    # tickets; controls are trained for seed 1), widths (the overparameterization sweep), match_tol
    # (percentage points below the dense accuracy that still count as "matching"), es_points (epochs
    # kept for early stopping, evenly spaced; each keeps the weights too, hence fewer at gpu), and the ResNet
    # part rn_* (global pruning at rn_rate a round, reset vs rewind to epoch rn_rewind_epoch).
    # n_test images are saved: even positions are the validation half (early stopping), odd the test half.
    "02_lottery_tickets": {
        "smoke": dict(
            model="conv2", width=0.125, dataset="auto", n_train=500, n_test=400, epochs=2, batch_size=60,
            optimizer="adam", lr=1e-3, momentum=0.9, weight_decay=0.0, schedule="const", warmup_epochs=0,
            augment=False, device="auto", precision="fp32", deterministic=True, scope="layer", rate_conv=0.2, rate_fc=0.4, rate_output=0.2,
            rounds=2, seeds=2, widths=(0.0625, 0.125), match_tol=1.5, es_points=2,
            # rn_width 0.5, not 0.25: with 4 input channels, the channels-last 1x1 stride-2 shortcut's
            # weight gradient never returns in torch 2.14.1's oneDNN kernel on an AMD EPYC (measured)
            rn_model="resnet8", rn_width=0.5, rn_n_train=256, rn_epochs=2, rn_batch_size=64,
            rn_optimizer="sgd", rn_lr=0.1, rn_weight_decay=5e-4, rn_schedule="const", rn_warmup_epochs=0,
            rn_augment=False, rn_rate=0.6, rn_rounds=1, rn_rewind_epoch=1,
        ),
        # Two CPU cores (shared). Conv-2 at a quarter of its width (conv 16-16, FC 64-64-10; 0.27M
        # weights, 97% of them in the first FC layer as in the paper's 4.3M) on 4,000 training
        # images, 8 epochs of Adam at 1e-3, batch 60 (528 iterations; the paper: full width, 50,000
        # images, 20K iterations at 2e-4). Per-round rates of 25/45/25% (conv/fc/output) instead of
        # the paper's 10/20/10%, so that 5 rounds reach about 5% remaining instead of 14 rounds.
        # Widths 1/16, 1/8 and 1/4 of Conv-2 for the overparameterization sweep. ResNet20v1 at half
        # width on 1,500 images, 8 epochs of SGD at 0.1 without warmup, pruned globally at 70% a
        # round for 2 rounds (9% left); rewinding goes to the end of epoch 1 (23 of 184 iterations,
        # 12.5% of training; the sources rewind to about 1-2%: the trainer keeps whole epochs).
        "cpu": dict(
            model="conv2", width=0.25, dataset="auto", n_train=4000, n_test=2000, epochs=8, batch_size=60,
            optimizer="adam", lr=1e-3, momentum=0.9, weight_decay=0.0, schedule="const", warmup_epochs=0,
            augment=False, device="auto", precision="fp32", deterministic=True, scope="layer", rate_conv=0.25, rate_fc=0.45, rate_output=0.25,
            rounds=5, seeds=2, widths=(0.0625, 0.125, 0.25), match_tol=1.5, es_points=8,
            rn_model="resnet20", rn_width=0.5, rn_n_train=1500, rn_epochs=8, rn_batch_size=64,
            rn_optimizer="sgd", rn_lr=0.1, rn_weight_decay=5e-4, rn_schedule="const", rn_warmup_epochs=0,
            rn_augment=True, rn_rate=0.7, rn_rounds=2, rn_rewind_epoch=1,
        ),
        # One H100 in 8 minutes (helpers.cost, an estimate: 53 runs, 7.1 min). Every IMP round is
        # a run that needs the previous round's weights; chains advance in lockstep (the seeds'
        # chains, the ResNet's reset and rewind chains), so a round of all of them is one group,
        # but a group of batch 60 still pays the per-step floor (1.25 s an epoch). Conv-2 at full
        # width on all 50,000 images with the paper's Adam 2e-4 and batch 60, but 10 epochs (8.3K
        # iterations; the paper: 20K) and the cpu edition's rates 25/45/25% for 5 rounds (5% of
        # the FC weights left; the paper: 10/20/10% for 14 rounds), 4 early-stopping points
        # (epochs 2, 5, 8, 10; the paper reads every 100 iterations). ResNet20v1 on full CIFAR-10
        # (SGD 0.1, momentum 0.9, weight decay 5e-4, crops and flips, cosine, 30 epochs; the
        # sources: 160+) pruned globally at 40% a round for 6 rounds (4.7% left; the paper: 20% a
        # round), rewinding to epoch 1 (3.3% of training). bf16: no claim rests on bits (pruned
        # weights stay exactly zero: the mask multiplies fp32 weights).
        # Runs cache ~2 GiB, over the 500 MiB target: each early-stopping point keeps Conv-2's
        # 17 MB of weights where only its test logits are read (a trainer change: see helpers.cost).
        "gpu": dict(
            model="conv2", width=1, dataset="auto", n_train=None, n_test=10000, epochs=10, batch_size=60,
            optimizer="adam", lr=2e-4, momentum=0.9, weight_decay=0.0, schedule="const", warmup_epochs=0,
            augment=False, device="auto", precision="bf16", deterministic=False, scope="layer", rate_conv=0.25, rate_fc=0.45,
            rate_output=0.25, rounds=5, seeds=2, widths=(0.25, 0.5, 1), match_tol=1.0, es_points=4,
            rn_model="resnet20", rn_width=1, rn_n_train=None, rn_epochs=30, rn_batch_size=128,
            rn_optimizer="sgd", rn_lr=0.1, rn_weight_decay=5e-4, rn_schedule="cosine", rn_warmup_epochs=0,
            rn_augment=True, rn_rate=0.4, rn_rounds=6, rn_rewind_epoch=1,
        ),
    },
    # MIMO (seed 000 §4; Havasi et al. 2021). Extra keys: widths (the backbone's width multipliers,
    # the capacity sweep), members (the M of the MIMO networks; M = 1 is the baseline network),
    # naive_members (M of the naive multi-head control, one input), ensemble_size (independent
    # M = 1 runs per width, for the deep ensemble), rho / batch_rep (input and batch repetition,
    # applied to every MIMO network, M = 1 included, as the reference script does), ref_width (the
    # width whose M = 1, 2, 3 are compared with the source's ResNet20 figures), seeds (independent
    # runs of every MIMO and naive network; the tables read the first).
    "04_mimo": {
        "smoke": dict(
            model="smallcnn", widths=(0.5, 1), members=(1, 2, 3), naive_members=3, ensemble_size=3,
            rho=0.0, batch_rep=2, ref_width=1, seeds=1, dropout=0.0, dataset="auto", n_train=512, n_test=256,
            epochs=1, batch_size=128, optimizer="adam", lr=2e-3, momentum=0.9, weight_decay=0.0,
            schedule="cosine", warmup_epochs=0, augment=True, device="auto", deterministic=True,
            precision="fp32",
        ),
        # Two shared CPU cores: ResNet20 is ~200 img/s there, so the backbone is Fort et al.'s
        # SmallCNN (16/32/32 channels times width) at widths 0.5, 1, 1.5 (6k, 19k, 40k parameters;
        # the source's ResNet20 has 272k), on a 4,000-image class-balanced subset for 10 epochs,
        # Adam with cosine decay (scale-invariant, so the mean-vs-sum loss over heads does not
        # matter), crops and flips, rho = 0 and batch repetition 1 (the reference uses 4, which
        # costs 4x the steps: too slow here).
        "cpu": dict(
            model="smallcnn", widths=(0.5, 1, 1.5), members=(1, 2, 3), naive_members=3, ensemble_size=3,
            rho=0.0, batch_rep=1, ref_width=1, seeds=1, dropout=0.0, dataset="auto", n_train=4000, n_test=None,
            epochs=10, batch_size=128, optimizer="adam", lr=2e-3, momentum=0.9, weight_decay=0.0,
            schedule="cosine", warmup_epochs=0, augment=True, device="auto", deterministic=True,
            precision="fp32",
        ),
        # The source's backbone: ResNet20v1 on full CIFAR-10 at width 1 and 2 (0.27M and 1.1M
        # parameters; width 4 alone would cost 6 more minutes), SGD + momentum, 2 warmup epochs
        # then cosine, weight decay 5e-4, batch 128, rho = 0 (the reference script's CIFAR
        # default), 2 seeds of every network (3 of M = 1, the deep ensemble), batch repetition 2
        # for 20 epochs: 40 passes over the data per network (the reference: batch repetition 4
        # for 250 epochs, 1,000 passes). Estimated on one H100 (helpers.cost, not measured): 18
        # runs, 6.9 min, 4.9 of them at width 2 (four times the multiply-adds of width 1).
        "gpu": dict(
            model="resnet20", widths=(1, 2), members=(1, 2, 3), naive_members=3, ensemble_size=3,
            rho=0.0, batch_rep=2, ref_width=1, seeds=2, dropout=0.0, dataset="auto", n_train=None, n_test=None,
            epochs=20, batch_size=128, optimizer="sgd", lr=0.1, momentum=0.9, weight_decay=5e-4,
            schedule="cosine", warmup_epochs=2, augment=True, device="auto", deterministic=False,
            precision="bf16",  # no bitwise claim; speed matters
        ),
    },
    # Chapter 01, the loss landscape (seeds 000 §1/§5, 002, 004 App. A / Fig 5). One recipe
    # (SGD + momentum, cosine) trains: the R independent runs (every epoch kept: the saddle
    # analysis and the radial plane's trajectories use them), two children fine-tuned from run 1's
    # checkpoint at ``parent_epoch`` (lr ``child_lr``, the remaining epochs), a width sweep, and
    # runs at other batch sizes (flat minima). Landscape points are evaluated on the first
    # ``n_eval`` training images (loss) and the test subset, BN statistics recomputed on
    # ``bn_examples`` training images; Hessians on the first ``hessian_examples`` training images.
    # Extra keys: line_points (points on each straight line), radial_points/radial_range (the
    # grid of the radial plane, in units of the optima), slice_points/slice_range (2D filter-
    # normalized slices), lanczos_iters, widths/width_seeds, compare_model (another architecture,
    # a ResNet against the plain CNN, for the slices; "" skips it), bezier_epochs/bezier_lr/
    # curve_points (the tunnel),
    # init_gains/deep_epochs/deep_lr (unit variance: DeepCNN, 20 layers), flat_batches/flat_seeds,
    # saddle_epochs (checkpoints of run 1 whose Hessian is probed), traj_epochs (the epochs runs
    # 1 and 2 keep for their trajectories on the radial plane; the other runs keep only their
    # last, run 1 also 0, parent_epoch and saddle_epochs; None = every run keeps every epoch).
    "01_loss_landscape": {
        "smoke": dict(
            model="smallcnn", width=1, dropout=0.0, dataset="auto", n_train=512, n_test=200,
            epochs=2, batch_size=64, optimizer="sgd", lr=0.05, momentum=0.9, weight_decay=5e-4,
            schedule="cosine", warmup_epochs=0, augment=False, seeds=2, device="auto", precision="fp32", deterministic=True,
            parent_epoch=1, child_lr=0.02, n_eval=256, bn_examples=256, line_points=3,
            radial_points=3, radial_range=(-0.2, 1.2), slice_points=3, slice_range=1.0,
            hessian_examples=64, lanczos_iters=3, widths=(0.5, 1), width_seeds=2,
            compare_model="", bezier_epochs=1, bezier_lr=0.01, curve_points=3,
            init_gains=(0.6, 1.0, 1.6), deep_epochs=1, deep_lr=0.02, flat_batches=(32, 64), flat_seeds=1,
            saddle_epochs=(0, 1, 2), traj_epochs=None,
        ),
        # Two CPU cores: Fort et al.'s SmallCNN (no dropout) on a 5,000-image subset for 8 epochs
        # (the sources: ResNet20v1 / MediumCNN on all 50,000 images for 200 epochs); landscapes on
        # 1,000 training and 1,000 test images (BN statistics, for the ResNet, from 500); Hessians
        # from 16 Lanczos steps on 512 images.
        "cpu": dict(
            model="smallcnn", width=1, dropout=0.0, dataset="auto", n_train=5000, n_test=1000,
            epochs=8, batch_size=128, optimizer="sgd", lr=0.05, momentum=0.9, weight_decay=5e-4,
            schedule="cosine", warmup_epochs=0.5, augment=False, seeds=3, device="auto", precision="fp32", deterministic=True,
            parent_epoch=2, child_lr=0.02, n_eval=1000, bn_examples=500, line_points=11,
            radial_points=9, radial_range=(-0.2, 1.2), slice_points=9, slice_range=1.0,
            hessian_examples=512, lanczos_iters=16, widths=(0.25, 0.5, 1, 2), width_seeds=3,
            compare_model="resnet8", bezier_epochs=4, bezier_lr=0.01, curve_points=11,
            init_gains=(0.6, 1.0, 1.6), deep_epochs=2, deep_lr=0.02, flat_batches=(32, 128, 512),
            flat_seeds=2, saddle_epochs=(0, 1, 2, 4, 8), traj_epochs=None,
        ),
        # The sources' shape: ResNet20v1 on all of CIFAR-10 with crops and flips, 30 epochs (the
        # sources: 200), bf16 (no claim rests on bits), the width sweep on ResNet20 widths 0.5-2
        # (width 4 would add 6 min of training and 2 of Hessians). Landscapes on 5,000 training
        # and 5,000 test images (BN statistics from 2,000), 17-point lines and curves, 17x17 planes,
        # 15x15 slices; Hessians from 30 Lanczos steps on 2,000 images. Runs 1 and 2 keep 14 epochs
        # for their trajectories, every other run its last only. Estimated cold on one H100
        # (helpers.cost, not measured): 32 runs, 5.0 min of training + 2.0 of analyses; cache ~76 MiB.
        "gpu": dict(
            model="resnet20", width=1, dropout=0.0, dataset="auto", n_train=None, n_test=5000,
            epochs=30, batch_size=128, optimizer="sgd", lr=0.1, momentum=0.9, weight_decay=5e-4,
            schedule="cosine", warmup_epochs=2, augment=True, seeds=4, device="auto", precision="bf16", deterministic=False,
            parent_epoch=5, child_lr=0.02, n_eval=5000, bn_examples=2000, line_points=17,
            radial_points=17, radial_range=(-0.2, 1.2), slice_points=15, slice_range=1.0,
            hessian_examples=2000, lanczos_iters=30, widths=(0.5, 1, 2), width_seeds=3,
            compare_model="mediumcnn", bezier_epochs=10, bezier_lr=0.01, curve_points=17,
            init_gains=(0.6, 1.0, 1.6), deep_epochs=5, deep_lr=0.02, flat_batches=(32, 128, 1024),
            flat_seeds=3, saddle_epochs=(0, 1, 2, 5, 10, 20, 30),
            traj_epochs=(0, 1, 2, 3, 4, 5, 6, 8, 10, 12, 15, 20, 25, 30),
        ),
    },
}


def chapter_params(chapter: str, profile: str = "auto", **overrides) -> types.SimpleNamespace:
    """The parameters of ``chapter`` at ``profile`` with ``overrides`` applied.

    ``None`` overrides are ignored, so a notebook can pass its parameters cell through as is.
    """
    if chapter not in CHAPTERS:
        raise ConfigError(f"unknown chapter {chapter!r}; choose one of: {', '.join(CHAPTERS)}")
    resolved = resolve_profile(profile)
    preset = dict(COMMON, **CHAPTERS[chapter][resolved])
    for key, value in overrides.items():
        if value is None:
            continue
        if key not in preset:
            raise ConfigError(
                f"unknown parameter {key!r} for chapter {chapter}; valid: {', '.join(sorted(preset))}"
            )
        if isinstance(preset[key], tuple) and isinstance(value, list):
            value = tuple(value)
        preset[key] = value
    return types.SimpleNamespace(chapter=chapter, profile=resolved, **preset)


def seed_base(P) -> int:
    """``P.seed_base``, or 0 for a parameters object made without it (e.g. by hand in a test)."""
    return int(getattr(P, "seed_base", 0) or 0)
