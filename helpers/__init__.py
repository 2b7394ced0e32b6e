"""The book's shared package: every notebook cell is a short call into one of these modules.

========== ===================================================================================
module     owns
========== ===================================================================================
*the engine*
config     profiles (smoke, cpu, gpu, auto) and each chapter's presets; validation
data       CIFAR-10 from its sources to a uint8 cache and device-resident, augmented batches
models     ResNet20v1, the small CNNs, linear models, Conv-2/4/6, the MIMO wrapper
train      the one trainer, with separate seeds for every source of randomness
runs       the content-addressed cache of trained runs under ``data/runs/``; its executors
gates      every run a chapter needs, computed without its notebook (``python -m helpers train``)
ray_executor runs.get's groups as Ray tasks (the only module that imports Ray)
cost       what a chapter costs at a profile: GPU seconds and cache bytes (a calibrated model)
metrics    functions on predictions and weights (accuracy, disagreement, CKA, ...)
stats      intervals for the claims: bootstrap over runs / pairs (resampling runs) / examples,
           exact intervals (Clopper-Pearson, Wilson, t, chi-square, F), detectable differences
claims     a source's claim, our figure, its interval and the verdict; the table and scorecard
prose      the run's numbers in a chapter's markdown (myst-nb glue), so no typed number goes stale
plots      one house style for every figure
*the analysis toolkits*
landscape  interpolation, planes, directions, Hessian, curves (BN statistics recomputed)
subspace   samplers around an optimum (random direction, dropout, diagonal and low-rank Gaussian)
pruning    magnitude (global / per layer) and random masks, overlap
corruptions the dataset-shift corruptions (CIFAR-10-C style) at five intensities
*the chapters*
chapters   one module per chapter (``helpers.chapters.modes`` is chapter 03; see its table)
*the command line*
cli        ``python -m helpers``: data, params, run, train, build, book, smoke, compare, scorecard
========== ===================================================================================

The table is the design; ``__all__`` names the modules present in this checkout. Nothing
is imported here (one environment variable is set, see below), so ``import helpers`` is instant and does not pull in torch: import the module
you need, e.g. ``from helpers import metrics``.
"""

import os as _os
import pkgutil as _pkgutil

# Read by cuBLAS once, at the first matmul of the process: deterministic fits need it, so it is set
# before anything can touch CUDA (also in the papermill kernel's environment, helpers.cli).
CUBLAS_WORKSPACE_CONFIG = ":4096:8"
_os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", CUBLAS_WORKSPACE_CONFIG)

# ray_executor is left out: ``from helpers import *`` must not import Ray
__all__ = sorted(m.name for m in _pkgutil.iter_modules(__path__)
                 if not m.name.startswith("_") and m.name != "ray_executor")
