"""Registering for an event and cancelling through the e-mailed link, in Chromium, with
axe-core on every page the path passes.

A visitor filters the upcoming events by kind, opens a workshop with one place, fetches
its .ics file, registers by keyboard (an invalid e-mail address first), and gets a
confirmation e-mail with a cancel link. A second visitor gets the waiting list. The first
opens the cancel link in a browser of their own and cancels; the second moves up and is
e-mailed.
"""

import re

import pytest
from django.core import mail
from playwright.sync_api import expect

from networks.forms import EventRegistrationForm
from networks.models import Event, EventRegistration
from tests.browser.helpers import (
    ERROR_SUMMARY,
    FOCUS_SHOWN,
    assert_accessible,
    field_label,
    link_in,
    mails_to,
    nb,
    notices,
    query,
    tab_to,
)
from tests.browser.test_keyboard import (
    CONTROLS,
    MARK_CONTROLS,
    UNFOCUSED_STYLE,
    shows_focus,
    tab_through,
)
from tests.browser.test_keyboard import MAX_TABS as KEYBOARD_MAX_TABS

pytestmark = pytest.mark.browser

NAME = "Nina Nykommer"
EMAIL = "nina@example.org"
NOT_AN_EMAIL = "nina(a)example.org"
ORGANISATION = "Voss herad"
SECOND_NAME = "Per Påmeldt"
SECOND_EMAIL = "per@example.org"
REGISTER_BUTTON = ".registration-form button[type=submit]"
CANCEL_BUTTON = "main form button[type=submit]"


def test_register_wait_cancel_by_link_and_move_up(page, gatherings, bank, page_for):
    event = gatherings.events["open"]  # capacity 1
    event_path = f"/arrangementer/{event.slug}/"

    # --- The upcoming events, filtered by kind with the keyboard ------------------------
    page.goto(bank.url("/arrangementer/"))
    assert_accessible(page)
    tab_to(page, "#id_kind")
    kind_focus_shown = page.evaluate(FOCUS_SHOWN)
    page.locator("#id_kind").select_option(Event.Kind.WORKSHOP)
    tab_to(page, ".event-filter button[type=submit]")
    show_focus_shown = page.evaluate(FOCUS_SHOWN)
    page.keyboard.press("Enter")
    page.wait_for_url(lambda url: query(url).get("kind") == [Event.Kind.WORKSHOP])
    expect(page.locator(".event-card h3")).to_have_text([event.title])
    assert_accessible(page)
    page.get_by_role("link", name=event.title, exact=True).click()
    page.wait_for_url(bank.url(event_path))
    expect(page.get_by_role("heading", level=1)).to_have_text(event.title)
    assert_accessible(page)

    # --- Its calendar file ------------------------------------------------------------
    ics_link = page.get_by_role("link", name=re.compile(re.escape(nb("Add to calendar"))))
    ics = page.request.get(bank.site + ics_link.get_attribute("href"))
    assert ics.status == 200
    assert ics.headers["content-type"].startswith("text/calendar")
    assert ics.text().startswith("BEGIN:VCALENDAR")
    assert f"SUMMARY:{event.title}" in ics.text()

    # --- Register by keyboard, with an invalid e-mail address first -------------------
    tab_to(page, "#id_name")
    page.keyboard.type(NAME)
    tab_to(page, "#id_email")
    page.keyboard.type(NOT_AN_EMAIL)
    tab_to(page, "#id_organisation")
    page.keyboard.type(ORGANISATION)
    tab_to(page, REGISTER_BUTTON)
    register_focus_shown = page.evaluate(FOCUS_SHOWN)
    with page.expect_navigation():
        page.keyboard.press("Enter")

    error_summary = page.locator(ERROR_SUMMARY)
    expect(error_summary).to_be_focused()
    email_label = field_label(EventRegistrationForm, "email")
    expect(error_summary.get_by_role("link")).to_have_text([re.compile(re.escape(email_label))])
    email = page.locator("#id_email")
    expect(email).to_have_attribute("aria-invalid", "true")
    expect(email).to_have_attribute("aria-describedby", re.compile(r"\bid_email_error\b"))
    # What was typed is all still there, and nothing was saved.
    expect(page.locator("#id_name")).to_have_value(NAME)
    expect(email).to_have_value(NOT_AN_EMAIL)
    expect(page.locator("#id_organisation")).to_have_value(ORGANISATION)
    assert page.title().startswith(nb("Error:"))
    assert not event.registrations.exists()
    assert_accessible(page)

    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    expect(email).to_be_focused()
    email.fill(EMAIL)
    tab_to(page, REGISTER_BUTTON)
    mail.outbox.clear()
    with page.expect_navigation(url=bank.url(event_path)):
        page.keyboard.press("Enter")
    assert nb(
        "You are registered for “%(title)s”. We have sent a confirmation to %(email)s, "
        "with a link to cancel if you cannot come after all."
    ) % {"title": event.title, "email": EMAIL} in notices(page)
    assert_accessible(page)
    first = event.registrations.get()
    assert (first.name, first.email, first.organisation_name, first.status) == (
        NAME,
        EMAIL,
        ORGANISATION,
        EventRegistration.Status.CONFIRMED,
    )
    (confirmation,) = mails_to(mail.outbox, EMAIL)
    cancel_link = link_in(confirmation, bank.site)
    assert cancel_link == f"{bank.site}/arrangementer/avmeld/{first.cancel_token}/"

    # --- A second visitor gets the waiting list ---------------------------------------
    second = page_for()
    second.goto(bank.url(event_path))
    expect(second.locator(".event__registration .ds-alert")).to_be_visible()
    assert_accessible(second)
    form = second.locator(".registration-form")
    form.get_by_label(field_label(EventRegistrationForm, "name")).fill(SECOND_NAME)
    form.get_by_label(email_label).fill(SECOND_EMAIL)
    with second.expect_navigation(url=bank.url(event_path)):
        form.get_by_role("button", name=nb("Join the waiting list")).click()
    assert nb(
        "“%(title)s” is full, so you are on the waiting list. We have sent an e-mail to "
        "%(email)s, and we e-mail you again if a place becomes free."
    ) % {"title": event.title, "email": SECOND_EMAIL} in notices(second)
    assert_accessible(second)
    waiting = event.registrations.get(email=SECOND_EMAIL)
    assert waiting.status == EventRegistration.Status.WAITING
    assert len(mails_to(mail.outbox, SECOND_EMAIL)) == 1

    # --- The first cancels through the e-mailed link, in a browser of their own ---------
    canceller = page_for()
    canceller.goto(cancel_link)
    expect(canceller.get_by_role("heading", level=1)).to_have_text(nb("Cancel your registration"))
    expect(canceller.locator("main")).to_contain_text(event.title)
    assert_accessible(canceller)
    tab_to(canceller, CANCEL_BUTTON)
    cancel_focus_shown = canceller.evaluate(FOCUS_SHOWN)
    expect(canceller.locator(":focus")).to_have_text(nb("Cancel my registration"))
    mail.outbox.clear()
    with canceller.expect_navigation(url=cancel_link):
        canceller.keyboard.press("Enter")
    assert nb("Your registration for “%(title)s” is cancelled. Thank you for letting us know.") % {
        "title": event.title
    } in notices(canceller)
    expect(canceller.locator(CANCEL_BUTTON)).to_have_count(0)
    assert_accessible(canceller)
    first.refresh_from_db()
    waiting.refresh_from_db()
    assert (first.status, waiting.status) == (
        EventRegistration.Status.CANCELLED,
        EventRegistration.Status.CONFIRMED,
    )

    # --- ... and the second has the place, and is told so -------------------------------
    assert mails_to(mail.outbox, EMAIL) == []
    (moved_up,) = mails_to(mail.outbox, SECOND_EMAIL)
    assert nb(
        "A place became free at “%(title)s”, and it is yours: you have moved up from the "
        "waiting list."
    ) % {"title": event.title} in re.sub(r"\s+", " ", moved_up.body)
    assert link_in(moved_up, bank.site) == bank.url(
        f"/arrangementer/avmeld/{waiting.cancel_token}/"
    )
    # The one place is taken again: the next visitor would wait.
    second.reload()
    expect(second.locator(REGISTER_BUTTON)).to_have_text(nb("Join the waiting list"))

    assert kind_focus_shown, "focus not visible on the kind filter"
    assert show_focus_shown, "focus not visible on “Show events”"
    assert register_focus_shown, "focus not visible on “Register”"
    assert cancel_focus_shown, "focus not visible on “Cancel my registration”"


