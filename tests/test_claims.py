"""Tests for helpers.claims: verdict logic, JSON round trip, HTML and the scorecard page."""
import json

import numpy as np
import pytest

from helpers.claims import (CHECK, DIFFERS, HOLDS, INCONCLUSIVE, NOT_TESTABLE, ClaimsTable,
                            above, below, between, decide, load, scorecard_markdown, within)
from helpers import claims, stats
from helpers.stats import Estimate, mean_t


def test_tests_pass_and_fail():
    assert within(89.95, 1.0)(89.0) and within(89.95, 1.0)(90.95)
    assert not within(89.95, 1.0)(88.9)
    assert between(1, 5)(1) and between(1, 5)(5) and between(1, 5)(3.2)
    assert not between(1, 5)(0.99) and not between(1, 5)(5.01)
    assert above(2)(2.01) and not above(2)(2) and not above(2)(1)
    assert below(0.5)(0.49) and not below(0.5)(0.5) and not below(0.5)(3)
    assert not within(0, 1)(float("nan"))


def test_describe():
    assert within(89.95, 1.0).describe() == "within ±1 of 89.95"
    assert between(1, 5).describe() == "between 1 and 5"
    assert above(2).describe() == "> 2"
    assert below(0.05).describe() == "< 0.05"


def test_verdicts():
    t = ClaimsTable("03_modes", "cpu", "cifar10")
    assert t.add("s", "a", "90 %", 90.3, within(90, 0.5)).verdict == HOLDS
    assert t.add("s", "b", "90 %", 91.0, within(90, 0.5)).verdict == DIFFERS
    assert t.add("s", "c", "1-5", 3, between(1, 5)).verdict == HOLDS
    assert t.add("s", "d", "1-5", 6, between(1, 5)).verdict == DIFFERS
    assert t.add("s", "e", "> 2x", np.float32(2.5), above(2)).verdict == HOLDS
    assert t.add("s", "f", "< 0.1", 0.2, below(0.1)).verdict == DIFFERS
    assert t.add("s", "g", "x", float("nan"), above(0)).verdict == NOT_TESTABLE
    assert t.add("s", "h", "x", None, above(0)).verdict == NOT_TESTABLE
    assert t.add("s", "i", "x", 5.0, above(0), testable=False).verdict == NOT_TESTABLE
    assert [r.statement for r in t.rows] == list("abcdefghi")
    assert t.tally() == {HOLDS: 3, DIFFERS: 3, INCONCLUSIVE: 0, NOT_TESTABLE: 3, "checks": 0}


def test_smoke_profile_is_never_tested():
    t = ClaimsTable("01_loss_landscape", "smoke", "synthetic")
    c = t.add("seed 000 §3", "accuracy", "89.95 ± 0.18 %", 89.95, within(89.95, 1.0))
    assert c.verdict == NOT_TESTABLE
    assert c.profile == "smoke" and c.variant == "synthetic" and c.chapter == "01_loss_landscape"


def test_claim_fields():
    t = ClaimsTable("05_instability", "gpu", "cifar10-jpeg")
    c = t.add("seed 001 Table 1", "init-only disagreement", "10.7 %", 10.6789, between(9, 12),
              fmt="{:.1f} %", note="ResNet-14 in the source")
    assert c.measured == pytest.approx(10.6789) and isinstance(c.measured, float)
    assert c.measured_text == "10.7 %"
    assert c.test == "between 9 and 12"
    assert c.expected == "10.7 %" and c.note == "ResNet-14 in the source"


def test_json_round_trip(tmp_path):
    t = ClaimsTable("02_lottery_tickets", "cpu", "cifar10")
    t.add("seed 003", "winning tickets train faster", "earlier stop", 1.8, above(1), fmt="{:.1f}x")
    t.add("seed 003", "missing", "?", None, above(1))
    t.add("seed 003", "pipes | in | text", "a|b", 0.3, below(0.5), note="x | y")
    path = t.save(tmp_path)
    assert path == tmp_path / "02_lottery_tickets.json"
    assert [p.name for p in tmp_path.iterdir()] == ["02_lottery_tickets.json"]  # no tmp left
    data = json.loads(path.read_text())
    assert (data["chapter"], data["profile"], data["variant"]) == ("02_lottery_tickets", "cpu",
                                                                   "cifar10")
    assert len(data["rows"]) == 3 and data["rows"][1]["measured"] is None
    back = load(path)
    assert (back.chapter, back.profile, back.variant) == (t.chapter, t.profile, t.variant)
    assert back.rows == t.rows
    # saving again replaces the file
    t.add("seed 003", "one more", "1", 1.0, within(1, 0))
    assert len(load(t.save(tmp_path)).rows) == 4


