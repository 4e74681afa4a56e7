"""An organisation's page shows the networks it belongs to and its seats in working groups."""

import re

import pytest
from django.contrib.contenttypes.models import ContentType

from initiatives import engine
from initiatives.models import Initiative, Organisation
from tests.factories import (
    make_initiative,
    make_membership,
    make_network,
    make_organisation,
    make_user,
    make_working_group,
    make_working_group_member,
)

pytestmark = pytest.mark.django_db


def page_url(organisation: Organisation) -> str:
    return f"/en/organisasjoner/{organisation.slug}/"


def list_after(response, heading: str) -> list[str]:
    """The items of the list that follows the <h2> `heading`, as text."""
    match = re.search(
        rf'<h2 class="ds-heading" data-size="sm">{heading}</h2>\s*<ul class="ds-list">(.*?)</ul>',
        response.text,
        re.S,
    )
    assert match, f"no list under {heading}"
    items = re.findall(r"<li>(.*?)</li>", match.group(1), re.S)
    return [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", item)).strip() for item in items]


def test_page_shows_active_network_memberships_with_role(client, organisation):
    adda = make_network(name="Adda")
    food = make_network(name="Matsvinn", parent=adda)
    make_membership(organisation=organisation, network=adda, role="coordinator")
    make_membership(organisation=organisation, network=food)
    make_membership(
        organisation=organisation, network=make_network(name="Asked"), status="requested"
    )
    make_membership(organisation=organisation, network=make_network(name="Left"), status="ended")

    response = client.get(page_url(organisation))

    assert list_after(response, "Networks") == [
        "Adda: coordinator",
        "Matsvinn (sub-group of Adda): member",
    ]
    assert (
        f'<a class="ds-link" href="/en/nettverk/{adda.slug}/" lang="nb">Adda</a>' in response.text
    )


def test_page_shows_working_group_seats_with_role_and_year(client, organisation):
    this = make_working_group(name="Sirkulær produksjon", year=2026)
    earlier = make_working_group(name="Mat", year=2025)
    make_working_group_member(
        working_group=this, organisation=organisation, name="Marte Lindqvist", role="leader"
    )
    make_working_group_member(working_group=this, organisation=organisation, name="Ola Berg")
    make_working_group_member(working_group=earlier, organisation=organisation, name="Ola Berg")
    make_working_group_member(working_group=this, organisation=make_organisation(), name="Other")

    response = client.get(page_url(organisation))

    assert list_after(response, "Working groups") == [
        "Sirkulær produksjon (2026): Marte Lindqvist, leader",
        "Sirkulær produksjon (2026): Ola Berg, member",
        "Mat (2025): Ola Berg, member",
    ]
    assert f'<a class="ds-link" href="/en/arbeidsgrupper/{this.slug}/" lang="nb">' in response.text


def test_page_shows_seat_holders_names_but_never_their_e_mail(client, organisation):
    user = make_user(email="marte.private@example.org")
    make_working_group_member(organisation=organisation, name="Marte Lindqvist", user=user)

    response = client.get(page_url(organisation))

    assert "Marte Lindqvist" in response.text
    assert "marte.private" not in response.text


def test_page_without_networks_or_groups_has_no_such_headings(client, organisation):
    response = client.get(page_url(organisation))

    assert response.status_code == 200
    assert '<h2 class="ds-heading" data-size="sm">Networks</h2>' not in response.text
    assert '<h2 class="ds-heading" data-size="sm">Working groups</h2>' not in response.text


def test_page_escapes_names_from_groups_and_networks(client, organisation):
    make_membership(organisation=organisation, network=make_network(name="<b>Net</b>"))
    make_working_group_member(
        organisation=organisation,
        name="<script>alert(1)</script>",
        working_group=make_working_group(name="<i>Group</i>"),
    )

    response = client.get(page_url(organisation))

    assert "<script>alert(1)</script>" not in response.text
    assert "<b>Net</b>" not in response.text
    assert "<i>Group</i>" not in response.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in response.text


def test_page_of_a_proposed_organisation_is_404_even_with_seats(client):
    proposed = make_organisation(status=Organisation.Status.PROPOSED)
    make_working_group_member(organisation=proposed, name="Kari")

    response = client.get(page_url(proposed))

    assert response.status_code == 404


@pytest.mark.parametrize("items", [1, 20])
def test_page_query_count_does_not_grow_with_memberships_and_seats(
    client, django_assert_num_queries, organisation, items
):
    # One initiative to list, so the browse part takes the same path on SQLite and PostgreSQL.
    shown = make_initiative(status=Initiative.Status.PUBLISHED, lead_organisation=organisation)
    Initiative.objects.filter(pk=shown.pk).refresh_search_vectors()
    parent = make_network()
    for n in range(items):
        make_membership(organisation=organisation, network=make_network(parent=parent))
        make_working_group_member(
            organisation=organisation, working_group=make_working_group(), name=f"Person {n}"
        )

    # Django caches content types per process: read it now so the count does not depend on
    # which test ran first.
    ContentType.objects.get_for_model(Initiative)

    # The page's own (browse with one initiative, counted by the facet engine), then one each
    # for memberships and seats.
    engine.engine()  # built once per process, then one query per request
    with django_assert_num_queries(12):
        response = client.get(page_url(organisation))

    assert len(list_after(response, "Networks")) == items
    assert len(list_after(response, "Working groups")) == items
