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
