"""What the browser tests read off a page, in one place: when markup changes, change it here."""

import re
from urllib.parse import parse_qs, urlsplit

from axe_playwright_python.sync_playwright import Axe
from django.conf import settings
from django.utils import translation
from playwright.sync_api import Page, expect

RESULT_TITLES = ".result-list h3"
RESULT_HEADING = "#results-heading"
CHIPS = ".browser__chips a.ds-chip"
FACET = "details.facet"  # inside the "Filter" <details> that folds them on a phone


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
    # The new list's HTML is what the callers read; waiting for every style sheet as well
    # ("load") once timed out on a busy CI machine.
    page.wait_for_url(lambda url: value in query(url).get(name, []), wait_until="domcontentloaded")


def axe_report(violations: list[dict]) -> str:
    lines = [f"{len(violations)} WCAG 2.1 A/AA violation(s):"]
    for violation in violations:
        lines.append(f"- {violation['id']} ({violation['impact']}): {violation['help']}")
        for node in violation["nodes"]:
            target = " ".join(str(part) for part in node["target"])
            lines.append(f"    at {target}: {squeeze(node['html'])[:200]}")
    return "\n".join(lines)


# --- Accessibility: axe-core, WCAG 2.1 A and AA ---------------------------------------

AXE = Axe()
WCAG_21_AA = {
    "runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]},
    "resultTypes": ["violations"],
}


def wcag_violations(page: Page) -> list[dict]:
    """What axe-core finds on the page as it stands, with every <details> opened."""
    # Closed <details> hide their content from axe; a visitor opens them.
    page.eval_on_selector_all("details", "all => all.forEach(d => { d.open = true; })")
    return AXE.run(page, options=WCAG_21_AA).response["violations"]


def assert_accessible(page: Page) -> None:
    """Zero WCAG 2.1 A/AA violations on the page, or a failure naming each element."""
    violations = wcag_violations(page)
    assert violations == [], f"{page.url}\n{axe_report(violations)}"


# --- Languages, forms, files --------------------------------------------------------


def in_language(message: str, language: str) -> str:
    """A source string as the pages in `language` show it."""
    with translation.override(language):
        return translation.gettext(message)


def field_label(form_class: type, name: str) -> str:
    """A form field's label as the Bokmål pages show it."""
    return in_bokmal(form_class.base_fields[name].label)


def watch_csp(page: Page, violations: list[str]) -> None:
    """Collect what the browser console says about the Content Security Policy."""
    page.on(
        "console",
        lambda message: (
            violations.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )


def minimal_pdf() -> bytes:
    """A real one-page PDF 1.4 (empty page), with a correct cross-reference table."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] /Resources << >> >>",
    ]
    pdf = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(pdf))
        pdf += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(pdf)
    pdf += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        pdf += b"%010d 00000 n \n" % offset
    pdf += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(pdf)


# --- Notices, e-mails ---------------------------------------------------------------

NOTICES = ".site-messages .ds-alert"
ERROR_SUMMARY = "[data-error-summary]"


def notices(page: Page) -> list[str]:
    """The `messages` notices at the top of the page."""
    return [squeeze(text) for text in page.locator(NOTICES).all_inner_texts()]


def mails_to(outbox: list, address: str) -> list:
    return [mail for mail in outbox if address in mail.to]


def link_in(mail, site: str) -> str:
    """The one link in an e-mail to this site, pointed at the live server instead."""
    links = re.findall(rf"{re.escape(settings.SITE_URL)}(/\S*)", mail.body)
    assert len(links) == 1, f"not one link to the site in “{mail.subject}”:\n{mail.body}"
    return f"{site}{links[0]}"


# --- Keyboard -------------------------------------------------------------------------

MAX_TABS = 400
FOCUS_SHOWN = """() => {
    const style = getComputedStyle(document.activeElement);
    return (style.outlineStyle !== "none" && parseFloat(style.outlineWidth) > 0)
        || style.boxShadow !== "none";
}"""


def tab_to(page: Page, selector: str) -> int:
    """Press Tab until the element matching `selector` has focus; how many presses it took."""
    for presses in range(1, MAX_TABS + 1):
        page.keyboard.press("Tab")
        if page.evaluate("s => document.activeElement?.matches(s) ?? false", selector):
            return presses
    raise AssertionError(f"{selector} not reached by {MAX_TABS} presses of Tab on {page.url}")
