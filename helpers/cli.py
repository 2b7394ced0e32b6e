"""The command line, ``python -m helpers COMMAND``: data, params, run, train, build, book, smoke,
compare, scorecard, publish.

* ``data``      decode CIFAR-10 once into the cache and say which variant it is and where.
* ``params``    a chapter's parameters at a profile: every key, its value and its meaning; any
                key can be overridden with ``-p key=value`` by ``run`` and ``train``.
* ``run``       execute source notebooks (``notebooks/NN_name.ipynb``) with papermill into the
                book (``book/NN_name.ipynb``, claims in ``book/claims/``) or into ``--out``.
* ``train``     compute (or find cached) every run a chapter needs at a profile, without executing
                its notebook (its gates, ``helpers.gates``), here or as a Ray sweep
                (``--executor ray``); ``run`` with the same parameters then trains nothing.
* ``build``     write the scorecard and the table of contents, then build the HTML book with
                jupyter-book, warnings as errors.
* ``book``      data + run all + build: the main job (``make book``).
* ``smoke``     every notebook at the ``smoke`` profile into a scratch copy of the book, and a
                strict build of that copy: what CI runs (``make test``).
* ``scorecard`` only write ``book/scorecard.md`` from ``book/claims/*.json``.
* ``publish``   put chapters executed elsewhere (``run --out DIR``, e.g. on a lent GPU) into the
                book: ``DIR/NN_name.ipynb`` and ``DIR/claims/NN_name.json``, by the rule of
                ``run``: a larger published edition is kept unless ``--replace``, an edition
                replaced keeps its claims in ``book/claims/<profile>/``. Then ``build``.

Bad input (an unknown profile, notebook or parameter, missing data) is reported as one line,
``error: ...``, on stderr with a non-zero exit status, never a traceback. Heavy imports (torch,
papermill) happen inside the commands that need them.
"""
from __future__ import annotations

import argparse
import ast
import atexit
import contextlib
import importlib.util
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CHAPTER = re.compile(r"^(\d\d)_(\w+)\.ipynb$")  # notebooks/03_modes.ipynb, not x.partial.ipynb
REQUIRED_PARAMS = ("profile", "dataset", "claims_dir")  # every parameters cell defines these
DATASETS = ("auto", "synthetic")
_kernel_dir: str | None = None


class CLIError(Exception):
    """A user-facing error: printed as one line; ``code`` is the exit status (2 bad input)."""

    def __init__(self, message: str, code: int = 2):
        super().__init__(message)
        self.code = code


class BudgetSpent(CLIError):
    """``--budget`` ran out during training: what finished is cached; the same command resumes."""

    def __init__(self, message: str):
        super().__init__(message, code=3)


_ARGV: list[str] = []  # this invocation's arguments, for the line that says how to resume


def _rel(path: Path) -> str:
    """``path`` relative to the repository when inside it (as notebooks and messages show it)."""
    path = Path(path).resolve()
    try:
        return str(path.relative_to(REPO))
    except ValueError:
        return str(path)


def _strip_ansi(text: str) -> str:
    return re.sub(r"\x1b\[[0-9;]*m", "", text)


def _first_line(obj) -> str:
    return (str(obj).strip().splitlines() or [""])[0]


# ------------------------------------------------------------------------- what to run

def notebooks_dir() -> Path:
    """The source notebooks: ``HELPERS_NOTEBOOKS_DIR`` or ``notebooks/``."""
    return Path(os.environ.get("HELPERS_NOTEBOOKS_DIR") or REPO / "notebooks")


def chapters(folder: Path) -> list[Path]:
    """The chapter notebooks ``NN_name.ipynb`` in ``folder``, in chapter order."""
    return sorted(p for p in Path(folder).glob("*.ipynb") if CHAPTER.match(p.name))


def select(names: list[str], available: list[Path]) -> list[Path]:
    """Notebooks named by number ('03'), stem ('03_modes'), prefix or name ('modes'); [] = all."""
    if not names or names == ["all"]:
        return list(available)
    chosen: list[Path] = []
    for name in names:
        key = name.removesuffix(".ipynb")
        hits = [p for p in available if p.stem == key]
        if not hits and key.isdigit():
            hits = [p for p in available if int(p.stem[:2]) == int(key)]
        if not hits:
            hits = [p for p in available if p.stem.startswith(key) or p.stem[3:].startswith(key)]
        if len(hits) != 1:
            what = "matches several notebooks" if hits else "matches no notebook"
            choices = ", ".join(p.stem for p in (hits or available)) or "(none)"
            raise CLIError(f"{name!r} {what}; choose among: {choices}, or all")
        if hits[0] not in chosen:
            chosen.append(hits[0])
    return chosen


