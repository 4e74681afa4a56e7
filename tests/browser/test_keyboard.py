"""By keyboard alone: the skip link comes first, every control is reached and shows focus."""

import pytest

from tests.browser.helpers import nb

pytestmark = pytest.mark.browser

MAX_TABS = 300
CONTROLS = "a[href], button, input:not([type=hidden]), select, textarea, summary"

# Numbers every control, and tells which of them a sighted visitor can see and Tab should
# reach. A radio group is one Tab stop, its checked button (arrow keys move within it).
MARK_CONTROLS = """selector => [...document.querySelectorAll(selector)].map((el, index) => {
    el.dataset.kbd = index;
    const box = el.getBoundingClientRect();
    const otherRadioChecked = el.type === "radio" && !el.checked && [
        ...document.querySelectorAll(`input[type=radio][name="${CSS.escape(el.name)}"]`)
    ].some(radio => radio.checked && radio.form === el.form);
    return {
        index,
        visible: el.checkVisibility({visibilityProperty: true}) && box.width > 0 && box.height > 0
            && !otherRadioChecked,
        name: `${el.tagName.toLowerCase()}${el.className ? "." + el.className.trim().replace(/\\s+/g, ".") : ""} “${(el.innerText || el.value || el.getAttribute("aria-label") || "").trim().slice(0, 40)}”`,
    };
})"""
FOCUS_STYLE = """el => {
    const style = getComputedStyle(el);
    const box = el.getBoundingClientRect();
    return {
        area: box.width * box.height,
        outline: `${style.outlineStyle} ${style.outlineWidth} ${style.outlineColor}`,
        outlineStyle: style.outlineStyle,
        outlineWidth: parseFloat(style.outlineWidth) || 0,
        boxShadow: style.boxShadow,
    };
}"""
ACTIVE = f"""() => {{
    const el = document.activeElement;
    if (!el || el === document.body || el.dataset.kbd === undefined) return null;
    return {{index: Number(el.dataset.kbd), style: ({FOCUS_STYLE})(el)}};
}}"""
UNFOCUSED_STYLE = f"index => ({FOCUS_STYLE})(document.querySelector(`[data-kbd='${{index}}']`))"

LIST_PAGES = {
    "list": "/tiltak/",
    # Chips, "clear all" and an open facet add controls of their own.
    "list-filtered": "/tiltak/?q=matsvinn&purpose=across-sectors",
}


def tab_through(page) -> list[dict]:
    """Press Tab until focus comes back to the first stop; each stop with its focus style."""
    stops = []
    for _ in range(MAX_TABS):
        page.keyboard.press("Tab")
        stop = page.evaluate(ACTIVE)
        if stop is None:
            continue  # the document itself, between the last control and the first
        if stops and stop["index"] == stops[0]["index"]:
            break
        stops.append(stop)
    return stops


def shows_focus(focused: dict, unfocused: dict) -> bool:
    """An outline or shadow that only focus brings, or a control only shown when focused."""
    if unfocused["area"] <= 1 < focused["area"]:
        return True  # the skip link: hidden until focused, its appearing is the indicator
    outline = focused["outlineStyle"] != "none" and focused["outlineWidth"] > 0
    shadow = focused["boxShadow"] != "none"
    changed = (focused["outline"], focused["boxShadow"]) != (
        unfocused["outline"],
        unfocused["boxShadow"],
    )
    return changed and (outline or shadow)


@pytest.mark.parametrize("name", list(LIST_PAGES))
def test_keyboard_reaches_every_control_and_shows_focus(page, bank, name):
    page.goto(bank.url(LIST_PAGES[name]))
    controls = {c["index"]: c for c in page.evaluate(MARK_CONTROLS, CONTROLS)}

    stops = tab_through(page)
    page.evaluate("() => document.activeElement.blur()")
    unfocused = {stop["index"]: page.evaluate(UNFOCUSED_STYLE, stop["index"]) for stop in stops}

    reached = {stop["index"] for stop in stops}
    unreached = [c["name"] for i, c in controls.items() if c["visible"] and i not in reached]
    assert unreached == [], "not reachable by Tab"
    assert len(stops) < MAX_TABS, "focus never came back to the first stop"
    invisible_focus = [
        f"{controls[stop['index']]['name']}: focused {stop['style']}, "
        f"unfocused {unfocused[stop['index']]}"
        for stop in stops
        if not shows_focus(stop["style"], unfocused[stop["index"]])
    ]
    assert invisible_focus == [], "focus not visible"


def test_skip_link_is_first_and_moves_focus_to_main(page, bank):
    page.goto(bank.url("/tiltak/"))

    page.keyboard.press("Tab")
    first = page.evaluate("() => [document.activeElement.innerText, document.activeElement.hash]")
    skip_link_box = page.locator(":focus").bounding_box()
    page.keyboard.press("Enter")
    page.wait_for_url(bank.url("/tiltak/#main"))

    assert first == [nb("Skip to main content"), "#main"]
    assert min(skip_link_box["width"], skip_link_box["height"]) > 1, "skip link not shown"
    assert page.evaluate("() => document.activeElement.id") == "main"
