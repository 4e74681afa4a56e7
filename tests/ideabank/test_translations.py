import shutil
import subprocess

from django.conf import settings
from django.utils import translation

from tests.system import skip_unless_required

PO_FILE = settings.BASE_DIR / "locale" / "nb" / "LC_MESSAGES" / "django.po"


def test_bokmal_catalogue_fully_translated():
    if shutil.which("msgfmt") is None:
        skip_unless_required("gettext's msgfmt is not installed", "IDEABANK_REQUIRE_GETTEXT")

    result = subprocess.run(
        ["msgfmt", "--check", "--statistics", "-o", "/dev/null", str(PO_FILE)],
        capture_output=True,
        text=True,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    assert "untranslated" not in result.stderr
    assert "fuzzy" not in result.stderr


def test_bokmal_is_the_default_language():
    with translation.override(settings.LANGUAGE_CODE):
        assert translation.gettext("Skip to main content") == "Hopp til hovedinnholdet"
