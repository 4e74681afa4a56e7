"""Accounts: sign-up and e-mail confirmation, log in and out, passwords, the profile, limits."""

import re
import time
from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.messages import get_messages
from django.core import signing
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext

from ideabank import views
from ideabank.models import OutgoingMail, Profile, confirmation_token
from initiatives.models import OrganisationMember
from tests.factories import make_org_member, make_user

pytestmark = pytest.mark.django_db

User = get_user_model()
PASSWORD = "a long and fine passphrase"
JOIN_PATH = {"nb": "/organisasjoner/bli-med/", "en": "/en/organisasjoner/bli-med/"}
SIGNUP_DONE_PATH = {"nb": "/konto/registrer/sendt/", "en": "/en/konto/registrer/sendt/"}
MY_PAGE_PATH = "/en/min-side/"  # log_in() posts to the English login page


def url(name: str, language: str = "nb", *args, **kwargs) -> str:
    with translation.override(language):
        return reverse(name, args=args, kwargs=kwargs)


def translated(text: str, language: str, **params: str) -> str:
    """`text` (a source string, placeholders and all) in `language`, filled in with `params`."""
    with translation.override(language):
        return gettext(text) % params


def signup_data(**overrides) -> dict:
    return {"name": "Kari Nordmann", "email": "kari@example.org", "password": PASSWORD, **overrides}


def sign_up(client, capture, language: str = "nb", **overrides):
    with capture(execute=True):
        return client.post(url("accounts:signup", language), signup_data(**overrides))


def make_account(email: str = "kari@example.org", *, confirmed: bool = False, language="nb"):
    """An account as sign-up makes it: the address is the username."""
    user = make_user(username=email, email=email, password=PASSWORD, first_name="Kari Nordmann")
    profile = Profile.objects.create(user=user, language=language)
    if confirmed:
        profile.confirm_email()
    return user


def is_confirmed(user) -> bool:
    return Profile.objects.get(user=user).email_confirmed


def link_in(body: str) -> str:
    (link,) = re.findall(r"^https?://\S+$", body, flags=re.MULTILINE)
    return link.removeprefix(settings.SITE_URL)


