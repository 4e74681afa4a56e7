"""Edit history: every change to an initiative recorded, shown as a diff and restorable,
and the version an edit form was loaded from (docs/edit-history.md).

django-reversion keeps the history. A revision is one change: who, when, a comment, and
the initiative with its partners, links and attachments as they were after it (the
initiative's `follow`). Django does not serialise taggit's manager, so initiatives are
written with this module's serializer (FORMAT), which adds their tag names.

Every code path that changes an initiative does it inside `change()` (the admin's change
form, which saves in several steps, calls `record_baseline()` before and `record()`
after; the status moves, in the model, send `status_moving` and `status_moved`, which
`register()` connects to the same two): the revision is written once, at the end of the
change, from what the database then holds, so it is exactly what was saved, in a fixed
number of queries. It is written with the initiative's row locked, so an initiative's
versions are numbered in the order their changes were saved: "newer" is "a higher id".
"""

import difflib
import json
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime

import reversion
from django import forms
from django.contrib.contenttypes.models import ContentType
from django.core.serializers import register_serializer
from django.core.serializers.json import Deserializer as JSONDeserializer
from django.core.serializers.json import Serializer as JSONSerializer
from django.core.validators import RegexValidator
from django.db import models, router, transaction
from django.db.models import CharField, Exists, OuterRef, Subquery
from django.db.models.functions import Cast
from django.utils import formats, timezone
from django.utils.text import capfirst
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from reversion.models import Revision, Version

from initiatives import engine
from initiatives.models import (
    ActorType,
    Attachment,
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
    status_moved,
    status_moving,
)

# --- What is recorded -----------------------------------------------------------------

FORMAT = "initiative_json"
TAG_NAMES = "tag_names"
# An initiative's rows, recorded with it in every revision.
ROWS = {"participations": Participation, "links": InitiativeLink, "attachments": Attachment}
TAXONOMY = ("purposes", "actor_types", "goals", "targets", "focus_areas")
# Not in a version: derived search indexes, the moderators' review bookkeeping (marking
# an initiative reviewed is not a change to it) and the freshness date (a consequence of
# changes, not one). Tags are added by the serializer.
NOT_RECORDED = (
    "search_vector",
    "facet_keys",
    "reviewed_version",
    "reviewed_at",
    "reviewed_by",
    "owner_updated_at",
    "tags",
)
# Recorded but neither compared nor restored: timestamps, who created it, and what only the
# moderation moves change (the status is compared: a status change is a change).
NOT_COMPARED = {
    "id",
    "created",
    "updated",
    "created_by",
    "submitted_at",
    "submitted_by",
    "published_at",
    "rejected_at",
    "archived_at",
    "rejection_reason",
    "partners",  # compared as rows
    "search_vector",
    "facet_keys",
    "reviewed_version",
    "reviewed_at",
    "reviewed_by",
    "owner_updated_at",
}
# Never restored: the status (only the moderation moves change it) and the address (links
# to it exist elsewhere).
NOT_RESTORED = {"status", "slug"}
PLACE = ("scope", "municipality", "county")  # restored together or not at all

# Comments stored with a revision: codes, shown in the reader's language.
BASELINE = "baseline"
CREATED = "created"
EDITED = "edited"
ADMIN = "admin"
RESTORED = "restored:"  # followed by the restored version's date (ISO 8601)
COMMENTS = {
    BASELINE: _("As it was when the history began"),
    CREATED: _("Created"),
    EDITED: _("Edited"),
    ADMIN: _("Changed in the admin"),
    "submit": _("Submitted for review"),
    "publish": _("Published"),
    "reject": _("Rejected"),
    "archive": _("Archived"),
    "withdraw": _("Withdrawn to draft"),
}
HISTORY_PAGE = 20


class Serializer(JSONSerializer):
    """Django's JSON, plus an initiative's tag names (`tag_names`): taggit's manager is not
    serialised, and names (not tag ids) still mean something after a tag is deleted."""

    def get_dump_object(self, obj) -> dict:
        data = super().get_dump_object(obj)
        if isinstance(obj, Initiative):
            data["fields"][TAG_NAMES] = sorted(tag.name for tag in obj.tags.all())
        return data


