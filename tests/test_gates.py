"""helpers.gates and ``python -m helpers train`` with the local executor (no Ray).

* :data:`helpers.gates.GATES` passes each gate the parameters its notebook passes it;
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

from helpers import cli, gates, train

REPO = Path(__file__).resolve().parents[1]


def _profile_calls(notebook) -> dict:
    """``{function name: [keyword names]}`` of every call ``x.f(profile, ...)`` in the notebook
    (the chapters' gates and analyses; ``dataset`` left out, positional or not)."""
    cells = json.loads(notebook.read_text())["cells"]
    src = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
    src = "\n".join(line for line in src.splitlines() if not line.lstrip().startswith(("%", "!")))
    out: dict = {}
    for node in ast.walk(ast.parse(src)):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.args
                and isinstance(node.args[0], ast.Name) and node.args[0].id == "profile"):
            out.setdefault(node.func.attr, []).append(tuple(sorted(k.arg for k in node.keywords if k.arg != "dataset")))
    return out


@pytest.mark.parametrize("chapter", sorted(gates.GATES))
def test_gates_get_what_the_notebook_passes(chapter):
    calls = _profile_calls(REPO / "notebooks" / f"{chapter}.ipynb")
    assert calls, f"no calls with the notebook's parameters in {chapter}"
    for gate in gates.gates(chapter):
        want = tuple(sorted(gate.params))
        # a gate the notebook calls: as it calls it; one it reaches through the chapter's analyses
        # (chapter 01): the notebook passes one parameter set to everything
        seen = calls.get(gate.name) or [k for v in calls.values() for k in v]
        assert set(seen) == {want}, f"{chapter}: {gate.name} gets {gate.params}, the notebook passes {set(seen)}"
        assert callable(gate.function()) and callable(gate.function(cached=False))


def test_arguments_as_the_notebook_and_presets_for_the_cost_model():
    g = gates.gates("02_lottery_tickets")
    assert gates.arguments("02_lottery_tickets", g[1], dict(rounds=3, seeds=2)) == dict(seed_base=None)
    assert gates.arguments("02_lottery_tickets", g[2], dict(rounds=3, seeds=2)) == dict(
        rounds=3, epochs=None, n_train=None, seed_base=None)
    assert gates.arguments("02_lottery_tickets", g[1], dict(rounds=3, rn_rounds=1), presets=True) == dict(
        rn_rounds=1, seed_base=None)
    assert gates.arguments("04_mimo", gates.gates("04_mimo")[0], dict(widths=[1, 2]))["widths"] == (1, 2)
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
        gates.compute("01_loss_landscape", "smoke", "synthetic", n_train=256)  # as the notebook: all cached
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
