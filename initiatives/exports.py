"""Exports of the initiative list as CSV and XLSX: the one definition of an initiative row.

COLUMNS is the file format, and the template of the moderators' bulk import
(initiatives.imports) too: an exported file imports again without loss.

- The first row holds each column's machine name (`title`, `goals`, ...), the same in
  every language, so the import reads a file downloaded in Bokmål or in English alike. The
  XLSX file explains each column on a second sheet, in the chosen language; so does the
  import page in the admin.
- Values the import reads are codes: goal numbers (`12;13`), target codes (`12.3`), the
  slugs of purposes, actor types and focus areas, the phase, scope and involvement codes,
  municipality and county numbers, organisation numbers. Beside most of them a `*_label`
  (or `*_name`) column says the same in the chosen language, for people; the import
  ignores those, except that a municipality, county or organisation may be given by name.
- Lists of codes and tags are separated by semicolons; partners and links, one per line
  ("partner: Name [organisation number]", "Title <https://…>").
- Only what the initiative's public page shows: no contact e-mail or phone (the import
  accepts `contact_email` and `contact_phone` columns all the same).
- Every text cell is guarded against spreadsheet formulas (ideabank.spreadsheets).

Rows are read as the web list reads them (views.listing_from_url, the facet engine):
the same initiatives in the same order as the page says, published ones only. They are
fetched CHUNK at a time in a fixed number of queries per chunk, so a file of the whole
bank is written in bounded memory: the CSV is streamed as it is made, the XLSX written by
openpyxl's write-only workbook to a temporary file and then streamed.
"""

import csv
import io
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from dataclasses import field as dc_field

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.models.expressions import RawSQL
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.functional import Promise
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from taggit.models import TaggedItem

from ideabank.ratelimit import Limit, client_ip
from ideabank.slugs import slugify_nb
from ideabank.spreadsheets import BOM, CSV_DELIMITER, Echo, guarded_row, xlsx_text
from initiatives.facets import Listing
from initiatives.models import (
    ActorType,
    FocusArea,
    Goal,
    Initiative,
    InitiativeLink,
    Participation,
    Purpose,
    Scope,
    Target,
)

CHUNK = 1000
LIST_SEPARATOR = ";"
LINE_SEPARATOR = "\n"


@dataclass
class Row:
    """One initiative as the export reads it: plain values, no model instances (making
    100 000 of those, with their relations, cost more than the database did)."""

    fields: dict
    url: str
    # Primary keys of the row's terms, in each list's own order (Labels has their words).
    goals: list[int] = dc_field(default_factory=list)
    targets: list[int] = dc_field(default_factory=list)
    purposes: list[int] = dc_field(default_factory=list)
    actor_types: list[int] = dc_field(default_factory=list)
    focus_areas: list[int] = dc_field(default_factory=list)
    tags: list[str] = dc_field(default_factory=list)
    partners: list[tuple[str, str, str]] = dc_field(default_factory=list)  # role, name, number
    links: list[tuple[str, str]] = dc_field(default_factory=list)  # title, address
    adoptions: int = 0


@dataclass(frozen=True)
class Column:
    key: str
    description: Promise
    value: Callable[[Row, "Labels"], object]
    # Whether the import reads it (the rest are for people, or set by the bank).
    imported: bool = True


class Labels:
    """The codes and words of the terms in the active language, worked out once per file:
    a row then only looks them up (a term's `name` asks for the active language on every
    read, which for 100 000 rows cost more than the rest of the row)."""

    def __init__(self) -> None:
        self.phase = {code: str(label) for code, label in Initiative.Phase.choices}
        self.scope = {code: str(label) for code, label in Scope.choices}
        self.involvement = {code: str(label) for code, label in Initiative.Involvement.choices}
        self.timezone = timezone.get_current_timezone()
        goals = list(Goal.objects.all())
        targets = list(Target.objects.all())
        named = {name: list(TERMS[name][0].objects.all()) for name in NAMED_TERMS}
        # Each term's position in its list's own order (goal 2 before 12, 12.2 before 12.10).
        self.rank = {
            name: {term.pk: rank for rank, term in enumerate(terms)}
            for name, terms in {"goals": goals, "targets": targets, **named}.items()
        }
        # What the import reads (numbers, codes, slugs) and what people read, by primary key.
        self.code = {
            "goals": {goal.pk: str(goal.number) for goal in goals},
            "targets": {target.pk: str(target.code) for target in targets},
            **{name: {t.pk: str(t.slug) for t in terms} for name, terms in named.items()},
        }
        self.label = {
            "goals": {goal.pk: str(goal) for goal in goals},
            **{name: {t.pk: str(t.name) for t in terms} for name, terms in named.items()},
        }


