from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar

from networks.ical import _page_url, calendar_events, calendar_for, event_calendar, event_uid
from networks.models import Event
from tests.factories import make_event, make_network, make_working_group

pytestmark = pytest.mark.django_db

OSLO = ZoneInfo("Europe/Oslo")


def parse(data: bytes) -> Calendar:
    return Calendar.from_ical(data)


def only_event(data: bytes):
    (vevent,) = parse(data).events
    return vevent


def test_calendar_for_has_the_calendar_properties():
    event = make_event()

    calendar = parse(calendar_for([event], name="Idébanken: arrangementer"))

    assert str(calendar["PRODID"]) == "-//Idébanken//NONSGML Idébanken//NB"
    assert str(calendar["VERSION"]) == "2.0"
    assert str(calendar["CALSCALE"]) == "GREGORIAN"
    assert str(calendar["METHOD"]) == "PUBLISH"
    assert str(calendar["X-WR-CALNAME"]) == "Idébanken: arrangementer"
    assert str(calendar["X-WR-TIMEZONE"]) == "Europe/Oslo"
    assert calendar["REFRESH-INTERVAL"].dt == timedelta(hours=12)


def test_event_calendar_is_named_after_the_event_and_holds_only_it():
    event = make_event(title="Månedlig webinar")
    make_event()

    calendar = parse(event_calendar(event))

    assert str(calendar["X-WR-CALNAME"]) == "Månedlig webinar"
    assert [str(vevent["UID"]) for vevent in calendar.events] == [event_uid(event)]
    assert "REFRESH-INTERVAL" not in calendar


def test_calendar_for_uids_are_stable_and_unique(settings):
    settings.SITE_URL = "https://idebanken.example.no"
    first, second = make_event(), make_event()

    render_one = parse(calendar_for([first, second], name="Alle"))
    render_two = parse(calendar_for(Event.objects.order_by("pk"), name="Alle"))

    uids_one = [str(vevent["UID"]) for vevent in render_one.events]
    uids_two = [str(vevent["UID"]) for vevent in render_two.events]
    assert uids_one == uids_two
    assert uids_one == [
        f"event-{first.pk}@idebanken.example.no",
        f"event-{second.pk}@idebanken.example.no",
    ]


def test_calendar_for_renders_the_same_bytes_twice():
    event = make_event()

    assert calendar_for([event], name="Alle") == calendar_for([event], name="Alle")


@pytest.mark.parametrize(
    ("wall_clock", "utc_instant"),
    [
        # Before and after the spring change (29 March 2026, 02:00 -> 03:00).
        (datetime(2026, 3, 27, 10, 0), datetime(2026, 3, 27, 9, 0, tzinfo=UTC)),
        (datetime(2026, 3, 30, 10, 0), datetime(2026, 3, 30, 8, 0, tzinfo=UTC)),
        # Before and after the autumn change (25 October 2026, 03:00 -> 02:00).
        (datetime(2026, 10, 23, 10, 0), datetime(2026, 10, 23, 8, 0, tzinfo=UTC)),
        (datetime(2026, 10, 26, 10, 0), datetime(2026, 10, 26, 9, 0, tzinfo=UTC)),
    ],
)
def test_event_calendar_times_keep_oslo_wall_clock_and_instant(wall_clock, utc_instant):
    event = make_event(starts_at=utc_instant, ends_at=utc_instant + timedelta(hours=1, minutes=30))

    data = event_calendar(event)
    vevent = only_event(data)

    start, end = vevent["DTSTART"], vevent["DTEND"]
    assert start.params["TZID"] == "Europe/Oslo"
    assert end.params["TZID"] == "Europe/Oslo"
    assert start.dt.replace(tzinfo=None) == wall_clock
    assert end.dt.replace(tzinfo=None) == wall_clock + timedelta(hours=1, minutes=30)
    assert start.dt == utc_instant
    assert end.dt == utc_instant + timedelta(hours=1, minutes=30)
    assert f"DTSTART;TZID=Europe/Oslo:{wall_clock:%Y%m%dT%H%M%S}".encode() in data


def test_calendar_for_events_across_the_spring_change_keep_their_instants():
    before = make_event(starts_at=datetime(2026, 3, 27, 10, 0, tzinfo=OSLO))
    after = make_event(starts_at=datetime(2026, 3, 30, 10, 0, tzinfo=OSLO))

    calendar = parse(calendar_for([before, after], name="Alle"))

    starts = {str(vevent["UID"]): vevent["DTSTART"].dt for vevent in calendar.events}
    assert starts[event_uid(before)] == datetime(2026, 3, 27, 9, 0, tzinfo=UTC)
    assert starts[event_uid(after)] == datetime(2026, 3, 30, 8, 0, tzinfo=UTC)
    assert [start.astimezone(OSLO).hour for start in starts.values()] == [10, 10]


