"""Each public page runs the same number of queries for 1 and for 20 shown items."""

import re

import pytest
from django.db import connection

from initiatives import engine
from initiatives.models import ActorType, FocusArea, Initiative, Participation, Purpose, Target
from tests.factories import goal, make_adoption, make_initiative, make_link, make_organisation

pytestmark = pytest.mark.django_db


def full_initiative(lead=None) -> Initiative:
    """A published initiative with something in every list a page shows."""
    initiative = make_initiative(
        status=Initiative.Status.PUBLISHED, **({"lead_organisation": lead} if lead else {})
    )
    initiative.goals.set([goal(4), goal(12)])
    initiative.targets.set(Target.objects.filter(code__in=["4.7", "12.3"]))
    initiative.purposes.set(Purpose.objects.filter(slug="across-sectors"))
    initiative.actor_types.set(ActorType.objects.filter(slug__in=["kindergarten", "school"]))
    initiative.focus_areas.set(FocusArea.objects.filter(slug="food-and-food-waste"))
    initiative.tags.set(["matsvinn", "barnehage"])
    Participation.objects.create(initiative=initiative, organisation=make_organisation())
    make_link(initiative=initiative)
    make_adoption(initiative=initiative)
    Initiative.objects.filter(pk=initiative.pk).refresh_search_vectors()
    return initiative


# Every request reads the facet engine's change log once; a text search new to the cache
# costs PostgreSQL the bank's compounds of its words, the planner's estimate, the matches
# and their ranks (the synonym list is in the cache since the set-up's refresh); SQLite
# the synonym list and the matches.
SEARCH = 4 if connection.vendor == "postgresql" else 2

LIST_PAGES = [
    ("/tiltak/", 9),
    ("/tiltak/?goal=4&purpose=across-sectors&phase=idea", 11),
    ("/tiltak/?q=tiltak", 9 + SEARCH),
    ("/tiltak/?county=03&sort=adopted", 11),
    ("/tiltak/?sort=title", 10),
    ("/barekraftsmal/4/", 12),
    ("/aktortyper/kindergarten/", 11),
    ("/formal/across-sectors/", 11),
    ("/en/tiltak/", 9),
    ("/", 7),  # the home page reads this year's working groups too
]


@pytest.mark.parametrize("items", [1, 20])
@pytest.mark.parametrize(("url", "queries"), LIST_PAGES)
def test_list_page_query_count(client, django_assert_num_queries, url, queries, items):
    for _ in range(items):
        full_initiative()
    engine.engine()  # built once per process, not per request

    with django_assert_num_queries(queries):
        response = client.get(url)

    shown = response.context["initiatives"] if "initiatives" in response.context else response.context["latest"]  # fmt: skip
    assert len(shown) == min(items, 6 if url == "/" else 20)


def test_a_text_search_is_asked_of_the_database_once(client, django_assert_num_queries):
    full_initiative()
    client.get("/tiltak/?q=tiltak")

    # The same words with other facets: the matches come from the cache, and so do the
    # reference lists (goals, purposes, actor types, focus areas, counties). The change
    # log, the new choices' checks (purpose), the page's rows and goals, the targets of
    # the chosen goal and the tags.
    with django_assert_num_queries(6):
        client.get("/tiltak/?q=tiltak&goal=4&purpose=across-sectors")


@pytest.mark.parametrize("items", [1, 20])
def test_organisation_page_query_count(client, django_assert_num_queries, items):
    lead = make_organisation()
    for _ in range(items):
        full_initiative(lead=lead)
        Participation.objects.create(initiative=full_initiative(), organisation=lead)
    engine.engine()

    # Network memberships and working-group seats take one query each, however many.
    with django_assert_num_queries(14):
        response = client.get(f"/organisasjoner/{lead.slug}/")

    assert response.context["paginator"].count == 2 * items
    assert len(response.context["partner_roles"]) == items


def test_detail_page_query_count_does_not_grow(client, django_assert_num_queries):
    small = full_initiative()
    big = full_initiative()
    big.goals.set([goal(n) for n in range(1, 18)])
    big.targets.set(Target.objects.all()[:20])
    big.tags.set([f"emne{n}" for n in range(20)])
    for _ in range(19):
        Participation.objects.create(initiative=big, organisation=make_organisation())
        make_adoption(initiative=big)
        make_link(initiative=big)
    for _ in range(20):
        full_initiative()
    engine.engine()

    # With one query of the engine's change log; related initiatives are scored by the engine
    # (one query reads the candidates); one reads the progress reports (none here: their
    # figures are not asked for); one reads the questions and comments.
    with django_assert_num_queries(16):
        small_page = client.get(small.get_absolute_url())
    with django_assert_num_queries(16):
        big_page = client.get(big.get_absolute_url())

    assert len(small_page.context["initiative"].goals.all()) == 2
    assert len(big_page.context["initiative"].goals.all()) == 17
    assert len(big_page.context["initiative"].adoptions.all()) == 20


@pytest.mark.parametrize("published", [1, 20])
def test_the_list_after_a_publication_reads_just_that_change(
    client, django_assert_num_queries, submitter, moderator, published
):
    for _ in range(published):
        full_initiative()
    initiative = make_initiative(status=Initiative.Status.SUBMITTED, created_by=submitter)
    engine.engine()

    initiative.publish(by=moderator)

    # The list's own queries, plus the engine reloading one initiative: its row and one
    # query per relation (goals, targets, purposes, actor types, focus areas, tags,
    # campaigns, partners, adoptions), however many initiatives there are.
    with django_assert_num_queries(9 + 1 + 9):
        response = client.get("/tiltak/")
    assert response.context["paginator"].count == published + 1


def test_a_list_state_seen_before_reads_only_its_rows(client, django_assert_num_queries):
    for _ in range(3):
        full_initiative()
    client.get("/tiltak/?goal=4")

    # The change log, the page's rows and their goals: the filter panel comes from the cache.
    with django_assert_num_queries(3):
        response = client.get("/tiltak/?goal=4&page=1")
    assert len(response.context["initiatives"]) == 3


def test_renaming_a_purpose_shows_at_once(client):
    full_initiative()
    assert "Across all the sectors" not in client.get("/en/tiltak/").text
    purpose = Purpose.objects.get(slug="across-sectors")
    purpose.name_en = "Across all the sectors"
    purpose.save()

    response = client.get("/en/tiltak/")

    assert "Across all the sectors" in response.text


def test_the_cached_filter_panel_keeps_each_visit_s_sort(client):
    full_initiative()
    client.get("/tiltak/?goal=4&sort=title")

    response = client.get("/tiltak/?goal=4&sort=newest")

    links = re.findall(r'class="ds-link facet__option" href="([^"]+)"', response.text)
    assert links
    assert all("sort=newest" in link for link in links)
