"""Progress reports and adoption feedback in a real browser: the report form and the
initiative page with its timeline have no WCAG 2.1 A/AA violation (axe-core) in Bokmål
and English, nothing scrolls sideways at 320 px, an owner fills in and sends a report
with the keyboard alone, and the pages are valid HTML (vnu)."""

import json
import subprocess
from datetime import date
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from initiatives.models import Adoption, IndicatorResult, Initiative, ProgressReport
from tests.browser.helpers import FOCUS_SHOWN, axe_report, tab_to, wcag_violations
from tests.browser.test_html_valid import vnu_command
from tests.browser.test_small_screen import too_wide

pytestmark = pytest.mark.browser

LONG_WORD = "Matsvinnregistreringsprosjektdeltakerkommunesamarbeid"


@pytest.fixture
def reported(bank, people):
    """The kindergartens initiative (led by Oslo kommune) with two reports, one with a long
    figure table, and its adopter's feedback."""
    initiative = bank.initiatives["kindergartens"]
    first = ProgressReport.objects.create(
        initiative=initiative,
        reported_on=date(2025, 3, 3),
        phase=Initiative.Phase.PILOT,
        status=ProgressReport.Status.ON_TRACK,
        done="Fire barnehager veide matsvinnet i fire uker.",
    )
    latest = ProgressReport.objects.create(
        initiative=initiative,
        reported_on=date(2026, 3, 3),
        phase=Initiative.Phase.RUNNING,
        status=ProgressReport.Status.DELAYED,
        done="Veiingen er utvidet til alle barnehagene.\n\nKjøkkenene følger opp.",
        results="Matsvinnet gikk ned med 48 prosent.",
        lessons="Barna var de beste ambassadørene.",
    )
    IndicatorResult.objects.create(report=first, indicator="Kilo matsvinn per barn", value=2)
    for name, value, unit in [
        ("Kilo matsvinn per barn per uke", Decimal("1.4"), "kg"),
        (LONG_WORD, Decimal("1234567.89"), "kilogram per år"),
        ("Barnehager med", None, ""),
    ]:
        IndicatorResult.objects.create(
            report=latest, indicator=name, value=value, unit=unit, note="Målt i mars."
        )
    Adoption.objects.filter(initiative=initiative).update(
        outcome=Adoption.Outcome.PARTLY, effect="Litt mindre matsvinn, men mye arbeid."
    )
    return initiative


def report_path(initiative: Initiative) -> str:
    return f"/tiltak/{initiative.slug}/rapporter/ny/"


def assert_no_violations(page) -> None:
    violations = wcag_violations(page)
    if violations:
        pytest.fail(f"{page.url}\n{axe_report(violations)}", pytrace=False)


@pytest.mark.parametrize("language", ["nb", "en"])
@pytest.mark.parametrize("who", ["anonymous", "owner"])
def test_initiative_page_with_a_timeline_has_no_wcag_violations(
    page_for, bank, people, reported, language, who
):
    page = page_for(people.oslo_member if who == "owner" else None)

    response = page.goto(bank.url(reported.get_absolute_url().removeprefix("/en"), language))

    assert response.status == 200
    expect(page.locator(".progress-timeline > li")).to_have_count(2)
    expect(page.locator(".progress-latest")).to_be_visible()
    assert_no_violations(page)


@pytest.mark.parametrize("language", ["nb", "en"])
def test_report_form_has_no_wcag_violations_blank_and_with_errors(
    page_for, bank, people, reported, language
):
    page = page_for(people.oslo_member)
    response = page.goto(bank.url(report_path(reported), language))
    assert response.status == 200
    assert_no_violations(page)

    page.fill("#id_done", "")
    page.fill("#id_indicators-0-value", "mange")
    page.locator("form.page-form__form button[type=submit]").click()

    expect(page.locator("[data-error-summary]")).to_be_visible()
    assert ProgressReport.objects.count() == 2
    assert_no_violations(page)


