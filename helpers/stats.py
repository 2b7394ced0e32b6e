"""Uncertainty for the claims tables: a measured value with its 95% interval, and what it rests on.

Every claim row of the book sets one measured figure against a test (a band or an inequality,
:mod:`helpers.claims`). Whether the verdict would survive a rerun on other seeds depends on how
uncertain that figure is, so each figure is an :class:`Estimate`: the value, a 95% interval, the
method that produced the interval and the independent units it rests on.

The units are what can be resampled without pretending to more data than there is:

* **runs** -- independently seeded training runs. A per-run value (an accuracy, a barrier) is one
  observation: :func:`bootstrap` (``scipy.stats.bootstrap``, BCa) over runs, or :func:`mean_t`
  (Student's t, exact for normal data and better than a bootstrap with 3-5 runs).
* **pairs of runs** -- a mean over all pairs i < j (disagreement between seeds). Pairs that share
  a run are not independent, so :func:`pairwise` resamples *runs* and keeps the pairs among the
  drawn runs (the same run drawn twice makes no pair).
* **test examples** -- a quantity of one fixed model (or set of models) on the test set:
  :func:`bootstrap` with ``unit="test examples"``, or, for a proportion, :func:`proportion` (the
  exact Clopper-Pearson or the Wilson interval of ``scipy.stats.binomtest``).

Exact intervals where one exists under normality: :func:`sd_ci` (chi-square) and
:func:`sd_ratio_ci` (F). :func:`detectable_difference` and :func:`detectable_sd_ratio` say, before
or after a chapter runs, what difference its run counts can detect (80% power, 5% two-sided);
:func:`sd_equivalence_power`, how often they can show two SDs within a factor of each other.
An :class:`Estimate` without an interval (:func:`point`) is allowed but says so.
"""
from __future__ import annotations

import dataclasses
import itertools
import math
import warnings
from dataclasses import dataclass
from typing import Callable

import numpy as np
from scipy import stats as _st

CONFIDENCE = 0.95
N_RESAMPLES = 4000
MIN_DEFINED = 0.95  # share of bootstrap resamples that must be defined for an interval


@dataclass(frozen=True)
class Estimate:
    """A measured value, its interval ``[lo, hi]`` (None: no interval), the method and the units.

    ``method`` is a short phrase for the claims table, e.g. "bootstrap over 6 runs (BCa)";
    ``n`` the number of independent units and ``unit`` their kind ('runs', 'test examples').
    """
    value: float
    lo: float | None = None
    hi: float | None = None
    method: str = "no interval"
    n: int | None = None
    unit: str = ""

    @property
    def has_interval(self) -> bool:
        return (self.lo is not None and self.hi is not None
                and not math.isnan(self.lo) and not math.isnan(self.hi))

    def __float__(self) -> float:
        return float(self.value)

    def text(self, fmt: str = "{:.2f}", unit: str = "") -> str:
        """'0.41 (95% interval 0.35 to 1.08)', '+3.1 pp (95% interval +1.0 to +5.2)' with
        ``unit=" pp"``, or '0.41 (no interval)': ``fmt`` formats the value and both ends, the
        unit follows the value; the interval is named at the module's ``CONFIDENCE``."""
        value = fmt.format(self.value) + unit
        if not self.has_interval:
            return f"{value} (no interval)"
        return (f"{value} ({CONFIDENCE:.0%} interval {fmt.format(self.lo)} to "
                f"{fmt.format(self.hi)})")

    def map(self, f: Callable[[float], float], decreasing: bool = False) -> "Estimate":
        """A monotone function of the estimate (e.g. ``lambda v: 100 * v``): value and ends are
        transformed; a decreasing function swaps the ends."""
        lo = None if self.lo is None else float(f(self.lo))
        hi = None if self.hi is None else float(f(self.hi))
        if decreasing:
            lo, hi = hi, lo
        return dataclasses.replace(self, value=float(f(self.value)), lo=lo, hi=hi)

    def scale(self, k: float) -> "Estimate":
        """``k`` times the estimate (``k`` may be negative)."""
        return self.map(lambda v: k * v, decreasing=k < 0)


def point(value, why: str = "no interval") -> Estimate:
    """A value without an interval (a single run, or a quantity with nothing to resample)."""
    return Estimate(float(value), None, None, why)


# --------------------------------------------------------------------------------------------
# exact intervals