def message_texts(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def log_in(client, email: str, password: str = PASSWORD, *, ip: str = "192.0.2.1", **extra):
    # In English: the assertions read the source strings.
    return client.post(
        url("accounts:login", "en"),
        {"username": email, "password": password, **extra},
        REMOTE_ADDR=ip,
    )


# --- Sign-up ---------------------------------------------------------------------------


@pytest.mark.parametrize("language", ["nb", "en"])
def test_signup_makes_account_and_mails_confirmation_in_page_language(
    client, mailoutbox, django_capture_on_commit_callbacks, language
):
    response = sign_up(
        client, django_capture_on_commit_callbacks, language, email="Kari@Example.ORG"
    )

    user = User.objects.get()
    (mail,) = mailoutbox
    assert response.status_code == 302
    assert response.headers["Location"] == SIGNUP_DONE_PATH[language]
    assert (user.username, user.email, user.get_full_name()) == (
        "kari@example.org",
        "kari@example.org",
        "Kari Nordmann",
    )
    assert user.check_password(PASSWORD)
    assert user.profile.language == language
    assert user.profile.email_confirmed is False
    # Not logged in: an address that already has an account gets this very answer.
    assert response.wsgi_request.user.is_authenticated is False
    assert mail.to == ["kari@example.org"]
    assert mail.subject == translated(
        "Confirm your e-mail address for %(site_name)s", language, site_name="Idébanken"
    )
    assert link_in(mail.body).startswith(url("accounts:confirm_email", language, "x")[:-3])
    assert link_in(mail.body).startswith("/en/konto/bekreft/" if language == "en" else "/konto/")


def test_signup_done_page_says_check_your_email(client, django_capture_on_commit_callbacks):
    response = sign_up(client, django_capture_on_commit_callbacks, "en")

    page = client.get(response.headers["Location"])

    assert page.status_code == 200
    assert "<title>Check your e-mail – Idébanken</title>" in page.text
    assert "We have sent an e-mail to kari@example.org." in page.text
    assert f'href="{url("accounts:login", "en")}"' in page.text


def test_signup_then_confirm_by_post_confirms_and_log_in_goes_to_join_page(
    client, mailoutbox, django_capture_on_commit_callbacks
):
    sign_up(client, django_capture_on_commit_callbacks)
    link = link_in(mailoutbox[0].body)

    page = client.get(link)
    confirmed_by_get = is_confirmed(User.objects.get())
    response = client.post(link)
    login_page = client.get(response.headers["Location"])
    logged_in = client.post(
        url("accounts:login"),
        {"username": "kari@example.org", "password": PASSWORD, "next": JOIN_PATH["nb"]},
    )

    assert page.status_code == 200
    assert 'method="post"' in page.text
    assert confirmed_by_get is False
    assert response.status_code == 302
    assert response.headers["Location"] == f"{url('accounts:login')}?next={JOIN_PATH['nb']}"
    assert message_texts(response) == [
        translated(
            "Thank you. Your e-mail address %(email)s is confirmed. Log in to go on.",
            "nb",
            email="kari@example.org",
        )
    ]
    assert is_confirmed(User.objects.get()) is True
    assert f'<input type="hidden" name="next" value="{JOIN_PATH["nb"]}">' in login_page.text
    assert logged_in.headers["Location"] == JOIN_PATH["nb"]


def test_confirm_when_logged_in_goes_to_my_page_for_a_member(client):
    user = make_account()
    make_org_member(user=user, status=OrganisationMember.Status.ACTIVE)
    client.force_login(user)

    response = client.post(url("accounts:confirm_email", "en", confirmation_token(user)))

    assert response.headers["Location"] == MY_PAGE_PATH
    assert message_texts(response) == [
        "Thank you. Your e-mail address kari@example.org is confirmed."
    ]
    assert is_confirmed(user) is True


def test_confirm_page_in_english_shows_the_address_escaped(client):
    user = make_account("<script>x</script>@example.org")

    response = client.get(url("accounts:confirm_email", "en", confirmation_token(user)))

    assert response.status_code == 200
    assert "&lt;script&gt;x&lt;/script&gt;@example.org" in response.text
    assert "<script>x</script>" not in response.text


@pytest.mark.parametrize(
    "token",
    [
        "forged",
        "WzEsImFiYyJd:1tAbCd:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "x" * 5000,
        signing.dumps([1, "0" * 16], salt="another.salt"),
        signing.dumps("not a list", salt="ideabank.accounts.confirm-email"),
    ],
    # Fixed ids: a signed token holds the time, and parallel workers (pytest-xdist) must
    # collect the same test names.
    ids=["forged", "bad-signature", "huge", "other-salt", "not-a-list"],
)
def test_confirm_refuses_forged_tokens(client, token):
    user = make_account()

    page = client.get(url("accounts:confirm_email", "en", token))
    post = client.post(url("accounts:confirm_email", "en", token))

    assert page.status_code == post.status_code == 400
    assert "The link does not work" in page.text
    assert is_confirmed(user) is False


def test_confirm_refuses_expired_token(client, monkeypatch):
    user = make_account()
    with monkeypatch.context() as past:
        four_days_ago = time.time() - timedelta(days=4).total_seconds()
        past.setattr(time, "time", lambda: four_days_ago)
        token = confirmation_token(user)

    response = client.post(url("accounts:confirm_email", "en", token))

    assert response.status_code == 400
    assert "The link has expired" in response.text
    assert is_confirmed(user) is False


def test_confirm_token_two_days_old_still_works(client, monkeypatch):
    user = make_account()
    with monkeypatch.context() as past:
        two_days_ago = time.time() - timedelta(days=2).total_seconds()
        past.setattr(time, "time", lambda: two_days_ago)
        token = confirmation_token(user)

    client.post(url("accounts:confirm_email", "en", token))

    assert is_confirmed(user) is True


def test_confirm_token_is_void_after_the_address_changes(client):
    user = make_account()
    token = confirmation_token(user)
    User.objects.filter(pk=user.pk).update(email="other@example.org")

    response = client.post(url("accounts:confirm_email", "en", token))

    assert response.status_code == 400
    assert is_confirmed(user) is False


def test_invalid_link_offers_a_new_one_to_the_signed_in_unconfirmed_user(client):
    user = make_account()
    client.force_login(user)

    response = client.get(url("accounts:confirm_email", "en", "forged"))

    assert f'action="{url("accounts:resend_confirmation", "en")}"' in response.text


def test_invalid_link_tells_anonymous_to_log_in_for_a_new_one(client):
    response = client.get(url("accounts:confirm_email", "en", "forged"))

    assert f'href="{url("accounts:login", "en")}?next={url("accounts:profile", "en")}"' in (
        response.text
    )


def test_resend_confirmation_mails_a_new_link_in_the_users_language(
    client, mailoutbox, django_capture_on_commit_callbacks
):
    user = make_account(language="en")
    client.force_login(user)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url("accounts:resend_confirmation", "nb"))

    (mail,) = mailoutbox
    assert response.headers["Location"] == url("accounts:profile", "nb")
    assert link_in(mail.body).startswith("/en/konto/bekreft/")
    client.post(link_in(mail.body))
    assert is_confirmed(user) is True


