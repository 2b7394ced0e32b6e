"""End to end: a tiny notebook run by papermill into a scratch book, built with -W."""
from __future__ import annotations

from pathlib import Path

import nbformat

REPO = Path(__file__).resolve().parents[1]


def test_run_then_strict_build_of_a_scratch_book(cli, make_notebook, tmp_path):
    nb = make_notebook(
        "01_tiny", extra_params="seeds = None\n",
        cells=['print(f"tiny chapter ran: profile={profile} dataset={dataset} seeds={seeds}")'])
    scratch = tmp_path / "scratch"
    repo_toc = (REPO / "_toc.yml").read_text()

    proc = cli("run", "tiny", "--profile", "smoke", "--dataset", "synthetic", "-p", "seeds=3",
               "--notebooks", str(nb.parent), "--out", str(scratch / "book"))
    assert proc.returncode == 0, proc.stderr
    assert "01_tiny: done in" in proc.stdout

    executed = nbformat.read(scratch / "book" / "01_tiny.ipynb", as_version=4)
    injected = next(c for c in executed.cells if "injected-parameters" in c.metadata.get("tags", []))
    assert 'profile = "smoke"' in injected.source and "seeds = 3" in injected.source
    assert str((scratch / "book" / "claims").resolve()) in injected.source
    outputs = "".join(o.get("text", "") for c in executed.cells for o in c.get("outputs", []))
    assert "tiny chapter ran: profile=smoke dataset=synthetic seeds=3" in outputs

    proc = cli("build", "--root", str(scratch))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr
    page = (scratch / "_build" / "html" / "book" / "01_tiny.html").read_text()
    assert "tiny chapter ran" in page
    assert "file: book/01_tiny" in (scratch / "_toc.yml").read_text()
    assert (scratch / "book" / "scorecard.md").is_file()
    assert (REPO / "_toc.yml").read_text() == repo_toc  # the published book is untouched
