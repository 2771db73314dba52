"""Quote mode's checks and decision: which of the units the model chose may be shown.

Each chosen unit is the document's own text, so what is left to prove is that it belongs in
this answer: it must be about the question's subject (:mod:`assistant.grounding.subject`),
it must come from one document unless a second one covers a part of the question the first
does not ("the pool's hours and the shuttle's line"), and together the units must hold the
kind of fact the question asks for (a price, hours…). A unit that fails is recorded with its
reason, never shown. Pure functions over plain data: testable without a model.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from assistant.core.answer import Check, Sentence, Source, SourceUnit
from assistant.core.text import content_stems
from assistant.grounding.brackets import outside_bracket
from assistant.grounding.instructions import instruction_match
from assistant.grounding.kinds import answers, asks_for_list
from assistant.grounding.subject import SubjectJudge, added_coverage
from assistant.grounding.units import Unit, is_statement, run_around
from assistant.retrieval.relevance import TermStats

# A second document is kept only when it covers this much of the question that the first
# one's units leave uncovered (IDF-weighted): the question then has two parts.
MIN_ADDED_COVERAGE = 0.25


@dataclass
class QuoteDecision:
    delivered: list[Sentence] = field(default_factory=list)
    rejected: list[Sentence] = field(default_factory=list)
    # the delivered units hold every kind of fact asked and name the asked days (or none asked)
    holds_kind: bool = True


def subject_text(source: Source, unit: SourceUnit | None = None, text: str = "") -> str:
    """What a sentence is about: its document's title and section, its heading, its words."""
    parts = [source.title, source.section]
    if unit is not None:
        parts += [unit.context, unit.text]
    return " ".join([*parts, text])


def _sentence(source: Source, unit: SourceUnit, checks: list[Check]) -> Sentence:
    return Sentence(
        text=unit.text,
        source_ids=[source.id],
        unit_id=unit.id,
        context=unit.context,
        supporting_excerpt=unit.text,
        checks=checks,
    )


def decide_quotes(
    question: str, chosen_ids: list[str], sources: list[Source], judge: SubjectJudge
) -> QuoteDecision:
    """Check the units the model chose (in its order) and keep those that may be shown."""
    units = {u.id: (s, u) for s in sources for u in s.units}
    q = set(judge.stems)
    stats = judge.stats
    decision = QuoteDecision()
    passed: list[tuple[Source, SourceUnit, Sentence]] = []
    for uid in chosen_ids:
        if uid not in units:  # the grammar forbids it; a remote backend might not obey
            decision.rejected.append(
                Sentence(
                    text=uid,
                    source_ids=[],
                    checks=[Check(name="citations", passed=False, detail=f"unknown unit {uid}")],
                )
            )
            continue
        source, unit = units[uid]
        # The passage's relative coverage was measured on the whole chunk when the unit was
        # offered; measured again here on what is shown when it was not recorded.
        relative = unit.subject
        if relative is None:
            relative = judge.relative(f"{source.title} {source.section}", source.excerpt)
        subject = judge.decide(relative, judge.unit(subject_text(source, unit)))
        planted = instruction_match(unit.text)
        checks = [
            Check(name="citations", passed=True),
            Check(name="verbatim", passed=True, detail="texte exact du document"),
            Check(
                name="not_instruction",
                passed=planted is None,
                detail=f"reads as an instruction to a model: {planted!r}" if planted else "",
            ),
            Check(
                name="complete",
                passed=is_statement(Unit(unit.text)),
                detail="" if is_statement(Unit(unit.text)) else "a heading or a cut-off phrase",
            ),
            subject,
        ]
        if not unit.offered:  # the grammar forbids it; a remote backend might not obey
            checks.append(
                Check(name="offered", passed=False, detail="not among the units that could answer")
            )
        if outside_bracket(question, unit.text):
            checks.append(
                Check(name="bracket", passed=False, detail="a row for another bracket than asked")
            )
        sentence = _sentence(source, unit, checks)
        if sentence.passed:
            passed.append((source, unit, sentence))
        else:
            decision.rejected.append(sentence)

    kept = _one_document_unless_needed(q, passed, stats, decision)
    # Second parts complete an answer about the question's subject; alone they answer
    # something else (the mairie annexe's hours, for a pool question asked from its quarter).
    if kept and not any(judge.anchored(f"{s.title} {s.section} {s.excerpt}") for s, _, _ in kept):
        for _, _, sentence in kept:
            note = Check(
                name="subject", passed=False, detail="no shown passage names the question's subject"
            )
            decision.rejected.append(
                sentence.model_copy(update={"checks": [*sentence.checks, note]})
            )
        kept = []
    if kept and asks_for_list(question):
        kept += _rest_of_lists(kept, {s.text for s in decision.rejected})
    # Reading order: documents as ranked, a document's sources together, units in order.
    doc_rank: dict[str, int] = {}
    for s in sources:
        doc_rank.setdefault(s.doc_id, len(doc_rank))
    kept.sort(key=lambda su: (doc_rank[su[0].doc_id], su[0].id, su[0].units.index(su[1])))
    decision.delivered = [sentence for _, _, sentence in kept]
    shown = [f"{d.context} {d.text}" for d in decision.delivered]
    # "ouverte le dimanche ?" answered with the holiday closure is true and no answer.
    if shown:
        decision.holds_kind = answers(question, shown)
    return decision


