"""Contact without exposure: confirmed accounts write through a form; the address stays hidden."""

from smtplib import SMTPException

import pytest
from django.conf import settings
from django.contrib.messages import get_messages
from django.core.mail.backends.base import BaseEmailBackend
from django.urls import reverse

from ideabank.models import OutgoingMail, profile_for
from ideabank.tasks import retry_waiting_mail
from initiatives.models import Initiative
from initiatives.views import CONTACT_MESSAGES_PER_ACCOUNT, CONTACT_MESSAGES_PER_IP
from tests.factories import make_confirmed_user, make_initiative, make_user

pytestmark = pytest.mark.django_db

ADDRESS = "kari.kontakt@asker.kommune.no"
PHONE = "+47 912 34 567"


class FailingBackend(BaseEmailBackend):
    """A mail server that is down."""

    def send_messages(self, email_messages):
        raise SMTPException("Connection refused")


@pytest.fixture
def initiative():
    return make_initiative(
        status=Initiative.Status.PUBLISHED,
        title="Matsvinn i barnehagen",
        contact_name="Kari Kontakt",
        contact_email=ADDRESS,
        contact_phone=PHONE,
    )


@pytest.fixture
def sender():
    return make_confirmed_user(
        username="ola", email="ola@example.org", first_name="Ola", last_name="Nordmann"
    )


@pytest.fixture
def writer(client, sender):
    """A client signed in with a confirmed account."""
    client.force_login(sender)
    return client


def contact_url(initiative: Initiative) -> str:
    return reverse("initiatives:contact", args=[initiative.slug])


def message(**overrides) -> dict:
    return {
        "name": "Ola Nordmann",
        "email": "ola@example.org",
        "message": "Hvordan veide dere matsvinnet?",
        "homepage": "",
        **overrides,
    }


def test_contact_anonymous_page_hides_the_address_and_links_to_the_form(client, initiative):
    response = client.get(initiative.get_absolute_url())

    assert ADDRESS not in response.text
    assert PHONE not in response.text
    assert "Kari Kontakt" in response.text
    assert f'href="{contact_url(initiative)}"' in response.text


def test_contact_confirmed_account_sees_the_address_directly(client, initiative, submitter):
    profile_for(submitter).confirm_email()
    client.force_login(submitter)

    response = client.get(initiative.get_absolute_url())

    assert f'href="mailto:{ADDRESS}"' in response.text
    assert PHONE in response.text


def test_contact_form_page_names_the_person_not_the_address(writer, initiative):
    response = writer.get(contact_url(initiative))

    assert response.status_code == 200
    assert "Kari Kontakt" in response.text
    assert initiative.lead_organisation.name in response.text
    assert ADDRESS not in response.text
    assert 'aria-hidden="true"' in response.text
    assert 'tabindex="-1"' in response.text


def test_contact_sends_to_the_contact_person_with_reply_to_the_sender(
    writer, initiative, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = writer.post(contact_url(initiative), message())

    assert response.url == initiative.get_absolute_url()
    [mail] = mailoutbox
    assert mail.to == [ADDRESS]
    assert mail.reply_to == ["ola@example.org"]
    assert mail.from_email == settings.DEFAULT_FROM_EMAIL
    assert "Matsvinn i barnehagen" in mail.subject
    assert "Hvordan veide dere matsvinnet?" in mail.body
    assert "Ola Nordmann <ola@example.org>" in mail.body
    # In the bank's default language: the link has no /en/ prefix although the form was English.
    assert f"{settings.SITE_URL}/tiltak/{initiative.slug}/" in mail.body
    notices = [m.message for m in get_messages(response.wsgi_request)]
    assert notices == ["Your message was sent. The contact person replies to your e-mail address."]


def test_contact_replies_go_to_the_confirmed_address_never_a_typed_one(
    writer, initiative, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        writer.post(contact_url(initiative), message(email="someone.else@example.org"))

    [mail] = mailoutbox
    assert mail.reply_to == ["ola@example.org"]
    assert "someone.else@example.org" not in mail.body


def test_contact_form_offers_the_account_name_and_address(writer, initiative):
    response = writer.get(contact_url(initiative))

    form = response.context["form"]
    assert (form["name"].value(), form["email"].value()) == ("Ola Nordmann", "ola@example.org")
    assert form.fields["email"].disabled is True
    # Nothing to type an address into: the page names the one replies go to.
    assert 'name="email"' not in response.text
    assert "They reply to your e-mail address, ola@example.org." in response.text


@pytest.mark.parametrize("method", ["get", "post"])
def test_contact_anonymous_sent_to_login(client, initiative, mailoutbox, method):
    response = getattr(client, method)(contact_url(initiative), message())

    assert response.status_code == 302
    assert response.url.startswith(reverse("accounts:login"))
    assert mailoutbox == []
    assert OutgoingMail.objects.count() == 0


@pytest.mark.parametrize("method", ["get", "post"])
def test_contact_unconfirmed_account_is_told_to_confirm_and_nothing_is_sent(
    client, initiative, mailoutbox, django_capture_on_commit_callbacks, method
):
    client.force_login(make_user(email="unconfirmed@example.org"))

    with django_capture_on_commit_callbacks(execute=True):
        response = getattr(client, method)(contact_url(initiative), message())

    assert response.status_code == 403
    assert "Confirm your e-mail address first" in response.text
    assert f'action="{reverse("accounts:resend_confirmation")}"' in response.text
    assert "unconfirmed@example.org" in response.text
    assert mailoutbox == []
    assert OutgoingMail.objects.count() == 0


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": "n" * 151}, "name"),
        ({"message": ""}, "message"),
        ({"message": "m" * 3001}, "message"),
    ],
)
def test_contact_bad_input_is_refused_and_kept(writer, initiative, mailoutbox, overrides, field):
    response = writer.post(contact_url(initiative), message(**overrides))

    assert response.status_code == 200
    assert list(response.context["form"].errors) == [field]
    assert 'class="ds-error-summary' in response.text
    assert ADDRESS not in response.text
    assert mailoutbox == []


