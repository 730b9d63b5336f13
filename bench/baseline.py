"""The code before a change, checked out beside the repository, for side-by-side timings.

``make bench BASELINE=<git ref>`` (or ``EXOEXTRACT_BASELINE=<ref>``) names the commit; the
bench checks it out once as a detached git worktree under ``.bench/`` and runs the same jobs
with that tree first on ``sys.path`` in a fresh process. Without git or the ref, the
baseline columns say why they are empty instead of failing the bench.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def baseline_ref() -> str:
    return os.environ.get("EXOEXTRACT_BASELINE", "").strip()


def baseline_tree() -> tuple[Path | None, str]:
    """The baseline's checkout (made on first use) and a line saying what it is, or why not."""
    ref = baseline_ref()
    if not ref:
        return None, "no baseline (make bench BASELINE=<git ref>)"
    try:
        commit = subprocess.run(
            ["git", "-C", str(REPO), "rev-parse", "--verify", f"{ref}^{{commit}}"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None, f"baseline {ref!r} is not a commit of this repository"
    tree = REPO / ".bench" / f"baseline-{commit[:12]}"
    if not (tree / "exoextract" / "__init__.py").exists():
        try:
            subprocess.run(
                ["git", "-C", str(REPO), "worktree", "add", "--detach", str(tree), commit],
                capture_output=True,
                text=True,
                check=True,
            )
        except (OSError, subprocess.CalledProcessError) as exc:
            return None, f"baseline {ref!r} could not be checked out: {exc}"
    return tree, f"baseline {ref} ({commit[:9]})"
