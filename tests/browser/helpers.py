"""What the browser tests read off a page, in one place: when markup changes, change it here."""

import re
from urllib.parse import parse_qs, urlsplit

from django.utils import translation
from playwright.sync_api import Page, expect

RESULT_TITLES = ".result-list h3"
RESULT_HEADING = "#results-heading"
CHIPS = ".browser__chips a.ds-chip"
FACET = "details"


def nb(message: str) -> str:
    """A source string as the Bokmål pages show it."""
    with translation.override("nb"):
        return translation.gettext(message)


def nb_plural(singular: str, plural: str, count: int) -> str:
    with translation.override("nb"):
        return translation.ngettext(singular, plural, count) % {"counter": count}


def in_bokmal(value: object) -> str:
    """An object's str() as the Bokmål pages show it (goal names, lazy labels)."""
    with translation.override("nb"):
        return str(value)


def squeeze(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def result_titles(page: Page) -> list[str]:
    return sorted(squeeze(text) for text in page.locator(RESULT_TITLES).all_inner_texts())


def result_heading(page: Page) -> str:
    return squeeze(page.locator(RESULT_HEADING).inner_text())


def chip_labels(page: Page) -> list[str]:
    return [squeeze(text) for text in page.locator(CHIPS).all_inner_texts()]


def count_heading(count: int) -> str:
    return nb_plural("%(counter)s initiative", "%(counter)s initiatives", count)


def query(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query)


def choose_facet(page: Page, facet_label: str, name: str, value: str) -> None:
    """Open a facet's <details> by its <summary> and follow the option adding `value`."""
    facet = page.locator(FACET).filter(
        has=page.locator("summary", has_text=re.compile(rf"^\s*{re.escape(facet_label)}\s*$"))
    )
    summary = facet.locator("summary")
    if facet.get_attribute("open") is None:
        summary.click()
    options = facet.locator("a[href]")
    expect(options.first).to_be_visible()
    adding = [
        option
        for option in options.all()
        if value in query(option.get_attribute("href")).get(name, [])
        and value not in query(page.url).get(name, [])
    ]
    assert len(adding) == 1, f"no single option {name}={value} in the facet “{facet_label}”"
    adding[0].click()
    page.wait_for_url(lambda url: value in query(url).get(name, []))


def axe_report(violations: list[dict]) -> str:
    lines = [f"{len(violations)} WCAG 2.1 A/AA violation(s):"]
    for violation in violations:
        lines.append(f"- {violation['id']} ({violation['impact']}): {violation['help']}")
        for node in violation["nodes"]:
            target = " ".join(str(part) for part in node["target"])
            lines.append(f"    at {target}: {squeeze(node['html'])[:200]}")
    return "\n".join(lines)