@pytest.mark.parametrize("language", ["nb", "en"])
def test_adoption_feedback_form_has_no_wcag_violations(page_for, bank, people, reported, language):
    adoption = Adoption.objects.get(initiative=reported)
    member = people.bergen_member
    adoption.organisation.memberships.create(user=member)
    page = page_for(member)

    response = page.goto(
        bank.url(f"/tiltak/{reported.slug}/ta-i-bruk/{adoption.pk}/erfaring/", language)
    )

    assert response.status == 200
    assert_no_violations(page)


@pytest.mark.parametrize("language", ["nb", "en"])
def test_report_form_and_timeline_fit_320_px(page_for, bank, people, reported, language):
    page = page_for(people.oslo_member)

    page.goto(bank.url(report_path(reported), language))
    form = too_wide(page)
    page.goto(bank.url(reported.get_absolute_url().removeprefix("/en"), language))
    timeline = too_wide(page)

    assert form == []
    assert timeline == []


def test_owner_writes_a_report_by_keyboard(page_for, bank, people, reported):
    page = page_for(people.oslo_member)
    page.goto(bank.url(reported.get_absolute_url().removeprefix("/en"), "en"))

    tab_to(page, f'a[href="/en{report_path(reported)}"]')
    assert page.evaluate(FOCUS_SHOWN)
    page.keyboard.press("Enter")
    expect(page).to_have_url(bank.url(report_path(reported), "en"))
    tab_to(page, 'input[name="status"]')
    page.keyboard.press("Space")  # "On track"
    page.keyboard.press("ArrowDown")  # on to "Delayed"
    expect(page.locator('input[name="status"][value="delayed"]')).to_be_checked()
    tab_to(page, "#id_done")
    page.keyboard.type("Vi veide i alle barnehagene.")
    # The first rows hold the indicators of the last report, ready for their figures.
    expect(page.locator("#id_indicators-0-indicator")).to_have_value(
        "Kilo matsvinn per barn per uke"
    )
    tab_to(page, "#id_indicators-0-value")
    page.keyboard.type("1,2")
    tab_to(page, "form.page-form__form button[type=submit]")
    assert page.evaluate(FOCUS_SHOWN)
    page.keyboard.press("Enter")

    expect(page).to_have_url(
        bank.url(f"{reported.get_absolute_url().removeprefix('/en')}#progress-reports", "en")
    )
    report = ProgressReport.objects.get(done="Vi veide i alle barnehagene.")
    assert report.status == ProgressReport.Status.DELAYED
    assert list(report.indicator_results.values_list("indicator", "value")) == [
        ("Kilo matsvinn per barn per uke", Decimal("1.20"))
    ]
    expect(page.locator(".progress-timeline > li").first).to_contain_text(
        "Vi veide i alle barnehagene."
    )


def test_report_pages_are_valid_html(page_for, bank, people, reported, tmp_path):
    adoption = Adoption.objects.get(initiative=reported)
    adoption.organisation.memberships.create(user=people.oslo_member)
    page = page_for(people.oslo_member)
    paths = [
        reported.get_absolute_url().removeprefix("/en"),
        report_path(reported),
        f"/tiltak/{reported.slug}/rapporter/{reported.progress_reports.first().pk}/endre/",
        f"/tiltak/{reported.slug}/ta-i-bruk/{adoption.pk}/erfaring/",
    ]
    for number, path in enumerate(paths):
        for language in ("nb", "en"):
            response = page.goto(bank.url(path, language))
            assert response.status == 200, path
            (tmp_path / f"{number}-{language}.html").write_text(response.text(), encoding="utf-8")
    # The report form as it comes back with errors.
    page.goto(bank.url(report_path(reported), "nb"))
    page.fill("#id_done", "")
    page.fill("#id_indicators-0-value", "mange")
    with page.expect_navigation() as navigation:
        page.locator("form.page-form__form button[type=submit]").click()
    (tmp_path / "errors.html").write_text(navigation.value.text(), encoding="utf-8")

    result = subprocess.run(
        [*vnu_command(), str(tmp_path)], capture_output=True, text=True, timeout=300, check=False
    )

    errors = [
        f"{message.get('url', '').rpartition('/')[2]} line {message.get('lastLine')}: "
        f"{message['message']}"
        for message in json.loads(result.stderr)["messages"]
        if message["type"] in ("error", "non-document-error")
    ]
    assert errors == []
