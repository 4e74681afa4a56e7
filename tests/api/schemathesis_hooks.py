"""schemathesis hooks for the CI run against the live API (tests/api/run_schemathesis.sh):
one more check, that no answer names anything the public may not see.

What is secret is read once from the JSON file SCHEMATHESIS_SECRETS names, which the run
script writes from the database before the run: the slug and title of every initiative
that is not published, and the slug of every organisation that is not approved.
"""

import json
import os
from functools import cache

import schemathesis


@cache
def secrets() -> dict[str, list[str]]:
    with open(os.environ["SCHEMATHESIS_SECRETS"], encoding="utf-8") as file:
        found = json.load(file)
    if not found["initiative_slugs"]:
        raise RuntimeError("No unpublished initiatives: the check would prove nothing.")
    return found


def _strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


@schemathesis.check
def nothing_unpublished(ctx, response, case) -> None:
    """No string in the answer is, or links to, an unpublished initiative or a proposed
    organisation (a proposed partner's bare name may show, as on the initiative's page)."""
    try:
        body = json.loads(response.content or b"null")
    except ValueError:
        body = response.text
    found = secrets()
    titles = set(found["initiative_titles"])
    slugs = set(found["initiative_slugs"]) | set(found["organisation_slugs"])
    for text in _strings(body):
        if text in titles or text in slugs:
            raise AssertionError(f"The answer names something unpublished: {text!r}")
        for slug in slugs:
            if f"/{slug}/" in text:
                raise AssertionError(f"The answer links to something unpublished: {text!r}")
