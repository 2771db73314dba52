"""Quote mode without a model: units, the numbered prompt and its grammar, the subject check
and the decision over the units a model chose."""

from __future__ import annotations

from assistant.core.answer import Chunk
from assistant.core.text import content_stems
from assistant.generation.quote import (
    NOT_FOUND,
    build_quote_messages,
    parse_selection,
    quote_grammar,
    render_numbered,
    select_units,
)
from assistant.grounding.brackets import outside_bracket
from assistant.grounding.kinds import (
    AnswerKind,
    answer_kind,
    answer_kinds,
    answers,
    choosable,
    compared_items,
    holds_kind,
    names_period,
)
from assistant.grounding.quotes import decide_quotes, render_quotes
from assistant.grounding.subject import SubjectJudge, named_subject
from assistant.grounding.units import is_statement, split_units
from assistant.index.sparse import term_id
from assistant.retrieval.relevance import TermStats

POOL = Chunk(
    chunk_id="p1",
    doc_id="piscine-municipale.md",
    title="Piscine municipale des Cigales",
    section="Tarifs",
    text=(
        "Adulte : 4,50 €.\nTarif réduit (4 à 17 ans) : 2,80 €.\n"
        "Carte de 10 entrées adulte : 38,00 €."
    ),
)
POOL_HOURS = Chunk(
    chunk_id="p2",
    doc_id="piscine-municipale.md",
    title="Piscine municipale des Cigales",
    section="Horaires d'ouverture au public",
    text=(
        "En période scolaire\nMercredi : de 10 h à 18 h.\nDimanche : de 9 h à 13 h.\n"
        "Pendant les petites vacances scolaires\nTous les jours de 10 h à 19 h.\n"
        "La piscine est fermée les jours fériés."
    ),
)
LIBRARY = Chunk(
    chunk_id="m1",
    doc_id="mediatheque.md",
    title="Médiathèque de l'Olivette",
    section="S'inscrire",
    text=(
        "L'entrée et la consultation sur place sont libres et gratuites pour tous.\n"
        "Adulte habitant la commune : 12,00 €.\n"
        "Chaque carte permet d'emprunter jusqu'à 10 documents à la fois, dont 3 DVD :\n"
        "- livres, revues, CD et jeux : 4 semaines ;\n- DVD : 2 semaines."
    ),
)


def stats_for(chunks: list[Chunk]) -> TermStats:
    """Document frequencies computed from the chunks themselves, as Qdrant's BM25 would."""
    df: dict[int, int] = {}
    for c in chunks:
        for stem in set(content_stems(f"{c.title} {c.section} {c.text}")):
            df[term_id(stem)] = df.get(term_id(stem), 0) + 1
    return TermStats(points=len(chunks), df=df)


CORPUS = [POOL, POOL_HOURS, LIBRARY]
STATS = stats_for(CORPUS)


def judge(question: str, chunks: list[Chunk]) -> SubjectJudge:
    return SubjectJudge.for_question(
        question, [(f"{c.title} {c.section}", c.text) for c in chunks], STATS, 0.3, 0.15
    )


def test_units_keep_rows_and_items_whole_and_headings_as_context():
    units = split_units(POOL_HOURS.text)
    assert [u.text for u in units][:2] == [
        "Mercredi : de 10 h à 18 h.",
        "Dimanche : de 9 h à 13 h.",
    ]
    holiday = next(u for u in units if u.text.startswith("Tous les jours"))
    assert holiday.context == "Pendant les petites vacances scolaires"
    assert not any(u.text == "En période scolaire" for u in units)  # a heading is no unit
    items = split_units(LIBRARY.text)
    dvd = next(u for u in items if u.text.startswith("DVD"))
    assert dvd.lead.startswith("Chaque carte permet")
    # A long lead-in says something itself ("jusqu'à 10 documents") and stays choosable.
    assert any(u.text.startswith("Chaque carte permet") for u in items)
    assert is_statement(next(u for u in items if u.text.startswith("Chaque carte")))


def test_prompt_numbers_units_under_their_heading_and_the_grammar_allows_only_them():
    sources = select_units("horaires piscine dimanche", [POOL_HOURS], 400, len)
    text = render_numbered(sources)
    assert "Pendant les petites vacances scolaires\n[1." in text
    grammar = quote_grammar(sources)
    ids = [u.id for u in sources[0].units]
    for uid in ids:
        assert f'"{uid}"' in grammar
    assert f'"{NOT_FOUND}"' in grammar and '"9.9"' not in grammar
    messages = build_quote_messages("q ?", sources)
    assert messages[0]["role"] == "system" and messages[-1]["content"].endswith("NUMÉROS :")
    assert parse_selection("1.2, 1.4, 1.2") == ["1.2", "1.4"]
    assert parse_selection(NOT_FOUND) is None


