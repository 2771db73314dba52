"""What the pool knows of each model server, and its counters (observability, tests)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class ServerState:
    url: str
    in_flight: int = 0
    healthy: bool | None = None  # None: never probed
    down_until: float = 0.0
    last_error: str = ""
    model: str = ""  # id reported by GET /v1/models
    health_path: str | None = "/health"  # None once /health answered 404
    tokenizer: str | None = None  # "count" (llama_cpp.server), "tokenize" (llama.cpp), "none"
    bos_tokens: int = 0  # tokens /extras/tokenize adds to any text (BOS)
    answered: int = 0
    failures: int = 0
    streamed_chars: int = 0  # received by attempts in progress (observability, tests)

    def snapshot(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "healthy": self.healthy,
            "in_flight": self.in_flight,
            "model": self.model,
            "answered": self.answered,
            "failures": self.failures,
            "last_error": self.last_error,
        }


@dataclass
class PoolStats:
    requests: int = 0
    failovers: int = 0  # attempts abandoned for another server
    replays: int = 0  # failovers after lines were released, replay matched
    diverged: int = 0  # replay did not match: request ended with an error
    errors: list[str] = field(default_factory=list)