def test_html_contains_everything():
    t = ClaimsTable("03_modes", "cpu", "cifar10")
    t.add("seed 004 Fig 3", "cross-seed <disagreement> is high", "0.2", 0.25, above(0.1))
    t.add("seed 004 Fig 6", "subspace samples are less diverse", "below", 0.9, below(0.5))
    t.add("seed 004 Fig 9", "JS under shift", "rises", None, above(0))
    out = t._repr_html_()
    assert "cross-seed &lt;disagreement&gt; is high" in out  # escaped
    assert "subspace samples are less diverse" in out and "JS under shift" in out
    for col in ("Source", "Statement", "Source&#x27;s figure", "Ours", "95% interval", "Test",
                "Verdict", "Note"):
        assert col in out
    assert "profile cpu" in out and "dataset cifar10" in out and "03_modes" in out
    assert out.count("#d4edda") == 1 and out.count("#ffe5a0") == 1 and out.count("#e2e3e5") == 1


def test_markdown_escapes_pipes():
    t = ClaimsTable("03_modes", "cpu", "cifar10")
    t.add("seed 004", "a | b", "|x|", 1.0, above(0), note="line one\nline two")
    md = t.to_markdown()
    row = md.strip().splitlines()[-1]
    assert "a \\| b" in row and "\\|x\\|" in row and "line one line two" in row
    # 8 columns -> 9 unescaped pipes
    # text that looks like a MyST role is escaped, so a `-W` build does not fail on it
    t.add("seed 004", "uses {eq}`x`", "1", 1.0, above(0))
    assert "\\{eq}`x`" in t.to_markdown()
    assert row.replace("\\|", "").count("|") == 9


def test_scorecard_tallies(tmp_path):
    a = ClaimsTable("01_loss_landscape", "cpu", "cifar10")
    a.add("seed 002", "x", "1", 1.0, within(1, 0.1))
    a.add("seed 002", "y", "1", 2.0, within(1, 0.1))
    a.add("seed 002", "z | pipe", "1", None, within(1, 0.1))
    b = ClaimsTable("03_modes", "smoke", "synthetic")
    b.add("seed 004", "w", "1", 1.0, above(0))
    b.add("seed 004", "v", "1", 1.0, above(0))
    b.save(tmp_path)
    a.save(tmp_path)
    md = scorecard_markdown(tmp_path)
    assert md.startswith("# Scorecard\n")
    assert md.count("\n## ") == 2
    assert md.index("## 01_loss_landscape") < md.index("## 03_modes")  # sorted by file name
    sec_a, sec_b = md.split("## 01_loss_landscape")[1].split("## 03_modes")
    assert "1 holds, 1 differs, 0 inconclusive, 1 not testable." in sec_a
    assert "0 hold, 0 differ, 0 inconclusive, 2 not testable." in sec_b
    assert "`smoke`" in sec_b and "`synthetic`" in sec_b
    assert "z \\| pipe" in sec_a
    assert "1 holds, 1 differs, 0 inconclusive, 3 not testable." in md  # the overall tally
    assert "holds" in md and "differs" in md and "not testable at this profile" in md


def test_scorecard_empty(tmp_path):
    for folder in (tmp_path, tmp_path / "missing"):
        md = scorecard_markdown(folder)
        assert md.startswith("# Scorecard") and "No chapter has been executed yet" in md
        assert "\n## " not in md


def test_default_claims_dir_is_in_the_repo():
    from helpers import claims
    assert claims.CLAIMS_DIR.parts[-2:] == ("book", "claims")
    assert (claims.REPO / "helpers" / "claims.py").exists()


# --------------------------------------------------------------------------------------------
# intervals: three-way verdicts


