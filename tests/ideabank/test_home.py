import pytest

from initiatives.models import Initiative
from tests.factories import make_initiative

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("url", "lang", "goal_title"),
    [("/", "nb", "Stoppe klimaendringene"), ("/en/", "en", "Climate action")],
)
def test_home_renders_in_both_languages(client, url, lang, goal_title):
    response = client.get(url)

    assert response.status_code == 200
    assert f'<html lang="{lang}">' in response.text
    assert goal_title in response.text


def test_home_counts_only_published(client):
    make_initiative(status=Initiative.Status.PUBLISHED)
    for status in (
        Initiative.Status.DRAFT,
        Initiative.Status.SUBMITTED,
        Initiative.Status.REJECTED,
    ):
        make_initiative(status=status)

    response = client.get("/en/")

    assert response.context["published_count"] == 1


def test_language_switch_sets_english(client):
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/"})

    assert response.status_code == 302
    assert response.headers["Location"] == "/en/"