def test_resend_confirmation_for_a_confirmed_user_sends_nothing(client, mailoutbox):
    client.force_login(make_account(confirmed=True))

    response = client.post(url("accounts:resend_confirmation", "en"))

    assert mailoutbox == []
    assert message_texts(response) == ["Your e-mail address is already confirmed."]


def test_resend_confirmation_is_rate_limited(
    client, mailoutbox, django_capture_on_commit_callbacks
):
    client.force_login(make_account())
    limit = views.CONFIRMATION_MAILS_PER_ACCOUNT.limit

    with django_capture_on_commit_callbacks(execute=True):
        statuses = [
            client.post(url("accounts:resend_confirmation", "en")).status_code for _ in range(limit)
        ]
        refused = client.post(url("accounts:resend_confirmation", "en"))

    assert statuses == [302] * limit
    assert len(mailoutbox) == limit
    assert refused.status_code == 429
    assert re.search(r"Too many attempts\. Wait \d+ minutes? and try again\.", refused.text)


def test_resend_confirmation_get_is_405_and_anonymous_goes_to_login(client):
    get = client.get(url("accounts:resend_confirmation", "en"))
    post = client.post(url("accounts:resend_confirmation", "en"))

    assert get.status_code == 405
    assert post.status_code == 302
    assert post.headers["Location"].startswith(url("accounts:login", "en") + "?next=")


@pytest.mark.parametrize(
    ("password", "error"),
    [
        ("short1", "This password is too short. It must contain at least 8 characters."),
        ("password123", "This password is too common."),
        ("84736251947", "This password is entirely numeric."),
        ("kari.nordmann", "The password is too similar to your name."),
        ("kari@example", "The password is too similar to your e-mail address."),
    ],
)
def test_signup_refuses_weak_password(client, password, error):
    response = client.post(url("accounts:signup", "en"), signup_data(password=password))

    assert error in response.context["form"].errors["password"]
    assert User.objects.count() == 0
    assert 'aria-describedby="id_password_helptext id_password_error"' in response.text
    assert 'name="password" autocomplete="new-password"' in response.text
    assert re.search(r'<input type="password"[^>]*value=', response.text) is None


