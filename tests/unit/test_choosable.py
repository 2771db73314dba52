"""Which units the model may choose from: the kind asked, the season, the day, the bracket."""

from assistant.grounding.kinds import choosable, choosable_units
from assistant.grounding.seasons import asked_seasons, outside_season, range_months


def test_month_ranges_wrap_around_the_year():
    assert range_months("du 1er octobre au 31 mars : de 8 h à 17 h 30") == {10, 11, 12, 1, 2, 3}
    assert range_months("du 1er avril au 30 septembre") == {4, 5, 6, 7, 8, 9}
    assert range_months("tous les jours de 8 h à 19 h") is None


def test_a_season_asked_excludes_the_other_seasons_rows():
    q = "horaires du cimetière en hiver ?"
    assert asked_seasons(q) == {"hiver"}
    assert outside_season(q, "du 1er avril au 30 septembre : tous les jours de 8 h à 19 h ;")
    assert not outside_season(q, "du 1er octobre au 31 mars : tous les jours de 8 h à 17 h 30.")
    assert not outside_season(q, "Le cimetière est fermé le 1er mai.")  # no range: no opinion
    assert not outside_season("horaires du cimetière ?", "du 1er avril au 30 septembre")


def test_a_day_asked_excludes_units_about_other_days():
    q = "La piscine est ouverte quand le mercredi ?"
    assert not choosable(q, "Aquagym : le mardi et le jeudi de 20 h à 20 h 45.")
    assert choosable(q, "Mercredi : de 10 h à 18 h.")
    assert choosable(q, "Du mardi au samedi : de 12 h à 19 h.")  # a range holding the day
    assert choosable(q, "de 10 h à 18 h", context="Mercredi")  # the day is the heading


def test_the_askers_own_bracket_excludes_prices_without_one():
    q = "Notre QF est de 600 : ça fait combien par jour et par enfant ?"
    units = {
        "1.1": ("de 451 à 800 € : 2,20 €", "Tarifs"),
        "1.2": ("de 801 à 1 200 € : 3,10 €", "Tarifs"),
        "1.3": ("enfant non domicilié dans la commune : 5,90 €.", "Tarifs"),
        "1.4": ("Les repas sont facturés chaque mois.", "Tarifs"),
    }
    assert choosable_units(q, units) == {"1.1"}
    # Without the asker's bracket in the table, any price may answer.
    del units["1.1"]
    assert choosable_units(q, units) == {"1.3"}


# The judged demo sheet's misleading answers (evals/judged/2026-12-02-quote-demo.csv): each unit
# below was delivered as the answer; each is true and answers another question.


def test_from_when_wants_a_starting_point_not_a_timetable():
    q = "À partir de quand on peut demander une place en crèche ?"  # demo-028
    assert not choosable(q, "Les crèches sont ouvertes du lundi au vendredi de 7 h 30 à 18 h 30.")
    assert choosable(q, "La pré-inscription est possible à partir du 6e mois de grossesse.")
    assert choosable(q, "Les dossiers sont à déposer avant le 31 mars.")
    # an age answers "from what age", not "from when"
    assert not choosable(q, "Les crèches accueillent les enfants de 10 semaines à 3 ans.")
    assert choosable("À partir de quel âge ?", "Les crèches accueillent les enfants de 3 ans.")


def test_when_is_a_day_or_a_date_not_a_time_of_day_alone():
    q = "Quand faut-il sortir le bac jaune ?"
    assert choosable(q, "Le bac jaune est collecté le jeudi ; sortez-le la veille au soir.")
    assert choosable(q, "Inscriptions du 19 janvier au 27 mars 2026.")
    assert not choosable(q, "L'accueil est ouvert de 8 h 30 à 17 h 30.")


def test_a_fine_is_not_the_price_of_the_service():
    q = "avec ma carte handicapé je dois payer l'horodateur ?"  # demo-030
    fine = "Occuper l'une de ces places sans carte est passible d'une amende de 135 €."
    assert not choosable(q, fine)
    assert choosable(q, "Les titulaires de la carte peuvent se garer gratuitement.")
    assert choosable("Je risque quelle amende si je me gare sur une place réservée ?", fine)
    assert not choosable("Je risque quelle amende ?", "Le stationnement coûte 1,50 € l'heure.")


def test_a_duration_keeps_its_aspect():
    q = "Ma demande de HLM est valable combien de temps ?"  # demo-044
    assert not choosable(q, "Le délai d'attente moyen dans la commune est d'environ 22 mois.")
    assert choosable(q, "Une demande est valable un an.")
    q = "Combien de temps faut-il attendre pour un logement social ?"
    assert choosable(q, "Le délai d'attente moyen dans la commune est d'environ 22 mois.")
    assert not choosable(q, "Une demande est valable un an, renouvelable.")


def test_a_question_on_an_aid_needs_a_unit_that_names_one():
    q = "La mairie donne une aide pour acheter un vélo électrique ?"  # demo-074, out of corpus
    assert not choosable(q, "Des arceaux de stationnement sont installés devant les équipements.")
    assert choosable(q, "La commune verse une prime de 200 € pour l'achat d'un vélo électrique.")
    q = "Combien ça coûte et est-ce qu'il existe une aide ?"  # demo-059
    assert choosable(q, "Le CCAS peut participer aux frais d'obsèques.")
