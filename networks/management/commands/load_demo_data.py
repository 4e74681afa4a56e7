"""Load the demo content in fixtures/demo.json, built from the cases in the seed documents.

Idempotent: every row is matched on its natural key (a slug, or a pair such as
initiative and organisation) and updated in place; rows the file no longer
lists under an object it owns (partners, links, members, presentations) are
removed. New initiatives go through the real moderation moves, so they get a
status history like any other.
"""

import json
from datetime import date, datetime
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from initiatives import engine
from initiatives.models import (
    ActorType,
    Adoption,
    County,
    FocusArea,
    Goal,
    Initiative,
    InitiativeLink,
    Municipality,
    Organisation,
    Participation,
    Purpose,
    Target,
)
from networks.models import (
    Event,
    Membership,
    Network,
    Presentation,
    WorkingGroup,
    WorkingGroupMember,
)

DEMO_FILE = settings.BASE_DIR / "fixtures" / "demo.json"

INITIATIVE_TEXT_FIELDS = [
    "title", "summary", "description", "phase", "scope", "involvement",
    "frame_goals", "frame_roles", "frame_financing", "frame_expected_results",
    "frame_indicators", "frame_effect_shown", "results", "lessons", "transfer_value",
    "contact_name", "contact_role", "contact_email", "contact_phone",
]  # fmt: skip


def pick(item: dict, *names: str) -> dict[str, Any]:
    return {name: item[name] for name in names if name in item}


