"""The .ics downloads and feeds as served: headers, contents parsed back, query counts."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from django.utils import timezone
from icalendar import Calendar

from networks.ical import event_uid
from tests.factories import make_event, make_network, make_organisation, make_working_group

pytestmark = pytest.mark.django_db

OSLO = ZoneInfo("Europe/Oslo")


def in_days(days: float) -> datetime:
    return timezone.now() + timedelta(days=days)


def parse(response) -> Calendar:
    return Calendar.from_ical(response.content)


def summaries(response) -> list[str]:
    return [str(vevent["SUMMARY"]) for vevent in parse(response).events]


def test_event_calendar_is_an_ics_attachment_named_after_the_event(client, settings):
    settings.SITE_URL = "https://idebanken.example"
    # 30 March: the day after summer time starts, 08:00 UTC is 10:00 in Oslo.
    starts_at = datetime(timezone.now().year + 1, 3, 30, 8, 0, tzinfo=UTC)
    event = make_event(title="Bærekraftsfredag", slug="baerekraftsfredag", starts_at=starts_at)

    response = client.get(reverse("networks:event_calendar", args=[event.slug]))

    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="baerekraftsfredag.ics"'
    [vevent] = parse(response).events
    assert str(vevent["UID"]) == event_uid(event)
    assert str(vevent["SUMMARY"]) == "Bærekraftsfredag"
    assert vevent["DTSTART"].dt == datetime(starts_at.year, 3, 30, 10, 0, tzinfo=OSLO)
    assert vevent["DTSTART"].params["TZID"] == "Europe/Oslo"
    assert str(vevent["URL"]) == f"https://idebanken.example{event.get_absolute_url()}"


def test_event_calendar_serves_past_events_too(client):
    event = make_event(title="Over", starts_at=in_days(-10))

    response = client.get(reverse("networks:event_calendar", args=[event.slug]))

    assert summaries(response) == ["Over"]


def test_event_calendar_unknown_slug_is_404(client):
    response = client.get(reverse("networks:event_calendar", args=["no-such-event"]))

    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


def test_calendar_feed_holds_every_upcoming_event_inline(client):
    make_event(title="Soon", starts_at=in_days(1))
    make_event(title="Later", starts_at=in_days(40))
    make_event(title="Over", starts_at=in_days(-1))

    response = client.get(reverse("networks:calendar"))

    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    assert response["Content-Disposition"] == 'inline; filename="arrangementer.ics"'
    assert summaries(response) == ["Soon", "Later"]
    calendar = parse(response)
    assert str(calendar["X-WR-CALNAME"]) == "Idébanken: events"
    assert calendar["REFRESH-INTERVAL"].dt == timedelta(hours=12)


def test_calendar_feed_without_events_is_a_valid_empty_calendar(client):
    response = client.get(reverse("networks:calendar"))

    calendar = parse(response)
    assert calendar.events == []
    assert str(calendar["VERSION"]) == "2.0"


def test_network_calendar_holds_the_network_and_its_subgroups_upcoming_events(client):
    network = make_network(name="Adda", slug="adda")
    subgroup = make_network(parent=network)
    sub_subgroup = make_network(parent=subgroup)
    make_event(title="Network", organiser_network=network, starts_at=in_days(1))
    make_event(title="Sub-group", organiser_network=subgroup, starts_at=in_days(2))
    make_event(title="Its sub-group", organiser_network=sub_subgroup, starts_at=in_days(3))
    make_event(title="Past", organiser_network=network, starts_at=in_days(-3))
    make_event(title="Other network", organiser_network=make_network(), starts_at=in_days(1))

    response = client.get(reverse("networks:network_calendar", args=["adda"]))

    assert response["Content-Disposition"] == 'inline; filename="adda.ics"'
    assert summaries(response) == ["Network", "Sub-group", "Its sub-group"]
    assert str(parse(response)["X-WR-CALNAME"]) == "Idébanken: Adda"


def test_network_calendar_of_a_subgroup_leaves_out_its_parent(client):
    network = make_network()
    subgroup = make_network(parent=network, slug="adda-innkjop")
    make_event(title="Parent", organiser_network=network)
    make_event(title="Sub-group", organiser_network=subgroup)

    response = client.get(reverse("networks:network_calendar", args=["adda-innkjop"]))

    assert summaries(response) == ["Sub-group"]


def test_working_group_calendar_holds_the_groups_upcoming_events(client):
    group = make_working_group(name="Sirkulær produksjon", slug="sirkular", year=2026)
    make_event(title="Meeting", organiser_working_group=group, starts_at=in_days(5))
    make_event(title="Past meeting", organiser_working_group=group, starts_at=in_days(-5))
    make_event(title="Other group", organiser_working_group=make_working_group())

    response = client.get(reverse("networks:working_group_calendar", args=["sirkular"]))

    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    assert response["Content-Disposition"] == 'inline; filename="sirkular.ics"'
    assert summaries(response) == ["Meeting"]
    assert str(parse(response)["X-WR-CALNAME"]) == "Idébanken: Sirkulær produksjon (2026)"


@pytest.mark.parametrize("name", ["networks:network_calendar", "networks:working_group_calendar"])
def test_group_calendars_unknown_slug_is_404(client, name):
    response = client.get(reverse(name, args=["no-such-slug"]))

    assert response.status_code == 404


def test_calendar_times_are_right_on_both_sides_of_a_summer_time_change(client):
    year = timezone.now().year + 1
    # Summer time ends on the last Sunday of October: 08:00 UTC is 10:00 before, 09:00 after.
    make_event(title="Before", starts_at=datetime(year, 10, 1, 8, 0, tzinfo=UTC))
    make_event(title="After", starts_at=datetime(year, 11, 5, 8, 0, tzinfo=UTC))

    events = parse(client.get(reverse("networks:calendar"))).events

    assert [(e["DTSTART"].dt.hour, e["DTSTART"].dt.utcoffset()) for e in events] == [
        (10, timedelta(hours=2)),
        (9, timedelta(hours=1)),
    ]


def organisers(n: int) -> list[dict]:
    kinds = [
        lambda: {"organiser_network": make_network()},
        lambda: {"organiser_working_group": make_working_group()},
        lambda: {"organiser_organisation": make_organisation()},
    ]
    return [kinds[i % 3]() for i in range(n)]


@pytest.mark.parametrize("items", [1, 20])
def test_calendar_feed_query_count(client, django_assert_num_queries, items):
    for n, organiser in enumerate(organisers(items)):
        make_event(starts_at=in_days(n + 1), **organiser)

    with django_assert_num_queries(1):
        response = client.get(reverse("networks:calendar"))

    assert len(parse(response).events) == items


@pytest.mark.parametrize("items", [1, 20])
def test_network_calendar_query_count(client, django_assert_num_queries, items):
    network = make_network(slug="adda")
    subgroups = [make_network(parent=network) for _ in range(items)]
    for n, subgroup in enumerate(subgroups):
        make_event(organiser_network=subgroup, starts_at=in_days(n + 1))

    # The network, its sub-groups, their sub-groups (none), the events.
    with django_assert_num_queries(4):
        response = client.get(reverse("networks:network_calendar", args=["adda"]))

    assert len(parse(response).events) == items


@pytest.mark.parametrize("items", [1, 20])
def test_working_group_calendar_query_count(client, django_assert_num_queries, items):
    group = make_working_group(slug="sirkular")
    for n in range(items):
        make_event(organiser_working_group=group, starts_at=in_days(n + 1))

    with django_assert_num_queries(2):
        response = client.get(reverse("networks:working_group_calendar", args=["sirkular"]))

    assert len(parse(response).events) == items


def test_event_calendar_query_count(client, django_assert_num_queries):
    event = make_event(organiser_network=make_network())

    with django_assert_num_queries(1):
        client.get(reverse("networks:event_calendar", args=[event.slug]))
