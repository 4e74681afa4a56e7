"""A network's figures on its page: its members' initiatives and adoptions per year, and for a
regional network the coverage of its county's municipalities; constant queries."""

import re
from datetime import datetime
from html import unescape

import pytest

from initiatives import engine
from initiatives.models import County, Initiative, Municipality, Organisation, Participation
from networks.models import OSLO, Membership, Network
from networks.statistics import network_figures
from tests.factories import (
    make_adoption,
    make_initiative,
    make_membership,
    make_network,
    make_organisation,
)
from tests.networks.test_network_pages import PAGE_QUERIES, full_network, populate

pytestmark = pytest.mark.django_db


def published_in(year: int, **overrides) -> Initiative:
    initiative = make_initiative(status=Initiative.Status.PUBLISHED, **overrides)
    # Late on New Year's Eve in Oslo: already the next year in UTC's eyes, this year in Oslo's.
    Initiative.objects.filter(pk=initiative.pk).update(
        published_at=datetime(year, 12, 31, 23, 30, tzinfo=OSLO)
    )
    return initiative


def adopted_in(year: int, **overrides):
    adoption = make_adoption(**overrides)
    type(adoption).objects.filter(pk=adoption.pk).update(
        created=datetime(year, 6, 1, 12, tzinfo=OSLO)
    )
    return adoption


def bars(chart) -> dict[str, int]:
    return {bar.label: bar.count for bar in chart.bars}


def public_member_ids(network: Network) -> list[int]:
    return list(
        Membership.objects.active()
        .filter(network=network, organisation__status=Organisation.Status.APPROVED)
        .values_list("organisation", flat=True)
    )


def figures_of(network: Network):
    return network_figures(network, public_member_ids(network), version=engine.engine().version)


def text(html: str) -> str:
    return unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip())


def chart_text(response, chart_id: str) -> str:
    match = re.search(rf'<section[^>]*id="{chart_id}"[^>]*>(.*?)</section>', response.text, re.S)
    assert match, f"no chart {chart_id}"
    return text(match.group(1))


@pytest.fixture
def network() -> Network:
    """A network with two active members, and organisations that must never count: one that
    left, one that asked and waits, one declined, and an active one not yet approved."""
    network = make_network()
    network.a = make_organisation(name="Medlem A")
    network.b = make_organisation(name="Medlem B")
    network.outsiders = []
    for organisation in (network.a, network.b):
        make_membership(network=network, organisation=organisation)
    for status in (
        Membership.Status.ENDED,
        Membership.Status.REQUESTED,
        Membership.Status.DECLINED,
    ):
        organisation = make_organisation(name=f"Ikke medlem {status}")
        make_membership(network=network, organisation=organisation, status=status)
        network.outsiders.append(organisation)
    proposed = make_organisation(name="Foreslått", status=Organisation.Status.PROPOSED)
    make_membership(network=network, organisation=proposed)
    network.outsiders.append(proposed)
    return network


# --- Initiatives per year -------------------------------------------------------------------


def test_initiatives_per_year_count_led_and_partnered_once_each_by_year(network):
    published_in(2023, lead_organisation=network.a)
    published_in(2025, lead_organisation=network.a)
    published_in(2025, lead_organisation=network.b)
    partnered = published_in(2025)
    Participation.objects.create(initiative=partnered, organisation=network.b)
    # Led by one member, with the other as partner: once, not twice.
    both = published_in(2025, lead_organisation=network.a)
    Participation.objects.create(initiative=both, organisation=network.b, role="funder")

    figures = figures_of(network)

    # Every year from the first to the last, the empty one too.
    assert bars(figures.initiatives) == {"2023": 1, "2024": 0, "2025": 4}
    assert figures.initiatives.summary == (
        "The members lead or take part in 5 published initiatives. Most were published in 2025: 4."
    )


def test_initiatives_per_year_count_only_published_initiatives_of_active_approved_members(
    network,
):
    published_in(2025, lead_organisation=network.a)
    for status in (
        Initiative.Status.DRAFT,
        Initiative.Status.SUBMITTED,
        Initiative.Status.REJECTED,
        Initiative.Status.ARCHIVED,
    ):
        make_initiative(status=status, lead_organisation=network.a)
    for outsider in network.outsiders:
        published_in(2025, lead_organisation=outsider)
        Participation.objects.create(initiative=published_in(2025), organisation=outsider)
    published_in(2025)  # nobody's in the network

    figures = figures_of(network)

    assert bars(figures.initiatives) == {"2025": 1}


