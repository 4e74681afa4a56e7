"""The «Åpne data» page in a real browser: no WCAG 2.1 A/AA violation (axe-core) in
Bokmål and English, reached from the footer, nothing scrolling sideways on a phone, and
the code examples as plain text a reader can copy."""

import pytest
from playwright.sync_api import expect

from tests.browser.helpers import axe_report, in_language, wcag_violations
from tests.browser.test_small_screen import too_wide

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("language", ["nb", "en"])
def test_open_data_page_has_no_wcag_violations(page, bank, language):
    response = page.goto(bank.url("/apne-data/", language))

    violations = wcag_violations(page)

    assert response.status == 200
    if violations:
        pytest.fail(f"{page.url}\n{axe_report(violations)}", pytrace=False)


@pytest.mark.parametrize("language", ["nb", "en"])
def test_footer_leads_to_the_open_data_page(page, bank, language):
    page.goto(bank.url("/", language))

    footer = page.get_by_role("navigation", name=in_language("About the site", language))
    footer.get_by_role("link", name=in_language("Open data", language)).click()

    expect(page).to_have_url(bank.url("/apne-data/", language))
    expect(page.get_by_role("heading", level=1)).to_have_text(in_language("Open data", language))
    current = footer.locator('[aria-current="page"]')
    expect(current).to_have_text(in_language("Open data", language))


def test_open_data_page_fits_a_phone(page, bank):
    page.goto(bank.url("/apne-data/"))

    assert too_wide(page) == []


def test_curl_examples_are_plain_text_with_the_site_address(page, bank, settings):
    page.goto(bank.url("/apne-data/", "en"))

    examples = page.locator("pre code").all_inner_texts()

    first = f'curl "{settings.SITE_URL}/api/v1/initiatives/?goal=12&q=matsvinn&lang=en"'
    assert examples[0] == first
    assert all(example.startswith("curl ") for example in examples)