def test_signup_refuses_address_longer_than_a_username(client):
    email = "k" * 140 + "@example.org"

    response = client.post(url("accounts:signup", "en"), signup_data(email=email))

    assert response.context["form"].errors["email"] == [
        "Use an e-mail address of at most 150 characters (this one has 152)."
    ]
    assert User.objects.count() == 0


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"name": "x" * 100_000, "email": "y" * 100_000, "password": "z" * 100_000},
        {"name": ["a", "b"], "email": ["a@example.org", "b@example.org"], "password": [1, 2]},
        {"name": "\x00", "email": "kari@example.org\x00", "password": "\x00" * 20},
        {"name": "   ", "email": "@", "password": " "},
    ],
)
def test_signup_bad_input_gets_errors_never_500(client, data):
    response = client.post(url("accounts:signup", "en"), data)

    # A NUL byte is 400 on every page (ideabank.clean_input).
    if any("\x00" in str(value) for value in data.values()):
        assert response.status_code == 400
        assert User.objects.count() == 0
        return
    assert response.status_code == 200
    assert response.context["form"].errors
    assert 'class="ds-error-summary error-summary"' in response.text
    assert User.objects.count() == 0


def test_signup_shows_error_summary_linking_to_fields(client):
    response = client.post(url("accounts:signup", "en"), {"name": "", "email": "bad"})

    assert response.status_code == 200
    assert "<title>Error: Sign up – Idébanken</title>" in response.text
    assert [
        (href, text.split(":")[0])
        for href, text in re.findall(
            r'<li><a class="ds-link" href="(#[^"]+)">([^<]+)</a></li>', response.text
        )
    ] == [
        ("#id_name", "Full name"),
        ("#id_email", "E-mail address"),
        ("#id_password", "Password"),
    ]
    assert 'aria-invalid="true" aria-describedby="id_name_error" id="id_name"' in response.text


def test_signup_escapes_html_in_the_name(client, django_capture_on_commit_callbacks):
    sign_up(client, django_capture_on_commit_callbacks, name="<script>alert(1)</script>")
    client.force_login(User.objects.get())

    response = client.get(url("accounts:profile", "en"))

    assert User.objects.get().first_name == "<script>alert(1)</script>"
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in response.text
    assert "<script>alert(1)</script>" not in response.text


def test_signup_is_rate_limited_per_address(client):
    limit = views.SIGNUPS_PER_IP.limit
    for number in range(limit):
        client.post(
            url("accounts:signup", "en"),
            signup_data(email=f"p{number}@example.org", password="x"),
            REMOTE_ADDR="192.0.2.7",
        )

    refused = client.post(
        url("accounts:signup", "en"), signup_data(password=PASSWORD), REMOTE_ADDR="192.0.2.7"
    )
    elsewhere = client.post(url("accounts:signup", "en"), signup_data(), REMOTE_ADDR="192.0.2.8")

    assert refused.status_code == 429
    assert "Too many attempts. Wait" in refused.text
    assert 'value="kari@example.org"' in refused.text
    assert 'value="Kari Nordmann"' in refused.text
    assert PASSWORD not in refused.text
    assert elsewhere.status_code == 302
    assert list(User.objects.values_list("email", flat=True)) == ["kari@example.org"]


# --- Log in and out ------------------------------------------------------------------


def test_login_ignores_letter_case_of_the_address(client):
    user = make_account("kari@example.org")

    response = log_in(client, "  KARI@Example.Org ")

    assert response.status_code == 302
    assert response.headers["Location"] == MY_PAGE_PATH
    assert response.wsgi_request.user == user


def test_login_finds_account_made_in_the_admin_by_its_address(client):
    user = make_user(username="kari", email="Kari@Example.org", password=PASSWORD)

    response = log_in(client, "kari@example.org")

    assert response.status_code == 302
    assert response.wsgi_request.user == user


def test_login_follows_safe_next_and_ignores_other_sites(client):
    make_account()

    inside = log_in(client, "kari@example.org", next="/tiltak/?q=mat")
    client.logout()
    outside = log_in(client, "kari@example.org", next="https://evil.example/")

    assert inside.headers["Location"] == "/tiltak/?q=mat"
    assert outside.headers["Location"] == MY_PAGE_PATH


