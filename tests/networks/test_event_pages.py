"""The event lists (upcoming, past, filters) and the event page (programme, audience, organiser)."""

from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from initiatives.models import ActorType, Initiative, Organisation
from networks.models import Event, EventRegistration
from tests.factories import (
    make_event,
    make_initiative,
    make_network,
    make_organisation,
    make_presentation,
    make_registration,
    make_working_group,
)

pytestmark = pytest.mark.django_db

LIST_URL = "/en/arrangementer/"
PAST_URL = "/en/arrangementer/tidligere/"


def in_days(days: float) -> datetime:
    return timezone.now() + timedelta(days=days)


def titles(response) -> list[str]:
    return [event.title for event in response.context["events"]]


def warnings(response) -> list[str]:
    return [m.message for m in get_messages(response.wsgi_request) if m.level_tag == "warning"]


def actor_types(*slugs: str) -> list[ActorType]:
    return list(ActorType.objects.filter(slug__in=slugs).order_by("slug"))


# --- The lists -------------------------------------------------------------------------


def test_event_list_shows_upcoming_events_soonest_first(client):
    make_event(title="Later", starts_at=in_days(30))
    make_event(title="Sooner", starts_at=in_days(2))
    make_event(title="Over", starts_at=in_days(-3))
    # Under way now: still upcoming until it ends.
    make_event(title="Under way", starts_at=timezone.now() - timedelta(minutes=30))

    response = client.get(LIST_URL)

    assert titles(response) == ["Under way", "Sooner", "Later"]


def test_event_past_list_shows_past_events_latest_first(client):
    make_event(title="Long ago", starts_at=in_days(-60))
    make_event(title="Last week", starts_at=in_days(-7))
    make_event(title="Coming", starts_at=in_days(7))

    response = client.get(PAST_URL)

    assert titles(response) == ["Last week", "Long ago"]
    assert response.context["past"] is True


def test_event_list_item_shows_time_in_norwegian_time_kind_place_and_organiser(client):
    organisation = make_organisation(name="Asker kommune")
    # 15 June is summer time in Oslo (UTC+2): 08:00 UTC is 10:00 there.
    starts_at = datetime(timezone.now().year + 1, 6, 15, 8, 0, tzinfo=UTC)
    make_event(
        title="Frokostmøte",
        kind=Event.Kind.MEETING,
        starts_at=starts_at,
        ends_at=starts_at + timedelta(minutes=90),
        venue="Rådhuset",
        organiser_organisation=organisation,
    )

    page = client.get(LIST_URL).content.decode()

    assert ">10:00</time>" not in page  # the start carries the date too
    assert f"June 15, {starts_at.year}, 10:00</time>–<time" in page
    assert ">11:30</time> (Norwegian time)" in page
    assert "Meeting" in page
    assert "Rådhuset" in page
    assert f'<a class="ds-link" href="{organisation.get_absolute_url()}">Asker kommune</a>' in page


@pytest.mark.parametrize(
    ("venue", "online_url", "shown"),
    [
        ("", "https://meet.example.org/x", "<dd>Online\n</dd>"),
        ("Biblioteket", "https://meet.example.org/x", "<dd>Biblioteket and online\n</dd>"),
        ("", "", "<dd>Place to be announced\n</dd>"),
    ],
)
def test_event_list_item_says_online_when_there_is_no_venue(client, venue, online_url, shown):
    make_event(venue=venue, online_url=online_url)

    page = client.get(LIST_URL).content.decode()

    assert shown in page


def test_event_list_item_shows_registration_state(client):
    make_event(title="No registration", registration=Event.Registration.NONE)
    make_event(title="Closed", registration=Event.Registration.CLOSED)
    make_event(title="Open", registration=Event.Registration.OPEN, capacity=2)
    full = make_event(title="Full", registration=Event.Registration.OPEN, capacity=1)
    make_registration(event=full)
    # A cancelled registration frees its place again.
    make_registration(
        event=make_event(title="Freed", registration=Event.Registration.OPEN, capacity=1),
        status=EventRegistration.Status.CANCELLED,
    )

    response = client.get(LIST_URL)

    states = {event.title: event.registration_state for event in response.context["events"]}
    assert states == {
        "No registration": "none",
        "Closed": "closed",
        "Open": "open",
        "Full": "full",
        "Freed": "open",
    }
    page = response.content.decode()
    assert "Open to all, no registration needed" in page
    assert "Registration closed" in page
    assert "Full – waiting list" in page
    assert page.count("Registration open") == 2


