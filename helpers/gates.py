"""Every run a chapter needs, computed without executing its notebook.

A chapter's runs are asked of the runs cache by its *gates*: functions of the chapter's
parameters (a :class:`helpers.config.Params`, ``P``), memoized on them, such as
:func:`helpers.chapters.modes.independent_runs` that every cell of the chapter starts with
(``P, R = modes.independent_runs(P)``). :func:`gate` makes one; :data:`GATES` lists them per
chapter, in the order the notebook first calls them. Two things use the list:

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
import functools
import importlib

from . import config


def gate(chapter: str, maxsize: int = 8):
    """Make ``fn(P)`` one of ``chapter``'s gates, memoized on its parameters (``maxsize=0``:
    not memoized). The gate is called with the notebook's parameters, ``gate(P)``, or, as a
    reader lifting a cell might, with a profile and overrides: ``gate("cpu", seeds=3)``; keyword
    overrides also apply to a given ``P`` (None keeps its value). The runs it asks for are one
    :func:`helpers.runs.stage`: one line when it starts training, one when it is done."""
    def deco(fn):
        cached = functools.lru_cache(maxsize=maxsize)(fn)

        @functools.wraps(fn)
        def call(P="auto", /, **overrides):
            if isinstance(P, config.Params):
                if P.chapter != chapter:
                    raise config.ConfigError(f"{fn.__name__} takes the parameters of chapter "
                                             f"{chapter}, not of {P.chapter}")
                changes = {k: v for k, v in overrides.items() if v is not None}
                P = P.replace(**changes) if changes else P
            else:
                P = config.chapter_params(chapter, P, **overrides)
            from . import runs

            with runs.stage("first stage"):   # every gate's runs that need no other run
                prefetch(P)
            with runs.stage(fn.__name__.replace("_", " ")):  # one report for all its calls
                return cached(P)

        call.cache_clear = cached.cache_clear
        call.uncached = fn
        return call
    return deco


@dataclasses.dataclass(frozen=True)
class Gate:
    module: str            # helpers.chapters.<module>
    name: str              # the function the notebook calls

    def function(self, cached: bool = True):
        """The gate; ``cached=False``: the function under its memo (fresh on every call)."""
        fn = getattr(importlib.import_module(f"helpers.chapters.{self.module}"), self.name)
        return fn if cached else fn.uncached


GATES: dict[str, list[Gate]] = {
    # the notebook calls main_runs and analyses (helpers.chapters.loss_landscape.analysis) that
    # start with main_runs, width_runs, deep_runs or batch_runs
    "01_loss_landscape": [Gate("loss_landscape", n)
                          for n in ("main_runs", "width_runs", "deep_runs", "batch_runs")],
    "02_lottery_tickets": [Gate("lottery", n)
                           for n in ("experiment", "resnet_experiment", "width_experiment")],
    "03_modes": [Gate("modes", "independent_runs")],
    "04_mimo": [Gate("mimo", "experiment")],
    "05_instability": [Gate("instability", n)
                       for n in ("main_runs", "depth_runs", "onset_runs", "snapshot_runs")],
}


def gates(chapter: str) -> list[Gate]:
    """The chapter's gates, in the order its notebook first calls them."""
    if chapter not in GATES:
        raise config.ConfigError(f"unknown chapter {chapter!r}; choose one of: {', '.join(GATES)}")
    return GATES[chapter]


def compute(P) -> None:
    """Run every gate of ``P``'s chapter as its notebook does with these parameters: every run
    it needs is then in the runs cache (trained through the executor in use, see
    :func:`helpers.runs.using`)."""
    for g in gates(P.chapter):
        g.function()(P)


_prefetched: set = set()   # parameters whose first-stage runs were asked for (or need not be)
_recording = [False]       # record_calls is running: its gates must not prefetch


def prefetch(P) -> None:
    """Before the first gate of ``P``'s chapter runs: where the runs would train side by side
    (:class:`helpers.runs.ProcessExecutor`, the default on a GPU and in a notebook on a CPU of
    several cores; or a Ray executor in use), ask the runs cache
    in one call for every run of the chapter that depends on no other run (no mask, no starting
    state), so that they train at once instead of gate by gate; a later stage (children of a
    checkpoint, a lottery round) then trains when its gate asks. Once per parameters; nothing
    is asked where runs train one group after another, and a run already cached costs nothing."""
    if P in _prefetched or _recording[0]:
        return
    _prefetched.add(P)
    from . import runs, train

    executor = runs._executor or runs.default_executor(P.device)
    if executor is runs.LOCAL:
        return
    from . import cost

    first = cost.first_stage(cost.record_params(P, device=train.pick_device(P.device).type))
    if first:
        runs.get(first, device=P.device)


def record_calls(P) -> None:
    """Run every gate unmemoized (for :func:`helpers.cost.record`, which replaces ``runs.get``)."""
    saved, _recording[0] = _recording[0], True
    try:
        for g in gates(P.chapter):
            g.function(cached=False)(P)
    finally:
        _recording[0] = saved


def cache_clear(chapter: str) -> None:
    """Forget the gates' memoized results (e.g. after the runs cache moved: ``HELPERS_DATA_DIR``)."""
    for g in gates(chapter):
        g.function().cache_clear()
    _prefetched.difference_update({P for P in _prefetched if P.chapter == chapter})
