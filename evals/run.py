"""Run datasets through the real pipeline and write a report folder.

    guichet eval run [--dataset NAME|PATH ...] [--config FILE] [--model NAME|PATH ...]
                     [--limit N] [--no-verify] [--out reports]
    guichet eval compare reports/A reports/B

One run writes ``reports/<date>-<config>/``:

- ``results.jsonl``: one line per (question, model, config hash): the item, the full ``Answer``,
  the ranked retrieved chunks, the verifier's after-the-fact decisions in a ``--no-verify``
  run, and the scores of :func:`evals.metrics.score`. Lines are appended and flushed as they
  are computed; a restarted run skips every (question id, config hash) already there. The
  config hash covers the model file, the settings that change answers, the verify flag, the
  prompt and the source of ``assistant/`` and ``ingest/`` (a code change means new answers).
- ``report.md`` and ``report.html`` (self-contained, inline SVG): see :mod:`evals.report`.

A config file is TOML::

    name = "ctx900"                 # report folder suffix (default: the file's stem)
    datasets = ["demo", "spf-105"]  # default datasets when --dataset is not given
    models = ["default", "0.5b"]    # default models when --model is not given
    [settings]                      # any GUICHET_* setting, lower case, without the prefix
    context_tokens = 900

Models: ``default`` (settings.gguf_path), ``1.5b``, ``0.5b``, ``smollm2`` or a GGUF path.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import tomllib
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from tqdm import tqdm

from assistant.core.answer import Answer, Chunk
from assistant.core.settings import SECTION_OF, Settings, get_settings
from evals.datasets import CORPORA, EvalItem, load_dataset
from evals.report import write_reports
from evals.results import read_results, rescore
from evals.timing import Stopwatch

REPO = Path(__file__).resolve().parents[1]
REPORTS = REPO / "reports"
EVAL_TIMEOUT_S = 600.0


@dataclass
class RunConfig:
    name: str = "default"
    settings: dict[str, Any] = field(default_factory=dict)
    datasets: list[str] = field(default_factory=lambda: ["demo"])
    models: list[str] = field(default_factory=lambda: ["default"])


def load_config(path: Path | None) -> RunConfig:
    if path is None:
        return RunConfig()
    raw = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    config = RunConfig(name=raw.get("name") or Path(path).stem)
    config.settings = dict(raw.get("settings", {}))
    if "datasets" in raw:
        config.datasets = list(raw["datasets"])
    if "models" in raw:
        config.models = list(raw["models"])
    return config


# An eval measures what the answer stages decide, not how a busy machine degrades them: with
# a budget, a run beside other work would score the model-free preview (Reason.busy_short)
# instead of the model's answers. A config may still set it to study the degraded path.
EVAL_DEFAULTS: dict[str, Any] = {"answer_budget_s": 0.0}


def make_settings(base: Settings, overrides: dict[str, Any]) -> Settings:
    overrides = {**EVAL_DEFAULTS, **overrides}
    unknown = set(overrides) - set(SECTION_OF)  # configs use the flat (env) names
    if unknown:
        raise ValueError(f"unknown settings in config: {sorted(unknown)}")
    return base.updated(overrides)


def _code_digest() -> str:
    digest = hashlib.sha256()
    for folder in ("assistant", "ingest"):
        # rglob: the stage subpackages are code that changes answers too
        for path in sorted((REPO / folder).rglob("*.py")):
            digest.update(path.relative_to(REPO).as_posix().encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def config_hash(settings: Settings, model_path: Path, verify: bool) -> tuple[str, dict]:
    from assistant.generation.prompt import INSTRUCTIONS

    size = model_path.stat().st_size if model_path.is_file() else None
    payload = {
        "settings": settings.answer_settings(),
        "model": model_path.name,
        "model_size": size,
        "verify": verify,
        "prompt": hashlib.sha256(INSTRUCTIONS.encode()).hexdigest()[:12],
        "code": _code_digest(),
    }
    blob = json.dumps(payload, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:12], payload


# --------------------------------------------------------------------------------------------
# the pieces of one run


def ensure_corpus(corpus: str, settings: Settings, *, collection: str | None, rebuild: bool) -> str:
    """Build (incrementally) the collection a corpus needs; return its name."""
    from assistant.index.store import count_points

    spec = CORPORA[corpus]
    name = collection or spec.collection
    if corpus == "spf532" and not rebuild and count_points(settings, name) > 0:
        return name  # 3,000 chunks: built once (evals.spf.build_index), not re-checked
    spec.build(settings, name)
    return name


def load_model(settings: Settings, path: Path):
    from assistant.generation.loader import load_generator

    return load_generator(settings, path)  # one instance per model file, shared in the process


def _chunk_row(c: Chunk) -> dict:
    return {
        "doc_id": c.doc_id,
        "path": c.path,
        "page": c.page,
        "score": c.score,
        "dense": c.dense_score,
        "sparse": c.sparse_score,
    }


def posthoc_decisions(assistant, answer: Answer) -> list[dict]:
    """In a --no-verify run: what the verifier would have decided on each delivered sentence."""
    by_id = {s.id: s for s in answer.sources}
    if not answer.sentences or not by_id:
        return [{"passed": False, "support_score": None} for _ in answer.sentences]
    checked = assistant.verifier.verify_all(
        answer.sentences, by_id, asked=(answer.question, assistant.term_stats())
    )
    return [
        {
            "passed": s.passed,
            "support_score": s.support_score,
            "failed": [c.name for c in s.checks if not c.passed],
        }
        for s in checked
    ]


def answer_item(assistant, item: EvalItem, verify: bool) -> dict:
    from assistant.pipeline import QuestionRejected

    clock = Stopwatch()
    answer: Answer | None = None
    rejected_input = None
    error = None
    try:
        answer = assistant.ask(item.question)
    except QuestionRejected as exc:
        rejected_input = str(exc)
    except Exception as exc:  # one broken question must not end a two-hour run
        error = f"{type(exc).__name__}: {exc}"
    retrieved = [_chunk_row(c) for c in (answer.retrieved if answer is not None else [])]
    posthoc = posthoc_decisions(assistant, answer) if (answer is not None and not verify) else None
    return {
        "answer": answer.model_dump(mode="json") if answer is not None else None,
        "rejected_input": rejected_input,
        "error": error,
        "retrieved": retrieved,
        "posthoc": posthoc,
        "seconds": clock.seconds,
    }


@dataclass
class RunResult:
    folder: Path
    records: list[dict]
    hashes: dict[str, str]  # model label -> config hash
    seconds: float


def report_folder(
    out: Path,
    config: RunConfig,
    verify: bool,
    models: list[str] | None = None,
    date: str | None = None,
) -> Path:
    """``<out>/<date>-<config>[-<models>][-noverify]``: the models part only when they differ
    from the config's, so that two model sets never share a folder (nor its run.json)."""
    date = date or dt.date.today().isoformat()
    suffix = config.name
    if models and models != config.models:
        names = [Path(m).stem if ("/" in m or m.endswith(".gguf")) else m for m in models]
        suffix += "-" + "+".join(names)
    return out / f"{date}-{suffix}{'' if verify else '-noverify'}"