def proportion(k: int, n: int, method: str = "exact", confidence: float = CONFIDENCE) -> Estimate:
    """k successes in n independent trials: k/n with the Clopper-Pearson (``'exact'``) or the
    Wilson (``'wilson'``) interval, from ``scipy.stats.binomtest``."""
    k, n = int(k), int(n)
    if n <= 0:
        return Estimate(float("nan"), None, None, "no trials")
    ci = _st.binomtest(k, n).proportion_ci(confidence_level=confidence, method=method)
    name = {"exact": "Clopper-Pearson", "wilson": "Wilson"}.get(method, method)
    return Estimate(k / n, float(ci.low), float(ci.high), f"{name} interval, {n} trials", n,
                    "trials")


def mean_t(values, unit: str = "runs", confidence: float = CONFIDENCE,
           floor: float | None = None) -> Estimate:
    """The mean of independent values with Student's t interval (exact for normal values).
    ``floor``: the least value the mean can take (0 for sizes such as |a - b|); an interval
    reaching below it is cut there, and its method says so."""
    v = _finite(values)
    n = len(v)
    if n == 0:
        return Estimate(float("nan"), None, None, f"no {unit}")
    if n == 1:
        return Estimate(float(v[0]), None, None, f"one {unit.rstrip('s')}: no interval", 1, unit)
    m, se = float(v.mean()), float(v.std(ddof=1) / math.sqrt(n))
    h = float(_st.t.ppf(0.5 + confidence / 2, n - 1)) * se
    method = f"t interval over {n} {unit}"
    lo = m - h
    if floor is not None and lo < floor:
        lo, method = float(floor), f"{method}, cut at {floor:g} (the least possible value)"
    return Estimate(m, lo, m + h, method, n, unit)


def diff_t(a, b, unit: str = "runs", confidence: float = CONFIDENCE) -> Estimate:
    """mean(a) - mean(b) of two independent samples, with Welch's t interval."""
    return contrast_t([a, b], [1, -1], unit, confidence)


def contrast_t(groups, coefs, unit: str = "runs", confidence: float = CONFIDENCE) -> Estimate:
    """Σ c_i · mean(groups[i]) of independent samples, with the Welch-Satterthwaite t interval
    (each group's own spread: no assumption that they share one). Fewer than 2 values in a
    group: no interval."""
    groups = [_finite(g) for g in groups]
    sizes = [len(g) for g in groups]
    if len(groups) == 1 and sizes[0] > 0:   # one mean (times c): Student's t over its values
        return mean_t(coefs[0] * groups[0], unit, confidence)
    value = (float(sum(c * g.mean() for c, g in zip(coefs, groups))) if min(sizes) > 0
             else float("nan"))
    where = (" and ".join(map(str, sizes)) if len(sizes) < 3 else
             ", ".join(map(str, sizes[:-1])) + f" and {sizes[-1]}") + f" {unit}"
    if min(sizes) < 2:
        return Estimate(value, None, None, f"fewer than 2 {unit} a side: no interval",
                        sum(sizes), unit)
    parts = [c * c * g.var(ddof=1) / len(g) for c, g in zip(coefs, groups)]
    se = math.sqrt(sum(parts))
    if se == 0:
        return Estimate(value, value, value, f"Welch t interval, {where} (no spread)",
                        sum(sizes), unit)
    df = se ** 4 / sum(v * v / (n - 1) for v, n in zip(parts, sizes))
    h = float(_st.t.ppf(0.5 + confidence / 2, df)) * se
    return Estimate(value, value - h, value + h, f"Welch t interval, {where}", sum(sizes), unit)


def sd_ci(values, unit: str = "runs", confidence: float = CONFIDENCE) -> Estimate:
    """The sample SD (ddof=1) with the chi-square interval (exact for normal values)."""
    v = _finite(values)
    n = len(v)
    if n < 2:
        return Estimate(float("nan"), None, None, f"fewer than 2 {unit}")
    s = float(v.std(ddof=1))
    a = 1 - confidence
    lo = s * math.sqrt((n - 1) / _st.chi2.ppf(1 - a / 2, n - 1))
    hi = s * math.sqrt((n - 1) / _st.chi2.ppf(a / 2, n - 1))
    return Estimate(s, lo, hi, f"chi-square interval over {n} {unit}", n, unit)