def _labels(values: list[str]) -> str:
    return f"{LIST_SEPARATOR} ".join(values)


def _date(value) -> str:
    return value.isoformat() if value else ""


def partner_line(role: str, name: str, number: str) -> str:
    return f"{role}: {name}" + (f" [{number}]" if number else "")


def link_line(title: str, url: str) -> str:
    return f"{title} <{url}>"


def _field(name: str) -> Callable[[Row, Labels], object]:
    return lambda row, labels: row.fields[name] or ""


def _term_codes(name: str) -> Callable[[Row, Labels], str]:
    def value(row: Row, labels: Labels) -> str:
        codes = labels.code[name]
        return LIST_SEPARATOR.join([codes[pk] for pk in getattr(row, name)])

    return value


def _term_labels(name: str) -> Callable[[Row, Labels], str]:
    def value(row: Row, labels: Labels) -> str:
        words = labels.label[name]
        return f"{LIST_SEPARATOR} ".join([words[pk] for pk in getattr(row, name)])

    return value


def _published(row: Row, labels: Labels) -> str:
    moment = row.fields["published_at"]
    return moment.astimezone(labels.timezone).isoformat(timespec="seconds") if moment else ""


COLUMNS: tuple[Column, ...] = (
    Column("id", _("The initiative's number in the bank."), _field("pk"), imported=False),
    Column(
        "slug", _("The last part of its address; made from the title when empty."), _field("slug")
    ),  # fmt: skip
    Column("url", _("Its page."), lambda r, labels: r.url, imported=False),
    Column("title", _("Title (required)."), _field("title")),
    Column("language", _("The language of the text: nb or en."), _field("language")),
    Column("summary", _("One or two sentences (required)."), _field("summary")),
    Column("description", _("Description (required)."), _field("description")),
    Column("phase", _("Phase: idea, pre_project, pilot, running or completed."), _field("phase")),
    Column(
        "phase_label",
        _("The phase in words."),
        lambda r, labels: labels.phase.get(r.fields["phase"], ""),
        imported=False,
    ),  # fmt: skip
    Column(
        "goals",
        _("Sustainable Development Goals by number, separated by semicolons (at least one)."),
        _term_codes("goals"),
    ),  # fmt: skip
    Column(
        "goals_label",
        _("The goals in words."),
        _term_labels("goals"),
        imported=False,
    ),  # fmt: skip
    Column(
        "targets",
        _("SDG targets by code (12.3), separated by semicolons."),
        _term_codes("targets"),
    ),  # fmt: skip
    Column(
        "purposes",
        _(
            "Purposes of collaboration by their short name (slug), separated by semicolons (at least one)."
        ),
        _term_codes("purposes"),
    ),  # fmt: skip
    Column(
        "purposes_label",
        _("The purposes in words."),
        _term_labels("purposes"),
        imported=False,
    ),  # fmt: skip
    Column(
        "actor_types",
        _("Actor types by slug, separated by semicolons."),
        _term_codes("actor_types"),
    ),  # fmt: skip
    Column(
        "actor_types_label",
        _("The actor types in words."),
        _term_labels("actor_types"),
        imported=False,
    ),  # fmt: skip
    Column(
        "focus_areas",
        _("Focus areas by slug, separated by semicolons."),
        _term_codes("focus_areas"),
    ),  # fmt: skip
    Column(
        "focus_areas_label",
        _("The focus areas in words."),
        _term_labels("focus_areas"),
        imported=False,
    ),  # fmt: skip
    Column("tags", _("Tags, separated by semicolons."), lambda r, labels: _labels(r.tags)),
    Column(
        "scope",
        _(
            "Scope: local (with a municipality), regional (with a county), national or nordic (required)."
        ),
        _field("scope"),
    ),  # fmt: skip
    Column(
        "scope_label",
        _("The scope in words."),
        lambda r, labels: labels.scope.get(r.fields["scope"], ""),
        imported=False,
    ),  # fmt: skip
    Column(
        "municipality", _("Municipality number (0301) or name."), _field("municipality__number")
    ),  # fmt: skip
    Column(
        "municipality_name",
        _("The municipality's name (read when the number is empty)."),
        _field("municipality__name"),
    ),  # fmt: skip
    Column("county", _("County number (03) or name."), _field("county__number")),
    Column(
        "county_name",
        _("The county's name (read when the number is empty)."),
        _field("county__name"),
    ),  # fmt: skip
    Column(
        "lead_organisation",
        _("The lead organisation's name (required, an organisation in the bank)."),
        _field("lead_organisation__name"),
    ),  # fmt: skip
    Column(
        "lead_organisation_number",
        _("Its organisation number; when given, it decides."),
        _field("lead_organisation__organisation_number"),
    ),  # fmt: skip
    Column(
        "partners",
        _(
            "One per line: role (partner, resource_group or funder), a colon, the organisation's name, and its organisation number in brackets if it has one."
        ),
        lambda r, labels: LINE_SEPARATOR.join(partner_line(*p) for p in r.partners),
    ),  # fmt: skip
    Column(
        "involvement",
        _(
            "Involvement level (OECD): communication, consultation, participation, representation, partnership or co_production."
        ),
        _field("involvement"),
    ),  # fmt: skip
    Column(
        "involvement_label",
        _("The involvement level in words."),
        lambda r, labels: labels.involvement.get(r.fields["involvement"], ""),
        imported=False,
    ),  # fmt: skip
    Column("frame_goals", _("Goals of the collaboration."), _field("frame_goals")),
    Column("frame_roles", _("Roles and responsibilities."), _field("frame_roles")),
    Column("frame_financing", _("Financing."), _field("frame_financing")),
    Column("frame_expected_results", _("Expected results."), _field("frame_expected_results")),
    Column("frame_indicators", _("Indicators."), _field("frame_indicators")),
    Column("frame_effect_shown", _("Where the effect is shown."), _field("frame_effect_shown")),
    Column("results", _("Results."), _field("results")),
    Column("lessons", _("Lessons learned."), _field("lessons")),
    Column(
        "transfer_value",
        _("Transfer value: what others need to know to do the same."),
        _field("transfer_value"),
    ),  # fmt: skip
    Column("contact_name", _("Contact person."), _field("contact_name")),
    Column("contact_role", _("The contact person's role."), _field("contact_role")),
    Column(
        "links",
        _("One per line: the title, then the address in angle brackets."),
        lambda r, labels: LINE_SEPARATOR.join(link_line(*link) for link in r.links),
    ),  # fmt: skip
    Column(
        "start_date", _("Start date, YYYY-MM-DD."), lambda r, labels: _date(r.fields["start_date"])
    ),  # fmt: skip
    Column(
        "end_date", _("End date, YYYY-MM-DD."), lambda r, labels: _date(r.fields["end_date"])
    ),  # fmt: skip
    Column(
        "published_at", _("When it was published (set by the bank)."), _published, imported=False
    ),  # fmt: skip
    Column(
        "adoptions",
        _("How many organisations have reported taking it up."),
        lambda r, labels: r.adoptions,
        imported=False,
    ),  # fmt: skip
)
HEADER = [column.key for column in COLUMNS]
# What a row reads of the initiative itself (and its lead and place), in one query.
FIELDS = (
    "pk", "slug", "title", "language", "summary", "description", "phase", "scope",
    "involvement", "frame_goals", "frame_roles", "frame_financing", "frame_expected_results",
    "frame_indicators", "frame_effect_shown", "results", "lessons", "transfer_value",
    "contact_name", "contact_role", "start_date", "end_date", "published_at",
    "municipality__number", "municipality__name", "county__number", "county__name",
    "lead_organisation__name", "lead_organisation__organisation_number",
)  # fmt: skip
TERMS = {
    "goals": (Goal, "goal_id"),
    "targets": (Target, "target_id"),
    "purposes": (Purpose, "purpose_id"),
    "actor_types": (ActorType, "actortype_id"),
    "focus_areas": (FocusArea, "focusarea_id"),
}
# The terms with a slug and a name in two languages.
NAMED_TERMS = ("purposes", "actor_types", "focus_areas")