def test_event_list_links_to_the_calendar_and_the_past_events(client, settings):
    settings.SITE_URL = "https://idebanken.example"

    page = client.get(LIST_URL).content.decode()

    assert f'href="{reverse("networks:calendar")}"' in page
    assert "https://idebanken.example/en/arrangementer/kalender.ics" in page
    assert f'href="{reverse("networks:event_past_list")}"' in page


def test_event_past_list_links_the_recording_not_registration(client):
    make_event(
        title="Webinar",
        starts_at=in_days(-7),
        registration=Event.Registration.OPEN,
        recording_url="https://video.example.org/opptak",
    )

    page = client.get(PAST_URL).content.decode()

    assert 'href="https://video.example.org/opptak"' in page
    assert "Registration open" not in page


def test_event_list_escapes_html_in_titles_and_places(client):
    make_event(title="<script>alert(1)</script>", venue="<b>Rådhuset</b>")

    page = client.get(LIST_URL).content.decode()

    assert "<script>alert(1)</script>" not in page
    assert escape("<script>alert(1)</script>") in page
    assert escape("<b>Rådhuset</b>") in page


def test_event_list_without_events_says_so(client):
    response = client.get(LIST_URL)

    assert "No events are planned at the moment." in response.content.decode()


# --- Filters -----------------------------------------------------------------------------


def test_event_list_filters_by_kind(client):
    make_event(title="Webinar", kind=Event.Kind.WEBINAR)
    make_event(title="Workshop", kind=Event.Kind.WORKSHOP)

    response = client.get(LIST_URL, {"kind": "workshop"})

    assert titles(response) == ["Workshop"]
    assert warnings(response) == []


def test_event_list_filters_by_organiser_of_each_kind(client):
    network = make_network(name="Adda", slug="adda")
    group = make_working_group(name="Sirkulær produksjon", slug="sirkular", year=2026)
    organisation = make_organisation(name="Asker kommune", slug="asker")
    make_event(title="Network event", organiser_network=network)
    make_event(title="Group event", organiser_working_group=group)
    make_event(title="Organisation event", organiser_organisation=organisation)

    by_network = client.get(LIST_URL, {"organiser": "network:adda"})
    by_group = client.get(LIST_URL, {"organiser": "group:sirkular"})
    by_organisation = client.get(LIST_URL, {"organiser": "organisation:asker"})

    assert titles(by_network) == ["Network event"]
    assert titles(by_group) == ["Group event"]
    assert titles(by_organisation) == ["Organisation event"]


def test_event_list_offers_organisers_grouped_and_only_those_with_events_in_the_list(client):
    network = make_network(name="Adda", slug="adda")
    make_network(name="Without events", slug="quiet")
    group = make_working_group(name="Sirkulær produksjon", slug="sirkular", year=2026)
    make_event(organiser_network=network)
    make_event(organiser_working_group=group)
    make_event(
        organiser_organisation=make_organisation(name="Only in the past"), starts_at=in_days(-5)
    )

    page = client.get(LIST_URL).content.decode()

    assert '<optgroup label="Networks">' in page
    assert '<option value="network:adda">Adda</option>' in page
    assert '<optgroup label="Working groups">' in page
    assert '<option value="group:sirkular">Sirkulær produksjon (2026)</option>' in page
    assert "Without events" not in page
    assert "Only in the past" not in page
    assert '<optgroup label="Organisations">' not in page


def test_event_list_keeps_a_chosen_organiser_without_events_in_the_list(client):
    network = make_network(name="Adda", slug="adda")
    make_event(title="Over", organiser_network=network, starts_at=in_days(-5))
    make_event(title="Someone else's")

    response = client.get(LIST_URL, {"organiser": "network:adda"})

    assert titles(response) == []
    assert warnings(response) == []
    assert '<option value="network:adda" selected>Adda</option>' in response.content.decode()


def test_event_list_filters_by_audience(client):
    kindergarten, school = actor_types("kindergarten", "school")
    for_kindergartens = make_event(title="For kindergartens")
    for_kindergartens.audience.set([kindergarten, school])
    make_event(title="For schools").audience.set([school])
    make_event(title="For everyone")

    response = client.get(LIST_URL, {"audience": "kindergarten"})

    assert titles(response) == ["For kindergartens"]