def _rest_of_lists(
    kept: list[tuple[Source, SourceUnit, Sentence]], refused: set[str]
) -> list[tuple[Source, SourceUnit, Sentence]]:
    """The other items of each list a kept item belongs to (same source, same heading, next to
    each other): asked "quels papiers ?", the model picking three of seven documents would
    send the citizen to the desk without the other four. Items are the document's own text
    under the heading the chosen one passed the subject check with."""
    have = {u.id for _, u, _ in kept}
    added: list[tuple[Source, SourceUnit, Sentence]] = []
    for source, unit, _ in list(kept):
        if not unit.item:
            continue
        # A source unit's context already holds its heading and lead-in.
        run = run_around(
            source.units, source.units.index(unit), lambda u: u.context if u.item else None
        )
        for i in run:
            other = source.units[i]
            if other.id in have or other.text in refused or instruction_match(other.text):
                continue
            if not is_statement(Unit(other.text)):
                continue
            have.add(other.id)
            checks = [
                Check(name="citations", passed=True),
                Check(name="verbatim", passed=True, detail="texte exact du document"),
                Check(name="subject", passed=True, detail=f"same list as {unit.id}"),
            ]
            added.append((source, other, _sentence(source, other, checks)))
    return added


def _one_document_unless_needed(
    q: set[str],
    passed: list[tuple[Source, SourceUnit, Sentence]],
    stats: TermStats,
    decision: QuoteDecision,
) -> list[tuple[Source, SourceUnit, Sentence]]:
    """Units of the first document chosen; another document's only when it adds a part of
    the question the first does not cover (a two-part question), else recorded as dropped."""
    if not passed:
        return []
    # The first document is the one whose chosen units cover the question best, the model's
    # order breaking ties: asked how long the wait for an ID-card appointment is, the town
    # hall's general booking page the model named first is not the ID card's page.
    texts: dict[str, list[str]] = {}
    for source, unit, _ in passed:
        texts.setdefault(source.doc_id, []).append(subject_text(source, unit))
    first_doc = max(texts, key=lambda d: added_coverage(q, set(), " ".join(texts[d]), stats))
    covered: set[str] = set()
    for source, unit, _ in passed:
        if source.doc_id == first_doc:
            covered |= q & set(content_stems(subject_text(source, unit)))
    kept, extra_docs = [], set()
    for source, unit, sentence in passed:
        if source.doc_id == first_doc or source.doc_id in extra_docs:
            kept.append((source, unit, sentence))
            continue
        gain = added_coverage(q, covered, subject_text(source, unit), stats)
        if gain >= MIN_ADDED_COVERAGE:
            extra_docs.add(source.doc_id)
            kept.append((source, unit, sentence))
            covered |= q & set(content_stems(subject_text(source, unit)))
        else:
            decision.rejected.append(
                _sentence(
                    source,
                    unit,
                    [
                        Check(
                            name="one_document",
                            passed=False,
                            detail=f"another document than the first chosen adds {gain:.2f}",
                        )
                    ],
                )
            )
    return kept


def render_quotes(sentences: list[Sentence], sources: list[Source], lead: str) -> str:
    """The answer text of quote mode: a fixed lead, then per document its title, and under it
    each heading once with its exact sentences, each with its citation."""
    by_id = {s.id: s for s in sources}
    lines = [lead]
    doc = context = None
    for s in sentences:
        source = by_id.get(s.source_ids[0])
        title = source.title if source else ""
        if title != doc:
            lines.append(title)
            doc, context = title, None
        if s.context and s.context != context:
            lines.append(f"{s.context} :")
        context = s.context
        lines.append(f"- {s.text} [{s.source_ids[0]}]")
    return "\n".join(lines)