def sd_interval_span(n: int, k: int = 1, confidence: float = CONFIDENCE) -> float:
    """hi / lo of :func:`sd_ci`'s interval for an SD of ``n`` values at confidence 1 - α/k (one
    of k simultaneous intervals): the least upper bound :func:`max_over_min` of k such SDs can
    reach, even when the sample SDs are all equal."""
    a = (1 - confidence) / k
    return math.sqrt(_st.chi2.ppf(1 - a / 2, n - 1) / _st.chi2.ppf(a / 2, n - 1))


def sd_ratio_ci(a, b, unit: str = "runs", confidence: float = CONFIDENCE) -> Estimate:
    """SD(a) / SD(b) of two independent samples, with the F interval (exact for normal values)."""
    a, b = _finite(a), _finite(b)
    if len(a) < 2 or len(b) < 2:
        return Estimate(float("nan"), None, None, f"fewer than 2 {unit}")
    sa, sb = float(a.std(ddof=1)), float(b.std(ddof=1))
    if sb == 0:
        return Estimate(float("nan"), None, None, "zero SD in the denominator")
    r = sa / sb
    al = 1 - confidence
    d1, d2 = len(a) - 1, len(b) - 1
    lo = r / math.sqrt(_st.f.ppf(1 - al / 2, d1, d2))
    hi = r / math.sqrt(_st.f.ppf(al / 2, d1, d2))
    return Estimate(r, lo, hi, f"F interval, {len(a)} and {len(b)} {unit}",
                    len(a) + len(b), unit)


def max_over_min(estimates, unit: str = "groups") -> Estimate:
    """The largest over the smallest of k positive quantities, with an interval for the ratio of
    the true largest and smallest, from per-quantity intervals that hold *simultaneously* (make
    each at confidence 1 - α/k, Bonferroni): [max(1, max lo / min hi), max hi / min lo].

    The observed max/min of noisy estimates is biased upward (six equal SDs from 6 runs each
    spread by more than 2x most of the time); this interval is not, only conservative."""
    est = list(estimates)
    vals = [e.value for e in est]
    value = max(vals) / min(vals) if min(vals) > 0 else float("nan")
    if not all(e.has_interval for e in est):
        return Estimate(value, None, None, "no interval for every group")
    los, his = [e.lo for e in est], [e.hi for e in est]
    lo = max(1.0, max(los) / min(his)) if min(his) > 0 else 1.0
    hi = max(his) / min(los) if min(los) > 0 else float("inf")
    return Estimate(value, lo, hi, f"simultaneous intervals of {len(est)} {unit} (Bonferroni), "
                    + est[0].method, sum(e.n or 0 for e in est) or None, est[0].unit)


def sd_spread(groups, unit: str = "runs", confidence: float = CONFIDENCE) -> Estimate:
    """max SD / min SD over groups of values (e.g. the rows of a table, R runs each), with
    :func:`max_over_min` on Bonferroni chi-square intervals (exact for normal values)."""
    k = len(groups)
    level = 1 - (1 - confidence) / k
    return max_over_min([sd_ci(g, unit, level) for g in groups], unit="SDs")


# --------------------------------------------------------------------------------------------
# bootstrap