def among(ids: list[int]):
    """`ids` for a `field__in=` filter. On PostgreSQL one array parameter
    (`IN (SELECT unnest(%s))`) rather than one parameter per id: building, quoting and
    parsing 1 000 parameters for each of a chunk's nine queries cost the export more
    Python time than the database spent answering them."""
    if connection.vendor == "postgresql":
        # An array literal ('{1,2,3}'): psycopg would check every element of a list.
        return RawSQL("SELECT unnest(%s::bigint[])", ("{" + ",".join(map(str, ids)) + "}",))
    return ids


class Reader:
    """Reads rows CHUNK at a time in nine queries each (the initiatives, five kinds of
    terms, tags, partners, links), however many rows a chunk holds; the terms
    themselves (goals, purposes, ...) once per file, by Labels."""

    def __init__(self, labels: Labels) -> None:
        self.rank = labels.rank
        # Every row's address is this with its slug in the middle (reverse() once, not per row).
        self.url_start, self.url_end = (
            f"{settings.SITE_URL}{reverse('initiatives:detail', args=['SLUG'])}".split("SLUG")
        )  # fmt: skip
        self.tag_type = ContentType.objects.get_for_model(Initiative)

    def rows(self, ids: list[int]) -> list[Row]:
        url_start, url_end = self.url_start, self.url_end
        found = {
            values["pk"]: Row(values, f"{url_start}{values['slug']}{url_end}")
            for values in Initiative.objects.published().filter(pk__in=among(ids)).values(*FIELDS)
        }
        chosen = among(list(found))
        for name, (_model, key) in TERMS.items():
            through = getattr(Initiative, name).through.objects.filter(initiative_id__in=chosen)
            for initiative_id, term_id in through.values_list("initiative_id", key):
                getattr(found[initiative_id], name).append(term_id)
            rank = self.rank[name].__getitem__
            for row in found.values():
                terms = getattr(row, name)
                if len(terms) > 1:
                    terms.sort(key=rank)
        tags = TaggedItem.objects.filter(content_type=self.tag_type, object_id__in=chosen)
        for initiative_id, tag in tags.values_list("object_id", "tag__name"):
            found[initiative_id].tags.append(tag)
        for row in found.values():
            if len(row.tags) > 1:
                row.tags.sort(key=str.lower)
        partners = (
            Participation.objects.filter(initiative_id__in=chosen)
            .order_by("role", "organisation__name", "pk")
            .values_list(
                "initiative_id", "role", "organisation__name", "organisation__organisation_number"
            )  # fmt: skip
        )
        for initiative_id, *partner in partners:
            found[initiative_id].partners.append(tuple(partner))
        links = InitiativeLink.objects.filter(initiative_id__in=chosen).order_by("position", "pk")
        for initiative_id, title, url in links.values_list("initiative_id", "title", "url"):
            found[initiative_id].links.append((title, url))
        return [found[pk] for pk in ids if pk in found]


