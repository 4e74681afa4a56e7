"""The moderators' bulk import: a CSV or XLSX file of initiatives, checked row by row in a
dry run, then created in one transaction (all of them or none).

The file has the columns of the export (initiatives.exports.COLUMNS, first row the
machine names): an exported file imports again without loss. Columns the import does not
read (`id`, `url`, the `*_label` columns, `published_at`, `adoptions`) are ignored, as are
unknown ones (the dry run names them). A municipality, county or organisation is found by
number or by name, whatever the case and accents (Baerum finds Bærum); a name that is not
found gets "did you mean" suggestions. Purposes, actor types and focus areas are found by
slug or by name in either language.

Who is who. The moderator who uploads the file is its submitter: the initiatives are
created by them (the edit history's first revision) and sent for review by them
(`Initiative.submit`, the status change noting "Imported from <file>"); `created_by`
stays empty, since no account here wrote them. The bank's rule that nobody publishes
what they submitted (`Initiative.publish`, four eyes) holds for imports too: the uploader
imports them as submitted, and another moderator publishes them, either from the review
queue as usual or, in one step, by opening the same dry run (its address is shareable
among moderators for a day) and confirming it with "publish". Publishing goes through
`Initiative.publish`, which also tells the facet engine (through the catalogue change
log every save writes) and the search index.

Why not django-import-export: it maps columns to model fields and saves rows with
`save()`; what we need around that is most of the work and would be written against its
resource hooks anyway: matching places and organisations by number or name with
suggestions, many-to-many values by code, partners and links as rows, completeness as
the model defines it (`Initiative.REVIEW_NEEDS`), and every initiative created through
the edit history and the moderation moves (`history.change`, `submit`, `publish`)
rather than as a bare row. Its export would also be a second definition of the columns
beside our streamed one (initiatives.exports, which reads the facet engine). So this
module reads the file with the standard library's csv and openpyxl (already used for
the export) and nothing new is installed.
"""

import csv
import difflib
import io
import re
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.core import signing
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.validators import URLValidator, validate_email, validate_slug
from django.db import transaction
from django.db.models.functions import Lower
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from openpyxl import load_workbook
from openpyxl.utils.exceptions import InvalidFileException

from ideabank import slugs
from ideabank.spreadsheets import unguarded
from initiatives import history
from initiatives.exports import COLUMNS
from initiatives.forms import RESERVED_SLUGS
from initiatives.models import (
    ActorType,
    County,
    FocusArea,
    Goal,
    IllegalTransition,
    Initiative,
    InitiativeLink,
    Municipality,
    Organisation,
    Participation,
    Purpose,
    Scope,
    Target,
)

MAX_BYTES = 5 * 1024 * 1024
# Each row is a few dozen queries (history, moves, search index): this many fit well
# within a request's time.
MAX_ROWS = 500
TOKEN_SALT = "initiatives.imports"
TOKEN_MAX_AGE = 24 * 60 * 60
STORAGE_FOLDER = "imports"
XLSX_MAGIC = b"PK\x03\x04"

IMPORTED_COLUMNS = {column.key for column in COLUMNS if column.imported}
# Read by the import though not exported: the public pages do not show them.
IMPORT_ONLY = {"contact_email", "contact_phone"}
KNOWN_COLUMNS = {column.key for column in COLUMNS} | IMPORT_ONLY
TEXT_FIELDS = (
    "summary", "description", "frame_goals", "frame_roles", "frame_financing",
    "frame_expected_results", "frame_indicators", "frame_effect_shown", "results", "lessons",
    "transfer_value", "contact_name", "contact_role", "contact_phone",
)  # fmt: skip


class ImportFileError(Exception):
    """The file cannot be read as a table of initiatives; the message says why."""


# --- Reading the file ----------------------------------------------------------------------


@dataclass
class Table:
    header: list[str]
    rows: list[tuple[int, dict[str, str]]]  # (line number in the file, values)
    unknown_columns: list[str]


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat()  # fmt: skip
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _csv_records(data: bytes) -> Iterable[list[str]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        # Excel in Norway saves "CSV (semicolon separated)" in Windows-1252.
        text = data.decode("cp1252", errors="replace")
    if "\x00" in text:
        raise ImportFileError(_("This is not a CSV file (it holds binary data)."))
    first_line = text.split("\n", 1)[0]
    delimiter = max(";,\t", key=first_line.count)
    return csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)


