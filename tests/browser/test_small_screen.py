"""Phone first (issue 12).

At 320 and 375 CSS pixels wide (WCAG 1.4.10, reflow) no page scrolls sideways: every
page the accessibility tests visit, in Bokmål and English, with every <details> open.
On a 375 px phone the results come before the filters, a filter lands on the results,
and the header folds its menus behind a button that works from the keyboard.
"""

import pytest
from playwright.sync_api import Page, expect

from initiatives.models import Initiative
from tests.browser.conftest import publish
from tests.browser.helpers import (
    AXE,
    RESULT_TITLES,
    WCAG_21_AA,
    axe_report,
    choose_facet,
    in_language,
    nb,
    nb_plural,
    tab_to,
)
from tests.browser.test_accessibility import (  # the page lists, not copies of them
    FORM_PAGES,
    GATHERING_PAGES,
    PAGES,
    Visit,
    world,  # noqa: F401  (a fixture FORM_PAGES needs)
)
from tests.factories import make_organisation

pytestmark = pytest.mark.browser

WIDTHS = (320, 375)
PHONE = {"width": 375, "height": 667}
LANGUAGES = ("nb", "en")
# Beyond the accessibility pages: chips, an open facet and the sort form make the widest list.
EXTRA_PAGES = {
    "list-filtered": "/tiltak/?q=matsvinn&purpose=across-sectors&goal=2",
    "long-word": "/tiltak/lup/",
    "long-word-list": "/tiltak/?purpose=procurers-and-suppliers",
}

# The elements sticking out on the right, innermost first, to say what to fix.
OVERFLOWING = """width => [...document.querySelectorAll("body *")]
    .filter(el => el.getBoundingClientRect().right > width + 0.5)
    .filter(el => ![...el.children].some(child => child.getBoundingClientRect().right > width + 0.5))
    .slice(0, 8)
    .map(el => `${el.tagName.toLowerCase()}.${el.className} right=${Math.round(el.getBoundingClientRect().right)}`)"""
OPEN_ALL = "all => all.forEach(d => { d.open = true; })"


def too_wide(page: Page) -> list[str]:
    """The page at each width, with every <details> open: what scrolls sideways."""
    page.eval_on_selector_all("details", OPEN_ALL)
    found = []
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 640})
        scroll_width = page.evaluate("() => document.documentElement.scrollWidth")
        if scroll_width > width:
            found.append(
                f"{page.url} at {width} px: scrollWidth {scroll_width}: "
                f"{page.evaluate(OVERFLOWING, width)}"
            )
    return found


def visit(page: Page, site_url: str, item: Visit, language: str) -> None:
    """Open a page as the accessibility tests do, pressing its button when it has one."""
    page.set_viewport_size({"width": WIDTHS[0], "height": 640})
    page.goto(site_url)
    if item.prepare:
        page.evaluate(item.prepare)
    if item.press:
        button = page.locator("main").get_by_role(
            "button", name=in_language(item.press, language), exact=True
        )
        with page.expect_navigation():
            button.click()
        expect(page.locator(item.errors)).to_be_visible()


def test_public_pages_fit_small_screens(page, bank):
    """All pages in one test: one data set, four widths and languages a page."""
    # A word longer than a phone is wide, in a title, a summary and an organisation name.
    long_word = "Leverandørutviklingsprogrammet"
    publish(
        title=f"{long_word}s innovasjonsanskaffelser",
        slug="lup",
        summary=f"{long_word} hjelper offentlige innkjøpere.",
        lead_organisation=make_organisation(name=f"{long_word}sorganisasjonen", slug="lup-org"),
        goals=[12],
        purposes=["procurers-and-suppliers"],
    )
    Initiative.objects.all().refresh_search_vectors()
    found = []

    for path in [*PAGES.values(), *EXTRA_PAGES.values()]:
        for language in LANGUAGES:
            page.goto(bank.url(path, language))
            found += too_wide(page)

    assert found == [], "\n".join(found)


def test_member_pages_fit_small_screens(bank, world, page_for):  # noqa: F811
    pages = {}
    found = []

    for item in FORM_PAGES.values():
        if item.who not in pages:
            pages[item.who] = page_for(None if item.who is None else world.users[item.who])
        browser_page = pages[item.who]
        for language in LANGUAGES:
            visit(browser_page, bank.url(item.path.format(**world.slugs), language), item, language)
            found += too_wide(browser_page)

    assert found == [], "\n".join(found)


def test_gathering_pages_fit_small_screens(gatherings, people, bank, page_for):
    users = {
        None: None,
        "coordinator": people.oslo_member,
        "member": people.bergen_member,
        "moderator": people.moderator,
    }
    pages = {}
    found = []

    for item in GATHERING_PAGES.values():
        if item.who not in pages:
            pages[item.who] = page_for(users[item.who])
        browser_page = pages[item.who]
        for language in LANGUAGES:
            url = bank.url(item.path.format(**gatherings.slugs), language)
            visit(browser_page, url, item, language)
            found += too_wide(browser_page)

    assert found == [], "\n".join(found)


