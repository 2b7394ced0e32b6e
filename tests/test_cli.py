"""The command line: bad input is one line on stderr with a non-zero exit, never a traceback."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from helpers import cli

REPO = Path(__file__).resolve().parents[1]


def one_error_line(proc: subprocess.CompletedProcess) -> str:
    """The single stderr line of a refused command (and no traceback anywhere)."""
    assert "Traceback" not in proc.stderr + proc.stdout
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("error: ")
    return lines[0]


# ----------------------------------------------------------------- refused input

def test_unknown_profile(cli):
    proc = cli("run", "all", "--profile", "huge")
    assert proc.returncode == 2
    line = one_error_line(proc)
    for name in ("smoke", "cpu", "gpu", "auto"):
        assert name in line


def test_unknown_parameter_names_the_valid_ones(cli, make_notebook):
    nb = make_notebook("01_tiny", extra_params="seeds = None\nepochs = None\n")
    proc = cli("run", "01", "--profile", "smoke", "--dataset", "synthetic", "-p", "sedes=3",
               env={"HELPERS_NOTEBOOKS_DIR": nb.parent})
    assert proc.returncode == 2
    line = one_error_line(proc)
    assert "'sedes'" in line and "seeds" in line and "epochs" in line


def test_required_parameters_are_checked(cli, make_notebook):
    nb = make_notebook("02_bare", params="profile = 'auto'\n")
    proc = cli("run", "--notebooks", str(nb.parent), "--dataset", "synthetic")
    assert proc.returncode == 2
    assert "dataset, claims_dir" in one_error_line(proc)


def test_unknown_notebook(cli, make_notebook):
    nb = make_notebook("03_modes")
    proc = cli("run", "lottery", "--notebooks", str(nb.parent))
    assert proc.returncode == 2
    assert "03_modes" in one_error_line(proc)


def test_missing_data_is_explained(cli, no_data):
    proc = cli("data")
    assert proc.returncode != 0
    line = one_error_line(proc)
    for needle in ("CIFAR-10", "CIFAR10_PACK", "cifar-10-batches-py"):
        assert needle in line


def test_run_refuses_missing_data_before_executing(cli, no_data, make_notebook, tmp_path):
    nb = make_notebook("01_tiny")
    proc = cli("run", "--notebooks", str(nb.parent), "--out", str(tmp_path / "out"))
    assert proc.returncode == 1
    assert "CIFAR10_PACK" in one_error_line(proc)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("argv", [["frobnicate"], [], ["run", "--timeout", "soon"]])
def test_usage_errors_are_one_line(argv, capsys):
    assert cli.main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ")


def test_bad_claims_files_and_folders_are_refused_in_one_line(tmp_path, capsys):
    (tmp_path / "empty.json").write_text("{}")
    (tmp_path / "text.txt").write_text("not json")
    real = str(REPO / "book" / "claims" / "05_instability.json")
    for argv, needle in ((["compare", str(tmp_path / "nope.json"), real], "no claims file"),
                         (["compare", str(tmp_path / "empty.json"), real], "is not a claims file"),
                         (["compare", str(tmp_path / "text.txt"), real], "is not a claims file"),
                         (["compare", str(REPO / "book" / "claims" / "01_loss_landscape.json"), real],
                          "cannot compare"),
                         (["scorecard", "--book-dir", str(tmp_path / "nobook")], "no claims/ folder"),
                         (["train", "03", "--notebooks", str(tmp_path / "none")], "no notebooks folder")):
        assert cli.main(argv) == 2, argv
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and needle in err[0], (argv, err)
    assert not (tmp_path / "nobook").exists()


@pytest.mark.parametrize("flag,value,needle", [("--budget", "-1", "--budget must be positive"),
                                               ("--budget", "nan", "--budget must be positive"),
                                               ("--timeout", "-5", "--timeout must be positive")])
def test_budget_and_timeout_are_checked_before_anything_runs(flag, value, needle, tmp_path, capsys):
    # chapter 03 is published at a larger profile than this machine's: it would be skipped as
    # kept before a late check could see the budget
    assert cli.main(["run", "03", flag, value]) == 2
    err = capsys.readouterr().err.strip()
    assert needle.replace(" must be positive", "") in err and "must be a positive number" in err


def test_the_command_line_does_not_import_torch():
    code = "import sys, helpers, helpers.cli; assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], cwd=REPO, check=True)


# ----------------------------------------------------------------- the pieces

def test_select_by_number_name_or_prefix(tmp_path):
    paths = [tmp_path / f"{n}.ipynb" for n in ("01_loss_landscape", "03_modes", "04_mimo")]
    assert cli.select(["03"], paths) == [paths[1]]
    assert cli.select(["3"], paths) == [paths[1]]
    assert cli.select(["modes", "03_modes.ipynb"], paths) == [paths[1]]
    assert cli.select(["loss"], paths) == [paths[0]]
    assert cli.select(["all"], paths) == cli.select([], paths) == paths
    with pytest.raises(cli.CLIError, match="several"):
        cli.select(["0"], paths)


def test_chapters_ignore_partial_and_unnumbered_notebooks(tmp_path):
    for name in ("03_modes.ipynb", "03_modes.partial.ipynb", "scratch.ipynb", "01_a.ipynb"):
        (tmp_path / name).write_text("{}")
    assert [p.name for p in cli.chapters(tmp_path)] == ["01_a.ipynb", "03_modes.ipynb"]


def test_parse_overrides():
    got = cli.parse_overrides(["seeds=8", "lr=0.1", "model=resnet20", "save=(0, 5)", "x=None"])
    assert got == {"seeds": 8, "lr": 0.1, "model": "resnet20", "save": [0, 5], "x": None}
    for bad in ("seeds", "=3", "profile=gpu"):
        with pytest.raises(cli.CLIError):
            cli.parse_overrides([bad])


def test_toc_lists_only_the_chapters_given():
    toc = cli.toc_yaml("book", ["03_modes"])
    assert "root: book/intro" in toc and "file: book/03_modes" in toc
    assert "file: book/scorecard" in toc and "file: book/reproduce" in toc
    assert "Chapters" not in cli.toc_yaml("book", [])


def test_scratch_book_copies_configuration_and_prose_only(tmp_path):
    dst = cli.scratch_book(tmp_path / "scratch")
    for name in ("_config.yml", "_toc.yml", "book/intro.md", "book/reproduce.md", "book/references.bib"):
        assert (dst / name).is_file(), name
    assert not list((dst / "book").glob("*.ipynb"))
    assert not (dst / "book" / "claims").exists()


def test_a_spent_budget_stops_the_run_and_says_how_to_resume(cli, make_notebook, tmp_path):
    """The kernel sees HELPERS_DEADLINE; a BudgetExhausted in a chapter stops the run (exit 3)
    before the next chapter, and the last line is the same command to resume."""
    cell = ("import os, time\nfrom helpers import train\n"
            "assert float(os.environ['HELPERS_DEADLINE']) > time.time()\n"
            "raise train.BudgetExhausted('the training budget ran out after epoch 1 of 3')")
    nb = make_notebook("01_tiny", cells=[cell])
    make_notebook("02_next", cells=["print('ran')"])
    args = ("run", "all", "--profile", "smoke", "--dataset", "synthetic", "--budget", "5",
            "--out", str(tmp_path / "out"))
    proc = cli(*args, env={"HELPERS_NOTEBOOKS_DIR": nb.parent})
    assert proc.returncode == 3, proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    line = proc.stderr.strip().splitlines()[-1]  # (the kernel may log its shutdown above it)
    assert line.startswith("error: ") and "01_tiny" in line and "not finished: 01_tiny, 02_next" in line
    assert line.endswith("python -m helpers " + " ".join(args))
    assert not (tmp_path / "out" / "02_next.ipynb").exists()
    proc = cli(*args[:-4], "--budget", "0", env={"HELPERS_NOTEBOOKS_DIR": nb.parent})
    assert proc.returncode == 2 and "positive" in one_error_line(proc)


def test_params_prints_every_key_with_its_meaning_and_refuses_bad_input(capsys):
    assert cli.main(["params", "04", "--profile", "cpu", "-p", "epochs=3"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("# 04_mimo at profile cpu (* = overridden)")
    assert "3*" in out and "the M of the MIMO networks" in out
    for argv, msg in [(["params", "04", "-p", "epochz=3"], "unknown parameter 'epochz'"),
                      (["params", "04", "-p", "epochs=many"], "takes a number"),
                      (["params", "all"], "name one chapter")]:
        assert cli.main(argv) == 2
        err = capsys.readouterr().err
        assert err.startswith("error: ") and msg in err and err.count("\n") == 1, err


def test_run_takes_any_preset_key_and_refuses_a_wrong_kind(capsys):
    nb = cli.notebooks_dir() / "04_mimo.ipynb"
    cli.check_parameters(nb, {"lr": 0.01, "members": [1, 2, 3]})  # not in the parameters cell
    for bad, msg in [({"lr": "fast"}, "takes a number"), ({"lrr": 1}, "unknown parameter 'lrr'")]:
        with pytest.raises(cli.CLIError, match=msg):
            cli.check_parameters(nb, bad)


def test_a_preset_key_given_with_p_reaches_the_chapter_without_papermills_warning(cli, make_notebook, tmp_path):
    """`-p lr=...` is a preset key, not a name in the parameters cell: the chapter reads it from
    its globals, and papermill's "Passed unknown parameter" (which check_parameters makes
    untrue) is not shown to the reader."""
    nb = make_notebook("04_mimo", cells=["print('lr is', lr)"])
    proc = cli("run", "04", "--profile", "smoke", "--dataset", "synthetic", "-p", "lr=0.0123",
               "--out", str(tmp_path / "out"), env={"HELPERS_NOTEBOOKS_DIR": nb.parent})
    assert proc.returncode == 0, proc.stderr
    assert "unknown parameter" not in proc.stderr + proc.stdout
    assert "lr is 0.0123" in (tmp_path / "out" / "04_mimo.ipynb").read_text()


def test_build_refuses_a_folder_without_executed_chapters(tmp_path):
    """`build --root` on an empty or missing folder says what to run first, and creates nothing
    (it used to build an empty book there)."""
    with pytest.raises(cli.CLIError, match="holds no executed chapter"):
        cli.build(tmp_path / "missing")
    assert not (tmp_path / "missing").exists()
    (tmp_path / "empty").mkdir()
    with pytest.raises(cli.CLIError, match="holds no executed chapter"):
        cli.build(tmp_path / "empty")
    assert list((tmp_path / "empty").iterdir()) == []


def test_make_book_checks_profile_and_budget_before_installing_anything():
    import shutil
    import subprocess

    if not shutil.which("make"):
        pytest.skip("no make here")
    for var, msg in [("BUDGET=abc", "is not a number of minutes"), ("PROFILE=gpux", "is not one of")]:
        proc = subprocess.run(["make", "-s", "args", var], cwd=cli.REPO, capture_output=True, text=True)
        assert proc.returncode != 0 and msg in proc.stderr, proc.stderr
    ok = subprocess.run(["make", "-s", "args", "BUDGET=7.5", "PROFILE=gpu"], cwd=cli.REPO,
                        capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
