"""Claims: what a source says, what we measured, and whether it held.

Every chapter ends with a :class:`ClaimsTable`. Each row quotes a figure from a source document
(``/work/shared/seeds``), puts our own figure -- always computed in the run, never typed in --
next to it, and applies a small, explicit test::

    table = ClaimsTable("03_modes", profile=p.profile, variant=p.variant)
    table.add("seed 004 Fig 3", "Independent runs disagree on many test points",
              expected="≈ 0.2 (SmallCNN)", measured=d_cross, test=above(0.1), fmt="{:.3f}")
    table            # renders as an HTML table in the notebook
    table.save()     # book/claims/03_modes.json, read by the scorecard

``measured`` is best an :class:`helpers.stats.Estimate` -- the value with its 95% interval and
the units it rests on (runs, pairs of runs, test examples) -- and the verdict then compares the
whole interval with the test's band:

* ``holds``: the interval lies inside the band;
* ``differs``: the interval lies outside it;
* ``inconclusive``: the interval straddles a boundary of the band;
* ``not testable at this profile``: the ``smoke`` profile, a claim the chapter cannot test at its
  scale, or no measurement.

A plain number (no interval) is decided on the point and its row says "no interval". A property
true by construction is a *check* (``T.check(...)``, or ``add(..., check=True)``): shown with its
verdict, never counted as evidence. A claim that differs is a result and is reported with our
explanation in ``note``. :func:`scorecard_markdown` gathers all chapters' JSON files (old ones,
written before rows had intervals, included) into the book's scorecard page.

One row of the JSON file (``book/claims/<chapter>.json``, ``{"chapter", "profile", "variant",
"rows": [...]}``)::

    {"chapter": "05_instability", "source": "seed 001 Table 3",
     "statement": "...", "expected": "0.21 / 0.22 = 0.95",
     "measured": 1.02, "measured_text": "1.02",
     "interval": [0.45, 2.3], "interval_text": "0.45 to 2.30",
     "uncertainty": "F interval, 6 and 6 runs", "units": 12,
     "test": "between 0.5 and 2", "kind": "evidence",      # or "check"
     "profile": "cpu", "variant": "cifar10-jpeg", "verdict": "inconclusive", "note": "..."}
"""
from __future__ import annotations

import dataclasses
import html
import json
import math
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .stats import Estimate

HOLDS = "holds"
DIFFERS = "differs"
INCONCLUSIVE = "inconclusive"
NOT_TESTABLE = "not testable at this profile"
VERDICTS = (HOLDS, DIFFERS, INCONCLUSIVE, NOT_TESTABLE)
EVIDENCE, CHECK = "evidence", "check"
NO_INTERVAL = "—"

REPO = Path(__file__).resolve().parents[1]
CLAIMS_DIR = REPO / "book" / "claims"

COLUMNS = ("Source", "Statement", "Source's figure", "Ours", "95% interval", "Test", "Verdict",
           "Note")
COLOURS = {HOLDS: "#d4edda", DIFFERS: "#ffe5a0", INCONCLUSIVE: "#d6e4f0",
           NOT_TESTABLE: "#e2e3e5"}


# --------------------------------------------------------------------------------------------
# tests: a callable that says whether a measured value agrees, and a line that says how;
# ``decide(lo, hi)`` says whether an interval lies inside the band (holds), outside it (differs)
# or straddles it (inconclusive). A point is the interval [v, v], so ``decide(v, v)`` agrees
# with ``test(v)``. Lower-case names because they read as the sentence they stand for:
# within(89.95, 1.0).


def _decide(inside_all: bool, inside_none: bool) -> str:
    return HOLDS if inside_all else DIFFERS if inside_none else INCONCLUSIVE


@dataclass(frozen=True)
class within:
    """|value - target| <= tol."""
    target: float
    tol: float

    def __call__(self, value) -> bool:
        return abs(float(value) - self.target) <= self.tol

    def describe(self) -> str:
        return f"= {self.target:g}" if self.tol == 0 else f"within ±{self.tol:g} of {self.target:g}"

    def decide(self, lo: float, hi: float) -> str:
        a, b = self.target - self.tol, self.target + self.tol
        return _decide(lo >= a and hi <= b, hi < a or lo > b)


@dataclass(frozen=True)
class between:
    """lo <= value <= hi."""
    lo: float
    hi: float

    def __call__(self, value) -> bool:
        return self.lo <= float(value) <= self.hi

    def describe(self) -> str:
        return f"between {self.lo:g} and {self.hi:g}"

    def decide(self, lo: float, hi: float) -> str:
        return _decide(lo >= self.lo and hi <= self.hi, hi < self.lo or lo > self.hi)


@dataclass(frozen=True)
class above:
    """value > x."""
    x: float

    def __call__(self, value) -> bool:
        return float(value) > self.x

    def describe(self) -> str:
        return f"> {self.x:g}"

    def decide(self, lo: float, hi: float) -> str:
        return _decide(lo > self.x, hi <= self.x)