def parse_overrides(items: list[str]) -> dict:
    """``key=value`` strings to a dict; values are Python literals where they parse, else str.

    Tuples become lists, since papermill writes lists but not tuples into the notebook.
    """
    out = {}
    for item in items:
        key, sep, text = item.partition("=")
        key = key.strip()
        if not sep or not key.isidentifier():
            raise CLIError(f"-p expects key=value, got {item!r}")
        if key in REQUIRED_PARAMS:
            flag = {"profile": "--profile", "dataset": "--dataset", "claims_dir": "--out"}[key]
            raise CLIError(f"set {key} with {flag}, not -p")
        try:
            value = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            value = text
        out[key] = list(value) if isinstance(value, tuple) else value
    return out


def check_profile(name: str) -> None:
    """Unknown profiles are a one-line :class:`CLIError` naming the valid ones."""
    from helpers import config

    if name not in config.PROFILES:
        raise CLIError(f"unknown profile {name!r}; choose one of: {', '.join(config.PROFILES)}")


def check_parameters(notebook: Path, overrides: dict) -> None:
    """The notebook's parameters cell must define the required names; every override must be a
    preset key of its chapter (any of them: ``python -m helpers params NN`` lists them) of the
    right kind, or a name its parameters cell defines."""
    import papermill

    try:
        declared = papermill.inspect_notebook(str(notebook))
    except Exception as err:  # unreadable JSON, no kernelspec, a syntax error in the cell
        raise CLIError(f"cannot read the parameters of {notebook}: {_first_line(err)}") from None
    if not declared:
        raise CLIError(f"{notebook} has no code cell tagged 'parameters'")
    missing = [k for k in REQUIRED_PARAMS if k not in declared]
    if missing:
        raise CLIError(f"{notebook}: its parameters cell must define {', '.join(missing)}")
    from helpers import config

    keys = config.preset_keys(notebook.stem) if notebook.stem in config.CHAPTERS else []
    unknown = [k for k in overrides if k not in declared and k not in keys]
    if unknown:
        valid = sorted((set(declared) | set(keys)) - set(REQUIRED_PARAMS)) or ["(none)"]
        raise CLIError(f"unknown parameter {unknown[0]!r} for {notebook.stem}; valid: {', '.join(valid)}")
    if keys:
        try:
            config.chapter_params(notebook.stem, "smoke", **_presets(notebook.stem, overrides))
        except config.ConfigError as err:
            raise CLIError(str(err)) from None


def _presets(chapter: str, overrides: dict) -> dict:
    """The overrides that are preset keys of ``chapter`` (not ``claims_dir`` and the like)."""
    from helpers import config

    keys = set(config.preset_keys(chapter))
    return {k: v for k, v in overrides.items() if k in keys}


def prepare_data() -> str:
    """Decode CIFAR-10 into the cache once (here, not in every kernel); return the variant."""
    from helpers import data

    try:
        return data.prepare()
    except data.DatasetMissing as err:
        raise CLIError(str(err), code=1) from None


def describe_data(variant: str) -> str:
    """One line: the variant in use and where its decoded cache lives."""
    from helpers import data

    what = {"cifar10": "the original CIFAR-10",
            "cifar10-jpeg": "the offline JPEG-compressed copy of CIFAR-10 (CIFAR10_PACK)"}
    return f"{variant}: {what.get(variant, variant)}, cached at {data.data_dir() / (variant + '.npz')}"


# ------------------------------------------------------------------------- executing

def _use_this_interpreter() -> None:
    """Make Jupyter's ``python3`` kernel this interpreter, whatever kernelspecs are installed.

    A private kernelspec goes first on ``JUPYTER_PATH``; its environment puts the repository on
    ``PYTHONPATH`` so ``import helpers`` works even without ``pip install -e .``.
    """
    global _kernel_dir
    if _kernel_dir:
        return
    if importlib.util.find_spec("ipykernel") is None:
        raise CLIError(f"ipykernel is not installed for {sys.executable}; run `make .venv`", 1)
    _kernel_dir = tempfile.mkdtemp(prefix="helpers-kernel-")
    atexit.register(shutil.rmtree, _kernel_dir, True)
    spec = Path(_kernel_dir, "kernels", "python3")
    spec.mkdir(parents=True)
    path = os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH")) if p)
    spec.joinpath("kernel.json").write_text(json.dumps({
        # log_level=ERROR: no kernel-machinery warnings (e.g. "running over TCP") in the logs.
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}",
                 "--IPKernelApp.log_level=ERROR"],
        "display_name": "Python 3 (ipykernel)",
        "language": "python",
        # MPLBACKEND: the inline backend whatever the caller exported (Agg would drop every figure).
        "env": {"PYTHONPATH": path, "PYDEVD_DISABLE_FILE_VALIDATION": "1",
                "MPLBACKEND": "module://matplotlib_inline.backend_inline"},
    }))
    os.environ["JUPYTER_PATH"] = os.pathsep.join(
        p for p in (_kernel_dir, os.environ.get("JUPYTER_PATH")) if p)


