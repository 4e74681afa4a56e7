"""Write static/css/sdg.css: a class per SDG with its official colour and readable text.

No page may carry style="" (the Content-Security-Policy forbids inline styles), so
the goal colours reach the pages as classes .sdg-1 … .sdg-17 in a static file.
Run after the goal colours change and commit the result; `--check` only compares.
"""

from collections.abc import Iterable

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from ideabank.contrast import AA_NORMAL_TEXT, contrast_ratio, text_colour_on
from initiatives.models import Goal

SDG_CSS = settings.BASE_DIR / "static" / "css" / "sdg.css"


def sdg_css(goals: Iterable[Goal]) -> str:
    lines = [
        "/* SDG tiles and badges: the official goal colours with the text colour, black or",
        "   white, that contrasts more; every pair reaches WCAG 2.1 AA's 4.5:1 for normal",
        "   text, so no official colour is changed.",
        "   Written by `manage.py sdg_css` from the goals' colours; do not edit by hand. */",
        "",
    ]
    for goal in goals:
        background = goal.colour.upper()
        text = text_colour_on(background)
        ratio = contrast_ratio(background, text)
        if ratio < AA_NORMAL_TEXT:  # cannot happen with black or white; kept as a guard
            raise CommandError(f"Goal {goal.number}: {text} on {background} is only {ratio:.2f}:1.")
        lines.append(
            f".sdg-{goal.number} {{ background-color: {background}; color: {text}; }}"
            f" /* {ratio:.2f}:1 */"
        )
    return "\n".join(lines) + "\n"


class Command(BaseCommand):
    help = "Write static/css/sdg.css from the SDG goal colours (load_reference_data first)."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--check", action="store_true", help="Fail if the file differs; write nothing."
        )

    def handle(self, *args, check: bool = False, **options) -> None:
        goals = list(Goal.objects.order_by("number"))
        if len(goals) != 17:
            raise CommandError("Expected 17 goals: run load_reference_data first.")
        css = sdg_css(goals)
        if check:
            if not SDG_CSS.exists() or SDG_CSS.read_text(encoding="utf-8") != css:
                raise CommandError(f"{SDG_CSS} is out of date: run manage.py sdg_css.")
            return
        SDG_CSS.write_text(css, encoding="utf-8")
        self.stdout.write(f"Wrote {SDG_CSS}")
