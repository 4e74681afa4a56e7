"""The submission form: drafts, submitting, rows without JavaScript, bad input, permissions."""

import re

import pytest
from django.contrib.messages import get_messages
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from ideabank.models import profile_for
from initiatives.models import (
    Attachment,
    Initiative,
    InitiativeLink,
    InitiativeStatusChange,
    Municipality,
    Organisation,
    Participation,
    Purpose,
    Target,
)
from tests.factories import (
    goal,
    make_complete_initiative,
    make_confirmed_user,
    make_initiative,
    make_link,
    make_moderator,
    make_org_member,
    make_organisation,
    make_participation,
    make_user,
)

pytestmark = pytest.mark.django_db

Status = Initiative.Status
CREATE = "/en/del-tiltak/"


def edit_url(initiative: Initiative) -> str:
    return reverse("initiatives:edit", args=[initiative.slug])


def rows(prefix: str, items: list[dict], *, initial: int = 0) -> dict:
    """A formset's management form and rows as a browser posts them."""
    data = {
        f"{prefix}-TOTAL_FORMS": str(len(items)),
        f"{prefix}-INITIAL_FORMS": str(initial),
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1000",
    }
    for index, item in enumerate(items):
        for key, value in item.items():
            data[f"{prefix}-{index}-{key}"] = value
    return data


def draft_data(organisation: Organisation, **overrides) -> dict:
    """Only what a draft needs, plus empty rows."""
    data = {
        "action": "save",
        "lead_organisation": str(organisation.pk),
        "title": "Matsvinn i barnehagen",
        **rows("partners", []),
        **rows("links", []),
        **rows("attachments", []),
    }
    data.update(overrides)
    return data


def full_data(organisation: Organisation, **overrides) -> dict:
    """Everything a review needs."""
    data = draft_data(
        organisation,
        summary="Barnehagene veier maten som kastes.",
        description="Vi veide matsvinnet hver dag i fire uker.",
        phase="running",
        scope="local",
        municipality=str(Municipality.objects.order_by("number").first().pk),
        purposes=[str(Purpose.objects.order_by("pk").first().pk)],
        goals=[str(goal(12).pk)],
        involvement="participation",
        tags="matsvinn, barnehage",
        contact_name="Kari Nordmann",
        contact_email="kari@example.no",
    )
    data.update(overrides)
    return data


@pytest.fixture
def owner(organisation):
    user = make_confirmed_user()
    make_org_member(organisation=organisation, user=user)
    return user


@pytest.fixture
def owner_client(client, owner):
    client.force_login(owner)
    return client


# --- Drafts -------------------------------------------------------------------------


def test_create_draft_with_only_a_title(owner_client, owner, organisation):
    response = owner_client.post(CREATE, draft_data(organisation))

    initiative = Initiative.objects.get()
    assert response.status_code == 302
    assert response.url == edit_url(initiative)
    assert (initiative.title, initiative.status) == ("Matsvinn i barnehagen", Status.DRAFT)
    assert (initiative.created_by, initiative.lead_organisation) == (owner, organisation)
    assert (initiative.summary, initiative.description) == ("", "")
    assert initiative.slug == "matsvinn-i-barnehagen"
    # No scope was chosen yet, and the form says so instead of claiming "national".
    assert initiative.scope == ""
    assert initiative.place == "Place not chosen yet"
    edit_page = owner_client.get(response.url)
    assert edit_page.context["form"]["scope"].value() == ""


def test_create_draft_ignores_posted_status_and_creator(owner_client, owner, organisation):
    other = make_user()

    owner_client.post(
        CREATE, draft_data(organisation, status="published", created_by=str(other.pk))
    )

    initiative = Initiative.objects.get()
    assert (initiative.status, initiative.created_by) == (Status.DRAFT, owner)


def test_create_without_a_title_is_refused_and_nothing_saved(owner_client, organisation):
    response = owner_client.post(CREATE, draft_data(organisation, title="   "))

    assert response.status_code == 200
    assert response.context["form"].errors["title"] == ["Write a title."]
    assert Initiative.objects.count() == 0


def test_create_page_shows_the_sections_and_preselects_the_only_organisation(
    owner_client, organisation
):
    response = owner_client.get(CREATE)

    html = response.text
    for legend in (
        "The basics",
        "Classification",
        "The collaboration frame",
        "Results, lessons and transfer value",
        "Partners",
        "Contact person",
        "Links",
        "Documents and an image",
    ):
        assert legend in html
    assert f'<option value="{organisation.pk}" selected>' in html
    assert '<option value="" selected>Choose the scope</option>' in html
    assert "Targets under goal 12" in html
    assert "Raise awareness and inform the target group" in html  # an OECD aim


def test_tag_suggestions_come_from_published_initiatives_escaped(owner_client):
    published = make_initiative(status=Status.PUBLISHED)
    published.tags.set(["<b>fet</b>", "matsvinn"])
    make_initiative(status=Status.DRAFT).tags.set(["hemmelig"])

    response = owner_client.get(CREATE)

    help_text = response.text.split('id="id_tags_helptext">')[1].split("</div>")[0]
    assert "Often used: &lt;b&gt;fet&lt;/b&gt;, matsvinn." in help_text
    assert "hemmelig" not in response.text


