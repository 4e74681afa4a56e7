"""The moderators' bulk import: a dry run that writes nothing, errors with suggestions,
one transaction, the moderation moves and history, and an export that imports again
without loss."""

import csv
import io
import re

import pytest
from django.core.management import call_command
from django.db.models import F, Value
from django.db.models.functions import Concat
from django.urls import reverse
from openpyxl import Workbook, load_workbook
from reversion.models import Version

from ideabank.models import OutgoingMail
from initiatives import engine, exports, imports
from initiatives.models import Initiative, InitiativeStatusChange, Municipality
from tests.factories import confirmed, make_moderator, make_organisation, make_user

pytestmark = pytest.mark.django_db

Status = Initiative.Status
HEADER = ["title", "summary", "description", "goals", "purposes", "scope", "municipality",
          "lead_organisation", "lead_organisation_number", "partners", "links", "tags"]  # fmt: skip


def csv_file(*rows: dict, header=HEADER) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=header, delimiter=";")
    writer.writeheader()
    for row in rows:
        writer.writerow(row)
    return ("\ufeff" + out.getvalue()).encode()


def good_row(**overrides) -> dict:
    return {
        "title": "Matsvinn i barnehager",
        "summary": "Mindre matsvinn.",
        "description": "Vi veier maten.",
        "goals": "12;2",
        "purposes": "across-sectors",
        "scope": "local",
        "municipality": "Bærum",
        "lead_organisation": "Grønn kommune",
        **overrides,
    }


@pytest.fixture
def lead():
    return make_organisation(name="Grønn kommune", organisation_number="974760673")


@pytest.fixture
def submitter():
    return confirmed(make_moderator(username="importer"))


@pytest.fixture
def reviewer():
    return confirmed(make_moderator(username="reviewer"))


def test_dry_run_reports_what_would_be_created_and_writes_nothing(lead):
    before = Initiative.objects.count(), Version.objects.count()

    run = imports.dry_run("tiltak.csv", csv_file(good_row()))

    assert run.ok
    assert [(row.line, row.title, row.errors) for row in run.rows] == [
        (2, "Matsvinn i barnehager", [])
    ]
    assert run.rows[0].fields["slug"] == "matsvinn-i-barnehager"
    assert run.rows[0].fields["municipality"] == Municipality.objects.get(name="Bærum")
    assert (Initiative.objects.count(), Version.objects.count()) == before


def test_errors_name_the_problem_with_suggestions(lead):
    make_organisation(name="Asker kommune")
    row = good_row(
        goals="12;18",
        municipality="Barum",
        lead_organisation="Asker kommun",
        purposes="across-sectors;nonsense",
        links="Rapport <not a url>",
        scope="",
    )

    run = imports.dry_run("tiltak.csv", csv_file(row))

    errors = run.rows[0].errors
    assert not run.ok
    assert "Unknown goal “18”: goals are numbered 1 to 17." in errors
    assert "The organisation “Asker kommun” was not found. Did you mean “Asker kommune”?" in errors
    assert any(e.startswith("The municipality “Barum” was not found. Did you mean “Bærum") for e in errors)  # fmt: skip
    assert any(e.startswith("The purpose “nonsense” was not found.") for e in errors)
    assert "“Rapport <not a url>” is not a web address (https://…)." in errors


def test_names_match_whatever_the_case_and_accents_and_numbers_decide(lead):
    row = good_row(
        municipality="BAERUM",
        lead_organisation="Some other name",
        lead_organisation_number="974760673",
        partners="funder: grønn KOMMUNE",
    )

    run = imports.dry_run("tiltak.csv", csv_file(row))

    assert run.rows[0].fields["municipality"].name == "Bærum"
    assert run.rows[0].fields["lead_organisation"] == lead
    # The lead cannot be a partner too.
    assert run.rows[0].errors == ["“Grønn kommune” is named twice among the lead and the partners."]  # fmt: skip


def test_duplicates_in_the_bank_and_in_the_file_are_errors(lead, submitter):
    imports.import_rows(imports.dry_run("a.csv", csv_file(good_row())), submitter=submitter)

    run = imports.dry_run(
        "b.csv", csv_file(good_row(), good_row(title="Nytt"), good_row(title="Nytt"))
    )

    assert run.rows[0].errors == ["An initiative with this title is already in the bank."]
    assert run.rows[1].errors == []
    assert run.rows[2].errors == ["Another row of the file has the same title."]


def test_incomplete_rows_say_what_review_needs(lead):
    run = imports.dry_run("tiltak.csv", csv_file(good_row(summary="", goals="", purposes="")))

    assert run.rows[0].errors == [
        str(Initiative.REVIEW_NEEDS["summary"]),
        str(Initiative.REVIEW_NEEDS["purposes"]),
        str(Initiative.REVIEW_NEEDS["goals"]),
    ]