def test_contact_html_is_escaped_when_the_form_comes_back(writer, initiative):
    response = writer.post(
        contact_url(initiative), message(name="", message="<script>alert(1)</script>")
    )

    assert "<script>alert(1)</script>" not in response.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in response.text


def test_contact_robot_filling_the_trap_is_told_it_went_but_nothing_is_sent(
    writer, initiative, mailoutbox
):
    response = writer.post(contact_url(initiative), message(homepage="https://spam.example"))

    assert response.url == initiative.get_absolute_url()
    assert mailoutbox == []


@pytest.mark.parametrize("status", ["draft", "submitted", "rejected", "archived"])
def test_contact_unpublished_initiative_is_404(writer, status, mailoutbox):
    hidden = make_initiative(status=status, contact_email=ADDRESS)

    assert writer.get(contact_url(hidden)).status_code == 404
    assert writer.post(contact_url(hidden), message()).status_code == 404
    assert mailoutbox == []


def test_contact_without_an_address_is_404_and_has_no_link(writer, mailoutbox):
    silent = make_initiative(status="published", contact_name="Per Uten Epost")

    assert writer.post(contact_url(silent), message()).status_code == 404
    writer.logout()
    assert contact_url(silent) not in writer.get(silent.get_absolute_url()).text
    assert mailoutbox == []


def test_contact_get_is_a_form_not_a_change(writer, initiative, mailoutbox):
    response = writer.get(contact_url(initiative))

    assert response.context["form"].is_bound is False
    assert mailoutbox == []


def test_contact_limited_per_account_with_429_keeping_the_form(writer, initiative):
    for _ in range(CONTACT_MESSAGES_PER_ACCOUNT.limit):
        writer.post(contact_url(initiative), message(), REMOTE_ADDR="198.51.100.1")

    # From another address: the account's limit follows it.
    response = writer.post(
        contact_url(initiative),
        message(message="Én gang til, vær så snill"),
        REMOTE_ADDR="198.51.100.2",
    )

    assert response.status_code == 429
    assert "Many messages have been sent from your account or your connection" in response.text
    assert 0 < int(response["Retry-After"]) <= 60 * 60
    assert "Én gang til, vær så snill" in response.text
    assert ADDRESS not in response.text
    assert OutgoingMail.objects.count() == CONTACT_MESSAGES_PER_ACCOUNT.limit
    # Someone else, from the same address, can still write.
    writer.force_login(make_confirmed_user())
    other = writer.post(contact_url(initiative), message(), REMOTE_ADDR="198.51.100.1")
    assert other.status_code == 302
    assert OutgoingMail.objects.count() == CONTACT_MESSAGES_PER_ACCOUNT.limit + 1


def test_contact_limited_per_client_address(client, initiative):
    for _ in range(CONTACT_MESSAGES_PER_IP.limit):
        client.force_login(make_confirmed_user())
        client.post(contact_url(initiative), message(), REMOTE_ADDR="198.51.100.9")
    client.force_login(make_confirmed_user())

    response = client.post(contact_url(initiative), message(), REMOTE_ADDR="198.51.100.9")

    assert response.status_code == 429
    assert OutgoingMail.objects.count() == CONTACT_MESSAGES_PER_IP.limit
    # The same fresh account from another address still gets through.
    other = client.post(contact_url(initiative), message(), REMOTE_ADDR="203.0.113.1")
    assert other.status_code == 302


def test_contact_many_senders_cannot_silence_an_initiative(client, initiative):
    # Was: 20 messages from 4 addresses closed the form on the initiative for a day.
    senders = 30
    for number in range(senders):
        client.force_login(make_confirmed_user())
        response = client.post(
            contact_url(initiative), message(), REMOTE_ADDR=f"198.51.100.{number}"
        )
        assert response.status_code == 302
    client.force_login(make_confirmed_user())

    fresh = client.post(contact_url(initiative), message(), REMOTE_ADDR="203.0.113.50")

    assert fresh.status_code == 302
    assert OutgoingMail.objects.filter(to=ADDRESS).count() == senders + 1


def test_contact_mail_server_down_the_message_waits_and_is_sent_later(
    writer, initiative, settings, mailoutbox, django_capture_on_commit_callbacks
):
    settings.EMAIL_BACKEND = "tests.initiatives.test_contact.FailingBackend"

    with django_capture_on_commit_callbacks(execute=True):
        response = writer.post(contact_url(initiative), message())

    # The sender is told it went: it will, when the server answers.
    assert response.status_code == 302
    waiting = OutgoingMail.objects.get()
    assert (waiting.status, waiting.to, waiting.reply_to) == ("waiting", ADDRESS, "ola@example.org")
    assert "Hvordan veide dere matsvinnet?" in waiting.body
    assert "Connection refused" in waiting.last_error

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    OutgoingMail.objects.update(next_attempt_at=waiting.created)
    retry_waiting_mail.call()

    assert [mail.to for mail in mailoutbox] == [[ADDRESS]]