def chunks_of(listing: Listing, sort: str, labels: Labels) -> Iterator[list[Row]]:
    """The listing's initiatives in `sort` order, CHUNK rows at a time.

    The ids are taken once, up front (at most a few MB for the whole bank): one
    consistent list even if the catalogue changes while the file is written, and one
    pass over the engine's order rather than one per chunk.
    """
    ids = listing.page_ids(sort, 0, listing.total)
    reader = Reader(labels)
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        totals = listing.engine.adoption_totals(chunk)
        rows = reader.rows(chunk)
        for row in rows:
            row.adoptions = totals[row.fields["pk"]]
        yield rows


def rows_of(listing: Listing, sort: str, labels: Labels) -> Iterator[Row]:
    for rows in chunks_of(listing, sort, labels):
        yield from rows


VALUES = tuple(column.value for column in COLUMNS)


def row_values(row: Row, labels: Labels) -> list[object]:
    return [value(row, labels) for value in VALUES]


def filename(extension: str) -> str:
    """A dated name in the active language: idebanken-tiltak-2026-12-06.csv."""
    name = "-".join(
        [
            slugify_nb(settings.SITE_NAME),
            slugify_nb(gettext("initiatives")),
            timezone.localdate().isoformat(),
        ]  # fmt: skip
    )
    return f"{name}.{extension}"