# Reading ignores `tag_names` (reversion deserialises with ignorenonexistent).
Deserializer = JSONDeserializer


def register() -> None:
    """Called once, from InitiativesConfig.ready()."""
    register_serializer(FORMAT, __name__)
    reversion.register(Initiative, format=FORMAT, exclude=NOT_RECORDED, follow=tuple(ROWS))
    for model in ROWS.values():
        reversion.register(model)
    # Every status move is recorded (the model sends these inside the move's transaction).
    status_moving.connect(_before_move, sender=Initiative, dispatch_uid="history-moving")
    status_moved.connect(_after_move, sender=Initiative, dispatch_uid="history-moved")


# --- Recording --------------------------------------------------------------------------


def _current(pk: int, *, lock: bool = False) -> Initiative | None:
    """The initiative with everything a version holds, in a fixed number of queries; with
    `lock`, its row locked until the transaction ends."""
    # A version's label is the row's str(), which names a partner's organisation.
    partners = Participation.objects.select_related("organisation")
    initiatives = Initiative.objects.select_for_update() if lock else Initiative.objects
    return (
        initiatives.defer("search_vector", "facet_keys")
        .prefetch_related(
            *TAXONOMY, "tags", models.Prefetch("participations", partners), "links", "attachments"
        )
        .filter(pk=pk)
        .first()
    )


def _person(user):
    return user if user is not None and user.is_authenticated else None


def _add(initiative: Initiative, by, comment: str) -> None:
    # The row stays locked until the change commits (record_baseline() locked it already
    # where the change began with it): an initiative's versions get their ids in the order
    # the changes are saved, each holding what the ones before saved (every other change
    # and "mark reviewed" waits), so the review queue can compare versions by id.
    current = _current(initiative.pk, lock=True)
    if current is None:
        return
    reversion.set_user(_person(by))
    reversion.set_comment(comment)
    reversion.add_to_revision(current)


@contextmanager
def change(initiative: Initiative, *, by, comment: str) -> Iterator[None]:
    """Make a change to `initiative` (new or saved) and record it: one transaction, one
    revision with who, when, `comment` (a code of COMMENTS) and the initiative as the
    change left it, rows and tags included. An error in the block saves nothing."""
    with transaction.atomic():
        if initiative.pk is not None:
            record_baseline(initiative.pk)
        # Managed by hand: saves and relation changes inside are not recorded one by one;
        # the whole initiative is, once, at the end. The revision is dated when it begins.
        with reversion.create_revision(manage_manually=True, atomic=False):
            yield
            _add(initiative, by, comment)


def record(initiative: Initiative, *, by, comment: str) -> None:
    """Record `initiative` as it is now as a revision (after a change made in steps, such as
    the admin's form; call record_baseline() before it begins)."""
    with transaction.atomic(), reversion.create_revision(manage_manually=True, atomic=False):
        _add(initiative, by, comment)


def _before_move(sender, *, initiative: Initiative, **kwargs) -> None:
    record_baseline(initiative.pk)


def _after_move(sender, *, initiative: Initiative, move: str, by, **kwargs) -> None:
    """A status move is a change (who, when, the new status); publishing is also a review:
    the initiative is marked reviewed at the version the move recorded."""
    record(initiative, by=by, comment=move)
    if move == "publish":
        # The newest saved version: this move's, unless the move is part of a larger
        # revision still open (saved when it closes, so newer: the queue shows it).
        version = token_of(initiative.pk)
        if version:
            initiative.mark_reviewed(by=by, version=int(version))


def record_baseline(pk: int) -> None:
    """Begin a change of an initiative (in the change's transaction, before anything is
    written): lock its row until the transaction ends, so changes to it are made one after
    the other, each recorded with what the one before saved; and if it was saved before its
    history was kept, record its present state, dated when it was last saved: the change
    then has something to be compared with, and edit forms loaded before it a version to
    compare. The lock and the look for a version are one query."""
    recorded = (
        Initiative.objects.select_for_update()
        .filter(pk=pk)
        .annotate(recorded=Exists(Version.objects.get_for_object_reference(Initiative, pk)))
        .values_list("recorded", flat=True)
        .first()
    )
    # Not inside another revision: the baseline would become part of it.
    if recorded is None or recorded or reversion.is_active():
        return
    current = _current(pk)
    if current is None:
        return
    with reversion.create_revision(manage_manually=True, atomic=False):
        reversion.set_comment(BASELINE)
        reversion.set_date_created(current.updated)
        reversion.add_to_revision(current)