@dataclass(frozen=True)
class below:
    """value < x."""
    x: float

    def __call__(self, value) -> bool:
        return float(value) < self.x

    def describe(self) -> str:
        return f"< {self.x:g}"

    def decide(self, lo: float, hi: float) -> str:
        return _decide(hi < self.x, lo >= self.x)


def decide(test, lo: float, hi: float) -> str:
    """The three-way verdict of ``test`` for the interval [lo, hi] (a test without ``decide``:
    holds when both ends pass, differs when neither does, else inconclusive)."""
    if hasattr(test, "decide"):
        return test.decide(float(lo), float(hi))
    a, b = bool(test(lo)), bool(test(hi))
    return _decide(a and b, not a and not b)


# --------------------------------------------------------------------------------------------
# one claim, and a chapter's table of them


@dataclass
class Claim:
    """One row of a chapter's verdict table (all plain values, so it is its own JSON).

    Rows written before intervals existed load with the defaults of the last five fields (no
    interval, shown as "—"; their verdict is kept as it was)."""
    chapter: str
    source: str           # file and table/figure, e.g. "seed 004 Fig 3"
    statement: str        # the claim in words
    expected: str         # the source's figure, quoted as text, e.g. "89.95 ± 0.18 %"
    measured: float | None
    measured_text: str    # our figure, formatted
    test: str             # the test's describe() text
    profile: str
    variant: str          # 'cifar10', 'cifar10-jpeg' or 'synthetic'
    verdict: str          # HOLDS / DIFFERS / INCONCLUSIVE / NOT_TESTABLE
    note: str = ""
    interval: list | None = None   # [lo, hi], the 95% interval of ``measured``
    interval_text: str = NO_INTERVAL
    uncertainty: str = ""          # how the interval was made and on what units
    units: int | None = None       # how many independent units it rests on
    kind: str = EVIDENCE           # EVIDENCE, or CHECK (true by construction: not counted)

    @property
    def is_check(self) -> bool:
        return self.kind == CHECK

    def interval_cell(self) -> str:
        """The interval and, after it, how it was made ("—" when there is none)."""
        if self.interval_text == NO_INTERVAL:
            return NO_INTERVAL + (f" ({self.uncertainty})" if self.uncertainty else "")
        return f"{self.interval_text} ({self.uncertainty})" if self.uncertainty \
            else self.interval_text

    def verdict_cell(self) -> str:
        return f"check: {self.verdict}" if self.is_check else self.verdict


def interval_format(fmt: str) -> str:
    """The format for an interval's ends: ``fmt``'s first field and a short unit after it
    ("{:.2f} pp" stays; "Brier {:+.4f} better" and "{:.0%} of 16 samples" lose their words)."""
    m = re.match(r"^(.*?)(\{[^}]*\})(.*)$", fmt, flags=re.S)
    if not m:
        return fmt
    suffix = m.group(3)
    return m.group(2) + (suffix if len(suffix) <= 5 and "{" not in suffix else "")


def bounds(test) -> tuple:
    """The values at which ``test`` changes its answer (none for a plain function)."""
    if isinstance(test, within):
        return (test.target - test.tol, test.target + test.tol)
    if isinstance(test, between):
        return (test.lo, test.hi)
    if isinstance(test, (above, below)):
        return (test.x,)
    return ()


def ends_text(ifmt: str, lo: float, hi: float, at: tuple = (), most: int = 3) -> str:
    """"lo to hi" in ``ifmt``, with up to ``most`` more decimals where an end would otherwise
    print as a bound of the test it is not equal to (2.964 against "< 3" prints "2.96", not
    "3.0"), so that the printed interval shows on which side of the bound it ends."""
    def looks_like_a_bound(f: str) -> bool:
        return any(f.format(e) == f.format(b) and e != b for e in (lo, hi) for b in at)

    f = ifmt
    for _ in range(most):
        if not looks_like_a_bound(f):
            break
        more = re.sub(r"\.(\d+)([fe%])", lambda m: f".{int(m.group(1)) + 1}{m.group(2)}", f, count=1)
        if more == f:
            break
        f = more
    return f"{f.format(lo)} to {f.format(hi)}"


def _is_missing(x) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


def _finite_or_none(x):
    return None if x is None or not math.isfinite(float(x)) else float(x)


# The units an interval must run over for a claim about what training from a random seed
# finds: only then can a rerun on other seeds not swap its verdict.
SEED_UNITS = ("chains", "seeds", "runs")


