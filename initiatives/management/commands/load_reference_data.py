"""Load the reference data from fixtures/: SDGs, counties and municipalities, taxonomy.

Idempotent: rows are matched on their natural key (goal number, target code,
county and municipality number, slug) and updated in place, so running it
twice leaves the same rows.
"""

import json
import re
from pathlib import Path

import yaml
from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import transaction

from initiatives.models import ActorType, County, FocusArea, Goal, Municipality, Purpose, Target

FIXTURES = settings.BASE_DIR / "fixtures"
SDG = FIXTURES / "reference" / "sdg"
GOAL_COLOUR_CELL = re.compile(r"\|\s*(\d{1,2})\s*\|\s*(#[0-9A-Fa-f]{6})\s*")
TARGET_KEY = re.compile(r"^(\d{1,2})-([0-9a-z]{1,2})-title$")


def read_yaml(path: Path) -> dict[str, str]:
    with path.open(encoding="utf-8") as f:
        return {str(key): " ".join(str(value).split()) for key, value in yaml.safe_load(f).items()}


def goal_colours() -> dict[int, str]:
    """The official colours, from the table in the SDG data's README."""
    text = (SDG / "README.md").read_text(encoding="utf-8")
    return {int(number): colour.upper() for number, colour in GOAL_COLOUR_CELL.findall(text)}


def target_position(suffix: str) -> int:
    # Numbered targets first in numeric order (12.2 before 12.10), then lettered ones.
    return int(suffix) if suffix.isdigit() else 100 + ord(suffix[0]) - ord("a")


class Command(BaseCommand):
    help = "Load SDG goals and targets, counties, municipalities and the taxonomy lists."

    @transaction.atomic
    def handle(self, *args, **options) -> None:
        goals = self.load_goals()
        targets = self.load_targets(goals)
        counties, municipalities = self.load_places()
        terms = self.load_taxonomy()
        if options["verbosity"]:
            self.stdout.write(
                f"Reference data: {len(goals)} goals, {targets} targets, {counties} counties, "
                f"{municipalities} municipalities, {terms}."
            )

    def load_goals(self) -> dict[int, Goal]:
        nb, en = read_yaml(SDG / "global_goals.nb_NO.yml"), read_yaml(SDG / "global_goals.en.yml")
        colours = goal_colours()
        goals = {}
        for number in range(1, 18):
            goals[number], _ = Goal.objects.update_or_create(
                number=number,
                defaults={
                    "short_nb": nb[f"{number}-short"],
                    "short_en": en[f"{number}-short"],
                    "title_nb": nb[f"{number}-title"],
                    "title_en": en[f"{number}-title"],
                    "colour": colours[number],
                },
            )
        return goals

    def load_targets(self, goals: dict[int, Goal]) -> int:
        nb = read_yaml(SDG / "global_targets.nb_NO.yml")
        en = read_yaml(SDG / "global_targets.en.yml")
        count = 0
        for key, text_en in en.items():
            match = TARGET_KEY.match(key)
            if not match:
                continue
            goal_number, suffix = match.groups()
            Target.objects.update_or_create(
                code=f"{goal_number}.{suffix}",
                defaults={
                    "goal": goals[int(goal_number)],
                    "position": target_position(suffix),
                    "text_en": text_en,
                    "text_nb": nb.get(key, text_en),
                },
            )
            count += 1
        return count

    def load_places(self) -> tuple[int, int]:
        data = json.loads(
            (FIXTURES / "reference" / "norway-counties-municipalities.json").read_text("utf-8")
        )
        municipalities = 0
        for county_data in data["counties"]:
            county, _ = County.objects.update_or_create(
                number=county_data["number"], defaults={"name": county_data["name"]}
            )
            for item in county_data["municipalities"]:
                Municipality.objects.update_or_create(
                    number=item["number"], defaults={"name": item["name"], "county": county}
                )
                municipalities += 1
        return len(data["counties"]), municipalities

    def load_taxonomy(self) -> str:
        data = json.loads((FIXTURES / "taxonomy.json").read_text("utf-8"))
        counts = []
        for key, model in (
            ("purposes", Purpose),
            ("actor_types", ActorType),
            ("focus_areas", FocusArea),
        ):
            for position, item in enumerate(data[key], start=1):
                fields = {name: value for name, value in item.items() if name != "slug"}
                model.objects.update_or_create(
                    slug=item["slug"], defaults={**fields, "position": position}
                )
            counts.append(f"{len(data[key])} {model._meta.verbose_name_plural}")
        return ", ".join(counts)