def test_import_creates_submitted_initiatives_with_history(lead, submitter):
    partner = make_organisation(name="Miljøfyrtårn")
    row = good_row(
        partners="resource_group: Miljøfyrtårn",
        links="Rapport <https://example.org/rapport>",
        tags="matsvinn; barnehage",
    )

    [initiative] = imports.import_rows(
        imports.dry_run("tiltak.csv", csv_file(row)), submitter=submitter
    )

    initiative.refresh_from_db()
    assert initiative.status == Status.SUBMITTED
    assert initiative.submitted_by == submitter
    assert initiative.created_by is None
    assert sorted(g.number for g in initiative.goals.all()) == [2, 12]
    assert [(p.organisation, p.role) for p in initiative.participations.all()] == [(partner, "resource_group")]  # fmt: skip
    assert [(link.title, link.url) for link in initiative.links.all()] == [("Rapport", "https://example.org/rapport")]  # fmt: skip
    assert sorted(initiative.tags.names()) == ["barnehage", "matsvinn"]
    change = InitiativeStatusChange.objects.get(initiative=initiative)
    assert (change.to_status, change.changed_by, change.note) == ("submitted", submitter, "Imported from tiltak.csv")  # fmt: skip
    assert list(
        Version.objects.get_for_object(initiative).values_list(
            "revision__comment", "revision__user"
        )
    ) == [("submit", submitter.pk), ("created", submitter.pk)]


def test_the_uploader_may_not_publish_what_they_import(lead, submitter):
    run = imports.dry_run("tiltak.csv", csv_file(good_row()), publish=True)

    with pytest.raises(imports.ImportRefused, match="another moderator must decide"):
        imports.import_rows(run, submitter=submitter, publisher=submitter)

    assert not Initiative.objects.exists()


def test_another_moderator_publishes_and_the_public_list_has_it(client, lead, submitter, reviewer):
    run = imports.dry_run("tiltak.csv", csv_file(good_row(), good_row(title="To")), publish=True)

    imports.import_rows(run, submitter=submitter, publisher=reviewer)

    assert list(Initiative.objects.values_list("status", flat=True)) == ["published"] * 2
    assert client.get("/tiltak/?goal=12").context["paginator"].count == 2
    # No mail per row: neither "submitted" to the moderators nor "published" to the uploader.
    assert not OutgoingMail.objects.exists()


def test_one_refused_row_imports_nothing(lead, submitter, reviewer):
    proposed = make_organisation(name="Foreslått", status="proposed")
    run = imports.dry_run("tiltak.csv", csv_file(good_row(), good_row(title="To", lead_organisation=proposed.name)))  # fmt: skip
    assert run.ok  # only publishing needs an approved lead

    with pytest.raises(imports.ImportRefused, match="Approve the organisation"):
        imports.import_rows(run, submitter=submitter, publisher=reviewer)

    assert not Initiative.objects.exists()
    assert not InitiativeStatusChange.objects.exists()


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("tiltak.csv", b"", "The file is empty."),
        ("tiltak.csv", b"name;summary\nx;y\n", "The first row must name the columns"),
        ("tiltak.pdf", b"%PDF-1.4 \x00\x01", "Choose a CSV or XLSX file."),
        ("tiltak.csv", b"title\x00\x01\x02", "This is not a CSV file"),
        ("tiltak.xlsx", b"PK\x03\x04garbage", "This XLSX file could not be read."),
        (
            "tiltak.csv",
            b"title\n" + b"x\n" * (imports.MAX_BYTES // 2 + 1),
            "The file is larger than 5 MB.",
        ),
        (
            "tiltak.csv",
            b"title\n" + b"".join(b"t%d\n" % n for n in range(imports.MAX_ROWS + 1)),
            "The file has more than 500 initiatives",
        ),
    ],
)
def test_files_that_cannot_be_read_get_a_clear_message(name, data, message):
    with pytest.raises(imports.ImportFileError) as error:
        imports.read_table(name, data)

    assert str(error.value).startswith(message)


def test_a_cp1252_csv_with_commas_is_read(lead):
    data = csv_file(good_row()).decode("utf-8-sig").replace(";", ",").replace("across-sectors", "across-sectors").encode("cp1252")  # fmt: skip

    run = imports.dry_run("excel.csv", data)

    assert run.rows[0].fields["municipality"].name == "Bærum"
    assert run.rows[0].errors == []


def test_an_xlsx_with_numbers_and_dropped_zeros_is_read(lead):
    workbook = Workbook()
    sheet = workbook.active
    sheet.append([*HEADER, "start_date"])
    values = good_row(municipality=219)  # Bærum is 3024 now; 0219 was its old number
    values["municipality"] = int(Municipality.objects.get(name="Bærum").number)
    values["goals"] = 12
    sheet.append([values.get(name, "") for name in HEADER] + [None])
    out = io.BytesIO()
    workbook.save(out)

    run = imports.dry_run("tiltak.xlsx", out.getvalue())

    assert run.rows[0].errors == []
    assert run.rows[0].fields["municipality"].name == "Bærum"
    assert [g.number for g in run.rows[0].relations["goals"]] == [12]


# --- The admin pages ---------------------------------------------------------------------------