def test_login_page_keeps_next_from_the_query(client):
    response = client.get(url("accounts:login", "en") + "?next=/tiltak/")

    assert '<input type="hidden" name="next" value="/tiltak/">' in response.text


def test_login_wrong_password_says_so_and_keeps_the_address(client):
    make_account()

    response = log_in(client, "kari@example.org", "wrong password")

    assert response.status_code == 200
    assert response.context["form"].non_field_errors() == [
        "The e-mail address or the password is wrong."
    ]
    assert 'value="kari@example.org"' in response.text
    assert "wrong password" not in response.text
    assert response.wsgi_request.user.is_authenticated is False


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"username": "x" * 100_000, "password": "y" * 100_000},
        {"username": ["a@example.org", "b@example.org"], "password": ["1", "2"]},
        {"username": "kari@example.org\x00", "password": "\x00"},
    ],
)
def test_login_bad_input_gets_errors_never_500(client, data):
    make_account()

    response = client.post(url("accounts:login", "en"), data)

    # A NUL byte is 400 on every page (ideabank.clean_input).
    if any("\x00" in str(value) for value in data.values()):
        assert response.status_code == 400
        assert "_auth_user_id" not in client.session
        return
    assert response.status_code == 200
    assert response.context["form"].errors
    assert response.wsgi_request.user.is_authenticated is False


def test_login_inactive_account_is_refused(client):
    user = make_account()
    User.objects.filter(pk=user.pk).update(is_active=False)

    response = log_in(client, "kari@example.org")

    assert response.status_code == 200
    assert response.wsgi_request.user.is_authenticated is False


def test_login_eleventh_failure_from_an_address_is_429_there_until_the_window_passes(
    client, monkeypatch
):
    make_account("kari@example.org")
    ola = make_account("ola@example.org")
    start = time.time()
    for _ in range(views.LOGIN_FAILURES_PER_ACCOUNT_AND_IP.limit):
        log_in(client, "kari@example.org", "wrong", ip="198.51.100.1")

    refused = log_in(client, "KARI@example.org", "wrong", ip="198.51.100.1")
    refused_right_password = log_in(client, "kari@example.org", ip="198.51.100.1")
    other_account = log_in(client, "ola@example.org", ip="198.51.100.1")
    client.logout()
    monkeypatch.setattr(
        time, "time", lambda: start + views.LOGIN_FAILURES_PER_ACCOUNT_AND_IP.window
    )
    later = log_in(client, "kari@example.org", ip="198.51.100.1")

    assert refused.status_code == 429
    assert re.search(r"Too many attempts\. Wait \d+ minutes? and try again\.", refused.text)
    assert 'value="KARI@example.org"' in refused.text
    assert int(refused.headers["Retry-After"]) <= 15 * 60
    assert refused_right_password.status_code == 429
    assert refused_right_password.wsgi_request.user.is_authenticated is False
    assert other_account.status_code == 302
    assert other_account.wsgi_request.user == ola
    assert later.status_code == 302
    assert later.wsgi_request.user.email == "kari@example.org"


def test_login_success_clears_the_failures(client):
    make_account()
    for _ in range(views.LOGIN_FAILURES_PER_ACCOUNT_AND_IP.limit - 1):
        log_in(client, "kari@example.org", "wrong")
    log_in(client, "kari@example.org")
    client.logout()

    failures = [log_in(client, "kari@example.org", "wrong").status_code for _ in range(3)]

    assert failures == [200, 200, 200]


def test_login_attempts_per_address_are_limited_across_accounts(client):
    make_account()
    for number in range(views.LOGIN_ATTEMPTS_PER_IP.limit):
        log_in(client, f"p{number}@example.org", "wrong", ip="203.0.113.9")

    refused = log_in(client, "kari@example.org", ip="203.0.113.9")
    elsewhere = log_in(client, "kari@example.org", ip="203.0.113.10")

    assert refused.status_code == 429
    assert refused.wsgi_request.user.is_authenticated is False
    assert elsewhere.status_code == 302