# --- Every control of the new pages by keyboard, with focus shown ----------------------

KEYBOARD_PAGES = {
    "network-list": (None, "/nettverk/"),
    "network-member": ("member", "/nettverk/{network}/"),
    "working-group-list": (None, "/arbeidsgrupper/"),
    "event-list": (None, "/arrangementer/"),
    "event-open": (None, "/arrangementer/{open}/"),
    "registration-cancel": (None, "/arrangementer/avmeld/{token}/"),
}


@pytest.mark.parametrize("name", list(KEYBOARD_PAGES))
def test_gathering_page_controls_are_reached_by_keyboard(
    page, gatherings, people, bank, page_for, name
):
    who, path = KEYBOARD_PAGES[name]
    browser_page = page if who is None else page_for(people.bergen_member)
    browser_page.goto(bank.url(path.format(**gatherings.slugs)))
    controls = {c["index"]: c for c in browser_page.evaluate(MARK_CONTROLS, CONTROLS)}

    stops = tab_through(browser_page)
    browser_page.evaluate("() => document.activeElement.blur()")
    unfocused = {
        stop["index"]: browser_page.evaluate(UNFOCUSED_STYLE, stop["index"]) for stop in stops
    }

    reached = {stop["index"] for stop in stops}
    unreached = [c["name"] for i, c in controls.items() if c["visible"] and i not in reached]
    assert unreached == [], "not reachable by Tab"
    assert len(stops) < KEYBOARD_MAX_TABS, "focus never came back to the first stop"
    invisible_focus = [
        f"{controls[stop['index']]['name']}: focused {stop['style']}, "
        f"unfocused {unfocused[stop['index']]}"
        for stop in stops
        if not shows_focus(stop["style"], unfocused[stop["index"]])
    ]
    assert invisible_focus == [], "focus not visible"
