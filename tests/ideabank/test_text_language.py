"""Text people wrote carries the language they wrote it in (WCAG 3.1.2), whatever the page's."""

from html.parser import HTMLParser

import pytest

from tests.factories import make_confirmed_user, make_event, make_initiative, make_network

pytestmark = pytest.mark.django_db


class LangOfText(HTMLParser):
    """The lang in force (the nearest ancestor's) for each piece of text on a page."""

    VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source"}

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[tuple[str, str | None]] = []
        self.found: dict[str, set[str | None]] = {}

    def handle_starttag(self, tag, attrs):
        if tag not in self.VOID:
            lang = dict(attrs).get("lang") or (self.stack[-1][1] if self.stack else None)
            self.stack.append((tag, lang))

    def handle_endtag(self, tag):
        while self.stack and self.stack.pop()[0] != tag:
            pass

    def handle_data(self, data):
        if data.strip() and self.stack:
            self.found.setdefault(data.strip(), set()).add(self.stack[-1][1])


def langs_of(html: str, text: str) -> set[str | None]:
    parser = LangOfText()
    parser.feed(html)
    return parser.found.get(text, set())


@pytest.mark.parametrize(
    ("page_language", "text_language", "prefix"),
    [("en", "nb", "/en"), ("nb", "en", "")],
)
@pytest.mark.parametrize("path", ["/", "/tiltak/", "/tiltak/{slug}/", "/tiltak/?q=kompost"])
def test_initiative_text_marked_with_its_language(
    client, path, page_language, text_language, prefix
):
    initiative = make_initiative(
        title="Kompost i skolegården",
        summary="Elevene lager kompost av matavfallet.",
        language=text_language,
        status="published",
    )

    response = client.get(prefix + path.format(slug=initiative.slug))

    html = response.content.decode()
    assert f'<html lang="{page_language}"' in html
    assert langs_of(html, initiative.title) == {text_language}
    assert langs_of(html, initiative.summary) == {text_language}


def test_initiative_detail_marks_every_text_it_shows(client):
    initiative = make_initiative(
        description="Slik gjorde vi det.",
        results="Halvparten mindre avfall.",
        frame_goals="Mindre svinn.",
        contact_name="Kari Nordmann",
        status="published",
    )

    html = client.get(f"/en/tiltak/{initiative.slug}/").content.decode()

    texts = ["Slik gjorde vi det.", "Halvparten mindre avfall.", "Mindre svinn.", "Kari Nordmann"]
    assert {text: langs_of(html, text) for text in texts} == {text: {"nb"} for text in texts}


def test_network_and_event_text_marked_with_its_language(client):
    network = make_network(name="Klimanettverket", description="Kommuner som kutter utslipp.")
    event = make_event(title="Frokostmøte om matsvinn", description="Vi spiser og snakker.")

    network_html = client.get(f"/en/nettverk/{network.slug}/").content.decode()
    event_html = client.get(f"/en/arrangementer/{event.slug}/").content.decode()

    assert langs_of(network_html, "Kommuner som kutter utslipp.") == {"nb"}
    assert langs_of(event_html, "Frokostmøte om matsvinn") == {"nb"}
    assert langs_of(event_html, "Vi spiser og snakker.") == {"nb"}


def test_text_inside_a_translated_sentence_marked_with_its_language(client):
    initiative = make_initiative(
        title="Kompost <i>i</i> skolegården", contact_email="kari@example.org", status="published"
    )
    client.force_login(make_confirmed_user())

    html = client.get(f"/en/tiltak/{initiative.slug}/kontakt/").content.decode()

    assert '<span lang="nb">Kompost &lt;i&gt;i&lt;/i&gt; skolegården</span>' in html
    assert langs_of(html, "Kompost <i>i</i> skolegården") == {"nb"}