@pytest.mark.parametrize("test, lo, hi, verdict", [
    (above(1), 1.0001, 2, HOLDS), (above(1), 1.0, 2, INCONCLUSIVE), (above(1), 0.5, 1.0, DIFFERS),
    (above(1), 0.5, 0.9, DIFFERS), (below(1), 0.2, 0.9999, HOLDS), (below(1), 0.2, 1.0,
                                                                   INCONCLUSIVE),
    (below(1), 1.0, 3, DIFFERS), (within(0, 1), -1, 1, HOLDS), (within(0, 1), 1, 2, INCONCLUSIVE),
    (within(0, 1), 1.0001, 2, DIFFERS), (within(0, 1), -2, 2, INCONCLUSIVE),
    (within(0, 1), -3, -1.0001, DIFFERS), (between(1, 5), 1, 5, HOLDS),
    (between(1, 5), 0.5, 1.5, INCONCLUSIVE), (between(1, 5), 5.5, 6, DIFFERS),
    (between(1, 5), 0, 9, INCONCLUSIVE),
])
def test_three_way_verdict_at_the_boundaries(test, lo, hi, verdict):
    assert decide(test, lo, hi) == verdict
    t = ClaimsTable("03_modes", "cpu", "cifar10")
    assert t.add("s", "x", "e", Estimate((lo + hi) / 2, lo, hi, "m", 5, "runs"),
                 test).verdict == verdict


def test_a_point_interval_agrees_with_the_point_test():
    for test in (above(1), below(1), within(0, 1), between(1, 5)):
        for v in (-3, -1, 0, 0.5, 1, 1.0001, 3, 5, 6):
            assert decide(test, v, v) == (HOLDS if test(v) else DIFFERS)


def test_estimate_row_fields_and_json(tmp_path):
    t = ClaimsTable("05_instability", "cpu", "cifar10")
    c = t.add("seed 001", "ratio", "0.95", Estimate(1.02, 0.45, 2.3, "F interval, 6 and 6 runs",
                                                    12, "runs"), between(0.5, 2), fmt="{:.2f}")
    assert c.verdict == INCONCLUSIVE
    assert c.interval == [0.45, 2.3] and c.interval_text == "0.45 to 2.30"
    assert c.uncertainty == "F interval, 6 and 6 runs" and c.units == 12 and c.kind == "evidence"
    p = t.add("s", "point", "1", 3.0, above(1))
    assert p.interval is None and p.interval_text == "—" and p.uncertainty == "no interval"
    assert p.verdict == HOLDS
    e = t.add("s", "one run", "1", Estimate(3.0, None, None, "one run: no interval"), above(1))
    assert e.verdict == HOLDS and e.uncertainty == "one run: no interval"
    n = t.add("s", "nan", "1", Estimate(float("nan"), None, None), above(1))
    assert n.verdict == NOT_TESTABLE and n.measured is None
    data = json.loads(t.save(tmp_path).read_text())
    row = data["rows"][0]
    assert row["interval"] == [0.45, 2.3] and row["kind"] == "evidence"
    assert load(tmp_path / "05_instability.json").rows == t.rows


def test_smoke_estimate_is_not_testable():
    t = ClaimsTable("03_modes", "smoke", "synthetic")
    c = t.add("s", "x", "1", mean_t([1.0, 1.1, 0.9]), above(0))
    assert c.verdict == NOT_TESTABLE and c.interval is not None  # the interval is still shown


def test_checks_are_shown_not_counted(tmp_path):
    t = ClaimsTable("04_mimo", "cpu", "cifar10")
    t.add("s", "evidence", "1", 1.0, within(1, 0.1))
    c = t.check("s", "M = 1 has zero disagreement", "0", 0.0, within(0, 0))
    assert c.kind == CHECK and c.verdict == HOLDS
    assert t.tally() == {HOLDS: 1, DIFFERS: 0, INCONCLUSIVE: 0, NOT_TESTABLE: 0, "checks": 1}
    assert "check: holds" in t._repr_html_() and "check: holds" in t.to_markdown()
    t.save(tmp_path)
    md = scorecard_markdown(tmp_path)
    assert "1 holds, 0 differ, 0 inconclusive, 0 not testable; 1 check not counted." in md


OLD_ROW = {"chapter": "03_modes", "source": "seed 000 §3", "statement": "old row",
           "expected": "0.18", "measured": 0.36, "measured_text": "0.36 pp", "test": "< 0.5",
           "profile": "cpu", "variant": "cifar10-jpeg", "verdict": "holds", "note": "n"}


