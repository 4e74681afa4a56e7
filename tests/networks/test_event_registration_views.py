"""Registering on the event page, and cancelling through the e-mailed link (no login)."""

from datetime import timedelta

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from networks.models import Event, EventRegistration
from networks.views import REGISTRATIONS_PER_ACCOUNT
from tests.factories import make_confirmed_user, make_event, make_registration

pytestmark = pytest.mark.django_db


def open_event(**overrides) -> Event:
    return make_event(**{"registration": Event.Registration.OPEN, **overrides})


def register_url(event: Event) -> str:
    return reverse("networks:event_register", args=[event.slug])


def cancel_url(registration: EventRegistration) -> str:
    return reverse("networks:registration_cancel", args=[registration.cancel_token])


def shown_messages(response) -> list[tuple[str, str]]:
    return [(m.level_tag, m.message) for m in get_messages(response.wsgi_request)]


def data(**overrides) -> dict[str, str]:
    return {
        "name": "Kari Nordmann",
        "email": "kari@example.org",
        "organisation": "Asker kommune",
        **overrides,
    }


def post(client, event: Event, capture, **overrides):
    """Post the registration form, running the on-commit e-mails."""
    with capture(execute=True):
        return client.post(register_url(event), data(**overrides))


# --- Registering ---------------------------------------------------------------------------


def test_register_confirms_a_place_and_redirects_with_a_message(
    client, mailoutbox, django_capture_on_commit_callbacks
):
    event = open_event(title="Bærekraftsfredag", capacity=10)

    response = post(client, event, django_capture_on_commit_callbacks)

    assert response.status_code == 302
    assert response.url == event.get_absolute_url()
    registration = event.registrations.get()
    assert (registration.name, registration.email, registration.organisation_name) == (
        "Kari Nordmann",
        "kari@example.org",
        "Asker kommune",
    )
    assert registration.status == EventRegistration.Status.CONFIRMED
    assert registration.language == "en"
    assert shown_messages(response) == [
        (
            "success",
            "You are registered for “Bærekraftsfredag”. We have sent a confirmation to "
            "kari@example.org, with a link to cancel if you cannot come after all.",
        )
    ]
    [mail] = mailoutbox
    assert mail.to == ["kari@example.org"]
    assert registration.cancel_token in mail.body


def test_register_in_bokmal_keeps_the_language_for_later_emails(
    client, django_capture_on_commit_callbacks
):
    event = open_event()

    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/arrangementer/{event.slug}/pamelding/", data())

    assert event.registrations.get().language == "nb"


def test_register_when_full_puts_on_the_waiting_list_and_says_so(
    client, mailoutbox, django_capture_on_commit_callbacks
):
    event = open_event(title="Fullt webinar", capacity=1)
    make_registration(event=event)

    response = post(client, event, django_capture_on_commit_callbacks)

    assert response.status_code == 302
    assert event.registrations.get(email="kari@example.org").status == "waiting"
    assert shown_messages(response) == [
        (
            "success",
            "“Fullt webinar” is full, so you are on the waiting list. We have sent an e-mail "
            "to kari@example.org, and we e-mail you again if a place becomes free.",
        )
    ]
    assert [mail.to for mail in mailoutbox] == [["kari@example.org"]]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"registration": Event.Registration.CLOSED}, "Registration for this event is closed."),
        ({"registration": Event.Registration.NONE}, "This event does not take registrations."),
        (
            {"starts_at": timezone.now() - timedelta(days=2)},
            "This event has already taken place.",
        ),
    ],
    ids=["closed", "none", "past"],
)
def test_register_refused_shows_why_on_the_page(
    client, mailoutbox, django_capture_on_commit_callbacks, overrides, message
):
    event = open_event(**overrides)

    response = post(client, event, django_capture_on_commit_callbacks)

    assert response.status_code == 409
    assert response.context["form"].non_field_errors() == [message]
    assert f"<li>{message}</li>" in response.content.decode()
    assert response.content.decode().count("<title>Error:") == 1
    assert not event.registrations.exists()
    assert mailoutbox == []


def test_register_same_email_in_another_case_is_refused_and_keeps_the_form(
    client, mailoutbox, django_capture_on_commit_callbacks
):
    event = open_event()
    make_registration(event=event, email="kari@example.org")

    response = post(
        client, event, django_capture_on_commit_callbacks, email="KARI@Example.ORG", name="Kari N."
    )

    assert response.status_code == 409
    assert response.context["form"].non_field_errors() == [
        "This e-mail address is already registered."
    ]
    assert 'value="Kari N."' in response.content.decode()
    assert event.registrations.count() == 1
    assert mailoutbox == []


