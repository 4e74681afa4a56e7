"""The Nu HTML Checker (vnu) finds no error on any page, in Bokmål and English.

The pages and forms the accessibility tests visit (tests/browser/test_accessibility.py),
forms with their errors shown included, as the server sent them (not the DOM after
scripts ran), all checked in one run of vnu: starting Java once takes seconds.
`make vnu` fetches the checker into var/vnu/vnu.jar; VNU_JAR may name another.
"""

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from django.conf import settings
from playwright.sync_api import Page

from tests.browser.helpers import in_language
from tests.browser.test_accessibility import (
    FORM_PAGES,
    GATHERING_PAGES,
    PAGES,
    Visit,
    world,  # noqa: F401 (a fixture this module uses)
)
from tests.system import skip_unless_required

pytestmark = pytest.mark.browser

VNU_JAR = Path(os.environ.get("VNU_JAR", settings.BASE_DIR / "var" / "vnu" / "vnu.jar"))


def vnu_command() -> list[str]:
    java = shutil.which("java")
    if java is None or not VNU_JAR.exists():
        skip_unless_required(
            f"Java or the Nu HTML Checker ({VNU_JAR}, `make vnu`) is missing",
            "IDEABANK_REQUIRE_VNU",
        )
    return [java, "-jar", str(VNU_JAR), "--errors-only", "--format", "json"]


def sources(page: Page, url: str, visit: Visit, language: str) -> list[str]:
    """The HTML of the page, and of the page its form answers with when sent as it is."""
    response = page.goto(url)
    assert response.status == visit.status, url
    found = [response.text()]
    if visit.prepare:
        page.evaluate(visit.prepare)
    if visit.press:
        button = page.locator("main").get_by_role(
            "button", name=in_language(visit.press, language), exact=True
        )
        with page.expect_navigation() as navigation:
            button.click()
        found.append(navigation.value.text())
    return found


def test_every_page_is_valid_html(page, page_for, bank, people, world, gatherings, tmp_path):  # noqa: F811
    command = vnu_command()
    gathering_users = {
        "coordinator": people.oslo_member,
        "member": people.bergen_member,
        "moderator": people.moderator,
    }
    visits = [(Visit(path), None, {}) for path in PAGES.values()]
    visits += [(visit, world.users.get(visit.who), world.slugs) for visit in FORM_PAGES.values()]
    visits += [
        (visit, gathering_users.get(visit.who), gatherings.slugs)
        for visit in GATHERING_PAGES.values()
    ]
    pages_for = {}  # one signed-in page per person
    files = {}

    for visit, user, slugs in visits:
        if user not in pages_for:
            pages_for[user] = page if user is None else page_for(user)
        for language in ("nb", "en"):
            url = bank.url(visit.path.format(**slugs), language)
            for html in sources(pages_for[user], url, visit, language):
                file = tmp_path / f"{len(files):03}.html"
                file.write_text(html, encoding="utf-8")
                files[file.name] = url

    result = subprocess.run(
        [*command, str(tmp_path)], capture_output=True, text=True, timeout=600, check=False
    )
    messages = json.loads(result.stderr)["messages"]
    errors = [
        f"{files.get(message.get('url', '').rpartition('/')[2])} line {message.get('lastLine')}: "
        f"{message['message']}\n    {message.get('extract', '').strip()}"
        for message in messages
        if message["type"] in ("error", "non-document-error")
    ]
    assert len(files) > 100
    if errors:
        pytest.fail(f"{len(errors)} vnu errors:\n" + "\n".join(errors), pytrace=False)