def bootstrap(samples, statistic: Callable, *, paired: bool = False, unit: str = "runs",
              n_resamples: int = N_RESAMPLES, seed: int = 0, method: str = "BCa",
              confidence: float = CONFIDENCE, vectorized: bool = False,
              batch: int | None = None) -> Estimate:
    """``statistic(*samples)`` with a ``scipy.stats.bootstrap`` interval.

    ``samples``: one 1-D array, or a tuple of them (independent groups, e.g. the runs of two
    rows, each resampled on its own; ``paired=True`` resamples one set of indices for all, e.g.
    two values per run, or two models' per-example correctness). BCa by default, the percentile
    interval where BCa is undefined (a degenerate sample). Fewer than 2 units: no interval.
    ``batch``: resamples drawn at a time (scipy's; bounds memory for thousands of examples).
    """
    if isinstance(samples, np.ndarray) and samples.ndim == 1 or (
            len(samples) and np.ndim(samples[0]) == 0):
        samples = (samples,)
    samples = tuple(np.asarray(s, dtype=np.float64) for s in samples)
    value = float(statistic(*samples))
    sizes = [len(s) for s in samples]
    n = sizes[0] if paired else sum(sizes)
    where = f"{sizes[0]} {unit}" if paired else _groups(sizes, unit)
    if min(sizes) < 2:
        return Estimate(value, None, None, f"{where}: too few to resample", n, unit)
    if all(np.all(s == s[0]) for s in samples):
        return Estimate(value, value, value, f"bootstrap over {where} (all equal)", n, unit)
    lo = hi = float("nan")
    for how in dict.fromkeys((method, "percentile")):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = _st.bootstrap(samples, statistic, paired=paired, vectorized=vectorized,
                                n_resamples=n_resamples, confidence_level=confidence,
                                method=how, rng=np.random.default_rng(seed), batch=batch)
        lo, hi = float(res.confidence_interval.low), float(res.confidence_interval.high)
        if math.isfinite(lo) and math.isfinite(hi):
            break
    if not (math.isfinite(lo) and math.isfinite(hi)):
        # A few degenerate resamples (a rank correlation of a resample whose values are all
        # tied) make the statistic NaN and scipy's whole interval NaN. Where they are rare,
        # the percentile interval of the defined resamples stands; where not, there is none.
        dist = np.asarray(res.bootstrap_distribution, dtype=np.float64).ravel()
        ok = dist[np.isfinite(dist)]
        if not (math.isfinite(value) and len(ok) >= MIN_DEFINED * len(dist)):
            return Estimate(value, None, None, f"bootstrap over {where} undefined", n, unit)
        al = (1 - confidence) / 2
        lo, hi = (float(v) for v in np.percentile(ok, [100 * al, 100 * (1 - al)]))
        how = f"percentile over the {len(ok)} of {len(dist)} resamples where it is defined"
        return Estimate(value, min(lo, value), max(hi, value), f"bootstrap over {where}; {how}"
                        + _few(min(sizes) if not paired else sizes[0], unit), n, unit)
    return Estimate(value, min(lo, value), max(hi, value),
                    f"bootstrap over {where}; {how}, {n_resamples} resamples"
                    + _few(min(sizes) if not paired else sizes[0], unit), n, unit)


def bootstrap_runs(values, statistic: Callable = np.mean, **kw) -> Estimate:
    """A statistic of per-run values (default: the mean), bootstrapped over runs."""
    kw.setdefault("unit", "runs")
    return bootstrap((_finite(values),), statistic, **kw)


def pooled_sd(groups) -> tuple[float, int]:
    """The pooled within-group SD of several groups of values, and its degrees of freedom
    (Σ (n_g - 1)): e.g. the seed-to-seed spread of the same network at several widths."""
    groups = [_finite(g) for g in groups]
    groups = [g for g in groups if len(g) > 1]
    df = sum(len(g) - 1 for g in groups)
    if df == 0:
        return float("nan"), 0
    return float(math.sqrt(sum(((g - g.mean()) ** 2).sum() for g in groups) / df)), df


def from_spread(value: float, sd: float, df: int, k: int = 2, what: str = "",
                confidence: float = CONFIDENCE) -> Estimate:
    """A sum or difference of ``k`` single runs (coefficients ±1), each with run-to-run SD ``sd``
    known with ``df`` degrees of freedom from other runs: value ± t_{df} · sd · √k. The interval
    for a comparison of single networks, when their seed-to-seed spread is measured on
    comparable ones (``what`` says which)."""
    return contrast_from_spread(value, sd, df, [1] * k, what, confidence)


def contrast_from_spread(value: float, sd: float, df: int, sizes, what: str = "",
                         confidence: float = CONFIDENCE) -> Estimate:
    """A sum or difference (coefficients ±1) of means over ``sizes[i]`` runs each, every run with
    run-to-run SD ``sd`` known with ``df`` degrees of freedom (e.g. :func:`pooled_sd` over the
    groups of a one-way layout): value ± t_{df} · sd · √(Σ 1/n_i), the pooled-variance t interval
    of a contrast. With one term: the interval of one mean."""
    sizes = [int(n) for n in sizes]
    if df < 1 or not math.isfinite(sd) or not sizes or min(sizes) < 1:
        return Estimate(float(value), None, None, "no run-to-run spread: no interval")
    h = float(_st.t.ppf(0.5 + confidence / 2, df)) * sd * math.sqrt(sum(1 / n for n in sizes))
    runs = (f"{len(sizes)} single runs" if max(sizes) == 1 else
            f"the mean of {_groups(sizes, 'runs')}" if len(sizes) == 1 else
            f"means of {_groups(sizes, 'runs')}")
    return Estimate(float(value), value - h, value + h,
                    " ".join(f"t interval, {runs}, run-to-run SD {what}".split())
                    + f", df {df}", sum(sizes), "runs")