def test_per_year_figures_of_a_network_without_anything(network):
    figures = figures_of(make_network())

    assert figures.initiatives.bars == []
    assert figures.adoptions.bars == []
    assert figures.initiatives.summary == "None yet."
    assert figures.coverage is None


# --- Adoptions per year ------------------------------------------------------------------


def test_adoptions_per_year_count_members_adoptions_of_published_initiatives(network):
    adopted_in(2024, organisation=network.a)
    adopted_in(2026, organisation=network.a)
    adopted_in(2026, organisation=network.b)
    # Of an initiative no longer published; by outsiders; by nobody in the network.
    hidden = make_initiative(status=Initiative.Status.ARCHIVED)
    adopted_in(2026, organisation=network.b, initiative=hidden)
    for outsider in network.outsiders:
        adopted_in(2026, organisation=outsider)
    adopted_in(2026)

    figures = figures_of(network)

    assert bars(figures.adoptions) == {"2024": 1, "2025": 0, "2026": 2}
    assert figures.adoptions.summary == (
        "The members have taken up 3 published initiatives. Most were reported in 2026: 2."
    )


# --- Coverage of a regional network's county ------------------------------------------------


def test_regional_network_shows_every_municipality_of_its_county_with_members_marked():
    trondelag = County.objects.get(number="50")
    network = make_network(scope="regional", county=trondelag)
    trondheim = Municipality.objects.get(number="5001")
    steinkjer = Municipality.objects.get(number="5006")
    levanger = Municipality.objects.get(number="5037")
    for municipality in (trondheim, trondheim, steinkjer):
        make_membership(network=network, organisation=make_organisation(municipality=municipality))
    # Gone, waiting, not approved, outside the county, or nowhere: no coverage.
    make_membership(
        network=network,
        organisation=make_organisation(municipality=levanger),
        status=Membership.Status.ENDED,
    )
    make_membership(
        network=network,
        organisation=make_organisation(municipality=levanger),
        status=Membership.Status.REQUESTED,
    )
    make_membership(
        network=network,
        organisation=make_organisation(municipality=levanger, status=Organisation.Status.PROPOSED),
    )
    make_membership(
        network=network,
        organisation=make_organisation(municipality=Municipality.objects.get(number="0301")),
    )
    make_membership(network=network, organisation=make_organisation(municipality=None))

    coverage = figures_of(network).coverage

    municipalities = list(trondelag.municipalities.order_by("name", "pk"))
    assert [tile.label for tile in coverage.tiles] == [m.name for m in municipalities]
    assert {tile.label: tile.member_count for tile in coverage.tiles if tile.done} == {
        "Trondheim": 2,
        "Steinkjer": 1,
    }
    assert [tile.detail for tile in coverage.tiles if tile.done] == ["1 member", "2 members"]
    assert coverage.covered == 2
    assert coverage.summary == (
        f"2 of {len(municipalities)} municipalities in Trøndelag have a member organisation."
    )


def test_coverage_shown_on_a_regional_networks_page(client):
    trondelag = County.objects.get(number="50")
    network = make_network(scope="regional", county=trondelag)
    make_membership(
        network=network,
        organisation=make_organisation(municipality=Municipality.objects.get(number="5001")),
    )

    response = client.get(f"/en/nettverk/{network.slug}/")

    coverage = chart_text(response, "network-coverage")
    total = trondelag.municipalities.count()
    assert coverage.startswith(
        f"Members across Trøndelag 1 of {total} municipalities in Trøndelag have a member "
        "organisation."
    )
    assert "Trondheim 1 member ✓ has a member" in coverage
    assert "Steinkjer ○ no member yet" in coverage
    assert response.text.count('class="tile-grid__tile') == total
    assert '<link rel="stylesheet" href="/static/css/tile-grid.css">' in response.text


@pytest.mark.parametrize(
    ("scope", "county"), [("national", "50"), ("local", "50"), ("regional", None), ("nordic", None)]
)
def test_other_networks_have_no_coverage_grid(client, scope, county):
    network = make_network(
        scope=scope, county=County.objects.get(number=county) if county else None
    )
    make_membership(
        network=network,
        organisation=make_organisation(municipality=Municipality.objects.get(number="5001")),
    )

    response = client.get(f"/en/nettverk/{network.slug}/")

    assert response.context["figures"].coverage is None
    assert 'id="network-coverage"' not in response.text
    assert "tile-grid__tile" not in response.text


# --- On the page -----------------------------------------------------------------------------


