"""The server's admission gate: at most `slots` asks at once, a bounded wait, busy beyond it."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from askcorpus.errors import AskcorpusError, ServerBusyError
from askcorpus.gate import Gate


class Probe:
    """A blocking call that records how many of its kind run at the same time."""

    def __init__(self, seconds: float) -> None:
        self.seconds, self.running, self.most = seconds, 0, 0
        self._lock = threading.Lock()

    def __call__(self) -> str:
        with self._lock:
            self.running += 1
            self.most = max(self.most, self.running)
        time.sleep(self.seconds)
        with self._lock:
            self.running -= 1
        return "done"


async def _outcomes(gate: Gate, probe: Probe, n: int) -> list[str]:
    async def one() -> str:
        try:
            return await gate.run(probe)
        except ServerBusyError:
            return "busy"

    return await asyncio.gather(*(one() for _ in range(n)))


@pytest.mark.parametrize("slots", [1, 2])
def test_at_most_slots_calls_run_at_once(slots: int) -> None:
    probe = Probe(0.05)
    assert asyncio.run(_outcomes(Gate(slots), probe, 8)) == ["done"] * 8
    assert probe.most == slots


def test_beyond_max_waiting_the_call_is_refused_at_once() -> None:
    probe = Probe(0.2)
    started = time.perf_counter()
    outcomes = asyncio.run(_outcomes(Gate(1, max_waiting=2), probe, 6))
    # One runs, two wait their turn, the other three are told to come back without waiting.
    assert outcomes == ["done"] * 3 + ["busy"] * 3
    assert time.perf_counter() - started < 0.2 * 3 + 1.0


def test_a_call_whose_turn_does_not_come_in_time_is_refused() -> None:
    outcomes = asyncio.run(_outcomes(Gate(1, wait_s=0.25), Probe(0.1), 6))
    assert outcomes[:2] == ["done", "done"] and outcomes[-2:] == ["busy", "busy"]


def test_busy_is_an_askcorpus_error_that_says_retry() -> None:
    """The UI and both APIs show it like any refused question: one sentence, what to do."""
    error = ServerBusyError("x")
    assert isinstance(error, AskcorpusError)
    from askcorpus.gate import BUSY

    assert "retry" in BUSY and BUSY.endswith(".")


def test_a_cancelled_caller_keeps_its_slot_until_its_thread_ends() -> None:
    """A client that hangs up must not let a second ask start beside the one still running."""
    probe = Probe(0.3)

    async def main() -> int:
        gate = Gate(1)
        first = asyncio.create_task(gate.run(probe))
        await asyncio.sleep(0.05)
        first.cancel()
        second = asyncio.create_task(gate.run(probe))
        await asyncio.gather(first, second, return_exceptions=True)
        return probe.most

    assert asyncio.run(main()) == 1


@pytest.mark.parametrize("options", [{"slots": 0}, {"slots": 1, "max_waiting": -1},
                                     {"slots": 1, "wait_s": 0}])
def test_a_gate_that_could_admit_nothing_is_refused(options: dict) -> None:
    slots = options.pop("slots")
    with pytest.raises(ValueError, match="at least one slot"):
        Gate(slots, **options)
