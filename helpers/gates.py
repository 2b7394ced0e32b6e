"""Every run a chapter needs, computed without executing its notebook.

A chapter's runs are asked of the runs cache by its *gates*: memoized functions such as
:func:`helpers.chapters.modes.independent_runs` that every cell of the chapter starts with (called as
``gate(profile, dataset, **parameters)``). :data:`GATES` lists them per chapter, in the order the
notebook first calls them, with the notebook parameters each receives (exactly as the notebook
passes them). Two things use the list:

* :func:`compute` runs the gates for real: every run of the chapter is trained (or found in the
  cache) by :func:`helpers.runs.get`, through whichever executor is in use
  (:func:`helpers.runs.using`), and nothing else of the notebook runs. ``python -m helpers train``
  is this; executing the notebook afterwards with the same parameters trains nothing.
* :func:`helpers.cost.record` runs them with ``runs.get`` replaced by a recorder, to count and
  price a chapter's runs.

``tests/test_gates.py`` checks the list against the notebooks' own calls.
"""
from __future__ import annotations

import dataclasses
import importlib

from . import config


@dataclasses.dataclass(frozen=True)
class Gate:
    module: str            # helpers.<module>
    name: str              # the function the notebook calls
    params: tuple          # the notebook parameters it passes (besides profile and dataset)
    uncached: str = ""     # where the memoized function is not ``name`` itself (a wrapper around it)

    def function(self, cached: bool = True):
        """The gate; ``cached=False``: the function under its ``lru_cache`` (fresh on every call)."""
        mod = importlib.import_module(f"helpers.chapters.{self.module}")
        fn = getattr(mod, self.uncached or self.name) if not cached else getattr(mod, self.name)
        return fn if cached else getattr(fn, "__wrapped__", fn)


_LL = ("seeds", "epochs", "n_train", "seed_base")
_LOTTERY = ("rounds", "seeds", "epochs", "n_train", "seed_base")
_MODES = ("seeds", "epochs", "model", "n_train", "seed_base")
_MIMO = ("epochs", "model", "n_train", "widths", "seed_base")
_INSTABILITY = ("seeds", "epochs", "model", "n_train", "seed_base")

GATES: dict[str, list[Gate]] = {
    # the notebook calls main_runs and analyses (helpers.chapters.loss_landscape.analysis) that start with
    # main_runs, width_runs, deep_runs or batch_runs, all with the same parameters
    "01_loss_landscape": [Gate("loss_landscape", "main_runs", _LL), Gate("loss_landscape", "width_runs", _LL),
                          Gate("loss_landscape", "deep_runs", _LL), Gate("loss_landscape", "batch_runs", _LL)],
    "02_lottery_tickets": [Gate("lottery", "experiment", _LOTTERY),
                           Gate("lottery", "resnet_experiment", ("seed_base",)),
                           Gate("lottery", "width_experiment", ("rounds", "epochs", "n_train", "seed_base"))],
    "03_modes": [Gate("modes", "independent_runs", _MODES)],
    # mimo.experiment turns lists (papermill's) into tuples, then calls the memoized _experiment
    "04_mimo": [Gate("mimo", "experiment", _MIMO, uncached="_experiment")],
    "05_instability": [Gate("instability", n, _INSTABILITY)
                       for n in ("main_runs", "depth_runs", "onset_runs", "snapshot_runs")],
}


def gates(chapter: str) -> list[Gate]:
    """The chapter's gates, in the order its notebook first calls them."""
    if chapter not in GATES:
        raise config.ConfigError(f"unknown chapter {chapter!r}; choose one of: {', '.join(GATES)}")
    return GATES[chapter]


def notebook_params(chapter: str) -> set:
    """The notebook parameters that reach some gate of ``chapter``."""
    return {p for g in gates(chapter) for p in g.params}


def arguments(chapter: str, gate: Gate, values: dict, presets: bool = False) -> dict:
    """The keyword arguments ``gate`` gets from ``values``: the notebook parameters it receives
    (those not given are None, as in the parameters cell: the preset's value; lists as tuples).
    ``presets=True``: also any other preset key in ``values`` that is no notebook parameter (what
    :func:`helpers.cost.record` may vary); otherwise such keys (a notebook parameter that only its
    analyses read) are left out."""
    kw = {p: values.get(p) for p in gate.params}
    if presets:
        ours = notebook_params(chapter)
        kw.update({k: v for k, v in values.items() if k not in ours})
    return {k: _hashable(v) for k, v in kw.items()}


def _hashable(value):
    return tuple(_hashable(v) for v in value) if isinstance(value, list) else value


def compute(chapter: str, profile: str = "auto", dataset: str = "auto", **values) -> None:
    """Run every gate of ``chapter`` as its notebook does with these parameters: every run it
    needs is then in the runs cache (trained through the executor in use, see
    :func:`helpers.runs.using`)."""
    for gate in gates(chapter):
        gate.function()(profile, dataset, **arguments(chapter, gate, values))


def record_calls(chapter: str, profile: str, **overrides) -> None:
    """Run every gate unmemoized (for :func:`helpers.cost.record`, which replaces ``runs.get``)."""
    for gate in gates(chapter):
        gate.function(cached=False)(profile, "auto", **arguments(chapter, gate, overrides, presets=True))


def cache_clear(chapter: str) -> None:
    """Forget the gates' memoized results (e.g. after the runs cache moved: ``HELPERS_DATA_DIR``)."""
    for gate in gates(chapter):
        for fn in (gate.function(), getattr(importlib.import_module(f"helpers.chapters.{gate.module}"), gate.uncached or gate.name)):
            if hasattr(fn, "cache_clear"):
                fn.cache_clear()
