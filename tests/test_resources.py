"""The default worker count follows CPUs and memory."""

from __future__ import annotations

import pytest

from exoextract.execution import resources


def test_never_more_than_the_cpus() -> None:
    assert 1 <= resources.default_workers() <= resources.usable_cpus()


@pytest.mark.parametrize(
    ("cpus", "memory", "cap", "expected"),
    [
        (2, 12 * 10**9, None, 2),  # free Colab: 2 vCPUs, 12 GB
        (12, 12 * 10**9, None, 5),  # many CPUs, memory-bound at 1.5 GiB each
        (8, 12 * 10**9, 4 * 10**9, 2),  # a 4 GB cap per worker
        (4, 10**9, None, 1),  # never zero
        (4, None, None, 4),  # memory unknown: CPUs decide
    ],
)
def test_rule(
    monkeypatch: pytest.MonkeyPatch, cpus: int, memory: int | None, cap: int | None, expected: int
) -> None:
    monkeypatch.setattr(resources, "usable_cpus", lambda: cpus)
    monkeypatch.setattr(resources, "available_memory", lambda: memory)
    assert resources.default_workers(cap) == expected
