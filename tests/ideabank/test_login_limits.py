"""Issue 11, points 1 and 7: one limiter for every log-in, keyed on the account and the
client address, that never locks an owner out; password reset limits the sender; sign-up
answers the same whether or not the address has an account."""

import re

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection
from django.urls import reverse
from django.utils import translation

from ideabank import views
from ideabank.models import OutgoingMail, Profile
from tests.factories import make_moderator, make_user

pytestmark = pytest.mark.django_db

User = get_user_model()
PASSWORD = "a long and fine passphrase"
ATTACKER = "203.0.113.66"
VICTIM = "198.51.100.7"


def url(name: str, language: str = "nb", **kwargs) -> str:
    with translation.override(language):
        return reverse(name, kwargs=kwargs)


def log_in(client, email: str, password: str = PASSWORD, *, ip: str, **extra):
    return client.post(
        url("accounts:login", "en"),
        {"username": email, "password": password, **extra},
        REMOTE_ADDR=ip,
    )


def ask_for_reset(client, email: str, *, ip: str):
    return client.post(url("accounts:password_reset", "en"), {"email": email}, REMOTE_ADDR=ip)


@pytest.fixture
def victim():
    user = make_moderator(username="victim@x.no", email="victim@x.no", password=PASSWORD)
    Profile.objects.create(user=user, language="en")
    return user


# --- The admin's log-in is the site's --------------------------------------------------


@pytest.mark.parametrize("language", ["nb", "en"])
def test_admin_login_sends_people_to_the_site_login_keeping_next(client, language):
    response = client.get(url("admin:login", language) + "?next=/admin/initiatives/")

    assert response.status_code == 302
    assert response.headers["Location"] == (
        f"{url('accounts:login', language)}?next=/admin/initiatives/"
    )


def test_admin_login_takes_no_password_even_the_right_one(client, victim):
    response = client.post(
        url("admin:login"), {"username": "victim@x.no", "password": PASSWORD}, REMOTE_ADDR=ATTACKER
    )

    assert response.status_code == 302
    assert response.headers["Location"] == f"{url('accounts:login')}?next={url('admin:index')}"
    assert "_auth_user_id" not in client.session


def test_admin_120_wrong_passwords_from_one_address_end_in_429_and_the_right_one_is_refused(
    client, victim
):
    # The reproduction: 120 wrong passwords answered 200 every time, then the right one
    # logged in. The admin's form takes none now; the site's one counts them.
    admin_form = [
        client.post(
            url("admin:login"),
            {"username": "victim@x.no", "password": f"guess {number}"},
            REMOTE_ADDR=ATTACKER,
        ).status_code
        for number in range(120)
    ]
    statuses = [
        log_in(client, "victim@x.no", f"guess {number}", ip=ATTACKER, next="/admin/").status_code
        for number in range(120)
    ]

    right_password = log_in(client, "victim@x.no", ip=ATTACKER, next="/admin/")

    limit = views.LOGIN_FAILURES_PER_ACCOUNT_AND_IP.limit
    assert admin_form == [302] * 120
    assert statuses == [200] * limit + [429] * (120 - limit)
    assert right_password.status_code == 429
    assert right_password.wsgi_request.user.is_authenticated is False


def test_staff_log_in_at_the_site_go_on_to_the_admin_and_log_out_there(client, victim):
    to_admin_login = client.get(url("admin:index"))
    to_site_login = client.get(to_admin_login.headers["Location"])
    login_page = client.get(to_site_login.headers["Location"])
    logged_in = log_in(client, "victim@x.no", ip=VICTIM, next="/admin/")
    admin_index = client.get(logged_in.headers["Location"])
    logged_out = client.post(url("admin:logout"))
    after = client.get(url("admin:index"))

    assert to_admin_login.headers["Location"] == f"{url('admin:login')}?next=/admin/"
    assert to_site_login.headers["Location"] == f"{url('accounts:login')}?next=/admin/"
    assert '<input type="hidden" name="next" value="/admin/">' in login_page.text
    assert logged_in.headers["Location"] == "/admin/"
    assert admin_index.status_code == 200
    assert admin_index.wsgi_request.user == victim
    assert logged_out.headers["Location"] == url("home")
    assert logged_out.wsgi_request.user.is_authenticated is False
    assert after.status_code == 302