def csv_lines(listing: Listing, sort: str, language: str) -> Iterator[str]:
    """The CSV file as the rows are read, a chunk of rows (a MB or two) at a time (for a
    StreamingHttpResponse: one write to the client per chunk, not per row). The rows'
    labels in `language`: the response is read after the view has returned."""
    with translation.override(language):
        labels = Labels()
        yield BOM + csv.writer(Echo(), delimiter=CSV_DELIMITER).writerow(HEADER)
        for rows in chunks_of(listing, sort, labels):
            text = io.StringIO()
            csv.writer(text, delimiter=CSV_DELIMITER).writerows(
                [guarded_row(row_values(row, labels)) for row in rows]
            )
            yield text.getvalue()


def xlsx_file(listing: Listing, sort: str):
    """The XLSX file in a temporary file (deleted when closed), at its start.

    openpyxl's write-only workbook keeps only the row being written in memory; the
    temporary file is this request's alone and gone when the response is closed.
    """
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(gettext("Initiatives"))
    bold = Font(bold=True)
    sheet.append([_bold_cell(sheet, key, bold) for key in HEADER])
    labels = Labels()
    for row in rows_of(listing, sort, labels):
        values = row_values(row, labels)
        # An empty text is left out (None) rather than written as an empty cell: it reads
        # back the same (as None) and saves openpyxl a quarter of its work.
        sheet.append(
            [(xlsx_text(value) or None) if type(value) is str else value for value in values]
        )
    about = workbook.create_sheet(gettext("Columns"))
    titles = [gettext("Column"), gettext("Meaning"), gettext("Imported")]
    about.append([_bold_cell(about, title, bold) for title in titles])
    for column in COLUMNS:
        about.append(
            [
                column.key,
                str(column.description),
                gettext("yes") if column.imported else gettext("no"),
            ]  # fmt: skip
        )
    file = tempfile.TemporaryFile(suffix=".xlsx")  # noqa: SIM115  (closed by the response)
    workbook.save(file)
    file.seek(0)
    return file


def _bold_cell(sheet, value: str, font: Font) -> WriteOnlyCell:
    cell = WriteOnlyCell(sheet, value=value)
    cell.font = font
    return cell


XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_TYPE = "text/csv; charset=utf-8"


# A file of the whole bank keeps a sync worker busy for seconds to a minute (measure with
# `manage.py export_benchmark`): a few at once take every worker. So each client address
# may ask for this many per hour; the initiative exports (CSV and XLSX) count together.
EXPORTS_PER_IP = Limit("export-ip", limit=30, window=60 * 60)


def limited(request: HttpRequest, limit: Limit, back_url: str) -> HttpResponse:
    """The answer to an export asked for too often: 429, how long to wait (also as
    Retry-After), and a link back to the list it came from."""
    minutes = limit.minutes_left()
    message = ngettext(
        "This address has asked for too many downloads in a short time. Wait %(minutes)d minute and try again.",
        "This address has asked for too many downloads in a short time. Wait %(minutes)d minutes and try again.",
        minutes,
    ) % {"minutes": minutes}  # fmt: skip
    context = {"message": message, "back_url": back_url}
    response = render(request, "export_limited.html", context, status=429)
    response["Retry-After"] = str(limit.seconds_left())
    return response


def refused(request: HttpRequest) -> HttpResponse | None:
    """Count one initiative export for the client's address: the 429 answer when it has
    had its EXPORTS_PER_IP, with a link back to the list in the same state; else None."""
    if not EXPORTS_PER_IP.too_many(client_ip(request)):
        return None
    back = reverse("initiatives:list")
    if request.GET:
        back = f"{back}?{request.GET.urlencode()}"
    return limited(request, EXPORTS_PER_IP, back)
