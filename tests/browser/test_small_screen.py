"""At 320 CSS pixels wide (WCAG 1.4.10, reflow) the pages never scroll sideways."""

import pytest

pytestmark = pytest.mark.browser

WIDTH = 320
PAGES = {
    "list": "/tiltak/",
    # Chips, an open facet and the sort form make the widest list.
    "list-filtered": "/tiltak/?q=matsvinn&purpose=across-sectors&goal=2",
    "initiative": "/tiltak/matsvinn-i-barnehager/",
}
# The elements sticking out on the right, to say what to fix.
OVERFLOWING = f"""() => [...document.querySelectorAll("body *")]
    .filter(el => el.getBoundingClientRect().right > {WIDTH} + 0.5)
    .filter(el => ![...el.children].some(child => child.getBoundingClientRect().right > {WIDTH} + 0.5))
    .slice(0, 8)
    .map(el => `${{el.tagName.toLowerCase()}}.${{el.className}} right=${{Math.round(el.getBoundingClientRect().right)}}`)"""


@pytest.mark.parametrize("language", ["nb", "en"])
@pytest.mark.parametrize("name", list(PAGES))
def test_page_has_no_horizontal_scrolling_at_320_px(page, bank, name, language):
    page.set_viewport_size({"width": WIDTH, "height": 640})
    page.goto(bank.url(PAGES[name], language))
    page.eval_on_selector_all("details", "all => all.forEach(d => { d.open = true; })")

    scroll_width = page.evaluate("() => document.documentElement.scrollWidth")

    assert scroll_width <= WIDTH, f"scrollWidth {scroll_width}: {page.evaluate(OVERFLOWING)}"


# Networks, working groups and events (issue 5); paths name keys of Gatherings.slugs.
GATHERING_PAGES = {
    "network-list-filtered": "/nettverk/?scope=regional&focus_area=food-and-food-waste",
    "network": "/nettverk/{network}/",
    "working-group-list": "/arbeidsgrupper/",
    "working-group": "/arbeidsgrupper/{group}/",
    "event-list": "/arrangementer/?kind=workshop",
    "event-past-list": "/arrangementer/tidligere/",
    "event-open": "/arrangementer/{open}/",
    "event-past": "/arrangementer/{past}/",
    "registration-cancel": "/arrangementer/avmeld/{token}/",
}


@pytest.mark.parametrize("name", list(GATHERING_PAGES))
def test_gathering_page_has_no_horizontal_scrolling_at_320_px(page, gatherings, bank, name):
    """Both languages in one test: the data set behind these pages is slow to build."""
    page.set_viewport_size({"width": WIDTH, "height": 640})
    too_wide = []

    for language in ("nb", "en"):
        page.goto(bank.url(GATHERING_PAGES[name].format(**gatherings.slugs), language))
        scroll_width = page.evaluate("() => document.documentElement.scrollWidth")
        if scroll_width > WIDTH:
            too_wide.append(f"{page.url}: scrollWidth {scroll_width}: {page.evaluate(OVERFLOWING)}")

    assert too_wide == []