def test_old_json_without_intervals_still_renders(tmp_path):
    (tmp_path / "03_modes.json").write_text(json.dumps(
        {"chapter": "03_modes", "profile": "cpu", "variant": "cifar10-jpeg",
         "rows": [OLD_ROW, dict(OLD_ROW, statement="old differs", verdict="differs")]}))
    new = ClaimsTable("05_instability", "smoke", "synthetic")
    new.add("s", "new row", "1", mean_t([1.0, 2.0, 3.0]), above(0))
    new.save(tmp_path)
    t = load(tmp_path / "03_modes.json")
    assert [r.verdict for r in t.rows] == [HOLDS, DIFFERS]  # the verdicts are kept
    assert t.rows[0].interval is None and t.rows[0].interval_cell() == "—"
    md = scorecard_markdown(tmp_path)
    row = next(line for line in md.splitlines() if "old row" in line)
    assert "| — |" in row and "| holds |" in row
    assert "03_modes (`cpu`) | 1 | 1 | 0 | 0 | 0 | 0 of 2 |" in md
    assert "**profile `cpu`** (1 chapter(s)) | 1 | 1 | 0 | 0 | 0 | 0 of 2 |" in md
    assert "**profile `smoke`** (1 chapter(s)) | 0 | 0 | 0 | 1 | 0 | 1 of 1 |" in md
    assert "—" in t._repr_html_()


def test_the_published_claims_files_render():
    from helpers import claims
    for path in sorted(claims.CLAIMS_DIR.glob("*.json")):
        t = load(path)
        assert t.rows and t._repr_html_() and t.to_markdown()
    assert "## 05_instability" in scorecard_markdown()


def test_summary_names_the_rows_that_differ_or_are_inconclusive():
    t = ClaimsTable("05_instability", "cpu", "cifar10")
    t.add("s", "holds row", "1", Estimate(2.0, 1.5, 2.5, "m"), above(1))
    t.add("s", "differs row", "1", Estimate(0.5, 0.2, 0.8, "m"), above(1))
    t.add("s", "unsure row", "1", Estimate(1.1, 0.8, 1.4, "m"), above(1))
    t.check("s", "a check", "0", 1.0, within(0, 0))
    s = t.summary()
    assert "1 holds, 1 differs, 1 inconclusive, 0 not testable; 1 check not counted." in s
    assert "Differs: differs row (0.50, interval 0.20 to 0.80)." in s
    assert "Inconclusive: unsure row" in s and "holds row" not in s and "a check" not in s


def test_interval_format_keeps_short_units_only():
    from helpers.claims import interval_format
    assert interval_format("{:.2f} pp") == "{:.2f} pp"
    assert interval_format("{:.1e}x") == "{:.1e}x"
    assert interval_format("Brier {:+.4f} better") == "{:+.4f}"
    assert interval_format("{:.0%} of 16 samples") == "{:.0%}"
    assert interval_format("e = {:.2f}") == "{:.2f}"
    assert interval_format("min gap {:+.4f} nats") == "{:+.4f} nats"


def test_compare_finds_a_swap_between_holds_and_differs_and_refuses_other_chapters():
    from helpers import claims

    def table(values, chapter="04_mimo"):
        t = ClaimsTable(chapter, "cpu", "cifar10")
        for name, v in zip("abc", values):
            t.add("s", name, "> 1", v, above(1))
        return t

    rows = claims.compare(table([2, 0.5, float("nan")]), table([0.5, 0.2, 3]))
    assert [r["swap"] for r in rows] == [True, False, False]          # holds -> differs only
    assert [(r["a"], r["b"]) for r in rows][2] == (NOT_TESTABLE, HOLDS)
    with pytest.raises(ValueError, match="rows differ"):
        claims.compare(table([2, 2, 2]), table([2, 2, 2], chapter="05_instability"))


def _ci_table(intervals, seed_base=0, profile="cpu", statements="abc"):
    t = ClaimsTable("04_mimo", profile, "cifar10", seed_base=seed_base)
    for name, (lo, hi) in zip(statements, intervals):
        t.add("s", f"row {name}", "> 1", Estimate((lo + hi) / 2, lo, hi, "t interval", 4, "runs"), above(1))
    return t


