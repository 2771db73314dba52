"""What the streaming API sends, item by item, as Server-Sent Events (``/api/v1/ask/stream``).

Only public models leave here (:mod:`ui.public`): the staff ``Answer`` and rejected sentences
never do.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from assistant.core import messages as msg
from assistant.core.answer import Answer, PreviewEvent, SentenceEvent, SourcesEvent
from ui.public import PublicAnswer, public_preview, public_sentence, public_source
from ui.pump import Heartbeat
from ui.queue import Waiting


@dataclass(frozen=True)
class Finished:
    """The last item of an answer stream: the staff answer and what the citizen gets."""

    answer: Answer
    public: PublicAnswer


def sse(event: str, data: BaseModel | dict[str, Any]) -> bytes:
    payload = data.model_dump_json() if isinstance(data, BaseModel) else json.dumps(data)
    return f"event: {event}\ndata: {payload}\n\n".encode()


def sse_bytes(item: Any) -> bytes | None:
    """One stream item as SSE bytes; None for what the public must not see."""
    if isinstance(item, Heartbeat):
        return b": keep-alive\n\n"
    if isinstance(item, Waiting):
        message = msg.QUEUE_POSITION.format(position=item.position)
        return sse("queue", {"position": item.position, "message": message})
    if isinstance(item, Finished):
        return sse("done", item.public)
    if isinstance(item, SourcesEvent):
        return sse("sources", {"sources": [public_source(s).model_dump() for s in item.sources]})
    if isinstance(item, PreviewEvent):
        # the best exact passage, before the model's answer: labelled as an excerpt
        return sse("preview", public_preview(item.preview))
    if isinstance(item, SentenceEvent):
        return sse("sentence", public_sentence(item.sentence))
    return None  # "rejected" sentences are staff-only