def describe(comment: str) -> str:
    """A revision's comment in the active language."""
    if comment.startswith(RESTORED):
        try:
            when = datetime.fromisoformat(comment.removeprefix(RESTORED))
        except ValueError:
            return comment
        return gettext("Restored the version from %(date)s") % {
            "date": formats.date_format(timezone.localtime(when), "DATETIME_FORMAT")
        }
    return str(COMMENTS.get(comment, comment))


# --- Versions as states -------------------------------------------------------------------


def _compared_fields() -> list[models.Field]:
    opts = Initiative._meta
    fields = sorted([*opts.concrete_fields, *opts.many_to_many], key=lambda f: f.creation_counter)
    return [f for f in fields if f.name not in NOT_COMPARED]


COMPARED = _compared_fields()


def _plain(model_field: models.Field, value):
    """A field's value as compared: files by their storage name, nothing as ""."""
    if isinstance(model_field, models.FileField):
        return getattr(value, "name", value) or ""
    return "" if value is None else value


@dataclass
class State:
    """An initiative as a version recorded it, or as an edit form would save it."""

    values: dict  # field name -> value: ids for relations, sets of ids or names for M2M
    partners: Counter  # (organisation id, role)
    links: Counter  # (title, address)
    attachments: Counter  # (title, file name)
    # A version's rows by id, per kind ("partners", "links", "attachments"): what an edit
    # form's rows are applied to (Edit).
    by_id: dict[str, dict[int, tuple]] = field(default_factory=dict)


EMPTY = State({}, Counter(), Counter(), Counter())
# The kinds of rows, as State and the edit form's formsets name them.
ROW_KINDS = {Participation: "partners", InitiativeLink: "links", Attachment: "attachments"}


def _tag_names(version: Version) -> frozenset[str]:
    try:
        return frozenset(json.loads(version.serialized_data)[0]["fields"].get(TAG_NAMES, []))
    except (ValueError, LookupError, TypeError):
        return frozenset()


def _state(version: Version, rows: Iterable[Version]) -> State:
    data = version.field_dict
    values = {}
    for model_field in COMPARED:
        if model_field.name == "tags":
            values["tags"] = _tag_names(version)
        elif model_field.many_to_many:
            values[model_field.name] = frozenset(data.get(model_field.attname) or ())
        else:
            values[model_field.name] = _plain(model_field, data.get(model_field.attname))
    by_id: dict[str, dict[int, tuple]] = {kind: {} for kind in ROW_KINDS.values()}
    for row in rows:
        data = row.field_dict
        if row._model is Participation:
            key = (data["organisation_id"], data["role"])
        elif row._model is InitiativeLink:
            key = (data["title"], data["url"])
        else:
            key = (data["title"], _plain(Attachment.file.field, data["file"]))
        by_id[ROW_KINDS[row._model]][int(row.object_id)] = key
    return State(
        values,
        Counter(by_id["partners"].values()),
        Counter(by_id["links"].values()),
        Counter(by_id["attachments"].values()),
        by_id,
    )


def _row_versions(versions: list[Version]) -> dict[int, list[Version]]:
    """Revision id -> the versions of the rows of each version's initiative in it."""
    types = ContentType.objects.get_for_models(*ROWS.values()).values()
    rows = Version.objects.filter(
        revision_id__in={version.revision_id for version in versions},
        content_type__in=list(types),
    )
    initiative_of = {version.revision_id: int(version.object_id) for version in versions}
    found: dict[int, list[Version]] = {revision_id: [] for revision_id in initiative_of}
    for row in rows:
        if row.field_dict.get("initiative_id") == initiative_of[row.revision_id]:
            found[row.revision_id].append(row)
    return found


def states(versions: list[Version]) -> dict[int, State]:
    """Version id -> State, for versions of initiatives (their rows read in one query)."""
    rows = _row_versions(versions) if versions else {}
    return {version.pk: _state(version, rows[version.revision_id]) for version in versions}


