"""Claims: what a source says, what we measured, and whether it held.

Every chapter ends with a :class:`ClaimsTable`. Each row quotes a figure from a source document
(``/work/shared/seeds``), puts our own figure -- always computed in the run, never typed in --
next to it, and applies a small, explicit test::

    table = ClaimsTable("03_modes", profile=p.profile, variant=p.variant)
    table.add("seed 004 Fig 3", "Independent runs disagree on many test points",
              expected="≈ 0.2 (SmallCNN)", measured=d_cross, test=above(0.1), fmt="{:.3f}")
    table            # renders as an HTML table in the notebook
    table.save()     # book/claims/03_modes.json, read by the scorecard

The verdict is one of three: ``holds``, ``differs``, or ``not testable at this profile`` (the
``smoke`` profile, a claim the chapter cannot test at its scale, or no measurement). A claim that
differs is a result and is reported with our explanation in ``note``.
:func:`scorecard_markdown` gathers all chapters' JSON files into the book's scorecard page.
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

HOLDS = "holds"
DIFFERS = "differs"
NOT_TESTABLE = "not testable at this profile"

REPO = Path(__file__).resolve().parents[1]
CLAIMS_DIR = REPO / "book" / "claims"

COLUMNS = ("Source", "Statement", "Source's figure", "Ours", "Test", "Verdict", "Note")
COLOURS = {HOLDS: "#d4edda", DIFFERS: "#ffe5a0", NOT_TESTABLE: "#e2e3e5"}


# --------------------------------------------------------------------------------------------
# tests: a callable that says whether a measured value agrees, and a line that says how.
# Lower-case names because they read as the sentence they stand for: within(89.95, 1.0).


@dataclass(frozen=True)
class within:
    """|value - target| <= tol."""
    target: float
    tol: float

    def __call__(self, value) -> bool:
        return abs(float(value) - self.target) <= self.tol

    def describe(self) -> str:
        return f"within ±{self.tol:g} of {self.target:g}"


@dataclass(frozen=True)
class between:
    """lo <= value <= hi."""
    lo: float
    hi: float

    def __call__(self, value) -> bool:
        return self.lo <= float(value) <= self.hi

    def describe(self) -> str:
        return f"between {self.lo:g} and {self.hi:g}"


@dataclass(frozen=True)
class above:
    """value > x."""
    x: float

    def __call__(self, value) -> bool:
        return float(value) > self.x

    def describe(self) -> str:
        return f"> {self.x:g}"


@dataclass(frozen=True)
class below:
    """value < x."""
    x: float

    def __call__(self, value) -> bool:
        return float(value) < self.x

    def describe(self) -> str:
        return f"< {self.x:g}"


# --------------------------------------------------------------------------------------------
# one claim, and a chapter's table of them


@dataclass
class Claim:
    """One row of a chapter's verdict table (all plain values, so it is its own JSON)."""
    chapter: str
    source: str           # file and table/figure, e.g. "seed 004 Fig 3"
    statement: str        # the claim in words
    expected: str         # the source's figure, quoted as text, e.g. "89.95 ± 0.18 %"
    measured: float | None
    measured_text: str    # our figure, formatted
    test: str             # the test's describe() text
    profile: str
    variant: str          # 'cifar10', 'cifar10-jpeg' or 'synthetic'
    verdict: str          # HOLDS / DIFFERS / NOT_TESTABLE
    note: str = ""


def _is_missing(x) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