def test_edit_opens_the_goals_whose_targets_are_chosen(owner_client, owner, organisation):
    initiative = make_initiative(lead_organisation=organisation, created_by=owner)
    initiative.targets.set([Target.objects.get(code="12.3")])
    initiative.goals.set([goal(12)])

    response = owner_client.get(edit_url(initiative))

    assert response.text.count('<details class="ds-details goal-choice__targets" open>') == 1
    checked = re.findall(
        r'<input type="checkbox" name="(goals|targets)" value="(\d+)"[^>]*checked>', response.text
    )
    assert sorted(checked) == sorted(
        [("goals", str(goal(12).pk)), ("targets", str(Target.objects.get(code="12.3").pk))]
    )


def test_create_slug_avoids_taken_and_reserved_words(owner_client, organisation):
    make_initiative(slug="matsvinn")

    owner_client.post(CREATE, draft_data(organisation, title="Matsvinn"))
    owner_client.post(CREATE, draft_data(organisation, title="Lignende"))
    owner_client.post(CREATE, draft_data(organisation, title="!!!"))

    slugs = set(Initiative.objects.values_list("slug", flat=True))
    # "lignende" is a URL word; a title of symbols only falls back on "tiltak", also one.
    assert slugs == {"matsvinn", "matsvinn-2", "lignende-2", "tiltak-2"}


def test_create_without_membership_sends_to_join(client):
    client.force_login(make_confirmed_user())

    response = client.get(CREATE)

    assert response.status_code == 302
    assert response.url == reverse("initiatives:organisation_join")


def test_create_requested_membership_is_not_enough(client, organisation):
    user = make_confirmed_user()
    make_org_member(organisation=organisation, user=user, status="requested")
    client.force_login(user)

    response = client.get(CREATE)

    assert response.url == reverse("initiatives:organisation_join")


def test_create_offers_only_the_users_active_organisations(client, organisation):
    user = make_confirmed_user()
    make_org_member(organisation=organisation, user=user)
    other = make_organisation(name="Bergen kommune")
    make_org_member(organisation=make_organisation(name="Forespurt"), user=user, status="requested")
    client.force_login(user)

    response = client.get(CREATE)

    choices = response.context["form"].fields["lead_organisation"].objects
    assert set(choices) == {str(organisation.pk)}
    assert (
        other.name not in response.text.split('name="lead_organisation"')[1].split("</select>")[0]
    )


def test_edit_save_draft_keeps_status_and_slug_follows_title(owner_client, owner, organisation):
    initiative = make_initiative(lead_organisation=organisation, created_by=owner, slug="gammel")

    response = owner_client.post(
        edit_url(initiative), full_data(organisation, title="Ny tittel på tiltaket")
    )

    initiative.refresh_from_db()
    assert response.status_code == 302
    assert initiative.status == Status.DRAFT
    assert initiative.title == "Ny tittel på tiltaket"
    assert initiative.slug == "ny-tittel-pa-tiltaket"
    assert sorted(initiative.tags.names()) == ["barnehage", "matsvinn"]
    assert list(initiative.goals.values_list("number", flat=True)) == [12]


def test_edit_target_brings_its_goal(owner_client, owner, organisation):
    initiative = make_initiative(lead_organisation=organisation, created_by=owner)
    target = Target.objects.get(code="14.1")

    owner_client.post(
        edit_url(initiative), full_data(organisation, goals=[], targets=[str(target.pk)])
    )

    assert list(initiative.goals.values_list("number", flat=True)) == [14]
    assert list(initiative.targets.all()) == [target]


# --- Submitting ---------------------------------------------------------------------


def test_submit_with_missing_fields_shows_errors_and_keeps_what_was_typed(
    owner_client, organisation
):
    data = draft_data(
        organisation,
        action="submit",
        title="Sykkelbibliotek",
        frame_roles="Kommunen låner ut <sykler>",
        **rows("links", [{"title": "Prosjektside", "url": "https://example.no/"}]),
    )

    response = owner_client.post(CREATE, data)

    assert response.status_code == 200
    errors = response.context["form"].errors
    assert errors["summary"] == ["Write a summary of one or two sentences."]
    assert errors["description"] == ["Describe the initiative."]
    assert errors["purposes"] == ["Choose at least one purpose."]
    assert errors["goals"] == ["Choose at least one Sustainable Development Goal."]
    assert errors["scope"] == ["Choose how far the initiative reaches."]
    html = response.text
    assert 'class="ds-error-summary' in html
    assert 'href="#id_summary"' in html
    assert 'href="#id_purposes_0"' in html
    assert 'value="Sykkelbibliotek"' in html
    assert "Kommunen låner ut &lt;sykler&gt;" in html
    assert 'value="https://example.no/"' in html
    assert 'aria-invalid="true"' in html
    assert Initiative.objects.count() == 0


def test_submit_complete_initiative_moves_to_submitted_and_tells_moderators(
    owner_client, owner, organisation, django_capture_on_commit_callbacks
):
    make_moderator(email="moderator@example.org")

    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(CREATE, full_data(organisation, action="submit"))

    initiative = Initiative.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("initiatives:preview", args=[initiative.slug])
    assert initiative.status == Status.SUBMITTED
    change = initiative.status_changes.get()
    assert (change.from_status, change.to_status, change.changed_by) == (
        Status.DRAFT,
        Status.SUBMITTED,
        owner,
    )
    assert [message.to for message in mail.outbox] == [["moderator@example.org"]]