def test_logout_is_post_only_and_logs_out(client):
    client.force_login(make_account())

    get = client.get(url("accounts:logout", "en"))
    still_in = get.wsgi_request.user.is_authenticated
    post = client.post(url("accounts:logout", "en"))

    assert get.status_code == 405
    assert still_in is True
    assert post.status_code == 302
    assert post.headers["Location"] == url("home", "en")
    assert post.wsgi_request.user.is_authenticated is False
    assert message_texts(post) == ["You are logged out."]


# --- The header ----------------------------------------------------------------------


def test_header_offers_anonymous_log_in_and_sign_up(client):
    response = client.get(url("about", "en"))

    assert f'href="{url("accounts:login", "en")}?next=/en/om/"' in response.text
    assert f'href="{url("accounts:signup", "en")}"' in response.text
    assert url("accounts:logout", "en") not in response.text


def test_header_shows_signed_in_user_my_page_and_log_out(client):
    client.force_login(make_account())

    response = client.get(url("about", "en"))

    assert f'href="{url("initiatives:my_page", "en")}">My page</a>' in response.text
    assert 'Kari Nordmann<span class="ds-sr-only"> – your profile</span>' in response.text
    assert f'action="{url("accounts:logout", "en")}" method="post"' in response.text
    assert url("accounts:signup", "en") not in response.text


# --- Passwords -----------------------------------------------------------------------


def test_password_change_round_trip(client):
    user = make_account()
    client.force_login(user)

    response = client.post(
        url("accounts:password_change", "en"),
        {
            "old_password": PASSWORD,
            "new_password1": "another fine passphrase",
            "new_password2": "another fine passphrase",
        },
    )
    client.logout()

    assert response.headers["Location"] == url("accounts:password_change_done", "en")
    assert log_in(client, "kari@example.org", "another fine passphrase").status_code == 302


def test_password_change_wrong_old_password_is_refused(client):
    user = make_account()
    client.force_login(user)

    response = client.post(
        url("accounts:password_change", "en"),
        {"old_password": "wrong", "new_password1": "x" * 20, "new_password2": "x" * 20},
    )

    user.refresh_from_db()
    assert response.status_code == 200
    assert "old_password" in response.context["form"].errors
    assert user.check_password(PASSWORD)


def test_password_change_anonymous_goes_to_login(client):
    response = client.get(url("accounts:password_change", "en"))

    assert response.headers["Location"].startswith(url("accounts:login", "en") + "?next=")


@pytest.mark.parametrize("language", ["nb", "en"])
def test_password_reset_round_trip_in_users_language(
    client, mailoutbox, language, django_capture_on_commit_callbacks
):
    user = make_account(language=language)

    with django_capture_on_commit_callbacks(execute=True):
        sent = client.post(url("accounts:password_reset", "nb"), {"email": "KARI@example.org"})
    (mail,) = mailoutbox
    link = link_in(mail.body)
    form_page = client.get(link, follow=True)
    done = client.post(
        form_page.redirect_chain[-1][0],
        {"new_password1": "a brand new passphrase", "new_password2": "a brand new passphrase"},
    )

    assert sent.headers["Location"] == url("accounts:password_reset_done", "nb")
    assert mail.to == ["kari@example.org"]
    assert mail.subject == translated(
        "Choose a new password for %(site_name)s", language, site_name="Idébanken"
    )
    assert link.startswith("/en/konto/" if language == "en" else "/konto/")
    assert form_page.status_code == 200
    assert done.headers["Location"] == url("accounts:password_reset_complete", language)
    assert log_in(client, "kari@example.org", "a brand new passphrase").status_code == 302
    # The link came to the address: it is confirmed now too.
    assert is_confirmed(user) is True


def test_password_reset_unknown_address_sends_nothing_and_says_the_same(client, mailoutbox):
    response = client.post(url("accounts:password_reset", "en"), {"email": "nobody@example.org"})

    assert response.headers["Location"] == url("accounts:password_reset_done", "en")
    assert mailoutbox == []