def test_event_list_filters_by_month_in_norwegian_time(client):
    year = timezone.now().year + 1
    # 23:30 UTC on 31 August is already 1 September in Oslo.
    make_event(title="September", starts_at=datetime(year, 8, 31, 23, 30, tzinfo=UTC))
    make_event(title="August", starts_at=datetime(year, 8, 31, 20, 0, tzinfo=UTC))
    conference = make_event(
        title="Over the turn of the month",
        starts_at=datetime(year, 9, 30, 8, 0, tzinfo=UTC),
    )
    conference.ends_at = datetime(year, 10, 1, 15, 0, tzinfo=UTC)
    conference.save()

    september = client.get(LIST_URL, {"month": f"{year}-09"})
    october = client.get(LIST_URL, {"month": f"{year}-10"})

    assert titles(september) == ["September", "Over the turn of the month"]
    assert titles(october) == ["Over the turn of the month"]
    page = september.content.decode()
    assert f'<option value="{year}-09" selected>September {year}</option>' in page
    assert f'<option value="{year}-08">August {year}</option>' in page


def test_event_list_keeps_a_well_formed_month_without_events(client):
    make_event(title="Coming")
    year = timezone.now().year + 2

    response = client.get(LIST_URL, {"month": f"{year}-03"})

    assert titles(response) == []
    assert warnings(response) == []
    assert f'<option value="{year}-03" selected>March {year}</option>' in response.content.decode()
    assert "No events match these choices." in response.content.decode()


@pytest.mark.parametrize(
    ("params", "label"),
    [
        ({"month": "2026-13"}, "Month"),
        ({"month": "2026-1"}, "Month"),
        ({"month": "0000-01"}, "Month"),
        ({"month": "juni"}, "Month"),
        ({"month": "2026-06-01T00:00"}, "Month"),
        ({"kind": "party"}, "Kind"),
        ({"organiser": "network:no-such-network"}, "Organiser"),
        ({"organiser": "12"}, "Organiser"),
        ({"organiser": "evil:adda"}, "Organiser"),
        ({"audience": "no-such-type"}, "Audience"),
    ],
)
def test_event_list_ignores_malformed_filters_with_a_message(client, params, label):
    make_event(title="Coming", organiser_network=make_network(slug="adda"))

    response = client.get(LIST_URL, params)

    assert response.status_code == 200
    assert titles(response) == ["Coming"]
    [warning] = warnings(response)
    assert warning.startswith(f"The filter “{label}” was not understood and was ignored")


@pytest.mark.parametrize("value", ["x" * 201])
def test_event_list_ignores_overlong_or_nul_values_with_a_message(client, value):
    make_event(title="Coming")

    response = client.get(LIST_URL, {"month": value})

    assert titles(response) == ["Coming"]
    assert len(warnings(response)) == 1


def test_event_list_keeps_good_filters_when_dropping_bad_ones(client):
    make_event(title="Webinar", kind=Event.Kind.WEBINAR)
    make_event(title="Meeting", kind=Event.Kind.MEETING)

    response = client.get(LIST_URL, {"kind": "meeting", "month": "not-a-month"})

    assert titles(response) == ["Meeting"]
    assert len(warnings(response)) == 1


def test_event_list_paginates(client):
    for days in range(1, 23):
        make_event(title=f"Event {days:02d}", starts_at=in_days(days))

    first = client.get(LIST_URL)
    second = client.get(LIST_URL, {"page": "2"})

    assert len(titles(first)) == 20
    assert titles(second) == ["Event 21", "Event 22"]
    assert 'href="?page=2"' in first.content.decode()


def test_event_list_pagination_keeps_the_filters(client):
    for days in range(1, 23):
        make_event(kind=Event.Kind.WORKSHOP, starts_at=in_days(days))

    page = client.get(LIST_URL, {"kind": "workshop"}).content.decode()

    assert 'href="?kind=workshop&amp;page=2"' in page


@pytest.mark.parametrize("page", ["0", "3", "abc", "1e3", "9" * 20])
def test_event_list_unknown_page_is_404(client, page):
    make_event()

    response = client.get(LIST_URL, {"page": page})

    assert response.status_code == 404
    assert "events" not in (response.context or {})