def test_other_documents_rates_are_not_offered_for_a_pool_question():
    # demo-001: the médiathèque's "Adulte habitant la commune : 12,00 €" was delivered as the
    # pool's price. Its passage lacks the question's anchor ("piscine") and adds nothing.
    question = "C'est combien l'entrée adulte à la piscine ?"
    chunks = [POOL, LIBRARY]
    j = judge(question, chunks)
    assert j.anchor == next(iter(content_stems("piscine")))
    sources = select_units(question, chunks, 800, len, judge=j)
    offered = [u.text for s in sources for u in s.units]
    assert "Adulte : 4,50 €." in offered
    assert not any("12,00 €" in t for t in offered)


def test_a_chosen_unit_of_another_subject_is_rejected_and_one_document_kept():
    question = "C'est combien l'entrée adulte à la piscine ?"
    chunks = [POOL, LIBRARY]
    sources = select_units(question, chunks, 800, len)  # offered unfiltered, as a remote might
    j = judge(question, chunks)
    pool_adult = next(u.id for s in sources for u in s.units if u.text == "Adulte : 4,50 €.")
    library = next(u.id for s in sources for u in s.units if "12,00 €" in u.text)
    decision = decide_quotes(question, [library, pool_adult], sources, j)
    assert [d.text for d in decision.delivered] == ["Adulte : 4,50 €."]
    assert [r.text for r in decision.rejected] == ["Adulte habitant la commune : 12,00 €."]
    assert decision.holds_kind


def test_a_true_sentence_that_does_not_answer_is_not_an_answer():
    assert answer_kind("Combien coûte la carte ?") is AnswerKind.price
    assert answer_kind("Combien de livres peut-on emprunter ?") is AnswerKind.quantity
    assert answer_kind("On a combien de jours pour déclarer la naissance ?") is AnswerKind.duration
    assert not holds_kind(AnswerKind.price, "La piscine est fermée les jours fériés.")
    assert holds_kind(AnswerKind.quantity, "jusqu'à 10 documents à la fois")
    assert not holds_kind(AnswerKind.quantity, "livres, revues, CD et jeux : 4 semaines ;")
    # demo-009: "deux futurs époux" is a number, not a number of witnesses
    assert not answers(
        "combien de témoins faut il pour un mariage",
        ["Le dépôt a lieu sur rendez-vous, en présence des deux futurs époux."],
    )
    # demo-010: where to register is no answer to "is it free?"
    assert not answers(
        "Le pacs en mairie c'est payant ?",
        ["Le pacte civil de solidarité peut être enregistré à la mairie ou chez un notaire."],
    )
    # demo-098 (a bait): the rates are no decree
    assert not answers(
        "Quel décret fixe les tarifs des concessions au cimetière ?",
        ["Concession en pleine terre (2 m²) — Durée : 30 ans ; Tarif : 420 €."],
    )
    # a compound question needs both parts
    both = "quel délai pour le dossier de mariage et combien coûte la salle ?"
    assert {k for k, _ in answer_kinds(both)} == {AnswerKind.duration, AnswerKind.price}
    assert not answers(both, ["La célébration est gratuite."])
    assert answers(both, ["au moins 2 mois avant la date", "Salle du Moulin : 160 €"])


def test_a_comparison_is_answered_only_by_what_sets_the_things_apart():
    """spf-25, judged misleading: two true sentences on adoption that never say which one is
    the simple and which the full adoption."""
    adoption = "Adoption simple et adoption plénière : quelles différences ?"
    assert compared_items(adoption) == ["adoption simple", "adoption pleniere"]
    assert compared_items("Quelle différence entre un PACS et un mariage ?") == [
        "un pacs",
        "un mariage",
    ]
    assert compared_items("Quels sont les horaires de la piscine ?") == []
    assert not answers(
        adoption, ["L'adoption crée un lien de filiation.", "Le jugement est irrévocable."]
    )
    assert answers(
        adoption,
        [
            "L'adoption simple maintient les liens avec la famille d'origine.",
            "L'adoption plénière les rompt.",
        ],
    )
    # spf-2's gold sentence speaks of the difference itself; one measure alone does not.
    measures = "Tutelle, curatelle, sauvegarde de justice : quelles différences ?"
    assert answers(measures, ["La différence se situe dans le degré de contrainte appliqué."])
    assert not answers(measures, ["La curatelle concerne une personne qui doit être assistée."])
    # Each unit may be chosen alone: the comparison is judged on what is shown together.
    assert choosable(adoption, "L'adoption plénière rompt les liens avec la famille d'origine.")