def equal_spread_note(groups, what: str = "groups") -> str:
    """Bartlett's test that ``groups`` (lists of values, those with at least 2 kept) have one
    spread, the assumption behind a pooled SD (:func:`pooled_sd`), in words; '' with fewer
    than 2 such groups or no spread."""
    groups = [_finite(g) for g in groups]
    groups = [g for g in groups if len(g) > 1]
    if len(groups) < 2 or any(np.ptp(g) == 0 for g in groups):
        return ""
    p = float(_st.bartlett(*groups).pvalue)
    verdict = "nothing argues against one spread" if p >= 0.05 else "the spreads differ"
    return f"Bartlett's test of equal spread over the {len(groups)} {what}: p = {p:.2f} ({verdict})"


def pair_mean(matrix, idx=None) -> float:
    """Mean of ``matrix[a, b]`` over the pairs of distinct runs among ``idx`` (default: all runs)
    -- what a mean over all pairs i < j becomes when runs are drawn with replacement: a run drawn
    twice is one run, never a pair with itself. NaN when fewer than two distinct runs. A stack
    of matrices (..., R, R) over the same runs (e.g. one per layer) gives an array of means."""
    m = np.asarray(matrix, dtype=np.float64)
    n = m.shape[-1]
    idx = np.arange(n) if idx is None else np.asarray(idx, dtype=np.int64)
    a, b = np.triu_indices(len(idx), 1)
    keep = idx[a] != idx[b]
    if not keep.any():
        return float("nan") if m.ndim == 2 else np.full(m.shape[:-2], np.nan)
    sym = 0.5 * (m + np.swapaxes(m, -1, -2))
    out = sym[..., idx[a][keep], idx[b][keep]].mean(-1)
    return float(out) if m.ndim == 2 else out


def pairwise(matrices, combine: Callable | None = None, *, per_run=(),
             n_resamples: int = N_RESAMPLES, seed: int = 0,
             confidence: float = CONFIDENCE) -> Estimate:
    """A statistic of mean pairwise values, bootstrapped over *runs* (percentile interval).

    ``matrices``: one (R, R) matrix of a pairwise quantity among R runs (its upper triangle is
    used), or a list of such matrices for independent groups of runs; ``combine`` maps the
    groups' pair means to the statistic (default: the one group's pair mean). Each resample
    draws every group's runs with replacement; a draw with fewer than two distinct runs in a
    group is redrawn (it has no pair). ``per_run``: per-run value arrays of the *first* group's
    runs, resampled with the same draw; their means follow the pair means as arguments of
    ``combine`` (e.g. cross-seed disagreement over a per-run within-trajectory one). A group
    may be a stack (L, R, R) of matrices over the same runs (one per layer): the runs are
    drawn once for the whole stack and ``combine`` receives an array of L pair means.
    """
    single = not isinstance(matrices, (list, tuple))
    mats = [np.asarray(matrices, dtype=np.float64)] if single else \
        [np.asarray(m, dtype=np.float64) for m in matrices]
    combine = combine or (lambda *means: means[0])
    extra = [np.asarray(v, dtype=np.float64) for v in per_run]
    if any(len(v) != mats[0].shape[-1] for v in extra):
        raise ValueError("per_run arrays must have one value per run of the first group")
    value = float(combine(*[pair_mean(m) for m in mats], *[v.mean() for v in extra]))
    sizes = [m.shape[-1] for m in mats]
    n = sum(sizes)
    where = _groups(sizes, "runs")
    method = f"bootstrap over {where}, resampling runs not pairs"
    if min(sizes) < 3:  # two runs are one pair: nothing to resample
        return Estimate(value, None, None, f"{where}: too few runs to resample", n, "runs")
    rng = np.random.default_rng(seed)
    out = np.empty(n_resamples)
    for i in range(n_resamples):
        means, first = [], None
        for m in mats:
            while True:
                idx = rng.integers(0, m.shape[-1], m.shape[-1])
                if len(np.unique(idx)) > 1:
                    break
            first = idx if first is None else first
            means.append(pair_mean(m, idx))
        out[i] = combine(*means, *[v[first].mean() for v in extra])
    out = out[np.isfinite(out)]
    if len(out) < 0.5 * n_resamples:
        return Estimate(value, None, None, method + ": undefined", n, "runs")
    a = 1 - confidence
    lo, hi = np.quantile(out, [a / 2, 1 - a / 2])
    return Estimate(value, float(np.min([lo, value])), float(np.max([hi, value])),
                    f"{method}; percentile, {n_resamples} resamples" + _few(min(sizes), "runs"),
                    n, "runs")


