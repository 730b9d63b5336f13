"""Scripts that start a run, checked before any worker starts.

Worker processes start by the forkserver (or spawn), which re-imports the script that
started the run as ``__mp_main__``. A script whose ``start_run`` call is not under
``if __name__ == "__main__":`` would start a run again in every worker; a script read from
standard input (``python -``) names a file, ``<stdin>``, that no worker can open. The
first is refused with a one-line fix before anything is written; for the second the
workers are told there is no script to import. Nor is there for the command line: its
console script (``bin/exoextract``) holds nothing a worker uses.
"""

from __future__ import annotations

import ast
import contextlib
import sys
from pathlib import Path

from exoextract.errors import InputError

GUARD = 'if __name__ == "__main__":'


def check_main_module(start_method: str) -> None:
    """Refuse a run started at the top level of an unguarded script (see module doc)."""
    if start_method == "fork":
        return
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    if main is None or path is None or getattr(main, "__spec__", None) is not None:
        return  # an interactive session, a notebook, or ``python -m``: nothing re-imported
    file = Path(path)
    if not file.is_file():  # ``python -`` or ``-c``: the workers cannot import it anyway
        del main.__file__
        return
    line = _call_line(path)
    if line is None:
        return
    try:
        tree = ast.parse(file.read_text(encoding="utf-8"))
    except (OSError, SyntaxError, UnicodeDecodeError):
        return
    guards = [node for node in ast.walk(tree) if isinstance(node, ast.If) and _is_guard(node)]
    if not any(_spans(node, line) for node in guards):
        raise InputError(
            f"{file.name}, line {line}: the run starts at the top level of the script — put it "
            f"under `{GUARD}` (worker processes import the script again as they start)"
        )


def _call_line(path: str) -> int | None:
    """The line of the outermost frame running the script's own top level."""
    frame = sys._getframe(1)
    found = None
    while frame is not None:
        code = frame.f_code
        if code.co_name == "<module>" and code.co_filename == path:
            found = frame.f_lineno
        frame = frame.f_back  # type: ignore[assignment]
    return found


def _is_guard(node: ast.If) -> bool:
    if not isinstance(node.test, ast.Compare):
        return False
    parts = [node.test.left, *node.test.comparators]
    names = {p.id for p in parts if isinstance(p, ast.Name)}
    values = {p.value for p in parts if isinstance(p, ast.Constant)}
    return names == {"__name__"} and values == {"__main__"}


def _spans(node: ast.If, line: int) -> bool:
    body_start = node.body[0].lineno
    end = node.body[-1].end_lineno or body_start
    return body_start <= line <= end


def workers_skip_the_script() -> None:
    """Called by the command line's entry point: a worker started by the forkserver (or
    spawn) runs the parent's ``__main__`` script again unless it was run with ``-m``; for
    the console script that imported the command line, typer and rich in every worker
    (0.15 s a worker start). Without a file to name, the workers leave it alone."""
    script = sys.modules.get("__main__")
    if script is not None and getattr(script, "__spec__", None) is None:
        with contextlib.suppress(AttributeError):
            del script.__file__
