"""The API reference page (/api/dokumentasjon/, ideabank/api_docs.py) in a real browser: no
WCAG 2.1 A/AA violation (axe-core) in Bokmål and English, nothing asked of another host, the
same content without JavaScript, the contents list moves focus to the sections, and the old
address /api/v1/docs leads to it."""

import pytest
from playwright.sync_api import Page, expect

from tests.browser.helpers import axe_report, wcag_violations
from tests.browser.test_small_screen import too_wide

pytestmark = pytest.mark.browser

PATH = "/api/dokumentasjon/"


@pytest.mark.parametrize("language", ["nb", "en"])
def test_api_reference_has_no_wcag_violations(page: Page, bank, language):
    response = page.goto(bank.url(PATH, language))

    violations = wcag_violations(page)

    assert response.status == 200
    if violations:
        pytest.fail(f"{page.url}\n{axe_report(violations)}", pytrace=False)


def test_api_reference_asks_no_other_host(page: Page, bank):
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))

    page.goto(bank.url(PATH, "en"), wait_until="networkidle")

    elsewhere = [
        url for url in requested if not url.startswith(bank.site) and not url.startswith("data:")
    ]
    assert requested != []
    assert elsewhere == []
    # The page fixture fails the test on any Content-Security-Policy violation.


def test_api_reference_is_the_same_without_javascript(new_context, page: Page, bank):
    no_script = new_context(java_script_enabled=False).new_page()

    no_script.goto(bank.url(PATH, "en"))
    page.goto(bank.url(PATH, "en"))

    def headings(on: Page) -> list[str]:
        return on.locator("main h2, main h3").all_inner_texts()

    def examples(on: Page) -> list[str]:
        return on.locator("main pre code").all_inner_texts()

    assert "Published initiatives" in headings(no_script)
    assert (headings(no_script), examples(no_script)) == (headings(page), examples(page))
    assert no_script.locator("main table").count() == page.locator("main table").count() > 17


@pytest.mark.parametrize(
    ("link", "target"),
    [("Published initiatives", "#get-api-v1-initiatives"), ("Reference", "#group-reference")],
)
def test_contents_links_move_focus_to_their_section(page: Page, bank, link, target):
    page.goto(bank.url(PATH, "en"))
    contents = page.get_by_role("navigation", name="Contents")

    contents.get_by_role("link", name=link, exact=True).focus()
    page.keyboard.press("Enter")

    expect(page).to_have_url(bank.url(f"{PATH}{target}", "en"))
    expect(page.locator(target)).to_be_focused()
    # The next Tab goes on from there, not from the top of the page.
    page.keyboard.press("Tab")
    after = page.evaluate(
        """t => !!(document.querySelector(t).compareDocumentPosition(document.activeElement)
                  & Node.DOCUMENT_POSITION_FOLLOWING)""",
        target,
    )
    assert after


def test_api_reference_fits_a_phone(page: Page, bank):
    page.goto(bank.url(PATH))

    assert too_wide(page) == []


def test_old_docs_address_leads_to_the_reference(page: Page, bank):
    page.goto(f"{bank.site}/api/v1/docs?lang=en")

    expect(page).to_have_url(bank.url(PATH, "en"))
    expect(page.get_by_role("heading", level=1)).to_have_text("API reference")
