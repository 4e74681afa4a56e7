"""Issue 11, point 8: a NUL byte (which PostgreSQL text cannot hold) is 400 on every page,
the admin included, and e-mails are plain text, never HTML-escaped."""

from datetime import UTC, date, datetime
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.conf import settings as django_settings
from django.template.loader import render_to_string

from tests.factories import make_initiative, make_moderator

pytestmark = pytest.mark.django_db

ADMIN_CHANGELIST = "/admin/initiatives/initiative/"


def test_nul_in_an_admin_filter_is_400_not_500(client):
    client.force_login(make_moderator())
    make_initiative(title="Synlig")

    assert client.get(ADMIN_CHANGELIST).status_code == 200
    response = client.get(ADMIN_CHANGELIST, {"status__exact": "\x00"})

    assert response.status_code == 400


def test_nul_in_the_admin_autocomplete_is_400(client):
    client.force_login(make_moderator())

    response = client.get("/admin/autocomplete/", {"term": "a\x00", "app_label": "x"})

    assert response.status_code == 400


@pytest.mark.parametrize(
    "data",
    [
        {"username": "kari@example.org\x00", "password": "secret"},
        {"username": "kari@example.org", "password": "\x00"},
        {"user\x00name": "kari@example.org", "password": "secret"},
    ],
)
def test_nul_in_a_posted_field_on_the_login_page_is_400(client, data):
    response = client.post("/en/konto/logg-inn/", data)

    assert response.status_code == 400
    assert "We could not read that request" in response.content.decode()


def test_the_400_page_speaks_the_language_of_the_url(client):
    response = client.get("/tiltak/", {"q": "\x00"})

    assert response.status_code == 400
    assert response.templates[0].name == "400.html"
    assert "We could not read that request" not in response.content.decode()


@pytest.mark.parametrize("path", ["/tiltak/a%00b/", "/en/tiltak/%00/", "/admin/%00/", "/%00"])
def test_nul_in_the_path_is_never_500(client, path):
    client.force_login(make_moderator())

    response = client.get(path)

    assert response.status_code in (400, 404)


def test_file_contents_may_hold_nul(client):
    """Only text fields are checked: an upload's bytes are the view's business."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("program.exe", b"MZ\x90\x00")
    response = client.post("/en/konto/logg-inn/", {"username": "x", "document": upload})

    assert response.status_code == 200


def test_json_bodies_are_left_to_the_view(client):
    response = client.post(
        "/en/konto/logg-inn/", data='{"a": "\\u0000"}', content_type="application/json"
    )

    assert response.status_code == 200


def test_normal_requests_are_unaffected(client):
    make_initiative(title="Synlig", status="published")
    moderator = make_moderator()

    assert client.get("/en/tiltak/", {"q": "synlig"}).status_code == 200
    assert client.post("/en/konto/logg-inn/", {"username": "x", "password": "y"}).status_code == 200
    client.force_login(moderator)
    assert client.get(ADMIN_CHANGELIST, {"status__exact": "published"}).status_code == 200


# --- e-mail is plain text -------------------------------------------------------------

NASTY = 'Kari\'s "<b>&</b>"'
EMAIL_DIR = Path(django_settings.BASE_DIR) / "templates" / "email"


class Anything:
    """Stands for any object a mail template reads: every attribute is another one, and
    each prints as NASTY; the few values a {% url %} needs are valid."""

    pk = 1
    slug = "a-slug"
    starts_at = datetime(2026, 5, 1, 10, tzinfo=UTC)
    ends_at = datetime(2026, 5, 1, 12, tzinfo=UTC)
    deadline = date(2026, 6, 1)

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return Anything()

    def __str__(self):
        return NASTY

    def get_absolute_url(self):
        return "/tiltak/a-slug/"


def context() -> dict:
    things = [
        "initiative",
        "event",
        "membership",
        "organisation",
        "network",
        "person",
        "campaign",
        "comment",
        "where",
        "page",
    ]
    texts = [
        "editor",
        "reason",
        "message",
        "name",
        "email",
        "site",
        "title",
        "site_name",
        "writer",
    ]
    return {
        **{key: Anything() for key in things},
        **{key: NASTY for key in texts},
        "site_url": "https://example.org",
        "cancel_url": "https://example.org/avmeld/x/",
        "confirm_url": "https://example.org/bekreft/x/",
        "uid": "MQ",
        "token": "abc-123",
        "valid_days": 2,
        # The freshness reminders (initiatives/freshness.py).
        "reminder": Anything(),
        "last_update": datetime(2025, 5, 1, 10, tzinfo=UTC),
        "link_days": 60,
        "stale_months": 18,
        "reminders": [
            {
                "initiative": Anything(),
                "reminder": Anything(),
                "token": "abc-123",
                "last_update": datetime(2025, 5, 1, 10, tzinfo=UTC),
            }
        ],
        # What is new for a follower (ideabank/notices.py).
        "groups": [
            SimpleNamespace(
                follow=Anything(),
                url="https://example.org/tiltak/",
                unsubscribe_url="https://example.org/konto/avslutt/x/",
                items=[
                    SimpleNamespace(
                        kind=kind,
                        title=NASTY,
                        by=NASTY,
                        text=NASTY,
                        url="https://example.org/t/",
                        starts=datetime(2026, 5, 1, 10, tzinfo=UTC),
                    )
                    for kind in ("report", "edit", "question", "comment", "event", "published")
                ],
            )
        ],
        "first": SimpleNamespace(title=NASTY),
        "on_network": False,
        "count": 2,
    }


EMAIL_TEMPLATES = sorted(path.name for path in EMAIL_DIR.glob("*.txt"))


def test_every_mail_template_is_found():
    assert len(EMAIL_TEMPLATES) >= 39
    assert sum(name.endswith("_subject.txt") for name in EMAIL_TEMPLATES) >= 19


@pytest.mark.parametrize("name", EMAIL_TEMPLATES)
@pytest.mark.parametrize("language", ["nb", "en"])
def test_mail_templates_are_not_html_escaped(name, language):
    from django.utils import translation

    with translation.override(language):
        text = render_to_string(f"email/{name}", context())

    for escaped in ("&quot;", "&lt;", "&gt;", "&amp;", "&#x27;", "&#39;"):
        assert escaped not in text, (name, text)
    assert NASTY in text, (name, text)


def test_a_subject_with_quotes_is_sent_as_typed(mailoutbox, django_capture_on_commit_callbacks):
    from ideabank.email import send_to

    initiative = make_initiative(title='Sol & vind: "<grønt>" for alle')
    with django_capture_on_commit_callbacks(execute=True):
        send_to("email/initiative_edited", {"initiative": initiative}, ["a@example.org"])

    assert mailoutbox
    assert mailoutbox[-1].subject.endswith('Sol & vind: "<grønt>" for alle')
    assert "&amp;" not in mailoutbox[-1].subject
