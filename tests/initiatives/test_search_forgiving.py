"""Search that forgives (issue 12): compounds, synonyms moderators edit, the any-word
fallback, "Did you mean" and adoption notes, on PostgreSQL and on the SQLite fallback."""

from importlib import import_module

import pytest
from django.http import QueryDict
from django.urls import reverse

from initiatives import search
from initiatives.models import Initiative, SearchSynonym
from tests.factories import goal, make_adoption, make_initiative

pytestmark = pytest.mark.django_db

Status = Initiative.Status


@pytest.fixture(autouse=True)
def starting_synonyms():
    """The synonym list as the migration leaves it (klær ~ kles, …), whatever a flush by a
    transactional test elsewhere left."""
    for words in import_module("initiatives.migrations.0013_search_synonyms").SYNONYMS:
        SearchSynonym.objects.get_or_create(words=words)


def publish(**fields) -> Initiative:
    goals = fields.pop("goals", [])
    initiative = make_initiative(status=Status.PUBLISHED, **fields)
    initiative.goals.set([goal(n) for n in goals])
    Initiative.objects.filter(pk=initiative.pk).refresh_search_vectors()
    return initiative


def titles(client, text: str, **params) -> list[str]:
    response = client.get("/en/tiltak/", {"q": text, **params})
    return [initiative.title for initiative in response.context["initiatives"]]


@pytest.mark.parametrize(
    ("word", "known", "parts"),
    [
        ("matsvinn", {"mat", "svinnet"}, ["mat", "svinn"]),  # an inflected form is enough
        ("klesbytte", {"kles", "bytting"}, ["kles", "bytte"]),
        ("barnehage", {"barn", "hage"}, ["barn", "hage"]),  # linking e
        ("bærekraftsnettverk", {"bærekraft", "nettverk"}, ["bærekraft", "nettverk"]),  # linking s
        ("kommunene", {"kommune"}, []),  # an inflected word, not a compound
        ("kommune", {"kommune"}, []),
    ],
)
def test_compound_parts_are_words_of_the_vocabulary(word, known, parts):
    assert search.compound_parts(word, known) == parts


@pytest.mark.parametrize(
    ("a", "b", "distance"),
    [("barnhage", "barnehage", 1), ("barnehgae", "barnehage", 1), ("reduksjon", "produksjon", 2)],
)
def test_edit_distance_counts_a_swap_as_one(a, b, distance):
    assert search.edit_distance(a, b) == distance


def test_compounds_and_their_parts_find_each_other(client):
    swap = publish(title="Klesbytte i barnehagen")
    publish(title="Vi bytter klær", summary="Foreldre tar med klær barna har vokst ut av.")
    food = publish(title="Matsvinn i kantina")
    publish(title="Bytte av leker")

    assert sorted(titles(client, "klesbytte")) == ["Klesbytte i barnehagen", "Vi bytter klær"]
    assert sorted(titles(client, "klær")) == ["Klesbytte i barnehagen", "Vi bytter klær"]
    assert titles(client, "svinn") == [food.title]
    assert swap.title in titles(client, "bytte klær")


def test_a_synonym_moderators_add_in_the_admin_takes_effect_at_once(
    client, moderator, django_capture_on_commit_callbacks
):
    publish(title="Ombruk av møbler")
    assert titles(client, "brukthandel") == []  # and cached

    client.force_login(moderator)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("admin:initiatives_searchsynonym_add"), {"words": "Brukthandel, ombruk"}
        )
    client.logout()

    assert response.status_code == 302
    assert SearchSynonym.objects.filter(words="Brukthandel, ombruk").exists()
    assert titles(client, "brukthandel") == ["Ombruk av møbler"]


def test_the_starting_synonyms_join_food_waste_and_reuse(client):
    publish(title="Mindre matavfall i kantina")
    publish(title="Gjenbruk av møbler")

    assert titles(client, "matsvinn") == ["Mindre matavfall i kantina"]
    assert titles(client, "ombruk") == ["Gjenbruk av møbler"]


def test_when_no_initiative_has_every_word_those_with_most_words_come_first(client):
    publish(title="Matsvinn i kantina")
    publish(title="Matsvinn i barnehagen")
    publish(title="Lesing i barnehagen")

    response = client.get("/en/tiltak/", {"q": "reduksjon matsvinn barnehagen"})

    shown = [initiative.title for initiative in response.context["initiatives"]]
    assert response.context["any_word"] is True
    assert shown[0] == "Matsvinn i barnehagen"
    assert sorted(shown[1:]) == ["Lesing i barnehagen", "Matsvinn i kantina"]
    assert "No initiative matches every word; these match some of them" in response.text


def test_every_word_found_shows_no_any_word_notice(client):
    publish(title="Matsvinn i barnehagen")

    response = client.get("/en/tiltak/", {"q": "matsvinn barnehagen"})

    assert response.context["any_word"] is False
    assert "No initiative matches every word" not in response.text


def test_did_you_mean_links_to_the_corrected_search_with_the_filters_kept(client):
    publish(title="Mat i barnehage", goals=[12])

    response = client.get("/en/tiltak/", {"q": "barnehgae", "goal": "12"})

    assert response.context["suggestion"] == "barnehage"
    url = response.context["suggestion_url"]
    assert QueryDict(url.removeprefix("?")).dict() == {"q": "barnehage", "goal": "12"}
    assert f'href="{url.replace("&", "&amp;")}">barnehage</a>' in response.text
    assert titles(client, "barnehage", goal="12") == ["Mat i barnehage"]


def test_did_you_mean_draws_only_on_published_words(client):
    make_initiative(status=Status.DRAFT, title="Sykkelverksted for elever")
    Initiative.objects.refresh_search_vectors()

    response = client.get("/en/tiltak/", {"q": "sykkelverkstad"})

    assert response.context.get("suggestion") is None
    assert "sykkelverksted" not in response.text.lower()


def test_adoption_notes_are_searched_with_their_initiative(client):
    initiative = publish(title="Bærekraft i barnehagen")
    assert titles(client, "lekebibliotek") == []

    adoption = make_adoption(initiative=initiative, note="Vi startet et lekebibliotek.")
    found = titles(client, "lekebibliotek")
    adoption.delete()
    gone = titles(client, "lekebibliotek")

    assert found == ["Bærekraft i barnehagen"]
    assert gone == []