def versions_of(pk: int):
    """An initiative's versions, newest first."""
    return (
        Version.objects.get_for_object_reference(Initiative, pk)
        .select_related("revision__user")
        .order_by("-pk")
    )


# --- Differences ---------------------------------------------------------------------------


@dataclass
class Change:
    """One field's change, shown as "label: old → new", as a word diff (long texts), or as
    what was added and removed (relations, tags and rows)."""

    label: str
    old: str = ""
    new: str = ""
    words: list[tuple[str, str]] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)


NAMED = {
    Organisation: ("pk", "name"),
    Municipality: ("pk", "name"),
    County: ("pk", "name"),
    Purpose: ("pk", "name_nb", "name_en"),
    ActorType: ("pk", "name_nb", "name_en"),
    FocusArea: ("pk", "name_nb", "name_en"),
    Goal: ("pk", "number", "short_nb", "short_en"),
    Target: ("pk", "code"),
}


class Names:
    """Display names, in the active language, of what states refer to by id: read when
    first shown, one query per kind for all the states at once."""

    def __init__(self, *all_states: State) -> None:
        self.wanted: dict[type, set] = {}
        for state in all_states:
            for model_field in COMPARED:
                value = state.values.get(model_field.name)
                if model_field.related_model in NAMED and value not in (None, ""):
                    ids = value if model_field.many_to_many else {value}
                    self.wanted.setdefault(model_field.related_model, set()).update(ids)
            if state.partners:
                organisations = (org for org, _ in state.partners)
                self.wanted.setdefault(Organisation, set()).update(organisations)
        self.names: dict[type, dict] = {}

    def of(self, model: type, pk) -> str:
        if model not in self.names:
            objects = model.objects.filter(pk__in=self.wanted.get(model, ())).only(*NAMED[model])
            self.names[model] = {obj.pk: str(obj) for obj in objects}
        return self.names[model].get(pk) or f"#{pk}"


def _shown(model_field: models.Field, value, names: Names) -> str:
    if value in (None, ""):
        return "—"
    if model_field.choices:
        return str(dict(model_field.flatchoices).get(value, value))
    if model_field.is_relation:
        return names.of(model_field.related_model, value)
    if isinstance(value, date | datetime):
        return formats.localize(value)
    return str(value)


TOKENS = re.compile(r"\s+|\S+")
CONTEXT_WORDS = 12  # words kept on each side of a change in long unchanged text


def word_diff(old: str, new: str) -> list[tuple[str, str]]:
    """(kind, text) pieces, kind "equal", "delete" or "insert"; long unchanged stretches are
    shortened to the words around the changes."""
    a, b = TOKENS.findall(old or ""), TOKENS.findall(new or "")
    pieces = []
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    opcodes = matcher.get_opcodes()
    for index, (kind, i1, i2, j1, j2) in enumerate(opcodes):
        if kind == "equal":
            tokens = a[i1:i2]
            keep = CONTEXT_WORDS * 2  # a word and the space after it
            first, last = index == 0, index == len(opcodes) - 1
            if len(tokens) > keep * 2 + 1 or (first or last) and len(tokens) > keep:
                head = [] if first else tokens[:keep]
                tail = [] if last else tokens[-keep:]
                tokens = [*head, "… ", *tail]
            pieces.append(("equal", "".join(tokens)))
            continue
        if i2 > i1:
            pieces.append(("delete", "".join(a[i1:i2])))
        if j2 > j1:
            pieces.append(("insert", "".join(b[j1:j2])))
    return pieces


def _row_names(rows: Counter, shown) -> list[str]:
    return sorted(shown(*row) for row in rows.elements())


