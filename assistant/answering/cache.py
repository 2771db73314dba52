"""Finished answers kept for the same question on the same corpus and configuration."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Iterator

from assistant.core.answer import (
    Answer,
    DoneEvent,
    Event,
    Reason,
    SentenceEvent,
    SourcesEvent,
    Timings,
)


class AnswerCache:
    """LRU of finished answers. Keys carry the corpus version, so a re-ingest invalidates."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[tuple, Answer] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple) -> Answer | None:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        return None

    def put(self, key: tuple, answer: Answer) -> None:
        if self.size <= 0 or not cacheable(answer):
            return
        with self._lock:
            self._items[key] = answer
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)


def cacheable(answer: Answer) -> bool:
    """Errors and time-outs are not answers, and a busy service's short answer is not the
    answer a quiet one gives: never serve them again."""
    return not {Reason.generation_error, Reason.timeout, Reason.busy_short} & set(answer.reasons)


def replay(cached: Answer, t0: float) -> Iterator[Event]:
    answer = cached.model_copy(deep=True)
    elapsed = (time.perf_counter() - t0) * 1000
    answer.timings = Timings(total_ms=elapsed, first_sentence_ms=elapsed, first_content_ms=elapsed)
    answer.reasons = [*answer.reasons, Reason.cached]
    if answer.sources:
        yield SourcesEvent(sources=answer.sources)
    for sentence in answer.sentences:
        yield SentenceEvent(sentence=sentence)
    yield DoneEvent(answer=answer)
