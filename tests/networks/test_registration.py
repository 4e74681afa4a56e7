"""Event registration: places, the waiting list under cancellations, refusals, e-mails."""

import threading
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection, connections
from django.utils import timezone, translation

from networks.models import Event, EventRegistration, RegistrationRefused
from tests.factories import make_event, make_registration

pytestmark = pytest.mark.django_db


def open_event(**overrides) -> Event:
    return make_event(**{"registration": Event.Registration.OPEN, **overrides})


def register(event: Event, who: str) -> EventRegistration:
    return event.register(name=who.title(), email=f"{who}@example.org")


def statuses(event: Event) -> dict[str, str]:
    return dict(event.registrations.order_by("pk").values_list("email", "status"))


def test_register_confirms_while_places_left_then_waits():
    event = open_event(capacity=2)

    registrations = [register(event, who) for who in ("anne", "bjorn", "cecilie", "dag")]

    assert [r.status for r in registrations] == ["confirmed", "confirmed", "waiting", "waiting"]
    assert statuses(event) == {
        "anne@example.org": "confirmed",
        "bjorn@example.org": "confirmed",
        "cecilie@example.org": "waiting",
        "dag@example.org": "waiting",
    }


def test_register_without_capacity_confirms_everyone():
    event = open_event(capacity=None)

    registrations = [register(event, f"person{n}") for n in range(5)]

    assert {r.status for r in registrations} == {"confirmed"}


def test_register_keeps_what_was_given(django_capture_on_commit_callbacks):
    event = open_event(capacity=10)

    with django_capture_on_commit_callbacks(execute=True):
        registration = event.register(
            name="  Kari Nordmann ", email=" Kari@Example.org ", organisation="Asker kommune"
        )

    registration.refresh_from_db()
    assert (registration.name, registration.email, registration.organisation_name) == (
        "Kari Nordmann",
        "Kari@Example.org",
        "Asker kommune",
    )
    assert registration.language == "en"


def test_register_sends_confirmation_with_details_and_cancel_link(
    mailoutbox, django_capture_on_commit_callbacks, settings
):
    settings.SITE_URL = "https://idebanken.example"
    # 15 June is summer time in Oslo (UTC+2): 08:00 UTC is 10:00 there.
    starts_at = datetime(timezone.now().year + 1, 6, 15, 8, 0, tzinfo=UTC)
    event = open_event(
        title="Webinar om gjenbruk",
        starts_at=starts_at,
        capacity=5,
        venue="Rådhuset, Asker",
        online_url="https://meet.example.org/gjenbruk",
    )

    with django_capture_on_commit_callbacks(execute=True):
        registration = register(event, "anne")

    (mail,) = mailoutbox
    assert mail.to == ["anne@example.org"]
    assert mail.subject == "You are registered for Webinar om gjenbruk"
    assert "You have a place at “Webinar om gjenbruk”." in mail.body
    assert "10 a.m." in mail.body
    assert "Rådhuset, Asker" in mail.body
    assert "https://meet.example.org/gjenbruk" in mail.body
    assert registration.cancel_url in mail.body
    assert registration.cancel_url.startswith("https://idebanken.example/")
    assert registration.cancel_url.endswith(f"/arrangementer/avmeld/{registration.cancel_token}/")


def test_register_waiting_sends_waiting_list_mail(mailoutbox, django_capture_on_commit_callbacks):
    event = open_event(capacity=1)
    register(event, "anne")

    with django_capture_on_commit_callbacks(execute=True):
        register(event, "bjorn")

    (mail,) = mailoutbox
    assert mail.to == ["bjorn@example.org"]
    assert mail.subject == f"You are on the waiting list for {event.title}"