def diff(old: State, new: State, names: Names) -> list[Change]:
    """What changed from `old` to `new`, field by field in the form's order, then the rows."""
    changes = []
    for model_field in COMPARED:
        before = old.values.get(model_field.name, "")
        after = new.values.get(model_field.name, "")
        if model_field.many_to_many:
            before, after = before or frozenset(), after or frozenset()
        if before == after:
            continue
        label = capfirst(str(model_field.verbose_name))
        if model_field.name == "tags":
            changes.append(
                Change(label, added=sorted(after - before), removed=sorted(before - after))
            )
        elif model_field.many_to_many:
            model = model_field.related_model
            changes.append(
                Change(
                    label,
                    added=[names.of(model, pk) for pk in sorted(after - before)],
                    removed=[names.of(model, pk) for pk in sorted(before - after)],
                )
            )
        elif isinstance(model_field, models.TextField) and before and after:
            changes.append(Change(label, words=word_diff(before, after)))
        else:
            changes.append(
                Change(
                    label,
                    old=_shown(model_field, before, names),
                    new=_shown(model_field, after, names),
                )
            )

    roles = dict(Participation.Role.choices)

    def partner(org, role) -> str:
        return f"{names.of(Organisation, org)} ({roles.get(role, role)})"

    def link(title, url) -> str:
        return f"{title} ({url})"

    def attachment(title, name) -> str:
        return f"{title} ({name.rsplit('/', 1)[-1]})"

    rows = (
        (Initiative._meta.get_field("partners").verbose_name, "partners", partner),
        (InitiativeLink._meta.verbose_name_plural, "links", link),
        (Attachment._meta.verbose_name_plural, "attachments", attachment),
    )
    for label, kind, shown in rows:
        before, after = getattr(old, kind), getattr(new, kind)
        if before != after:
            changes.append(
                Change(
                    capfirst(str(label)),
                    added=_row_names(after - before, shown),
                    removed=_row_names(before - after, shown),
                )
            )
    return changes


@dataclass
class Entry:
    """One revision of an initiative in its history."""

    version: Version
    comment: str
    changes: list[Change] | None  # None: the first version recorded, nothing to compare

    @property
    def revision(self) -> Revision:
        return self.version.revision


def history(pk: int, *, page: int = 1, per_page: int = HISTORY_PAGE) -> tuple[list[Entry], bool]:
    """A page of an initiative's history, newest first, each revision with what it changed;
    and whether there are older pages. A fixed number of queries."""
    start = (page - 1) * per_page
    versions = list(versions_of(pk)[start : start + per_page + 1])
    by_version = states(versions)
    names = Names(*by_version.values())
    entries = []
    for index, version in enumerate(versions[:per_page]):
        previous = versions[index + 1] if index + 1 < len(versions) else None
        changes = diff(by_version[previous.pk], by_version[version.pk], names) if previous else None
        entries.append(Entry(version, describe(version.revision.comment), changes))
    return entries, len(versions) > per_page


def compare(old: Version | None, new: Version) -> list[Change]:
    """What changed between two versions of an initiative (from nothing when `old` is None)."""
    versions = [new] if old is None else [old, new]
    found = states(versions)
    before = EMPTY if old is None else found[old.pk]
    after = found[new.pk]
    return diff(before, after, Names(before, after))


# --- Review: what changed since a moderator last looked --------------------------------


@dataclass
class Review:
    """The changes to an initiative since it was last reviewed (published or marked)."""

    since: Version | None  # the version reviewed (None: none recorded)
    latest: Version | None
    entries: list[Entry]  # the revisions since, newest first (without their own changes)
    changes: list[Change]  # all of them together, from `since` to `latest`

    @property
    def token(self) -> str:
        return str(self.latest.pk) if self.latest else ""


def since_review(initiative: Initiative) -> Review:
    """What changed since the version last reviewed: the versions with a higher id (the
    order they were saved in; see with_review_state()). Published before the history
    began, the first version counts as reviewed; never reviewed, everything is new."""
    versions = versions_of(initiative.pk)
    reviewed = initiative.reviewed_version
    since = None
    if reviewed is None and initiative.published_at is not None:
        since = versions.order_by("pk").first()
        reviewed = since.pk if since else None
    elif reviewed is not None:
        since = versions.filter(pk=reviewed).first()  # None once pruned
    newer = list(versions if reviewed is None else versions.filter(pk__gt=reviewed))
    latest = newer[0] if newer else since
    entries = [Entry(version, describe(version.revision.comment), None) for version in newer]
    if not newer or since is None:
        return Review(since, latest, entries, [])
    return Review(since, latest, entries, compare(since, latest))


def mark_reviewed(initiative: Initiative, token: str, *, by) -> None:
    """Mark `initiative` reviewed at the version `token` names, the one the moderator was
    shown. In one transaction with its row locked: raise EditConflict unless `token` is
    still the newest version, so a change saved meanwhile stays in the queue, and one still
    being saved (it holds the lock) is waited for and then refused the same way."""
    with transaction.atomic():
        check_version(initiative.pk, token)
        if token:
            initiative.mark_reviewed(by=by, version=int(token))


