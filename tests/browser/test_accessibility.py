"""axe-core finds no WCAG 2.1 A/AA violation on any public page, in Bokmål and English."""

import pytest
from axe_playwright_python.sync_playwright import Axe

from tests.browser.helpers import axe_report

pytestmark = pytest.mark.browser

AXE = Axe()
WCAG_21_AA = {
    "runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]},
    "resultTypes": ["violations"],
}
PAGES = {
    "home": "/",
    "list": "/tiltak/",
    "list-two-filters": "/tiltak/?purpose=across-sectors&goal=2",
    "list-search": "/tiltak/?q=matsvinn",
    "list-empty": "/tiltak/?q=qzxjvbwk",
    "initiative": "/tiltak/matsvinn-i-barnehager/",
    "goal": "/barekraftsmal/12/",
    "organisation": "/organisasjoner/oslo-kommune/",
    "actor-type": "/aktortyper/kindergarten/",
    "purpose": "/formal/across-sectors/",
    "about": "/om/",
    "accessibility": "/tilgjengelighet/",
    "privacy": "/personvern/",
}


@pytest.mark.parametrize("language", ["nb", "en"])
@pytest.mark.parametrize("name", list(PAGES))
def test_page_has_no_wcag_violations(page, bank, name, language):
    response = page.goto(bank.url(PAGES[name], language))
    # Closed <details> hide their content from axe; a visitor opens them.
    page.eval_on_selector_all("details", "all => all.forEach(d => { d.open = true; })")

    violations = AXE.run(page, options=WCAG_21_AA).response["violations"]

    assert response.status == 200
    if violations:
        pytest.fail(f"{page.url}\n{axe_report(violations)}", pytrace=False)
