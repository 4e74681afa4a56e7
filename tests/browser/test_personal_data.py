"""A person's own data in Chromium, by keyboard, with axe-core on every new page.

Nina logs in, downloads her data from her profile, meets the error for a wrong
password on the delete page, deletes her account with the right one and sees the
confirmation; her receipt comes by e-mail and she is gone from the database. An
English-speaking person then sees the same pages in English.
"""

import json
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from playwright.sync_api import Page, expect

from ideabank.forms import LoginForm
from ideabank.models import Profile
from networks.models import EventRegistration
from tests.browser.helpers import (
    ERROR_SUMMARY,
    FOCUS_SHOWN,
    assert_accessible,
    field_label,
    in_language,
    mails_to,
    nb,
    tab_to,
)
from tests.factories import make_confirmed_user, make_registration

pytestmark = pytest.mark.browser

User = get_user_model()
EMAIL = "nina@example.org"
PASSWORD = "grønne tak og regnbed 2026"
DOWNLOAD = 'a[href$="/konto/profil/mine-data/"]'
DELETE = 'a[href$="/konto/profil/slett/"]'


def press_link(page: Page, selector: str) -> None:
    """Reach a link with Tab, see that focus shows, and follow it with Enter."""
    tab_to(page, selector)
    assert page.evaluate(FOCUS_SHOWN)
    page.keyboard.press("Enter")


def test_log_in_download_data_and_delete_the_account(page, bank, people):
    user = make_confirmed_user(
        username=EMAIL, email=EMAIL, first_name="Nina Nykommer", password=PASSWORD
    )
    registration = make_registration(name="Nina Nykommer", email=EMAIL)

    # --- Log in -----------------------------------------------------------------------
    page.goto(bank.url("/konto/logg-inn/?next=/konto/profil/"))
    page.get_by_label(field_label(LoginForm, "username")).fill(EMAIL)
    page.get_by_label(field_label(LoginForm, "password"), exact=True).fill(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(bank.url("/konto/profil/"))
    assert_accessible(page)

    # --- Download the data --------------------------------------------------------------
    with page.expect_download() as download:
        press_link(page, DOWNLOAD)
    assert download.value.suggested_filename.startswith("idebanken-data-")
    data = json.loads(Path(download.value.path()).read_text(encoding="utf-8"))
    assert data["account"]["email"] == EMAIL
    assert [r["name"] for r in data["event_registrations"]] == ["Nina Nykommer"]

    # --- Delete: the wrong password first -------------------------------------------------
    press_link(page, DELETE)
    page.wait_for_url(bank.url("/konto/profil/slett/"))
    expect(page.get_by_role("heading", level=1)).to_have_text(nb("Delete your account"))
    assert_accessible(page)
    password = page.get_by_label(nb("Your password"))
    tab_to(page, "#id_password")
    page.keyboard.type("feil passord")
    page.keyboard.press("Enter")
    expect(page.locator(ERROR_SUMMARY)).to_contain_text(
        nb("That is not your password. Nothing was deleted.")
    )
    assert User.objects.filter(pk=user.pk).exists()
    assert_accessible(page)

    # --- ...then the right one ------------------------------------------------------------
    password.fill(PASSWORD)
    tab_to(page, "form.account-form button[type=submit]")
    page.keyboard.press("Enter")
    page.wait_for_url(bank.url("/konto/slettet/"))
    expect(page.get_by_role("heading", level=1)).to_have_text(nb("Your account is deleted"))
    assert_accessible(page)

    assert not User.objects.filter(pk=user.pk).exists()
    registration.refresh_from_db()
    assert (registration.name, registration.status) == ("", EventRegistration.Status.CANCELLED)
    (receipt,) = mails_to(mail.outbox, EMAIL)
    assert receipt.to == [EMAIL]
    # Logged out: the profile sends to the log-in page.
    page.goto(bank.url("/konto/profil/"))
    assert page.url.startswith(bank.url("/konto/logg-inn/"))


def test_the_pages_in_english(page_for, bank, people):
    user = make_confirmed_user(username="eve@example.org", email="eve@example.org")
    Profile.objects.filter(user=user).update(language="en")
    page = page_for(user)

    page.goto(bank.url("/konto/profil/", "en"))
    expect(page.locator(DOWNLOAD)).to_have_text(in_language("Download your data", "en"))
    page.goto(bank.url("/konto/profil/slett/", "en"))
    assert_accessible(page)
    page.get_by_role("button", name=in_language("Delete my account", "en")).click()
    expect(page.locator(ERROR_SUMMARY)).to_be_visible()
    assert_accessible(page)
    page.get_by_label(in_language("Your password", "en")).fill("correct horse battery staple")
    page.get_by_role("button", name=in_language("Delete my account", "en")).click()
    page.wait_for_url(bank.url("/konto/slettet/", "en"))
    assert_accessible(page)
    (receipt,) = mails_to(mail.outbox, "eve@example.org")
    assert receipt.subject.startswith("Your account on")