@pytest.mark.parametrize(
    ("status", "name"),
    [
        (None, "create"),
        (Status.PUBLISHED, "edit"),
        (Status.DRAFT, "edit"),
        (Status.DRAFT, "submit"),
        (Status.DRAFT, "preview"),
        (Status.SUBMITTED, "withdraw"),
    ],
)
def test_unconfirmed_member_may_not_share_edit_or_submit_and_is_told_why(
    client, organisation, status, name
):
    user = make_user()
    make_org_member(organisation=organisation, user=user)
    initiative = (
        make_initiative(lead_organisation=organisation, created_by=user, status=status)
        if status
        else None
    )
    client.force_login(user)
    urls = {"create": CREATE}
    if initiative:
        urls.update({**form_urls(initiative), **post_urls(initiative)})

    if name in ("submit", "withdraw"):
        response = client.post(urls[name])
    elif name == "preview":
        response = client.get(urls[name])
    else:
        response = client.post(urls[name], full_data(organisation, title="Endret av ubekreftet"))

    assert response.status_code == 403
    assert "Confirm your e-mail address first" in response.text
    assert f'action="{reverse("accounts:resend_confirmation")}"' in response.text
    if initiative:
        initiative.refresh_from_db()
        assert (initiative.status, initiative.title) == (status, f"Tiltak {initiative.slug}")
        assert initiative.status_changes.count() == 0
    else:
        assert Initiative.objects.count() == 0
    assert mail.outbox == []


def test_rejected_initiative_shows_reason_and_can_be_resubmitted(owner_client, owner, organisation):
    initiative = make_initiative(
        lead_organisation=organisation, created_by=owner, status=Status.REJECTED
    )
    Initiative.objects.filter(pk=initiative.pk).update(rejection_reason="Mangler <i>formål</i>.")

    page = owner_client.get(edit_url(initiative))
    response = owner_client.post(edit_url(initiative), full_data(organisation, action="submit"))

    assert "Mangler &lt;i&gt;formål&lt;/i&gt;." in page.text
    initiative.refresh_from_db()
    assert response.status_code == 302
    assert initiative.status == Status.SUBMITTED
    assert initiative.status_changes.get().from_status == Status.REJECTED


def test_submit_view_from_preview_needs_a_complete_draft(owner_client, owner, organisation):
    initiative = make_initiative(lead_organisation=organisation, created_by=owner)

    response = owner_client.post(reverse("initiatives:submit", args=[initiative.slug]), follow=True)

    initiative.refresh_from_db()
    assert initiative.status == Status.DRAFT
    assert "Choose at least one purpose." in response.text


def test_submit_from_the_preview_refuses_a_draft_without_scope_and_says_so(
    owner_client, owner, organisation
):
    initiative = make_complete_initiative(
        lead_organisation=organisation, created_by=owner, scope="", municipality=None
    )

    preview = owner_client.get(reverse("initiatives:preview", args=[initiative.slug]))
    response = owner_client.post(reverse("initiatives:submit", args=[initiative.slug]))

    assert list(preview.context["gaps"]) == ["scope"]
    assert "Choose how far the initiative reaches." in preview.text
    assert response.status_code == 302
    assert response.url == edit_url(initiative)
    assert [str(m) for m in get_messages(response.wsgi_request)] == [
        "Before it can be sent for review: Choose how far the initiative reaches."
    ]
    initiative.refresh_from_db()
    assert (initiative.status, initiative.submitted_at) == (Status.DRAFT, None)
    assert initiative.status_changes.count() == 0
    assert mail.outbox == []


def test_submit_view_submits_a_complete_draft(owner_client, owner, organisation):
    initiative = make_initiative(lead_organisation=organisation, created_by=owner)
    initiative.purposes.add(Purpose.objects.first())
    initiative.goals.add(goal(3))

    response = owner_client.post(reverse("initiatives:submit", args=[initiative.slug]))

    initiative.refresh_from_db()
    assert response.status_code == 302
    assert initiative.status == Status.SUBMITTED


def test_withdraw_takes_a_submitted_initiative_back_to_draft(owner_client, owner, organisation):
    initiative = make_initiative(
        lead_organisation=organisation, created_by=owner, status=Status.SUBMITTED
    )

    response = owner_client.post(reverse("initiatives:withdraw", args=[initiative.slug]))

    initiative.refresh_from_db()
    assert response.status_code == 302
    assert initiative.status == Status.DRAFT
    assert initiative.status_changes.get().to_status == Status.DRAFT


def test_withdraw_a_draft_says_why_not(owner_client, owner, organisation):
    initiative = make_initiative(lead_organisation=organisation, created_by=owner)

    response = owner_client.post(
        reverse("initiatives:withdraw", args=[initiative.slug]), follow=True
    )

    initiative.refresh_from_db()
    assert initiative.status == Status.DRAFT
    assert "The initiative is a draft already." in response.text


# --- Editing a published initiative -------------------------------------------------


