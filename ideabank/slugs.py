"""Slugs from Norwegian names: æ, ø and å spelt out, never silently dropped."""

import unicodedata
from collections.abc import Set

from django.db.models import QuerySet
from django.utils.text import slugify


def slugify_nb(text: str) -> str:
    """ "Gjenbruk av møbler" -> "gjenbruk-av-mobler" (Django's slugify would drop the ø)."""
    text = text.lower().replace("æ", "ae").replace("ø", "o").replace("å", "a")
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return slugify(text)


def unique_slug(
    text: str, taken: QuerySet, *, fallback: str, reserved: Set[str] = frozenset()
) -> str:
    """A slug for `text` that no row in `taken` has and no URL word in `reserved` is:
    "-2", "-3" ... added when needed."""
    base = slugify_nb(text)[:200].strip("-") or fallback
    used = set(taken.filter(slug__startswith=base).values_list("slug", flat=True)) | reserved
    slug, number = base, 1
    while slug in used:
        number += 1
        slug = f"{base}-{number}"
    return slug