# --- Results first on a phone -----------------------------------------------------------

FIRST_RESULT_TOP = f"() => document.querySelector({RESULT_TITLES!r}).getBoundingClientRect().top"


def first_result_on_screen(page: Page) -> bool:
    top = page.evaluate(FIRST_RESULT_TOP)
    return 0 <= top < page.evaluate("() => innerHeight")


@pytest.mark.parametrize("language", LANGUAGES)
def test_filter_on_phone_lands_on_first_result(page, bank, language):
    page.set_viewport_size(PHONE)
    page.goto(bank.url("/tiltak/", language))
    assert first_result_on_screen(page)
    filters = page.locator("summary.browser__filters-button")
    expect(filters).to_have_text(in_language("Filter", language))

    filters.click()
    choose_facet(page, in_language("Purpose", language), "purpose", "across-sectors")

    assert page.url.endswith("#results")
    assert first_result_on_screen(page)
    expect(page.locator("summary.browser__filters-button")).to_have_text(
        in_language("Filter (%(number)s)", language) % {"number": 1}
    )


def test_show_results_button_returns_to_results(page, bank):
    page.set_viewport_size(PHONE)
    page.goto(bank.url("/tiltak/?purpose=across-sectors"))
    page.locator("summary.browser__filters-button").click()
    page.locator(".facet summary").last.scroll_into_view_if_needed()

    show = page.locator(".browser__filters-done a")
    expect(show).to_have_text(
        nb_plural("Show %(counter)s initiative", "Show %(counter)s initiatives", 3)
    )
    show.click()

    assert page.url.endswith("#results")
    assert first_result_on_screen(page)


@pytest.mark.parametrize(
    "path", ["/arrangementer/?kind=workshop", "/nettverk/?scope=regional", "/arbeidsgrupper/"]
)
def test_other_filtered_lists_put_results_first_on_phone(page, gatherings, bank, path):
    page.set_viewport_size(PHONE)
    page.goto(bank.url(path))

    expect(page.locator(".list-filters > form")).to_be_hidden()
    expect(page.locator("#results")).to_be_in_viewport()
    with page.expect_navigation():
        page.locator("summary.list-filters__button").click()
        page.locator(".list-filters > form button[type=submit]").click()
    assert page.url.endswith("#results")
    expect(page.locator("#results")).to_be_in_viewport()


# --- The header ---------------------------------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
def test_header_is_compact_on_phone(page, bank, language):
    page.set_viewport_size(PHONE)
    page.goto(bank.url("/", language))

    height = page.locator(".site-header").bounding_box()["height"]

    assert height < 80, f"the header takes {height} px"
    expect(page.get_by_role("navigation", name=in_language("Main menu", language))).to_be_hidden()


def test_menu_button_opens_menu_by_keyboard(page, bank):
    page.set_viewport_size(PHONE)
    page.goto(bank.url("/"))
    menu = page.get_by_role("navigation", name=nb("Main menu"))

    tab_to(page, "summary.site-menu__button")
    page.keyboard.press("Enter")

    expect(menu).to_be_visible()
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.textContent") == nb("Home")
    tab_to(page, ".site-nav__link[href$='/arbeidsgrupper/']")
    page.keyboard.press("Enter")
    page.wait_for_url("**/arbeidsgrupper/")
    expect(page.get_by_role("heading", level=1)).to_have_text(nb("Working groups"))


def test_menu_stays_open_on_wide_screen(page, bank):
    page.set_viewport_size({"width": 1024, "height": 768})
    page.goto(bank.url("/"))

    expect(page.locator("summary.site-menu__button")).to_be_hidden()
    expect(page.get_by_role("navigation", name=nb("Main menu"))).to_be_visible()


@pytest.mark.parametrize("language", LANGUAGES)
def test_list_and_menu_on_phone_have_no_wcag_violations(page, bank, language):
    page.set_viewport_size(PHONE)
    page.emulate_media(reduced_motion="reduce")
    page.goto(bank.url("/tiltak/?purpose=across-sectors", language))

    folded = AXE.run(page, options=WCAG_21_AA).response["violations"]

    # Every <details> open (the menu, the filters, each facet). Without motion: axe
    # misreads the colours of text still sliding open in Designsystemet's animation.
    page.eval_on_selector_all("details", OPEN_ALL)
    unfolded = AXE.run(page, options=WCAG_21_AA).response["violations"]

    assert folded == [], axe_report(folded)
    assert unfolded == [], axe_report(unfolded)
