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