def seed_rule(claim: "Claim", est, units=SEED_UNITS) -> "Claim":
    """Keep a row out of holds and differs unless its interval covers the seed-to-seed spread
    (an interval over ``units``): a row on single runs (an interval over test images at most),
    or without an interval, becomes inconclusive, and its note says why."""
    has = est is not None and getattr(est, "has_interval", False)
    over_seeds = has and est.unit in units and est.hi > est.lo
    if claim.verdict in (HOLDS, DIFFERS) and not claim.is_check and not over_seeds:
        why = ("covers the test images of single runs, not another seed"
               if has and est.unit not in units else
               f"has no width (the {est.n} {est.unit} agree exactly)" if has else
               "is missing (fewer than two independent units)")
        why = (f"kept inconclusive (the point says '{claim.verdict}'): its interval {why}, "
               "so another seed could swap the verdict")
        claim.verdict = INCONCLUSIVE
        claim.note = f"{claim.note}; {why}" if claim.note else why
    return claim


def seed_row(T: "ClaimsTable", *args, units=SEED_UNITS, **kw) -> "Claim":
    """``T.add(source, statement, expected, measured, test, ...)`` under :func:`seed_rule`."""
    return seed_rule(T.add(*args, **kw), args[3] if len(args) > 3 else kw.get("measured"), units)