def full_event(**overrides) -> Event:
    """An event with an audience, a programme and registrations, organised by any kind."""
    event = make_event(registration=Event.Registration.OPEN, capacity=5, **overrides)
    event.audience.set(actor_types("kindergarten", "school", "library"))
    for _ in range(2):
        make_presentation(event=event)
    make_registration(event=event)
    return event


def organisers(n: int) -> list[dict]:
    """n events' organisers, taking turns: a network, a working group, an organisation."""
    kinds = [
        lambda: {"organiser_network": make_network()},
        lambda: {"organiser_working_group": make_working_group()},
        lambda: {"organiser_organisation": make_organisation()},
    ]
    return [kinds[i % 3]() for i in range(n)]


@pytest.mark.parametrize("items", [1, 20])
@pytest.mark.parametrize(
    ("url", "days", "queries"),
    [
        (LIST_URL, 5, 8),
        # Checking the audience's slug takes a query.
        (LIST_URL + "?kind=webinar&audience=school", 5, 9),
        (PAST_URL, -5, 8),
    ],
)
def test_event_list_query_count(client, django_assert_num_queries, items, url, days, queries):
    for n, organiser in enumerate(organisers(items)):
        full_event(starts_at=in_days(days + n if days > 0 else days - n), **organiser)

    with django_assert_num_queries(queries):
        response = client.get(url)

    assert len(titles(response)) == items


# --- The event page --------------------------------------------------------------------------


def test_event_detail_shows_time_place_audience_organiser_and_description(client):
    network = make_network(name="Adda", slug="adda")
    starts_at = datetime(timezone.now().year + 1, 1, 15, 9, 0, tzinfo=UTC)
    event = make_event(
        title="Bærekraftsfredag",
        starts_at=starts_at,
        venue="Rådhuset",
        online_url="https://meet.example.org/fredag",
        description="Fire tiltak på en time.\n\nVelkommen!",
        organiser_network=network,
    )
    event.audience.set(actor_types("kindergarten"))

    response = client.get(event.get_absolute_url())

    page = response.content.decode()
    assert response.context["event"] == event
    # Winter: Oslo is UTC+1.
    assert f"January 15, {starts_at.year}, 10:00</time>–<time" in page
    assert "(Norwegian time)" in page
    assert "Rådhuset" in page
    assert 'href="https://meet.example.org/fredag"' in page
    assert ActorType.objects.get(slug="kindergarten").name_en in page
    assert (
        f'<a class="ds-link" href="{reverse("networks:network", args=["adda"])}" lang="nb">Adda</a>'
        in page
    )
    assert "<p>Fire tiltak på en time.</p>" in page
    assert f'href="{reverse("networks:event_calendar", args=[event.slug])}"' in page


def test_event_detail_links_a_working_group_organiser(client):
    group = make_working_group(name="Sirkulær produksjon", slug="sirkular")
    event = make_event(organiser_working_group=group)

    page = client.get(event.get_absolute_url()).content.decode()

    link = reverse("networks:working_group", args=["sirkular"])
    assert f'<a class="ds-link" href="{link}" lang="nb">Sirkulær produksjon</a>' in page


def test_event_detail_does_not_link_a_proposed_organisation(client):
    proposed = make_organisation(name="Ny forening", status=Organisation.Status.PROPOSED)
    event = make_event(organiser_organisation=proposed)

    page = client.get(event.get_absolute_url()).content.decode()

    assert "Ny forening" in page
    assert proposed.get_absolute_url() not in page


def test_event_detail_shows_the_programme_in_order_linking_published_initiatives(client):
    event = make_event()
    first = make_initiative(title="Matsvinn i barnehagen", status=Initiative.Status.PUBLISHED)
    second = make_initiative(title="Gjenbrukstorget", status=Initiative.Status.PUBLISHED)
    make_presentation(event=event, initiative=second, order=2, presenter="Ola, prosjektleder")
    make_presentation(event=event, initiative=first, order=1, presenter="Kari, rådgiver")

    response = client.get(event.get_absolute_url())

    page = response.content.decode()
    assert [p.public_initiative for p in response.context["presentations"]] == [first, second]
    assert page.index("Matsvinn i barnehagen") < page.index("Gjenbrukstorget")
    assert f'href="{first.get_absolute_url()}"' in page
    assert "Kari, rådgiver" in page