def test_a_fresh_seed_record_is_set_beside_the_table_row_by_row(tmp_path):
    ours = _ci_table([(2, 3), (1.5, 2.5), (0.2, 0.5)])
    fresh = _ci_table([(2, 4), (0.5, 1.5), (0.2, 0.5)], seed_base=1000)
    assert "No rerun of this `cpu` edition on fresh seeds" in claims.fresh_reading(ours, tmp_path)
    path = claims.record_fresh(fresh, tmp_path, date="2026-12-07")
    assert path == tmp_path / "fresh" / "04_mimo.json" and fresh.recorded == ""
    again = claims.load(path)
    assert (again.seed_base, again.recorded) == (1000, "2026-12-07")
    text = claims.fresh_reading(ours, tmp_path)
    assert "`-p seed_base=1000` (2026-12-07" in text and "kept 2 of its 3 verdicts" in text
    assert "swapped none" in text and "“row b”: *holds* at 2.00" in text
    assert "then *inconclusive* at 1.00" in text and "row a" not in text and "row c" not in text
    assert "the tally is 1 holds, 1 differs, 1 inconclusive" in text
    # row b's values each lie outside the other's interval (2.00 against 0.50-1.50)
    assert ("For the row that moved, the two seed sets' values differ by more than their "
            "intervals allow (a z test on the intervals' widths): the seeds spread more than that "
            "interval says" in text and "sits near" not in text)
    claims.record_fresh(_ci_table([(2, 4), (0.9, 2.1), (0.2, 0.5)], 1000), tmp_path)
    near = claims.fresh_reading(ours, tmp_path)   # 1.50 against 2.00: within the intervals
    assert "sits near its test's boundary" in near and "more than their intervals" not in near
    assert "do not even overlap" not in text   # (2, 3) and (2, 4) overlap, and so on
    ours.save(tmp_path)   # the scorecard says it too, under the chapter's table and in its counts
    card = scorecard_markdown(tmp_path)
    assert "Fresh seeds: Rerun with `-p seed_base=1000`" in card
    assert "| 04_mimo (`cpu`) | 2 | 1 | 0 | 0 | 0 | 3 of 3 | 2 of 3 |" in card
    assert "| **profile `cpu`** (1 chapter(s)) | 2 | 1 | 0 | 0 | 0 | 3 of 3 | 2 of 3 |" in card
    claims.record_fresh(_ci_table([(3.5, 4), (1.5, 2.5), (0.2, 0.5)], 1000), tmp_path)
    assert ("The two intervals do not even overlap for “row a”: there an interval understates"
            in claims.fresh_reading(ours, tmp_path))
    # a swap is flagged; another profile's record or other rows are not set beside the table
    claims.record_fresh(_ci_table([(0.1, 0.5), (1.5, 2.5), (0.2, 0.5)], 1000), tmp_path)
    assert "swapped **1**" in claims.fresh_reading(ours, tmp_path)
    claims.record_fresh(_ci_table([(2, 3)] * 3, 1000, profile="gpu"), tmp_path)
    assert "the one on record (" in claims.fresh_reading(ours, tmp_path)
    claims.record_fresh(_ci_table([(2, 3)] * 3, 1000, statements="xyz"), tmp_path)
    assert "other rows" in claims.fresh_reading(ours, tmp_path)
    assert "itself a rerun" in claims.fresh_reading(fresh, tmp_path)
    with pytest.raises(ValueError, match="seed_base=1000"):
        claims.record_fresh(ours, tmp_path)


def test_a_moved_row_that_leads_into_the_next_is_quoted_without_its_dots(tmp_path):
    ours = _ci_table([(2, 3), (2, 3)], statements=["a ...", "... b"])
    claims.record_fresh(_ci_table([(0.5, 1.5), (2, 3)], 1000, statements=["a ...", "... b"]),
                        tmp_path)
    text = claims.fresh_reading(ours, tmp_path)
    assert "“row a”: *holds*" in text and "...:" not in text and "...”" not in text

    def table(second, seed_base=0):   # a row that continues the one above
        t = ClaimsTable("04_mimo", "cpu", "cifar10", seed_base=seed_base)
        t.add("s", "A holds ...", "> 1", Estimate(2.5, 2, 3, "t", 4, "runs"), above(1))
        t.add("s", "... and B", "> 1", Estimate(sum(second) / 2, *second, "t", 4, "runs"),
              above(1))
        return t
    claims.record_fresh(table((3.5, 4), 1000), tmp_path)   # B's intervals do not overlap
    text = claims.fresh_reading(table((2, 3)), tmp_path)
    assert "do not even overlap for “... and B” (the row after “A holds”): there" in text


