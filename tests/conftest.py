"""Fixtures shared by every test file.

* every test runs with ``CIFAR10_DOWNLOAD=0`` (no test ever tries the network), training in
  its own process (``HELPERS_CPU_WORKERS=1``) and with its own empty ``HELPERS_DATA_DIR`` (no test touches the repository's ``data/``);
* ``no_data``: a private empty ``HELPERS_DATA_DIR`` and no CIFAR-10 source at all;
* ``cifar10_pack``: the offline JPEG pack's path, or the test is skipped;
* ``make_notebook``: writes a tiny parameterized source notebook into a temporary folder;
* ``cli``: runs ``python -m helpers ...`` in a subprocess from the repository root;
* ``fake_clock``: the trainer's wall clock advancing 100 s at every reading (deadlines).
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

# Tests train in their own process (they count and replace train.fit); the worker processes a CPU
# trains in by default are tested where a test names them (test_processes), and by `helpers smoke`.
os.environ["HELPERS_CPU_WORKERS"] = "1"

REPO = Path(__file__).resolve().parents[1]
SHARED_PACK = REPO.parent / "shared" / "data" / "cifar10_jpeg.npz"
DEFAULT_PARAMS = 'profile = "auto"\ndataset = "auto"\nclaims_dir = None\n'


def _clear_data_caches() -> None:
    """Forget datasets that helpers.data memoized under another environment."""
    data = sys.modules.get("helpers.data")
    for name in ("load", "on_device"):
        fn = getattr(data, name, None)
        if hasattr(fn, "cache_clear"):
            fn.cache_clear()


@pytest.fixture(autouse=True)
def _never_download(monkeypatch):
    monkeypatch.setenv("CIFAR10_DOWNLOAD", "0")


@pytest.fixture(autouse=True)
def _private_data_dir(tmp_path_factory, monkeypatch):
    """Every test gets its own ``HELPERS_DATA_DIR`` (beside its ``tmp_path``, not in it): no test
    reads or writes the repository's ``data/`` (runs cache, masks, decoded dataset), also through
    a subprocess."""
    folder = tmp_path_factory.mktemp("helpers-data")
    monkeypatch.setenv("HELPERS_DATA_DIR", str(folder))
    return folder


@pytest.fixture
def no_data(tmp_path, monkeypatch) -> Path:
    """An empty ``HELPERS_DATA_DIR`` with ``CIFAR10_PACK`` and ``CIFAR10_DIR`` unset."""
    folder = tmp_path / "data"
    folder.mkdir()
    monkeypatch.setenv("HELPERS_DATA_DIR", str(folder))
    monkeypatch.delenv("CIFAR10_PACK", raising=False)
    monkeypatch.delenv("CIFAR10_DIR", raising=False)
    _clear_data_caches()
    yield folder
    _clear_data_caches()


@pytest.fixture(scope="session")
def cifar10_pack() -> Path:
    """The offline JPEG pack (``CIFAR10_PACK``, else ``../shared/data``); skip if absent."""
    path = Path(os.environ.get("CIFAR10_PACK") or SHARED_PACK)
    if not path.is_file():
        pytest.skip(f"no CIFAR-10 JPEG pack at {path}")
    return path


@pytest.fixture
def make_notebook(tmp_path):
    """``make_notebook(name, extra_params="", cells=())`` -> the path of a source notebook.

    The notebook has the required parameters cell (tagged ``parameters``) plus ``extra_params``
    (Python source), then one code cell per string in ``cells``; it lives in
    ``tmp_path/notebooks``.
    """
    folder = tmp_path / "notebooks"
    folder.mkdir(exist_ok=True)

    def make(name: str = "01_tiny", extra_params: str = "", cells=(), params: str | None = None):
        nb = nbformat.v4.new_notebook()
        nb.metadata.kernelspec = {"name": "python3", "display_name": "Python 3", "language": "python"}
        nb.metadata.language_info = {"name": "python"}
        parameters = nbformat.v4.new_code_cell((DEFAULT_PARAMS if params is None else params) + extra_params)
        parameters.metadata.tags = ["parameters"]
        nb.cells = [nbformat.v4.new_markdown_cell(f"# {name}"), parameters]
        nb.cells += [nbformat.v4.new_code_cell(src) for src in cells]
        path = folder / f"{name}.ipynb"
        nbformat.write(nb, path)
        return path

    return make


@pytest.fixture
def cli():
    """``cli(*args, env={...})`` runs ``python -m helpers`` and returns the CompletedProcess.

    ``env`` entries update the current environment; a value of None removes the variable.
    """

    def run(*args: str, env: dict | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
        full_env = dict(os.environ)
        for key, value in (env or {}).items():
            if value is None:
                full_env.pop(key, None)
            else:
                full_env[key] = str(value)
        return subprocess.run([sys.executable, "-m", "helpers", *args], cwd=REPO, env=full_env,
                              capture_output=True, text=True, timeout=timeout)

    return run


class FakeClock:
    """Wall time that advances ``tick`` seconds at every reading (deadline tests, no sleeping)."""

    def __init__(self, tick: float = 100.0):
        self.t, self.tick = 1e9, tick

    def __call__(self):
        self.t += self.tick
        return self.t


@pytest.fixture
def fake_clock(monkeypatch) -> FakeClock:
    """``helpers.train``'s clock replaced by a :class:`FakeClock` for the test."""
    from helpers import train

    clock = FakeClock()
    monkeypatch.setattr(train, "_clock", clock)
    return clock