class ClaimsTable:
    """The claims of one chapter, run at one profile on one dataset variant."""

    def __init__(self, chapter: str, profile: str, variant: str):
        self.chapter, self.profile, self.variant = chapter, profile, variant
        self.rows: list[Claim] = []

    def add(self, source, statement, expected, measured, test, fmt="{:.2f}", note="",
            testable=True) -> Claim:
        """Record a claim and decide its verdict; returns the new :class:`Claim`."""
        if measured is not None:
            measured = float(measured)  # numpy / torch scalars become plain floats
        if _is_missing(measured):
            measured, measured_text = None, "n/a"
        else:
            measured_text = fmt.format(measured)
        if self.profile == "smoke" or not testable or measured is None:
            verdict = NOT_TESTABLE
        else:
            verdict = HOLDS if test(measured) else DIFFERS
        describe = getattr(test, "describe", None)
        claim = Claim(self.chapter, source, statement, str(expected), measured, measured_text,
                      describe() if describe else str(test), self.profile, self.variant,
                      verdict, note)
        self.rows.append(claim)
        return claim

    def caption(self) -> str:
        return f"Claims of {self.chapter}: profile {self.profile}, dataset {self.variant}"

    def tally(self) -> dict:
        return {v: sum(r.verdict == v for r in self.rows) for v in (HOLDS, DIFFERS, NOT_TESTABLE)}

    def _repr_html_(self) -> str:
        cell = 'style="text-align:left; vertical-align:top; padding:4px 8px"'
        head = "".join(f"<th {cell}>{html.escape(c)}</th>" for c in COLUMNS)
        body = []
        for r in self.rows:
            tds = [r.source, r.statement, r.expected, r.measured_text, r.test]
            colour = COLOURS.get(r.verdict, "#ffffff")
            body.append(
                "<tr>" + "".join(f"<td {cell}>{html.escape(str(t))}</td>" for t in tds)
                + f'<td style="background:{colour}; padding:4px 8px; vertical-align:top">'
                f"<b>{html.escape(r.verdict)}</b></td>"
                + f"<td {cell}>{html.escape(r.note)}</td></tr>")
        return (f'<table style="border-collapse:collapse">'
                f'<caption style="text-align:left">{html.escape(self.caption())}</caption>'
                f"<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>")

    def to_markdown(self) -> str:
        return f"{self.caption()}\n\n{_markdown_table(self.rows)}\n"

    def to_json(self) -> str:
        rows = [dataclasses.asdict(r) for r in self.rows]
        for r in rows:  # strict JSON: no NaN / Infinity
            if r["measured"] is not None and not math.isfinite(r["measured"]):
                r["measured"] = None
        data = {"chapter": self.chapter, "profile": self.profile, "variant": self.variant,
                "rows": rows}
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
    table = ClaimsTable(data["chapter"], data["profile"], data["variant"])
    names = {f.name for f in dataclasses.fields(Claim)}
    table.rows = [Claim(**{k: v for k, v in r.items() if k in names}) for r in data["rows"]]
    return table


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
        cells = [r.source, r.statement, r.expected, r.measured_text, r.test, r.verdict, r.note]
        lines.append("| " + " | ".join(_md_cell(c) for c in cells) + " |")
    return "\n".join(lines)


def _tally_line(counts: dict) -> str:
    return (f"{counts[HOLDS]} hold, {counts[DIFFERS]} differ, "
            f"{counts[NOT_TESTABLE]} not testable.")


INTRO = """\
Each chapter of this book ends with a table that sets a figure quoted from a source next to the
figure we measured in the chapter's own run, and applies a stated test (a tolerance band or an
inequality). A claim **holds** when our figure passes the test; it **differs** when it does not
(the note gives our best explanation: a difference is a result, not a failure of the book); it is
**not testable at this profile** when the chapter ran at the `smoke` profile (which exists only to
check that the code runs), when the claim needs a scale the profile does not reach, or when
nothing was measured. Each section below names the profile and dataset variant that produced it.
"""


def scorecard_markdown(claims_dir=None) -> str:
    """The scorecard page (MyST markdown): every chapter's claims, read from its JSON file."""
    claims_dir = Path(claims_dir) if claims_dir is not None else CLAIMS_DIR
    files = sorted(claims_dir.glob("*.json")) if claims_dir.is_dir() else []
    parts = ["# Scorecard", "", INTRO]
    if not files:
        parts.append("No chapter has been executed yet: run the notebooks to fill this page.\n")
        return "\n".join(parts)
    tables = [load(f) for f in files]
    total = {v: sum(t.tally()[v] for t in tables) for v in (HOLDS, DIFFERS, NOT_TESTABLE)}
    parts.append(f"Over {len(tables)} chapter(s): {_tally_line(total)}\n")
    for t in tables:
        parts += [f"## {_md_cell(t.chapter)}", "",
                  f"Profile `{t.profile}`, dataset variant `{t.variant}`. "
                  f"{_tally_line(t.tally())}", ""]
        parts.append(_markdown_table(t.rows) + "\n" if t.rows else "No claims recorded.\n")
    return "\n".join(parts)
