"""The in-process backend: ``LlamaCppGenerator`` runs a GGUF through llama-cpp-python (the
chat template comes from the GGUF itself). One model instance is not re-entrant, so calls are
serialised by a lock; queueing and back-pressure belong to the server layer.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from assistant.generation.base import GenerationError, GenerationTimeout, Usage
from assistant.index.provision import check_gguf


class LlamaCppGenerator:
    backend = "llama-cpp-python"

    def __init__(
        self,
        model_path: Path,
        *,
        threads: int = 2,
        n_ctx: int = 4096,
        seed: int = 0,
        timeout_s: float = 120.0,
        prompt_lookup: bool = False,
        expected_sha256: str | None = None,
    ) -> None:
        check = check_gguf(Path(model_path), expected_sha256)
        if not check.ok:
            raise GenerationError(check.reason)
        from llama_cpp import Llama

        draft = None
        if prompt_lookup:
            from llama_cpp.llama_speculative import LlamaPromptLookupDecoding

            draft = LlamaPromptLookupDecoding(num_pred_tokens=4)
        self._llm = Llama(
            model_path=str(model_path),
            n_ctx=n_ctx,
            n_threads=threads,
            n_threads_batch=threads,
            seed=seed,
            verbose=False,
            draft_model=draft,
            # Drafting needs the logits of every prompt position; llama-cpp-python turns this on
            # by itself with a draft model but sizes its buffer from the argument, so a prompt
            # longer than one batch (512 tokens) would crash.
            logits_all=prompt_lookup,
        )
        self.name = Path(model_path).stem
        self.timeout_s = timeout_s
        self._lock = threading.Lock()
        # llama.cpp polls this during prompt evaluation too, so a time limit also stops a long
        # prompt read, not only the generation loop.
        import llama_cpp

        self._deadline = math.inf
        self._abort_cb = llama_cpp.ggml_abort_callback(lambda _: time.monotonic() > self._deadline)
        llama_cpp.llama_set_abort_callback(self._llm.ctx, self._abort_cb, None)

    def count_tokens(self, text: str) -> int:
        return len(self._llm.tokenize(text.encode("utf-8"), add_bos=False, special=False))

    def stream(
        self, messages: list[dict[str, str]], grammar: str, max_tokens: int, usage: Usage
    ) -> Iterator[str]:
        from llama_cpp import LlamaGrammar

        compiled = LlamaGrammar.from_string(grammar, verbose=False)
        with self._lock:
            self._deadline = time.monotonic() + self.timeout_s
            timeout = GenerationTimeout(f"génération interrompue après {self.timeout_s:.0f} s")
            produced = 0
            try:
                pieces = self._llm.create_chat_completion(
                    messages=messages,  # type: ignore[arg-type]
                    grammar=compiled,
                    max_tokens=max_tokens,
                    temperature=0.0,
                    stream=True,
                )
                for piece in pieces:
                    delta: Any = piece["choices"][0].get("delta", {})  # type: ignore[index,union-attr]
                    text = str(delta.get("content") or "")
                    if text:
                        produced += 1
                        yield text
                    if time.monotonic() > self._deadline:
                        raise timeout
            except GenerationError:
                raise
            except Exception as exc:  # llama.cpp errors (context overflow, abort) → clean refusal
                if time.monotonic() > self._deadline:
                    raise timeout from exc
                raise GenerationError(f"{type(exc).__name__}: {exc}") from exc
            finally:
                self._deadline = math.inf
            usage.output_tokens = produced
            usage.prompt_tokens = max(0, self._llm.n_tokens - produced)
            usage.backend, usage.model = self.backend, self.name
