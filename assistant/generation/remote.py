"""Generation on a pool of OpenAI-compatible model servers, chosen by URL.

Speaks ``POST /v1/chat/completions`` with ``stream: true`` to llama.cpp's ``llama-server``,
llama-cpp-python's ``python -m llama_cpp.server`` or vLLM, with the same contract as the
in-process backend: greedy decoding, fixed seed, output constrained by the grammar where the
server accepts one (``grammar_param``: ``"grammar"`` GBNF for llama.cpp and llama_cpp.server,
``"guided_grammar"`` vLLM < 0.10, ``"structured_outputs"`` vLLM ≥ 0.10, ``"none"``). The pipeline
verifies whatever comes back anyway.

Choice, health, failover and replay are described in docs/operations.md ("How the pool
behaves"). The invariant that shapes the code: text is released line by line, and a replacement
server must regenerate the already released prefix character for character, or the request
stops with a ``GenerationError``: two answers are never spliced.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from assistant.core.text import approx_tokens
from assistant.generation.base import GenerationError, GenerationTimeout, Usage
from assistant.generation.server_state import PoolStats, ServerState

GRAMMAR_PARAMS = ("grammar", "guided_grammar", "structured_outputs", "none")


class _ServerFailed(Exception):
    """This server cannot serve the request: try another one."""


class _Diverged(Exception):
    """The replacement server did not replay the lines already released."""


class ServerPoolGenerator:
    """A :class:`~assistant.generation.base.Generator` over several OpenAI-compatible servers."""

    def __init__(
        self,
        urls: list[str],
        api_key: str | None = None,
        timeout_s: float = 120.0,
        *,
        connect_timeout_s: float = 3.0,
        read_timeout_s: float | None = None,
        health_interval_s: float = 10.0,
        seed: int = 0,
        grammar_param: str = "grammar",
        model: str | None = None,
        client: httpx.Client | None = None,
    ) -> None:
        if not urls:
            raise ValueError("ServerPoolGenerator needs at least one URL")
        if grammar_param not in GRAMMAR_PARAMS:
            raise ValueError(f"grammar_param must be one of {GRAMMAR_PARAMS}")
        self.servers = [ServerState(url.rstrip("/")) for url in dict.fromkeys(urls)]
        self.timeout_s = timeout_s
        self.connect_timeout_s = connect_timeout_s
        # Longest silence tolerated inside a request (prompt reading included): a hung server
        # is abandoned after this, a dead one at once (connection reset / refused).
        self.read_timeout_s = read_timeout_s or min(timeout_s, 45.0)
        self.health_interval_s = health_interval_s
        self.seed = seed
        self.grammar_param = grammar_param
        self.request_model = model
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = client or httpx.Client(headers=headers, trust_env=False)
        self._lock = threading.Lock()
        self._rr = 0
        self._local = threading.local()
        self._token_cache: dict[str, int] = {}
        self.stats = PoolStats()

    # --- Generator attributes (per calling thread) -------------------------------------------
    @property
    def backend(self) -> str:
        return getattr(self._local, "backend", "") or "server-pool"

    @backend.setter
    def backend(self, value: str) -> None:
        self._local.backend = value

    @property
    def name(self) -> str:
        current = getattr(self._local, "name", "")
        if current:
            return current
        return next((s.model for s in self.servers if s.model), "") or "server-pool"

    @name.setter
    def name(self, value: str) -> None:
        self._local.name = value

    def status(self) -> list[dict[str, Any]]:
        with self._lock:
            return [s.snapshot() for s in self.servers]

    def close(self) -> None:
        self._client.close()

    # --- health --------------------------------------------------------------------------------
    def _timeout(self, read: float | None = None) -> httpx.Timeout:
        read = read if read is not None else max(self.connect_timeout_s, 5.0)
        return httpx.Timeout(connect=self.connect_timeout_s, read=read, write=read, pool=read)

    def probe(self, server: ServerState) -> bool:
        """GET /health (llama.cpp, vLLM), else /v1/models; learn the model id. Updates state."""
        try:
            if server.health_path:
                r = self._client.get(server.url + server.health_path, timeout=self._timeout())
                if r.status_code == 404:
                    server.health_path = None
                elif r.status_code != 200:
                    raise _ServerFailed(f"{server.health_path} → HTTP {r.status_code}")
            if server.health_path is None or not server.model:
                r = self._client.get(server.url + "/v1/models", timeout=self._timeout())
                if r.status_code != 200:
                    raise _ServerFailed(f"/v1/models → HTTP {r.status_code}")
                models = r.json().get("data") or []
                if models:
                    reported = str(models[0].get("id", ""))
                    # llama_cpp.server reports the GGUF path: keep its stem, like in-process.
                    server.model = Path(reported).stem if reported.endswith(".gguf") else reported
        except (httpx.HTTPError, ValueError, _ServerFailed) as exc:
            # A read timeout counts as down too: a stopped process still accepts connections.
            # (llama_cpp.server answers even /v1/models only between generations, so a server
            # busy with another client's request may be skipped until the next probe;
            # llama.cpp's llama-server answers /health at once.)
            self._mark_down(server, f"sonde : {exc}")
            return False
        with self._lock:
            server.healthy = True
            server.last_error = ""
        return True

    def _mark_down(self, server: ServerState, reason: str) -> None:
        with self._lock:
            server.healthy = False
            server.down_until = time.monotonic() + self.health_interval_s
            server.last_error = reason
            server.failures += 1

    def _acquire(self, tried: set[str]) -> ServerState | None:
        """The least busy usable server not yet tried for this request, reserved (in_flight+1)."""
        while True:
            now = time.monotonic()
            with self._lock:
                fresh = [s for s in self.servers if s.url not in tried]
                usable = [s for s in fresh if s.healthy is not False or now >= s.down_until]
                if not usable:  # last resort: re-probe everything not tried, even if recent
                    usable = [s for s in fresh if s.healthy is not True]
                if not usable:
                    return None
                n = len(self.servers)
                index = {s.url: i for i, s in enumerate(self.servers)}
                usable.sort(key=lambda s: (s.in_flight, (index[s.url] - self._rr) % n))
                best = usable[0]
                if best.healthy:
                    best.in_flight += 1
                    self._rr = (index[best.url] + 1) % n
                    return best
            if not self.probe(best):  # unknown or due for a re-probe; no lock held while probing
                tried.add(best.url)

    def _release(self, server: ServerState) -> None:
        with self._lock:
            server.in_flight -= 1

    # --- generation --------------------------------------------------------------------------
    def _payload(
        self, server: ServerState, messages: list[dict[str, str]], grammar: str, max_tokens: int
    ) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "model": self.request_model or server.model or "guichet",
            "messages": messages,
            "stream": True,
            "stream_options": {"include_usage": True},
            "max_tokens": max_tokens,
            "temperature": 0.0,
            "seed": self.seed,
            # llama_cpp.server's default is 1.1; in-process create_chat_completion uses 1.0
            "repeat_penalty": 1.0,
        }
        if self.grammar_param == "grammar":
            payload["grammar"] = grammar
        elif self.grammar_param == "guided_grammar":
            payload["guided_grammar"] = grammar
        elif self.grammar_param == "structured_outputs":
            payload["structured_outputs"] = {"grammar": grammar}
        return payload

    def _attempt(
        self, server: ServerState, payload: dict[str, Any], deadline: float, usage: Usage
    ) -> Iterator[str]:
        """Yield content deltas of one streamed request; raise _ServerFailed if cut short."""
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise GenerationTimeout(f"génération interrompue après {self.timeout_s:.0f} s")
        timeout = self._timeout(read=min(self.read_timeout_s, remaining))
        finished = False
        produced = 0
        try:
            with self._client.stream(
                "POST", server.url + "/v1/chat/completions", json=payload, timeout=timeout
            ) as response:
                if response.status_code != 200:
                    body = response.read().decode("utf-8", "replace")[:300]
                    if response.status_code in (400, 413, 422):  # same answer everywhere
                        raise GenerationError(f"{server.url} a refusé la requête : {body}")
                    raise _ServerFailed(f"HTTP {response.status_code} {body}")
                for line in response.iter_lines():
                    if time.monotonic() > deadline:
                        raise GenerationTimeout(
                            f"génération interrompue après {self.timeout_s:.0f} s"
                        )
                    if not line.startswith("data:"):
                        continue  # blank separators, ": ping" comments, event names
                    data = line[5:].strip()
                    if data == "[DONE]":
                        break
                    chunk = json.loads(data)
                    if "error" in chunk:
                        raise _ServerFailed(f"erreur en cours de flux : {chunk['error']}")
                    if chunk.get("usage"):
                        usage.prompt_tokens = int(chunk["usage"].get("prompt_tokens") or 0)
                    for choice in chunk.get("choices") or []:
                        text = (choice.get("delta") or {}).get("content") or ""
                        if text:
                            produced += 1
                            with self._lock:
                                server.streamed_chars += len(text)
                            yield text
                        if choice.get("finish_reason"):
                            finished = True
        except httpx.TransportError as exc:  # refused, reset, timeouts, truncated body
            if time.monotonic() >= deadline:
                raise GenerationTimeout(
                    f"génération interrompue après {self.timeout_s:.0f} s"
                ) from exc
            raise _ServerFailed(f"{type(exc).__name__}: {exc}") from exc
        except json.JSONDecodeError as exc:
            raise _ServerFailed(f"flux illisible : {exc}") from exc
        if not finished:
            raise _ServerFailed("flux interrompu avant la fin (pas de finish_reason)")
        usage.output_tokens = produced

    def stream(
        self, messages: list[dict[str, str]], grammar: str, max_tokens: int, usage: Usage
    ) -> Iterator[str]:
        deadline = time.monotonic() + self.timeout_s
        self.backend, self.name = "", ""
        released = ""  # text handed to the caller: complete lines only, until the end
        tried: set[str] = set()
        errors: list[str] = []
        replaying = False  # a failover happened after lines were released
        with self._lock:
            self.stats.requests += 1
        while True:
            server = self._acquire(tried)
            if server is None:
                detail = "; ".join(errors) or "aucune URL joignable"
                raise GenerationError(f"aucun serveur de génération disponible ({detail})")
            tried.add(server.url)
            text = ""  # this attempt's output
            try:
                payload = self._payload(server, messages, grammar, max_tokens)
                for piece in self._attempt(server, payload, deadline, usage):
                    text += piece
                    if len(text) <= len(released):
                        if not released.startswith(text):
                            raise _Diverged
                        continue
                    if not text.startswith(released):
                        raise _Diverged
                    cut = text.rfind("\n")
                    if cut + 1 > len(released):
                        out = text[len(released) : cut + 1]
                        released += out
                        yield out
                if not text.startswith(released):
                    raise _Diverged
                if len(text) > len(released):
                    yield text[len(released) :]
                if replaying:
                    with self._lock:
                        self.stats.replays += 1
                with self._lock:
                    server.answered += 1
                self.backend, self.name = f"server:{server.url}", server.model or self.name
                # Forward-compatible per-request record (see docs/operations.md, contract).
                usage.backend, usage.model = self.backend, self.name
                if not usage.prompt_tokens:  # server sent no usage (llama_cpp.server)
                    usage.prompt_tokens = sum(approx_tokens(m["content"]) for m in messages)
                return
            except _ServerFailed as exc:
                replaying = replaying or bool(released)
                self._mark_down(server, str(exc))
                errors.append(f"{server.url}: {exc}")
                with self._lock:
                    self.stats.failovers += 1
                    self.stats.errors = [*self.stats.errors[-49:], errors[-1]]
            except _Diverged:
                with self._lock:
                    self.stats.diverged += 1
                raise GenerationError(
                    f"reprise sur {server.url} divergente après la panne de {errors[-1]}"
                ) from None
            finally:
                self._release(server)

    # --- tokens --------------------------------------------------------------------------------
    def count_tokens(self, text: str) -> int:
        """Server-side tokenizer when one is exposed, else ~len/3.3."""
        if text in self._token_cache:
            return self._token_cache[text]
        count = self._remote_count(text)
        if count is None:
            count = approx_tokens(text)
        if len(self._token_cache) > 4096:
            self._token_cache.clear()
        self._token_cache[text] = count
        return count

    def _remote_count(self, text: str) -> int | None:
        server = next((s for s in self.servers if s.healthy and s.tokenizer != "none"), None)
        if server is None:
            server = next((s for s in self.servers if s.healthy is None), None)
            if server is None or not self.probe(server):
                return None
        try:
            if server.tokenizer in (None, "count"):
                r = self._client.post(
                    server.url + "/extras/tokenize/count",
                    json={"input": text},
                    timeout=self._timeout(read=2.0),
                )
                if r.status_code == 200:
                    if server.tokenizer is None:  # learn how many tokens are added (BOS)
                        server.bos_tokens = self._post_count(server, "")
                        server.tokenizer = "count"
                    return max(0, int(r.json()["count"]) - server.bos_tokens)
                if server.tokenizer == "count":
                    return None
            r = self._client.post(
                server.url + "/tokenize",
                json={"content": text, "add_special": False},
                timeout=self._timeout(read=2.0),
            )
            if r.status_code == 200:
                server.tokenizer = "tokenize"
                return len(r.json()["tokens"])
            server.tokenizer = "none"
        except (httpx.HTTPError, ValueError, KeyError):
            return None
        return None

    def _post_count(self, server: ServerState, text: str) -> int:
        r = self._client.post(
            server.url + "/extras/tokenize/count", json={"input": text}, timeout=self._timeout(2.0)
        )
        r.raise_for_status()
        return int(r.json()["count"])
