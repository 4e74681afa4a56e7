"""Progress reports: the lead organisation's members report on a published initiative."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.contrib.contenttypes.models import ContentType
from django.contrib.messages import get_messages
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone
from reversion.models import Version

from initiatives.engine import engine
from initiatives.models import (
    IndicatorResult,
    Initiative,
    InitiativeStatusChange,
    OrganisationMember,
    ProgressReport,
)
from tests.factories import (
    confirmed,
    make_confirmed_user,
    make_initiative,
    make_moderator,
    make_org_member,
    make_organisation,
    make_user,
)

pytestmark = pytest.mark.django_db

Status = Initiative.Status
Phase = Initiative.Phase
ReportStatus = ProgressReport.Status


def create_url(initiative: Initiative) -> str:
    return reverse("initiatives:report_create", args=[initiative.slug])


def edit_url(report: ProgressReport) -> str:
    return reverse("initiatives:report_edit", args=[report.initiative.slug, report.pk])


def notices(response) -> list[str]:
    return [message.message for message in get_messages(response.wsgi_request)]


def make_report(initiative: Initiative, **overrides) -> ProgressReport:
    defaults = {
        "phase": initiative.phase,
        "status": ReportStatus.ON_TRACK,
        "done": "Vi veide matsvinnet i fire uker.",
    }
    return ProgressReport.objects.create(initiative=initiative, **{**defaults, **overrides})


def report_data(rows: list[dict] | None = None, initial_rows: int = 0, **fields) -> dict:
    """A POST of the report form: its fields, then the indicator rows (`initial_rows` of them
    saved ones, which must carry their id)."""
    rows = rows or []
    data = {
        "reported_on": timezone.localdate().isoformat(),
        "status": ReportStatus.ON_TRACK,
        "phase": Phase.RUNNING,
        "done": "Vi veide matsvinnet i fire uker.",
        "results": "",
        "lessons": "",
        "language": "nb",
        "indicators-TOTAL_FORMS": str(len(rows)),
        "indicators-INITIAL_FORMS": str(initial_rows),
        "indicators-MIN_NUM_FORMS": "0",
        "indicators-MAX_NUM_FORMS": "30",
        **fields,
    }
    for index, row in enumerate(rows):
        for name, value in row.items():
            data[f"indicators-{index}-{name}"] = value
    return data


@pytest.fixture
def initiative(organisation):
    return make_initiative(
        status=Status.PUBLISHED,
        lead_organisation=organisation,
        phase=Phase.RUNNING,
        title="Matsvinn i barnehagen",
        frame_indicators="- Kilo matsvinn per barn per uke\n• Antall barnehager med; Andel ombruk.",
    )


@pytest.fixture
def owner(organisation):
    """A confirmed, active member of the lead organisation."""
    return make_org_member(organisation=organisation, user=make_confirmed_user()).user


# --- Who may ------------------------------------------------------------------------------


def test_report_anonymous_sent_to_login(client, initiative):
    response = client.get(create_url(initiative))

    assert response.status_code == 302
    assert response.url.startswith(reverse("accounts:login"))
    assert ProgressReport.objects.count() == 0


def test_report_unconfirmed_member_refused_and_nothing_saved(client, initiative, organisation):
    member = make_org_member(organisation=organisation, user=make_user()).user
    client.force_login(member)

    response = client.post(create_url(initiative), report_data())

    assert response.status_code == 403
    assert "accounts/email_unconfirmed.html" in [t.name for t in response.templates]
    assert ProgressReport.objects.count() == 0


@pytest.mark.parametrize(
    "membership",
    ["other_organisation", "requested", "declined", "moderator", "partner"],
)
def test_report_refused_to_everyone_but_active_lead_members(
    client, initiative, organisation, membership
):
    user = make_confirmed_user()
    if membership == "other_organisation":
        make_org_member(user=user)
    elif membership == "requested":
        make_org_member(
            organisation=organisation, user=user, status=OrganisationMember.Status.REQUESTED
        )
    elif membership == "declined":
        make_org_member(
            organisation=organisation, user=user, status=OrganisationMember.Status.DECLINED
        )
    elif membership == "moderator":
        user = confirmed(make_moderator())
    else:
        partner = make_organisation()
        initiative.participations.create(organisation=partner)
        make_org_member(organisation=partner, user=user)
    report = make_report(initiative)
    client.force_login(user)

    responses = [
        client.get(create_url(initiative)),
        client.post(create_url(initiative), report_data()),
        client.post(edit_url(report), report_data(done="Overskrevet")),
    ]

    assert [response.status_code for response in responses] == [403, 403, 403]
    report.refresh_from_db()
    assert (ProgressReport.objects.count(), report.done) == (1, "Vi veide matsvinnet i fire uker.")


@pytest.mark.parametrize(
    "status", [Status.DRAFT, Status.SUBMITTED, Status.REJECTED, Status.ARCHIVED]
)
def test_report_on_an_unpublished_initiative_is_404(client, organisation, owner, status):
    initiative = make_initiative(status=status, lead_organisation=organisation)
    report = make_report(initiative)
    client.force_login(owner)

    responses = [
        client.get(create_url(initiative)),
        client.post(create_url(initiative), report_data()),
        client.get(edit_url(report)),
        client.post(edit_url(report), report_data()),
    ]

    assert [response.status_code for response in responses] == [404] * 4
    assert ProgressReport.objects.count() == 1


def test_report_of_another_initiative_is_404(client, initiative, owner, organisation):
    other = make_initiative(status=Status.PUBLISHED, lead_organisation=organisation)
    report = make_report(other)
    client.force_login(owner)

    response = client.get(reverse("initiatives:report_edit", args=[initiative.slug, report.pk]))

    assert response.status_code == 404


def test_reportable_by_is_the_published_initiatives_the_user_leads(initiative, owner):
    draft = make_initiative(lead_organisation=initiative.lead_organisation, created_by=owner)
    make_initiative(status=Status.PUBLISHED)

    reportable = Initiative.objects.reportable_by(owner)

    assert list(reportable) == [initiative]
    assert Initiative.objects.editable_by(owner).filter(pk=draft.pk).exists()


# --- Writing a report -------------------------------------------------------------------


def test_report_form_suggests_the_frame_and_last_report_indicators(client, initiative, owner):
    earlier = make_report(initiative, reported_on=date(2025, 3, 1))
    IndicatorResult.objects.create(report=earlier, indicator="Antall barn", unit="barn")
    IndicatorResult.objects.create(report=earlier, indicator="kilo matsvinn per barn per uke")
    client.force_login(owner)

    response = client.get(create_url(initiative))

    rows = response.context["rows"]
    assert [form.initial for form in rows.forms[:5]] == [
        {"indicator": "Kilo matsvinn per barn per uke"},
        {"indicator": "Antall barnehager med"},
        {"indicator": "Andel ombruk"},
        {"indicator": "Antall barn", "unit": "barn"},
        {},
    ]
    assert len(rows.forms) == 4 + 3
    assert response.context["form"]["phase"].value() == Phase.RUNNING


def test_owner_writes_a_report_with_figures(
    client, initiative, owner, django_capture_on_commit_callbacks
):
    initiative.note_owner_update(timezone.now() - timedelta(days=400))
    client.force_login(owner)
    before = timezone.now()
    rows = [
        {"indicator": "Kilo matsvinn per barn per uke", "value": "1,4", "unit": "kg", "note": ""},
        {"indicator": "Antall barnehager med", "value": "", "unit": "", "note": ""},
        {"indicator": "", "value": "", "unit": "", "note": ""},
    ]

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            create_url(initiative),
            report_data(rows, status=ReportStatus.DELAYED, lessons="Små porsjoner virker."),
        )

    report = ProgressReport.objects.get()
    assert response.status_code == 302
    assert response.url == f"{initiative.get_absolute_url()}#progress-reports"
    assert (report.initiative, report.status, report.written_by, report.lessons) == (
        initiative,
        ReportStatus.DELAYED,
        owner,
        "Små porsjoner virker.",
    )
    # The untouched suggestion and the empty row are left out.
    assert list(report.indicator_results.values_list("indicator", "value", "unit")) == [
        ("Kilo matsvinn per barn per uke", Decimal("1.40"), "kg")
    ]
    initiative.refresh_from_db()
    assert initiative.owner_updated_at >= before
    assert initiative.phase == Phase.RUNNING
    assert notices(response) == ["The progress report is published on the initiative's page."]


def test_report_phase_follows_as_a_recorded_edit(
    client, initiative, owner, moderator, django_capture_on_commit_callbacks, mailoutbox
):
    engine()
    versions = Version.objects.get_for_object(initiative).count()
    client.force_login(owner)

    with django_capture_on_commit_callbacks(execute=True):
        client.post(create_url(initiative), report_data(phase=Phase.COMPLETED))

    initiative.refresh_from_db()
    assert initiative.phase == Phase.COMPLETED
    change = InitiativeStatusChange.objects.filter(initiative=initiative).latest("pk")
    assert (change.changed_by, change.note) == (owner, "The phase changed with a progress report.")
    assert Version.objects.get_for_object(initiative).count() > versions
    assert Version.objects.get_for_object(initiative).first().revision.user == owner
    # Search and the facets see the new phase.
    listing = client.get("/tiltak/", {"phase": Phase.COMPLETED})
    assert [item.pk for item in listing.context["page_obj"]] == [initiative.pk]
    assert [mail.to for mail in mailoutbox] == [[moderator.email]]


def test_an_older_report_does_not_move_the_phase(client, initiative, owner):
    make_report(initiative, reported_on=timezone.localdate(), phase=Phase.RUNNING)
    client.force_login(owner)
    earlier = (timezone.localdate() - timedelta(days=30)).isoformat()

    client.post(create_url(initiative), report_data(reported_on=earlier, phase=Phase.PILOT))

    initiative.refresh_from_db()
    assert (ProgressReport.objects.count(), initiative.phase) == (2, Phase.RUNNING)


def test_owner_edits_a_report_and_removes_a_figure(client, initiative, owner):
    report = make_report(initiative)
    kept = IndicatorResult.objects.create(report=report, indicator="Kilo", value=Decimal("2"))
    removed = IndicatorResult.objects.create(report=report, indicator="Antall", value=Decimal("3"))
    client.force_login(owner)
    page = client.get(edit_url(report))
    loaded = page.context["form"]["loaded"].value()
    rows = [
        {"id": str(kept.pk), "indicator": "Kilo", "value": "1,5", "unit": "kg", "note": ""},
        {"id": str(removed.pk), "indicator": "Antall", "value": "3", "DELETE": "on"},
        {"indicator": "Nytt", "value": "7", "unit": "", "note": "Ny måling"},
    ]

    response = client.post(
        edit_url(report), report_data(rows, initial_rows=2, loaded=loaded, done="Endret tekst.")
    )

    assert response.status_code == 302
    report.refresh_from_db()
    assert report.done == "Endret tekst."
    assert list(report.indicator_results.values_list("indicator", "value", "note")) == [
        ("Kilo", Decimal("1.50"), ""),
        ("Nytt", Decimal("7.00"), "Ny måling"),
    ]
    assert notices(response) == ["The progress report is saved."]


def test_a_stale_edit_is_refused_and_keeps_what_was_typed(client, initiative, owner):
    report = make_report(initiative)
    client.force_login(owner)
    loaded = client.get(edit_url(report)).context["form"]["loaded"].value()
    # Someone else saves the report meanwhile.
    report.done = "Kollegaens versjon."
    report.save()

    response = client.post(edit_url(report), report_data(loaded=loaded, done="Min versjon."))

    report.refresh_from_db()
    assert response.status_code == 200
    assert report.done == "Kollegaens versjon."
    assert "Someone else saved this report after you opened it" in response.text
    assert response.context["form"]["done"].value() == "Min versjon."
    # Saving again, from the page that came back, replaces the newer version on purpose.
    again = response.context["form"]["loaded"].value()
    assert (
        client.post(edit_url(report), report_data(loaded=again, done="Min versjon.")).status_code
        == 302
    )
    report.refresh_from_db()
    assert report.done == "Min versjon."


# --- Bad input ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "rows", "field", "message"),
    [
        ({"done": ""}, [], "done", "Write what was done."),
        ({"status": ""}, [], "status", "Choose how the initiative is going."),
        ({"status": "great"}, [], "status", None),
        ({"phase": "whatever"}, [], "phase", None),
        ({"reported_on": "not a date"}, [], "reported_on", None),
        (
            {"reported_on": "2999-01-01"},
            [],
            "reported_on",
            "A report cannot be dated in the future.",
        ),
        ({"done": "x" * 10_001}, [], "done", "This can be at most 5000 characters (it has 10001)."),
        ({"language": "xx"}, [], "language", None),
    ],
)
def test_report_bad_input_is_refused_with_a_message(
    client, initiative, owner, fields, rows, field, message
):
    client.force_login(owner)

    response = client.post(create_url(initiative), report_data(rows, **fields))

    assert response.status_code == 200
    errors = response.context["form"].errors[field]
    assert errors
    if message:
        assert errors == [message]
    assert ProgressReport.objects.count() == 0


@pytest.mark.parametrize(
    ("row", "field", "message"),
    [
        ({"indicator": "Kilo", "value": "mange"}, "value", "Write a number, for example 12 or 12,5."),
        ({"indicator": "Kilo", "value": "1" * 20}, "value", "The number is too large."),
        ({"indicator": "Kilo", "value": "1,234"}, "value", "Write the number with at most two decimals."),
        ({"indicator": "", "value": "12"}, "indicator", "Name the indicator this figure is for."),
        ({"indicator": "x" * 201, "value": "1"}, "indicator", "This can be at most 200 characters (it has 201)."),
    ],
)  # fmt: skip
def test_a_bad_figure_saves_nothing(client, initiative, owner, row, field, message):
    client.force_login(owner)
    typed = {"done": "Alt dette skal komme tilbake.", "lessons": "Og dette."}

    response = client.post(create_url(initiative), report_data([row], **typed))

    assert response.status_code == 200
    assert response.context["rows"].forms[0].errors[field] == [message]
    assert (ProgressReport.objects.count(), IndicatorResult.objects.count()) == (0, 0)
    # Nothing typed is lost.
    form = response.context["form"]
    assert (form["done"].value(), form["lessons"].value()) == (typed["done"], typed["lessons"])
    assert message in response.text  # in the error summary too


@pytest.mark.parametrize(
    "fields", [{"lessons": "null\x00byte"}, {"indicators-0-indicator": "Kilo\x00"}]
)
def test_a_nul_byte_is_refused_with_400_and_nothing_saved(client, initiative, owner, fields):
    client.force_login(owner)
    data = report_data([{"indicator": "Kilo", "value": "1"}])
    data.update(fields)

    response = client.post(create_url(initiative), data)

    assert response.status_code == 400
    assert (ProgressReport.objects.count(), IndicatorResult.objects.count()) == (0, 0)


def test_figures_are_read_as_typed_in_either_language(client, initiative, owner):
    client.force_login(owner)
    typed = ["12,5", "12.5", "1 200,5", "1,200.5", "1.200,5", "-3"]
    rows = [{"indicator": f"Tall {n}", "value": value} for n, value in enumerate(typed)]

    client.post(create_url(initiative), report_data(rows))

    assert list(IndicatorResult.objects.order_by("pk").values_list("value", flat=True)) == [
        Decimal("12.5"),
        Decimal("12.5"),
        Decimal("1200.5"),
        Decimal("1200.5"),
        Decimal("1200.5"),
        Decimal("-3"),
    ]


def test_an_emptied_row_is_left_out_or_deleted(client, initiative, owner):
    report = make_report(initiative)
    emptied = IndicatorResult.objects.create(report=report, indicator="Kilo", value=Decimal("2"))
    client.force_login(owner)
    loaded = client.get(edit_url(report)).context["form"]["loaded"].value()
    rows = [{"id": str(emptied.pk), "indicator": "", "value": "", "unit": "", "note": ""}]

    response = client.post(edit_url(report), report_data(rows, initial_rows=1, loaded=loaded))

    assert response.status_code == 302
    assert IndicatorResult.objects.count() == 0


def test_a_forged_row_count_builds_no_more_than_the_limit(client, initiative, owner):
    client.force_login(owner)
    data = report_data()
    data["indicators-TOTAL_FORMS"] = "100000"

    response = client.post(create_url(initiative), data)

    assert response.status_code in (200, 302)
    assert IndicatorResult.objects.count() == 0


def test_report_text_is_shown_escaped(client, initiative, owner):
    client.force_login(owner)
    script = "<script>alert('x')</script>"
    rows = [{"indicator": f"<b>{script}</b>", "value": "1", "unit": "<i>kg</i>", "note": script}]

    client.post(create_url(initiative), report_data(rows, done=script, lessons=script))
    page = client.get(initiative.get_absolute_url())

    assert script not in page.text
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in page.text
    assert "<b>" not in page.text
    assert "<i>kg</i>" not in page.text


# --- The initiative's page ------------------------------------------------------------------


def test_initiative_page_shows_the_timeline_newest_first(client, initiative):
    old = make_report(initiative, reported_on=date(2025, 3, 3), done="Første runde.")
    new = make_report(
        initiative, reported_on=date(2026, 3, 3), status=ReportStatus.DELAYED, done="Andre runde."
    )
    IndicatorResult.objects.create(
        report=new, indicator="Kilo matsvinn", value=Decimal("1200.5"), unit="kg"
    )

    page = client.get(initiative.get_absolute_url())  # in English: see conftest

    assert page.context["progress_reports"] == [new, old]
    assert page.text.index("Andre runde.") < page.text.index("Første runde.")
    assert "Status: Delayed, as of March 3, 2026" in page.text
    assert "1,200.5" in page.text
    assert 'class="progress-timeline"' in page.text
    # Visitors get no links to write or change reports.
    assert create_url(initiative) not in page.text
    assert edit_url(new) not in page.text


def test_initiative_page_offers_writing_and_changing_to_the_owners_only(client, initiative, owner):
    report = make_report(initiative)
    outsider = make_org_member(user=make_confirmed_user()).user

    client.force_login(owner)
    mine = client.get(initiative.get_absolute_url())
    client.force_login(outsider)
    theirs = client.get(initiative.get_absolute_url())

    assert (create_url(initiative) in mine.text, edit_url(report) in mine.text) == (True, True)
    assert (create_url(initiative) in theirs.text, edit_url(report) in theirs.text) == (
        False,
        False,
    )


def test_without_reports_visitors_see_no_section_and_owners_an_invitation(
    client, initiative, owner
):
    anonymous = client.get(initiative.get_absolute_url())
    client.force_login(owner)
    mine = client.get(initiative.get_absolute_url())

    assert 'id="progress-reports"' not in anonymous.text
    assert 'id="progress-reports"' in mine.text
    assert create_url(initiative) in mine.text


def test_reports_of_an_unpublished_initiative_are_never_public(client, initiative):
    make_report(initiative, done="Hemmelig rapporttekst.")
    initiative.archive(by=None)

    page = client.get(initiative.get_absolute_url())
    listing = client.get("/tiltak/", {"q": "Hemmelig"})
    api = client.get(f"/api/v1/initiatives/{initiative.slug}/")

    assert page.status_code == 404
    assert "Hemmelig rapporttekst" not in listing.text
    assert api.status_code == 404


@pytest.mark.parametrize("reports", [1, 20])
@pytest.mark.parametrize("who", ["anonymous", "owner"])
def test_initiative_page_query_count_does_not_grow_with_reports(
    client, django_assert_num_queries, initiative, owner, reports, who
):
    for number in range(reports):
        report = make_report(initiative, reported_on=date(2025, 1, 1) + timedelta(days=number))
        for row in range(3):
            IndicatorResult.objects.create(report=report, indicator=f"Indikator {row}", value=row)
    if who == "owner":
        client.force_login(owner)
    ContentType.objects.get_for_model(Initiative)
    engine()
    client.get(initiative.get_absolute_url())  # warm: caches of related initiatives

    # Logged in, one of them is the follow button's (whether they follow it). One reads the
    # comments; logged in, two more: whether they own the page, whom they may write for.
    with django_assert_num_queries(16 if who == "anonymous" else 26):
        response = client.get(initiative.get_absolute_url())

    assert len(response.context["progress_reports"]) == reports
    assert len(response.context["progress_reports"][0].indicator_results.all()) == 3


def test_preview_shows_reports_without_links(client, initiative, owner):
    report = make_report(initiative, done="Synlig i forhåndsvisningen.")
    client.force_login(owner)

    response = client.get(reverse("initiatives:preview", args=[initiative.slug]))

    assert "Synlig i forhåndsvisningen." in response.text
    assert edit_url(report) not in response.text
    assert create_url(initiative) not in response.text


# --- The admin ------------------------------------------------------------------------------


def test_moderators_read_and_correct_reports_in_the_admin(client, initiative):
    moderator = make_moderator()
    report = make_report(initiative, done="Skrivefeil her.")
    IndicatorResult.objects.create(report=report, indicator="Kilo", value=Decimal("2"))
    client.force_login(moderator)

    listing = client.get(
        reverse("admin:initiatives_progressreport_changelist"), {"status": "on_track"}
    )
    search = client.get(reverse("admin:initiatives_progressreport_changelist"), {"q": "barnehagen"})
    change = client.get(reverse("admin:initiatives_progressreport_change", args=[report.pk]))
    initiative_page = client.get(
        reverse("admin:initiatives_initiative_change", args=[initiative.pk])
    )

    assert [r.pk for r in listing.context["cl"].result_list] == [report.pk]
    assert [r.pk for r in search.context["cl"].result_list] == [report.pk]
    assert change.status_code == 200
    assert "Kilo" in change.text
    assert (
        reverse("admin:initiatives_progressreport_change", args=[report.pk]) in initiative_page.text
    )
    assert moderator.has_perm("initiatives.change_progressreport")
    assert moderator.has_perm("initiatives.change_indicatorresult")


def test_moderators_correct_a_report_and_its_figures_in_the_admin(client, initiative):
    report = make_report(initiative, done="Skrivefeil her.")
    figure = IndicatorResult.objects.create(report=report, indicator="Kilo", value=Decimal("2"))
    client.force_login(make_moderator())
    url = reverse("admin:initiatives_progressreport_change", args=[report.pk])
    page = client.get(url)
    # The form as the page has it, every inline's rows and management form included.
    data = {}
    for field in page.context["adminform"].form:
        value = field.value()
        data[field.html_name] = "" if value is None else value
    for inline in page.context["inline_admin_formsets"]:
        formset = inline.formset
        management = formset.management_form
        data.update({management.add_prefix(n): management[n].value() for n in management.fields})
        for form in formset.forms:
            for field in form:
                data[field.html_name] = "" if field.value() is None else field.value()
    data.pop("written_by", None)
    data.update({"done": "Rettet tekst.", "indicator_results-0-value": "3"})

    response = client.post(url, data)

    assert response.status_code == 302
    report.refresh_from_db()
    figure.refresh_from_db()
    assert (report.done, figure.value) == ("Rettet tekst.", Decimal("3.00"))


# --- Demo data -------------------------------------------------------------------------------


def test_demo_data_shows_a_timeline_and_adopters_feedback(client):
    call_command("load_demo_data", verbosity=0)
    call_command("load_demo_data", verbosity=0)  # a second load changes nothing

    page = client.get(reverse("initiatives:detail", args=["ombruk-av-mobler-i-kommunale-bygg"]))

    reports = page.context["progress_reports"]
    assert [(r.reported_on, r.status) for r in reports] == [
        (date(2025, 11, 3), ReportStatus.DELAYED),
        (date(2025, 2, 10), ReportStatus.ON_TRACK),
    ]
    assert len(reports[0].indicator_results.all()) == 3
    assert reports[0].phase == page.context["initiative"].phase
    assert "Status: Delayed, as of Nov. 3, 2025" in page.text
    assert "How it went: It partly worked." in page.text
    assert (
        IndicatorResult.objects.filter(report__initiative__slug__startswith="ombruk").count() == 6
    )