def pair_matrix(fn: Callable, items) -> np.ndarray:
    """(R, R) matrix of ``fn(items[i], items[j])`` for i < j (mirrored; diagonal NaN)."""
    items = list(items)
    m = np.full((len(items), len(items)), np.nan)
    for i, j in itertools.combinations(range(len(items)), 2):
        m[i, j] = m[j, i] = fn(items[i], items[j])
    return m


def spearman(x, y, **kw) -> Estimate:
    """Spearman's rho of paired per-run values, bootstrapped over runs (pairs kept together)."""
    def rho(a, b):
        if np.all(a == a[0]) or np.all(b == b[0]):
            return np.nan
        return _st.spearmanr(a, b).statistic
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    kw.setdefault("method", "percentile")
    return bootstrap((x, y), rho, paired=True, **kw)


def per_example(statistic: Callable, *arrays, **kw) -> Estimate:
    """A statistic of per-example arrays of one fixed set of models (e.g. correctness 0/1 of two
    models on the same test images), bootstrapped over test examples, the arrays paired."""
    kw.setdefault("unit", "test examples")
    kw.setdefault("method", "percentile")
    kw.setdefault("n_resamples", 2000)
    kw.setdefault("batch", 100)  # 100 x N at a time: a few MB for a full test set
    return bootstrap(tuple(np.asarray(a, dtype=np.float64) for a in arrays), statistic,
                     paired=True, **kw)


# --------------------------------------------------------------------------------------------
# what a comparison can detect


def detectable_difference(sd: float, n_a: int, n_b: int | None = None, alpha: float = 0.05,
                          power: float = 0.8, df: int | None = None) -> float:
    """The smallest true difference of means that a two-sided t test at ``alpha`` detects with
    probability ``power``, for values with spread ``sd``: (t_{1-α/2} + t_power) · sd · √(1/n_a +
    1/n_b) (two groups), or · sd / √n_a when ``n_b`` is None (one group against a fixed number).
    ``df``: the degrees of freedom of ``sd`` when it comes from elsewhere (e.g. single runs whose
    spread is known from other seeds)."""
    sizes = [n_a] if n_b is None else [n_a, n_b]
    df = (sum(sizes) - len(sizes)) if df is None else df
    return detectable_contrast(sd, sizes, df, alpha, power)


def detectable_contrast(sd: float, sizes, df: int, alpha: float = 0.05,
                        power: float = 0.8) -> float:
    """The smallest true value of a contrast of means (coefficients ±1, over ``sizes[i]`` runs
    each; :func:`contrast_from_spread`) that a two-sided t test at ``alpha`` detects with
    probability ``power``: (t_{1-α/2} + t_power) · sd · √(Σ 1/n_i), with ``df`` the degrees of
    freedom of ``sd``."""
    if df < 1 or not math.isfinite(sd) or min(sizes) < 1:
        return float("nan")
    se = sd * math.sqrt(sum(1 / n for n in sizes))
    return float((_st.t.ppf(1 - alpha / 2, df) + _st.t.ppf(power, df)) * se)


def detectable_sd_ratio(n_a: int, n_b: int, alpha: float = 0.05, power: float = 0.8) -> float:
    """The smallest true ratio of two SDs (>= 1) that a two-sided F test of n_a and n_b values
    detects with probability ``power``."""
    d1, d2 = n_a - 1, n_b - 1
    if d1 < 1 or d2 < 1:
        return float("nan")
    c = _st.f.ppf(1 - alpha / 2, d1, d2)
    return float(math.sqrt(c / _st.f.ppf(1 - power, d1, d2)))