def test_editing_a_published_initiative_keeps_it_published_and_tells_moderators(
    client, organisation, django_capture_on_commit_callbacks
):
    member = make_confirmed_user()
    make_org_member(organisation=organisation, user=member)
    make_moderator(email="moderator@example.org")
    initiative = make_initiative(
        lead_organisation=organisation, status=Status.PUBLISHED, slug="publisert"
    )
    client.force_login(member)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(edit_url(initiative), full_data(organisation, title="Endret tittel"))

    initiative.refresh_from_db()
    assert response.status_code == 302
    assert initiative.status == Status.PUBLISHED
    assert initiative.title == "Endret tittel"
    assert initiative.slug == "publisert"  # links to a published page keep working
    change = initiative.status_changes.get()
    assert (change.from_status, change.to_status, change.changed_by) == (
        Status.PUBLISHED,
        Status.PUBLISHED,
        member,
    )
    assert [message.to for message in mail.outbox] == [["moderator@example.org"]]


# --- Rows without JavaScript ----------------------------------------------------------


def test_add_partner_row_reshows_everything_with_one_more_row_and_saves_nothing(
    owner_client, organisation
):
    partner = make_organisation(name="Fylkeskommunen")
    data = draft_data(
        organisation,
        action="add-partner",
        title="",
        summary="Noe skrevet",
        **rows("partners", [{"organisation": str(partner.pk), "role": "partner"}]),
    )

    response = owner_client.post(CREATE, data)

    assert response.status_code == 200
    partners = response.context["partners"]
    assert partners.total_form_count() == 2
    assert 'name="partners-TOTAL_FORMS" value="2"' in response.text
    assert f'<option value="{partner.pk}" selected>' in response.text
    assert "Noe skrevet" in response.text
    # Nothing was saved, so nothing is complained about either.
    assert "ds-error-summary" not in response.text
    assert Initiative.objects.count() == 0


@pytest.mark.parametrize(
    ("action", "prefix"), [("add-link", "links"), ("add-attachment", "attachments")]
)
def test_add_link_and_document_rows(owner_client, organisation, action, prefix):
    response = owner_client.post(CREATE, draft_data(organisation, action=action))

    assert response.context[prefix].total_form_count() == 1
    assert f'name="{prefix}-TOTAL_FORMS" value="1"' in response.text


def test_partners_added_and_removed_with_checkbox(owner_client, owner, organisation):
    initiative = make_initiative(lead_organisation=organisation, created_by=owner)
    leaving = make_participation(initiative=initiative)
    staying = make_participation(initiative=initiative, role="funder")
    joining = make_organisation()
    partner_rows = [
        {"id": str(leaving.pk), "organisation": str(leaving.organisation_id), "role": "partner",
         "DELETE": "on"},
        {"id": str(staying.pk), "organisation": str(staying.organisation_id), "role": "funder"},
        {"organisation": str(joining.pk), "role": "resource_group"},
    ]  # fmt: skip

    response = owner_client.post(
        edit_url(initiative),
        draft_data(
            organisation, title=initiative.title, **rows("partners", partner_rows, initial=2)
        ),
    )

    assert response.status_code == 302
    assert set(initiative.participations.values_list("organisation", "role")) == {
        (staying.organisation_id, "funder"),
        (joining.pk, "resource_group"),
    }


def test_links_keep_the_order_of_the_rows(owner_client, owner, organisation):
    initiative = make_initiative(lead_organisation=organisation, created_by=owner)
    link_rows = [
        {"title": "Rapport", "url": "https://example.no/rapport"},
        {"title": "Nyhet", "url": "https://example.no/nyhet"},
    ]

    owner_client.post(
        edit_url(initiative),
        draft_data(organisation, title=initiative.title, **rows("links", link_rows)),
    )

    assert list(initiative.links.values_list("title", "position")) == [
        ("Rapport", 0),
        ("Nyhet", 1),
    ]


# --- Bad input ------------------------------------------------------------------------


def test_forged_lead_organisation_is_a_form_error(owner_client, organisation):
    stranger = make_organisation(name="Fremmed")

    response = owner_client.post(
        CREATE, draft_data(organisation, lead_organisation=str(stranger.pk))
    )

    assert response.status_code == 200
    assert response.context["form"].errors["lead_organisation"] == [
        "Choose one of the organisations you are a member of."
    ]
    assert Initiative.objects.count() == 0


@pytest.mark.parametrize("forged", ["999999", "abc", "1 OR 1=1"])
def test_forged_partner_organisation_is_a_row_error(owner_client, organisation, forged):
    proposed = make_organisation(status=Organisation.Status.PROPOSED)
    value = str(proposed.pk) if forged == "999999" else forged
    data = draft_data(
        organisation, **rows("partners", [{"organisation": value, "role": "partner"}])
    )

    response = owner_client.post(CREATE, data)

    assert response.status_code == 200
    assert response.context["partners"].forms[0].errors["organisation"] == [
        "Choose one of the registered organisations in the list."
    ]
    assert Initiative.objects.count() == 0