@contextlib.contextmanager
def _preset_keys_known():
    """Papermill warns of every parameter the notebook's cell does not name ("Passed unknown
    parameter"), but a chapter reads any preset key from its globals and
    :func:`check_parameters` has already refused the truly unknown: drop those warnings."""
    import logging

    def keep(record):
        return not record.getMessage().startswith("Passed unknown parameter")

    log = logging.getLogger("papermill")
    log.addFilter(keep)
    try:
        yield
    finally:
        log.removeFilter(keep)


def execute(src: Path, out_dir: Path, params: dict, timeout: float | None = None) -> float:
    """Execute ``src`` into ``out_dir/<same name>``; return the wall time in seconds.

    The kernel runs in the repository root. Output is written to ``NN_name.partial.ipynb`` and
    renamed on success, so a failed run never replaces a good executed notebook.
    """
    import nbformat
    import papermill

    _use_this_interpreter()
    out_dir.mkdir(parents=True, exist_ok=True)
    final, partial = out_dir / src.name, out_dir / f"{src.stem}.partial.ipynb"
    start = time.perf_counter()
    try:
        with _preset_keys_known():
            papermill.execute_notebook(
                str(src), str(partial), parameters=params, kernel_name="python3", cwd=str(REPO),
                progress_bar=False, start_timeout=120, execution_timeout=timeout)
    except Exception as err:  # the notebook's own error, a dead kernel, a cell timeout
        if isinstance(err, papermill.PapermillExecutionError) and err.ename == "BudgetExhausted":
            raise BudgetSpent(f"{src.stem}: {_first_line(err.evalue)}") from None
        if isinstance(err, papermill.PapermillExecutionError):
            print(_strip_ansi("\n".join(err.traceback)), file=sys.stderr)  # the cell's traceback
            why = f"in cell [{err.exec_count}]: {err.ename}: {_first_line(err.evalue)}"
        else:
            why = f"{type(err).__name__}: {_first_line(err)}"
        raise CLIError(f"{src.stem} failed {why} (partial output: {_rel(partial)})", 1) from None
    nb = nbformat.read(partial, as_version=4)
    nb.metadata.setdefault("papermill", {}).update(input_path=_rel(src), output_path=_rel(final))
    nbformat.write(nb, partial)
    os.replace(partial, final)
    return time.perf_counter() - start


def run_notebooks(paths: list[Path], out_dir: Path, profile: str, dataset: str,
                  overrides: dict, timeout: float | None = None) -> int:
    """Execute every notebook (validate them first: :func:`check_parameters`); count failures."""
    params = dict(profile=profile, dataset=dataset, claims_dir=_rel(out_dir / "claims"), **overrides)
    failed = 0
    for i, nb in enumerate(paths):
        print(f"{nb.stem}: running (profile {profile}, dataset {dataset}) ...", flush=True)
        try:
            seconds = execute(nb, out_dir, params, timeout)
        except BudgetSpent as err:
            left = ", ".join(p.stem for p in paths[i:])
            raise BudgetSpent(f"training budget spent in {err}; not finished: {left}. Resume with the same "
                              f"command: python -m helpers {' '.join(_ARGV)}") from None
        except CLIError as err:
            print(f"error: {err}", file=sys.stderr, flush=True)
            failed += 1
            continue
        print(f"{nb.stem}: done in {seconds:.1f} s -> {_rel(out_dir / nb.name)}", flush=True)
    return failed


# ------------------------------------------------------------------------- the book

def toc_yaml(book_rel: str, chapter_stems: list[str]) -> str:
    """The ``_toc.yml`` for the executed chapters present (nothing is listed that is not there)."""
    lines = [
        "# Written by `python -m helpers build`: it lists the executed chapters found in book/.",
        "# To change the structure, edit helpers/cli.py (toc_yaml), not this file.",
        "format: jb-book",
        f"root: {book_rel}/intro",
        "parts:",
    ]
    if chapter_stems:
        lines += ["  - caption: Chapters", "    chapters:"]
        lines += [f"      - file: {book_rel}/{stem}" for stem in chapter_stems]
    lines += ["  - caption: Results and method", "    chapters:",
              f"      - file: {book_rel}/scorecard", f"      - file: {book_rel}/reproduce"]
    return "\n".join(lines) + "\n"


