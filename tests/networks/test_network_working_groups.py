"""Working groups in reach: this year's on the home page, a network's own (and its
sub-groups') on the network page, each with how its year is going and its next event."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from initiatives import engine
from initiatives.models import Initiative
from networks.models import Event, WorkingGroup
from tests.factories import make_event, make_initiative, make_network, make_working_group

pytestmark = pytest.mark.django_db


def this_year() -> int:
    return timezone.localdate().year


def page_url(network) -> str:
    return reverse("networks:network", args=[network.slug])


def held_meeting(group: WorkingGroup) -> Event:
    """A meeting the group held this year (the year's first day, whatever today is)."""
    starts_at = timezone.now().replace(month=1, day=2, hour=12)
    return make_event(
        organiser_working_group=group,
        kind=Event.Kind.MEETING,
        starts_at=starts_at,
    )


def names(response) -> list[str]:
    return [group.name for group in response.context["working_groups"]]


# --- The network page ------------------------------------------------------------------


def test_network_page_lists_its_own_and_its_subgroups_working_groups(client):
    network = make_network()
    subgroup = make_network(parent=network, name="Pådriv Oslo")
    make_working_group(host_network=network, name="Mat og jord", year=this_year())
    make_working_group(host_network=subgroup, name="Klær og tekstil", year=this_year())
    make_working_group(host_network=make_network(), name="Another network's group")

    response = client.get(page_url(network))

    assert names(response) == ["Klær og tekstil", "Mat og jord"]
    assert "In the sub-group Pådriv Oslo" in response.text
    assert "Another network's group" not in response.text
    assert reverse("networks:working_group_list") in response.text


def test_network_page_shows_how_the_year_is_going_and_the_next_meeting(client):
    network = make_network()
    group = make_working_group(
        host_network=network, year=this_year(), required_meetings=6, required_open_events=1
    )
    held_meeting(group)
    held_meeting(group)
    make_event(
        organiser_working_group=group,
        kind=Event.Kind.MEETING,
        title="Cancelled meeting",
        starts_at=timezone.now() + timedelta(days=2),
        cancelled_at=timezone.now(),
    )
    make_event(
        organiser_working_group=group,
        kind=Event.Kind.MEETING,
        title="Planning the open day",
        starts_at=timezone.now() + timedelta(days=9),
    )
    make_event(
        organiser_working_group=group,
        kind=Event.Kind.OPEN_EVENT,
        title="Open day",
        starts_at=timezone.now() + timedelta(days=30),
    )

    response = client.get(page_url(network))

    shown = response.context["working_groups"][0]
    assert (shown.meetings_held, shown.open_events_held) == (2, 0)
    assert shown.next_event.title == "Planning the open day"
    assert f"How {this_year()} is going" in response.text
    assert "meetings 2 of 6" in response.text
    assert "Next meeting:" in response.text
    assert "Cancelled meeting" not in response.text
    assert "Open day<" not in response.text


def test_network_page_says_when_no_meeting_is_planned(client):
    network = make_network()
    make_working_group(host_network=network, year=this_year())

    response = client.get(page_url(network))

    assert "No upcoming meeting has been recorded." in response.text


def test_network_page_puts_this_years_groups_before_last_years(client):
    network = make_network()
    make_working_group(host_network=network, name="Last year", year=this_year() - 1)
    make_working_group(host_network=network, name="This year", year=this_year())

    response = client.get(page_url(network))

    assert names(response) == ["This year", "Last year"]
    assert f"How {this_year() - 1} went" in response.text


def test_network_page_without_working_groups_says_so(client):
    network = make_network()

    response = client.get(page_url(network))

    assert list(response.context["working_groups"]) == []
    assert "The network hosts no working groups yet." in response.text


@pytest.mark.parametrize("items", [1, 20])
def test_network_page_query_count_does_not_grow_with_working_groups(
    client, django_assert_num_queries, items
):
    network = make_network()
    for _ in range(items):
        group = make_working_group(host_network=network, year=this_year())
        held_meeting(group)
        make_event(organiser_working_group=group, kind=Event.Kind.MEETING)
        make_working_group(host_network=make_network(parent=network), year=this_year())

    engine.engine()  # built once per process, then one query per request
    # As tests/networks/test_network_pages.py PAGE_QUERIES counts them, less the members'
    # initiatives (no members here, so nothing to read); with the network's campaigns.
    with django_assert_num_queries(19):
        response = client.get(page_url(network))

    assert response.context["working_group_count"] == 2 * items
    assert len(response.context["working_groups"]) == min(2 * items, 10)


# --- The home page ---------------------------------------------------------------------


def test_home_lists_this_years_working_groups_with_a_link_to_all(client):
    group = make_working_group(name="Sirkulære anskaffelser", year=this_year())
    make_working_group(name="Last year's group", year=this_year() - 1)
    make_event(
        organiser_working_group=group,
        kind=Event.Kind.MEETING,
        title="Meeting in the spring",
        starts_at=timezone.now() + timedelta(days=5),
    )

    response = client.get("/en/")

    assert names(response) == ["Sirkulære anskaffelser"]
    assert f"Working groups in {this_year()}" in response.text
    assert group.get_absolute_url() in response.text
    assert "Meeting in the spring" in response.text
    assert "Last year's group" not in response.text
    assert reverse("networks:working_group_list") in response.text


def test_home_without_working_groups_this_year_says_so(client):
    make_working_group(year=this_year() - 1)

    response = client.get("/en/")

    assert f"No working groups have been recorded for {this_year()} yet." in response.text


@pytest.mark.parametrize("items", [1, 20])
def test_home_query_count_does_not_grow_with_working_groups(
    client, django_assert_num_queries, items
):
    make_initiative(status=Initiative.Status.PUBLISHED)
    for _ in range(items):
        group = make_working_group(year=this_year())
        held_meeting(group)
        make_event(organiser_working_group=group, kind=Event.Kind.MEETING)

    engine.engine()  # built once per process, then one query per request
    # The home page's own (tests/ideabank/test_pages.py), the groups and their next events.
    with django_assert_num_queries(8):
        response = client.get("/")

    assert len(response.context["working_groups"]) == min(items, 6)
