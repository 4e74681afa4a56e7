"""The site frame, the home page and the pages about the site, in both languages."""

import re
from datetime import timedelta
from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.contrib.messages import constants, get_messages
from django.contrib.messages.middleware import MessageMiddleware
from django.contrib.sessions.middleware import SessionMiddleware
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext

from ideabank import views
from ideabank.contrast import contrast_ratio, text_colour_on
from ideabank.management.commands.sdg_css import SDG_CSS
from initiatives import engine
from initiatives.models import ActorType, Goal, Initiative, Purpose
from tests.factories import (
    make_adoption,
    make_initiative,
    make_network,
    make_organisation,
    make_participation,
)

pytestmark = pytest.mark.django_db

LANGUAGES = ["nb", "en"]
OTHER_LANGUAGE = {"nb": "en", "en": "nb"}
# URL name and the page's own part of the <title>, as an English source string.
PAGES = {
    "home": "Share and find sustainability initiatives",
    "about": "About Idébanken",
    "accessibility": "Accessibility statement",
    "privacy": "Privacy",
    "open_data": "Open data",
}
HIDDEN_STATUSES = [
    Initiative.Status.DRAFT,
    Initiative.Status.SUBMITTED,
    Initiative.Status.REJECTED,
    Initiative.Status.ARCHIVED,
]


def url(name: str, language: str, *args) -> str:
    with translation.override(language):
        return reverse(name, args=args)


def translated(text: str, language: str) -> str:
    with translation.override(language):
        return gettext(text)


