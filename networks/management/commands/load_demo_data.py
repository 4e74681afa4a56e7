"""Load the demo content in fixtures/demo.json, built from the cases in the seed documents.

Idempotent: every row is matched on its natural key (a slug, or a pair such as
initiative and organisation) and updated in place; rows the file no longer
lists under an object it owns (partners, links, members, presentations) are
removed. New initiatives go through the real moderation moves, so they get a
status history like any other; then every initiative is given the dates the file
says (created, submitted, published, last changed: spread over the years, not the
day of the load), and so are its status changes, its history and its adoptions.

Documents (small PDFs) and illustrations (drawn with Pillow) are made while loading
(networks/management/demo_files.py), checked like uploads (initiatives/uploads.py)
and stored through the file's storage; the same input gives the same bytes, so a
file already stored is kept and a second load writes nothing new.
"""

import functools
import json
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone
from reversion.models import Revision, Version

from initiatives import engine, uploads
from initiatives.models import (
    ActorType,
    Adoption,
    Attachment,
    County,
    FocusArea,
    Goal,
    IndicatorResult,
    Initiative,
    InitiativeLink,
    InitiativeStatusChange,
    Municipality,
    Organisation,
    Participation,
    ProgressReport,
    Purpose,
    Target,
)
from networks.management import demo_files
from networks.models import (
    Campaign,
    CampaignAddressee,
    Event,
    Membership,
    Network,
    Presentation,
    WorkingGroup,
    WorkingGroupMember,
)

DEMO_FILE = settings.BASE_DIR / "fixtures" / "demo.json"
# On every page of the demo documents: nobody should take them for real ones.
DOCUMENT_FOOTER = "Eksempeldokument i demodataene til Idébanken. Innholdet er oppdiktet."

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


def stored_as(field_file, content: bytes) -> bool:
    """Whether `field_file` names a stored file holding exactly `content`."""
    if not field_file or not field_file.storage.exists(field_file.name):
        return False
    with field_file.storage.open(field_file.name, "rb") as stored:
        return stored.read() == content


