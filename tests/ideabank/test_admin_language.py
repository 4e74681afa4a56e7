"""The admin in Bokmål: no English left where Django's nb catalogue has none, nouns of
every gender read right, Norwegian quotation marks (locale_overrides/)."""

import shutil
import subprocess

import pytest
from django.apps import apps
from django.conf import settings

from tests.factories import make_initiative
from tests.system import skip_unless_required

pytestmark = pytest.mark.django_db

OVERRIDES = settings.BASE_DIR / "locale_overrides"


@pytest.fixture
def compiled_overrides(settings, tmp_path):
    """The override catalogue compiled into a temp dir (CI's compilemessages does it in place)."""
    if shutil.which("msgfmt") is None:
        skip_unless_required("gettext's msgfmt is not installed", "IDEABANK_REQUIRE_GETTEXT")
    folder = tmp_path / "nb" / "LC_MESSAGES"
    folder.mkdir(parents=True)
    subprocess.run(
        [
            "msgfmt",
            "--check",
            "-o",
            str(folder / "django.mo"),
            str(OVERRIDES / "nb/LC_MESSAGES/django.po"),
        ],
        check=True,
    )
    settings.LOCALE_PATHS = [
        path if path != OVERRIDES else tmp_path for path in settings.LOCALE_PATHS
    ]


def test_settings_read_the_overrides_after_our_catalogue():
    assert settings.LOCALE_PATHS == [settings.BASE_DIR / "locale", OVERRIDES]


@pytest.mark.parametrize(
    ("path", "norwegian", "english"),
    [
        ("/admin/", "Stikkord", "Taggit"),
        ("/admin/networks/network/", "Filtrer menyen", "Filter navigation items"),
        ("/admin/initiatives/initiative/", "Legg til tiltak", "Legg til ny tiltak"),
        ("/admin/initiatives/initiative/", "Vis antall", "Show counts"),
        ("/admin/initiatives/initiative/?_facets=True", "Skjul antall", "Hide counts"),
        ("/admin/networks/network/", "Legg til nettverk", "Legg til ny nettverk"),
    ],
)
def test_admin_speaks_bokmal(admin_client, compiled_overrides, path, norwegian, english):
    make_initiative()

    html = admin_client.get(path).content.decode()

    assert (norwegian in html, english in html) == (True, False)


def test_admin_message_uses_norwegian_quotation_marks(admin_client, compiled_overrides):
    initiative = make_initiative(title="Regnbed")
    url = f"/admin/initiatives/initiative/{initiative.pk}/delete/"

    response = admin_client.post(url, {"post": "yes"}, follow=True)

    assert [str(message) for message in response.context["messages"]] == [
        "Slettet tiltak «Regnbed»."
    ]


@pytest.mark.parametrize(
    "model", ["initiative", "organisation", "network", "workinggroup", "event"]
)
def test_admin_form_asks_the_language_of_the_text(admin_client, model):
    app = "initiatives" if model in ("initiative", "organisation") else "networks"

    html = admin_client.get(f"/admin/{app}/{model}/add/").content.decode()

    assert html.count('name="language"') == 1


def test_task_queue_has_a_name_the_admin_translates():
    assert str(apps.get_app_config("django_tasks_database").verbose_name) == "Task queue"
