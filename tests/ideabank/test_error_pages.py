"""Error pages speak the visitor's language and lead somewhere useful."""

import pytest
from django.test import Client

from tests.factories import make_confirmed_user, make_initiative

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("prefix", "heading"), [("", "Fant ikke siden"), ("/en", "Page not found")]
)
def test_unknown_page_is_404_with_the_site_frame(client, settings, prefix, heading):
    settings.DEBUG = False

    response = client.get(f"{prefix}/tiltak/finnes-ikke/")

    assert response.status_code == 404
    assert response.templates[0].name == "404.html"
    assert f'<h1 class="ds-heading" data-size="lg">{heading}</h1>' in response.content.decode()


def test_a_draft_is_404_to_the_public_like_a_missing_page(client, settings):
    settings.DEBUG = False
    draft = make_initiative(title="Hemmelig utkast")

    response = client.get(f"/en/tiltak/{draft.slug}/")

    assert response.status_code == 404
    assert "Hemmelig utkast" not in response.content.decode()


def test_forbidden_is_403_with_a_way_on(settings):
    settings.DEBUG = False
    initiative = make_initiative(status="published")
    client = Client()
    # Confirmed: an unconfirmed account is told to confirm its address first.
    client.force_login(make_confirmed_user())

    response = client.get(f"/en/tiltak/{initiative.slug}/rediger/")

    assert response.status_code == 403
    assert response.templates[0].name == "403.html"
    assert "Go to my page" in response.content.decode()