def test_calendar_for_vtimezone_describes_both_sides_of_the_2026_changes():
    event = make_event(starts_at=datetime(2026, 3, 27, 10, 0, tzinfo=OSLO))

    calendar = parse(calendar_for([event], name="Alle"))

    (timezone,) = calendar.timezones
    assert str(timezone["TZID"]) == "Europe/Oslo"
    assert timezone.standard
    assert timezone.daylight
    # Read the offsets from the VTIMEZONE itself, not from this machine's tz database.
    tz = timezone.to_tz()
    assert datetime(2026, 3, 27, 10, tzinfo=tz).utcoffset() == timedelta(hours=1)
    assert datetime(2026, 3, 30, 10, tzinfo=tz).utcoffset() == timedelta(hours=2)
    assert datetime(2026, 10, 23, 10, tzinfo=tz).utcoffset() == timedelta(hours=2)
    assert datetime(2026, 10, 26, 10, tzinfo=tz).utcoffset() == timedelta(hours=1)


def test_calendar_for_vtimezone_covers_events_far_ahead():
    event = make_event(starts_at=datetime(2045, 7, 1, 10, 0, tzinfo=OSLO))

    calendar = parse(calendar_for([event], name="Alle"))

    tz = calendar.timezones[0].to_tz()
    assert datetime(2045, 7, 1, 10, tzinfo=tz).utcoffset() == timedelta(hours=2)
    assert datetime(2045, 12, 1, 10, tzinfo=tz).utcoffset() == timedelta(hours=1)


def test_calendar_for_empty_feed_is_a_valid_calendar():
    data = calendar_for([], name="Ingen arrangementer")

    calendar = parse(data)

    assert calendar.events == []
    assert [str(timezone["TZID"]) for timezone in calendar.timezones] == ["Europe/Oslo"]
    assert str(calendar["X-WR-CALNAME"]) == "Ingen arrangementer"
    assert data.startswith(b"BEGIN:VCALENDAR\r\n")
    assert data.endswith(b"END:VCALENDAR\r\n")


def test_event_calendar_special_characters_survive_the_round_trip():
    text = "Kaffe, kake; og prat\nÆrlig øving på Ålesund <script>alert(1)</script>"
    event = make_event(
        title="Møte; «grønn» omstilling, del 2 <script>",
        description=text,
        venue="Rådhuset, sal 3; inngang B",
    )

    data = event_calendar(event)
    vevent = only_event(data)

    assert str(vevent["SUMMARY"]) == "Møte; «grønn» omstilling, del 2 <script>"
    assert str(vevent["DESCRIPTION"]).split("\n\n")[0] == text
    assert str(vevent["LOCATION"]) == "Rådhuset, sal 3; inngang B"
    assert "LOCATION:Rådhuset\\, sal 3\\; inngang B".encode() in data


def test_event_calendar_stamps_come_from_the_event():
    event = make_event()
    event.refresh_from_db()

    vevent = only_event(event_calendar(event))

    # iCalendar times have whole seconds.
    assert vevent["DTSTAMP"].dt == event.updated.replace(microsecond=0)
    assert vevent["LAST-MODIFIED"].dt == event.updated.replace(microsecond=0)
    assert vevent["CREATED"].dt == event.created.replace(microsecond=0)
    assert vevent["DTSTAMP"].to_ical().endswith(b"Z")
    assert str(vevent["STATUS"]) == "CONFIRMED"


def test_event_calendar_venue_and_online_link(settings):
    settings.SITE_URL = "https://idebanken.example.no"
    hybrid = make_event(
        venue="Rådhuset",
        online_url="https://meet.example.org/abc",
        recording_url="https://video.example.org/opptak",
    )
    online = make_event(online_url="https://meet.example.org/xyz")

    hybrid_vevent = only_event(event_calendar(hybrid))
    online_vevent = only_event(event_calendar(online))

    assert str(hybrid_vevent["LOCATION"]) == "Rådhuset"
    description = str(hybrid_vevent["DESCRIPTION"])
    assert "Online: https://meet.example.org/abc" in description.splitlines()
    assert "Recording: https://video.example.org/opptak" in description.splitlines()
    assert f"Organiser: {hybrid.organiser}" in description.splitlines()
    assert str(online_vevent["LOCATION"]) == "https://meet.example.org/xyz"
    assert str(online_vevent["URL"]) == _page_url_or(online, "https://meet.example.org/xyz")
    assert str(online_vevent["DESCRIPTION"]).splitlines()[-1] == (
        f"More information: {_page_url_or(online, 'https://idebanken.example.no')}"
    )


def _page_url_or(event: Event, fallback: str) -> str:
    # Event pages come with the views; once they exist the feed links to them.
    return _page_url(event) or fallback


@pytest.mark.parametrize("count", [1, 20])
def test_calendar_for_query_count_is_the_same_for_1_and_20_events(count, django_assert_num_queries):
    network, group = make_network(), make_working_group()
    for index in range(count):
        organiser = [
            {"organiser_network": network},
            {"organiser_working_group": group},
            {},
        ][index % 3]
        make_event(**organiser)

    with django_assert_num_queries(1):
        data = calendar_for(calendar_events(Event.objects.all()), name="Alle")

    assert len(parse(data).events) == count
