"""A visitor finds initiatives on /tiltak/: search, two facets, a result, back, chips."""

from urllib.parse import urlsplit

import pytest

from initiatives.filters import InitiativeFilter
from initiatives.models import Goal, Purpose
from tests.browser.helpers import (
    chip_labels,
    choose_facet,
    count_heading,
    in_bokmal,
    nb,
    query,
    result_heading,
    result_titles,
)

pytestmark = pytest.mark.browser


def label(name: str) -> str:
    return in_bokmal(InitiativeFilter.base_filters[name].label)


def assert_nothing_hidden_shown(page, bank) -> None:
    content = page.content()
    shown = [title for title in bank.hidden_titles if title in content]
    assert shown == [], f"unpublished initiatives shown on {page.url}"


def test_visitor_searches_narrows_opens_goes_back_and_clears(page, bank, csp_violations):
    requests = []
    page.on("request", lambda request: requests.append(request.url))
    matsvinn = bank.titles("kindergartens", "school_canteens", "nursing_homes", "volunteers")
    purpose = Purpose.objects.get(slug="across-sectors")
    search_chip = nb("Search: %(text)s") % {"text": "matsvinn"}
    purpose_chip = f"{label('purpose')}: {purpose.name_nb}"
    goal_chip = f"{label('goal')}: {in_bokmal(Goal.objects.get(number=2))}"

    page.goto(bank.url("/tiltak/"))
    assert result_heading(page) == count_heading(6)
    assert_nothing_hidden_shown(page, bank)

    search = page.get_by_role("searchbox", name=nb("Search initiatives"))
    search.click()
    page.keyboard.type("matsvinn")
    page.keyboard.press("Enter")
    page.wait_for_url(lambda url: query(url).get("q") == ["matsvinn"])
    assert result_heading(page) == count_heading(4)
    assert result_titles(page) == matsvinn
    assert chip_labels(page) == [search_chip]
    assert_nothing_hidden_shown(page, bank)

    choose_facet(page, label("purpose"), "purpose", "across-sectors")
    assert result_heading(page) == count_heading(3)
    choose_facet(page, label("goal"), "goal", "2")
    narrowed_url = page.url
    assert query(narrowed_url) == {
        "q": ["matsvinn"],
        "purpose": ["across-sectors"],
        "goal": ["2"],
    }
    assert result_heading(page) == count_heading(2)
    assert result_titles(page) == bank.titles("kindergartens", "nursing_homes")
    # The search chip comes first, then one per choice in the order of the facets.
    assert chip_labels(page) == [search_chip, goal_chip, purpose_chip]
    assert_nothing_hidden_shown(page, bank)

    page.get_by_role("link", name="Matsvinn i barnehager", exact=True).click()
    page.wait_for_url(bank.url("/tiltak/matsvinn-i-barnehager/"))
    assert page.get_by_role("heading", level=1).inner_text() == "Matsvinn i barnehager"

    page.go_back()
    assert page.url == narrowed_url
    assert result_heading(page) == count_heading(2)
    assert result_titles(page) == bank.titles("kindergartens", "nursing_homes")
    assert chip_labels(page) == [search_chip, goal_chip, purpose_chip]

    remove_goal = nb("Remove %(label)s") % {"label": goal_chip}
    page.get_by_role("link", name=remove_goal, exact=True).click()
    page.wait_for_url(lambda url: "goal" not in query(url))
    assert query(page.url) == {"q": ["matsvinn"], "purpose": ["across-sectors"]}
    assert result_titles(page) == bank.titles("kindergartens", "school_canteens", "nursing_homes")
    assert chip_labels(page) == [search_chip, purpose_chip]

    page.get_by_role("link", name=nb("Clear all filters"), exact=True).click()
    page.wait_for_url(lambda url: "purpose" not in query(url))
    # Clearing the filters keeps the search text: that is not a filter.
    assert query(page.url) == {"q": ["matsvinn"]}
    assert result_heading(page) == count_heading(4)
    assert result_titles(page) == matsvinn
    assert chip_labels(page) == [search_chip]
    assert_nothing_hidden_shown(page, bank)

    elsewhere = [url for url in requests if not url.startswith(f"{bank.site}/")]
    assert elsewhere == []
    assert csp_violations == []


def test_pages_request_nothing_from_other_hosts(page, bank):
    """Fonts, styles, images: every request the main pages make goes to our own host."""
    requests = []
    page.on("request", lambda request: requests.append(request.url))

    for path in ("/", "/tiltak/", "/tiltak/matsvinn-i-barnehager/", "/barekraftsmal/12/"):
        page.goto(bank.url(path))

    hosts = {urlsplit(url)._replace(path="", query="", fragment="").geturl() for url in requests}
    assert hosts == {bank.site}