def test_forged_row_id_of_another_initiatives_partner_is_refused(owner_client, owner, organisation):
    initiative = make_initiative(lead_organisation=organisation, created_by=owner)
    elsewhere = make_participation(role="partner")
    row = {
        "id": str(elsewhere.pk),
        "organisation": str(elsewhere.organisation_id),
        "role": "funder",
    }

    response = owner_client.post(
        edit_url(initiative),
        draft_data(organisation, title=initiative.title, **rows("partners", [row], initial=1)),
    )

    assert response.status_code == 200
    assert response.context["partners"].forms[0].errors["id"]
    elsewhere.refresh_from_db()
    assert (elsewhere.initiative_id, elsewhere.role) != (initiative.pk, "funder")
    assert elsewhere.role == "partner"


def test_forged_row_count_is_refused(owner_client, organisation):
    data = draft_data(organisation)
    data["links-TOTAL_FORMS"] = "100000"

    response = owner_client.post(CREATE, data)

    assert response.status_code == 200
    assert len(response.context["links"].forms) == 30
    assert response.context["links"].non_form_errors()
    assert Initiative.objects.count() == 0


def test_lead_organisation_as_partner_is_refused(owner_client, organisation):
    data = draft_data(
        organisation, **rows("partners", [{"organisation": str(organisation.pk), "role": "funder"}])
    )

    response = owner_client.post(CREATE, data)

    assert "leads the initiative" in response.context["partners"].forms[0].errors["organisation"][0]
    assert Initiative.objects.count() == 0


def test_duplicate_partner_rows_are_refused(owner_client, organisation):
    partner = make_organisation()
    same = {"organisation": str(partner.pk), "role": "partner"}

    response = owner_client.post(CREATE, draft_data(organisation, **rows("partners", [same, same])))

    assert response.context["partners"].forms[1].errors["organisation"]
    assert Initiative.objects.count() == 0


@pytest.mark.parametrize(
    ("place", "field", "message"),
    [
        ({"scope": "local"}, "municipality", "A local initiative needs a municipality."),
        ({"scope": "regional"}, "county", "A regional initiative needs a county."),
        ({"scope": "local", "county": "first"}, "county", "not a county"),
        ({"scope": "regional", "county": "first", "municipality": "first"}, "municipality", "not a municipality"),
        ({"scope": "national", "municipality": "first"}, "municipality", "names no municipality"),
        ({"scope": "", "municipality": "first", "county": "first"}, "county", "not both"),
    ],
)  # fmt: skip
def test_place_that_does_not_match_the_scope_is_a_form_error(
    owner_client, organisation, place, field, message
):
    from initiatives.models import County

    first = {
        "municipality": str(Municipality.objects.order_by("number").first().pk),
        "county": str(County.objects.order_by("number").first().pk),
    }
    values = {key: first[key] if value == "first" else value for key, value in place.items()}

    response = owner_client.post(CREATE, draft_data(organisation, **values))

    assert response.status_code == 200
    assert message in " ".join(response.context["form"].errors[field])
    assert Initiative.objects.count() == 0


def test_end_before_start_is_a_form_error(owner_client, organisation):
    response = owner_client.post(
        CREATE, draft_data(organisation, start_date="2025-05-01", end_date="2025-01-01")
    )

    assert response.context["form"].errors["end_date"] == [
        "The end date cannot be before the start date."
    ]


@pytest.mark.parametrize(
    ("field", "length", "message"),
    [
        ("title", 201, "The title can be at most 200 characters (it has 201)."),
        ("summary", 501, "The summary can be at most 500 characters (it has 501)."),
        ("description", 20_001, "at most 20000 characters"),
        ("lessons", 5_001, "at most 5000 characters"),
        ("contact_name", 151, "at most 150 characters"),
    ],
)
def test_over_long_text_is_refused(owner_client, organisation, field, length, message):
    response = owner_client.post(CREATE, draft_data(organisation, **{field: "x" * length}))

    assert response.status_code == 200
    assert message in " ".join(response.context["form"].errors[field])
    assert Initiative.objects.count() == 0


def test_refused_edit_keeps_the_saved_title_in_the_heading(owner_client, owner, organisation):
    initiative = make_initiative(lead_organisation=organisation, created_by=owner, title="Lagret")

    response = owner_client.post(
        edit_url(initiative), draft_data(organisation, title="Skrevet", contact_email="x@")
    )

    assert '<h1 class="ds-heading" data-size="lg">Edit “Lagret”</h1>' in response.text
    assert 'value="Skrevet"' in response.text


def test_too_many_or_too_long_tags_are_refused(owner_client, organisation):
    many = owner_client.post(
        CREATE, draft_data(organisation, tags=", ".join(f"tag{n}" for n in range(25)))
    )
    long = owner_client.post(CREATE, draft_data(organisation, tags="x" * 60))

    assert many.context["form"].errors["tags"] == ["Use at most 20 tags (there are 25)."]
    assert "at most 50 characters" in long.context["form"].errors["tags"][0]
    assert Initiative.objects.count() == 0


@pytest.mark.parametrize(
    "url", ["javascript:alert(1)", "ftp://example.no/fil", "ikke en adresse", "http://"]
)
def test_invalid_link_urls_are_refused(owner_client, organisation, url):
    data = draft_data(organisation, **rows("links", [{"title": "Lenke", "url": url}]))

    response = owner_client.post(CREATE, data)

    assert response.context["links"].forms[0].errors["url"] == [
        "Write a web address starting with https:// or http://."
    ]
    assert Initiative.objects.count() == 0
    assert InitiativeLink.objects.count() == 0


