"""What every generation backend shares: the ``Generator`` protocol, its errors, its usage
record. The pipeline depends on this module only, never on a backend."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol


class GenerationError(RuntimeError):
    pass


class GenerationTimeout(GenerationError):
    pass


@dataclass
class Usage:
    """Filled by the backend during ``stream``: per request, so concurrent requests on a pool
    never report each other's server."""

    prompt_tokens: int = 0
    output_tokens: int = 0
    backend: str = ""
    model: str = ""


class Generator(Protocol):
    name: str
    backend: str

    def stream(
        self, messages: list[dict[str, str]], grammar: str, max_tokens: int, usage: Usage
    ) -> Iterator[str]: ...

    def count_tokens(self, text: str) -> int: ...