def write_toc(root: Path, book_dir: Path) -> Path:
    """(Re)write ``root/_toc.yml`` from the executed chapters in ``book_dir``."""
    book_rel = book_dir.resolve().relative_to(root.resolve()).as_posix()
    text = toc_yaml(book_rel, [p.stem for p in chapters(book_dir)])
    path = root / "_toc.yml"
    if not path.exists() or path.read_text() != text:
        path.write_text(text)
    return path


def write_scorecard(book_dir: Path) -> Path:
    """Write ``book_dir/scorecard.md`` from the claims tables in ``book_dir/claims``."""
    from helpers import claims

    path = book_dir / "scorecard.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(claims.scorecard_markdown(book_dir / "claims"))
    return path


EDITIONS = re.compile(r"(% editions:[^\n]*\n).*?(\n% /editions)", re.S)


def write_editions(book_dir: Path) -> None:
    """Rewrite the block between ``% editions:`` and ``% /editions`` in ``book_dir/intro.md`` with
    the profile each published chapter was executed at (from its claims)."""
    from helpers import claims

    path = book_dir / "intro.md"
    if not path.is_file():
        return
    text = path.read_text()
    line = claims.editions_line(book_dir / "claims")
    new = EDITIONS.sub(lambda m: m.group(1) + line + m.group(2), text)
    if new != text:
        path.write_text(new)


def scratch_book(dst: Path) -> Path:
    """Copy the book's configuration and prose (not its executed notebooks) into ``dst``.

    Executed notebooks and claims of a scratch book come from running notebooks into
    ``dst/book``, so the scratch book and its scorecard show only what was run there.
    """
    dst = Path(dst)
    (dst / "book").mkdir(parents=True, exist_ok=True)
    for name in ("_config.yml", "_toc.yml"):
        shutil.copy2(REPO / name, dst / name)
    for item in (REPO / "book").iterdir():
        if item.is_file() and item.suffix != ".ipynb":
            shutil.copy2(item, dst / "book" / item.name)
        elif item.is_dir() and item.name not in ("claims", "_build", ".ipynb_checkpoints"):
            shutil.copytree(item, dst / "book" / item.name, dirs_exist_ok=True)
    return dst


def build(root: Path, book_dir: Path | None = None, strict: bool = True) -> None:
    """Scorecard, table of contents, then ``jupyter-book build --all`` (``-W -n`` if strict)."""
    root = Path(root).resolve()
    book_dir = Path(book_dir).resolve() if book_dir else root / "book"
    if not book_dir.is_relative_to(root):
        raise CLIError(f"--book-dir {book_dir} must be inside the book root {root}")
    if not any(book_dir.glob("[0-9][0-9]_*.ipynb")):
        raise CLIError(f"{_rel(book_dir)} holds no executed chapter (NN_name.ipynb) to build; "
                       f"execute one into it first: python -m helpers run NN --out {_rel(book_dir)}")
    if root != REPO and not (root / "_config.yml").exists():
        scratch_book(root)
        print(f"build: copied the book's configuration and prose into {root}", flush=True)
    print(f"build: wrote {_rel(write_scorecard(book_dir))} and {_rel(write_toc(root, book_dir))}")
    write_editions(book_dir)
    cmd = [sys.executable, "-c", "from jupyter_book.cli.main import main; main()",
           "build", str(root), "--all", "-q"]
    if strict:
        cmd += ["-W", "-n", "--keep-going"]
    start = time.perf_counter()
    code = subprocess.call(cmd, cwd=root)
    if code:
        raise CLIError(f"jupyter-book build failed (exit {code}); its messages are above", 1)
    print(f"build: done in {time.perf_counter() - start:.1f} s -> {_rel(root / '_build' / 'html')}/index.html")


# ------------------------------------------------------------------------- commands

def set_budget(minutes: float | None) -> None:
    """``--budget MINUTES``: training (in this process and the notebooks' kernels, which inherit
    the environment) stops before the deadline ``HELPERS_DEADLINE``; see helpers.runs.get."""
    if minutes is None:
        return
    if not math.isfinite(minutes) or minutes <= 0:
        raise CLIError(f"--budget must be a positive number of minutes, got {minutes:g}")
    os.environ["HELPERS_DEADLINE"] = f"{time.time() + 60 * minutes:.0f}"
    print(f"budget: training stops starting new epochs after {minutes:g} min; a rerun of the same "
          "command resumes", flush=True)


def cmd_params(args) -> None:
    from helpers import config

    check_profile(args.profile)
    paths = select([args.name], [Path(c + ".ipynb") for c in sorted(config.CHAPTERS)])
    if len(paths) != 1:
        raise CLIError(f"name one chapter; choose one of: {', '.join(sorted(config.CHAPTERS))}")
    path = paths[0]
    try:
        print(config.describe(path.stem, args.profile, **parse_overrides(args.param)))
    except config.ConfigError as err:
        raise CLIError(str(err)) from None