def test_invalid_email_and_phone_are_refused(owner_client, organisation):
    response = owner_client.post(
        CREATE, draft_data(organisation, contact_email="kari@", contact_phone="ring meg")
    )

    errors = response.context["form"].errors
    assert errors["contact_email"] == ["Write an e-mail address such as name@example.no."]
    assert errors["contact_phone"] == ["Write the phone number with digits, spaces and + only."]


def test_forged_choices_in_checkbox_groups_are_refused(owner_client, organisation):
    response = owner_client.post(
        CREATE, draft_data(organisation, purposes=["999999"], goals=["x"], phase="nonsense")
    )

    errors = response.context["form"].errors
    assert set(errors) == {"purposes", "goals", "phase"}
    assert Initiative.objects.count() == 0


def test_nothing_is_half_saved_when_a_row_is_invalid(owner_client, owner, organisation):
    initiative = make_initiative(lead_organisation=organisation, created_by=owner, title="Før")
    make_link(initiative=initiative, title="Gammel lenke")
    data = full_data(
        organisation,
        title="Etter",
        **rows("links", [{"title": "Ny", "url": "ikke en adresse"}]),
    )

    response = owner_client.post(edit_url(initiative), data)

    initiative.refresh_from_db()
    assert response.status_code == 200
    assert initiative.title == "Før"
    assert initiative.purposes.count() == 0
    assert list(initiative.tags.names()) == []
    assert list(initiative.links.values_list("title", flat=True)) == ["Gammel lenke"]


def test_html_in_every_text_field_is_escaped_on_the_preview(owner_client, owner, organisation):
    script = "<script>alert('x')</script>"
    texts = {
        name: f"{name} {script}"
        for name in (
            "summary",
            "description",
            "frame_goals",
            "frame_roles",
            "frame_financing",
            "frame_expected_results",
            "frame_indicators",
            "frame_effect_shown",
            "results",
            "lessons",
            "transfer_value",
            "contact_name",
            "contact_role",
        )
    }
    data = full_data(
        organisation,
        action="preview",
        title=f"Tittel {script}",
        tags="<b>fet</b>",
        **texts,
        **rows("links", [{"title": f"Lenke {script}", "url": "https://example.no/"}]),
    )

    response = owner_client.post(CREATE, data, follow=True)

    html = response.text
    assert response.status_code == 200
    assert response.context["preview"] is True
    assert "<script>alert" not in html
    assert "<b>fet</b>" not in html
    for name in (*texts, "Tittel", "Lenke"):
        assert f"{name} &lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in html


# --- The preview --------------------------------------------------------------------


def test_preview_shows_the_draft_with_banner_and_similar(owner_client, owner, organisation):
    published = make_initiative(status=Status.PUBLISHED, title="Matsvinn i skolen")
    Initiative.objects.filter(
        pk=published.pk
    ).refresh_search_vectors()  # PostgreSQL search reads them
    initiative = make_initiative(
        lead_organisation=organisation, created_by=owner, title="Matsvinn i barnehagen"
    )

    response = owner_client.get(reverse("initiatives:preview", args=[initiative.slug]))

    assert response.status_code == 200
    assert "Preview — this is how it will look when published" in response.text
    assert response.context["similar"] == [published]
    assert reverse("initiatives:detail", args=[published.slug]) in response.text
    assert reverse("initiatives:submit", args=[initiative.slug]) in response.text
    assert '<meta name="robots" content="noindex">' in response.text


def test_edit_form_lists_similar_published_initiatives_only(owner_client, owner, organisation):
    published = make_initiative(status=Status.PUBLISHED, title="Sykkelbibliotek i Asker")
    Initiative.objects.filter(
        pk=published.pk
    ).refresh_search_vectors()  # PostgreSQL search reads them
    make_initiative(status=Status.DRAFT, title="Sykkelbibliotek i Bergen")
    initiative = make_initiative(
        lead_organisation=organisation, created_by=owner, title="Sykkelbibliotek"
    )

    response = owner_client.get(edit_url(initiative))

    assert response.context["similar"] == [published]
    assert "Perhaps adopt one of them instead of starting anew" in response.text
    assert "Sykkelbibliotek i Bergen" not in response.text


def test_similar_fragment_follows_the_typed_title(owner_client):
    published = make_initiative(status=Status.PUBLISHED, title="Gjenbruk av møbler")
    Initiative.objects.filter(
        pk=published.pk
    ).refresh_search_vectors()  # PostgreSQL search reads them

    response = owner_client.get(reverse("initiatives:similar"), {"title": "Møbler til skolen"})
    empty = owner_client.get(reverse("initiatives:similar"), {"title": ""})

    assert response.context["similar"] == [published]
    assert published.title in response.text
    assert empty.context["similar"] == []


def test_similar_fragment_needs_login(client):
    response = client.get(reverse("initiatives:similar"), {"title": "Møbler"})

    assert response.status_code == 302
    assert response.url.startswith(reverse("accounts:login"))