def test_a_sentence_says_when_the_fresh_seeds_moved_its_row(tmp_path, monkeypatch):
    monkeypatch.setattr(claims, "CLAIMS_DIR", tmp_path)
    ours = _ci_table([(2, 3), (1.5, 2.5), (0.2, 0.5)])
    texts = {HOLDS: "holds ({m}, interval {ci})", INCONCLUSIVE: "unsure ({m}, interval {ci})"}
    assert ours.say("row b", texts) == "holds (2.00, interval 1.50 to 2.50)"   # no record
    claims.record_fresh(_ci_table([(2, 4), (0.5, 1.5), (0.2, 0.5)], 1000), tmp_path)
    assert ours.say("row b", texts) == ("holds (2.00, interval 1.50 to 2.50) (on fresh seeds: "
                                        "*inconclusive*, at 1.00 (interval 0.50 to 1.50))")
    # a whole sentence gets a sentence after it; a decided verdict not kept is read as undecided
    whole = {HOLDS: "holds ({m}, interval {ci}).", INCONCLUSIVE: "unsure ({m})."}
    assert ours.say("row b", whole) == (
        "In this run, holds (2.00, interval 1.50 to 2.50). On fresh seeds the row's verdict is "
        "*inconclusive*, at 1.00 (interval 0.50 to 1.50), so its verdict against the test (> 1) "
        "is undecided at this profile.")
    assert ours.say("row b", {HOLDS: "MIMO holds."}).startswith("In this run, MIMO holds.")
    assert ours.say("row a", texts) == "holds (2.50, interval 2.00 to 3.00)"   # kept
    listed = ours.readings()["claims_holds"].splitlines()
    assert listed[1].endswith("test > 1; *inconclusive* on fresh seeds)")
    assert "fresh" not in listed[0]
    other = _ci_table([(2, 3), (1.5, 2.5), (0.2, 0.5)], profile="gpu")   # another edition
    assert "fresh seeds" not in other.say("row b", texts)


def test_compare_records_only_a_rerun_on_fresh_seeds(tmp_path, capsys):
    from helpers import cli

    a, b = tmp_path / "a.json", tmp_path / "b.json"
    _ci_table([(2, 3)] * 3).save(tmp_path)
    (tmp_path / "04_mimo.json").rename(a)
    _ci_table([(2, 3)] * 3).save(tmp_path)
    (tmp_path / "04_mimo.json").rename(b)
    book = tmp_path / "book"
    assert cli.main(["compare", str(a), str(b), "--record", "--book-dir", str(book)]) != 0
    assert "published seeds" in capsys.readouterr().err and not book.exists()
    _ci_table([(2, 3)] * 3, seed_base=1000).save(tmp_path)
    (tmp_path / "04_mimo.json").rename(b)
    assert cli.main(["compare", str(a), str(b), "--record", "--book-dir", str(book)]) == 0
    assert claims.load(book / "claims" / "fresh" / "04_mimo.json").seed_base == 1000
    assert "recorded as the fresh-seed rerun" in capsys.readouterr().out
    # given alone, the rerun is set beside the chapter's published table
    (book / "claims" / "fresh" / "04_mimo.json").unlink()
    assert cli.main(["compare", str(b), "--record", "--book-dir", str(book)]) != 0
    assert "no claims file" in capsys.readouterr().err
    a.rename(book / "claims" / "04_mimo.json")
    assert cli.main(["compare", str(b), "--record", "--book-dir", str(book)]) == 0
    assert "3 rows: 3 with the same verdict" in capsys.readouterr().out
    assert (book / "claims" / "fresh" / "04_mimo.json").is_file()


def test_the_seed_rule_keeps_rows_without_a_seed_interval_out_of_holds_and_differs():
    T = claims.ClaimsTable("01_x", "cpu", "synthetic")
    point = T.add("s", "a claim on one run", "e", stats.point(0.5, "no interval: one run"),
                  claims.below(1.0))
    assert point.verdict == claims.HOLDS
    claims.seed_rule(point, None)
    assert point.verdict == claims.INCONCLUSIVE and "another seed could swap" in point.note
    runs_ = stats.mean_t(np.array([0.1, 0.2, 0.3]))
    kept = claims.seed_rule(T.add("s", "over runs", "e", runs_, claims.below(1.0)), runs_)
    assert kept.verdict == claims.HOLDS
    images = stats.Estimate(0.5, 0.4, 0.6, "bootstrap", 1000, "test examples")
    one = claims.seed_rule(T.add("s", "over images", "e", images, claims.below(1.0)), images)
    assert one.verdict == claims.INCONCLUSIVE and "test images of single runs" in one.note
    check = T.check("s", "by construction", "e", stats.point(0.0, "none"), claims.below(1.0))
    assert claims.seed_rule(check, None).verdict == claims.HOLDS


def _edition(folder, chapter, profile, verdict_value):
    t = ClaimsTable(chapter, profile, "cifar10-jpeg")
    t.add("seed 000", "accuracy", "90 %", verdict_value, above(89))
    t.save(folder)
    return t