def test_admin_login_lets_signed_in_staff_straight_on(client, victim):
    client.force_login(victim)

    response = client.get(url("admin:login") + "?next=/admin/auth/")

    assert response.headers["Location"] == "/admin/auth/"


def test_admin_login_tells_a_signed_in_member_their_account_has_no_access(client):
    client.force_login(make_user(email="kari@example.org"))

    response = client.get(url("admin:login", "en"), follow=True)

    assert response.redirect_chain[-1][0] == f"{url('accounts:login', 'en')}?next=/en/admin/"
    assert (
        "You are logged in as kari@example.org, which has no access to the administration. "
        "Log in with an account that has."
    ) in response.text


# --- No one can lock an owner out ------------------------------------------------------


def test_victim_logs_in_from_another_address_after_failures_from_an_attacker(client, victim):
    attacker = [log_in(client, "victim@x.no", "wrong", ip=ATTACKER).status_code for _ in range(15)]

    response = log_in(client, "victim@x.no", ip=VICTIM)

    limit = views.LOGIN_FAILURES_PER_ACCOUNT_AND_IP.limit
    assert attacker == [200] * limit + [429] * (15 - limit)
    assert response.status_code == 302
    assert response.wsgi_request.user == victim


def test_many_addresses_failing_slow_the_guesser_but_never_refuse_a_fresh_address(client, victim):
    limit = views.LOGIN_FAILURES_PER_ACCOUNT.limit
    spread = [f"203.0.113.{number}" for number in range(1, limit + 6)]
    first_guesses = [
        log_in(client, "victim@x.no", "wrong", ip=address).status_code for address in spread
    ]

    second_guess = log_in(client, "victim@x.no", ip=spread[0])
    owner = log_in(client, "victim@x.no", ip=VICTIM)

    assert first_guesses == [200] * len(spread)
    # Past the account's limit an address that has failed on it is refused, even with
    # the right password: the guesser gets one try per address.
    assert second_guess.status_code == 429
    assert owner.status_code == 302
    assert owner.wsgi_request.user == victim


def test_failures_on_one_account_do_not_refuse_that_address_on_another(client, victim):
    other = make_user(username="ola@x.no", email="ola@x.no", password=PASSWORD)
    for _ in range(views.LOGIN_FAILURES_PER_ACCOUNT_AND_IP.limit):
        log_in(client, "victim@x.no", "wrong", ip=ATTACKER)

    response = log_in(client, "ola@x.no", ip=ATTACKER)

    assert response.status_code == 302
    assert response.wsgi_request.user == other


@pytest.mark.parametrize(
    ("email", "spelled"),
    [("victim@x.no", "v\u0131ctim@x.no"), ("sara@x.no", "\u017fara@x.no")],
    ids=["dotless i", "long s"],
)
def test_other_spellings_count_against_the_account_the_lookup_finds(client, email, spelled):
    make_user(username=email, email=email, password=PASSWORD)
    for _ in range(views.LOGIN_FAILURES_PER_ACCOUNT_AND_IP.limit):
        log_in(client, email, "wrong", ip=ATTACKER)

    response = log_in(client, spelled, ip=ATTACKER)

    # PostgreSQL's UPPER() folds ı to I and ſ to S, so the lookup finds the account and
    # the limit counts there; SQLite's does not, so the lookup finds nobody and log-in fails.
    assert response.wsgi_request.user.is_authenticated is False
    assert response.status_code == (429 if connection.vendor == "postgresql" else 200)


def test_dotless_i_from_a_fresh_address_finds_the_same_account_as_the_limit(client, victim):
    response = log_in(client, "VICTIM@X.NO".replace("I", "\u0131", 1), ip=VICTIM)

    assert (response.wsgi_request.user == victim) is (connection.vendor == "postgresql")


# --- Password reset limits the sender, never the account -------------------------------