# --- Uploads --------------------------------------------------------------------------

PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
)


def png(size=(40, 30)) -> bytes:
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", size, "green").save(buffer, format="PNG")
    return buffer.getvalue()


def png_bomb(width: int = 20_000, height: int = 20_000) -> bytes:
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    row = bytes(1 + (width + 7) // 8)
    compressor = zlib.compressobj(9)
    data = b"".join(compressor.compress(row * 1000) for _ in range(height // 1000))
    data += compressor.flush()
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b"")
    )


def test_upload_a_pdf_and_an_image(owner_client, organisation):
    data = draft_data(
        organisation,
        image=SimpleUploadedFile("bilde.png", png()),
        image_alt="Barn som veier mat",
        **rows("attachments", [{"title": "Sluttrapport"}]),
    )
    data["attachments-0-file"] = SimpleUploadedFile("rapport.pdf", PDF)

    response = owner_client.post(CREATE, data)

    initiative = Initiative.objects.get()
    attachment = initiative.attachments.get()
    assert response.status_code == 302
    assert attachment.title == "Sluttrapport"
    assert attachment.file.name.startswith("attachments/")
    assert attachment.file.name.endswith(".pdf")
    assert "rapport" not in attachment.file.name  # generated, not the uploader's name
    assert initiative.image.name.startswith("images/")
    assert initiative.image.name.endswith(".png")


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("notater.txt", b"just text", "is not a kind of document we accept"),
        ("rapport.pdf", b"just text pretending", "is not a .pdf document"),
        ("program.exe", b"MZ\x90\x00", "is not a kind of document we accept"),
    ],
)
def test_refused_document_keeps_the_rest_of_the_form(
    owner_client, organisation, name, content, message
):
    data = draft_data(
        organisation, summary="Beholdt tekst", **rows("attachments", [{"title": "Vedlegg"}])
    )
    data["attachments-0-file"] = SimpleUploadedFile(name, content)

    response = owner_client.post(CREATE, data)

    assert response.status_code == 200
    assert message in response.context["attachments"].forms[0].errors["file"][0]
    assert "Beholdt tekst" in response.text
    assert Initiative.objects.count() == 0
    assert Attachment.objects.count() == 0


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (png_bomb(), "has too many pixels"),
        (png_bomb(6_000, 5_000), "more than 25 megapixels"),
        (b"GIF89a not really", "is not an image we accept"),
    ],
)
def test_refused_image_is_a_field_error(owner_client, organisation, content, message):
    data = draft_data(
        organisation, image=SimpleUploadedFile("bilde.png", content), image_alt="Et bilde"
    )

    response = owner_client.post(CREATE, data)

    assert response.status_code == 200
    assert message in response.context["form"].errors["image"][0]
    assert Initiative.objects.count() == 0


def test_image_needs_a_description(owner_client, organisation):
    data = draft_data(organisation, image=SimpleUploadedFile("bilde.png", png()))

    response = owner_client.post(CREATE, data)

    assert response.context["form"].errors["image_alt"] == [
        "Describe what the image shows, for people who cannot see it."
    ]


def test_a_valid_file_on_a_refused_form_must_be_chosen_again(owner_client, organisation):
    data = draft_data(organisation, title="", **rows("attachments", [{"title": "Rapport"}]))
    data["attachments-0-file"] = SimpleUploadedFile("rapport.pdf", PDF)

    response = owner_client.post(CREATE, data)

    assert response.status_code == 200
    assert "choose your files again" in response.text
    assert "You chose “rapport.pdf”. Choose it again" in response.text


def test_remove_image(owner_client, owner, organisation):
    initiative = make_initiative(
        lead_organisation=organisation, created_by=owner, image="images/x.png", image_alt="X"
    )

    owner_client.post(
        edit_url(initiative), draft_data(organisation, title=initiative.title, remove_image="on")
    )

    initiative.refresh_from_db()
    assert not initiative.image


# --- Permissions ----------------------------------------------------------------------


@pytest.fixture
def draft(organisation):
    return make_initiative(lead_organisation=organisation, title="Et utkast")


def form_urls(initiative):
    return {
        "edit": edit_url(initiative),
        "preview": reverse("initiatives:preview", args=[initiative.slug]),
    }


def post_urls(initiative):
    return {
        "submit": reverse("initiatives:submit", args=[initiative.slug]),
        "withdraw": reverse("initiatives:withdraw", args=[initiative.slug]),
    }


@pytest.mark.parametrize("name", ["create", "edit", "preview", "submit", "withdraw"])
def test_anonymous_is_sent_to_login(client, draft, name):
    url = CREATE if name == "create" else {**form_urls(draft), **post_urls(draft)}[name]

    response = client.post(url) if name in ("submit", "withdraw") else client.get(url)

    assert response.status_code == 302
    assert response.url.startswith(reverse("accounts:login"))


@pytest.mark.parametrize("name", ["edit", "preview", "submit", "withdraw"])
def test_outsider_gets_404_for_anothers_draft(client, draft, name):
    client.force_login(make_confirmed_user())
    url = {**form_urls(draft), **post_urls(draft)}[name]

    response = client.post(url) if name in ("submit", "withdraw") else client.get(url)

    assert response.status_code == 404
    draft.refresh_from_db()
    assert draft.status == Status.DRAFT


