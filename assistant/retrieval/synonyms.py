"""Words the corpus lacks: the city's list of synonyms and abbreviations.

A citizen writes "canapé", "CNI", "HLM"; the city's pages say "meubles", "carte nationale
d'identité", "logement social". Neither e5 nor French BM25 knows that a municipal "HLM" page
is the social-housing page, and the IDF-weighted checks make it worse: a word no document
contains weighs most, so "HLM" alone sinks the relevance gate's coverage. The list is a TOML
file the city edits (``GUICHET_SYNONYMS_PATH``, else ``<data_dir>/synonyms.toml``, else the
starter list beside this module)::

    [synonymes]
    "canapé" = ["meubles", "encombrants"]
    "CNI" = ["carte nationale d'identité"]

A key (one word or several, matched on stems, so "canapés" and "Canapé" match "canapé") maps
to equivalent expressions. Where it applies:

- the BM25 query gets the expressions added (the dense query keeps the citizen's words: e5
  reads them well enough, and a long list would pull it off the question);
- the relevance gate's coverage, the choice rule's and the ``on_topic`` check count a key word
  as found when it, or every word of one of its expressions, is found ("HLM" is covered by a
  passage that says "logement social").

Nothing else changes: what is shown is still only what the documents say.
"""

from __future__ import annotations

import logging
import re
import threading
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from assistant.core.text import content_stems

log = logging.getLogger("guichet.synonyms")
STARTER = Path(__file__).with_name("synonyms_fr.toml")
SECTION = "synonymes"

# Per question stem: the stem sets of its equivalent expressions.
Alternatives = Mapping[str, Sequence[frozenset[str]]]


class SynonymsError(ValueError):
    """The city's synonym file cannot be read; the message (French) says where and why."""


@dataclass(frozen=True)
class Entry:
    key: tuple[str, ...]  # the key's stems, in order
    expressions: tuple[str, ...]  # as the city wrote them
    stems: tuple[frozenset[str], ...]  # each expression's stems


@dataclass(frozen=True)
class Synonyms:
    entries: tuple[Entry, ...] = ()

    @classmethod
    def parse(cls, table: Mapping[str, object], where: str = "") -> Synonyms:
        entries = []
        for key, value in table.items():
            values = [value] if isinstance(value, str) else value
            if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
                raise SynonymsError(
                    f"{where}« {key} » : une expression ou une liste d'expressions est attendue"
                )
            stems = tuple(content_stems(key))
            if not stems:
                raise SynonymsError(f"{where}« {key} » : ce mot est ignoré de toute recherche")
            exprs = [v.strip() for v in values if v.strip() and content_stems(v)]
            if exprs:
                sets = tuple(frozenset(content_stems(v)) for v in exprs)
                entries.append(Entry(stems, tuple(exprs), sets))
        return cls(tuple(entries))

    @classmethod
    def read(cls, path: Path) -> Synonyms:
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise SynonymsError(f"liste de synonymes {path} illisible : {exc}") from exc
        table = data.get(SECTION, {})
        if not isinstance(table, dict):
            raise SynonymsError(f"{path} : la section [{SECTION}] doit être une table")
        return cls.parse(table, where=f"{path} : ")

    def matching(self, question: str) -> list[Entry]:
        """The entries whose key occurs in the question (its stems, contiguous)."""
        stems = content_stems(question)
        out = []
        for entry in self.entries:
            n = len(entry.key)
            if any(tuple(stems[i : i + n]) == entry.key for i in range(len(stems) - n + 1)):
                out.append(entry)
        return out

    def expand(self, question: str) -> str:
        """The question with the expressions of its keys added (the BM25 query)."""
        have = set(content_stems(question))
        added: list[str] = []
        for entry in self.matching(question):
            for expr, stems in zip(entry.expressions, entry.stems, strict=True):
                if stems <= have or set(entry.key) <= stems:
                    # Already there, or the key itself with a word more ("carte nationale
                    # d'identité" for "carte d'identité"): nothing BM25 would miss.
                    continue
                # Only the words the question lacks: "carte d'identité" → "carte nationale
                # d'identité" adds "nationale"; repeating "carte" and "identité" would double
                # their weight and favour any short passage that names them (lost property).
                for word in re.split(r"[\s'’]+", expr):
                    new = set(content_stems(word))
                    if new and not new <= have:
                        added.append(word)
                        have |= new
        return f"{question} {' '.join(dict.fromkeys(added))}" if added else question

    def alternatives(self, question: str) -> dict[str, list[frozenset[str]]]:
        """Per stem of a matched key: what else counts as finding it."""
        out: dict[str, list[frozenset[str]]] = {}
        for entry in self.matching(question):
            for stem in entry.key:
                out.setdefault(stem, []).extend(entry.stems)
        return out


def found(stem: str, have: set[str] | frozenset[str], alternatives: Alternatives) -> bool:
    """``stem`` is in ``have``, or every stem of one of its equivalent expressions is."""
    return stem in have or any(alt <= have for alt in alternatives.get(stem, ()))


def synonyms_path(configured: Path | None, data_dir: Path) -> Path:
    if configured is not None:
        return configured
    local = data_dir / "synonyms.toml"
    return local if local.is_file() else STARTER


class SynonymsFile:
    """The list, re-read when its file changes (a city's edit applies without a restart).

    The first read raises ``SynonymsError`` (guichet does not start on a broken list); a later
    broken edit is logged and the last good list kept, so that no citizen pays for a typo."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._stamp: tuple[int, int] | None = None
        self._value = Synonyms()
        self.get()

    @classmethod
    def for_settings(cls, configured: Path | None, data_dir: Path) -> SynonymsFile:
        return cls(synonyms_path(configured, data_dir))

    def get(self) -> Synonyms:
        try:
            stat = self.path.stat()
        except OSError as exc:
            if self._stamp is None:
                raise SynonymsError(f"liste de synonymes introuvable : {self.path}") from exc
            return self._value
        stamp = (stat.st_mtime_ns, stat.st_size)
        with self._lock:
            if stamp != self._stamp:
                try:
                    self._value = Synonyms.read(self.path)
                except SynonymsError:
                    if self._stamp is None:
                        raise
                    log.exception("synonym list not re-read, the previous one stays")
                self._stamp = stamp
            return self._value
