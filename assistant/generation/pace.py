"""How fast the model has recently read prompts and written answers, and what that predicts.

On a shared 2-core machine the same prompt took 11 s on a quiet minute and over 120 s beside an
ingest: a fixed context size cannot be right for both. Each generation's timings feed a
:class:`Pace`; before the next one, the pipeline asks it how long a prompt of this size would
take, and answers in a cheaper way when that is over the budget (``GUICHET_ANSWER_BUDGET_S``)
instead of running into the time-out.

Speeds are measured around the backend's stream, whatever the backend: the time to the first
piece is reading the prompt (llama.cpp evaluates the whole prompt before its first token), the
rest is writing. A remote pool's network and queue time count as reading, which is what the
citizen waits for anyway.
"""

from __future__ import annotations

import statistics
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from assistant.generation.base import GenerationTimeout, Usage


@dataclass(frozen=True)
class Sample:
    prompt_tokens: int
    read_s: float
    output_tokens: int
    write_s: float


class Pace:
    """Recent speeds (median of the last ``window`` generations) and estimates from them."""

    def __init__(self, window: int = 8, clock: Callable[[], float] = time.perf_counter) -> None:
        self._samples: deque[Sample] = deque(maxlen=window)
        self._lock = threading.Lock()
        self._clock = clock

    def record(self, sample: Sample) -> None:
        with self._lock:
            self._samples.append(sample)

    def _recent(self) -> list[Sample]:
        with self._lock:
            return list(self._samples)

    @property
    def measured(self) -> bool:
        return bool(self._recent())

    def read_tps(self) -> float | None:
        """Prompt tokens read per second, recently (None before any measure)."""
        rates = [s.prompt_tokens / s.read_s for s in self._recent() if s.read_s > 0]
        return statistics.median(rates) if rates else None

    def write_tps(self) -> float | None:
        """Output tokens written per second after the first, recently."""
        rates = [
            (s.output_tokens - 1) / s.write_s
            for s in self._recent()
            if s.output_tokens > 1 and s.write_s > 0
        ]
        return statistics.median(rates) if rates else None

    def typical_output(self, cap: int) -> int:
        """Output tokens an answer usually takes (``cap`` before any measure)."""
        counts = [s.output_tokens for s in self._recent() if s.output_tokens > 0]
        return min(cap, round(statistics.median(counts))) if counts else cap

    def estimate_s(self, prompt_tokens: int, output_tokens: int) -> float | None:
        """Seconds a generation of this size should take now; None when nothing is measured
        (the first answer of a process is never degraded on a guess)."""
        read = self.read_tps()
        if read is None:
            return None
        write = self.write_tps()
        seconds = prompt_tokens / read
        if write is not None:
            seconds += max(0, output_tokens - 1) / write
        return seconds

    def timed(
        self,
        pieces: Iterator[str],
        usage: Usage,
        prompt_tokens: int = 0,
    ) -> Iterator[str]:
        """``pieces`` unchanged; once they end, their timings are recorded with ``usage``'s
        token counts. A time-out before the first piece records the prompt (``prompt_tokens``,
        the caller's count) as read in the time waited: a lower bound of the slowness, so the
        next answer is made cheaper instead of timing out again. Other failures and
        abandoned streams record nothing."""
        clock = self._clock
        start = clock()
        first: float | None = None
        try:
            for piece in pieces:
                if first is None:
                    first = clock()
                yield piece
        except GenerationTimeout:
            if first is None and prompt_tokens > 0:
                self.record(Sample(prompt_tokens, clock() - start, 0, 0.0))
            raise
        end = clock()
        if first is None or usage.prompt_tokens <= 0:
            return
        self.record(Sample(usage.prompt_tokens, first - start, usage.output_tokens, end - first))