@pytest.mark.parametrize("name", ["edit", "preview", "submit", "withdraw"])
def test_partner_member_who_may_see_but_not_edit_gets_403(client, draft, name):
    partner = make_participation(initiative=draft).organisation
    member = make_confirmed_user()
    make_org_member(organisation=partner, user=member)
    client.force_login(member)
    url = {**form_urls(draft), **post_urls(draft)}[name]

    response = client.post(url) if name in ("submit", "withdraw") else client.get(url)

    assert response.status_code == 403
    assert draft.status_changes.count() == 0


def test_signed_in_user_gets_403_editing_a_published_initiative(client):
    initiative = make_initiative(status=Status.PUBLISHED)
    client.force_login(make_confirmed_user())

    response = client.post(edit_url(initiative), draft_data(initiative.lead_organisation))

    assert response.status_code == 403
    initiative.refresh_from_db()
    assert initiative.title.startswith("Tiltak")


@pytest.mark.parametrize("name", ["submit", "withdraw"])
def test_get_on_post_only_urls_is_405(owner_client, owner, organisation, name):
    initiative = make_initiative(lead_organisation=organisation, created_by=owner)

    response = owner_client.get(post_urls(initiative)[name])

    assert response.status_code == 405
    initiative.refresh_from_db()
    assert initiative.status == Status.DRAFT


def confirmed_moderator():
    moderator = make_moderator()
    profile_for(moderator).confirm_email()
    return moderator


@pytest.mark.parametrize("name", ["edit", "preview", "submit", "withdraw"])
def test_moderator_may_not_edit_preview_or_submit_someone_elses_draft(client, name, organisation):
    """They review in the admin; submitting a draft there alone would let one person both
    send it and (as the only moderator) publish it."""
    draft = make_complete_initiative(lead_organisation=organisation, title="Et utkast")
    client.force_login(confirmed_moderator())
    url = {**form_urls(draft), **post_urls(draft)}[name]

    if name in ("submit", "withdraw"):
        response = client.post(url)
    elif name == "edit":
        response = client.post(url, full_data(organisation, action="submit"))
    else:
        response = client.get(url)

    assert response.status_code == 403
    draft.refresh_from_db()
    assert (draft.status, draft.title) == (Status.DRAFT, "Et utkast")
    assert draft.status_changes.count() == 0


def test_moderator_previews_a_submission_without_the_members_buttons(client, organisation):
    submitted = make_initiative(lead_organisation=organisation, status=Status.SUBMITTED)
    client.force_login(confirmed_moderator())

    response = client.get(reverse("initiatives:preview", args=[submitted.slug]))

    assert response.status_code == 200
    assert (response.context["can_edit"], response.context["can_withdraw"]) == (False, False)
    assert edit_url(submitted) not in response.text
    assert post_urls(submitted)["withdraw"] not in response.text


def test_member_of_lead_organisation_may_edit_a_colleagues_draft(client, draft, organisation):
    colleague = make_confirmed_user()
    make_org_member(organisation=organisation, user=colleague)
    client.force_login(colleague)

    response = client.post(edit_url(draft), draft_data(organisation, title="Kollegaens tittel"))

    draft.refresh_from_db()
    assert response.status_code == 302
    assert draft.title == "Kollegaens tittel"
    assert InitiativeStatusChange.objects.count() == 0


def test_participation_rows_only_offer_known_organisations(owner_client, organisation):
    make_organisation(name="Foreslått AS", status=Organisation.Status.PROPOSED)

    response = owner_client.get(CREATE)

    assert "Foreslått AS" not in response.text
    assert Participation.objects.count() == 0


@pytest.mark.parametrize("field", ["purposes", "actor_types", "goals", "targets", "focus_areas"])
def test_ids_too_big_for_any_row_are_form_errors_not_500(owner_client, organisation, field):
    response = owner_client.post(CREATE, draft_data(organisation, **{field: "9" * 20}))

    assert response.status_code == 200
    assert list(response.context["form"].errors) == [field]
    assert Initiative.objects.count() == 0


def test_published_initiative_cannot_be_moved_to_a_proposed_organisation(
    owner_client, owner, organisation
):
    initiative = make_initiative(status=Status.PUBLISHED, lead_organisation=organisation)
    proposed = make_organisation(status=Organisation.Status.PROPOSED)
    make_org_member(organisation=proposed, user=owner)

    response = owner_client.post(edit_url(initiative), full_data(proposed, title=initiative.title))

    initiative.refresh_from_db()
    assert response.status_code == 200
    assert list(response.context["form"].errors) == ["lead_organisation"]
    assert initiative.lead_organisation == organisation


def test_creator_who_left_the_organisation_keeps_drafts_but_not_the_published(client):
    creator = make_confirmed_user()
    organisation = make_organisation()
    draft = make_initiative(created_by=creator, lead_organisation=organisation)
    published = make_initiative(
        status=Status.PUBLISHED, created_by=creator, lead_organisation=organisation
    )
    client.force_login(creator)

    draft_page = client.get(edit_url(draft))
    published_page = client.get(edit_url(published))

    assert draft_page.status_code == 200
    assert published_page.status_code == 403
