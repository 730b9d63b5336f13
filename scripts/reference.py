"""The docs' reference pages, generated from the code so they cannot drift.

    python scripts/reference.py          # write docs/reference/{cli,settings,features,api}.md
    python scripts/reference.py --check  # exit 1 naming each page that differs (make lint)

``cli.md`` is every command's ``--help`` at 100 columns, ``settings.md`` every setting with
its default and documentation (from the settings dataclass), ``features.md`` every output
column (``exoextract features``), ``api.md`` the public API's names with their signatures and
docstrings.
"""

from __future__ import annotations

import dataclasses
import inspect
import os
import sys
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "reference"
HEADER = "Generated from the code by `python scripts/reference.py` (`make docs`); do not edit."


def cli() -> str:
    import typer.main
    from typer.testing import CliRunner

    from exoextract.cli.commands import app

    env = {"COLUMNS": "100", "TERM": "dumb", "NO_COLOR": "1"}
    runner = CliRunner()
    out = ["# Command-line reference", "", HEADER, ""]
    commands = ["", *typer.main.get_command(app).commands]  # type: ignore[attr-defined]
    for name in commands:
        args = [name, "--help"] if name else ["--help"]
        done = runner.invoke(app, args, env=env)
        if done.exit_code != 0:
            raise SystemExit(f"`exoextract {' '.join(args)}` failed: {done.output}")
        text = "\n".join(line.rstrip() for line in done.output.strip("\n").splitlines())
        out += [f"## exoextract {name}".rstrip(), "", "```text", text, "```", ""]
    return "\n".join(out)


def settings() -> str:
    from exoextract.settings import Settings

    out = [
        "# Settings reference",
        "",
        HEADER,
        "",
        "Every setting, by section: its default, whether it changes the results (a run",
        "resumed with a different value is refused without `--force`) and what it does.",
        "Defaults, then `--config FILE.toml` (or a preset by name), then the flags.",
        "",
    ]
    sections: dict[str, list[dataclasses.Field[object]]] = {}
    for field in dataclasses.fields(Settings):
        sections.setdefault(field.metadata["section"], []).append(field)
    for section, chosen in sections.items():
        out += [f"## {section}", "", "| setting | default | changes results | meaning |",
                "| --- | --- | --- | --- |"]  # fmt: skip
        for field in chosen:
            default = field.default
            if default is dataclasses.MISSING and field.default_factory is not dataclasses.MISSING:
                default = field.default_factory()
            doc = " ".join(str(field.metadata["doc"]).split()).replace("|", "\\|")
            changes = "yes" if field.metadata["results"] else "no"
            out.append(f"| `{field.name}` | `{default!r}` | {changes} | {doc} |")
        out.append("")
    return "\n".join(out)


def features() -> str:
    from exoextract.cli.reference import render

    return render()


def api() -> str:
    import exoextract

    out = [
        "# Python API",
        "",
        HEADER,
        "",
        "Everything below is importable from the top package (`from exoextract import",
        "start_run`); any other module is internal and may move between versions.",
        "",
    ]
    for name in sorted(n for n in exoextract.__all__ if n != "__version__"):
        value = getattr(exoextract, name)
        doc = inspect.getdoc(value) or ""
        if inspect.isclass(value):
            bases = ", ".join(b.__name__ for b in value.__bases__ if b is not object)
            out += [f"## {name}" + (f" ({bases})" if bases else ""), ""]
            if dataclasses.is_dataclass(value):
                doc = doc if not doc.startswith(f"{name}(") else ""
                rows = [f"- `{f.name}`: `{f.type}`" for f in dataclasses.fields(value)]
                out += [doc, "", *rows, ""] if doc else [*rows, ""]
            else:
                out += [doc, ""]
        else:
            signature = str(inspect.signature(value))
            out += [f"## {name}", "", "```python", f"{name}{signature}", "```", "",
                    "```text", doc, "```", ""]  # fmt: skip
    return "\n".join(out)


PAGES: dict[str, Callable[[], str]] = {
    "cli.md": cli,
    "settings.md": settings,
    "features.md": features,
    "api.md": api,
}


def main(argv: list[str]) -> int:
    os.environ["COLUMNS"] = "100"
    check = "--check" in argv
    stale = []
    for name, make in PAGES.items():
        path = OUT / name
        text = make().rstrip("\n") + "\n"
        if check:
            if not path.exists() or path.read_text() != text:
                stale.append(str(path.relative_to(ROOT)))
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
    if stale:
        print(f"stale: {', '.join(stale)} — run `make docs` and commit them", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