class Page(HTMLParser):
    """What a page promises about its frame, read with the standard library's parser."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.html_lang = None
        self.title = ""
        self.elements: list[tuple[str, dict]] = []
        self.anchors: list[dict] = []
        self.forms: list[dict] = []
        self.headings: list[tuple[str, str]] = []
        self.inline_scripts = 0
        self._landmarks: list[tuple[str, str | None]] = []
        self._in_title = False
        self._in_heading = False
        self._anchor: dict | None = None
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list) -> None:
        attributes = dict(attrs)
        self.elements.append((tag, attributes))
        if tag == "html":
            self.html_lang = attributes.get("lang")
        elif tag == "title":
            self._in_title = True
        elif tag in ("h1", "h2", "h3"):
            self.headings.append((tag, ""))
            self._in_heading = True
        elif tag in ("nav", "footer", "header", "main"):
            self._landmarks.append((tag, attributes.get("aria-label")))
        elif tag == "a":
            self._anchor = {
                **attributes,
                "text": "",
                "nav": next((label for t, label in reversed(self._landmarks) if t == "nav"), None),
                "in_footer": any(t == "footer" for t, _ in self._landmarks),
            }
            self.anchors.append(self._anchor)
        elif tag == "form":
            self.forms.append({**attributes, "inputs": []})
        elif tag in ("input", "button") and self.forms:
            self.forms[-1]["inputs"].append({"tag": tag, **attributes})
        elif tag == "script" and not attributes.get("src"):
            self.inline_scripts += 1

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False
        elif tag in ("h1", "h2", "h3"):
            self._in_heading = False
        elif tag in ("nav", "footer", "header", "main") and self._landmarks:
            self._landmarks.pop()
        elif tag == "a":
            self._anchor = None

    def handle_data(self, data: str) -> None:
        if self._in_heading:
            tag, text = self.headings[-1]
            self.headings[-1] = (tag, text + data)
        if self._in_title:
            self.title += data
        if self._anchor is not None:
            self._anchor["text"] += data

    def nav_hrefs(self, label: str) -> list[str]:
        return [a["href"] for a in self.anchors if a["nav"] == label]

    def current(self) -> list[str]:
        return [a["href"] for a in self.anchors if a.get("aria-current") == "page"]


def language_switch(page: Page) -> tuple[dict, dict]:
    """The language switch form and the values it sends."""
    (form,) = [form for form in page.forms if form["action"] == reverse("set_language")]
    return form, {field["name"]: field["value"] for field in form["inputs"] if "name" in field}


def get_page(client, name: str, language: str) -> tuple:
    response = client.get(url(name, language))
    assert response.status_code == 200
    return response, Page(response.text)


# --- The frame, on every site page ------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("name", PAGES)
def test_page_renders_frame_in_language(client, name, language):
    response, page = get_page(client, name, language)

    assert page.html_lang == language
    assert page.title == f"{translated(PAGES[name], language)} – {settings.SITE_NAME}"
    assert page.anchors[0]["href"] == "#main"
    assert page.anchors[0]["text"] == translated("Skip to main content", language)
    assert ("main", {"id": "main", "tabindex": "-1", "class": "site-main"}) in page.elements
    assert page.nav_hrefs(translated("Main menu", language)) == [
        url("home", language),
        url("initiatives:list", language),
        url("initiatives:create", language),
        url("networks:network_list", language),
        url("networks:working_group_list", language),
        url("networks:event_list", language),
        url("home", language) + "#sdg",
        url("about", language),
    ]
    assert [a["href"] for a in page.anchors if a["in_footer"]] == [
        url("about", language),
        url("accessibility", language),
        url("privacy", language),
        url("open_data", language),
        url("initiatives:statistics", language),
    ]


@pytest.mark.parametrize(
    ("name", "current"),
    [
        ("home", ["home"]),
        ("about", ["about", "about"]),  # the main menu and the footer
        ("accessibility", ["accessibility"]),
        ("privacy", ["privacy"]),
        ("open_data", ["open_data"]),
    ],
)
def test_page_marks_itself_current(client, name, current):
    _, page = get_page(client, name, "en")

    assert page.current() == [url(item, "en") for item in current]


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("name", PAGES)
def test_language_switch_leads_to_same_page_in_other_language(client, name, language):
    other = OTHER_LANGUAGE[language]
    _, page = get_page(client, name, language)
    form, fields = language_switch(page)

    response = client.post(form["action"], fields)

    assert form["method"] == "post"
    assert fields["language"] == other
    assert response.status_code == 302
    assert response.headers["Location"] == url(name, other)


def test_language_switch_keeps_the_query(client):
    response = client.get("/en/?q=mat")

    _, fields = language_switch(Page(response.text))
    assert fields["next"] == "/?q=mat"


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("name", PAGES)
def test_page_has_no_inline_code_and_no_other_hosts(client, name, language):
    organisation = make_organisation(website="https://example.org/")
    make_initiative(status=Initiative.Status.PUBLISHED, lead_organisation=organisation)

    response, page = get_page(client, name, language)

    assert 'style="' not in response.text
    assert [
        tag for tag, attributes in page.elements if tag == "style" or "style" in attributes
    ] == []
    assert page.inline_scripts == 0
    loaded = [
        attributes.get(attribute, "")
        for tag, attributes in page.elements
        for attribute in ("href", "src", "srcset")
        if tag in ("link", "script", "img")
        # Canonical and language versions name absolute addresses but load nothing.
        and not (tag == "link" and attributes.get("rel") in ("canonical", "alternate"))
    ]
    assert [address for address in loaded if urlsplit(address).netloc] == []
    assert [address for address in loaded if urlsplit(address).scheme not in ("", "data")] == []


def test_messages_show_as_designsystemet_alerts(rf):
    request = rf.get("/en/om/")
    SessionMiddleware(lambda r: None).process_request(request)
    MessageMiddleware(lambda r: None).process_request(request)
    get_messages(request).add(constants.SUCCESS, "Thank you, your initiative was sent.")
    get_messages(request).add(constants.ERROR, "That did not work.")

    with translation.override("en"):
        response = views.about(request)

    alerts = [
        attributes["data-color"]
        for tag, attributes in Page(response.content.decode()).elements
        if "ds-alert" in attributes.get("class", "")
    ]
    assert alerts == ["success", "danger"]
    assert "Thank you, your initiative was sent." in response.content.decode()


# --- Site pages ----------------------------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
def test_accessibility_statement_carries_the_required_fields(client, settings, language):
    settings.DEFAULT_FROM_EMAIL = "Idébanken <kontakt@example.org>"

    response, page = get_page(client, "accessibility", language)

    hrefs = [a["href"] for a in page.anchors]
    assert "mailto:kontakt@example.org" in hrefs
    assert "https://www.uutilsynet.no/" in hrefs
    assert [text for tag, text in page.headings if tag == "h2"] == [
        translated(heading, language)
        for heading in (
            "How we assessed the site",
            "Known deviations",
            "Feedback and contact",
            "Your right to complain",
        )
    ]
    dates = [a["datetime"] for tag, a in page.elements if tag == "time"]
    assert dates == [views.STATEMENT_MADE.isoformat(), views.STATEMENT_UPDATED.isoformat()]
    for text in ("WCAG 2.1", "axe-core", "Chromium", "uutilsynet.no"):
        assert text in response.text


def test_privacy_page_names_what_is_stored_and_the_cookies(client, settings):
    settings.DEFAULT_FROM_EMAIL = "kontakt@example.org"

    response, page = get_page(client, "privacy", "en")

    assert "mailto:kontakt@example.org" in [a["href"] for a in page.anchors]
    for text in (
        "User accounts",
        "Submitted initiatives",
        "Event registrations",
        "No analytics",
        "No third parties",
        "sessionid",
        "csrftoken",
    ):
        assert text in response.text


def test_about_page_says_what_and_for_whom(client):
    response, page = get_page(client, "about", "en")

    assert "Who it is for" in response.text
    assert "kindergartens" in response.text
    assert url("initiatives:list", "en") in [a["href"] for a in page.anchors]


# --- Home ------------------------------------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
def test_home_shows_the_17_goals_as_tiles_in_language(client, language):
    _, page = get_page(client, "home", language)

    tiles = [a for a in page.anchors if "sdg-tile" in a.get("class", "")]
    goals = Goal.objects.order_by("number")
    assert [tile["class"] for tile in tiles] == [f"sdg-tile sdg-{n}" for n in range(1, 18)]
    assert [tile["href"] for tile in tiles] == [
        url("initiatives:goal", language, n) for n in range(1, 18)
    ]
    shorts = [goal.short_nb if language == "nb" else goal.short_en for goal in goals]
    assert [" ".join(tile["text"].split()) for tile in tiles] == [
        f"{translated('Goal', language)} {n} {short}"
        for n, short in zip(range(1, 18), shorts, strict=True)
    ]


def test_sdg_css_is_current_and_every_pair_is_readable():
    call_command("sdg_css", "--check")

    rules = re.findall(
        r"\.sdg-(\d+) \{ background-color: (#[0-9A-F]{6}); color: (#[0-9A-F]{6}); \}",
        SDG_CSS.read_text(encoding="utf-8"),
    )
    colours = dict(Goal.objects.values_list("number", "colour"))
    assert [int(number) for number, _, _ in rules] == list(range(1, 18))
    for number, background, text in rules:
        assert background == colours[int(number)].upper()
        assert text == text_colour_on(background)
        assert contrast_ratio(background, text) >= 4.5


@pytest.mark.parametrize(
    ("background", "text"),
    [
        ("#FFFFFF", "#000000"),
        ("#000000", "#FFFFFF"),
        ("#E5243B", "#000000"),
        ("#19486A", "#FFFFFF"),
    ],
)
def test_text_colour_on_picks_the_better_contrast(background, text):
    assert text_colour_on(background) == text


def test_contrast_ratio_matches_wcag():
    assert contrast_ratio("#000000", "#FFFFFF") == pytest.approx(21)
    assert contrast_ratio("#777777", "#FFFFFF") == pytest.approx(4.48, abs=0.01)


def test_home_search_form_goes_to_the_initiative_list(client):
    _, page = get_page(client, "home", "en")

    (form,) = [form for form in page.forms if form.get("role") == "search"]
    (query,) = [field for field in form["inputs"] if field.get("name") == "q"]
    labels = [attributes for tag, attributes in page.elements if tag == "label"]
    assert form["action"] == url("initiatives:list", "en")
    assert form["method"] == "get"
    assert {"class": "ds-label", "for": query["id"]} in labels
    assert [field["type"] for field in form["inputs"] if field["tag"] == "button"] == ["submit"]


def test_home_links_ways_in_by_actor_type_and_purpose(client):
    response, page = get_page(client, "home", "en")

    hrefs = [a["href"] for a in page.anchors]
    actor_type_links = [h for h in hrefs if h.startswith("/en/aktortyper/")]
    purpose_links = [h for h in hrefs if h.startswith("/en/formal/")]
    groups = [
        label
        for group, label in ActorType.Group.choices
        if ActorType.objects.filter(group=group).exists()
    ]
    assert sorted(actor_type_links) == sorted(
        url("initiatives:actor_type", "en", slug)
        for slug in ActorType.objects.values_list("slug", flat=True)
    )
    assert purpose_links == [
        url("initiatives:purpose", "en", slug)
        for slug in Purpose.objects.values_list("slug", flat=True)
    ]
    assert [label for label, _ in response.context["actor_type_groups"]] == groups


def test_home_lists_and_counts_only_published(client):
    make_network()
    for status in HIDDEN_STATUSES:
        hidden = make_initiative(status=status, title=f"Hidden {status}")
        make_participation(initiative=hidden)
        make_adoption(initiative=hidden)
    published = make_initiative(status=Initiative.Status.PUBLISHED, title="Visible initiative")
    make_participation(initiative=published)
    make_adoption(initiative=published)

    response, page = get_page(client, "home", "en")

    assert [initiative.title for initiative in response.context["latest"]] == [published.title]
    assert response.context["counts"] == {
        "initiatives": 1,
        "organisations": 3,
        "adoptions": 1,
        "networks": 1,
    }
    assert "Hidden" not in response.text
    hrefs = [a["href"] for a in page.anchors]
    assert url("initiatives:detail", "en", published.slug) in hrefs
    assert url("initiatives:organisation", "en", published.lead_organisation.slug) in hrefs


def test_home_shows_the_six_latest_newest_first(client):
    now = timezone.now()
    initiatives = [make_initiative(status=Initiative.Status.PUBLISHED) for _ in range(7)]
    for days, initiative in enumerate(initiatives):
        Initiative.objects.filter(pk=initiative.pk).update(published_at=now - timedelta(days=days))

    response, page = get_page(client, "home", "en")

    assert [i.pk for i in response.context["latest"]] == [i.pk for i in initiatives[:6]]
    assert url("initiatives:detail", "en", initiatives[6].slug) not in [
        a["href"] for a in page.anchors
    ]


@pytest.mark.parametrize("count", [1, 20])
def test_home_query_count_does_not_grow(client, django_assert_num_queries, count):
    make_network()
    for _ in range(count):
        initiative = make_initiative(status=Initiative.Status.PUBLISHED)
        make_participation(initiative=initiative)
        make_adoption(initiative=initiative)

    engine.engine()  # built once per process, then one query per request
    # One more for this year's working groups (none here; their next events would be one
    # more: tests/networks/test_network_working_groups.py).
    with django_assert_num_queries(7):
        response = client.get("/")

    assert len(response.context["latest"]) == min(count, 6)
