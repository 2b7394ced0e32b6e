"""The source notebooks as a reader sees them: code that fits the rendered page, no function
definitions, every figure drawn by one call into ``helpers.plots``."""
from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))
WIDTH = 80  # characters a code cell shows at the theme's width


def code_cells(path: Path) -> list[str]:
    cells = json.loads(path.read_text())["cells"]
    return ["".join(c["source"]) for c in cells if c["cell_type"] == "code"]


def python(src: str) -> str:
    """A cell without its IPython magics."""
    return "\n".join(line for line in src.splitlines() if not line.lstrip().startswith(("%", "!")))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_code_lines_fit_the_page(path):
    long = [(i, line) for i, src in enumerate(code_cells(path)) for line in src.splitlines()
            if len(line) > WIDTH]
    assert not long, f"{len(long)} code lines over {WIDTH} characters, e.g. cell {long[0][0]}: {long[0][1]!r}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_no_definitions_and_figures_come_from_helpers_plots(path):
    for i, src in enumerate(code_cells(path)):
        for node in ast.walk(ast.parse(python(src))):
            assert not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)), \
                f"cell {i} defines code; move it into helpers"
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
                assert not (node.value.id == "plt" and node.attr in ("subplots", "figure", "subplot")), \
                    f"cell {i} draws a figure itself (plt.{node.attr}); make it one call into helpers.plots"