def test_earlier_editions_are_set_beside_the_published_one_and_not_counted(tmp_path):
    from helpers.claims import earlier_editions, editions_line

    _edition(tmp_path, "03_modes", "gpu", 87.6)            # published: differs
    _edition(tmp_path / "cpu", "03_modes", "cpu", 95.0)    # earlier edition: holds
    _edition(tmp_path, "05_instability", "cpu", 95.0)
    assert [t.profile for t in earlier_editions(tmp_path)] == ["cpu"]
    md = scorecard_markdown(tmp_path)
    head, earlier = md.split("## Earlier editions")
    assert "Over 2 chapter(s): 1 holds, 1 differs, 0 inconclusive, 0 not testable." in head
    assert "| accuracy | 95.00 | holds | 87.60 | differs |" in earlier
    line = editions_line(tmp_path)
    assert line.index("chapter 03 at the `gpu` profile") < line.index("chapter 05 at the `cpu`")
    assert "No chapter" in editions_line(tmp_path / "none")


def test_a_smaller_profile_keeps_a_published_edition_and_a_change_archives_it(tmp_path, capsys):
    from helpers import cli

    paths = [tmp_path / "03_modes.ipynb", tmp_path / "05_instability.ipynb"]
    claims_dir = tmp_path / "claims"
    _edition(claims_dir, "03_modes", "gpu", 87.6)
    _edition(claims_dir, "05_instability", "cpu", 95.0)
    assert cli.keep_published(paths, claims_dir, "cpu", replace=False) == paths[1:]
    assert "03_modes: kept its published `gpu` edition" in capsys.readouterr().out
    assert not (claims_dir / "gpu").exists()              # nothing moved for a kept chapter
    assert cli.keep_published(paths, claims_dir, "gpu", replace=False) == paths
    assert load(claims_dir / "cpu" / "05_instability.json").profile == "cpu"  # archived first
    assert cli.keep_published(paths[:1], claims_dir, "cpu", replace=True) == paths[:1]
    assert load(claims_dir / "gpu" / "03_modes.json").profile == "gpu"


def test_publish_takes_chapters_executed_elsewhere_into_the_book(tmp_path, capsys):
    """`python -m helpers publish DIR`: a gpu chapter from DIR replaces the cpu edition (archived
    in claims/cpu/), a cpu chapter does not replace a gpu one; bad input changes nothing."""
    from helpers import cli

    book, out = tmp_path / "book", tmp_path / "out"
    _edition(book / "claims", "05_instability", "cpu", 95.0)
    (book / "05_instability.ipynb").write_text("cpu edition")
    _edition(book / "claims", "03_modes", "gpu", 87.6)
    (book / "03_modes.ipynb").write_text("gpu edition")
    _edition(out / "claims", "05_instability", "gpu", 91.0)
    (out / "05_instability.ipynb").write_text("gpu run")
    _edition(out / "claims", "03_modes", "cpu", 95.0)
    (out / "03_modes.ipynb").write_text("cpu run")
    assert cli.main(["publish", str(out), "--book-dir", str(book)]) == 0
    assert (book / "05_instability.ipynb").read_text() == "gpu run"
    assert load(book / "claims" / "05_instability.json").profile == "gpu"
    assert load(book / "claims" / "cpu" / "05_instability.json").profile == "cpu"
    assert (book / "03_modes.ipynb").read_text() == "gpu edition"
    assert "03_modes: kept its published `gpu` edition" in capsys.readouterr().out
    # a chapter without its claims: one line, nothing copied
    (out / "04_mimo.ipynb").write_text("half run")
    assert cli.main(["publish", str(out), "--book-dir", str(book)]) == 2
    assert "04_mimo.ipynb has no claims" in capsys.readouterr().err
    assert not (book / "04_mimo.ipynb").exists()
    assert cli.main(["publish", str(tmp_path / "nothing"), "--book-dir", str(book)]) == 2
    # claims of another chapter, or at an unknown profile: one line, nothing copied
    (out / "04_mimo.ipynb").unlink()
    _edition(out / "claims", "02_lottery_tickets", "bogus", 90.0)
    (out / "02_lottery_tickets.ipynb").write_text("bogus run")
    assert cli.main(["publish", str(out), "--book-dir", str(book)]) == 2
    assert "at profile 'bogus'" in capsys.readouterr().err
    assert not (book / "02_lottery_tickets.ipynb").exists()
    (out / "02_lottery_tickets.ipynb").rename(out / "01_loss_landscape.ipynb")
    (out / "claims" / "02_lottery_tickets.json").rename(out / "claims" / "01_loss_landscape.json")
    assert cli.main(["publish", str(out), "--book-dir", str(book)]) == 2
    assert "holds chapter '02_lottery_tickets'" in capsys.readouterr().err
    # read-only files (as the device tool fetches them) give writable pages
    for f in (out / "01_loss_landscape.ipynb", out / "claims" / "01_loss_landscape.json"):
        f.unlink()
    (out / "05_instability.ipynb").chmod(0o444)
    (book / "05_instability.ipynb").write_text("cpu edition")
    assert cli.main(["publish", str(out), "--book-dir", str(book), "--replace"]) == 0
    assert (book / "05_instability.ipynb").read_text() == "gpu run"
    assert (book / "05_instability.ipynb").stat().st_mode & 0o200   # (root writes read-only files)