@pytest.mark.parametrize(
    "status",
    [
        Initiative.Status.DRAFT,
        Initiative.Status.SUBMITTED,
        Initiative.Status.REJECTED,
        Initiative.Status.ARCHIVED,
    ],
)
def test_event_detail_never_shows_an_unpublished_initiative(client, status):
    event = make_event()
    hidden = make_initiative(title="Hemmelig tiltak", status=status)
    make_presentation(event=event, initiative=hidden, presenter="Per Presentør")

    page = client.get(event.get_absolute_url()).content.decode()

    assert "Hemmelig tiltak" not in page
    assert hidden.slug not in page
    assert "Per Presentør" in page
    assert '<span class="programme__title">Presentation</span>' in page


def test_event_detail_escapes_html(client):
    event = make_event(title="<i>Tittel</i>", description="<script>x()</script>")
    make_presentation(event=event, presenter="<b>Presenter</b>")

    page = client.get(event.get_absolute_url()).content.decode()

    assert "<script>x()</script>" not in page
    assert "<b>Presenter</b>" not in page
    assert escape("<b>Presenter</b>") in page
    assert escape("<i>Tittel</i>") in page


def test_event_detail_links_the_recording_only_after_the_event(client):
    recording = "https://video.example.org/opptak"
    coming = make_event(recording_url=recording)
    over = make_event(recording_url=recording, starts_at=in_days(-2))

    coming_page = client.get(coming.get_absolute_url()).content.decode()
    over_page = client.get(over.get_absolute_url()).content.decode()

    assert recording not in coming_page
    assert f'href="{recording}"' in over_page
    assert "This event has taken place." in over_page


@pytest.mark.parametrize(
    ("registration", "text"),
    [
        (Event.Registration.NONE, "Open to all, no registration needed."),
        (Event.Registration.CLOSED, "Registration for this event is closed."),
    ],
)
def test_event_detail_without_open_registration_says_so(client, registration, text):
    event = make_event(registration=registration)

    page = client.get(event.get_absolute_url()).content.decode()

    assert text in page
    assert reverse("networks:event_register", args=[event.slug]) not in page


def test_event_detail_with_open_registration_shows_the_form_and_places_left(client):
    event = make_event(registration=Event.Registration.OPEN, capacity=3)
    make_registration(event=event)

    page = client.get(event.get_absolute_url()).content.decode()

    assert f'action="{reverse("networks:event_register", args=[event.slug])}"' in page
    assert "2 places left." in page
    for name in ("name", "email", "organisation"):
        assert f'id="id_{name}"' in page
        assert f'for="id_{name}"' in page


def test_event_detail_when_full_says_registrations_go_on_the_waiting_list(client):
    event = make_event(registration=Event.Registration.OPEN, capacity=1)
    make_registration(event=event)

    page = client.get(event.get_absolute_url()).content.decode()

    assert "New registrations go on the waiting list" in page
    assert "Join the waiting list" in page


def test_event_detail_unknown_slug_is_404(client):
    response = client.get(reverse("networks:event", args=["no-such-event"]))

    assert response.status_code == 404
    assert "event" not in (response.context or {})


@pytest.mark.parametrize("items", [1, 20])
def test_event_detail_query_count(client, django_assert_num_queries, items):
    event = make_event(registration=Event.Registration.OPEN, capacity=50)
    event.audience.set(ActorType.objects.all()[:items])
    for n in range(items):
        make_presentation(
            event=event,
            order=n,
            presenter_organisation=make_organisation(),
            initiative=make_initiative(
                status=Initiative.Status.PUBLISHED if n % 2 else Initiative.Status.DRAFT
            ),
        )
        make_registration(event=event)

    with django_assert_num_queries(4):
        response = client.get(event.get_absolute_url())

    assert len(response.context["presentations"]) == items
    assert len(response.context["event"].audience.all()) == min(items, ActorType.objects.count())
    assert response.context["event"].places_left == 50 - items


# --- Initiative pages say where they were presented ------------------------------------------


def test_initiative_detail_links_the_events_it_was_presented_at(client):
    initiative = make_initiative(status=Initiative.Status.PUBLISHED)
    event = make_event(title="Bærekraftsfredag", starts_at=in_days(-10))
    make_presentation(event=event, initiative=initiative)

    page = client.get(initiative.get_absolute_url()).content.decode()

    assert (
        f'<a class="ds-link" href="{event.get_absolute_url()}" lang="nb">Bærekraftsfredag</a>'
        in page
    )