def cmd_data(args) -> None:
    print(describe_data(prepare_data()))


def _chapter_args(args, names: list[str]) -> tuple[Path, list[Path]]:
    """``run`` and ``train``'s shared checks (profile, dataset, notebooks folder): the folder and
    the chapter notebooks ``names`` select in it."""
    check_profile(args.profile)
    if args.dataset not in DATASETS:
        raise CLIError(f"unknown dataset {args.dataset!r}; choose one of: {', '.join(DATASETS)}")
    folder = Path(args.notebooks) if args.notebooks else notebooks_dir()
    if not folder.is_dir():
        raise CLIError(f"no notebooks folder {folder}")
    return folder, select(names, chapters(folder))


def _run(args, out: Path, names: list[str]) -> None:
    folder, paths = _chapter_args(args, names)
    if not paths:
        print(f"run: no chapter notebooks (NN_name.ipynb) in {folder}; nothing to run")
        return
    overrides = parse_overrides(args.param)
    for nb in paths:
        check_parameters(nb, overrides)
    if args.timeout is not None and not (math.isfinite(args.timeout) and args.timeout > 0):
        raise CLIError(f"--timeout must be a positive number of seconds, got {args.timeout:g}")
    set_budget(getattr(args, "budget", None))   # a bad budget fails before a chapter is skipped
    if out.resolve() == (REPO / "book").resolve():
        paths = keep_published(paths, out / "claims", args.profile, getattr(args, "replace", False))
        if not paths:
            return
    if args.dataset != "synthetic":
        print("data:", describe_data(prepare_data()), flush=True)
    failed = run_notebooks(paths, out, args.profile, args.dataset, overrides, args.timeout)
    if failed:
        raise CLIError(f"{failed} of {len(paths)} notebooks failed", 1)


def keep_published(paths: list[Path], claims_dir: Path, profile: str, replace: bool,
                   elsewhere: str = ", or --out DIR to execute it elsewhere") -> list[Path]:
    """The published book shows the largest profile that was run: drop (and say so) each chapter
    whose edition in ``claims_dir`` is at a larger profile than ``profile``, unless ``replace``.
    A chapter that will be re-executed at another profile first copies its published claims to
    ``claims_dir/<their profile>/`` (the scorecard's "Earlier editions"), so nothing is lost."""
    from helpers import claims, config

    new = config.resolve_profile(profile)
    rank = claims.PROFILE_RANK.get
    keep = []
    for nb in paths:
        path = claims_dir / f"{nb.stem}.json"
        old = claims.load(path).profile if path.is_file() else None
        if old and rank(old, 0) > rank(new, 0) and not replace:
            print(f"{nb.stem}: kept its published `{old}` edition (a `{new}` run would replace it: "
                  f"pass --replace{elsewhere})", flush=True)
            continue
        if old and old != new:
            (claims_dir / old).mkdir(exist_ok=True)
            shutil.copy2(path, claims_dir / old / path.name)
        keep.append(nb)
    return keep


def cmd_run(args) -> None:
    _run(args, Path(args.out) if args.out else REPO / "book", args.names)


def _executor(args):
    """The executor ``train`` asks for: local (None), or a connected RayExecutor."""
    if args.executor == "local":
        if args.address or args.cpus_per_task:
            raise CLIError("--address and --cpus-per-task are for --executor ray")
        return None
    if args.budget is not None:
        raise CLIError("--budget is for the local executor; a Ray sweep is stopped with Ctrl-C and resumed "
                       "by the same command")
    if args.cpus_per_task is not None and args.cpus_per_task < 1:
        raise CLIError(f"--cpus-per-task must be at least 1, got {args.cpus_per_task}")
    try:
        from helpers.ray_executor import RayExecutor
    except ImportError as err:
        raise CLIError(f"--executor ray needs Ray ({_first_line(err)}); install requirements.txt", 1) from None
    from helpers import runs

    try:
        return RayExecutor(args.address, args.cpus_per_task).connect()
    except runs.ExecutorError as err:
        raise CLIError(str(err)) from None