def as_date(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def as_datetime(value: str) -> datetime:
    """A local Oslo wall-clock time, made aware."""
    return timezone.make_aware(datetime.fromisoformat(value))


class Command(BaseCommand):
    help = "Load (or refresh) the demo organisations, initiatives, networks, working groups and events."

    def handle(self, *args, **options) -> None:
        if not Goal.objects.exists():
            raise CommandError("Load the reference data first: manage.py load_reference_data")
        data = json.loads(DEMO_FILE.read_text(encoding="utf-8"))
        with transaction.atomic():
            self.organisations = {}
            for item in data.get("organisations", []):
                self.load_organisation(item)
            self.initiatives = {}
            for item in data.get("initiatives", []):
                self.load_initiative(item)
            self.networks = {}
            for item in data.get("networks", []):
                self.load_network(item)
            self.working_groups = {}
            for item in data.get("working_groups", []):
                self.load_working_group(item)
            for item in data.get("events", []):
                self.load_event(item)
            # Titles, tags and partners may have changed: refresh what search reads.
            Initiative.objects.filter(slug__in=self.initiatives).refresh_search_vectors()
            engine.everything_changed()
        if options["verbosity"]:
            self.stdout.write(
                f"Demo data: {len(self.organisations)} organisations, {len(self.initiatives)} initiatives, "
                f"{len(self.networks)} networks, {len(self.working_groups)} working groups, "
                f"{len(data.get('events', []))} events."
            )

    # --- lookups ------------------------------------------------------------------

    @staticmethod
    def loaded(objects: dict, slug: str | None, kind: str):
        """An object loaded earlier in this run; unknown slugs stop the load with their name."""
        if not slug:
            return None
        if slug not in objects:
            raise CommandError(
                f"Unknown {kind} slug in demo data (or listed before it is defined): {slug}"
            )
        return objects[slug]

    def organisation(self, slug: str | None) -> Organisation | None:
        return self.loaded(self.organisations, slug, "organisation")

    @staticmethod
    def all_of(model, field: str, keys: list) -> list:
        """Every row whose `field` is in `keys`; any key without a row stops the load."""
        found = list(model.objects.filter(**{f"{field}__in": keys}))
        missing = {str(key) for key in keys} - {str(getattr(obj, field)) for obj in found}
        if missing:
            raise CommandError(
                f"Unknown {model._meta.model_name} {field}s in demo data: {sorted(missing)}"
            )
        return found

    def by_slug(self, model, slugs: list[str]) -> list:
        return self.all_of(model, "slug", slugs)

    # --- loaders ----------------------------------------------------------------------

    def load_organisation(self, item: dict) -> None:
        organisation, _ = Organisation.objects.update_or_create(
            slug=item["slug"],
            defaults={
                **pick(item, "name", "organisation_number", "website", "description"),
                "actor_type": ActorType.objects.get(slug=item["actor_type"]),
                "municipality": (
                    Municipality.objects.get(number=item["municipality"])
                    if item.get("municipality")
                    else None
                ),
            },
        )
        organisation.full_clean()
        self.organisations[item["slug"]] = organisation

    def load_initiative(self, item: dict) -> None:
        initiative, created = Initiative.objects.update_or_create(
            slug=item["slug"],
            defaults={
                **pick(item, *INITIATIVE_TEXT_FIELDS),
                "lead_organisation": self.organisation(item["lead"]),
                "municipality": (
                    Municipality.objects.get(number=item["municipality"])
                    if item.get("municipality")
                    else None
                ),
                "county": County.objects.get(number=item["county"]) if item.get("county") else None,
                "start_date": as_date(item.get("start_date")),
                "end_date": as_date(item.get("end_date")),
            },
        )
        initiative.full_clean()
        initiative.purposes.set(self.by_slug(Purpose, item.get("purposes", [])))
        initiative.actor_types.set(self.by_slug(ActorType, item.get("actor_types", [])))
        initiative.focus_areas.set(self.by_slug(FocusArea, item.get("focus_areas", [])))
        initiative.goals.set(self.all_of(Goal, "number", item.get("goals", [])))
        initiative.targets.set(self.all_of(Target, "code", item.get("targets", [])))
        initiative.tags.set(item.get("tags", []))

        partners = []
        for partner in item.get("partners", []):
            participation, _ = Participation.objects.update_or_create(
                initiative=initiative,
                organisation=self.organisation(partner["organisation"]),
                defaults={"role": partner.get("role", Participation.Role.PARTNER)},
            )
            partners.append(participation.pk)
        initiative.participations.exclude(pk__in=partners).delete()

        links = []
        for position, link in enumerate(item.get("links", []), start=1):
            obj, _ = InitiativeLink.objects.update_or_create(
                initiative=initiative,
                url=link["url"],
                defaults={"title": link["title"], "position": position},
            )
            links.append(obj.pk)
        initiative.links.exclude(pk__in=links).delete()

        adoptions = []
        for adoption in item.get("adoptions", []):
            obj, _ = Adoption.objects.update_or_create(
                initiative=initiative,
                organisation=self.organisation(adoption["organisation"]),
                defaults={"note": adoption.get("note", "")},
            )
            adoptions.append(obj.pk)
        # Only demo adoptions (no reporter) are pruned; those people reported locally stay.
        initiative.adoptions.filter(reported_by=None).exclude(pk__in=adoptions).delete()

        if created:
            # Through the real moves, so the history reads as it would for a real submission.
            initiative.submit(by=None)
            initiative.publish(by=None, note="Demo data")
        self.initiatives[item["slug"]] = initiative

    def load_network(self, item: dict) -> None:
        network, _ = Network.objects.update_or_create(
            slug=item["slug"],
            defaults={
                **pick(
                    item,
                    "name",
                    "scope",
                    "description",
                    "membership_criteria",
                    "meeting_rhythm",
                    "contact_name",
                    "contact_role",
                    "contact_email",
                    "website",
                ),  # fmt: skip
                "parent": self.loaded(self.networks, item.get("parent"), "network"),
                "county": County.objects.get(number=item["county"]) if item.get("county") else None,
                "coordinator": self.organisation(item.get("coordinator")),
            },
        )
        network.full_clean()
        network.focus_areas.set(self.by_slug(FocusArea, item.get("focus_areas", [])))
        network.goals.set(self.all_of(Goal, "number", item.get("goals", [])))
        members = []
        for member in item.get("members", []):
            membership, _ = Membership.objects.update_or_create(
                network=network,
                organisation=self.organisation(member["organisation"]),
                defaults={
                    "role": member.get("role", Membership.Role.MEMBER),
                    "status": member.get("status", Membership.Status.ACTIVE),
                    "since": as_date(member.get("since")),
                },
            )
            members.append(membership.pk)
        network.memberships.exclude(pk__in=members).delete()
        self.networks[item["slug"]] = network

    def load_working_group(self, item: dict) -> None:
        group, _ = WorkingGroup.objects.update_or_create(
            slug=item["slug"],
            defaults={
                **pick(
                    item, "name", "mandate", "year", "required_meetings", "required_open_events"
                ),
                "focus_area": (
                    FocusArea.objects.get(slug=item["focus_area"])
                    if item.get("focus_area")
                    else None
                ),
                "host_network": self.loaded(self.networks, item.get("host_network"), "network"),
                "host_organisation": self.organisation(item.get("host_organisation")),
            },
        )
        group.full_clean()
        members = []
        for member in item.get("members", []):
            seat, _ = WorkingGroupMember.objects.update_or_create(
                working_group=group,
                name=member["name"],
                defaults={
                    "organisation": self.organisation(member.get("organisation")),
                    "role": member.get("role", WorkingGroupMember.Role.MEMBER),
                },
            )
            members.append(seat.pk)
        group.members.exclude(pk__in=members).delete()
        group.proposed_initiatives.set(
            self.by_slug(Initiative, item.get("proposed_initiatives", []))
        )
        self.working_groups[item["slug"]] = group

    def load_event(self, item: dict) -> None:
        event, _ = Event.objects.update_or_create(
            slug=item["slug"],
            defaults={
                **pick(
                    item,
                    "title",
                    "kind",
                    "venue",
                    "online_url",
                    "description",
                    "recording_url",
                    "registration",
                    "capacity",
                ),  # fmt: skip
                "organiser_network": self.loaded(
                    self.networks, item.get("organiser_network"), "network"
                ),
                "organiser_working_group": self.loaded(
                    self.working_groups, item.get("organiser_working_group"), "working group"
                ),
                "organiser_organisation": self.organisation(item.get("organiser_organisation")),
                "starts_at": as_datetime(item["starts_at"]),
                "ends_at": as_datetime(item["ends_at"]),
            },
        )
        event.full_clean()
        event.audience.set(self.by_slug(ActorType, item.get("audience", [])))
        presentations = []
        for presentation in item.get("presentations", []):
            obj, _ = Presentation.objects.update_or_create(
                event=event,
                initiative=self.loaded(self.initiatives, presentation["initiative"], "initiative"),
                defaults={
                    "presenter": presentation["presenter"],
                    "presenter_organisation": self.organisation(
                        presentation.get("presenter_organisation")
                    ),
                    "order": presentation.get("order", 1),
                },
            )
            presentations.append(obj.pk)
        event.presentations.exclude(pk__in=presentations).delete()