@functools.cache
def illustration(motif: str) -> tuple[str, bytes]:
    """The drawn illustration as the upload checks store an image: (file name, bytes)."""
    image = uploads.clean_image(ContentFile(demo_files.illustration(motif), name=f"{motif}.png"))
    return image.name, image.read()


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
            for item in data.get("campaigns", []):
                self.load_campaign(item)
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
                defaults={
                    "note": adoption.get("note", ""),
                    # How it went for the adopter (issue 14), if the file tells.
                    "outcome": adoption.get("outcome", ""),
                    "effect": adoption.get("effect", ""),
                    "feedback_at": (
                        as_datetime(adoption["feedback_at"])
                        if adoption.get("feedback_at")
                        else None
                    ),
                },
            )
            if adoption.get("date"):
                when = as_datetime(adoption["date"])
                Adoption.objects.filter(pk=obj.pk).update(created=when, updated=when)
            adoptions.append(obj.pk)
        # Only demo adoptions (no reporter) are pruned; those people reported locally stay.
        initiative.adoptions.filter(reported_by=None).exclude(pk__in=adoptions).delete()

        self.load_progress_reports(initiative, item.get("progress_reports", []))

        # Before the moves, so that a new initiative's history holds its files from the start.
        for attachment in item.get("attachments", []):
            self.load_attachment(initiative, attachment)
        if item.get("image"):
            self.load_image(initiative, item["image"])

        if created:
            # Through the real moves, so the history reads as it would for a real submission.
            initiative.submit(by=None)
            # One waits for review (a campaign's answer that does not count yet).
            if item.get("status") != Initiative.Status.SUBMITTED:
                initiative.publish(by=None, note="Demo data")
        # Only as the demo left it: one moved since (on a local database) keeps its dates.
        if item.get("dates") and initiative.status == Initiative.Status.PUBLISHED:
            self.date_initiative(initiative, item["dates"])
        elif item.get("dates") and initiative.status == Initiative.Status.SUBMITTED:
            created, submitted = (
                as_datetime(item["dates"][key]) for key in ("created", "submitted")
            )
            Initiative.objects.filter(pk=initiative.pk).update(
                created=created, updated=submitted, submitted_at=submitted
            )
        self.initiatives[item["slug"]] = initiative

    @staticmethod
    def load_progress_reports(initiative: Initiative, items: list[dict]) -> None:
        """The owners' progress reports, matched on their date, and their figures, on the
        indicator's name. Only demo reports (no writer) are pruned."""
        reports = []
        for item in items:
            report, _ = ProgressReport.objects.update_or_create(
                initiative=initiative,
                reported_on=as_date(item["reported_on"]),
                written_by=None,
                defaults=pick(item, "phase", "status", "done", "results", "lessons"),
            )
            report.full_clean()
            rows = []
            for row in item.get("indicators", []):
                result, _ = IndicatorResult.objects.update_or_create(
                    report=report,
                    indicator=row["indicator"],
                    defaults={
                        "value": Decimal(row["value"]) if row.get("value") else None,
                        "unit": row.get("unit", ""),
                        "note": row.get("note", ""),
                    },
                )
                rows.append(result.pk)
            report.indicator_results.exclude(pk__in=rows).delete()
            reports.append(report.pk)
        initiative.progress_reports.filter(written_by=None).exclude(pk__in=reports).delete()

    def load_attachment(self, initiative: Initiative, item: dict) -> None:
        """A generated PDF, matched on its title. Attachments the file does not list are
        left alone: on a local database they may be someone's uploads."""
        when = as_datetime(item["date"])
        content = demo_files.pdf(
            item["pages"],
            title=item["title"],
            author=initiative.lead_organisation.name,
            created=when,
            footer=DOCUMENT_FOOTER,
        )
        upload = ContentFile(content, name=item["file_name"])
        # The checks an upload passes; a change to the generator that broke them stops here.
        uploads.validate_document(upload)
        attachment = initiative.attachments.filter(title=item["title"]).first()
        if attachment is None:
            attachment = Attachment.objects.create(
                initiative=initiative, title=item["title"], file=upload
            )
        elif not stored_as(attachment.file, content):
            # A new name: an older version in the history may still name the old file.
            attachment.file.save(item["file_name"], upload, save=False)
            Attachment.objects.filter(pk=attachment.pk).update(file=attachment.file.name)
        Attachment.objects.filter(pk=attachment.pk).update(created=when, updated=when)

    def load_image(self, initiative: Initiative, item: dict) -> None:
        """A drawn illustration, cleaned as an uploaded image is; stored once."""
        name, content = illustration(item["motif"])
        if not stored_as(initiative.image, content):
            initiative.image.save(name, ContentFile(content), save=False)
        initiative.image_alt = item["alt"]
        Initiative.objects.filter(pk=initiative.pk).update(
            image=initiative.image.name, image_alt=item["alt"]
        )

    @staticmethod
    def date_initiative(initiative: Initiative, dates: dict[str, str]) -> None:
        """Give an initiative the dates `dates` names, and its demo moves (those nobody
        made) and their history the same: queryset updates, which leave `updated` alone
        and tell no one."""
        created, submitted, published, updated = (
            as_datetime(dates[key]) for key in ("created", "submitted", "published", "updated")
        )
        # The owners' last update (freshness): the last change, or a later progress report.
        # The demo's dates are fixed, so its oldest entries show "not updated since".
        reported = initiative.progress_reports.order_by("-reported_on").first()
        owner_updated = updated
        if reported is not None:
            owner_updated = max(updated, as_datetime(f"{reported.reported_on}T12:00"))
        Initiative.objects.filter(pk=initiative.pk).update(
            created=created,
            updated=updated,
            submitted_at=submitted,
            published_at=published,
            reviewed_at=published,
            owner_updated_at=owner_updated,
        )
        moves = InitiativeStatusChange.objects.filter(initiative=initiative, changed_by=None)
        moves.filter(to_status=Initiative.Status.SUBMITTED).update(created=submitted)
        moves.filter(to_status=Initiative.Status.PUBLISHED).update(created=published)
        revisions = Revision.objects.filter(
            user=None, version__in=Version.objects.get_for_object(initiative)
        )
        # The state it was saved in before its first move, recorded by that move.
        revisions.filter(comment="baseline").update(date_created=created)
        revisions.filter(comment="submit").update(date_created=submitted)
        revisions.filter(comment="publish").update(date_created=published)
        initiative.refresh_from_db()

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

    def load_campaign(self, item: dict) -> None:
        """A campaign, its addressees (every approved organisation of an actor type in a
        county, as the campaign form resolves them) and the initiatives that answer it. The
        deadline is set when the campaign is first made, so it is open for a while; a second
        load keeps it. Nobody is invited: the demo's organisations have no members."""
        campaign, _ = Campaign.objects.update_or_create(
            slug=item["slug"],
            defaults={
                **pick(item, "title", "language", "text"),
                "network": self.loaded(self.networks, item.get("network"), "network"),
            },
            create_defaults={
                **pick(item, "title", "language", "text"),
                "network": self.loaded(self.networks, item.get("network"), "network"),
                "deadline": timezone.localdate() + timedelta(days=item["deadline_in_days"]),
            },
        )
        campaign.full_clean()
        campaign.goals.set(self.all_of(Goal, "number", item.get("goals", [])))
        campaign.focus_areas.set(self.by_slug(FocusArea, item.get("focus_areas", [])))
        rule = item["addressees"]
        addressed = Organisation.objects.approved().filter(
            actor_type__slug=rule["actor_type"], municipality__county__number=rule["county"]
        )
        for organisation in addressed:
            CampaignAddressee.objects.get_or_create(campaign=campaign, organisation=organisation)
        campaign.initiatives.set(
            [self.loaded(self.initiatives, slug, "initiative") for slug in item["initiatives"]]
        )

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
