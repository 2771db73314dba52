"""Verbatim facts: extraction, normalisation and the "missing from the sources" check."""

from __future__ import annotations

import pytest

from assistant.grounding.facts import Fact, extract_facts, facts_missing_from


def keys(text: str) -> list[tuple[str, str]]:
    return [(f.kind, f.key) for f in extract_facts(text)]


def one(text: str) -> tuple[str, str]:
    found = keys(text)
    assert len(found) == 1, found
    return found[0]


# --------------------------------------------------------------------------------------------
# normalisation: every spelling of a fact has the same key


@pytest.mark.parametrize(
    ("spellings", "expected"),
    [
        (
            ["01 99 00 10 00", "01.99.00.10.00", "01-99-00-10-00", "0199001000",
             "+33 1 99 00 10 00", "+33 (0)1 99 00 10 00", "0033 1 99 00 10 00"],
            ("phone", "0199001000"),
        ),
        (["0 800 123 456", "0800 123 456"], ("phone", "0800123456")),
        (["Etat-Civil@Villebelle.fr", "etat-civil@villebelle.fr"],
         ("email", "etat-civil@villebelle.fr")),
        (
            ["https://www.villebelle.fr/etat-civil/", "http://villebelle.fr/etat-civil",
             "www.villebelle.fr/etat-civil", "villebelle.fr/etat-civil/",
             "VilleBelle.fr/Etat-Civil"],
            ("url", "villebelle.fr/etat-civil"),
        ),
        (["15 €", "15 euros", "15,00 €", "15€", "EUR 15", "15 EUR", "€15", "15.00 €", "15 euro"],
         ("amount", "15.00eur")),
        (["1 500 €", "1500 €", "1\u00a0500 €", "1\u202f500 €", "1.500 €", "1 500,00 euros"],
         ("amount", "1500.00eur")),
        (["4,50 €", "4.50 €", "4,5 euros"], ("amount", "4.50eur")),
        (["1,5 million d'euros", "1 500 000 €"], ("amount", "1500000.00eur")),
        (["5 %", "5%", "5 pour cent", "5,0 %"], ("amount", "5%")),
        (["15 jours", "quinze jours", "15 j"], ("amount", "15jours")),
        (["2 mois", "deux mois"], ("amount", "2mois")),
        (["16 ans", "seize ans"], ("amount", "16ans")),
        (["15 jours ouvrés", "quinze jours ouvrés"], ("amount", "15joursouvres")),
        (["1er janvier 2025", "1 janvier 2025", "1 er janvier 2025", "01/01/2025", "1/1/2025",
          "2025-01-01", "premier janvier 2025", "01.01.2025"],
         ("date", "2025-01-01")),
        (["15 mars", "15 Mars"], ("date", "--03-15")),
        (["mars 2025"], ("date", "2025-03")),
        (["en 2024"], ("date", "2024")),
        (["8h30", "8 h 30", "08:30", "8h30min", "8 heures 30", "08h30"], ("time", "08:30")),
        (["9h", "9 h 00", "9 heures", "09:00", "9H"], ("time", "09:00")),
        (["article L. 2122-22", "art. L2122-22", "Article L 2122-22", "L. 2122-22"],
         ("reference", "article:l2122-22")),
        (["Cerfa n° 13703*07", "cerfa 13703*07", "CERFA n°13703*07", "formulaire 13703*07"],
         ("reference", "cerfa:13703*07")),
        (["décret n° 2016-1234", "Décret 2016-1234", "decret no 2016-1234"],
         ("reference", "decret:2016-1234")),
        (["loi n° 78-17", "Loi n°78-17"], ("reference", "loi:78-17")),
    ],
)  # fmt: skip
def test_spellings_share_one_key(spellings: list[str], expected: tuple[str, str]) -> None:
    for spelling in spellings:
        assert one(f"Voir : {spelling}.") == expected, spelling


