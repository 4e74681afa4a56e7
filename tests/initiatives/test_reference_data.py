import pytest
from django.core.management import call_command
from django.utils import translation

from initiatives.models import ActorType, County, FocusArea, Goal, Municipality, Purpose, Target

pytestmark = pytest.mark.django_db


def test_reference_data_has_all_goals_and_targets():
    assert Goal.objects.count() == 17
    assert Target.objects.count() == 169
    assert list(Goal.objects.values_list("number", flat=True)) == list(range(1, 18))


@pytest.mark.parametrize(
    ("code", "goal_number", "words_en", "words_nb"),
    [
        ("12.3", 12, "food waste", "matsvinn"),
        ("14.a", 14, "scientific knowledge", "vitenskapelig kunnskap"),
        ("4.7", 4, "sustainable development", "bærekraftig utvikling"),
    ],
)
def test_target_codes_and_texts_in_both_languages(code, goal_number, words_en, words_nb):
    target = Target.objects.select_related("goal").get(code=code)

    assert target.goal.number == goal_number
    assert words_en in target.text_en.lower()
    assert words_nb in target.text_nb.lower()


def test_targets_ordered_numbers_before_letters():
    codes = list(Target.objects.filter(goal__number=12).values_list("code", flat=True))

    assert codes == [f"12.{n}" for n in range(1, 9)] + ["12.a", "12.b", "12.c"]


def test_goal_shown_in_visitor_language():
    goal = Goal.objects.get(number=13)

    with translation.override("nb"):
        nb = str(goal)
    with translation.override("en"):
        en = str(goal)

    assert (nb, en) == ("13. Stoppe klimaendringene", "13. Climate action")


def test_goal_colours_are_the_official_ones():
    colours = dict(Goal.objects.values_list("number", "colour"))

    assert colours[1] == "#E5243B"
    assert colours[13] == "#3F7E44"
    assert colours[17] == "#19486A"
    assert len(set(colours.values())) == 17


def test_counties_and_municipalities():
    assert County.objects.count() == 15
    assert Municipality.objects.count() == 357
    assert Municipality.objects.get(number="0301").county.name == "Oslo"
    # A municipality's first two digits are its county's number.
    mismatched = [
        m.number
        for m in Municipality.objects.select_related("county")
        if not m.number.startswith(m.county.number)
    ]
    assert mismatched == []


def test_taxonomy_lists_in_both_languages():
    assert Purpose.objects.count() == 5
    assert set(ActorType.objects.values_list("group", flat=True)) == set(ActorType.Group.values)
    for model in (Purpose, ActorType, FocusArea):
        assert not model.objects.filter(name_nb="").exists()
        assert not model.objects.filter(name_en="").exists()
    with translation.override("en"):
        assert str(ActorType.objects.get(slug="kindergarten")) == "Kindergarten"
    with translation.override("nb"):
        assert str(ActorType.objects.get(slug="kindergarten")) == "Barnehage"


def test_load_reference_data_is_idempotent():
    before = {
        model: list(model.objects.order_by("pk").values())
        for model in (Goal, Target, County, Municipality, Purpose, ActorType, FocusArea)
    }

    call_command("load_reference_data", verbosity=0)

    after = {model: list(model.objects.order_by("pk").values()) for model in before}
    for model in before:
        strip = [{k: v for k, v in row.items() if k != "updated"} for row in before[model]]
        assert [{k: v for k, v in row.items() if k != "updated"} for row in after[model]] == strip