def test_mails_use_the_language_active_at_registration(
    mailoutbox, django_capture_on_commit_callbacks
):
    # The message texts are translated later; Django's own Norwegian month names show
    # which language the e-mail was rendered in.
    starts_at = datetime(timezone.now().year + 1, 6, 15, 8, 0, tzinfo=UTC)
    event = open_event(title="Nettverksmøte", starts_at=starts_at, capacity=1)
    anne = register(event, "anne")
    with translation.override("nb"), django_capture_on_commit_callbacks(execute=True):
        bjorn = register(event, "bjorn")

    # Cancelled while English is active: the one moving up still gets Norwegian.
    with django_capture_on_commit_callbacks(execute=True):
        anne.cancel()

    assert bjorn.language == "nb"
    waiting_mail, moved_up_mail = mailoutbox
    assert moved_up_mail.to == ["bjorn@example.org"]
    for mail in (waiting_mail, moved_up_mail):
        assert "15. juni" in mail.body
        assert "10:00" in mail.body
    assert "/en/" not in bjorn.cancel_url


@pytest.mark.parametrize(
    ("registration", "message"),
    [
        (Event.Registration.NONE, "This event does not take registrations."),
        (Event.Registration.CLOSED, "Registration for this event is closed."),
    ],
)
def test_register_refused_unless_registration_open(registration, message, mailoutbox):
    event = make_event(registration=registration, capacity=10)

    with pytest.raises(RegistrationRefused) as refused:
        register(event, "anne")

    assert str(refused.value) == message
    assert event.registrations.count() == 0
    assert mailoutbox == []


def test_register_refused_for_past_event():
    event = open_event(starts_at=timezone.now() - timedelta(days=2), capacity=10)

    with pytest.raises(RegistrationRefused) as refused:
        register(event, "anne")

    assert str(refused.value) == "This event has already taken place."
    assert event.registrations.count() == 0


def test_register_refused_for_same_email_in_other_case():
    event = open_event(capacity=10)
    event.register(name="Anne", email="anne.hansen@example.org")

    with pytest.raises(RegistrationRefused) as refused:
        event.register(name="Anne H.", email="Anne.HANSEN@Example.ORG")

    assert str(refused.value) == "This e-mail address is already registered."
    assert event.registrations.count() == 1


def test_register_again_after_cancelling_is_allowed():
    event = open_event(capacity=10)
    first = register(event, "anne")
    first.cancel()

    again = register(event, "anne")

    assert again.status == "confirmed"
    assert statuses(event) == {"anne@example.org": "confirmed"}
    assert event.registrations.filter(status="cancelled").count() == 1


def test_register_same_email_at_other_event_is_allowed():
    register(open_event(capacity=10), "anne")
    other = open_event(capacity=10)

    registration = register(other, "anne")

    assert registration.status == "confirmed"


def test_cancel_confirmed_moves_first_waiting_up_and_mails_them(
    mailoutbox, django_capture_on_commit_callbacks
):
    event = open_event(capacity=2)
    anne, _bjorn, cecilie, dag = (
        register(event, who) for who in ("anne", "bjorn", "cecilie", "dag")
    )
    mailoutbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        anne.cancel()

    assert statuses(event) == {
        "anne@example.org": "cancelled",
        "bjorn@example.org": "confirmed",
        "cecilie@example.org": "confirmed",
        "dag@example.org": "waiting",
    }
    (mail,) = mailoutbox
    assert mail.to == ["cecilie@example.org"]
    assert mail.subject == f"You got a place at {event.title}"
    cecilie.refresh_from_db()
    assert cecilie.cancel_url in mail.body
    dag.refresh_from_db()
    assert dag.status == "waiting"


def test_cancel_waiting_moves_nobody(mailoutbox, django_capture_on_commit_callbacks):
    event = open_event(capacity=2)
    _anne, _bjorn, cecilie, _dag = (
        register(event, who) for who in ("anne", "bjorn", "cecilie", "dag")
    )
    mailoutbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        cecilie.cancel()

    assert statuses(event) == {
        "anne@example.org": "confirmed",
        "bjorn@example.org": "confirmed",
        "cecilie@example.org": "cancelled",
        "dag@example.org": "waiting",
    }
    assert mailoutbox == []


