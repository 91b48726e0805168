"""bulk.deferred_full_gc: full-heap collections wait, young ones go on, thresholds come back."""

from __future__ import annotations

import gc
import threading

import pytest

from askcorpus.bulk import deferred_full_gc


def test_thresholds_come_back_after_nested_blocks_and_errors() -> None:
    before = gc.get_threshold()
    with pytest.raises(RuntimeError), deferred_full_gc():
        inside = gc.get_threshold()
        with deferred_full_gc():
            assert gc.get_threshold() == inside
        assert gc.get_threshold() == inside  # the outer block still runs
        raise RuntimeError("a failed build")
    assert inside[:2] == before[:2] and inside[2] > before[2]
    assert gc.get_threshold() == before


def test_a_block_in_another_thread_keeps_the_deferral_until_the_last_ends() -> None:
    before = gc.get_threshold()
    entered, release = threading.Event(), threading.Event()

    def build() -> None:
        with deferred_full_gc():
            entered.set()
            release.wait(30)

    other = threading.Thread(target=build)
    other.start()
    entered.wait(30)
    with deferred_full_gc():
        pass
    assert gc.get_threshold() != before  # the other thread's block is still running
    release.set()
    other.join(30)
    assert gc.get_threshold() == before


def test_young_collections_go_on_inside_a_block() -> None:
    young = gc.get_stats()[0]["collections"]
    with deferred_full_gc():
        kept = [[i] for i in range(50_000)]  # containers that survive: young collections run
        assert gc.get_stats()[0]["collections"] > young
    assert len(kept) == 50_000
