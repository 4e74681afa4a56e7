"""Calling an event off: Event.cancel, the e-mails it sends, and what pages, calendars and
the admin show of a cancelled event."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.contrib.admin.models import CHANGE, LogEntry
from django.urls import reverse
from django.utils import timezone, translation
from icalendar import Calendar

from initiatives.models import IllegalTransition
from networks.ical import event_uid
from networks.models import Event, EventRegistration, RegistrationRefused, WorkingGroup
from tests.factories import (
    make_event,
    make_moderator,
    make_network,
    make_registration,
    make_working_group,
)
from tests.initiatives.test_admin import admin_url, in_norwegian, shown_messages

pytestmark = pytest.mark.django_db

Status = EventRegistration.Status
OSLO = ZoneInfo("Europe/Oslo")
REASON = "Foredragsholderen er syk."


def in_days(days: float) -> datetime:
    return timezone.now() + timedelta(days=days)


def open_event(**overrides) -> Event:
    return make_event(
        **{"registration": Event.Registration.OPEN, "starts_at": in_days(7), **overrides}
    )


def translated(language: str, message: str, **params) -> str:
    with translation.override(language):
        return translation.gettext(message) % params


def event_url(event: Event, language: str) -> str:
    with translation.override(language):
        return f"{settings.SITE_URL}{event.get_absolute_url()}"


def attached_calendar(mail) -> tuple[str, Calendar]:
    [(filename, content, mimetype)] = mail.attachments
    assert filename == "event.ics"
    return mimetype, Calendar.from_ical(content)


@pytest.fixture
def cancelling(django_capture_on_commit_callbacks):
    """Cancel with the mails delivered as after a real commit."""

    def cancel(event: Event, reason: str = REASON, by=None) -> int:
        with django_capture_on_commit_callbacks(execute=True):
            return event.cancel(reason, by=by)

    return cancel


# --- The model ---------------------------------------------------------------------------


def test_cancel_marks_the_event_and_keeps_its_registrations(cancelling):
    moderator = make_moderator()
    event = open_event(capacity=1)
    confirmed = make_registration(event=event, email="kari@example.org")
    waiting = make_registration(event=event, email="ola@example.org", status=Status.WAITING)

    cancelling(event, f"  {REASON}\n", by=moderator)

    event.refresh_from_db()
    assert event.is_cancelled is True
    assert timezone.now() - event.cancelled_at < timedelta(minutes=1)
    assert (event.cancelled_by, event.cancellation_reason) == (moderator, REASON)
    assert dict(event.registrations.values_list("pk", "status")) == {
        confirmed.pk: Status.CONFIRMED,
        waiting.pk: Status.WAITING,
    }


def test_cancel_tells_each_confirmed_and_waiting_registrant_once_in_their_language(
    cancelling, mailoutbox
):
    event = open_event(title="Frokostmøte om matsvinn", capacity=2)
    with translation.override("nb"):
        make_registration(event=event, name="Kari", email="kari@example.org", language="nb")
    make_registration(event=event, name="Jane", email="jane@example.org", language="en")
    make_registration(
        event=event, name="Per", email="per@example.org", language="nb", status=Status.WAITING
    )
    make_registration(event=event, email="gone@example.org", status=Status.CANCELLED)

    told = cancelling(event)

    assert told == 3
    assert sorted(mail.to[0] for mail in mailoutbox) == [
        "jane@example.org",
        "kari@example.org",
        "per@example.org",
    ]
    mails = {mail.to[0]: mail for mail in mailoutbox}
    for address, language, greeting in [
        ("kari@example.org", "nb", "Kari"),
        ("per@example.org", "nb", "Per"),
        ("jane@example.org", "en", "Jane"),
    ]:
        mail = mails[address]
        assert mail.subject == translated(
            language, "Cancelled: %(title)s", title="Frokostmøte om matsvinn"
        )
        assert translated(language, "Hello %(name)s,", name=greeting) in mail.body
        assert REASON in mail.body
        assert event_url(event, language) in mail.body
        # Already in the catalogue: proves the body is in the person's language today.
        assert translated(language, "Norwegian time") in mail.body
    assert "/en/" not in mails["kari@example.org"].body
    assert "norsk tid" in mails["kari@example.org"].body
    assert "Norwegian time" in mails["jane@example.org"].body


def test_cancel_attaches_a_method_cancel_calendar_for_the_recipient(cancelling, mailoutbox):
    starts_at = datetime(timezone.now().year + 1, 6, 1, 10, 0, tzinfo=OSLO)
    event = open_event(title="Webinar om ombruk", starts_at=starts_at)
    make_registration(event=event, email="kari@example.org", language="nb")

    cancelling(event)

    [mail] = mailoutbox
    mimetype, calendar = attached_calendar(mail)
    [vevent] = calendar.events
    assert mimetype == "text/calendar; method=CANCEL"
    assert str(calendar["METHOD"]) == "CANCEL"
    assert str(vevent["UID"]) == event_uid(event)
    assert str(vevent["STATUS"]) == "CANCELLED"
    assert int(vevent["SEQUENCE"]) == 1
    assert str(vevent["ATTENDEE"]) == "mailto:kari@example.org"
    assert str(vevent["ORGANIZER"]).startswith("mailto:")
    assert vevent["DTSTART"].dt == starts_at


def test_cancel_again_does_nothing_and_tells_nobody(cancelling, mailoutbox):
    event = open_event()
    make_registration(event=event)
    cancelling(event, "Første grunn")
    event.refresh_from_db()
    first = (event.cancelled_at, event.cancellation_reason)
    mailoutbox.clear()

    told = cancelling(Event.objects.get(pk=event.pk), "Andre grunn")

    event.refresh_from_db()
    assert told == 0
    assert (event.cancelled_at, event.cancellation_reason) == first
    assert mailoutbox == []


def test_cancel_an_event_that_is_over_is_refused(cancelling, mailoutbox):
    event = open_event(starts_at=in_days(-2))
    make_registration(event=event)

    with pytest.raises(IllegalTransition):
        cancelling(event)

    event.refresh_from_db()
    assert (event.cancelled_at, event.cancellation_reason) == (None, "")
    assert mailoutbox == []


def test_cancel_without_registrations_tells_nobody(cancelling, mailoutbox):
    event = open_event()

    told = cancelling(event)

    assert (told, mailoutbox) == (0, [])
    assert Event.objects.get(pk=event.pk).is_cancelled is True


def test_register_for_a_cancelled_event_is_refused(cancelling):
    event = open_event()
    cancelling(event)

    with pytest.raises(RegistrationRefused) as refusal:
        event.register(name="Kari", email="kari@example.org")

    assert str(refusal.value) == "This event is cancelled, so it takes no registrations."
    assert event.registrations.count() == 0


def test_cancelling_a_registration_of_a_cancelled_event_moves_nobody_up(cancelling, mailoutbox):
    event = open_event(capacity=1)
    confirmed = make_registration(event=event)
    waiting = make_registration(event=event, status=Status.WAITING)
    cancelling(event)
    mailoutbox.clear()

    confirmed.cancel()

    waiting.refresh_from_db()
    assert waiting.status == Status.WAITING
    assert mailoutbox == []


def test_working_group_progress_does_not_count_a_cancelled_meeting():
    now = timezone.now()
    group = make_working_group(year=timezone.localdate().year)
    ends_at = now - timedelta(hours=1)
    for cancelled_at in (None, ends_at - timedelta(days=3)):
        make_event(
            organiser_working_group=group,
            kind=Event.Kind.MEETING,
            starts_at=ends_at - timedelta(hours=1),
            ends_at=ends_at,
            cancelled_at=cancelled_at,
        )

    annotated = WorkingGroup.objects.with_progress(now=now).get(pk=group.pk)

    assert annotated.meetings_held == 1


# --- Pages and calendars -------------------------------------------------------------------


def test_event_page_says_it_is_cancelled_with_the_reason_and_no_form(client, cancelling):
    event = open_event()
    cancelling(event)

    with translation.override("en"):
        response = client.get(event.get_absolute_url())

    page = response.content.decode()
    assert response.status_code == 200
    assert "This event is cancelled" in page
    assert REASON in page
    assert "This event is cancelled, so it takes no registrations." in page
    assert "registration-form" not in page
    assert response.context["event"].registration_state == "cancelled"


def test_register_on_the_page_of_a_cancelled_event_is_409_with_the_reason(client, cancelling):
    event = open_event()
    cancelling(event)

    with translation.override("en"):
        url = reverse("networks:event_register", args=[event.slug])
    response = client.post(url, {"name": "Kari", "email": "kari@example.org"})

    assert response.status_code == 409
    assert response.context["form"].non_field_errors() == [
        "This event is cancelled, so it takes no registrations."
    ]
    assert event.registrations.count() == 0


@pytest.mark.parametrize("page", ["event_list", "network", "working_group"])
def test_lists_still_show_a_cancelled_event_marked(client, cancelling, page):
    network = make_network()
    group = make_working_group(host_network=network)
    organiser = {"network": {"organiser_network": network}}.get(
        page, {"organiser_working_group": group}
    )
    event = open_event(title="Avlyst frokostmøte", **organiser)
    open_event(title="Vanlig frokostmøte", **organiser)
    cancelling(event)
    with translation.override("nb"):
        url = {
            "event_list": reverse("networks:event_list"),
            "network": network.get_absolute_url(),
            "working_group": group.get_absolute_url(),
        }[page]

    page_html = client.get(url).content.decode()

    assert "Avlyst frokostmøte" in page_html
    assert "Vanlig frokostmøte" in page_html
    with translation.override("nb"):
        cancelled = translation.pgettext("event", "Cancelled")
    assert page_html.count(f'data-size="sm">{cancelled}</span>') == 1


def feed_url(kind: str, event: Event) -> str:
    """The Bokmål address of a calendar (the summaries below are read in Bokmål)."""
    with translation.override("nb"):
        return _feed_url(kind, event)


def _feed_url(kind: str, event: Event) -> str:
    return {
        "event": reverse("networks:event_calendar", args=[event.slug]),
        "all": reverse("networks:calendar"),
        "network": reverse("networks:network_calendar", args=[event.organiser_network.slug])
        if event.organiser_network
        else "",
        "working_group": reverse(
            "networks:working_group_calendar", args=[event.organiser_working_group.slug]
        )
        if event.organiser_working_group
        else "",
    }[kind]


@pytest.mark.parametrize("kind", ["event", "all", "network", "working_group"])
def test_calendars_say_the_event_is_cancelled(client, cancelling, kind):
    network = make_network()
    organiser = (
        {"organiser_working_group": make_working_group(host_network=network)}
        if kind == "working_group"
        else {"organiser_network": network}
    )
    event = open_event(title="Frokostmøte", **organiser)
    still_on = open_event(title="Lunsjmøte", **organiser)
    cancelling(event)

    response = client.get(feed_url(kind, event))

    calendar = Calendar.from_ical(response.content)
    statuses = {str(vevent["UID"]): str(vevent["STATUS"]) for vevent in calendar.events}
    assert str(calendar["METHOD"]) == "PUBLISH"
    assert statuses[event_uid(event)] == "CANCELLED"
    if kind != "event":
        assert statuses[event_uid(still_on)] == "CONFIRMED"
    [cancelled] = [v for v in calendar.events if str(v["UID"]) == event_uid(event)]
    assert str(cancelled["SUMMARY"]) == translated(
        "nb", "Cancelled: %(title)s", title="Frokostmøte"
    )
    assert REASON in str(cancelled["DESCRIPTION"])


def test_cancel_link_of_a_cancelled_event_has_nothing_to_cancel(client, cancelling):
    event = open_event()
    registration = make_registration(event=event)
    cancelling(event)
    with translation.override("en"):
        url = reverse("networks:registration_cancel", args=[registration.cancel_token])

    response = client.post(url, follow=True)

    registration.refresh_from_db()
    assert registration.status == Status.CONFIRMED
    assert [m.message for m in response.context["messages"]] == [
        "The event is cancelled, so there is nothing to cancel."
    ]


# --- The admin action ------------------------------------------------------------------


def post_cancel_action(client, events, **extra):
    return client.post(
        admin_url(Event, "changelist"),
        {
            "action": "cancel_selected",
            "_selected_action": [event.pk for event in events],
            "index": 0,
            **extra,
        },
    )


def test_cancel_action_asks_for_the_reason_first(client):
    moderator = make_moderator()
    event = open_event(title="Frokostmøte")
    make_registration(event=event)
    client.force_login(moderator)

    response = post_cancel_action(client, [event])

    assert response.status_code == 200
    assert [t.name for t in response.templates][0] == (
        "admin/networks/event/cancel_confirmation.html"
    )
    assert "Frokostmøte" in response.content.decode()
    assert Event.objects.get(pk=event.pk).is_cancelled is False


def test_cancel_action_without_a_reason_asks_again(client, mailoutbox):
    client.force_login(make_moderator())
    event = open_event()
    make_registration(event=event)

    response = post_cancel_action(client, [event], confirm="yes", reason="  ")

    assert response.status_code == 200
    assert response.context["form"].errors == {
        "reason": [in_norwegian("Please write why the event is cancelled.")]
    }
    assert Event.objects.get(pk=event.pk).is_cancelled is False
    assert mailoutbox == []


def test_cancel_action_with_a_reason_cancels_and_tells_the_registrants(
    client, mailoutbox, django_capture_on_commit_callbacks
):
    moderator = make_moderator()
    client.force_login(moderator)
    first, second = open_event(), open_event()
    already = open_event()
    already.cancel("Tidligere", by=None)
    for event in (first, second):
        make_registration(event=event, email=f"kari-{event.pk}@example.org")

    with django_capture_on_commit_callbacks(execute=True):
        response = post_cancel_action(
            client, [first, second, already], confirm="yes", reason=REASON
        )

    assert response.status_code == 302
    for event in (first, second):
        event.refresh_from_db()
        assert (event.is_cancelled, event.cancelled_by, event.cancellation_reason) == (
            True,
            moderator,
            REASON,
        )
    assert Event.objects.get(pk=already.pk).cancellation_reason == "Tidligere"
    assert sorted(mail.to[0] for mail in mailoutbox) == sorted(
        f"kari-{event.pk}@example.org" for event in (first, second)
    )
    with translation.override("nb"):
        expected = (
            translation.ngettext("%d event cancelled.", "%d events cancelled.", 2) % 2
            + " "
            + translation.ngettext(
                "%d person who had registered is told by e-mail.",
                "%d people who had registered are told by e-mail.",
                2,
            )
            % 2
        )
    assert shown_messages(response) == [("success", expected)]
    assert LogEntry.objects.filter(action_flag=CHANGE, object_id=str(first.pk)).count() == 1


def test_cancel_action_on_a_past_event_warns_and_changes_nothing(client, mailoutbox):
    client.force_login(make_moderator())
    event = open_event(starts_at=in_days(-3))

    response = post_cancel_action(client, [event], confirm="yes", reason=REASON)

    assert Event.objects.get(pk=event.pk).is_cancelled is False
    levels = [level for level, _ in shown_messages(response)]
    assert levels == ["warning", "warning"]


def test_event_change_form_shows_the_cancellation_read_only(admin_client, cancelling):
    event = open_event()
    cancelling(event)

    response = admin_client.get(admin_url(Event, "change", event.pk))

    form = response.context["adminform"].form
    assert {"cancelled_at", "cancelled_by", "cancellation_reason"} & set(form.fields) == set()
    assert REASON in response.content.decode()