# --- Restoring --------------------------------------------------------------------------


def restore(version: Version, *, by) -> list[str]:
    """Bring an initiative back to `version`: its texts, choices, place, image, taxonomy,
    tags, partners, links and attachments, recorded as a new revision ("Restored the
    version from …"). Its status and address stay (only the moderation moves change the
    status; links to the address exist elsewhere). What can no longer come back (an
    organisation, place or term deleted since, a file gone from storage) stays as it is
    now and is named in the list returned."""
    pk = int(version.object_id)
    old = version.field_dict
    rows = _row_versions([version])[version.revision_id]
    skipped: list[str] = []
    comment = RESTORED + version.revision.date_created.isoformat()
    initiative = Initiative.objects.get(pk=pk)
    with change(initiative, by=by, comment=comment):
        initiative = Initiative.objects.select_for_update().get(pk=pk)
        fields = [f for f in COMPARED if not f.many_to_many and f.name not in NOT_RESTORED]
        missing = _missing_targets(fields, old)
        if any(name in missing for name in PLACE):
            fields = [f for f in fields if f.name not in PLACE]
            skipped.append(gettext("the place (it has been deleted)"))
        if "lead_organisation" in missing:
            fields = [f for f in fields if f.name != "lead_organisation"]
            skipped.append(gettext("the lead organisation (it has been deleted)"))
        image = _plain(Initiative.image.field, old.get("image"))
        if image and not Initiative.image.field.storage.exists(image):
            fields = [f for f in fields if f.name not in ("image", "image_alt")]
            skipped.append(gettext("the image (its file is gone)"))
        for model_field in fields:
            if model_field.attname in old:  # a field added since keeps its value
                setattr(initiative, model_field.attname, old[model_field.attname])
        initiative.save()

        for name in TAXONOMY:
            model = Initiative._meta.get_field(name).related_model
            wanted = set(old.get(name) or ())
            existing = set(model.objects.filter(pk__in=wanted).values_list("pk", flat=True))
            if existing != wanted:
                skipped.append(
                    gettext("some %(kind)s (deleted since)")
                    % {"kind": Initiative._meta.get_field(name).verbose_name}
                )
            getattr(initiative, name).set(existing)
        initiative.tags.set(sorted(_tag_names(version)))
        skipped += _restore_rows(pk, rows)
        Initiative.objects.filter(pk=pk).refresh_search_vectors()
        # Rows come back as they were stored (raw saves, which send no signal the facet
        # engine reads): tell it the initiative changed.
        engine.initiatives_changed([pk])
    return skipped


def restore_preview(version: Version) -> list[Change]:
    """What restoring `version` would change in the initiative as it is now (its status
    and address stay, so they are not compared)."""
    latest = versions_of(int(version.object_id)).first()
    found = states([latest, version])
    current, restored = found[latest.pk], found[version.pk]
    kept = {name: current.values.get(name) for name in NOT_RESTORED}
    restored = State(
        {**restored.values, **kept}, restored.partners, restored.links, restored.attachments
    )
    return diff(current, restored, Names(current, restored))


def _missing_targets(fields: list[models.Field], old: dict) -> set[str]:
    missing = set()
    for model_field in fields:
        value = old.get(model_field.attname)
        related = model_field.related_model
        if related and value is not None and not related.objects.filter(pk=value).exists():
            missing.add(model_field.name)
    return missing