def test_the_intro_block_of_editions_is_rewritten_from_the_claims(tmp_path):
    from helpers import cli

    _edition(tmp_path / "claims", "03_modes", "gpu", 87.6)
    intro = tmp_path / "intro.md"
    intro.write_text("# Intro\n\n% editions: written by build\nold text\n% /editions\n\nrest\n")
    cli.write_editions(tmp_path)
    text = intro.read_text()
    assert "old text" not in text and "chapter 03 at the `gpu` profile" in text
    assert text.endswith("% /editions\n\nrest\n")


def test_an_interval_end_near_a_bound_prints_which_side_it_is_on():
    # 2.964 against "< 3" at one decimal would print "3.0": one more decimal shows it is below
    T = ClaimsTable("x", "cpu", "v")
    r = T.add("s", "gap", "small", Estimate(1.2, -0.63, 2.964, "t", 3, "runs"), claims.below(3.0),
              fmt="{:.1f} pp")
    assert r.interval_text == "-0.63 pp to 2.96 pp" and r.verdict == HOLDS
    far = T.add("s", "gap", "small", Estimate(1.2, 0.4, 2.5, "t", 3, "runs"), claims.below(3.0),
                fmt="{:.1f} pp")
    assert far.interval_text == "0.4 pp to 2.5 pp"
    # an end equal to the bound keeps the short form; a two-sided test checks both bounds
    assert claims.ends_text("{:.1f}", 0.2, 3.0, (3.0,)) == "0.2 to 3.0"
    assert claims.ends_text("{:.2f}", 0.8996, 1.2, claims.bounds(claims.between(0.9, 1.1))) \
        == "0.8996 to 1.2000"
    assert claims.bounds(lambda v: v > 0) == ()


def test_an_undecided_row_that_the_fresh_seeds_decide_stays_undecided(tmp_path, monkeypatch):
    monkeypatch.setattr(claims, "CLAIMS_DIR", tmp_path)
    ours = _ci_table([(0.5, 1.5)], statements="a")                 # inconclusive against > 1
    claims.record_fresh(_ci_table([(1.2, 2.0)], 1000, statements="a"), tmp_path)   # holds
    texts = {INCONCLUSIVE: "Undecided ({m}, interval {ci})."}
    assert ours.say("row a", texts) == (
        "Undecided (1.00, interval 0.50 to 1.50). On fresh seeds the row's verdict is *holds*, "
        "at 1.60 (interval 1.20 to 2.00); with this run's, it stays undecided at this profile.")


def test_a_check_is_not_counted_among_the_verdicts_kept(tmp_path):
    def table(seed_base=0):
        t = _ci_table([(2, 3)], seed_base, statements="a")
        t.check("s", "a control", "0", Estimate(0.0, 0.0, 0.0, "exact", 4, "runs"),
                within(0, 0))
        return t
    claims.record_fresh(table(1000), tmp_path)
    assert "kept 1 of its 1 verdicts (checks apart)" in claims.fresh_reading(table(), tmp_path)
    table().save(tmp_path)
    assert "| 1 of 1 |" in scorecard_markdown(tmp_path)


def test_no_published_claim_carries_an_unformatted_placeholder():
    # a string that lost its f prefix prints its code: "{each(pv['disagreement'], ...)}"
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[1] / "book" / "claims"
    files = sorted(root.glob("**/*.json"))
    assert files
    for f in files:
        for r in load(f).rows:
            for text in (r.statement, r.expected, r.note):
                assert not re.search(r"\{[A-Za-z_][\w.]*[(\[\]]", str(text or "")), (f, text)
