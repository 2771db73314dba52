"""Staff-validated answers: what the reception desk writes for a question the documents did
not answer (from the desk's content-gap list).

Each one is a Markdown page with front matter in the library
(``bibliotheque/reponses-validees/<slug>.md``), ingested like any other document, so it is
retrieved, checked, quoted and cited like any other. Its title carries the label the citizen
sees on the citation ("Réponse validée par l'accueil, 12/03/2026 : <question>"), which also
puts the question's words in the title, where the subject check looks for them. The author
stays in the file, never in the index.

Expired answers are not served: the library's ``.guichetignore`` (written here, read by the
ingest's discovery) lists them, so no ingest reads them again, and the job worker's sweep
removes them from the index as soon as their day has passed.
"""

from __future__ import annotations

import os
import re
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import frontmatter
import yaml

from assistant.core import messages as msg
from assistant.core.settings import Settings
from ui.library import ANSWERS, library_dir

DOC = msg.DOCUMENTS
KIND = "réponse validée"
IGNORE_FILE = ".guichetignore"
QUESTION_MAX = 300
TEXT_MAX = 4000
LINK_MAX = 500
LINK = re.compile(r"https?://[^\s/\"'<>]+[^\s\"'<>]*")  # a web address, nothing to escape


class InvalidAnswer(ValueError):
    """A field of the form is missing or malformed; the message (French) says which."""


def parse_day(value: object) -> date | None:
    """A date typed by staff: 12/03/2026, 12-03-2026 or 2026-03-12; empty → None."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value or "").strip()
    if not text:
        return None
    for pattern in ("%d/%m/%Y", "%d-%m-%Y", "%Y-%m-%d", "%d.%m.%Y"):
        try:
            return datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    raise InvalidAnswer(DOC["answer_bad_date"].format(value=text[:40]))


def slugify(text: str, limit: int = 60) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    words = re.findall(r"[a-z0-9]+", ascii_text.lower())
    return "-".join(words)[:limit].strip("-") or "reponse"


@dataclass
class ValidatedAnswer:
    slug: str
    question: str
    text: str
    author: str
    day: date
    expires: date | None = None
    link: str | None = None

    @property
    def doc_id(self) -> str:
        return f"{ANSWERS}/{self.slug}.md"

    @property
    def title(self) -> str:
        label = DOC["answer_label"].format(date=self.day.strftime("%d/%m/%Y"))
        return f"{label} : {self.question}"

    def expired(self, today: date | None = None) -> bool:
        return self.expires is not None and self.expires < (today or date.today())

    def markdown(self) -> str:
        front: dict[str, object] = {
            "title": self.title,
            "kind": KIND,
            "question": self.question,
            "author": self.author,
            "date": self.day.isoformat(),
        }
        if self.expires is not None:
            front["expires"] = self.expires.isoformat()
        if self.link:
            front["url"] = self.link
        head = yaml.safe_dump(front, allow_unicode=True, sort_keys=False)
        # The question as the heading: quote mode shows the answer's sentences under it.
        return f"---\n{head}---\n\n# {self.question}\n\n{self.text.strip()}\n"


def answers_dir(settings: Settings) -> Path:
    return library_dir(settings) / ANSWERS


def make_answer(
    *,
    question: str,
    text: str,
    author: str,
    day: object = None,
    expires: object = None,
    link: str | None = None,
    slug: str | None = None,
) -> ValidatedAnswer:
    """Check the form's fields (French errors) and build the answer; a new one gets a slug
    from its question plus a random suffix (two answers to one question stay two files)."""
    question = " ".join((question or "").split())
    text = (text or "").strip()
    author = " ".join((author or "").split())[:80]
    link = (link or "").strip() or None
    if not question:
        raise InvalidAnswer(DOC["answer_no_question"])
    if not text:
        raise InvalidAnswer(DOC["answer_no_text"])
    if len(question) > QUESTION_MAX or len(text) > TEXT_MAX:
        raise InvalidAnswer(DOC["answer_too_long"].format(question=QUESTION_MAX, text=TEXT_MAX))
    if not author:
        raise InvalidAnswer(DOC["answer_no_author"])
    if link is not None and (len(link) > LINK_MAX or not LINK.fullmatch(link)):
        raise InvalidAnswer(DOC["answer_bad_link"])
    when = parse_day(day) or date.today()
    until = parse_day(expires)
    if until is not None and until < when:
        raise InvalidAnswer(DOC["answer_expiry_before"])
    if slug is not None and not re.fullmatch(r"[a-z0-9-]{1,80}", slug):
        raise InvalidAnswer(DOC["answer_unknown"])
    slug = slug or f"{slugify(question)}-{secrets.token_hex(3)}"
    return ValidatedAnswer(slug, question, text, author, when, until, link)


def save_answer(settings: Settings, answer: ValidatedAnswer) -> Path:
    folder = answers_dir(settings)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{answer.slug}.md"
    tmp = folder / f".{answer.slug}.md.part"
    tmp.write_text(answer.markdown(), encoding="utf-8")
    os.replace(tmp, path)
    write_ignore(settings)
    return path


def read_answer(path: Path) -> ValidatedAnswer:
    post = frontmatter.loads(path.read_text(encoding="utf-8"))
    front = dict(post.metadata)
    body = post.content.strip()
    question = str(front.get("question") or "")
    heading = f"# {question}"
    if body.startswith(heading):
        body = body[len(heading) :].strip()
    return ValidatedAnswer(
        slug=path.stem,
        question=question,
        text=body,
        author=str(front.get("author") or ""),
        day=parse_day(front.get("date")) or date.fromtimestamp(path.stat().st_mtime),
        expires=parse_day(front.get("expires")),
        link=str(front["url"]) if front.get("url") else None,
    )


def all_answers(settings: Settings) -> list[ValidatedAnswer]:
    """Every validated answer on disk, expired ones included (staff may extend them)."""
    folder = answers_dir(settings)
    found = []
    for path in sorted(folder.glob("*.md")) if folder.is_dir() else []:
        try:
            found.append(read_answer(path))
        except (OSError, ValueError, yaml.YAMLError, InvalidAnswer):
            continue  # a hand-edited file gone wrong: the ingest report will say why
    return found


def find_answer(settings: Settings, slug: str) -> ValidatedAnswer:
    if not re.fullmatch(r"[a-z0-9-]{1,80}", slug or ""):
        raise InvalidAnswer(DOC["answer_unknown"])
    path = answers_dir(settings) / f"{slug}.md"
    if not path.is_file():
        raise InvalidAnswer(DOC["answer_unknown"])
    return read_answer(path)


def write_ignore(settings: Settings, today: date | None = None) -> list[str]:
    """Rewrite the library's ignore file from the expired answers; returns their doc ids."""
    expired = [a.doc_id for a in all_answers(settings) if a.expired(today)]
    lines = [DOC["ignore_header"], *(f"/{doc_id}" for doc_id in expired)]
    text = "\n".join(lines) + "\n"
    path = library_dir(settings) / IGNORE_FILE
    if path.is_file() and path.read_text(encoding="utf-8") == text:
        return expired  # the sweep runs every minute: no write when nothing changed
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(IGNORE_FILE + ".part")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
    return expired
