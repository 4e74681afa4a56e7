"""A working group's year report and a regional network's figures in a real browser: no WCAG
2.1 A/AA violation (axe-core) in Bokmål and English, nothing scrolling sideways at 320 px,
reachable by keyboard, and the report printed (print media emulated) without the site's
header, menus and footer."""

from datetime import datetime, timedelta

import pytest
from playwright.sync_api import expect

from initiatives.models import County, Municipality
from networks.models import OSLO, Event
from tests.browser.helpers import FOCUS_SHOWN, axe_report, tab_to, wcag_violations
from tests.browser.test_small_screen import too_wide
from tests.factories import (
    make_adoption,
    make_event,
    make_membership,
    make_network,
    make_organisation,
    make_presentation,
    make_working_group,
    make_working_group_member,
)

pytestmark = pytest.mark.browser

YEAR = 2025


@pytest.fixture
def reports(bank):
    """A working group's year (meetings held, one cancelled, an open event, a webinar with
    a presentation, members), and a regional network in Trøndelag with members in three
    municipalities who lead, partner and adopt the bank's initiatives."""
    trondelag = County.objects.get(number="50")
    network = make_network(
        name="Bærekraftige Trøndelag", slug="baerekraftige-trondelag", scope="regional",
        county=trondelag,
    )  # fmt: skip
    for number in ("5001", "5001", "5006", "5037"):
        organisation = make_organisation(municipality=Municipality.objects.get(number=number))
        make_membership(network=network, organisation=organisation)
        make_adoption(initiative=bank.initiatives["cycling"], organisation=organisation)
    make_membership(
        network=network, organisation=bank.initiatives["kindergartens"].lead_organisation
    )
    group = make_working_group(
        name="Sirkulær produksjon", slug="sirkular-produksjon", year=YEAR, host_network=network,
        mandate="Foreslå nye tiltak for sirkulær produksjon.",
    )  # fmt: skip
    for month in (1, 3, 5, 8):
        ends_at = datetime(YEAR, month, 10, 16, tzinfo=OSLO)
        make_event(
            organiser_working_group=group, kind=Event.Kind.MEETING, title=f"Møte {month}",
            starts_at=ends_at - timedelta(hours=2), ends_at=ends_at,
        )  # fmt: skip
    ends_at = datetime(YEAR, 6, 10, 16, tzinfo=OSLO)
    make_event(
        organiser_working_group=group, kind=Event.Kind.MEETING, title="Avlyst møte",
        starts_at=ends_at - timedelta(hours=2), ends_at=ends_at, cancelled_at=ends_at,
    )  # fmt: skip
    ends_at = datetime(YEAR, 9, 20, 20, tzinfo=OSLO)
    open_event = make_event(
        organiser_working_group=group, kind=Event.Kind.OPEN_EVENT, title="Åpent møte",
        starts_at=ends_at - timedelta(hours=3), ends_at=ends_at,
    )  # fmt: skip
    make_presentation(event=open_event, initiative=bank.initiatives["kindergartens"])
    make_presentation(event=open_event, initiative=bank.initiatives["furniture"])
    ends_at = datetime(YEAR, 10, 2, 10, tzinfo=OSLO)
    make_event(
        organiser_working_group=group, kind=Event.Kind.WEBINAR, title="Webinar om ombruk",
        starts_at=ends_at - timedelta(hours=1), ends_at=ends_at,
    )  # fmt: skip
    leader = make_organisation(name="Trondheim kommune")
    make_working_group_member(
        working_group=group, name="Kari Leder", organisation=leader, role="leader"
    )
    make_working_group_member(
        working_group=group, name="Per Medlem", organisation=make_organisation()
    )
    group.proposed_initiatives.add(bank.initiatives["cycling"])
    bank.report_path = f"/arbeidsgrupper/{group.slug}/arsrapport/"
    bank.network_path = f"/nettverk/{network.slug}/"
    return bank


def assert_no_violations(page) -> None:
    violations = wcag_violations(page)
    if violations:
        pytest.fail(f"{page.url}\n{axe_report(violations)}", pytrace=False)


@pytest.mark.parametrize("language", ["nb", "en"])
@pytest.mark.parametrize("which", ["report_path", "network_path"])
def test_pages_have_no_wcag_violations(page, reports, which, language):
    response = page.goto(reports.url(getattr(reports, which), language))

    assert response.status == 200
    assert_no_violations(page)


@pytest.mark.parametrize("language", ["nb", "en"])
@pytest.mark.parametrize("which", ["report_path", "network_path"])
def test_pages_fit_320_px(page, reports, which, language):
    page.goto(reports.url(getattr(reports, which), language))

    assert too_wide(page) == []


def test_report_is_reached_from_the_group_page_by_keyboard(page, reports):
    page.goto(reports.url("/arbeidsgrupper/sirkular-produksjon/", "en"))

    tab_to(page, f'a[href="/en{reports.report_path}"]')
    assert page.evaluate(FOCUS_SHOWN)
    page.keyboard.press("Enter")

    expect(page).to_have_url(reports.url(reports.report_path, "en"))
    expect(page.locator("h1")).to_have_text(f"Year report {YEAR}: Sirkulær produksjon")
    expect(page.locator("#meetings-heading + p")).to_have_text("4 of 6 required meetings held")
    # Every link in the report's tables is reached by Tab, the last one too.
    tab_to(page, 'main a[href^="/en/tiltak/"]')
    assert page.evaluate(FOCUS_SHOWN)


def test_report_printed_leaves_out_the_site_around_it(page, reports):
    page.goto(reports.url(reports.report_path, "en"))
    for selector in (".site-header", ".site-footer", ".ds-skip-link", ".wg-report__print-only"):
        assert page.locator(selector).count() == 1, selector
    expect(page.locator(".site-header")).to_be_visible()
    expect(page.locator(".wg-report__print-hint")).to_be_visible()
    expect(page.locator(".wg-report__print-only")).to_be_hidden()

    page.emulate_media(media="print")

    expect(page.locator(".site-header")).to_be_hidden()
    expect(page.locator(".site-footer")).to_be_hidden()
    expect(page.locator(".wg-report__print-hint")).to_be_hidden()
    expect(page.locator(".wg-report__print-only")).to_be_visible()
    expect(page.locator("#meetings-heading")).to_be_visible()
    background = page.evaluate("() => getComputedStyle(document.body).backgroundColor")
    colour = page.evaluate("() => getComputedStyle(document.querySelector('h1')).color")
    assert (background, colour) == ("rgb(255, 255, 255)", "rgb(0, 0, 0)")
    # Link addresses are written out on paper.
    after = page.evaluate(
        "() => getComputedStyle(document.querySelector('#meetings-heading ~ div a'), '::after').content"
    )
    assert after.startswith('" (/en/arrangementer/')
    pdf = page.pdf()
    assert pdf.startswith(b"%PDF")


def test_network_figures_table_opens_by_keyboard(page, reports):
    page.goto(reports.url(reports.network_path, "en"))
    expect(page.locator("#network-coverage-title")).to_have_text("Members across Trøndelag")
    expect(page.locator("#network-coverage .tile-grid li.tile-grid__tile--done")).to_have_count(3)
    table = page.locator("#network-adoptions details table")
    expect(table).to_be_hidden()

    tab_to(page, "#network-adoptions summary")
    assert page.evaluate(FOCUS_SHOWN)
    page.keyboard.press("Enter")

    expect(table).to_be_visible()
    expect(table.locator("tbody tr")).to_have_count(1)
    expect(table.locator("tbody td")).to_have_text("4")