def iter_items(datasets: list[str], limit: int | None) -> Iterator[tuple[str, EvalItem]]:
    for spec in datasets:
        name, items = load_dataset(spec)
        for item in items[:limit] if limit else items:
            yield name, item


def run(
    datasets: list[str] | None = None,
    *,
    config: RunConfig | None = None,
    models: list[str] | None = None,
    limit: int | None = None,
    verify: bool = True,
    out: Path = REPORTS,
    folder: Path | None = None,
    settings: Settings | None = None,
    collections: dict[str, str] | None = None,
    rebuild: bool = False,
    progress: bool = True,
    write_report: bool = True,
) -> RunResult:
    from assistant.index.embedding import load_embedder
    from assistant.pipeline import Assistant
    from evals.models import resolve_model

    config = config or RunConfig()
    settings = make_settings(settings or get_settings(), config.settings)
    if "llm_timeout_s" not in config.settings:
        # An eval measures answers, not how busy the machine is: a generation cut by the
        # serving timeout on a loaded CI box would count as a refusal.
        settings = settings.updated(
            {"llm_timeout_s": max(settings.generation.llm_timeout_s, EVAL_TIMEOUT_S)}
        )
    settings = settings.updated({"answer_cache_size": 0})  # every question answered for real
    datasets = datasets or config.datasets
    model_specs = models or config.models
    folder = folder or report_folder(out, config, verify, model_specs)
    folder.mkdir(parents=True, exist_ok=True)
    results_path = folder / "results.jsonl"
    existing = read_results(results_path)
    done = {(r["id"], r["config_hash"]) for r in existing if not r.get("error")}
    items = list(iter_items(datasets, limit))
    wanted = {i.id for _, i in items}
    clock = Stopwatch()
    embedder = load_embedder(settings.index.embedder)
    collections = dict(collections or {})
    hashes: dict[str, str] = {}
    records: list[dict] = []
    meta: dict[str, Any] = {
        "config": asdict(config),
        "datasets": datasets,
        "verify": verify,
        "limit": limit,
        "hashes": {},
    }

    meta_path = folder / "run.json"
    for spec in model_specs:
        model_path = resolve_model(spec, settings)
        chash, payload = config_hash(settings, model_path, verify)
        label = model_path.stem
        hashes[label] = chash
        meta["hashes"][chash] = {"model": label, "spec": spec, **payload}
        todo = [(d, i) for d, i in items if (i.id, chash) not in done]
        records += [r for r in existing if r["config_hash"] == chash and r["id"] in wanted]
        if not todo:
            continue
        meta_path.write_text(json.dumps(meta, indent=1, default=str), encoding="utf-8")
        generator = load_model(settings, model_path)
        assistants: dict[str, Any] = {}
        bar = tqdm(todo, desc=f"eval {label}", unit="q", disable=not progress)
        invented = refused = 0
        with results_path.open("a", encoding="utf-8") as fh:
            for dataset, item in bar:
                if item.corpus not in assistants:
                    collection = ensure_corpus(
                        item.corpus, settings, collection=collections.get(item.corpus),
                        rebuild=rebuild,
                    )  # fmt: skip
                    collections[item.corpus] = collection
                    assistants[item.corpus] = Assistant(
                        settings,
                        collection=collection,
                        generator=generator,
                        embedder=embedder,
                        verify=verify,
                    )
                assistant = assistants[item.corpus]
                record = {
                    "id": item.id,
                    "dataset": dataset,
                    "corpus": item.corpus,
                    "category": item.category,
                    "model": label,
                    "config": config.name,
                    "config_hash": chash,
                    "verify": verify,
                    "item": item.model_dump(),
                    "at": dt.datetime.now().isoformat(timespec="seconds"),
                    **answer_item(assistant, item, verify),
                }
                record["scores"] = rescore(record)
                fh.write(json.dumps(record, ensure_ascii=False) + "\n")
                fh.flush()
                records.append(record)
                scores = record["scores"]
                invented += scores.get("invented_sentences", 0)
                refused += bool(scores.get("refused"))
                bar.set_postfix(invented=invented, refused=refused, last=scores.get("verdict"))
        bar.close()
        del assistants, generator

    meta_path.write_text(json.dumps(meta, indent=1, default=str), encoding="utf-8")
    result = RunResult(folder, records, hashes, clock.seconds)
    if write_report:
        write_reports(folder, [r for r in records if r["config_hash"] in hashes.values()])
    return result
