"""The ingest's one-chunk-ahead stage: results in order, an error in the stage raised at its place, and a
caller that stops early leaves no chunk being staged behind."""

from __future__ import annotations

import threading
from collections import defaultdict

import pytest

from xinyong.ingest.service import staged


def test_results_come_in_order_from_another_thread() -> None:
    seen: list[str] = []

    def stage(n: int) -> int:
        seen.append(threading.current_thread().name)
        return n * 10

    assert list(staged(iter(range(5)), stage, defaultdict(float))) == [0, 10, 20, 30, 40]
    assert seen and all(name.startswith("xinyong-stage") for name in seen)


def test_an_error_in_the_stage_is_raised_after_the_chunks_before_it() -> None:
    def stage(n: int) -> int:
        if n == 2:
            raise ValueError("第 3 块出错")
        return n

    got: list[int] = []
    with pytest.raises(ValueError, match="第 3 块出错"):
        for value in staged(iter(range(5)), stage, defaultdict(float)):
            got.append(value)
    assert got == [0, 1]


def test_stopping_early_stages_at_most_one_more_chunk() -> None:
    staged_chunks: list[int] = []

    def stage(n: int) -> int:
        staged_chunks.append(n)
        return n

    results = staged(iter(range(100)), stage, defaultdict(float))
    assert next(results) == 0
    results.close()  # what a for loop does when its body raises
    assert staged_chunks in ([0, 1], [0])
