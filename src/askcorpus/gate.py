"""Admission to the engine: how many questions a server answers at once, and how long one waits.

The web UI and the JSON API of ``askcorpus serve`` share one gate, so the process answers at
most ``slots`` questions at a time whichever door they come in by. A question waits its turn
in arrival order; when ``max_waiting`` already wait, or its turn does not come within
``wait_s``, it is refused with :class:`~askcorpus.errors.ServerBusyError` at once, so that an
overloaded server tells its clients to come back instead of piling requests up (the same
policy as Gradio's queue: ``max_size`` waiting, ``concurrency_limit`` running).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TypeVar

from askcorpus.errors import ServerBusyError

T = TypeVar("T")
# Gradio's queue admits 64 waiting events (ui.serve); at ~15 ms an ask, 64 drain in about 1 s
# on this project's 2 cores, and a request waiting 30 s is one its client has given up on.
MAX_WAITING = 64
WAIT_SECONDS = 30.0
BUSY = "The server is busy answering other questions; retry in a few seconds."


class Gate:
    """At most ``slots`` calls at once in worker threads, at most ``max_waiting`` waiting.

    Example:
        >>> gate = Gate(1)
        >>> asyncio.run(gate.run(lambda: 42))
        42
    """

    def __init__(self, slots: int, *, max_waiting: int = MAX_WAITING,
                 wait_s: float = WAIT_SECONDS) -> None:
        if slots < 1 or max_waiting < 0 or wait_s <= 0:
            raise ValueError("A gate needs at least one slot, max_waiting >= 0 and wait_s > 0.")
        self.slots, self.max_waiting, self.wait_s = slots, max_waiting, wait_s
        # One event loop serves every request of a server (uvicorn's); the semaphore binds
        # to it on first use. Its waiters are woken in arrival order.
        self._free = asyncio.Semaphore(slots)
        self._waiting = 0

    @property
    def waiting(self) -> int:
        """Calls waiting for a slot now (not counting those running)."""
        return self._waiting

    async def run(self, call: Callable[[], T]) -> T:
        """``call()`` in a worker thread once a slot is free, or ServerBusyError."""
        await self._enter()
        try:
            running = asyncio.get_running_loop().run_in_executor(None, call)
        except BaseException:
            self._free.release()
            raise
        # The slot is freed when the thread ends, not when the caller stops waiting: a caller
        # cancelled mid-answer (a client that hung up) must not let another ask start beside
        # the one still running, so at most ``slots`` asks ever run.
        running.add_done_callback(lambda _: self._free.release())
        return await asyncio.shield(running)

    async def _enter(self) -> None:
        if self._free.locked() and self._waiting >= self.max_waiting:
            raise ServerBusyError(BUSY)
        self._waiting += 1
        try:
            async with asyncio.timeout(self.wait_s):
                await self._free.acquire()
        except TimeoutError:
            raise ServerBusyError(BUSY) from None
        finally:
            self._waiting -= 1