def test_register_again_after_cancelling_is_allowed(client, django_capture_on_commit_callbacks):
    event = open_event()
    make_registration(event=event, email="kari@example.org").cancel()

    response = post(client, event, django_capture_on_commit_callbacks)

    assert response.status_code == 302
    assert sorted(event.registrations.values_list("status", flat=True)) == [
        "cancelled",
        "confirmed",
    ]


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"email": "not-an-address"}, "email"),
        ({"email": ""}, "email"),
        ({"name": ""}, "name"),
        ({"name": "x" * 151}, "name"),
        ({"email": "a" * 250 + "@example.org"}, "email"),
        ({"organisation": "x" * 201}, "organisation"),
    ],
)
def test_register_bad_input_is_a_form_error_and_saves_nothing(
    client, mailoutbox, django_capture_on_commit_callbacks, overrides, field
):
    event = open_event()

    response = post(client, event, django_capture_on_commit_callbacks, **overrides)

    assert response.status_code == 200
    assert list(response.context["form"].errors) == [field]
    page = response.content.decode()
    assert 'aria-invalid="true"' in page
    assert f'href="#id_{field}"' in page
    assert not event.registrations.exists()
    assert mailoutbox == []


def test_register_escapes_html_typed_into_the_form(client, django_capture_on_commit_callbacks):
    event = open_event()

    response = post(
        client,
        event,
        django_capture_on_commit_callbacks,
        name='<script>alert("x")</script>',
        email="bad",
    )

    page = response.content.decode()
    assert '<script>alert("x")</script>' not in page
    assert escape('<script>alert("x")</script>') in page


def test_register_names_with_html_are_stored_as_text_and_escaped_in_the_message(
    client, django_capture_on_commit_callbacks
):
    event = open_event(title="<b>Webinar</b>")

    response = post(client, event, django_capture_on_commit_callbacks, name="<i>Kari</i>")

    page = client.get(response.url).content.decode()
    assert event.registrations.get().name == "<i>Kari</i>"
    assert "<b>Webinar</b>" not in page
    assert escape("You are registered for “<b>Webinar</b>”.") in page


def test_register_get_is_not_allowed(client):
    event = open_event()

    response = client.get(register_url(event))

    assert response.status_code == 405
    assert not event.registrations.exists()


def test_register_unknown_event_is_404(client):
    response = client.post(reverse("networks:event_register", args=["no-such-event"]), data())

    assert response.status_code == 404
    assert not EventRegistration.objects.exists()


def test_register_is_rate_limited_per_address(client, django_capture_on_commit_callbacks):
    event = open_event()
    for n in range(20):
        post(client, event, django_capture_on_commit_callbacks, email=f"person{n}@example.org")

    response = post(client, event, django_capture_on_commit_callbacks, email="one@example.org")

    assert response.status_code == 429
    assert "Too many attempts." in response.content.decode()
    assert 'value="one@example.org"' in response.content.decode()
    assert event.registrations.count() == 20
    assert not event.registrations.filter(email="one@example.org").exists()


def test_register_is_rate_limited_per_account_from_any_address(
    client, django_capture_on_commit_callbacks
):
    event = open_event()
    client.force_login(make_confirmed_user())
    for n in range(REGISTRATIONS_PER_ACCOUNT.limit):
        response = client.post(
            register_url(event),
            data(email=f"colleague{n}@example.org"),
            REMOTE_ADDR=f"198.51.100.{n}",
        )
        assert response.status_code == 302

    refused = client.post(
        register_url(event), data(email="one@example.org"), REMOTE_ADDR="203.0.113.9"
    )

    assert refused.status_code == 429
    assert event.registrations.count() == REGISTRATIONS_PER_ACCOUNT.limit
    # Someone else at that address, not signed in, still registers.
    client.logout()
    other = client.post(
        register_url(event), data(email="one@example.org"), REMOTE_ADDR="203.0.113.9"
    )
    assert other.status_code == 302


# --- Cancelling through the e-mailed link -------------------------------------------------------


def test_cancel_page_shows_the_event_and_a_button_and_cancels_nothing(client):
    registration = make_registration(event=open_event(title="Bærekraftsfredag"), name="Kari")

    response = client.get(cancel_url(registration))

    page = response.content.decode()
    assert response.status_code == 200
    assert "Bærekraftsfredag" in page
    assert "Cancel my registration" in page
    assert f'action="{cancel_url(registration)}"' in page
    registration.refresh_from_db()
    assert registration.status == EventRegistration.Status.CONFIRMED