def test_a_row_for_another_bracket_than_the_askers_figure_is_refused():
    question = "notre QF est de 600 : ça fait combien par jour ?"
    assert outside_bracket(question, "de 1 201 à 1 600 € : 3,95 €.")
    assert not outside_bracket(question, "de 451 à 800 € : 2,20 €.")
    assert not outside_bracket("rentrée 2026, combien ?", "de 1 201 à 1 600 € : 3,95 €.")
    assert not outside_bracket(question, "Adulte : 4,50 €.")


def test_a_named_day_must_be_in_what_is_shown():
    question = "La piscine est-elle ouverte le dimanche ?"
    sources = select_units(question, [POOL_HOURS], 800, len)
    j = judge(question, [POOL_HOURS])
    closed = next(u.id for u in sources[0].units if "fériés" in u.text)
    sunday = next(u.id for u in sources[0].units if u.text.startswith("Dimanche"))
    assert not decide_quotes(question, [closed], sources, j).holds_kind
    assert decide_quotes(question, [sunday], sources, j).holds_kind
    assert names_period("samedi", "du lundi au samedi : de 9 h à 12 h")
    assert not names_period("dimanche", "du lundi au samedi : de 9 h à 12 h")


def test_answer_text_shows_the_condition_the_heading_carries():
    question = "horaires piscine vacances"
    sources = select_units(question, [POOL_HOURS], 800, len)
    j = judge(question, [POOL_HOURS])
    holiday = next(u.id for u in sources[0].units if u.text.startswith("Tous les jours"))
    decision = decide_quotes(question, [holiday], sources, j)
    text = render_quotes(decision.delivered, sources, "Voici :")
    assert "Pendant les petites vacances scolaires :\n- Tous les jours de 10 h à 19 h. [1]" in text
    assert text.splitlines()[1] == "Piscine municipale des Cigales"


def test_named_subject_reads_the_head_word():
    assert named_subject("Horaires de la patinoire pendant les vacances ?") == next(
        iter(content_stems("patinoire"))
    )
    assert named_subject("Quel est le numéro de téléphone du médecin de garde ?") == next(
        iter(content_stems("médecin"))
    )
    assert named_subject("Quels papiers pour une carte d'identité ?") is None


PASSPORT = Chunk(
    chunk_id="c1",
    doc_id="carte-identite-passeport.md",
    title="Carte nationale d'identité et passeport",
    section="Tarifs",
    text="Passeport d'un majeur : 86 €.\nPasseport d'un mineur de moins de 15 ans : 17 €.",
)


def test_the_anchor_comes_from_the_first_ranked_title_not_from_a_qualifier():
    # demo-013: the pool's "Abonnement annuel adulte" covers "adulte" better than the passport
    # page ("majeur"); retrieval ranked the passport page first and its title names the subject.
    question = "Combien coûte un passeport pour un adulte ?"
    stats = stats_for([PASSPORT, POOL, LIBRARY])
    chunks = [PASSPORT, POOL]
    j = SubjectJudge.for_question(
        question, [(f"{c.title} {c.section}", c.text) for c in chunks], stats, 0.3, 0.15
    )
    assert j.anchor == next(iter(content_stems("passeport")))
    # the pool's text says "adulte": a qualifier, not a second subject named in its title
    assert j.relative(f"{POOL.title} {POOL.section}", POOL.text) == 0.0
    offered = select_units(question, chunks, 800, len, judge=j)
    assert {s.doc_id for s in offered} == {"carte-identite-passeport.md"}


def test_second_parts_alone_are_not_an_answer():
    # demo-051: units of the mairie annexe (the asker's quarter) without the pool's.
    question = "C'est combien l'entrée adulte à la piscine et la médiathèque ?"
    chunks = [POOL, LIBRARY]
    sources = select_units(question, chunks, 800, len)
    j = judge(question, chunks)
    library = [u.id for s in sources if s.doc_id == "mediatheque.md" for u in s.units]
    decision = decide_quotes(question, library[:1], sources, j)
    assert not decision.delivered and decision.rejected


