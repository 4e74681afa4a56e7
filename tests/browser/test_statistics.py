"""The statistics page in a real browser: no WCAG 2.1 A/AA violation (axe-core) in Bokmål
and English, reached from the footer and the home page, nothing scrolling sideways at
320 px, and the bars and county tiles reachable by keyboard, leading to the list with
the same count."""

import pytest
from playwright.sync_api import expect

from initiatives.models import Municipality
from tests.browser.helpers import FOCUS_SHOWN, RESULT_HEADING, axe_report, tab_to, wcag_violations
from tests.browser.test_small_screen import too_wide
from tests.factories import make_adoption, make_organisation

pytestmark = pytest.mark.browser

PATH = "/statistikk/"


@pytest.fixture
def adopted(bank):
    """The bank's initiatives taken up in Bergen and Trondheim: routes and years to show."""
    bergen = make_organisation(municipality=Municipality.objects.get(number="4601"))
    trondheim = make_organisation(municipality=Municipality.objects.get(number="5001"))
    for key in ("volunteers", "cycling", "school_canteens"):
        make_adoption(initiative=bank.initiatives[key], organisation=bergen)
    make_adoption(initiative=bank.initiatives["volunteers"], organisation=trondheim)
    return bank


@pytest.mark.parametrize("language", ["nb", "en"])
def test_statistics_page_has_no_wcag_violations(page, adopted, language):
    response = page.goto(adopted.url(PATH, language))

    violations = wcag_violations(page)

    assert response.status == 200
    if violations:
        pytest.fail(f"{page.url}\n{axe_report(violations)}", pytrace=False)


@pytest.mark.parametrize("language", ["nb", "en"])
def test_statistics_page_fits_320_px(page, adopted, language):
    page.goto(adopted.url(PATH, language))

    assert too_wide(page) == []
    # The tile map stays a grid of squares with its names inside, not a sliver each.
    page.set_viewport_size({"width": 320, "height": 640})
    widths = page.eval_on_selector_all(".county-tile", "all => all.map(t => t.offsetWidth)")
    assert len(widths) == 15
    assert min(widths) >= 80


def test_footer_and_home_page_lead_to_the_statistics(page, bank):
    page.goto(bank.url("/", "en"))

    page.locator("main").get_by_role("link", name="More figures").click()

    expect(page).to_have_url(bank.url(PATH, "en"))
    footer = page.locator("footer")
    expect(footer.locator('[aria-current="page"]')).to_have_attribute("href", f"/en{PATH}")


def test_a_county_tile_is_reached_by_keyboard_and_shows_its_count(page, bank):
    page.goto(bank.url(PATH, "en"))
    tile = page.locator(".county-tile__link", has_text="Oslo")
    count = tile.locator(".county-tile__count").inner_text()

    tab_to(page, '.county-tile__link[href$="county=03"]')

    assert page.evaluate(FOCUS_SHOWN)
    page.keyboard.press("Enter")
    expect(page).to_have_url(bank.url("/tiltak/?county=03", "en"))
    assert count == "2"
    expect(page.locator(RESULT_HEADING)).to_have_text("2 initiatives")


def test_a_bar_leads_to_the_list_with_its_count(page, bank):
    page.goto(bank.url(PATH, "en"))
    bar = page.locator("#goal .stats-bar", has=page.locator('a[href$="goal=12"]'))
    count = int(bar.locator(".stats-bar__count").inner_text())

    tab_to(page, '#goal a[href$="goal=12"]')
    page.keyboard.press("Enter")

    expect(page).to_have_url(bank.url("/tiltak/?goal=12", "en"))
    assert count == 5
    expect(page.locator(RESULT_HEADING)).to_have_text("5 initiatives")