def _restore_rows(pk: int, rows: list[Version]) -> list[str]:
    """Put the initiative's partners, links and attachments back as `rows` recorded them."""
    skipped = []
    wanted = {model: {} for model in ROWS.values()}
    for row in rows:
        wanted[row._model][int(row.object_id)] = row
    partners = wanted[Participation]
    organisations = {row.field_dict["organisation_id"] for row in partners.values()}
    existing = set(Organisation.objects.filter(pk__in=organisations).values_list("pk", flat=True))
    for row_pk, row in list(partners.items()):
        if row.field_dict["organisation_id"] not in existing:
            del partners[row_pk]
            skipped.append(gettext("a partner (the organisation has been deleted)"))
    for row_pk, row in list(wanted[Attachment].items()):
        name = _plain(Attachment.file.field, row.field_dict["file"])
        if not name or not Attachment.file.field.storage.exists(name):
            del wanted[Attachment][row_pk]
            skipped.append(
                gettext("the attachment “%(title)s” (its file is gone)")
                % {"title": row.field_dict["title"]}
            )
    for model, keep in wanted.items():
        # A row moved to another initiative since (in the admin) stays there.
        for row_pk in (
            model.objects.filter(pk__in=keep).exclude(initiative_id=pk).values_list("pk", flat=True)
        ):
            skipped.append(
                gettext("“%(row)s” (it belongs to another initiative now)")
                % {"row": keep.pop(row_pk).object_repr}
            )
    # Rows the version does not have go; so does a partner row now naming another
    # organisation (two rows that swapped organisations would otherwise collide).
    for model, keep in wanted.items():
        model.objects.filter(initiative_id=pk).exclude(pk__in=keep).delete()
    for row_pk, row in partners.items():
        Participation.objects.filter(pk=row_pk).exclude(
            organisation_id=row.field_dict["organisation_id"]
        ).delete()
    for keep in wanted.values():
        for row in keep.values():
            row.revert()  # the row exactly as stored: its id, dates and file name
    return skipped


# --- Files the history still needs -----------------------------------------------------------


def referenced_files() -> set[str]:
    """Storage names of every file (attachments, initiative images) a kept version names.

    A file no current row and no kept version names may be deleted; one that a version
    names must stay, or restoring that version could not bring it back.
    """
    names = set()
    for model, name in ((Attachment, "file"), (Initiative, "image")):
        stored = Version.objects.get_for_model(model).values_list("serialized_data", flat=True)
        for data in stored.iterator(chunk_size=2000):
            # A version that cannot be read raises: the clean-up then deletes nothing,
            # rather than a file that version may need.
            value = json.loads(data)[0]["fields"].get(name)
            if value:
                names.add(value)
    return names


# --- Edit conflicts -------------------------------------------------------------------------


def latest_version() -> Subquery:
    """The id of an initiative's newest version, as an annotation: the version an edit form
    is loaded from, read with the initiative in the same query."""
    return Subquery(
        Version.objects.filter(
            content_type__app_label=Initiative._meta.app_label,
            content_type__model=Initiative._meta.model_name,
            db=router.db_for_write(Initiative),
            object_id=Cast(OuterRef("pk"), CharField()),
        )
        .order_by("-pk")
        .values("pk")[:1]
    )


def token_of(pk: int) -> str:
    version = versions_of(pk).values_list("pk", flat=True).first()
    return "" if version is None else str(version)


class EditConflict(Exception):
    """Someone saved a newer version than the one the form was loaded from."""

    def __init__(self, pk: int, loaded: str, current: str) -> None:
        super().__init__(f"initiative {pk}: loaded version {loaded!r}, current {current!r}")
        self.pk = pk
        self.loaded = loaded
        self.current = current


def check_version(pk: int, token: str) -> None:
    """Raise EditConflict unless `token` is the initiative's newest version. Call it in the
    saving transaction: it locks the initiative's row until the commit, so two saves loaded
    from the same version cannot both pass."""
    list(Initiative.objects.select_for_update().filter(pk=pk).values_list("pk"))
    current = token_of(pk)
    if current != token:
        raise EditConflict(pk, token, current)


class VersionForm(forms.Form):
    """The version an edit form was loaded from (a hidden field) and, when its person chose
    to save over a newer one, that newer version (the value of the button they pressed)."""

    prefix = "history"
    number = RegexValidator(r"^[0-9]{0,18}$")

    loaded = forms.CharField(
        required=False, max_length=18, widget=forms.HiddenInput, validators=[number]
    )
    overwrite = forms.CharField(required=False, max_length=18, validators=[number])

    @property
    def token(self) -> str:
        """The version the person's input is meant to replace."""
        if not self.is_bound:
            return str(self.initial.get("loaded") or "")
        if not self.is_valid():
            return "invalid"  # never a version: the save is refused and both are shown
        return self.cleaned_data["overwrite"] or self.cleaned_data["loaded"]


