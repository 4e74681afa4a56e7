"""Without JavaScript a visitor searches and filters, and gets the same results."""

import pytest

from initiatives.filters import InitiativeFilter
from tests.browser.helpers import (
    chip_labels,
    choose_facet,
    in_bokmal,
    nb,
    query,
    result_heading,
    result_titles,
)

pytestmark = pytest.mark.browser


def test_search_and_facet_work_without_javascript(new_context, page, bank):
    no_script = new_context(java_script_enabled=False).new_page()
    purpose_label = in_bokmal(InitiativeFilter.base_filters["purpose"].label)

    no_script.goto(bank.url("/tiltak/"))
    no_script.get_by_role("searchbox", name=nb("Search initiatives")).fill("matsvinn")
    no_script.get_by_role("button", name=nb("Search"), exact=True).click()
    no_script.wait_for_url(lambda url: query(url).get("q") == ["matsvinn"])
    searched = result_titles(no_script)
    choose_facet(no_script, purpose_label, "purpose", "across-sectors")
    filtered = result_titles(no_script)

    page.goto(no_script.url)
    assert query(no_script.url) == {"q": ["matsvinn"], "purpose": ["across-sectors"]}
    assert searched == bank.titles(
        "kindergartens", "school_canteens", "nursing_homes", "volunteers"
    )
    assert filtered == bank.titles("kindergartens", "school_canteens", "nursing_homes")
    # The same URL with JavaScript shows the very same page state.
    assert (result_titles(page), result_heading(page), chip_labels(page)) == (
        filtered,
        result_heading(no_script),
        chip_labels(no_script),
    )