def test_password_reset_requests_from_an_attacker_do_not_stop_the_victims_reset(
    client, victim, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        attacker = [ask_for_reset(client, "victim@x.no", ip=ATTACKER).status_code for _ in range(5)]
        dotless = ask_for_reset(client, "v\u0131ctim@x.no", ip=ATTACKER)
        own = ask_for_reset(client, "Victim@X.no", ip=VICTIM)

    limit = views.PASSWORD_RESETS_PER_ACCOUNT_AND_IP.limit
    assert attacker == [302] * limit + [429] * (5 - limit)
    assert dotless.status_code == (429 if connection.vendor == "postgresql" else 302)
    assert own.status_code == 302
    assert own.headers["Location"] == url("accounts:password_reset_done", "en")
    assert [mail.to for mail in mailoutbox] == [["victim@x.no"]] * (limit + 1)


def test_password_reset_mail_goes_to_the_accounts_address_never_the_text_typed(
    client, victim, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        client.post(url("accounts:password_reset", "en"), {"email": "v\u0131ctim@x.no"})

    assert [mail.to for mail in mailoutbox] == (
        [["victim@x.no"]] if connection.vendor == "postgresql" else []
    )


# --- Sign-up does not tell which addresses have accounts -------------------------------


def signup_answer(client, capture, email: str, *, ip: str = VICTIM):
    """The sign-up's answer and the page it leads to, with what differs per request
    (CSRF tokens, CSP nonces) blanked out."""
    data = {"name": "Kari Nordmann", "email": email, "password": PASSWORD}
    with capture(execute=True):
        response = client.post(url("accounts:signup"), data, REMOTE_ADDR=ip)
    page = client.get(response.headers["Location"])
    text = re.sub(r'(value|nonce)="[^"]*"', r'\1=""', page.text)
    # Cookie values carry a time stamp (the message's signature): compare what is set.
    cookies = sorted(response.cookies)
    return response.status_code, response.headers["Location"], cookies, page.status_code, text


def test_signup_with_an_existing_address_answers_exactly_as_a_new_one(
    client, mailoutbox, django_capture_on_commit_callbacks
):
    new = signup_answer(client, django_capture_on_commit_callbacks, "kari@x.no")
    client.cookies.clear()

    existing = signup_answer(client, django_capture_on_commit_callbacks, "Kari@X.no")

    assert new[0] == 302
    assert new[1] == url("accounts:signup_done")
    assert new[3] == 200
    assert "Vi har sendt en e-post til kari@x.no." in new[4]
    # Status, address, cookies set and page: all the same.
    assert existing == new
    assert User.objects.filter(email__iexact="kari@x.no").count() == 1
    assert [mail.template for mail in OutgoingMail.objects.order_by("pk")] == [
        "email/account_confirm",
        "email/account_signup_attempt",
    ]
    assert [mail.to for mail in mailoutbox] == [["kari@x.no"], ["kari@x.no"]]


def test_signup_attempt_mails_the_owner_in_their_language_with_full_links(
    client, victim, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            url("accounts:signup"),
            {"name": "Someone", "email": "VICTIM@x.no", "password": "another passphrase"},
        )

    (mail,) = mailoutbox
    assert response.headers["Location"] == url("accounts:signup_done")
    assert User.objects.get(email__iexact="victim@x.no") == victim
    assert User.objects.get(pk=victim.pk).check_password(PASSWORD)
    assert mail.to == ["victim@x.no"]
    # In the owner's language (English), not the page's (Bokmål).
    assert mail.subject == "Someone tried to sign up on Idébanken with your address"
    assert "with victim@x.no. You already have an account" in mail.body
    assert f"\n{settings.SITE_URL}/en/konto/logg-inn/\n" in mail.body
    assert f"\n{settings.SITE_URL}/en/konto/glemt-passord/\n" in mail.body


def test_signup_with_the_address_of_an_admin_made_account_saves_nothing_and_mails_it(
    client, mailoutbox, django_capture_on_commit_callbacks
):
    owner = make_user(username="kari", email="Kari@Example.org")

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            url("accounts:signup", "en"),
            {"name": "Someone", "email": "kari@example.org", "password": PASSWORD},
        )

    (mail,) = mailoutbox
    assert response.headers["Location"] == url("accounts:signup_done", "en")
    assert list(User.objects.all()) == [owner]
    assert Profile.objects.exclude(user=owner).exists() is False
    assert [address.lower() for address in mail.to] == ["kari@example.org"]


def test_signup_attempt_mails_to_one_owner_are_capped_and_the_answer_stays_the_same(
    client, victim, django_capture_on_commit_callbacks
):
    answers = [
        signup_answer(client, django_capture_on_commit_callbacks, "victim@x.no", ip=f"192.0.2.{n}")
        for n in range(1, 6)
    ]

    cap = views.SIGNUP_ATTEMPT_MAILS_PER_ACCOUNT.limit
    assert answers == [answers[0]] * 5
    assert OutgoingMail.objects.filter(template="email/account_signup_attempt").count() == cap