def test_time_range_gives_two_facts() -> None:
    assert keys("Ouvert de 8h30-12h.") == [("time", "08:30"), ("time", "12:00")]
    assert keys("Accueil 8 h 30 – 12 h et 13h30-17h.") == [
        ("time", "08:30"),
        ("time", "12:00"),
        ("time", "13:30"),
        ("time", "17:00"),
    ]


def test_ranges_of_amounts_quantities_and_dates() -> None:
    assert keys("Entre 10 et 15 €.") == [("amount", "10.00eur"), ("amount", "15.00eur")]
    assert keys("De 3 à 6 ans.") == [("amount", "3ans"), ("amount", "6ans")]
    assert keys("Du 1er au 15 mars 2025.") == [("date", "2025-03-01"), ("date", "2025-03-15")]


def test_several_articles() -> None:
    assert keys("Articles L. 123-1 et L. 123-2 du code.") == [
        ("reference", "article:l123-1"),
        ("reference", "article:l123-2"),
    ]


@pytest.mark.parametrize(
    "text",
    [
        "Voir le point [2] et la source [3].",
        "1. Remplir le formulaire. 2. Le déposer.",
        "Mairie de Villebelle, 1 place de la Mairie, 75001 Paris.",
        "Il y a 3 étapes et 12 pièces justificatives.",
        "Le 7 est le numéro de la salle.",
        "Il reste 2500 places.",
    ],
)
def test_not_facts(text: str) -> None:
    assert extract_facts(text) == []


def test_facts_inside_urls_and_emails_are_not_extracted_twice() -> None:
    assert keys("Voir https://www.villebelle.fr/2024/tarifs-15-euros.") == [
        ("url", "villebelle.fr/2024/tarifs-15-euros")
    ]
    assert keys("Écrire à service2024@villebelle.fr") == [("email", "service2024@villebelle.fr")]


def test_fact_is_hashable_and_printable() -> None:
    fact = Fact("phone", "01 99 00 10 00", "0199001000")
    assert {fact, fact} == {fact}
    assert "01 99 00 10 00" in str(fact)


# --------------------------------------------------------------------------------------------
# facts_missing_from

SOURCE = (
    "Accueil de la mairie : 01 99 00 10 00, du lundi au vendredi de 8 h 30 à 12 h.\n"
    "Courriel : etat-civil@villebelle.fr. Site : https://www.villebelle.fr/demarches/.\n"
    "Le repas coûte 5,50 euros. Le délai est de quinze jours ouvrés.\n"
    "Les inscriptions ouvrent le 1er janvier 2025. Formulaire Cerfa n° 13703*07.\n"
    "Article L. 2122-22 du CGCT ; décret n° 2016-1234 ; loi n° 78-17. Délai d'un mois.\n"
    "Accès dès 16 ans. Remise de 10 %."
)


@pytest.mark.parametrize(
    "sentence",
    [
        "Appelez le 01 99 00 10 01.",  # invented phone
        "Le repas coûte 4,50 €.",  # wrong amount
        "Voir https://www.villebelle-demarches.fr/.",  # URL absent
        "Voir www.villebelle.fr/demarches/amendes.",  # longer path than the source's
        "Écrivez à mairie@villebelle.fr.",  # e-mail absent
        "Les inscriptions ouvrent le 2 janvier 2025.",  # date changed
        "Les inscriptions ouvrent le 1er janvier 2026.",  # year changed
        "Les inscriptions ouvrent en 2026.",
        "Ouvert à 9h.",  # hour changed
        "Ouvert de 8h30 à 12h30.",
        "Le délai est de 30 jours.",  # quantity changed
        "Accès dès 18 ans.",
        "Formulaire Cerfa n° 13704*07.",  # Cerfa number absent
        "Formulaire Cerfa n° 13703*08.",  # Cerfa version absent
        "Article L. 2122-23 du CGCT.",
        "Décret n° 2016-1235.",
        "Loi n° 78-18.",
        "Remise de 15 %.",
        "Délai de deux mois.",
    ],
)
def test_missing_facts_are_reported(sentence: str) -> None:
    missing = facts_missing_from(sentence, [SOURCE])
    assert missing, sentence