def upload(client, data: bytes, name: str = "tiltak.csv"):
    file = io.BytesIO(data)
    file.name = name
    return client.post(reverse("admin:initiatives_initiative_import"), {"file": file})


def test_admin_upload_check_and_confirm(client, lead, submitter):
    client.force_login(submitter)

    response = upload(client, csv_file(good_row()))
    check = client.get(response["Location"])
    token = check.context["form"].initial["token"]
    assert Initiative.objects.count() == 0
    confirm = client.post(reverse("admin:initiatives_initiative_import_confirm"), {"token": token})

    assert response.status_code == 302
    assert "Would create it (address: matsvinn-i-barnehager)" in check.content.decode()
    assert check.context["may_publish"] is False
    assert confirm.status_code == 302
    assert Initiative.objects.get().status == Status.SUBMITTED
    # The file is gone once imported: the same token cannot import twice.
    again = client.post(reverse("admin:initiatives_initiative_import_confirm"), {"token": token})
    assert again.status_code == 302
    assert Initiative.objects.count() == 1


def test_admin_publish_is_for_another_moderator(client, lead, submitter, reviewer):
    client.force_login(submitter)
    location = upload(client, csv_file(good_row()))["Location"]
    token = client.get(location).context["form"].initial["token"]
    # The uploader ticking "publish" still only submits.
    client.force_login(reviewer)

    page = client.get(location)
    client.post(
        reverse("admin:initiatives_initiative_import_confirm"), {"token": token, "publish": "on"}
    )

    assert page.context["may_publish"] is True
    initiative = Initiative.objects.get()
    assert (initiative.status, initiative.submitted_by) == (Status.PUBLISHED, submitter)
    assert initiative.status_changes.first().changed_by == reviewer


def test_admin_shows_errors_for_garbage_and_keeps_nothing(client, submitter):
    client.force_login(submitter)

    response = upload(client, b"\x89PNG\r\n\x1a\n\x00\x00", "bilde.png")

    assert response.status_code == 400
    assert response.context["form"].errors["file"] == ["This is not a CSV file (it holds binary data)."]  # fmt: skip


def test_admin_a_forged_token_is_refused(client, submitter):
    client.force_login(submitter)

    response = client.get(reverse("admin:initiatives_initiative_import_check") + "?token=imports/x")

    assert response.status_code == 302
    assert response["Location"] == reverse("admin:initiatives_initiative_import")


def test_admin_import_is_for_moderators_only(client):
    staff = make_user(is_staff=True)
    client.force_login(staff)

    assert client.get(reverse("admin:initiatives_initiative_import")).status_code == 403
    client.logout()
    response = client.get(reverse("admin:initiatives_initiative_import"))
    assert response.status_code == 302
    assert "/login/" in response["Location"]


def test_admin_changelist_links_the_import(client, submitter):
    client.force_login(submitter)

    html = client.get(reverse("admin:initiatives_initiative_changelist")).content.decode()

    assert f'href="{reverse("admin:initiatives_initiative_import")}"' in html


def test_admin_confirm_is_post_only(client, submitter):
    client.force_login(submitter)

    assert client.get(reverse("admin:initiatives_initiative_import_confirm")).status_code == 405


# --- Round trip: export, import, export again ---------------------------------------------------

VOLATILE = {"id", "published_at", "adoptions"}


def exported(client, kind: str) -> tuple[bytes, dict[str, dict]]:
    response = client.get(f"/tiltak/eksport.{kind}")
    body = b"".join(response.streaming_content)
    if kind == "csv":
        rows = list(csv.DictReader(io.StringIO(body.decode("utf-8-sig")), delimiter=";"))
    else:
        sheet = load_workbook(io.BytesIO(body), read_only=True).worksheets[0]
        header, *records = sheet.iter_rows(values_only=True)
        rows = [dict(zip(header, ("" if v is None else str(v) for v in r), strict=True)) for r in records]  # fmt: skip
    return body, {row["slug"]: {k: v for k, v in row.items() if k not in VOLATILE} for row in rows}


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_the_demo_data_survives_export_and_import(client, kind, submitter, reviewer):
    call_command("load_demo_data", verbosity=0)
    body, before = exported(client, kind)
    assert len(before) >= 10
    # The originals step aside: archived, under other titles and addresses.
    originals = Initiative.objects.filter(status=Status.PUBLISHED)
    originals.update(
        status=Status.ARCHIVED,
        title=Concat(F("title"), Value(" (original)")),
        slug=Concat(F("slug"), Value("-original")),
    )
    engine.everything_changed()

    run = imports.dry_run(f"export.{kind}", body, publish=True)
    assert [(row.line, row.errors) for row in run.rows if row.errors] == []
    imports.import_rows(run, submitter=submitter, publisher=reviewer)
    _body, after = exported(client, kind)

    assert after == before


def test_the_export_header_is_the_import_template():
    assert {c.key for c in exports.COLUMNS if c.imported} <= imports.KNOWN_COLUMNS
    assert re.fullmatch(r"[a-z_]+", "".join(exports.HEADER))
