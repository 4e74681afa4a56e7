"""Downloads and the bulk import in a real browser: the list's CSV and XLSX links carry
its state and download without JavaScript, and the import pages pass axe-core."""

import pytest

from tests.browser.helpers import assert_accessible

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("language", ["nb", "en"])
def test_list_download_links_are_accessible_and_carry_the_state(page, bank, language):
    # Plain links: they work without JavaScript (axe itself needs it to run).
    page.goto(bank.url("/tiltak/?goal=12&sort=title", language))

    assert_accessible(page)
    prefix = "/en" if language == "en" else ""
    for kind in ("csv", "xlsx"):
        link = page.locator(f"a[href*='eksport.{kind}']")
        assert link.get_attribute("href") == f"{prefix}/tiltak/eksport.{kind}?goal=12&sort=title"
        assert link.get_attribute("download") == ""


@pytest.mark.parametrize("language", ["nb", "en"])
def test_import_pages_are_accessible(page_for, bank, people, language):
    page = page_for(people.moderator)
    prefix = "/en" if language == "en" else ""
    page.goto(f"{bank.site}{prefix}/admin/initiatives/initiative/import/")
    assert_accessible(page)

    rows = "title;summary;goals;lead_organisation\nUtenfor;Kort.;18;Ukjent kommune\n"
    page.set_input_files(
        "#id_file", files=[{"name": "tiltak.csv", "mimeType": "text/csv", "buffer": rows.encode()}]
    )
    page.locator("input[type=submit]").click()
    page.wait_for_url("**/import/check/**")

    assert page.locator(".errorlist li").count() >= 2
    assert_accessible(page)
