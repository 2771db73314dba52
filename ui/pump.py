"""Run a blocking iterator (queue wait + llama.cpp generation) in its own thread, and read its
items from asyncio without ever blocking the event loop.

The worker thread owns the iterator from start to end, so closing it never races with a
``next()`` in flight. When the reader goes away (client disconnected, request cancelled) the
worker stops at the next item and closes the iterator: the pipeline's generator exits and the
work queue gives the turn to the next question.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncGenerator, Callable, Iterator
from typing import Any, TypeVar

T = TypeVar("T")

_END = object()


class Heartbeat:
    """Yielded by :func:`drive` when nothing came for ``heartbeat_s`` (SSE keep-alive)."""


async def drive(
    make: Callable[[], Iterator[T]], *, heartbeat_s: float | None = None
) -> AsyncGenerator[T | Heartbeat, None]:
    loop = asyncio.get_running_loop()
    items: asyncio.Queue[tuple[Any, BaseException | None]] = asyncio.Queue()
    stop = threading.Event()

    def put(item: Any, error: BaseException | None = None) -> None:
        try:
            loop.call_soon_threadsafe(items.put_nowait, (item, error))
        except RuntimeError:  # event loop already closed (server shutting down)
            stop.set()

    def work() -> None:
        try:
            iterator = make()
            try:
                for item in iterator:
                    if stop.is_set():
                        break
                    put(item)
                    if stop.is_set():
                        break
            finally:
                close = getattr(iterator, "close", None)
                if close is not None:
                    close()
        except BaseException as exc:  # handed to the reader, which raises it
            put(_END, exc)
            return
        put(_END)

    thread = threading.Thread(target=work, name="guichet-answer", daemon=True)
    thread.start()
    try:
        while True:
            try:
                item, error = await asyncio.wait_for(items.get(), timeout=heartbeat_s)
            except TimeoutError:
                yield Heartbeat()
                continue
            if item is _END:
                if error is not None:
                    raise error
                return
            yield item
    finally:
        stop.set()
