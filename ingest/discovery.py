"""Which files an ingest meets, and which of them it reads.

Every file met is accounted for: read, or skipped with the reason shown in the ingest report
(format not supported, hidden, ignored by a pattern). Ignore patterns use gitignore syntax
(pathspec): the Jekyll template folders below by default, then the lines of a
``.guichetignore`` file at the root of the ingested folder, which may add patterns or
re-include a default one (``!_data/``). An ignored or hidden folder is one entry of the report,
not one per file inside it.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pathspec

from assistant.core import messages as msg
from ingest.loaders import supported

IGNORE_FILE = ".guichetignore"
# A Jekyll site's templates, generated output and tooling: not the city's content.
DEFAULT_IGNORE = (
    "_includes/",
    "_layouts/",
    "_site/",
    "_sass/",
    "_plugins/",
    "_drafts/",
    ".jekyll-cache/",
    "node_modules/",
    "vendor/",
)


@dataclass(frozen=True)
class Found:
    path: Path  # a file, or a skipped folder
    root: Path
    skipped: str | None = None  # the reason, when it is not read

    @property
    def doc_id(self) -> str:
        if self.path == self.root:
            return self.path.name
        rel = self.path.relative_to(self.root).as_posix()
        return rel + "/" if self.path.is_dir() else rel


class Ignore:
    """The ignore patterns of one ingested folder."""

    def __init__(self, root: Path) -> None:
        self.lines = list(DEFAULT_IGNORE)
        self.defaults = len(self.lines)
        own = root / IGNORE_FILE
        if own.is_file():
            self.lines += own.read_text(encoding="utf-8", errors="replace").splitlines()
        self.spec = pathspec.GitIgnoreSpec.from_lines(self.lines)

    def reason(self, rel: str) -> str | None:
        """Why ``rel`` (a posix path under the root, ending in / for a folder) is ignored."""
        result = self.spec.check_file(rel)
        if not result.include or result.index is None:
            return None
        pattern = self.lines[result.index].strip()
        if result.index < self.defaults:
            return msg.INGEST_SKIPPED["default_pattern"].format(pattern=pattern)
        return msg.INGEST_SKIPPED["ignore_file"].format(pattern=pattern, file=IGNORE_FILE)


def _walk(root: Path) -> Iterator[Found]:
    ignore = Ignore(root)
    for folder, dirs, files in os.walk(root):
        here = Path(folder)
        dirs.sort()
        kept = []
        for name in dirs:
            rel = (here / name).relative_to(root).as_posix() + "/"
            why = msg.INGEST_SKIPPED["hidden"] if name.startswith(".") else ignore.reason(rel)
            if why:
                yield Found(here / name, root, why)
            else:
                kept.append(name)
        dirs[:] = kept
        for name in sorted(files):
            file = here / name
            rel = file.relative_to(root).as_posix()
            if name == IGNORE_FILE and here == root:
                continue
            if name.startswith("."):
                yield Found(file, root, msg.INGEST_SKIPPED["hidden"])
            elif why := ignore.reason(rel):
                yield Found(file, root, why)
            elif not supported(file):
                yield Found(file, root, unsupported_reason(file))
            else:
                yield Found(file, root)


def unsupported_reason(file: Path) -> str:
    return msg.INGEST_SKIPPED["format"].format(suffix=file.suffix.lower() or "sans extension")


def walk(paths: Iterable[Path]) -> Iterator[Found]:
    """Every file and skipped folder under ``paths``, sorted so ids and batches are
    reproducible."""
    for path in paths:
        path = Path(path)
        if path.is_file():
            root = path.parent
            yield Found(path, root, None if supported(path) else unsupported_reason(path))
        elif path.is_dir():
            yield from _walk(path)
        else:
            raise FileNotFoundError(f"chemin introuvable : {path}")


def discover(paths: Iterable[Path]) -> Iterator[tuple[Path, Path]]:
    """(file, root) of the files an ingest of ``paths`` reads."""
    for found in walk(paths):
        if found.skipped is None:
            yield found.path, found.root
