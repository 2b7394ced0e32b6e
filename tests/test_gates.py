"""helpers.gates and ``python -m helpers train`` with the local executor (no Ray).

* every notebook makes its parameters object once and passes it, alone, to every gate;
* ``train NN`` computes every run of the chapter; the gates then train nothing; nothing imported Ray;
* the command's bad input is one line.
"""
from __future__ import annotations

import ast
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from helpers import cli, config, gates, train

REPO = Path(__file__).resolve().parents[1]


def _code(notebook) -> list[tuple[list, str]]:
    """``(tags, source)`` of every code cell, without its IPython magics."""
    cells = json.loads(notebook.read_text())["cells"]
    return [(c["metadata"].get("tags", []),
             "\n".join(line for line in "".join(c["source"]).splitlines()
                       if not line.lstrip().startswith(("%", "!"))))
            for c in cells if c["cell_type"] == "code"]


@pytest.mark.parametrize("chapter", sorted(gates.GATES))
def test_notebook_cells_take_one_parameter_object(chapter):
    """The notebook makes ``P`` once, from its parameters cell, right after it; every gate it
    calls gets ``P`` alone; no other cell assigns a name that is a preset key (``from_cell``
    would read it)."""
    cells = _code(REPO / "notebooks" / f"{chapter}.ipynb")
    at = [i for i, (tags, _) in enumerate(cells) if "parameters" in tags]
    assert len(at) == 1, "one parameters cell"
    setup = cells[at[0] + 1][1]
    assert f'P = config.from_cell("{chapter}", globals())' in setup
    keys = set(config.preset_keys(chapter))
    names = {g.name for g in gates.gates(chapter)}
    called = set()
    for i, (tags, src) in enumerate(cells):
        if i == at[0]:
            continue
        for node in ast.walk(ast.parse(src)):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                assert node.id not in keys, f"cell {i} assigns {node.id!r}, a preset key"
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr in names | {"claims_table"}):
                called.add(node.func.attr)
                args = [a.id for a in node.args if isinstance(a, ast.Name)]
                assert args == ["P"] and not node.keywords, f"{node.func.attr} gets {ast.unparse(node)}"
    assert called, f"no gate called in {chapter}"
    for g in gates.gates(chapter):
        assert callable(g.function()) and callable(g.function(cached=False))


def test_a_gate_memoizes_on_the_parameters_and_takes_a_profile_too(monkeypatch):
    calls = []

    @gates.gate("03_modes")
    def probe(P):
        calls.append(P)
        return P.seeds

    P = config.chapter_params("03_modes", "smoke")
    assert probe(P) == probe(P) == probe("smoke") == 3 and len(calls) == 1
    assert probe(P, seeds=4) == probe("smoke", seeds=4) == 4 and len(calls) == 2
    assert probe(P, seeds=None) == 3 and len(calls) == 2  # None keeps the value
    with pytest.raises(config.ConfigError, match="takes the parameters of chapter 03_modes"):
        probe(config.chapter_params("04_mimo", "smoke"))
    with pytest.raises(ValueError, match="unknown chapter"):
        gates.gates("07_nothing")


TRAIN_THEN_CHECK = textwrap.dedent("""
    import sys
    import helpers.runs
    from helpers import *  # noqa: F403
    from helpers import cli
    rc = cli.main(["train", "01", "--profile", "smoke", "--dataset", "synthetic", "-p", "n_train=256"])
    assert rc == 0, rc
    assert not [m for m in sys.modules if m == "ray" or m.startswith("ray.")], "the local executor imported ray"
""")


def test_train_command_computes_every_run_then_the_gates_train_nothing(no_data, monkeypatch):
    done = subprocess.run([sys.executable, "-c", TRAIN_THEN_CHECK], cwd=REPO, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "01_loss_landscape: every run is cached (19 trained now)" in done.stdout
    assert "Ray" not in done.stdout + done.stderr

    def no_training(*a, **k):
        raise AssertionError("trained again")

    monkeypatch.setattr(train, "fit", no_training)
    gates.cache_clear("01_loss_landscape")
    try:
        # as the notebook: all cached
        gates.compute(config.chapter_params("01_loss_landscape", "smoke", dataset="synthetic",
                                            n_train=256))
    finally:
        gates.cache_clear("01_loss_landscape")


@pytest.mark.parametrize("argv, message", [
    (["train", "01", "--address", "x:1"], "--address and --cpus-per-task are for --executor ray"),
    (["train", "01", "-p", "nonsense=1"], "unknown parameter 'nonsense'"),
    (["train", "01", "-p", "profile=gpu"], "set profile with --profile"),
    (["train", "99"], "matches no notebook"),
    (["train", "01", "--executor", "ray", "--budget", "5"], "--budget is for the local executor"),
    (["train", "01", "--profile", "huge"], "unknown profile"),
])
def test_train_bad_input_is_one_line(argv, message, capsys, no_data):
    assert cli.main(argv + ["--dataset", "synthetic"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and err.count("\n") == 1, err