def cmd_train(args) -> None:
    """Every run of the chapters named, as their notebooks would ask for them; nothing else."""
    _, paths = _chapter_args(args, args.names)
    overrides = parse_overrides(args.param)
    from helpers import config, gates, runs, train

    for nb in paths:
        if nb.stem not in gates.GATES:
            raise CLIError(f"{nb.stem} has no gates in helpers.gates.GATES; choose among: {', '.join(gates.GATES)}")
        check_parameters(nb, overrides)
    executor = _executor(args)  # first: a bad address or option fails at once
    set_budget(args.budget)
    if args.dataset != "synthetic":
        print("data:", describe_data(prepare_data()), flush=True)
    if executor is not None and args.profile == "auto":
        print(f"note: profile auto is {config.resolve_profile('auto')} on this machine (the driver); "
              "give --profile gpu for the gpu presets on a GPU cluster", flush=True)
    try:
        with runs.using(executor):
            for nb in paths:
                t0, before = time.perf_counter(), runs.written()
                print(f"{nb.stem}: computing its runs (profile {args.profile}, dataset {args.dataset}"
                      f"{', ' + ', '.join(args.param) if args.param else ''}) ...", flush=True)
                gates.compute(config.chapter_params(nb.stem, args.profile, dataset=args.dataset,
                                                    **_presets(nb.stem, overrides)))
                print(f"{nb.stem}: every run is cached ({runs.written() - before} trained now) in "
                      f"{time.perf_counter() - t0:.1f} s; `python -m helpers run {nb.stem[:2]}` with the same "
                      "parameters trains nothing", flush=True)
    except train.BudgetExhausted as err:
        raise BudgetSpent(f"training budget spent: {_first_line(err)}. Resume with the same command: "
                          f"python -m helpers {' '.join(_ARGV)}") from None
    except runs.SweepFailed as err:
        raise CLIError(str(err), 1) from None
    except (runs.ExecutorError, config.ConfigError) as err:
        raise CLIError(_first_line(err)) from None
    finally:
        if executor is not None:
            executor.close()


def cmd_build(args) -> None:
    build(Path(args.root), Path(args.book_dir) if args.book_dir else None, args.strict)


def cmd_book(args) -> None:
    _run(args, REPO / "book", ["all"])
    build(REPO, None, strict=True)


def _fresh_scratch(root: Path) -> Path:
    """``root`` emptied of a previous scratch book's results; refuse any other non-empty folder."""
    if root.exists() and any(root.iterdir()):
        if not (root / "_config.yml").exists() or root.resolve() == REPO:
            raise CLIError(f"--out {root} is a non-empty folder that is not a scratch book; name a new one")
        for stale in [*(root / "book").glob("*.ipynb"), root / "book" / "claims", root / "_build"]:
            shutil.rmtree(stale) if stale.is_dir() else stale.unlink(missing_ok=True)
    return root


def cmd_smoke(args) -> None:
    try:
        prepare_data()  # memoized: _run below reports it
        args.dataset = "auto"
    except CLIError as err:
        print(f"data: none ({str(err).split('.')[0]}); the smoke run uses the synthetic stand-in")
        args.dataset = "synthetic"
    root = _fresh_scratch(Path(args.out)) if args.out else Path(tempfile.mkdtemp(prefix="helpers-smoke-"))
    scratch_book(root)
    print(f"smoke: scratch book in {root}", flush=True)
    args.profile, args.param = "smoke", []
    _run(args, root / "book", ["all"])
    build(root, None, strict=True)
    if not args.out:
        shutil.rmtree(root, ignore_errors=True)
    print("smoke: passed")


def cmd_scorecard(args) -> None:
    book_dir = Path(args.book_dir) if args.book_dir else REPO / "book"
    if not (book_dir / "claims").is_dir():
        raise CLIError(f"no claims/ folder in {book_dir}; give the folder that holds claims/ "
                       "(default book/)")
    print(f"scorecard: wrote {_rel(write_scorecard(book_dir))}")


def cmd_publish(args) -> None:
    """Copy executed chapters from ``args.folder`` into the book (see the module doc). Every
    chapter is checked before anything is copied."""
    from . import claims

    src = Path(args.folder)
    book_dir = Path(args.book_dir) if args.book_dir else REPO / "book"
    nbs = sorted(src.glob("[0-9][0-9]_*.ipynb")) if src.is_dir() else []
    if not nbs:
        raise CLIError(f"no executed chapter (NN_name.ipynb) in {src}; name the folder that "
                       "`python -m helpers run --out` wrote")
    def checked(p: Path, chapter: str):
        table = load_claims(p)
        if table.profile not in claims.PROFILE_RANK or table.chapter != chapter:
            raise CLIError(f"{_rel(p)} holds chapter {table.chapter!r} at profile {table.profile!r}; "
                           f"expected {chapter!r} at one of {', '.join(claims.PROFILE_RANK)}")
        return table

    found = []
    for nb in nbs:
        path = src / "claims" / f"{nb.stem}.json"
        if not path.is_file():
            raise CLIError(f"{nb.name} has no claims ({_rel(path)} is missing): was it executed to the end?")
        published = book_dir / "claims" / path.name
        if published.is_file():  # keep_published reads it next
            checked(published, nb.stem)
        found.append((nb, path, checked(path, nb.stem).profile))
    (book_dir / "claims").mkdir(parents=True, exist_ok=True)
    for nb, path, profile in found:
        if not keep_published([nb], book_dir / "claims", profile, args.replace, elsewhere=""):
            continue
        # copyfile, not copy2: the fetched files may be read-only, the book's must not be
        shutil.copyfile(nb, book_dir / nb.name)
        shutil.copyfile(path, book_dir / "claims" / path.name)
        print(f"{nb.stem}: published its `{profile}` edition from {_rel(src)}", flush=True)
    print("publish: done; `python -m helpers build` writes the scorecard and the HTML")