def test_only_units_that_could_answer_are_numbered_for_the_model():
    from assistant.answering.by_quote import offer_choosable
    from assistant.core.answer import Source, SourceUnit
    from assistant.generation.quote import quote_grammar, render_numbered

    question = "J'ai pas de voiture, la piscine est ouverte quand le mercredi ?"
    source = Source(
        id=1,
        chunk_id="c",
        doc_id="piscine",
        title="Piscine municipale des Cigales",
        excerpt="",
        units=[
            SourceUnit(id="1.1", text="École de natation : cours le mercredi et le samedi matin."),
            SourceUnit(id="1.2", text="Mercredi : de 10 h à 18 h."),
        ],
    )
    [offered] = offer_choosable(question, [source])
    assert [u.offered for u in offered.units] == [False, True]
    prompt = render_numbered([offered])
    assert "[1.2] Mercredi" in prompt and "· École de natation" in prompt
    grammar = quote_grammar([offered])
    assert '"1.2"' in grammar and '"1.1"' not in grammar


def test_question_wordings_that_ask_for_a_price_or_hours():
    from assistant.grounding.kinds import AnswerKind, answer_kinds

    def kinds(q):
        return [k for k, _ in answer_kinds(q)]

    assert AnswerKind.price in kinds("Notre QF est de 600 : ça fait combien par jour ?")
    assert kinds("Elle est ouverte quand le mercredi ?") == [AnswerKind.hours]
    assert AnswerKind.when in kinds("Quand a lieu le prochain conseil municipal ?")


PAPERS = Chunk(
    chunk_id="c1",
    doc_id="carte-identite-passeport.md",
    title="Carte nationale d'identité et passeport",
    section="Documents à apporter",
    text=(
        "Le dépôt se fait sur rendez-vous.\n"
        "- le numéro de pré-demande, ou le formulaire papier rempli ;\n"
        "- une photo d'identité de moins de 6 mois ;\n"
        "- votre ancien titre, s'il s'agit d'un renouvellement ;\n"
        "- un justificatif de domicile de moins d'un an ;\n"
        "- le timbre fiscal, si la démarche est payante.\n"
        "Vous n'avez pas à fournir d'acte de naissance."
    ),
)


def test_a_list_question_gets_the_whole_list_not_the_items_the_model_picked():
    # The desk's own example question got three of the documents to bring: a citizen would
    # come without the proof of address.
    question = "Quels papiers pour une carte d'identité ?"
    stats = stats_for([PAPERS, POOL, LIBRARY])
    j = SubjectJudge.for_question(
        question, [(f"{PAPERS.title} {PAPERS.section}", PAPERS.text)], stats, 0.3, 0.15
    )
    # a tight budget: the window around the best item alone would not hold the list
    sources = select_units(question, [PAPERS], 200, len, judge=j)
    items = [u for u in sources[0].units if u.item]
    assert len(items) == 5  # the whole list is offered, whatever the window
    photo = next(u.id for u in items if "photo" in u.text)
    decision = decide_quotes(question, [photo], sources, j)
    shown = [d.text for d in decision.delivered]
    assert len(shown) == 5 and shown[0].startswith("le numéro de pré-demande")
    assert "Le dépôt se fait sur rendez-vous." not in shown  # prose around the list is not added
    # A question that does not ask for a list keeps the model's choice alone.
    decision = decide_quotes("Faut-il une photo ?", [photo], sources, j)
    assert [d.text for d in decision.delivered] == [
        next(u.text for u in items if "photo" in u.text)
    ]


def test_the_first_document_is_the_one_that_covers_the_question_not_the_models_first_pick():
    # demo-014: the town hall's booking page came first and stayed, with the ID card's page
    # kept as a "second part"; the booking page answers no part the other does not.
    booking = Chunk(
        chunk_id="b1",
        doc_id="contact-mairie.md",
        title="Contacter la mairie",
        section="Prendre rendez-vous",
        text="Vous pouvez réserver un créneau à l'accueil ou en ligne.",
    )
    card = Chunk(
        chunk_id="c2",
        doc_id="carte-identite-passeport.md",
        title="Carte nationale d'identité et passeport",
        section="Prendre rendez-vous",
        text="Le délai moyen pour obtenir un rendez-vous est de 3 à 5 semaines.",
    )
    question = "Pour la carte d'identité il faut attendre combien de temps pour un rendez-vous ?"
    chunks = [booking, card]
    stats = stats_for([*chunks, POOL, LIBRARY])
    j = SubjectJudge.for_question(
        question, [(f"{c.title} {c.section}", c.text) for c in chunks], stats, 0.3, 0.0
    )
    sources = select_units(question, chunks, 800, len)
    ids = [s.units[0].id for s in sources]
    decision = decide_quotes(question, ids, sources, j)
    assert [d.text for d in decision.delivered] == [card.text]
    assert any(c.name == "one_document" for r in decision.rejected for c in r.checks)