def sd_equivalence_power(n_a: int, n_b: int, low: float = 0.5, high: float = 2.0,
                         confidence: float = CONFIDENCE) -> float:
    """The probability that :func:`sd_ratio_ci`'s interval of two samples of ``n_a`` and ``n_b``
    normal values with *equal* true SDs lies wholly inside [low, high]: how often an equivalence
    test ("the ratio is between low and high") can hold with these run counts. The observed
    squared ratio is F-distributed; the interval is inside when it falls between
    low² F_hi and high² F_lo (F_hi, F_lo: the interval's two F quantiles)."""
    d1, d2 = n_a - 1, n_b - 1
    if d1 < 1 or d2 < 1:
        return float("nan")
    a = 1 - confidence
    f_hi, f_lo = _st.f.ppf(1 - a / 2, d1, d2), _st.f.ppf(a / 2, d1, d2)
    lo, hi = low ** 2 * f_hi, high ** 2 * f_lo
    return float(max(0.0, _st.f.cdf(hi, d1, d2) - _st.f.cdf(lo, d1, d2)))


def normality_note(samples: dict, what: str = "values", interval: str = "F",
                   min_n: int = 8) -> str:
    """Shapiro-Wilk's test (``scipy.stats.shapiro``) of each named sample of ``samples``
    (``{name: values}``), as a clause for a claims row: the normality that a chi-square or F
    interval assumes, checked where it can be ('' if any sample has fewer than ``min_n`` values,
    where the test has little power)."""
    v = {k: _finite(x) for k, x in samples.items()}
    if not v or min(map(len, v.values())) < min_n:
        return ""
    p = {k: float(_st.shapiro(x).pvalue) if np.ptp(x) > 0 else float("nan") for k, x in v.items()}
    ps = " and ".join(f"{'n/a' if math.isnan(q) else f'{q:.2f}'} ({k})" for k, q in p.items())
    bad = [k for k, q in p.items() if q < 0.05]
    verdict = (f"the {interval} interval's normality is doubtful for {', '.join(bad)}" if bad
               else f"no evidence against the normality the {interval} interval assumes")
    return f"Shapiro-Wilk on the {what}: p = {ps}; {verdict}"


def chance_sd_spread(k: int, n: int, factor: float = 2.0, draws: int = 100_000,
                     seed: int = 0) -> float:
    """The probability that the largest of ``k`` sample SDs (``n`` normal values each, all with
    the same true SD) exceeds the smallest by more than ``factor``: how often equal effects
    look unequal by that much (Monte Carlo, ``draws`` tables, a fixed ``seed``)."""
    if k < 2 or n < 2:
        return float("nan")
    rng = np.random.default_rng(seed)
    sd = np.sqrt(rng.chisquare(n - 1, size=(draws, k)))
    return float(np.mean(sd.max(axis=1) > factor * sd.min(axis=1)))


FEW = 5  # below this many units a bootstrap interval is known to be too narrow


def _few(n: int, unit: str) -> str:
    return (f"; with {n} {unit} a bootstrap interval is too narrow (read it as a lower bound on "
            "the uncertainty)") if n < FEW else ""


def _groups(sizes, unit: str) -> str:
    """'6 runs', '6 and 4 runs', '7 groups of 6 runs'."""
    if len(sizes) == 1:
        return f"{sizes[0]} {unit}"
    if len(sizes) > 2 and len(set(sizes)) == 1:
        return f"{len(sizes)} groups of {sizes[0]} {unit}"
    return " and ".join(map(str, sizes)) + f" {unit}"


def _finite(values) -> np.ndarray:
    v = np.asarray(values, dtype=np.float64).reshape(-1)
    return v[np.isfinite(v)]


def standard_error(est: Estimate, confidence: float = CONFIDENCE) -> float:
    """The standard error an interval implies: its width over 2 z_{(1+c)/2} (NaN without one)."""
    if not est.has_interval:
        return float("nan")
    return (est.hi - est.lo) / (2 * _st.norm.ppf(0.5 + confidence / 2))


def detectable(est_a: Estimate, est_b: Estimate | None = None, alpha: float = 0.05,
               power: float = 0.8) -> float:
    """The smallest true difference that these estimates' uncertainty lets a two-sided test at
    ``alpha`` detect with probability ``power`` (normal approximation, standard errors read off
    the intervals): (z_{1-α/2} + z_power) · √(se_a² + se_b²). With one estimate: the smallest
    departure from a fixed number."""
    se2 = standard_error(est_a) ** 2 + (standard_error(est_b) ** 2 if est_b is not None else 0)
    return float((_st.norm.ppf(1 - alpha / 2) + _st.norm.ppf(power)) * math.sqrt(se2))