class ClaimsTable:
    """The claims of one chapter, run at one profile on one dataset variant."""

    def __init__(self, chapter: str, profile: str, variant: str, seed_base: int = 0):
        self.chapter, self.profile, self.variant = chapter, profile, variant
        self.seed_base = seed_base   # the run's ``seed_base`` (1000: a rerun on fresh seeds)
        self.recorded = ""           # a fresh-seed record's date (:func:`record_fresh`)
        self.rows: list[Claim] = []

    def add(self, source, statement, expected, measured, test, fmt="{:.2f}", note="",
            testable=True, check=False) -> Claim:
        """Record a claim and decide its verdict; returns the new :class:`Claim`.

        ``measured``: a :class:`helpers.stats.Estimate` (value and 95% interval: three-way
        verdict), a plain number (decided on the point, "no interval"), or None / NaN (not
        testable). ``check=True`` marks a property true by construction (shown, not counted).
        """
        est = measured if isinstance(measured, Estimate) else None
        value = est.value if est is not None else measured
        if value is not None:
            value = float(value)  # numpy / torch scalars become plain floats
        if _is_missing(value):
            value, measured_text = None, "n/a"
        else:
            measured_text = fmt.format(value)
        interval, interval_text, uncertainty, units = None, NO_INTERVAL, "no interval", None
        if est is not None:
            uncertainty, units = est.method, est.n
            if value is not None and est.has_interval:
                interval = [float(est.lo), float(est.hi)]
                interval_text = ends_text(interval_format(fmt), est.lo, est.hi, bounds(test))
        if self.profile == "smoke" or not testable or value is None:
            verdict = NOT_TESTABLE
        elif interval is not None:
            verdict = decide(test, *interval)
        else:
            verdict = HOLDS if test(value) else DIFFERS
        describe = getattr(test, "describe", None)
        claim = Claim(self.chapter, source, statement, str(expected), value, measured_text,
                      describe() if describe else str(test), self.profile, self.variant,
                      verdict, note, interval, interval_text, uncertainty, units,
                      CHECK if check else EVIDENCE)
        self.rows.append(claim)
        return claim

    def check(self, source, statement, expected, measured, test, **kw) -> Claim:
        """A property true by construction: shown with its verdict, not counted as evidence."""
        return self.add(source, statement, expected, measured, test, check=True, **kw)

    def summary(self) -> str:
        """The table in sentences, for the chapter's closing text: the counts, then every row
        that differs or is inconclusive, by its statement."""
        parts = [f"{self.chapter} at profile {self.profile}: {_tally_line(self.tally())}"]
        for verdict, head in ((DIFFERS, "Differs"), (INCONCLUSIVE, "Inconclusive")):
            rows = [r for r in self.rows if r.verdict == verdict and not r.is_check]
            if rows:
                parts.append(f"{head}: " + "; ".join(
                    f"{r.statement} ({r.measured_text}, interval {r.interval_text})"
                    for r in rows) + ".")
        return "\n".join(parts)

    def readings(self) -> dict:
        """The table for the chapter's closing prose (``helpers.prose.glue_all``):
        ``claims_tally`` ("10 hold, 0 differ, ..."), ``claims_rows`` (the evidence rows), and
        ``claims_holds``, ``claims_differs``, ``claims_inconclusive``: a markdown list of those
        rows, each with its value, interval and test ("none" when there is none) and, where the
        rerun on fresh seeds gave it another verdict, that verdict (:func:`fresh_moved`); and
        ``fresh_seeds``: how the table fared on fresh seeds (:func:`fresh_reading`)."""
        evidence = [r for r in self.rows if not r.is_check]
        out = {"claims_tally": _tally_line(self.tally()).rstrip("."),
               "claims_rows": str(len(evidence)), "fresh_seeds": fresh_reading(self)}
        full, above = {}, None
        for r, head in zip(self.rows, _heads(self.rows)):
            # a row "... and ..." continues the statement of the row above: whole unless that
            # row is listed just before it
            if head is None or (above is not None and above.verdict == r.verdict
                                and not above.is_check):
                full[id(r)] = r.statement
            else:
                full[id(r)] = f"{head} {r.statement}" if head else r.statement
            above = r
        moved = self._fresh_moved()
        for verdict in (HOLDS, DIFFERS, INCONCLUSIVE):
            rows = [r for r in evidence if r.verdict == verdict]
            out[f"claims_{verdict}"] = "\n".join(
                f"- {_md_cell(full[id(r)])} ({_md_cell(r.measured_text)}; "
                + (f"interval {_md_cell(r.interval_text)}" if r.interval else "no interval")
                + f"; test {_md_cell(r.test)}"
                + (f"; *{moved[r.statement].verdict}* on fresh seeds" if r.statement in moved
                   else "")
                + ")" for r in rows) or "none"
        return out

    def untested(self) -> str | None:
        """A sentence for a closing section when no evidence row was tested (the smoke
        profile), else None."""
        if all(r.verdict == NOT_TESTABLE for r in self.rows if not r.is_check):
            return (f"Nothing is tested at profile `{self.profile}`, which only checks that the "
                    "chapter runs.")
        return None

    def find(self, start: str) -> Claim:
        """The row whose statement starts with ``start`` (the first, if several)."""
        for r in self.rows:
            if r.statement.startswith(start):
                return r
        raise KeyError(f"no claims row of {self.chapter} starts with {start!r}")

    def say(self, start: str, texts: dict) -> str:
        """The sentence of ``texts`` (``{verdict: text}``) for the verdict of the row that starts
        with ``start``, formatted with the row's ``{m}`` (measured), ``{ci}`` (interval) and
        ``{test}``; a verdict without a text says the row's statement and its verdict. Where the
        chapter's rerun on fresh seeds (:func:`fresh_moved`) gave the row another verdict, a
        clause after the text says which, with the rerun's value and interval, and that a
        decided verdict which the fresh seeds did not keep is to be read as undecided."""
        r = self.find(start)
        text = texts.get(r.verdict) or (f"{r.statement} is {r.verdict}" +
                                        ("" if r.verdict == NOT_TESTABLE else f" ({{m}}, interval {{ci}})"))
        ci = r.interval_text if r.interval else "none"
        out = text.format(m=r.measured_text, ci=ci, test=r.test)
        f = self._fresh_moved().get(r.statement)
        if f is None:
            return out
        fresh = f"*{f.verdict}*, at {f.measured_text}" + (
            f" (interval {f.interval_text})" if f.interval else "")
        if not out.endswith("."):     # the text goes on: a parenthesis, not a sentence
            return out + f" (on fresh seeds: {fresh})"
        if r.verdict in (HOLDS, DIFFERS):   # a decided verdict the fresh seeds did not keep
            head = out[0].lower() + out[1:] if out[1:2].islower() else out
            return (f"In this run, {head} On fresh seeds the row's verdict is {fresh}, so its "
                    f"verdict against the test ({r.test}) is undecided at this profile.")
        return out + (f" On fresh seeds the row's verdict is {fresh}; with this run's, it stays "
                      "undecided at this profile.")

    def _fresh_moved(self) -> dict:
        """``{statement: the fresh-seed record's row}`` for the rows :func:`fresh_moved` names,
        read once for the closing's many sentences: again only when the record's file or the
        table's rows change."""
        path = fresh_path(self.chapter)
        key = (str(path), path.stat().st_mtime_ns if path.is_file() else None, len(self.rows))
        if getattr(self, "_moved_key", None) != key:
            moved = fresh_moved(self)
            rows = load(path).rows if moved else []
            self._moved = {r.statement: r for r in rows if r.statement in moved}
            self._moved_key = key
        return self._moved

    def caption(self) -> str:
        return f"Claims of {self.chapter}: profile {self.profile}, dataset {self.variant}"

    def tally(self) -> dict:
        """Verdict counts over the evidence rows, plus ``'checks'``: the number of checks."""
        return _tally(self.rows)

    def _repr_html_(self) -> str:
        cell = 'style="text-align:left; vertical-align:top; padding:4px 8px"'
        head = "".join(f"<th {cell}>{html.escape(c)}</th>" for c in COLUMNS)
        body = []
        for r in self.rows:
            tds = [r.source, r.statement, r.expected, r.measured_text, r.interval_cell(),
                   r.test]
            colour = "#ffffff" if r.is_check else COLOURS.get(r.verdict, "#ffffff")
            body.append(
                "<tr>" + "".join(f"<td {cell}>{html.escape(str(t))}</td>" for t in tds)
                + f'<td style="background:{colour}; padding:4px 8px; vertical-align:top">'
                f"<b>{html.escape(r.verdict_cell())}</b></td>"
                + f"<td {cell}>{html.escape(r.note)}</td></tr>")
        return (f'<table style="border-collapse:collapse">'
                f'<caption style="text-align:left">{html.escape(self.caption())}; '
                f"{html.escape(_tally_line(self.tally()))}</caption>"
                f"<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>")

    def to_markdown(self) -> str:
        return f"{self.caption()}\n\n{_markdown_table(self.rows)}\n"

    def to_json(self) -> str:
        rows = [dataclasses.asdict(r) for r in self.rows]
        for r in rows:  # strict JSON: no NaN / Infinity
            if r["measured"] is not None and not math.isfinite(r["measured"]):
                r["measured"] = None
            if r["interval"] is not None:
                r["interval"] = [_finite_or_none(x) for x in r["interval"]]
        data = {"chapter": self.chapter, "profile": self.profile, "variant": self.variant}
        data |= {"seed_base": self.seed_base} if self.seed_base else {}
        data |= {"recorded": self.recorded} if self.recorded else {}
        data["rows"] = rows
        return json.dumps(data, indent=1, ensure_ascii=False)

    def save(self, claims_dir=None) -> Path:
        """Write ``<claims_dir>/<chapter>.json`` atomically (default ``book/claims``)."""
        claims_dir = Path(claims_dir) if claims_dir is not None else CLAIMS_DIR
        claims_dir.mkdir(parents=True, exist_ok=True)
        path = claims_dir / f"{self.chapter}.json"
        fd, tmp = tempfile.mkstemp(dir=claims_dir, prefix=f".{self.chapter}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(self.to_json() + "\n")
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return path


def load(path) -> ClaimsTable:
    """Read a table written by :meth:`ClaimsTable.save`."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    table = ClaimsTable(data["chapter"], data["profile"], data["variant"],
                        int(data.get("seed_base", 0)))
    table.recorded = data.get("recorded", "")
    names = {f.name for f in dataclasses.fields(Claim)}
    table.rows = [Claim(**{k: v for k, v in r.items() if k in names}) for r in data["rows"]]
    return table


def compare(a: ClaimsTable, b: ClaimsTable) -> list[dict]:
    """Row by row, the verdicts of two runs of one chapter (e.g. the published one and a rerun on
    fresh seeds, ``-p seed_base=1000``): ``[{statement, a, b, swap}]``, ``swap`` True where one
    says holds and the other differs (what issue 15 forbids: the interval should have said
    inconclusive). Rows are matched by position and must have the same statements."""
    if a.chapter != b.chapter or [r.statement for r in a.rows] != [r.statement for r in b.rows]:
        raise ValueError(f"cannot compare claims of {a.chapter} and {b.chapter}: their rows differ; "
                         "compare two runs of the same chapter and code")
    return [dict(statement=x.statement, a=x.verdict, b=y.verdict,
                 swap={x.verdict, y.verdict} == {HOLDS, DIFFERS}) for x, y in zip(a.rows, b.rows)]


FRESH = "fresh"   # claims_dir/fresh/<chapter>.json: the chapter rerun on fresh seeds


def fresh_path(chapter: str, claims_dir=None) -> Path:
    return (Path(claims_dir) if claims_dir is not None else CLAIMS_DIR) / FRESH / f"{chapter}.json"


def record_fresh(table: ClaimsTable, claims_dir=None, date: str | None = None) -> Path:
    """Keep ``table``, a chapter rerun on fresh seeds (``-p seed_base=1000``), as the record its
    published page sets beside its own table (:func:`fresh_reading`); ``date``:
    when it ran (default today)."""
    import copy
    import datetime

    if not table.seed_base:
        raise ValueError(f"{table.chapter}'s claims were made on the published seeds "
                         "(seed_base 0); record a rerun made with -p seed_base=1000")
    path = fresh_path(table.chapter, claims_dir)
    kept = copy.copy(table)   # the caller's table is left as it was
    kept.recorded = date or datetime.date.today().isoformat()
    return kept.save(path.parent)


def fresh_moved(table: ClaimsTable, claims_dir=None) -> dict:
    """``{statement: verdict on fresh seeds}`` for the rows of ``table`` whose verdict the
    chapter's rerun on fresh seeds (the record :func:`record_fresh` keeps) did not keep; empty
    where there is no record of this edition with these rows, or ``table`` is itself a rerun."""
    return {r["statement"]: r["b"] for r in _fresh_rows(table, claims_dir) or []
            if r["a"] != r["b"]}


def _evidence(table: ClaimsTable, rows: list) -> list:
    """The rows of :func:`compare` ``rows`` (matched by position with ``table``'s) that are
    evidence: a check is true by construction, so it is not counted as a verdict kept."""
    return [r for t, r in zip(table.rows, rows) if not t.is_check]


def _fresh_rows(table: ClaimsTable, claims_dir=None) -> list | None:
    """:func:`compare` of ``table`` with its chapter's fresh-seed record, or None where there is
    no record of this edition with these rows, or ``table`` is itself a rerun."""
    path = fresh_path(table.chapter, claims_dir)
    if table.seed_base or not path.is_file():
        return None
    F = load(path)
    if (F.profile, F.variant) != (table.profile, table.variant):
        return None
    try:
        return compare(table, F)
    except ValueError:
        return None


def _heads(rows) -> list:
    """Per row, None if it stands alone, else (a row '... and X' continues the one above) the
    statement it continues: the last one above that stands alone ('' if there is none)."""
    out, head = [], ""
    for r in rows:
        if r.statement.startswith(("...", "…")):
            out.append(head)
        else:
            out.append(None)
            head = r.statement
    return out


def _quoted(rows: list, r: Claim) -> str:
    """Row ``r``'s statement in quotes, for a sentence: without the trailing '...' that joins it
    to the next row ('Two optima: similar accuracy ...' -> '“Two optima: similar accuracy”'),
    and a row that continues the one above ('... and its SD') named as the row after that one,
    so that the row above is not read as the one meant."""
    head = _heads(rows)[rows.index(r)]
    text = f"“{r.statement.removesuffix('...').rstrip()}”"
    return f"{text} (the row after “{head.removesuffix('...').rstrip()}”)" if head else text


def _row_text(r: Claim) -> str:
    return f"*{r.verdict}* at {r.measured_text}" + (
        f" (interval {r.interval_text})" if r.interval else "")


def fresh_reading(table: ClaimsTable, claims_dir=None) -> str:
    """One paragraph (markdown) for a chapter's closing: how its table fared when the chapter
    was rerun on fresh seeds, from the record :func:`record_fresh` keeps; or that it has not
    been, and how to."""
    how = (f"`python -m helpers run {table.chapter[:2]} -p seed_base=1000 --out DIR`, then "
           f"`python -m helpers compare DIR/claims/{table.chapter}.json --record`; "
           "{doc}`reproduce`")
    if table.seed_base:
        return (f"This run is itself a rerun on fresh seeds (`seed_base={table.seed_base}`): "
                "`python -m helpers compare` sets it beside the published table and `--record` "
                "keeps it for the published page.")
    path = fresh_path(table.chapter, claims_dir)
    if not path.is_file():
        return f"No rerun of this `{table.profile}` edition on fresh seeds is on record ({how})."
    F = load(path)
    if (F.profile, F.variant) != (table.profile, table.variant):
        return (f"No rerun of this `{table.profile}` edition on fresh seeds is on record; the "
                f"one on record ({F.recorded}) is of the `{F.profile}` edition on `{F.variant}` "
                f"({how}).")
    try:
        rows = compare(table, F)
    except ValueError:
        return (f"The rerun on fresh seeds on record ({F.recorded}) was made when this table had "
                f"other rows, so it cannot be set beside them; rerun it ({how}).")
    evidence = _evidence(table, rows)
    kept = sum(r["a"] == r["b"] for r in evidence)
    swaps = sum(r["swap"] for r in rows)
    text = (f"Rerun with `-p seed_base={F.seed_base}` ({F.recorded}; every run "
            f"new, on the same training images), this table kept {kept} of its "
            f"{len(evidence)} verdicts (checks apart) and swapped "
            f"{'none' if not swaps else f'**{swaps}**'} between *holds* and *differs*.")
    moved = [(a, b) for a, b in zip(table.rows, F.rows) if a.verdict != b.verdict]
    if moved:
        text += (f" {'The row that moved' if len(moved) == 1 else 'The rows that moved'} (this "
                 "run, then the fresh seeds): " + "; ".join(
                     f"{_quoted(table.rows, a)}: {_row_text(a)}, then {_row_text(b)}"
                     for a, b in moved)
                 + ".")
    def has(r):
        return bool(r.interval) and None not in r.interval

    def apart_by_z(a, b):
        """The two seed sets' values differ by more than their intervals allow: |a - b| over
        the root sum of squares of the standard errors that the 95% intervals imply (half a
        width / 1.96; an interval from a t or a bootstrap is wider, so this errs towards
        'within'), beyond 1.96."""
        se = [(r.interval[1] - r.interval[0]) / 2 / 1.96 for r in (a, b)]
        return abs(a.measured - b.measured) > 1.96 * math.hypot(*se) > 0

    apart = [a for a, b in zip(table.rows, F.rows) if has(a) and has(b)
             and (a.interval[1] < b.interval[0] or b.interval[1] < a.interval[0])]
    far = [a for a, b in moved if a not in apart and has(a) and has(b)
           and isinstance(a.measured, (int, float)) and isinstance(b.measured, (int, float))
           and apart_by_z(a, b)]
    if swaps:
        text += (" A swap means an interval was narrower than the seeds' spread: read that row "
                 "as undecided.")
    elif len(far) < len(moved):
        text += (" A row that moves between *inconclusive* and a decided verdict, its two "
                 "values as close as their intervals allow, sits near its test's boundary: "
                 "read it as undecided at this profile.")
    if far:
        which = ("the row that moved" if len(moved) == 1 else
                 f"{'both' if len(moved) == 2 else 'all the'} rows that moved"
                 if len(far) == len(moved) else "; ".join(_quoted(table.rows, a) for a in far))
        text += (f" For {which}, the two seed sets' values differ by more than their intervals "
                 "allow (a z test on the intervals' widths): the seeds spread more than "
                 f"{'that interval says' if len(far) == 1 else 'those intervals say'}, so read "
                 f"{'it' if len(far) == 1 else 'them'} as undecided at this profile.")
    if apart:
        text += (" The two intervals do not even overlap for " + "; ".join(
            _quoted(table.rows, a) for a in apart) + ": there an interval understates the "
            "spread from one set of seeds to another.")
    return text + f" On the fresh seeds the tally is {_tally_line(F.tally())}"


# --------------------------------------------------------------------------------------------
# markdown: one chapter's table, and the scorecard page of all chapters


def _md_cell(x) -> str:
    """Text safe inside a markdown table cell: pipes escaped, no line breaks, and no accidental
    MyST role (``{name}`text` `` would fail a ``-W`` build if the role is unknown)."""
    text = " ".join(str(x).split()).replace("|", "\\|")
    return re.sub(r"\{([\w:.+-]+)\}`", r"\\{\1}`", text)


def _markdown_table(rows) -> str:
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for r in rows:
        cells = [r.source, r.statement, r.expected, r.measured_text, r.interval_cell(), r.test,
                 r.verdict_cell(), r.note]
        lines.append("| " + " | ".join(_md_cell(c) for c in cells) + " |")
    return "\n".join(lines)


def _tally(rows) -> dict:
    evidence = [r for r in rows if not r.is_check]
    counts = {v: sum(r.verdict == v for r in evidence) for v in VERDICTS}
    counts["checks"] = len(rows) - len(evidence)
    return counts


def _tally_line(counts: dict) -> str:
    line = (f"{counts[HOLDS]} {'holds' if counts[HOLDS] == 1 else 'hold'}, "
            f"{counts[DIFFERS]} {'differs' if counts[DIFFERS] == 1 else 'differ'}, "
            f"{counts[INCONCLUSIVE]} inconclusive, {counts[NOT_TESTABLE]} not testable")
    checks = counts.get("checks", 0)
    return line + (f"; {checks} check{'s' if checks != 1 else ''} not counted." if checks
                   else ".")


INTRO = """\
Each chapter of this book ends with a table that sets a figure quoted from a source next to the
figure we measured in the chapter's own run, with its 95% interval, and applies a stated test (a
tolerance band or an inequality). The interval comes from a bootstrap over the independent units
the figure rests on (runs; pairs of runs, resampling runs; test examples) or is exact where an
exact interval exists; each row says which. A claim **holds** when the whole interval passes the
test; it **differs** when none of it does (the note gives our best explanation: a difference is a
result, not a failure of the book); it is **inconclusive** when the interval straddles the test's
boundary (more runs would decide it); and it is **not testable at this profile** when the chapter
ran at the `smoke` profile (which exists only to check that the code runs), when the claim needs
a scale the profile does not reach, or when nothing was measured. A row without an interval ("—")
is kept **inconclusive** whatever its point value says (the note gives the point's verdict):
another seed could swap it. The one exception is a bound met by every run (the largest value over
all of them, inside the test's limit), which is decided on that value. Where an interval covers
only the test images or samples of fixed runs, the row's note says so: chapters 01, 02 and 04
keep such rows inconclusive too; in chapter 03's `cpu` edition they kept their verdicts when rerun on fresh seeds. A **check** is a property true by construction (a
control): it is shown but not counted as evidence. Each section below names the profile and
dataset variant that produced it. The counts' last column says how many verdicts survived a rerun
of the chapter on fresh seeds (`-p seed_base=1000`, every run new), where one is on record.
"""

_COUNT_COLUMNS = ("holds", "differs", "inconclusive", "not testable", "checks",
                  "rows with an interval", "verdicts kept on fresh seeds")


def _count_row(name: str, tables, claims_dir=None) -> str:
    rows = [r for t in tables for r in t.rows]
    c = _tally(rows)
    with_interval = sum(r.interval is not None for r in rows)
    fresh = [_evidence(t, f) for t in tables
             if (f := _fresh_rows(t, claims_dir)) is not None]
    kept = ("—" if not fresh else
            f"{sum(r['a'] == r['b'] for f in fresh for r in f)} of {sum(map(len, fresh))}"
            + (f" ({len(fresh)} of {len(tables)} chapters rerun)" if len(tables) > 1 else ""))
    cells = [name] + [str(c[v]) for v in VERDICTS] + [str(c["checks"]),
                                                       f"{with_interval} of {len(rows)}", kept]
    return "| " + " | ".join(_md_cell(x) for x in cells) + " |"


def counts_markdown(tables, claims_dir=None) -> str:
    """Verdict counts per chapter and per profile, as a markdown table, with how many verdicts
    each chapter's rerun on fresh seeds kept (its record in ``claims_dir``; '—': none)."""
    head = "| | " + " | ".join(_COUNT_COLUMNS) + " |"
    lines = [head, "|" + "---|" * (len(_COUNT_COLUMNS) + 1)]
    for t in tables:
        lines.append(_count_row(f"{t.chapter} (`{t.profile}`)", [t], claims_dir))
    for prof in dict.fromkeys(t.profile for t in tables):
        group = [t for t in tables if t.profile == prof]
        lines.append(_count_row(f"**profile `{prof}`** ({len(group)} chapter(s))", group,
                                claims_dir))
    return "\n".join(lines)


def scorecard_markdown(claims_dir=None) -> str:
    """The scorecard page (MyST markdown): every chapter's claims, read from its JSON file, with
    the verdicts counted per chapter and per profile (checks apart)."""
    claims_dir = Path(claims_dir) if claims_dir is not None else CLAIMS_DIR
    files = sorted(claims_dir.glob("*.json")) if claims_dir.is_dir() else []
    parts = ["# Scorecard", "", INTRO]
    if not files:
        parts.append("No chapter has been executed yet: run the notebooks to fill this page.\n")
        return "\n".join(parts)
    tables = [load(f) for f in files]
    total = _tally([r for t in tables for r in t.rows])
    parts.append(f"Over {len(tables)} chapter(s): {_tally_line(total)}\n")
    parts.append(counts_markdown(tables, claims_dir) + "\n")
    for t in tables:
        parts += [f"## {_md_cell(t.chapter)}", "",
                  f"Profile `{t.profile}`, dataset variant `{t.variant}`. "
                  f"{_tally_line(t.tally())}", "", f"Fresh seeds: {fresh_reading(t, claims_dir)}",
                  ""]
        parts.append(_markdown_table(t.rows) + "\n" if t.rows else "No claims recorded.\n")
    earlier = earlier_editions(claims_dir)
    if earlier:
        parts.append(_earlier_markdown(earlier, {t.chapter: t for t in tables}, claims_dir))
    return "\n".join(parts)


PROFILE_RANK = {"smoke": 0, "cpu": 1, "gpu": 2}


def earlier_editions(claims_dir=None) -> list[ClaimsTable]:
    """The claims of chapters' earlier editions, kept when a chapter was published at a larger
    profile: ``claims_dir/<profile>/<chapter>.json`` (see ``helpers.cli``: a run at a smaller
    profile never replaces a published edition)."""
    claims_dir = Path(claims_dir) if claims_dir is not None else CLAIMS_DIR
    if not claims_dir.is_dir():
        return []
    return [load(f) for sub in sorted(claims_dir.iterdir()) if sub.is_dir() and sub.name in PROFILE_RANK
            for f in sorted(sub.glob("*.json"))]


def editions_line(claims_dir=None) -> str:
    """One sentence naming the profile (and data) each published chapter was executed at."""
    claims_dir = Path(claims_dir) if claims_dir is not None else CLAIMS_DIR
    files = sorted(claims_dir.glob("*.json")) if claims_dir.is_dir() else []
    if not files:
        return "No chapter of this edition has been executed yet."
    by = {}
    for t in map(load, files):
        by.setdefault((t.profile, t.variant), []).append(t.chapter[:2])
    order = sorted(by, key=lambda k: -PROFILE_RANK.get(k[0], -1))
    said = [f"chapter{'s' if len(by[k]) > 1 else ''} {', '.join(by[k])} at the `{k[0]}` profile "
            f"(data `{k[1]}`)" for k in order]
    return "This edition shows " + "; ".join(said) + "."


def _earlier_markdown(earlier: list[ClaimsTable], published: dict, claims_dir=None) -> str:
    lines = ["## Earlier editions", "",
             "A chapter published at a larger profile keeps the claims of its earlier edition "
             "(`book/claims/<profile>/`). They are not counted above; here they are set beside "
             "the published verdicts, row by row where the rows are the same.", "",
             counts_markdown(earlier, claims_dir), ""]
    for t in earlier:
        now = published.get(t.chapter)
        lines += [f"### {_md_cell(t.chapter)} at `{t.profile}` (data `{t.variant}`)", ""]
        if now is None or [r.statement for r in now.rows] != [r.statement for r in t.rows]:
            lines += [_markdown_table(t.rows), ""]
            continue
        lines += [f"| claim | `{t.profile}`: ours | verdict | `{now.profile}`: ours | verdict |",
                  "|---|---|---|---|---|"]
        lines += ["| " + " | ".join(_md_cell(c) for c in (a.statement, a.measured_text, a.verdict_cell(),
                                                         b.measured_text, b.verdict_cell())) + " |"
                  for a, b in zip(t.rows, now.rows)]
        lines.append("")
    return "\n".join(lines)