def load_claims(path):
    """``claims.load``, with a one-line error for a file that is missing or not a claims table."""
    from . import claims

    p = Path(path)
    if not p.is_file():
        raise CLIError(f"no claims file {_rel(p)}; give one such as book/claims/05_instability.json")
    try:
        return claims.load(p)
    except (ValueError, KeyError, TypeError, UnicodeDecodeError) as err:
        raise CLIError(f"{_rel(p)} is not a claims file ({type(err).__name__}: {err}); give one "
                       "written by a chapter, such as book/claims/05_instability.json") from None


def cmd_compare(args) -> None:
    """Two claims files of one chapter, verdict by verdict; exit status 1 if holds and differs swap."""
    from . import claims

    book = Path(args.book_dir) if args.book_dir else REPO / "book"
    if args.b is None:   # one file: a rerun, set beside the chapter's published table
        b = load_claims(args.a)
        args.a, args.b = book / "claims" / f"{b.chapter}.json", args.a
    else:
        b = load_claims(args.b)
    try:
        rows = claims.compare(load_claims(args.a), b)
    except ValueError as err:
        raise CLIError(str(err)) from None
    for r in rows:
        mark = "SWAP" if r["swap"] else ("same" if r["a"] == r["b"] else "moved")
        print(f"{mark:5s}  {r['a']:>28s} | {r['b']:<28s}  {r['statement'][:70]}")
    same = sum(r["a"] == r["b"] for r in rows)
    swaps = sum(r["swap"] for r in rows)
    print(f"{len(rows)} rows: {same} with the same verdict, {swaps} swapped between holds and differs")
    if args.record:
        if not b.seed_base:
            raise CLIError(f"{_rel(Path(args.b))} was made on the published seeds (seed_base 0); "
                           "record a rerun made with -p seed_base=1000")
        print(f"recorded as the fresh-seed rerun of {b.chapter}: "
              f"{_rel(claims.record_fresh(b, book / 'claims'))} (its page cites it when "
              "next executed)")
    if swaps:
        raise SystemExit(1)


class _Parser(argparse.ArgumentParser):
    """argparse that reports a usage error as one line and exit status 2."""

    def error(self, message):
        raise CLIError(f"{message} (see {self.prog} --help)")