def _xlsx_records(data: bytes) -> Iterable[list[str]]:
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, ValueError, OSError) as error:
        raise ImportFileError(_("This XLSX file could not be read.")) from error
    if not workbook.worksheets:
        raise ImportFileError(_("The workbook has no sheets."))
    # The first sheet holds the initiatives (an exported workbook explains the columns on
    # its second).
    return ([_cell(value) for value in row] for row in workbook.worksheets[0].iter_rows(values_only=True))  # fmt: skip


def read_table(file_name: str, data: bytes) -> Table:
    """The file's rows as {column: text}, by content: an XLSX workbook (a zip file) or a
    CSV file (semicolons, commas or tabs; UTF-8 or Windows-1252)."""
    if len(data) > MAX_BYTES:
        raise ImportFileError(
            _("The file is larger than %(limit)s MB.") % {"limit": MAX_BYTES // (1024 * 1024)}
        )
    if not data.strip():
        raise ImportFileError(_("The file is empty."))
    if data.startswith(XLSX_MAGIC):
        records = iter(_xlsx_records(data))
    elif file_name.lower().endswith((".xlsx", ".xls", ".ods", ".pdf", ".docx")):
        raise ImportFileError(_("Choose a CSV or XLSX file."))
    else:
        records = iter(_csv_records(data))
    try:
        header = [unguarded(name.strip()).lower() for name in next(records)]
        if "title" not in header:
            raise ImportFileError(
                _(
                    "The first row must name the columns, among them “title”: download the "
                    "template (an export) to see them."
                )
            )
        rows = []
        for number, record in enumerate(records, start=2):
            values = {
                name: unguarded(value.strip())
                for name, value in zip(header, record, strict=False)
                if name in KNOWN_COLUMNS
            }
            if not any(values.values()):
                continue  # an empty line
            if len(rows) >= MAX_ROWS:
                raise ImportFileError(
                    _("The file has more than %(limit)s initiatives: split it into smaller files.")
                    % {"limit": MAX_ROWS}
                )
            rows.append((number, values))
    except (csv.Error, StopIteration) as error:
        raise ImportFileError(_("The file could not be read as a table.")) from error
    unknown = [name for name in header if name and name not in KNOWN_COLUMNS]
    return Table(header, rows, unknown)


# --- Finding what a row names -----------------------------------------------------------------


def normal(text: str) -> str:
    """Case, accents and punctuation left out: "Bærum" and "BAERUM" are the same."""
    return slugs.slugify_nb(text)


AMBIGUOUS = object()


class Lookup:
    """Objects found by any of their keys (numbers, slugs, names), compared `normal`."""

    def __init__(self, entries: Iterable[tuple[object, str, Iterable[str]]]) -> None:
        self.found: dict[str, object] = {}
        self.shown: dict[str, str] = {}
        for obj, shown, keys in entries:
            for key in {normal(k) for k in keys if k}:
                if key in self.found and self.found[key] is not obj:
                    self.found[key] = AMBIGUOUS
                else:
                    self.found[key] = obj
                self.shown.setdefault(key, shown)

    def get(self, text: str):
        return self.found.get(normal(text))

    def suggestions(self, text: str) -> list[str]:
        close = difflib.get_close_matches(normal(text), list(self.shown), n=5, cutoff=0.7)
        return list(dict.fromkeys(self.shown[key] for key in close))[:3]


def not_found(what: str, text: str, lookup: Lookup) -> str:
    suggestions = lookup.suggestions(text)
    message = _("%(what)s “%(text)s” was not found.") % {"what": what, "text": text}
    if suggestions:
        message += " " + _("Did you mean %(suggestions)s?") % {
            "suggestions": _(" or ").join(f"“{s}”" for s in suggestions)
        }
    return message


def _labels(choices) -> dict[str, str]:
    """{normal code or label in either language: code} of a TextChoices."""
    found = {}
    for code, label in choices.choices:
        found[normal(code)] = code
        for language in ("nb", "en"):
            with translation.override(language):
                found[normal(str(label))] = code
    return found


class Catalogue:
    """Everything rows are matched against, read once per check."""

    def __init__(self) -> None:
        self.goals = {goal.number: goal for goal in Goal.objects.all()}
        self.targets = Lookup((t, t.code, [t.code]) for t in Target.objects.all())
        self.terms = {
            name: Lookup(
                (term, term.slug, [term.slug, term.name_nb, term.name_en])
                for term in model.objects.all()
            )  # fmt: skip
            for name, model in (
                ("purposes", Purpose),
                ("actor_types", ActorType),
                ("focus_areas", FocusArea),
            )  # fmt: skip
        }
        self.municipalities = Lookup(
            (m, f"{m.name} ({m.number})", [m.number, m.name]) for m in Municipality.objects.all()
        )
        self.counties = Lookup(
            (c, f"{c.name} ({c.number})", [c.number, c.name]) for c in County.objects.all()
        )
        organisations = list(Organisation.objects.only("pk", "name", "organisation_number", "status"))  # fmt: skip
        self.organisation_numbers = {o.organisation_number: o for o in organisations if o.organisation_number}  # fmt: skip
        self.organisations = Lookup((o, o.name, [o.name]) for o in organisations)
        self.phases = _labels(Initiative.Phase)
        self.scopes = _labels(Scope)
        self.involvements = _labels(Initiative.Involvement)
        self.roles = _labels(Participation.Role)
        self.languages = {code for code, _name in Initiative._meta.get_field("language").choices}


# --- Checking rows -------------------------------------------------------------------------


@dataclass
class Row:
    """One row of the file: what it would create, or what is wrong with it."""

    line: int
    title: str
    errors: list[str] = field(default_factory=list)
    fields: dict = field(default_factory=dict)
    relations: dict = field(default_factory=dict)
    tags: list[str] = field(default_factory=list)
    partners: list[tuple[Organisation, str]] = field(default_factory=list)
    links: list[tuple[str, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def split(value: str, separators: str = ";,\n") -> list[str]:
    parts = re.split(f"[{re.escape(separators)}]", value)
    return list(dict.fromkeys(part.strip() for part in parts if part.strip()))


def max_length(name: str) -> int | None:
    return Initiative._meta.get_field(name).max_length


class Checker:
    def __init__(self, catalogue: Catalogue, *, publish: bool) -> None:
        self.catalogue, self.publish = catalogue, publish
        self.slugs_in_file: set[str] = set()
        self.titles_in_file: set[str] = set()

    def check(self, rows: list[tuple[int, dict[str, str]]]) -> list[Row]:
        titles = [values.get("title", "").lower() for _line, values in rows]
        wanted_slugs = [values.get("slug", "") for _line, values in rows]
        self.titles_in_bank = set(
            Initiative.objects.annotate(lower=Lower("title"))
            .filter(lower__in=[t for t in titles if t])
            .values_list("lower", flat=True)
        )
        self.slugs_in_bank = set(
            Initiative.objects.filter(slug__in=[s for s in wanted_slugs if s]).values_list(
                "slug", flat=True
            )
        )
        checked = [self.row(line, values) for line, values in rows]
        # Slugs for the rows without one, after every given one is known.
        for row in checked:
            if row.ok and not row.fields.get("slug"):
                row.fields["slug"] = slugs.unique_slug(
                    row.title,
                    Initiative.objects.all(),
                    fallback="tiltak",
                    reserved=RESERVED_SLUGS | self.slugs_in_file,
                )
                self.slugs_in_file.add(row.fields["slug"])
        return checked

    def row(self, line: int, values: dict[str, str]) -> Row:
        title = values.get("title", "")
        row = Row(line, title)
        errors = row.errors
        if not title:
            errors.append(_("The title is missing."))
        elif title.lower() in self.titles_in_bank:
            errors.append(_("An initiative with this title is already in the bank."))
        elif title.lower() in self.titles_in_file:
            errors.append(_("Another row of the file has the same title."))
        self.titles_in_file.add(title.lower())
        fields = row.fields
        fields["title"] = title
        slug = values.get("slug", "")
        if slug:
            try:
                validate_slug(slug)
            except ValidationError:
                errors.append(_("The slug “%(slug)s” may hold only letters a–z, digits, hyphens and underscores.") % {"slug": slug})  # fmt: skip
            if slug in self.slugs_in_bank or slug in RESERVED_SLUGS:
                errors.append(_("The slug “%(slug)s” is already taken.") % {"slug": slug})
            elif slug in self.slugs_in_file:
                errors.append(_("Another row of the file has the slug “%(slug)s”.") % {"slug": slug})  # fmt: skip
            self.slugs_in_file.add(slug)
            fields["slug"] = slug
        language = values.get("language", "") or "nb"
        if language not in self.catalogue.languages:
            errors.append(_("Unknown language “%(value)s”: write nb or en.") % {"value": language})
        fields["language"] = language
        for name in TEXT_FIELDS:
            fields[name] = values.get(name, "")
        email = values.get("contact_email", "")
        if email:
            try:
                validate_email(email)
            except ValidationError:
                errors.append(_("“%(value)s” is not an e-mail address.") % {"value": email})
        fields["contact_email"] = email
        for name in ("title", "slug", *TEXT_FIELDS, "contact_email"):
            limit = max_length(name)
            if limit and len(fields.get(name, "")) > limit:
                errors.append(
                    _("%(field)s is longer than %(limit)s characters.")
                    % {
                        "field": Initiative._meta.get_field(name).verbose_name.capitalize(),
                        "limit": limit,
                    }  # fmt: skip
                )
        self._choices(row, values)
        self._taxonomy(row, values)
        self._place(row, values)
        self._organisations(row, values)
        self._links(row, values)
        self._dates(row, values)
        row.tags = split(values.get("tags", ""), ";\n")
        # What review needs (the model's own list), as submit() will check it.
        present = {**fields, **row.relations}
        for name, message in Initiative.REVIEW_NEEDS.items():
            if not present.get(name):
                errors.append(str(message))
        return row

    def _choices(self, row: Row, values: dict[str, str]) -> None:
        catalogue = self.catalogue
        for name, known, default, what in (
            ("phase", catalogue.phases, Initiative.Phase.IDEA, _("Phase")),
            ("involvement", catalogue.involvements, "", _("Involvement level")),
        ):
            value = values.get(name, "")
            code = known.get(normal(value)) if value else default
            if code is None:
                row.errors.append(_("%(what)s “%(value)s” is not one of the choices.") % {"what": what, "value": value})  # fmt: skip
            row.fields[name] = code or ""

    def _taxonomy(self, row: Row, values: dict[str, str]) -> None:
        catalogue = self.catalogue
        goals = []
        for value in split(values.get("goals", "")):
            number = value.removesuffix(".0")
            goal = catalogue.goals.get(int(number)) if number.isascii() and number.isdigit() else None  # fmt: skip
            if goal is None:
                row.errors.append(_("Unknown goal “%(value)s”: goals are numbered 1 to 17.") % {"value": value})  # fmt: skip
            else:
                goals.append(goal)
        row.relations["goals"] = goals
        targets = []
        for value in split(values.get("targets", ""), ";\n"):
            target = catalogue.targets.get(value)
            if target is None or target is AMBIGUOUS:
                row.errors.append(not_found(_("The target"), value, catalogue.targets))
            else:
                targets.append(target)
        row.relations["targets"] = targets
        names = {
            "purposes": _("The purpose"),
            "actor_types": _("The actor type"),
            "focus_areas": _("The focus area"),
        }
        for name, what in names.items():
            lookup, found = catalogue.terms[name], []
            for value in split(values.get(name, ""), ";\n"):
                term = lookup.get(value)
                if term is None or term is AMBIGUOUS:
                    row.errors.append(not_found(what, value, lookup))
                else:
                    found.append(term)
            row.relations[name] = list(dict.fromkeys(found))

    def _place(self, row: Row, values: dict[str, str]) -> None:
        catalogue, errors, fields = self.catalogue, row.errors, row.fields
        municipality_text = values.get("municipality", "") or values.get("municipality_name", "")
        county_text = values.get("county", "") or values.get("county_name", "")
        # Spreadsheets drop leading zeros: 301 is 0301, 3 is 03.
        if municipality_text.isdigit():
            municipality_text = municipality_text.zfill(4)
        if county_text.isdigit():
            county_text = county_text.zfill(2)
        municipality = catalogue.municipalities.get(municipality_text) if municipality_text else None  # fmt: skip
        county = catalogue.counties.get(county_text) if county_text else None
        if municipality_text and municipality in (None, AMBIGUOUS):
            errors.append(not_found(_("The municipality"), municipality_text, catalogue.municipalities))  # fmt: skip
        if county_text and county in (None, AMBIGUOUS):
            errors.append(not_found(_("The county"), county_text, catalogue.counties))
        scope_text = values.get("scope", "")
        scope = catalogue.scopes.get(normal(scope_text)) if scope_text else ""
        if scope is None:
            errors.append(_("Scope “%(value)s” is not one of the choices.") % {"value": scope_text})
            scope = ""
        if not scope_text:
            scope = Scope.LOCAL if municipality_text else Scope.REGIONAL if county_text else ""
        fields["scope"], fields["municipality"], fields["county"] = scope, None, None
        if scope == Scope.LOCAL:
            if not municipality_text:
                errors.append(_("A local initiative needs a municipality."))
            fields["municipality"] = municipality if isinstance(municipality, Municipality) else None  # fmt: skip
        elif scope == Scope.REGIONAL:
            if not county_text:
                errors.append(_("A regional initiative needs a county."))
            fields["county"] = county if isinstance(county, County) else None

    def _organisation(self, row: Row, text: str, number: str = ""):
        catalogue = self.catalogue
        number = number.replace(" ", "")
        if number:
            organisation = catalogue.organisation_numbers.get(number)
            if organisation is None:
                row.errors.append(
                    _("No organisation in the bank has the organisation number %(number)s.")
                    % {"number": number}
                )
            return organisation
        organisation = catalogue.organisations.get(text)
        if organisation is AMBIGUOUS:
            row.errors.append(
                _("Several organisations are called “%(name)s”: give its organisation number.")
                % {"name": text}
            )
            return None
        if organisation is None:
            row.errors.append(not_found(_("The organisation"), text, catalogue.organisations))
        return organisation

    def _organisations(self, row: Row, values: dict[str, str]) -> None:
        name = values.get("lead_organisation", "")
        number = values.get("lead_organisation_number", "")
        lead = None
        if not name and not number:
            row.errors.append(_("The lead organisation is missing."))
        else:
            lead = self._organisation(row, name, number)
        if lead is not None and self.publish and not lead.is_approved:
            row.errors.append(
                _(
                    "Approve the organisation “%(organisation)s” first: an initiative cannot be published while its lead organisation is only proposed."
                )  # fmt: skip
                % {"organisation": lead.name}
            )
        row.fields["lead_organisation"] = lead
        seen = {lead.pk} if lead else set()
        for line in split(values.get("partners", ""), "\n"):
            role_text, _colon, rest = line.partition(":")
            role = self.catalogue.roles.get(normal(role_text)) if rest else None
            if role is None:
                role, rest = Participation.Role.PARTNER, line
            match = re.fullmatch(r"(.*?)\s*\[\s*([0-9 ]+)\s*\]", rest.strip())
            partner_name, partner_number = (match.group(1), match.group(2)) if match else (rest.strip(), "")  # fmt: skip
            organisation = self._organisation(row, partner_name, partner_number)
            if organisation is None:
                continue
            if organisation.pk in seen:
                row.errors.append(
                    _("“%(organisation)s” is named twice among the lead and the partners.")
                    % {"organisation": organisation.name}
                )
                continue
            seen.add(organisation.pk)
            row.partners.append((organisation, role))

    def _links(self, row: Row, values: dict[str, str]) -> None:
        validate = URLValidator(schemes=["http", "https"])
        for line in split(values.get("links", ""), "\n"):
            match = re.fullmatch(r"(.*?)\s*<(\S+)>", line)
            title, url = (match.group(1) or match.group(2), match.group(2)) if match else (line, line)  # fmt: skip
            try:
                validate(url)
            except ValidationError:
                row.errors.append(_("“%(value)s” is not a web address (https://…).") % {"value": url})  # fmt: skip
                continue
            row.links.append((title[:200], url))

    def _dates(self, row: Row, values: dict[str, str]) -> None:
        for name in ("start_date", "end_date"):
            value = values.get(name, "")
            try:
                row.fields[name] = date.fromisoformat(value[:10]) if value else None
            except ValueError:
                row.errors.append(_("“%(value)s” is not a date (YYYY-MM-DD).") % {"value": value})
                row.fields[name] = None
        start, end = row.fields["start_date"], row.fields["end_date"]
        if start and end and end < start:
            row.errors.append(_("The end date cannot be before the start date."))


@dataclass
class DryRun:
    file_name: str
    rows: list[Row]
    unknown_columns: list[str]

    @property
    def ok(self) -> bool:
        return bool(self.rows) and all(row.ok for row in self.rows)

    @property
    def error_count(self) -> int:
        return sum(not row.ok for row in self.rows)


def dry_run(file_name: str, data: bytes, *, publish: bool = False) -> DryRun:
    """What importing the file would do, row by row; nothing is written."""
    table = read_table(file_name, data)
    rows = Checker(Catalogue(), publish=publish).check(table.rows)
    return DryRun(file_name, rows, table.unknown_columns)


# --- Importing -----------------------------------------------------------------------------


class ImportRefused(Exception):
    """A row could not be imported after all (the model refused it); nothing was."""


def import_rows(run: DryRun, *, submitter, publisher=None) -> list[Initiative]:
    """Create every row of a dry run without errors, in one transaction: created and sent
    for review by `submitter` (the history and status changes say so, noting the file),
    and published by `publisher` when given. ImportRefused, and nothing saved, when a
    row has errors or the model refuses a move."""
    if not run.ok:
        raise ImportRefused(_("The file has rows with errors; nothing was imported."))
    note = _("Imported from %(file)s") % {"file": run.file_name}
    created = []
    with transaction.atomic():
        for row in run.rows:
            try:
                created.append(_create(row, submitter=submitter, publisher=publisher, note=note))
            except IllegalTransition as error:
                raise ImportRefused(
                    _("Row %(line)s (“%(title)s”): %(error)s")
                    % {"line": row.line, "title": row.title, "error": error}
                ) from error
    return created


def _create(row: Row, *, submitter, publisher, note: str) -> Initiative:
    initiative = Initiative(**row.fields)
    with history.change(initiative, by=submitter, comment=history.CREATED):
        initiative.save()
        for name, values in row.relations.items():
            getattr(initiative, name).set(values)
        if row.tags:
            initiative.tags.add(*row.tags)
        Participation.objects.bulk_create(
            Participation(initiative=initiative, organisation=organisation, role=role)
            for organisation, role in row.partners
        )
        InitiativeLink.objects.bulk_create(
            InitiativeLink(initiative=initiative, title=title, url=url, position=position)
            for position, (title, url) in enumerate(row.links)
        )
    Initiative.objects.filter(pk=initiative.pk).refresh_search_vectors()
    # The status changes say where the initiative came from. No mail per row: the
    # moderators find the imported initiatives in the review queue.
    initiative.submit(by=submitter, note=note, notify=False)
    if publisher is not None:
        initiative.publish(by=publisher, note=note, notify=False)
    return initiative


# --- The uploaded file between the dry run and the import -----------------------------------


def keep(file_name: str, data: bytes, *, by) -> str:
    """Store the upload (in the site's file storage, which every process shares) and
    return a signed token naming it and who uploaded it; valid for TOKEN_MAX_AGE."""
    forget_old()
    name = default_storage.save(f"{STORAGE_FOLDER}/upload", ContentFile(data))
    return signing.dumps({"file": name, "name": file_name[:200], "by": by.pk}, salt=TOKEN_SALT)


@dataclass
class Kept:
    file: str
    name: str
    uploader_id: int

    def read(self) -> bytes:
        with default_storage.open(self.file, "rb") as stored:
            return stored.read()

    def forget(self) -> None:
        default_storage.delete(self.file)


def kept(token: str) -> Kept | None:
    """The upload a token names, if the token is ours, not too old and the file still there."""
    try:
        value = signing.loads(token, salt=TOKEN_SALT, max_age=TOKEN_MAX_AGE)
    except signing.BadSignature:
        return None
    upload = Kept(value["file"], value["name"], value["by"])
    if not upload.file.startswith(f"{STORAGE_FOLDER}/") or not default_storage.exists(upload.file):
        return None
    return upload


def forget_old() -> None:
    """Delete uploads older than a token lives: abandoned dry runs."""
    try:
        _folders, files = default_storage.listdir(STORAGE_FOLDER)
    except (FileNotFoundError, NotImplementedError):
        return
    limit = timezone.now() - timedelta(seconds=TOKEN_MAX_AGE)
    for name in files:
        path = f"{STORAGE_FOLDER}/{name}"
        try:
            if default_storage.get_modified_time(path) < limit:
                default_storage.delete(path)
        except (FileNotFoundError, NotImplementedError):
            continue


def summary(run: DryRun) -> str:
    good = len(run.rows) - run.error_count
    return ngettext(
        "%(count)d initiative would be created.", "%(count)d initiatives would be created.", good
    ) % {"count": good}