def test_page_shows_the_charts_with_their_tables(client, network):
    published_in(2024, lead_organisation=network.a)
    published_in(2025, lead_organisation=network.b)
    published_in(2025, lead_organisation=network.b)
    adopted_in(2025, organisation=network.a)

    response = client.get(f"/en/nettverk/{network.slug}/")

    initiatives = chart_text(response, "network-initiatives")
    assert initiatives.startswith(
        "The members' initiatives per year The members lead or take part in 3 published "
        "initiatives. Most were published in 2025: 2."
    )
    assert initiatives.endswith(
        "The figures as a table The members' initiatives per year Year Initiatives 2024 1 2025 2"
    )
    assert chart_text(response, "network-adoptions").endswith(
        "The figures as a table Adoptions by the members per year Year Adoptions 2025 1"
    )
    assert '<link rel="stylesheet" href="/static/css/statistics.css">' in response.text


def test_page_in_bokmal_has_the_charts(client, network):
    published_in(2025, lead_organisation=network.a)

    response = client.get(f"/nettverk/{network.slug}/")

    assert response.status_code == 200
    assert 'id="network-initiatives"' in response.text
    assert 'id="network-adoptions"' in response.text


# --- Queries ---------------------------------------------------------------------------------


def members_with_everything(network: Network, members: int, county=None) -> None:
    """`members` active members, each leading one initiative and partnering in another,
    adopting one, and located in a municipality of `county` (the network's by default)."""
    county = county or network.county
    municipalities = list(Municipality.objects.filter(county=county).order_by("pk")[:members])
    for n in range(members):
        organisation = make_organisation(municipality=municipalities[n % len(municipalities)])
        make_membership(network=network, organisation=organisation)
        published_in(2020 + n % 5, lead_organisation=organisation)
        Participation.objects.create(initiative=published_in(2021), organisation=organisation)
        adopted_in(2020 + n % 5, organisation=organisation)


@pytest.mark.parametrize("members", [1, 20])
def test_figures_take_two_queries_three_for_a_regional_network(django_assert_num_queries, members):
    regional = make_network(scope="regional", county=County.objects.get(number="50"))
    national = make_network(scope="national")
    for network in (regional, national):
        members_with_everything(network, members, county=regional.county)
    version = engine.engine().version
    regional_ids, national_ids = public_member_ids(regional), public_member_ids(national)

    with django_assert_num_queries(3):
        figures = network_figures(regional, regional_ids, version=version)
    with django_assert_num_queries(2):
        network_figures(national, national_ids, version=version)

    assert figures.initiatives.total == 2 * members
    assert figures.adoptions.total == members
    assert figures.coverage.covered == min(members, len(figures.coverage.tiles))


def test_charts_are_cached_until_the_catalogue_or_the_members_change(
    django_assert_num_queries, network
):
    published_in(2025, lead_organisation=network.a)
    members = public_member_ids(network)
    version = engine.engine().version
    first = network_figures(network, members, version=version)

    # The same catalogue and members: read from the cache (a national network: no coverage).
    with django_assert_num_queries(0):
        again = network_figures(network, members, version=version)
    # An adoption moves the catalogue version: counted at once.
    adopted_in(2025, organisation=network.a)
    after_adoption = figures_of(network)
    # A new member, with its initiative: counted at once.
    newcomer = make_organisation()
    published_in(2024, lead_organisation=newcomer)
    make_membership(network=network, organisation=newcomer)
    after_joining = figures_of(network)

    assert bars(again.initiatives) == bars(first.initiatives) == {"2025": 1}
    assert bars(after_adoption.adoptions) == {"2025": 1}
    assert bars(after_joining.initiatives) == {"2024": 1, "2025": 1}
    # One year only: no "most were published in" beside the total.
    assert first.initiatives.summary == "The members lead or take part in 1 published initiative."


@pytest.mark.parametrize("members", [1, 20])
def test_regional_network_page_query_count_does_not_grow_with_members(
    client, django_assert_num_queries, members
):
    trondelag = County.objects.get(number="50")
    network = full_network(scope="regional")
    Network.objects.filter(pk=network.pk).update(county=trondelag)
    populate(network, 1)
    members_with_everything(network, members, county=trondelag)

    # The page's own count (tests/networks/test_network_pages.py), and the coverage.
    engine.engine()  # built once per process, then one query per request
    with django_assert_num_queries(PAGE_QUERIES + 1):
        response = client.get(f"/en/nettverk/{network.slug}/")

    figures = response.context["figures"]
    # populate()'s member leads one initiative more, and is located nowhere.
    assert figures.initiatives.total == 2 * members + 1
    assert figures.coverage.covered == members