def test_password_reset_bad_link_says_so(client):
    response = client.get(url("accounts:password_reset_confirm", "en", uidb64="MQ", token="x-y"))

    assert response.status_code == 200
    assert "The link does not work" in response.text


def test_password_reset_is_rate_limited_per_address_and_account(client):
    make_account()
    limit = views.PASSWORD_RESETS_PER_ACCOUNT_AND_IP.limit
    for _ in range(limit):
        client.post(
            url("accounts:password_reset", "en"),
            {"email": "kari@example.org"},
            REMOTE_ADDR="192.0.2.1",
        )

    refused = client.post(
        url("accounts:password_reset", "en"),
        {"email": "Kari@example.org"},
        REMOTE_ADDR="192.0.2.1",
    )

    assert refused.status_code == 429
    assert "Too many attempts. Wait" in refused.text
    assert 'value="Kari@example.org"' in refused.text
    assert OutgoingMail.objects.filter(template="password_reset").count() == limit


@pytest.mark.parametrize("data", [{}, {"email": "x" * 100_000}, {"email": ["a", "b"]}])
def test_password_reset_bad_input_gets_errors_never_500(client, data, mailoutbox):
    response = client.post(url("accounts:password_reset", "en"), data)

    assert response.status_code == 200
    assert response.context["form"].errors
    assert mailoutbox == []


# --- The profile ---------------------------------------------------------------------


def test_profile_updates_name_and_language(client):
    user = make_account(language="nb")
    client.force_login(user)

    response = client.post(
        url("accounts:profile", "en"), {"name": "Kari Nordmann Berg", "language": "en"}
    )

    user.refresh_from_db()
    assert response.headers["Location"] == url("accounts:profile", "en")
    assert user.get_full_name() == "Kari Nordmann Berg"
    assert user.profile.language == "en"
    assert message_texts(response) == ["Your profile is saved."]


@pytest.mark.parametrize(
    "data",
    [
        {"name": "Kari", "language": "de"},
        {"name": "", "language": "en"},
        {"name": "x" * 100_000, "language": ["en", "nb"]},
        {"name": "Kari", "language": "x" * 100_000, "email": "evil@example.org"},
    ],
)
def test_profile_bad_input_changes_nothing(client, data):
    user = make_account(language="nb")
    client.force_login(user)

    response = client.post(url("accounts:profile", "en"), data)

    user.refresh_from_db()
    assert response.status_code == 200
    assert response.context["form"].errors
    assert (user.get_full_name(), user.email, user.profile.language) == (
        "Kari Nordmann",
        "kari@example.org",
        "nb",
    )


def test_profile_shows_address_read_only_and_password_link(client):
    client.force_login(make_account())

    response = client.get(url("accounts:profile", "en"))

    assert '<span class="account-email">kari@example.org</span>' in response.text
    assert 'name="email"' not in response.text
    assert f'href="{url("accounts:password_change", "en")}"' in response.text
    assert f'action="{url("accounts:resend_confirmation", "en")}"' in response.text


def test_profile_made_for_accounts_without_one(client):
    user = make_user()
    client.force_login(user)

    response = client.get(url("accounts:profile", "en"))

    assert response.status_code == 200
    assert Profile.objects.get(user=user).language == settings.LANGUAGE_CODE


def test_profile_anonymous_goes_to_login(client):
    response = client.get(url("accounts:profile", "en"))

    assert response.headers["Location"] == (
        url("accounts:login", "en") + "?next=" + url("accounts:profile", "en")
    )


@pytest.mark.parametrize("memberships", [1, 20])
def test_profile_query_count_does_not_grow_with_memberships(
    client, django_assert_num_queries, memberships
):
    user = make_account()
    for _ in range(memberships):
        make_org_member(user=user)
    client.force_login(user)

    # Session, user, profile, memberships with their organisations, how many things they
    # follow.
    with django_assert_num_queries(5):
        response = client.get(url("accounts:profile", "en"))

    assert response.text.count("Organisasjon org-") == memberships
