"""The numbers in a chapter's prose, computed by the run that renders the page.

A chapter's markdown names a value with myst-nb's glue roles, ``{glue:text}`key``` for a number
or phrase and ``{glue:md}`key``` for a sentence with markup; the code cell that computes the
value publishes it with :func:`glue` (or :func:`glue_all`). The book then shows this run's value
wherever the prose refers to it, at whichever profile the chapter was executed: no number typed
into markdown can go stale when a chapter is re-executed at another profile or on other seeds.

The output is myst-nb's own glue format (a display output whose MIME types carry the
``application/papermill.record/`` prefix and whose metadata names the key): it is written here,
not through ``myst_nb.glue``, because the chapters also run where myst-nb is not installed (a
bare GPU machine with papermill only); ``tests/test_prose.py`` checks that both agree.
Outside a notebook kernel :func:`glue` does nothing, so a chapter's functions run in scripts and
tests without printing.
"""
from __future__ import annotations

PREFIX = "application/papermill.record/"


def bundle(name: str, text: str) -> tuple[dict, dict]:
    """The display data and metadata of one glued value (plain text and markdown alike)."""
    text = str(text)
    return ({PREFIX + "text/plain": text, PREFIX + "text/markdown": text},
            {"scrapbook": {"name": name, "mime_prefix": PREFIX}})


def in_kernel() -> bool:
    """Whether this runs in a notebook kernel (where a display output is kept)."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


def glue(name: str, text: str) -> None:
    """Publish ``text`` under ``name`` for the page's ``{glue:text}`` and ``{glue:md}`` roles
    (nothing is shown in the cell's output)."""
    if not in_kernel():
        return
    from IPython.display import display

    data, metadata = bundle(name, text)
    display(data, raw=True, metadata=metadata)


def glue_all(values: dict) -> None:
    """:func:`glue` every ``{name: text}``."""
    for name, text in values.items():
        glue(name, text)


# --------------------------------------------------------------------------------------------
# small wording helpers shared by the chapters' readings


def join(words: list[str]) -> str:
    """'a', 'a and b', 'a, b and c'."""
    words = [w for w in words if w]
    if len(words) < 2:
        return "".join(words)
    return ", ".join(words[:-1]) + " and " + words[-1]


def times(x: float) -> str:
    """A ratio in words: 'about five times', '1.4 times'."""
    words = {2: "twice", 3: "three times", 4: "four times", 5: "five times", 6: "six times",
             7: "seven times", 8: "eight times", 9: "nine times", 10: "ten times"}
    if x != x:   # nan
        return "an undefined multiple of"
    if x >= 1.75 and round(x) in words and abs(x - round(x)) <= 0.25:
        return f"about {words[round(x)]}"
    return f"{x:.3g} times" if x >= 10 else f"{x:.1f} times"


def span(a: float, b: float, fmt: str = "{:.0f}") -> str:
    """'4 to 5', or 'about 9' when both ends print alike."""
    x, y = fmt.format(a), fmt.format(b)
    return f"about {x}" if x == y else f"{x} to {y}"


def orders(lo: float, hi: float | None = None) -> str:
    """Powers of ten in words: 'about 8 orders of magnitude', '4 to 5 orders of magnitude',
    'about one order of magnitude' (``lo``, ``hi``: base-10 logarithms of the factors)."""
    text = span(lo, lo if hi is None else hi)
    return ("about one order of magnitude" if text == "about 1" else f"{text} orders of magnitude")


def profile_readings(sentence) -> dict:
    """``{'profile_cpu': sentence('cpu'), 'profile_gpu': sentence('gpu')}``: a chapter's presets
    in words (its ``profile_sentence``), for the glue roles of its introduction."""
    return {f"profile_{p}": sentence(p) for p in ("cpu", "gpu")}


def plural(n, word: str) -> str:
    """'1 epoch', '2 epochs', '1.5 epochs'."""
    return f"{n:g} {word}" + ("" if n == 1 else "s")