def parser() -> argparse.ArgumentParser:
    p = _Parser(prog="python -m helpers", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    def runner(name, help_text, names=False):
        s = sub.add_parser(name, help=help_text, description=help_text)
        if names:
            s.add_argument("names", nargs="*", metavar="NAME",
                           help="notebooks by number, name or prefix (03, 03_modes, modes), or all")
        if name in ("run", "book"):
            s.add_argument("--profile", default="auto", help="smoke, cpu, gpu or auto (default)")
            s.add_argument("--replace", action="store_true",
                           help="replace a chapter published in book/ at a larger profile (default: keep it)")
            s.add_argument("--budget", type=float, default=None, metavar="MINUTES",
                           help="stop training before MINUTES of wall time (resume with the same command)")
        if name == "run":
            s.add_argument("-p", dest="param", action="append", default=[], metavar="KEY=VALUE",
                           help="override a notebook parameter (a Python literal, else a string)")
            s.add_argument("--out", help="folder for executed notebooks (default book/; claims go to OUT/claims)")
            s.add_argument("--dataset", default="auto", help="auto (CIFAR-10) or synthetic")
        else:
            s.set_defaults(dataset="auto", param=[])
        s.add_argument("--notebooks", help="source notebooks folder (default notebooks/ or $HELPERS_NOTEBOOKS_DIR)")
        s.add_argument("--timeout", type=float, default=None, help="seconds allowed per cell")
        return s

    sub.add_parser("data", help="decode CIFAR-10 into the cache; say which variant and where")
    s = sub.add_parser("params", help="a chapter's parameters at a profile: keys, values, meanings",
                       description="Every parameter of a chapter at a profile, with its value and "
                                   "one-line meaning; any of them can be set with `run -p key=value`.")
    s.add_argument("name", metavar="NAME", help="a chapter by number, name or prefix (03, modes)")
    s.add_argument("--profile", default="auto", help="smoke, cpu, gpu or auto (default)")
    s.add_argument("-p", dest="param", action="append", default=[], metavar="KEY=VALUE",
                   help="show the parameters with this override (marked *)")
    runner("run", "execute notebooks with papermill into the book", names=True)
    s = sub.add_parser("train", help="compute (or find cached) every run of chapters, without executing them",
                       description="Compute (or find cached) every run the chapters need at a profile, as their "
                                   "notebooks would ask for them, here (--executor local, the default) or as a "
                                   "Ray sweep (--executor ray); `run` with the same parameters then trains nothing.")
    s.add_argument("names", nargs="+", metavar="NAME",
                   help="chapters by number, name or prefix (03, 03_modes, modes), or all")
    s.add_argument("--profile", default="auto", help="smoke, cpu, gpu or auto (default)")
    s.add_argument("-p", dest="param", action="append", default=[], metavar="KEY=VALUE",
                   help="a notebook parameter, as `run -p` takes it")
    s.add_argument("--dataset", default="auto", help="auto (CIFAR-10) or synthetic")
    s.add_argument("--executor", choices=("local", "ray"), default="local",
                   help="local: on this machine (default; on a GPU the groups of a call train side by side "
                        "in $HELPERS_CUDA_WORKERS processes, 4 unless set); ray: one Ray task per group of runs")
    s.add_argument("--address", default=None,
                   help="the Ray cluster (host:port, ray://host:port, auto, or local: a new instance; default "
                        "$RAY_ADDRESS, else a new "
                        "local instance)")
    s.add_argument("--cpus-per-task", type=int, default=None, metavar="N",
                   help="CPUs (and torch threads) per Ray task on a cluster without GPUs (default: as local "
                        "training, HELPERS_CPU_FIT_THREADS, 1)")
    s.add_argument("--budget", type=float, default=None, metavar="MINUTES",
                   help="local executor: stop training before MINUTES (resume with the same command)")
    s.add_argument("--notebooks", help="source notebooks folder (default notebooks/ or $HELPERS_NOTEBOOKS_DIR)")
    s = sub.add_parser("build", help="write the scorecard and toc, build the HTML book strictly")
    s.add_argument("--root", default=str(REPO), help="book root with _config.yml (default: the repository)")
    s.add_argument("--book-dir", help="folder of the pages (default ROOT/book)")
    s.add_argument("-W", "--strict", action=argparse.BooleanOptionalAction, default=True,
                   help="warnings are errors (default; --no-strict to relax)")
    runner("book", "data + run all + build: the main job")
    s = runner("smoke", "every notebook at profile smoke into a scratch book, then a strict build")
    s.add_argument("--out", help="scratch folder to keep (default: a temporary one, removed on success)")
    s = sub.add_parser("compare", help="two claims files of one chapter (e.g. a rerun with -p seed_base=1000 "
                       "--out DIR), verdict by verdict; exit 1 if any swaps between holds and differs")
    s.add_argument("a", help="a claims JSON (e.g. book/claims/04_mimo.json); given alone, a rerun "
                   "set beside its chapter's published table")
    s.add_argument("b", nargs="?", help="the other (e.g. DIR/claims/04_mimo.json)")
    s.add_argument("--record", action="store_true",
                   help="keep B, a rerun on fresh seeds, as book/claims/fresh/<chapter>.json: the "
                   "chapter's page sets it beside its own table when next executed")
    s.add_argument("--book-dir", help="the book's pages, with claims/ (default book/)")
    s = sub.add_parser("scorecard", help="write book/scorecard.md from book/claims")
    s.add_argument("--book-dir", help="folder holding claims/ (default book/)")
    s = sub.add_parser("publish", help="put chapters executed elsewhere (run --out DIR) into the book, "
                       "keeping a larger published edition unless --replace")
    s.add_argument("folder", help="the folder `run --out` wrote: NN_name.ipynb and claims/NN_name.json")
    s.add_argument("--replace", action="store_true",
                   help="replace a chapter published at a larger profile (default: keep it)")
    s.add_argument("--book-dir", help="the book's pages (default book/)")
    return p


COMMANDS = {"data": cmd_data, "params": cmd_params, "run": cmd_run, "train": cmd_train, "build": cmd_build,
            "book": cmd_book, "smoke": cmd_smoke, "scorecard": cmd_scorecard, "compare": cmd_compare,
            "publish": cmd_publish}


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit status."""
    _ARGV[:] = list(sys.argv[1:] if argv is None else argv)
    try:
        args = parser().parse_args(argv)
        COMMANDS[args.command](args)
    except CLIError as err:
        print(f"error: {err}", file=sys.stderr)
        return err.code
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    return 0