def test_cancel_twice_is_a_no_op(mailoutbox, django_capture_on_commit_callbacks):
    event = open_event(capacity=1)
    anne, bjorn, _cecilie = (register(event, who) for who in ("anne", "bjorn", "cecilie"))
    anne.cancel()
    mailoutbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        anne.cancel()
        # A stale copy still thinks it holds a place; the row says otherwise.
        stale = EventRegistration.objects.get(pk=anne.pk)
        stale.status = "confirmed"
        stale.cancel()

    assert statuses(event) == {
        "anne@example.org": "cancelled",
        "bjorn@example.org": "confirmed",
        "cecilie@example.org": "waiting",
    }
    assert mailoutbox == []


def test_cancel_after_event_moves_nobody_up():
    event = open_event(capacity=1)
    anne, _bjorn = (register(event, who) for who in ("anne", "bjorn"))
    Event.objects.filter(pk=event.pk).update(
        starts_at=timezone.now() - timedelta(hours=3), ends_at=timezone.now() - timedelta(hours=2)
    )

    anne.cancel()

    assert statuses(event) == {"anne@example.org": "cancelled", "bjorn@example.org": "waiting"}


def test_raised_capacity_moves_the_waiting_list_up_in_order(
    mailoutbox, django_capture_on_commit_callbacks
):
    event = open_event(capacity=1)
    for who in ("anne", "bjorn", "cecilie", "dag"):
        register(event, who)
    Event.objects.filter(pk=event.pk).update(capacity=3)

    with django_capture_on_commit_callbacks(execute=True):
        moved = event.fill_free_places()

    assert [r.email for r in moved] == ["bjorn@example.org", "cecilie@example.org"]
    assert statuses(event) == {
        "anne@example.org": "confirmed",
        "bjorn@example.org": "confirmed",
        "cecilie@example.org": "confirmed",
        "dag@example.org": "waiting",
    }
    assert [mail.to for mail in mailoutbox[-2:]] == [["bjorn@example.org"], ["cecilie@example.org"]]


def test_raised_capacity_after_the_event_moves_nobody():
    event = open_event(capacity=1)
    register(event, "anne")
    register(event, "bjorn")
    Event.objects.filter(pk=event.pk).update(
        capacity=2,
        starts_at=timezone.now() - timedelta(hours=3),
        ends_at=timezone.now() - timedelta(hours=2),
    )
    event.refresh_from_db()

    assert event.fill_free_places() == []
    assert statuses(event)["bjorn@example.org"] == "waiting"


def test_cancel_tokens_are_long_and_differ():
    event = open_event(capacity=None)

    tokens = [register(event, f"person{n}").cancel_token for n in range(20)]

    assert len(set(tokens)) == 20
    assert min(len(token) for token in tokens) >= 40


def test_cancel_token_default_differs_for_direct_rows():
    first, second = make_registration(), make_registration()

    assert first.cancel_token != second.cancel_token


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="SQLite has no row locks; it serialises writes"
)
@pytest.mark.django_db(transaction=True)
def test_register_two_at_once_for_the_last_place_never_exceeds_capacity():
    event = open_event(capacity=2)
    register(event, "anne")
    barrier = threading.Barrier(2)
    results: dict[str, object] = {}

    def attempt(who: str) -> None:
        try:
            barrier.wait(timeout=10)
            results[who] = register(Event.objects.get(pk=event.pk), who).status
        except Exception as error:  # reported by the assertion below
            results[who] = error
        finally:
            # Each thread has its own connection; close it so the test database can be dropped.
            connections.close_all()

    threads = [threading.Thread(target=attempt, args=(who,)) for who in ("bjorn", "cecilie")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(results.values()) == ["confirmed", "waiting"]
    assert event.registrations.filter(status="confirmed").count() == 2
    assert event.registrations.filter(status="waiting").count() == 1
