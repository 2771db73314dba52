"""One place builds the heavy components; the assistant and the server's jobs share them."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.components import Components
from assistant.core.settings import Settings
from assistant.generation import loader
from assistant.pipeline import Assistant
from tests.fakes import HashEmbedder, MemoryRetriever, ScriptedGenerator
from ui.state import AppState


def test_each_part_is_built_once_per_components_not_per_process(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    built: list[Settings] = []

    def build(settings: Settings, model_path: Path | None = None) -> ScriptedGenerator:
        built.append(settings)
        return ScriptedGenerator("AUCUNE_SOURCE")

    monkeypatch.setattr(loader, "load_generator", build)
    settings = Settings(data_dir=tmp_path)
    parts = Components(settings)
    assert parts.generator is parts.generator
    assert len(built) == 1
    # no module-level cache behind it: another Components (another process) builds its own
    assert Components(settings).generator is not parts.generator
    assert len(built) == 2


def test_the_assistant_takes_its_models_from_the_components(tmp_path: Path) -> None:
    embedder, generator = HashEmbedder(), ScriptedGenerator("AUCUNE_SOURCE")
    parts = Components(Settings(data_dir=tmp_path), embedder=embedder, generator=generator)
    assistant = Assistant(parts.settings, components=parts, retriever=MemoryRetriever([]))
    assert assistant.embedder is embedder
    assert assistant.generator is generator


def test_the_server_shares_one_embedder_between_answers_and_ingest_jobs(tmp_path: Path) -> None:
    embedder = HashEmbedder()
    settings = Settings(data_dir=tmp_path)
    parts = Components(settings, embedder=embedder, generator=ScriptedGenerator("AUCUNE_SOURCE"))
    state = AppState(settings, components=parts)
    assert state.jobs.embedder() is embedder
    state._assistant = Assistant(settings, components=parts, retriever=MemoryRetriever([]))
    assert state.assistant.embedder is embedder


def test_no_module_keeps_a_model_for_the_process() -> None:
    import ast
    import inspect

    from assistant.index import embedding as embedding_module

    for module in (embedding_module, loader):
        tree = ast.parse(inspect.getsource(module))
        cached = [
            node.name
            for node in ast.walk(tree)
            if isinstance(node, ast.FunctionDef)
            and any("cache" in ast.unparse(d) for d in node.decorator_list)
        ]
        assert not cached, f"{module.__name__}: {cached} cached for the whole process"
        globals_ = [
            t.id
            for node in tree.body
            if isinstance(node, ast.AnnAssign | ast.Assign)
            for t in (node.targets if isinstance(node, ast.Assign) else [node.target])
            if isinstance(t, ast.Name) and isinstance(node.value, ast.Dict)
        ]
        assert not globals_, f"{module.__name__}: module-level registries {globals_}"