def test_cancel_post_cancels_without_login_and_redirects_with_a_message(client):
    registration = make_registration(event=open_event(title="Bærekraftsfredag"))

    response = client.post(cancel_url(registration))

    assert response.status_code == 302
    assert response.url == cancel_url(registration)
    registration.refresh_from_db()
    assert registration.status == EventRegistration.Status.CANCELLED
    assert shown_messages(response) == [
        (
            "success",
            "Your registration for “Bærekraftsfredag” is cancelled. Thank you for letting us know.",
        )
    ]
    assert "This registration is cancelled." in client.get(response.url).content.decode()


def test_cancel_moves_the_first_waiting_up_and_emails_them(
    client, mailoutbox, django_capture_on_commit_callbacks
):
    event = open_event(capacity=1)
    confirmed = make_registration(event=event)
    first = make_registration(event=event, status=EventRegistration.Status.WAITING)
    second = make_registration(event=event, status=EventRegistration.Status.WAITING)

    with django_capture_on_commit_callbacks(execute=True):
        client.post(cancel_url(confirmed))

    statuses = dict(event.registrations.values_list("pk", "status"))
    assert statuses == {confirmed.pk: "cancelled", first.pk: "confirmed", second.pk: "waiting"}
    [mail] = mailoutbox
    assert mail.to == [first.email]


def test_cancel_twice_says_it_is_already_cancelled_and_sends_nothing(
    client, mailoutbox, django_capture_on_commit_callbacks
):
    event = open_event(capacity=1)
    confirmed = make_registration(event=event)
    make_registration(event=event, status=EventRegistration.Status.WAITING)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(cancel_url(confirmed), follow=True)
    mailoutbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(cancel_url(confirmed))

    assert shown_messages(response) == [("info", "This registration was already cancelled.")]
    assert mailoutbox == []
    assert event.registrations.filter(status="confirmed").count() == 1


def test_cancel_waiting_registration_leaves_the_list(client):
    event = open_event(capacity=1)
    confirmed = make_registration(event=event)
    waiting = make_registration(event=event, status=EventRegistration.Status.WAITING)

    page = client.get(cancel_url(waiting)).content.decode()
    client.post(cancel_url(waiting))

    assert "You are on the waiting list." in page
    assert dict(event.registrations.values_list("pk", "status")) == {
        confirmed.pk: "confirmed",
        waiting.pk: "cancelled",
    }


def test_cancel_after_the_event_changes_nothing(client):
    event = open_event(starts_at=timezone.now() - timedelta(days=3))
    registration = make_registration(event=event)

    page = client.get(cancel_url(registration)).content.decode()
    response = client.post(cancel_url(registration))

    assert "The event has already taken place, so there is nothing to cancel." in page
    assert "Cancel my registration" not in page
    assert shown_messages(response) == [
        ("error", "The event has already taken place, so there is nothing to cancel.")
    ]
    registration.refresh_from_db()
    assert registration.status == EventRegistration.Status.CONFIRMED


@pytest.mark.parametrize("method", ["get", "post"])
@pytest.mark.parametrize("token", ["forged-token", "x" * 43, "x" * 500])
def test_cancel_forged_token_is_404_with_a_clear_message(client, method, token):
    registration = make_registration()

    response = getattr(client, method)(f"/en/arrangementer/avmeld/{token}/")

    assert response.status_code == 404
    assert "The cancel link does not work" in response.content.decode()
    registration.refresh_from_db()
    assert registration.status == EventRegistration.Status.CONFIRMED


def test_cancel_other_methods_are_not_allowed(client):
    registration = make_registration()

    response = client.put(cancel_url(registration))

    assert response.status_code == 405
    registration.refresh_from_db()
    assert registration.status == EventRegistration.Status.CONFIRMED


def test_cancel_link_in_the_email_opens_the_cancel_page(
    client, mailoutbox, django_capture_on_commit_callbacks, settings
):
    settings.SITE_URL = "https://idebanken.example"
    event = open_event()
    post(client, event, django_capture_on_commit_callbacks)
    registration = event.registrations.get()

    [mail] = mailoutbox
    link = f"https://idebanken.example{cancel_url(registration)}"
    assert link in mail.body
    response = client.get(link.removeprefix("https://idebanken.example"))
    assert response.status_code == 200
    assert response.context["registration"] == registration