@dataclass
class Conflict:
    """What a person is shown when their save met a newer version: who saved it and when,
    what changed since their form was loaded, and what saving theirs would change now."""

    latest: Version | None
    theirs: list[Change]
    yours: list[Change]

    @property
    def token(self) -> str:
        return str(self.latest.pk) if self.latest else ""


def conflict(error: EditConflict, yours: "Edit") -> Conflict:
    versions = versions_of(error.pk)
    latest = versions.first()
    if error.loaded.isdigit():
        loaded = versions.filter(pk=int(error.loaded)).first()
    else:
        # Loaded before anything was recorded: the first version is the state it was
        # loaded in (record_baseline() writes it before the first change).
        loaded = versions.order_by("pk").first()
    found = states([version for version in (loaded, latest) if version is not None])
    before = found[loaded.pk] if loaded else EMPTY
    current = found[latest.pk] if latest else EMPTY
    mine = yours.applied_to(current)
    names = Names(before, current, mine)
    return Conflict(latest, diff(before, current, names), diff(current, mine, names))


@dataclass
class RowEdits:
    """What a formset does to an initiative's rows of one kind when it saves: the rows it
    changes (id -> the row as it writes it), the ids it deletes, and its new rows. A row it
    holds unchanged, or does not hold at all (added by someone else after the form was
    loaded), it leaves as it is."""

    changed: dict[int, tuple] = field(default_factory=dict)
    deleted: set[int] = field(default_factory=set)
    added: Counter = field(default_factory=Counter)

    def applied_to(self, rows: dict[int, tuple]) -> Counter:
        kept = {pk: self.changed.get(pk, key) for pk, key in rows.items() if pk not in self.deleted}
        return Counter(kept.values()) + self.added


@dataclass
class Edit:
    """What a valid edit form and its formsets would save: the values of the fields the form
    has, and the row edits of the formsets it has (by kind: "partners", "links",
    "attachments"). What it has no field or formset for keeps its current value."""

    values: dict
    rows: dict[str, RowEdits]

    def applied_to(self, current: State) -> State:
        """The initiative as saving this edit over `current` (a version's state) leaves it."""

        def rows(kind: str) -> Counter:
            if kind not in self.rows:
                return getattr(current, kind)
            return self.rows[kind].applied_to(current.by_id.get(kind, {}))

        return State(
            {**current.values, **self.values}, rows("partners"), rows("links"), rows("attachments")
        )


def _row_of_form(kind: str, data: dict) -> tuple | None:
    if kind == "partners":
        organisation = data.get("organisation")
        return (organisation.pk, data.get("role")) if organisation is not None else None
    if kind == "links":
        return (data.get("title"), data.get("url"))
    return (data.get("title"), _plain(Attachment.file.field, data.get("file")))


def state_of_forms(form: forms.ModelForm, formsets: dict) -> Edit:
    """What a valid form and its formsets ("partners", "links", "attachments") would save.

    As a model formset saves: a row of the page that is ticked for removal is deleted, a row
    that differs from the row saved now is written as it is on the page, a new row that was
    filled in is added; every other row, and every row the page does not have, stays.
    """
    values = {}
    for model_field in COMPARED:
        if model_field.name not in form.fields:
            continue
        if model_field.name == "tags":
            values["tags"] = frozenset(form.cleaned_data.get("tags") or ())
        elif model_field.many_to_many:
            chosen = form.cleaned_data.get(model_field.name) or ()
            values[model_field.name] = frozenset(obj.pk for obj in chosen)
        else:
            values[model_field.name] = _plain(
                model_field, getattr(form.instance, model_field.attname)
            )
    rows = {}
    for kind, formset in formsets.items():
        edits = rows[kind] = RowEdits()
        for index, row in enumerate(formset.forms):
            existing = index < formset.initial_form_count() and row.instance.pk is not None
            if formset.can_delete and formset._should_delete_form(row):
                if existing:
                    edits.deleted.add(row.instance.pk)
                continue
            if not row.has_changed():
                continue
            key = _row_of_form(kind, getattr(row, "cleaned_data", None) or {})
            if key is None:
                continue
            if existing:
                edits.changed[row.instance.pk] = key
            else:
                edits.added[key] += 1
    return Edit(values, rows)
