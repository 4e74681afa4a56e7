"""Freshness in a real browser: the "still current" page a reminder links to, and the list
with its two new facets ("updated in the last year", "campaign") and the "not updated
since" marker: no WCAG 2.1 A/AA violation (axe-core) in Bokmål and English, and all of it
done by keyboard."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from initiatives import freshness
from initiatives.models import FreshnessReminder, Initiative, months_before
from networks.models import Campaign
from tests.browser.helpers import FOCUS_SHOWN, RESULT_HEADING, axe_report, tab_to, wcag_violations
from tests.browser.test_small_screen import too_wide
from tests.factories import confirmed, make_org_member, make_user

pytestmark = pytest.mark.browser


def twenty_months_ago():
    day = months_before(timezone.localdate(), 20)
    return timezone.make_aware(timezone.datetime(day.year, day.month, day.day, 12))


@pytest.fixture
def fresh_bank(bank):
    """The bank with one stale initiative (reminded, its link returned) and a campaign
    two published initiatives answer, and a hidden one too."""
    stale = bank.initiatives["furniture"]
    stale.note_owner_update(twenty_months_ago())
    make_org_member(organisation=stale.lead_organisation, user=confirmed(make_user()))
    freshness.send_reminders()
    reminder = FreshnessReminder.objects.get(initiative=stale)
    campaign = Campaign.objects.create(
        title="Del en suksesshistorie",
        slug="del-en-suksesshistorie",
        text="Fortell oss om det som virket.",
        deadline=timezone.localdate() + timedelta(days=30),
    )
    campaign.initiatives.add(
        bank.initiatives["kindergartens"],
        bank.initiatives["cycling"],
        Initiative.objects.exclude(status=Initiative.Status.PUBLISHED).first(),
    )
    bank.still_current = f"/tiltak/fortsatt-aktuelt/{freshness.token_for(reminder)}/"
    bank.reminder = reminder
    return bank


def assert_no_violations(page) -> None:
    violations = wcag_violations(page)
    if violations:
        pytest.fail(f"{page.url}\n{axe_report(violations)}", pytrace=False)


@pytest.mark.parametrize("language", ["nb", "en"])
def test_the_still_current_page_has_no_wcag_violations(page, fresh_bank, language):
    response = page.goto(fresh_bank.url(fresh_bank.still_current, language))

    assert response.status == 200
    assert_no_violations(page)
    assert too_wide(page) == []


@pytest.mark.parametrize("language", ["nb", "en"])
@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/tiltak/fortsatt-aktuelt/ikke-en-lenke/", 404),
        ("/tiltak/fortsatt-aktuelt/1:abc:def/", 404),
    ],
)
def test_a_broken_link_page_has_no_wcag_violations(page, fresh_bank, language, path, status):
    response = page.goto(fresh_bank.url(path, language))

    assert response.status == status
    assert_no_violations(page)


def test_confirming_by_keyboard_works_once(page, fresh_bank):
    page.goto(fresh_bank.url(fresh_bank.still_current, "en"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Is the initiative still current?")
    expect(page.locator("main")).to_contain_text(fresh_bank.initiatives["furniture"].title)

    tab_to(page, "main button[type=submit]")
    assert page.evaluate(FOCUS_SHOWN)
    page.keyboard.press("Enter")

    expect(page.get_by_role("heading", level=1)).to_have_text("Already confirmed")
    expect(page.locator("main")).to_contain_text("is marked as still current")
    assert page.locator("main button[type=submit]").count() == 0
    assert_no_violations(page)
    reminder = FreshnessReminder.objects.get(pk=fresh_bank.reminder.pk)
    assert reminder.used_at is not None
    assert not Initiative.objects.get(pk=reminder.initiative_id).is_stale


@pytest.mark.parametrize("language", ["nb", "en"])
def test_the_list_with_the_new_facets_has_no_wcag_violations(page, fresh_bank, language):
    response = page.goto(fresh_bank.url("/tiltak/?updated=year", language))

    assert response.status == 200
    assert_no_violations(page)
    page.goto(fresh_bank.url("/tiltak/", language))
    expect(page.locator(".stale-marker")).to_have_count(1)
    assert_no_violations(page)


def test_the_facets_are_chosen_by_keyboard(page, fresh_bank):
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(fresh_bank.url("/tiltak/", "en"))
    expect(page.locator(RESULT_HEADING)).to_have_text("6 initiatives")

    tab_to(page, "details[data-facet=campaign] > summary")
    page.keyboard.press("Enter")
    tab_to(page, 'a.facet__option[href*="campaign=del-en-suksesshistorie"]')
    assert page.evaluate(FOCUS_SHOWN)
    page.keyboard.press("Enter")

    expect(page).to_have_url(fresh_bank.url("/tiltak/?campaign=del-en-suksesshistorie#results", "en"))  # fmt: skip
    expect(page.locator(RESULT_HEADING)).to_have_text("2 initiatives")

    tab_to(page, "details[data-facet=updated] > summary")
    page.keyboard.press("Enter")
    tab_to(page, 'a.facet__option[href*="updated=year"]')
    page.keyboard.press("Enter")

    expect(page.locator(RESULT_HEADING)).to_have_text("2 initiatives")
    expect(page.locator(".browser__chips a.ds-chip")).to_have_count(2)


def test_the_stale_marker_shows_on_the_page_at_320_px(page, fresh_bank):
    page.set_viewport_size({"width": 320, "height": 640})
    page.goto(fresh_bank.url(f"/tiltak/{fresh_bank.initiatives['furniture'].slug}/", "en"))

    expect(page.locator(".stale-marker")).to_contain_text("Not updated since")
    assert too_wide(page) == []