@pytest.mark.parametrize(
    "sentence",
    [
        "Appelez le 01.99.00.10.00.",
        "Appelez le +33 1 99 00 10 00.",
        "Écrivez à Etat-Civil@villebelle.fr.",
        "Voir villebelle.fr/demarches.",
        "Le repas coûte 5,50 €.",
        "Le repas coûte 5.5 euros.",
        "Le délai est de 15 jours ouvrés.",
        "Le délai est de 15 jours.",  # unqualified quantity: the source's qualified one vouches
        "Les inscriptions ouvrent le 1 janvier 2025.",
        "Les inscriptions ouvrent le 01/01/2025.",
        "Les inscriptions ouvrent le 1er janvier.",  # partial date: day and month
        "Les inscriptions ouvrent en janvier 2025.",
        "Les inscriptions ouvrent en 2025.",
        "Ouvert de 8h30 à 12h.",
        "Ouvert de 08:30 à 12:00.",
        "Formulaire cerfa 13703*07.",
        "Formulaire cerfa 13703.",  # no version: the form number must match
        "Art. L2122-22 du CGCT.",
        "Décret 2016-1234 et loi 78-17.",
        "Délai de 1 mois.",  # "un mois" in the source
        "Accès à partir de seize ans.",
        "Remise de 10 pour cent.",
        "La mairie vous accueille.",  # no fact at all
    ],
)
def test_present_facts_are_accepted(sentence: str) -> None:
    assert facts_missing_from(sentence, [SOURCE]) == [], sentence


def test_weekdays() -> None:
    src = ["Accueil du lundi au vendredi. Le service urbanisme reçoit le mardi et le jeudi."]
    assert keys("Ouvert du lundi au vendredi et le samedi.") == [
        ("date", "lundi-vendredi"),
        ("date", "samedi"),
    ]
    assert not facts_missing_from("Ouvert le mercredi.", src)  # inside the source's range
    assert not facts_missing_from("Ouvert du mardi au jeudi.", src)
    assert facts_missing_from("Ouvert le samedi.", src)
    assert facts_missing_from("Ouvert du lundi au samedi.", src)
    assert facts_missing_from("Il reçoit le lundi.", ["Il reçoit le mardi et le jeudi."])


def test_cerfa_with_version_needs_the_version() -> None:
    assert facts_missing_from("Cerfa 13703*07.", ["Formulaire cerfa 13703."])
    assert not facts_missing_from("Cerfa 13703.", ["Formulaire cerfa 13703."])


def test_full_date_from_partial_date_and_year() -> None:
    src = "Campagne 2025. Les inscriptions ouvrent le 15 mars."
    assert not facts_missing_from("Les inscriptions ouvrent le 15 mars 2025.", [src])
    assert facts_missing_from("Les inscriptions ouvrent le 15 mars 2026.", [src])


def test_qualified_quantity_is_a_fact() -> None:
    assert facts_missing_from("Délai de 15 jours ouvrés.", ["Délai de 15 jours calendaires."])


def test_any_of_several_sources() -> None:
    assert not facts_missing_from("Appelez le 01 99 00 10 20.", [SOURCE, "Tél. 01 99 00 10 20"])


def test_robust_lookup_in_raw_source_text() -> None:
    # markup glued to the number defeats extraction; the normalised text still has it
    src = "Tel:01-99-00-10-00|Mail:<etat-civil@villebelle.fr>"
    assert not facts_missing_from("Appelez le 01 99 00 10 00.", [src])
    assert not facts_missing_from("Écrivez à etat-civil@villebelle.fr.", [src])


def test_missing_fact_names_the_raw_text() -> None:
    (fact,) = facts_missing_from("Appelez le 01 99 00 10 01.", [SOURCE])
    assert fact.kind == "phone"
    assert fact.raw == "01 99 00 10 01"
    assert fact.key == "0199001001"
