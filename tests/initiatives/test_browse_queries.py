"""Each public page runs the same number of queries for 1 and for 20 shown items."""

import pytest
from django.db import connection

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


# PostgreSQL's text search decides its mode (exact, capped at the newest matches, or
# close spellings) with two small queries; the SQLite fallback needs none.
SEARCH = 2 if connection.vendor == "postgresql" else 0

LIST_PAGES = [
    ("/tiltak/", 22),
    ("/tiltak/?goal=4&purpose=across-sectors&phase=idea", 30),
    ("/tiltak/?q=tiltak", 22 + SEARCH),
    ("/tiltak/?county=03&sort=adopted", 30),
    ("/barekraftsmal/4/", 26),
    ("/aktortyper/kindergarten/", 29),
    ("/formal/across-sectors/", 29),
    ("/en/tiltak/", 22),
]


@pytest.mark.parametrize("items", [1, 20])
@pytest.mark.parametrize(("url", "queries"), LIST_PAGES)
def test_list_page_query_count(client, django_assert_num_queries, url, queries, items):
    for _ in range(items):
        full_initiative()

    with django_assert_num_queries(queries):
        response = client.get(url)

    assert len(response.context["initiatives"]) == items


def test_cached_facets_save_their_queries(client, django_assert_num_queries):
    full_initiative()
    client.get("/tiltak/")

    # The second visit reads the facet counts from the cache.
    with django_assert_num_queries(11):
        client.get("/tiltak/")


@pytest.mark.parametrize("items", [1, 20])
def test_organisation_page_query_count(client, django_assert_num_queries, items):
    lead = make_organisation()
    for _ in range(items):
        full_initiative(lead=lead)

    # Network memberships and working-group seats take one query each, however many.
    with django_assert_num_queries(27):
        response = client.get(f"/organisasjoner/{lead.slug}/")

    assert len(response.context["initiatives"]) == items


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

    with django_assert_num_queries(16):
        small_page = client.get(small.get_absolute_url())
    with django_assert_num_queries(16):
        big_page = client.get(big.get_absolute_url())

    assert len(small_page.context["initiative"].goals.all()) == 2
    assert len(big_page.context["initiative"].goals.all()) == 17
    assert len(big_page.context["initiative"].adoptions.all()) == 20


def test_publishing_counts_the_list_for_its_next_visitor(
    client, django_assert_num_queries, django_capture_on_commit_callbacks, submitter, moderator
):
    full_initiative()
    initiative = make_initiative(status=Initiative.Status.SUBMITTED, created_by=submitter)

    with django_capture_on_commit_callbacks(execute=True):
        initiative.publish(by=moderator)

    # The same queries as a list whose counts another visitor already made.
    with django_assert_num_queries(11):
        response = client.get("/tiltak/")
    assert response.context["paginator"].count == 2
