"""The admin site: every model of both apps, moderators' reach, and the initiatives admin.

The page and query-count checks walk every model our two apps register, so they
live here once; the networks admin's own behaviour is in tests/networks/test_admin.py.
"""

import importlib
from datetime import timedelta

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.html import escape

from ideabank.models import Comment, CommentReport, Follow, profile_for
from initiatives.models import (
    MODERATORS_GROUP,
    ActorType,
    Adoption,
    Attachment,
    County,
    FocusArea,
    Goal,
    Initiative,
    InitiativeLink,
    InitiativeStatusChange,
    Municipality,
    Organisation,
    OrganisationMember,
    Participation,
    ProgressReport,
    Purpose,
    SearchSynonym,
    Target,
)
from networks.models import (
    Campaign,
    Event,
    EventRegistration,
    Membership,
    Network,
    Presentation,
    WorkingGroup,
    WorkingGroupMember,
)
from tests.factories import (
    goal,
    make_actor_type,
    make_adoption,
    make_attachment,
    make_campaign,
    make_comment,
    make_comment_report,
    make_complete_initiative,
    make_confirmed_user,
    make_event,
    make_focus_area,
    make_follow,
    make_initiative,
    make_link,
    make_membership,
    make_network,
    make_org_member,
    make_organisation,
    make_participation,
    make_presentation,
    make_progress_report,
    make_purpose,
    make_registration,
    make_status_change,
    make_user,
    make_working_group,
    make_working_group_member,
)

pytestmark = pytest.mark.django_db

Status = Initiative.Status
MODERATORS_MIGRATION = importlib.import_module("networks.migrations.0002_moderators_group")

# Follows and comments (issue 15) are registered in ideabank/admin.py; the older ideabank
# models there (accounts, the outbox) have tests of their own.
COMMENT_MODELS = [Comment, CommentReport, Follow]
REGISTERED = [
    model for model in admin.site._registry if model._meta.app_label in {"initiatives", "networks"}
] + [model for model in COMMENT_MODELS if model in admin.site._registry]
ROLES = ["superuser", "moderator"]

# What the admin classes refuse everyone, superusers included: the history is
# written by the status moves only.
ADMIN_REFUSES = {
    InitiativeStatusChange: {"add", "change", "delete"},
    # Comments and reports are written on the site; follows are looked at, for support.
    Comment: {"add"},
    CommentReport: {"add"},
    Follow: {"add", "change"},
}
# What ideabank/migrations/0003_follows_and_comments.py gives the moderators.
COMMENT_PERMISSIONS = {
    Comment: {"view", "change"},
    CommentReport: {"view", "change"},
    Follow: set(),
}

# Rows the taxonomy searches below find, among the reference data already loaded.
TEST_TERM = "Prøverad"

# One object of each registered model, for the pages that show one.
MAKE_ONE = {
    Goal: lambda: goal(14),
    Target: lambda: Target.objects.get(code="14.a"),
    County: lambda: County.objects.get(number="03"),
    Municipality: lambda: Municipality.objects.get(number="0301"),
    Purpose: lambda: make_purpose(name_nb=f"{TEST_TERM} formål"),
    FocusArea: lambda: make_focus_area(name_nb=f"{TEST_TERM} tema"),
    ActorType: lambda: make_actor_type(name_nb=f"{TEST_TERM} aktør"),
    Organisation: make_organisation,
    OrganisationMember: make_org_member,
    Initiative: make_initiative,
    InitiativeStatusChange: make_status_change,
    Participation: make_participation,
    InitiativeLink: make_link,
    Attachment: make_attachment,
    Adoption: make_adoption,
    ProgressReport: make_progress_report,
    Campaign: make_campaign,
    Network: make_network,
    Membership: make_membership,
    WorkingGroup: make_working_group,
    WorkingGroupMember: make_working_group_member,
    Event: make_event,
    Presentation: make_presentation,
    EventRegistration: make_registration,
    SearchSynonym: lambda: SearchSynonym.objects.create(words="sykkel, tråsykkel"),
    Comment: make_comment,
    CommentReport: make_comment_report,
    Follow: make_follow,
}

# The taxonomy lists come with reference rows; their changelists search for ours.
CHANGELIST_QUERY = {
    Purpose: {"q": TEST_TERM},
    FocusArea: {"q": TEST_TERM},
    ActorType: {"q": TEST_TERM},
    SearchSynonym: {"q": "tråsykkel"},  # the list starts with a few groups
}

# Official reference data we do not add to: a search that finds one row, and one that finds many.
REFERENCE_SEARCHES = {
    Goal: ("havet", "e"),
    Target: ("14.a", "e"),
    County: ("Oslo", "d"),
    Municipality: ("Oslo", "e"),
}


def model_id(model) -> str:
    return model._meta.label_lower


def admin_url(model, view: str, *args) -> str:
    """The address in the Bokmål admin, the one staff use (no language prefix)."""
    with translation.override("nb"):
        return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def allowed_actions(model, role: str) -> set[str]:
    """What the role may do with the model in the admin, from the moderators' permission table."""
    if role == "superuser":
        actions = set(MODERATORS_MIGRATION.ALL)
    else:
        by_model = MODERATORS_MIGRATION.PERMISSIONS.get(model._meta.app_label, {})
        actions = set(by_model.get(model._meta.model_name, ()))
        if model is SearchSynonym:  # given by initiatives/migrations/0013_search_synonyms.py
            actions = set(MODERATORS_MIGRATION.ALL)
        if model is ProgressReport:  # given by initiatives/migrations/0014_…
            actions = set(MODERATORS_MIGRATION.ALL)
        if model is Campaign:  # given by networks/migrations/0009_campaigns.py
            actions = set(MODERATORS_MIGRATION.ALL)
        if model in COMMENT_PERMISSIONS:
            actions = set(COMMENT_PERMISSIONS[model])
    return actions - ADMIN_REFUSES.get(model, set())


def role_cases(allowed: bool, action: str) -> list:
    return [
        pytest.param(model, role, id=f"{model_id(model)}-{role}")
        for model in REGISTERED
        for role in ROLES
        if (action in allowed_actions(model, role)) == allowed
    ]


def in_norwegian(message, **params) -> str:
    """The message as the Bokmål admin shows it, from our English source through the catalogue."""
    with translation.override("nb"):
        text = translation.gettext(message) if isinstance(message, str) else str(message)
        return text % {key: str(value) for key, value in params.items()} if params else text


def count_in_norwegian(singular: str, plural: str, count: int) -> str:
    with translation.override("nb"):
        return translation.ngettext(singular, plural, count) % count


def shown_messages(response) -> list[tuple[str, str]]:
    return [(message.level_tag, message.message) for message in get_messages(response.wsgi_request)]


def inline_management_data(page) -> dict[str, object]:
    """Every inline's management form as the page rendered it, to post the form back (with
    the version the page was loaded from, where the form carries one)."""
    data = {}
    for inline in page.context["inline_admin_formsets"]:
        management = inline.formset.management_form
        data.update(
            {management.add_prefix(name): management[name].value() for name in management.fields}
        )
    version_form = getattr(page.context["adminform"].form, "version_form", None)
    if version_form is not None:
        data[version_form["loaded"].html_name] = version_form["loaded"].value()
    return data


def post_admin_form(client, url: str, data: dict):
    """Post an add or change form as a browser does: the fields and every inline's
    management form (for objects without inline rows yet)."""
    return client.post(url, {**inline_management_data(client.get(url)), **data})


def post_action(client, action: str, initiatives, **extra):
    """Pick an action on the initiatives changelist and run it on the ticked rows."""
    return client.post(
        admin_url(Initiative, "changelist"),
        {"action": action, "_selected_action": [i.pk for i in initiatives], "index": 0, **extra},
    )


def form_errors(response) -> dict[str, list[str]]:
    errors = response.context["adminform"].form.errors
    with translation.override("nb"):
        return {field: [str(message) for message in messages] for field, messages in errors.items()}


# --- Every model's pages, for superusers and moderators ---------------------------


def test_registered_models_all_have_a_factory():
    assert set(REGISTERED) == set(MAKE_ONE)


def test_permission_table_refuses_exactly_the_read_only_models():
    refused_add = {(model_id(m), role) for m, role in (p.values for p in role_cases(False, "add"))}
    refused_view = {
        (model_id(m), role) for m, role in (p.values for p in role_cases(False, "view"))
    }

    assert refused_add == {
        ("initiatives.goal", "moderator"),
        ("initiatives.target", "moderator"),
        ("initiatives.county", "moderator"),
        ("initiatives.municipality", "moderator"),
        ("initiatives.initiativestatuschange", "moderator"),
        ("initiatives.initiativestatuschange", "superuser"),
        ("initiatives.organisationmember", "moderator"),
        ("ideabank.comment", "moderator"),
        ("ideabank.comment", "superuser"),
        ("ideabank.commentreport", "moderator"),
        ("ideabank.commentreport", "superuser"),
        ("ideabank.follow", "moderator"),
        ("ideabank.follow", "superuser"),
    }
    # What people follow is for administrators (support), not moderators.
    assert refused_view == {("ideabank.follow", "moderator")}


@pytest.mark.parametrize(("model", "role"), role_cases(True, "view"))
def test_admin_changelist_shows_all_rows(client, request, model, role):
    MAKE_ONE[model]()
    client.force_login(request.getfixturevalue(role))

    response = client.get(admin_url(model, "changelist"))

    assert response.status_code == 200
    assert response.context["cl"].result_count == model._default_manager.count()
    assert response.context["has_add_permission"] == ("add" in allowed_actions(model, role))


@pytest.mark.parametrize(("model", "role"), role_cases(True, "add"))
def test_admin_add_page_renders_the_form(client, request, model, role):
    client.force_login(request.getfixturevalue(role))

    response = client.get(admin_url(model, "add"))

    assert response.status_code == 200
    assert response.context["adminform"].form._meta.model is model
    assert f'id="{model._meta.model_name}_form"' in response.content.decode()


@pytest.mark.parametrize(("model", "role"), role_cases(False, "add"))
def test_admin_add_page_is_forbidden_without_add_permission(client, request, model, role):
    client.force_login(request.getfixturevalue(role))

    response = client.get(admin_url(model, "add"))

    assert response.status_code == 403
    assert "adminform" not in (response.context or {})


@pytest.mark.parametrize(("model", "role"), role_cases(True, "view"))
def test_admin_change_page_shows_the_object(client, request, model, role):
    obj = MAKE_ONE[model]()
    client.force_login(request.getfixturevalue(role))

    response = client.get(admin_url(model, "change", obj.pk))

    assert response.status_code == 200
    assert response.context["original"] == obj
    assert escape(in_norwegian(obj)) in response.content.decode()
    assert response.context["has_change_permission"] == ("change" in allowed_actions(model, role))


# --- Moderators: content yes, users and groups no ----------------------------------


@pytest.mark.parametrize(
    "url",
    ["/admin/auth/user/", "/admin/auth/user/add/", "/admin/auth/group/", "/admin/auth/group/add/"],
)
def test_moderator_cannot_open_users_or_groups(client, moderator, url):
    client.force_login(moderator)

    response = client.get(url)

    assert response.status_code == 403
    assert "cl" not in (response.context or {})


@pytest.mark.parametrize(
    ("url", "data", "model"),
    [
        (
            "/admin/auth/user/add/",
            {"username": "intruder", "password1": "Xy7!long-pass", "password2": "Xy7!long-pass"},
            get_user_model(),
        ),
        ("/admin/auth/group/add/", {"name": "Intruders"}, Group),
    ],
    ids=["user", "group"],
)
def test_moderator_cannot_add_users_or_groups(client, moderator, url, data, model):
    client.force_login(moderator)
    before = model.objects.count()

    response = client.post(url, data)

    assert response.status_code == 403
    assert model.objects.count() == before


def test_moderator_admin_index_lists_no_auth_app(client, moderator):
    client.force_login(moderator)

    response = client.get("/admin/")

    apps = {app["app_label"] for app in response.context["app_list"]}
    # ideabank: the comments and their reports (issue 15).
    assert apps == {"ideabank", "initiatives", "networks", "taggit"}


def test_moderators_group_holds_exactly_the_table_permissions():
    group = Group.objects.get(name=MODERATORS_GROUP)

    held = set(group.permissions.values_list("content_type__app_label", "codename"))

    # initiatives/migrations/0013_search_synonyms.py adds the synonym list to the table.
    synonyms = {("initiatives", f"{action}_searchsynonym") for action in MODERATORS_MIGRATION.ALL}
    # initiatives/migrations/0014_progress_reports_freshness.py adds progress reports.
    progress = {
        ("initiatives", f"{action}_{model}")
        for model in ("progressreport", "indicatorresult")
        for action in MODERATORS_MIGRATION.ALL
    }
    # networks/migrations/0009_campaigns.py adds campaigns.
    campaigns = {
        ("networks", f"{action}_{model}")
        for model in ("campaign", "campaignaddressee")
        for action in MODERATORS_MIGRATION.ALL
    }
    reminders = {("initiatives", "view_freshnessreminder")}
    # ideabank/migrations/0003_follows_and_comments.py adds comments and their reports.
    comments = {
        ("ideabank", f"{action}_{model._meta.model_name}")
        for model, actions in COMMENT_PERMISSIONS.items()
        for action in actions
    } | {("ideabank", "view_commentmoderation")}
    assert held == (
        set(MODERATORS_MIGRATION.codenames())
        | synonyms
        | progress
        | campaigns
        | reminders
        | comments
    )
    assert {app for app, _ in held} == {"ideabank", "initiatives", "networks", "taggit"}


def test_moderator_sees_user_fields_read_only(client, moderator, submitter):
    member = make_org_member(user=submitter)
    client.force_login(moderator)

    page = client.get(admin_url(OrganisationMember, "change", member.pk))
    search = client.get(
        "/admin/autocomplete/",
        {
            "app_label": "initiatives",
            "model_name": "organisationmember",
            "field_name": "user",
            "term": "sub",
        },
    )

    assert page.status_code == 200
    assert page.context["adminform"].form.fields == {}
    assert search.status_code == 403


# --- Who belongs to which organisation: administrators decide, not moderators ----------


def test_moderator_cannot_move_a_member_or_make_them_administrator(client, moderator, submitter):
    member = make_org_member(user=submitter)
    other = make_organisation()
    client.force_login(moderator)

    page = client.get(admin_url(OrganisationMember, "change", member.pk))
    response = client.post(
        admin_url(OrganisationMember, "change", member.pk),
        {"organisation": other.pk, "user": submitter.pk, "role": "admin", "status": "active"},
    )

    assert set(page.context["adminform"].readonly_fields) >= {"organisation", "user", "role"}
    assert response.status_code == 302
    member.refresh_from_db()
    assert (member.organisation, member.user, member.role) == (
        member.organisation,
        submitter,
        OrganisationMember.Role.MEMBER,
    )
    assert member.organisation != other


def test_moderator_cannot_change_or_remove_members_on_the_organisation_page(
    client, moderator, submitter, organisation
):
    member = make_org_member(user=submitter, organisation=organisation)
    client.force_login(moderator)

    page = client.get(admin_url(Organisation, "change", organisation.pk))

    inline = next(
        formset
        for formset in page.context["inline_admin_formsets"]
        if formset.formset.model is OrganisationMember
    )
    assert set(inline.readonly_fields) >= {"user", "role", "status"}
    assert inline.has_delete_permission is False
    assert list(inline.formset.forms[0].fields) == ["id", "organisation"]
    assert member.role == OrganisationMember.Role.MEMBER


def test_moderator_cannot_delete_an_active_member_but_declines_requests(
    client, moderator, submitter, organisation
):
    member = make_org_member(user=submitter, organisation=organisation)
    request_ = make_org_member(
        organisation=organisation, status=OrganisationMember.Status.REQUESTED
    )
    client.force_login(moderator)

    delete_page = client.get(admin_url(OrganisationMember, "delete", member.pk))
    changelist = client.get(admin_url(OrganisationMember, "changelist"))
    declined = client.post(
        admin_url(OrganisationMember, "changelist"),
        {"action": "decline_selected", "_selected_action": [request_.pk], "index": 0},
    )

    assert delete_page.status_code == 403
    assert "delete_selected" not in dict(changelist.context["action_form"].fields["action"].choices)
    assert declined.status_code == 302
    # Kept as declined: the person may ask again only after ASK_AGAIN_AFTER.
    assert OrganisationMember.objects.get(pk=request_.pk).status == (
        OrganisationMember.Status.DECLINED
    )
    assert OrganisationMember.objects.get(pk=member.pk).status == OrganisationMember.Status.ACTIVE


def test_superuser_may_change_a_members_organisation_and_role(admin_client, submitter):
    member = make_org_member(user=submitter)
    other = make_organisation()

    response = admin_client.post(
        admin_url(OrganisationMember, "change", member.pk),
        {"organisation": other.pk, "user": submitter.pk, "role": "admin"},
    )

    assert response.status_code == 302
    member.refresh_from_db()
    assert (member.organisation, member.role) == (other, OrganisationMember.Role.ADMIN)


@pytest.mark.parametrize("count", [1, 20])
def test_member_list_says_whose_address_is_confirmed_in_a_fixed_number_of_queries(
    client, moderator, django_assert_num_queries, count
):
    organisation = make_organisation()
    confirmed = make_org_member(organisation=organisation, user=make_confirmed_user())
    for _ in range(count):
        make_org_member(organisation=organisation, status=OrganisationMember.Status.REQUESTED)
    client.force_login(moderator)
    client.get(admin_url(OrganisationMember, "changelist"))  # sessions and content types warmed

    with django_assert_num_queries(MEMBER_LIST_QUERIES):
        response = client.get(admin_url(OrganisationMember, "changelist"))

    shown = {row.pk: row for row in response.context["cl"].result_list}
    admin_view = response.context["cl"].model_admin
    assert admin_view.email_confirmed(shown[confirmed.pk]) is True
    assert [admin_view.email_confirmed(row) for pk, row in shown.items() if pk != confirmed.pk] == [
        False
    ] * count
    assert "email_confirmed" in response.context["cl"].list_display


MEMBER_LIST_QUERIES = 7


def test_superuser_picks_users_by_search(admin_client, submitter):
    response = admin_client.get(
        "/admin/autocomplete/",
        {
            "app_label": "initiatives",
            "model_name": "organisationmember",
            "field_name": "user",
            "term": "submitter",
        },
    )

    assert response.status_code == 200
    assert [result["id"] for result in response.json()["results"]] == [str(submitter.pk)]


def test_moderator_cannot_delete_initiatives(client, moderator):
    initiative = make_initiative()
    client.force_login(moderator)

    response = client.post(admin_url(Initiative, "delete", initiative.pk), {"post": "yes"})

    assert response.status_code == 403
    assert Initiative.objects.filter(pk=initiative.pk).exists() is True


@pytest.mark.parametrize(
    ("role", "expected_status", "deleted"), [("superuser", 302, True), ("moderator", 403, False)]
)
def test_only_superusers_delete_initiatives_with_history(
    client, request, role, expected_status, deleted
):
    initiative = make_initiative(status=Status.SUBMITTED)
    make_status_change(initiative=initiative)
    client.force_login(request.getfixturevalue(role))

    response = client.post(admin_url(Initiative, "delete", initiative.pk), {"post": "yes"})

    assert response.status_code == expected_status
    assert Initiative.objects.filter(pk=initiative.pk).exists() is not deleted


# --- Changelist query counts ------------------------------------------------------


@pytest.mark.parametrize(
    "model", [m for m in REGISTERED if m not in REFERENCE_SEARCHES], ids=model_id
)
def test_admin_changelist_query_count_does_not_grow_with_rows(
    admin_client, django_assert_num_queries, model
):
    url = admin_url(model, "changelist")
    query = CHANGELIST_QUERY.get(model, {})
    MAKE_ONE[model]()
    with CaptureQueriesContext(connection) as one_row:
        first = admin_client.get(url, query)
    for _ in range(19):
        MAKE_ONE[model]()

    with django_assert_num_queries(len(one_row)):
        response = admin_client.get(url, query)

    assert len(first.context["cl"].result_list) == 1
    assert len(response.context["cl"].result_list) == 20


@pytest.mark.parametrize(
    ("model", "one", "many"),
    [(model, *terms) for model, terms in REFERENCE_SEARCHES.items()],
    ids=[model_id(model) for model in REFERENCE_SEARCHES],
)
def test_admin_reference_changelist_query_count_does_not_grow_with_rows(
    admin_client, django_assert_num_queries, model, one, many
):
    url = admin_url(model, "changelist")
    with CaptureQueriesContext(connection) as one_row:
        first = admin_client.get(url, {"q": one})

    with django_assert_num_queries(len(one_row)):
        response = admin_client.get(url, {"q": many})

    assert len(first.context["cl"].result_list) == 1
    assert len(response.context["cl"].result_list) >= 10


# --- Initiatives changelist: the review queue first ---------------------------------


def test_initiative_changelist_puts_submissions_first_oldest_on_top(admin_client):
    now = timezone.now()
    older = make_initiative(status=Status.SUBMITTED, submitted_at=now - timedelta(days=3))
    newer = make_initiative(status=Status.SUBMITTED, submitted_at=now - timedelta(days=1))
    # Submitted later than both, but already dealt with: they queue behind them.
    others = {
        make_initiative(status=Status.PUBLISHED, submitted_at=now).pk,
        make_initiative(status=Status.ARCHIVED, submitted_at=now).pk,
        make_initiative(status=Status.REJECTED, submitted_at=now).pk,
        make_initiative().pk,
        make_initiative().pk,
    }

    response = admin_client.get(admin_url(Initiative, "changelist"))

    rows = [initiative.pk for initiative in response.context["cl"].result_list]
    assert rows[:2] == [older.pk, newer.pk]
    assert set(rows[2:]) == others


def test_initiative_changelist_filters_the_review_queue(admin_client):
    submitted = make_initiative(status=Status.SUBMITTED)
    make_initiative(status=Status.PUBLISHED)
    make_initiative()

    response = admin_client.get(admin_url(Initiative, "changelist"), {"status__exact": "submitted"})

    assert [i.pk for i in response.context["cl"].result_list] == [submitted.pk]


# --- Moderation actions -------------------------------------------------------------


def test_publish_action_publishes_and_tells_the_submitter(
    client, moderator, submitter, mailoutbox, django_capture_on_commit_callbacks
):
    initiative = make_initiative(status=Status.SUBMITTED, created_by=submitter)
    client.force_login(moderator)

    with django_capture_on_commit_callbacks(execute=True):
        response = post_action(client, "publish_selected", [initiative])

    assert response.status_code == 302
    assert response.url == admin_url(Initiative, "changelist")
    initiative.refresh_from_db()
    assert initiative.status == Status.PUBLISHED
    assert initiative.published_at is not None
    change = initiative.status_changes.get()
    assert (change.from_status, change.to_status, change.changed_by) == (
        Status.SUBMITTED,
        Status.PUBLISHED,
        moderator,
    )
    assert [(mail.to, mail.subject) for mail in mailoutbox] == [
        (
            ["submitter@example.org"],
            in_norwegian("Your initiative is published: %(title)s", title=initiative.title),
        )
    ]
    assert shown_messages(response) == [
        ("success", count_in_norwegian("%d initiative published.", "%d initiatives published.", 1))
    ]


@pytest.mark.parametrize(
    ("action", "move", "status"),
    [
        ("publish_selected", "publish", Status.DRAFT),
        ("publish_selected", "publish", Status.REJECTED),
        ("archive_selected", "archive", Status.SUBMITTED),
        ("archive_selected", "archive", Status.DRAFT),
    ],
)
def test_illegal_action_warns_and_changes_nothing(
    client,
    moderator,
    submitter,
    mailoutbox,
    django_capture_on_commit_callbacks,
    action,
    move,
    status,
):
    initiative = make_initiative(status=status, created_by=submitter)
    target = Initiative.TRANSITIONS[move][1]
    client.force_login(moderator)

    with django_capture_on_commit_callbacks(execute=True):
        response = post_action(client, action, [initiative])

    initiative.refresh_from_db()
    assert initiative.status == status
    assert initiative.status_changes.count() == 0
    assert mailoutbox == []
    warning = in_norwegian(
        "An initiative that is “%(current)s” cannot be moved to “%(target)s”.",
        current=Status(status).label,
        target=target.label,
    )
    assert shown_messages(response) == [("warning", f"{initiative}: {warning}")]


def test_publish_action_on_a_mixed_selection_publishes_only_the_allowed(client, moderator):
    submitted = make_initiative(status=Status.SUBMITTED)
    draft = make_initiative()
    client.force_login(moderator)

    response = post_action(client, "publish_selected", [submitted, draft])

    submitted.refresh_from_db()
    draft.refresh_from_db()
    assert (submitted.status, draft.status) == (Status.PUBLISHED, Status.DRAFT)
    assert [level for level, _ in shown_messages(response)] == ["warning", "success"]


def test_archive_action_archives_published(
    client, moderator, submitter, mailoutbox, django_capture_on_commit_callbacks
):
    initiative = make_initiative(status=Status.PUBLISHED, created_by=submitter)
    client.force_login(moderator)

    with django_capture_on_commit_callbacks(execute=True):
        response = post_action(client, "archive_selected", [initiative])

    initiative.refresh_from_db()
    assert initiative.status == Status.ARCHIVED
    assert initiative.archived_at is not None
    change = initiative.status_changes.get()
    assert (change.from_status, change.to_status, change.changed_by) == (
        Status.PUBLISHED,
        Status.ARCHIVED,
        moderator,
    )
    assert mailoutbox == []
    assert shown_messages(response) == [
        ("success", count_in_norwegian("%d initiative archived.", "%d initiatives archived.", 1))
    ]


def test_moderator_cannot_publish_own_submission(client, moderator):
    initiative = make_initiative(status=Status.SUBMITTED, created_by=moderator)
    client.force_login(moderator)

    response = post_action(client, "publish_selected", [initiative])

    initiative.refresh_from_db()
    assert initiative.status == Status.SUBMITTED
    assert initiative.status_changes.count() == 0
    refusal = in_norwegian(
        "You submitted or changed this initiative yourself, so another moderator must decide on it."
    )
    assert shown_messages(response) == [("warning", f"{initiative}: {refusal}")]


@pytest.mark.parametrize("action", ["publish_selected", "reject_selected"])
def test_moderator_who_changed_a_submission_in_the_admin_cannot_decide_on_it(
    client, moderator, submitter, organisation, action
):
    profile_for(submitter).confirm_email()
    initiative = make_complete_initiative(lead_organisation=organisation, created_by=submitter)
    initiative.submit(by=submitter)
    client.force_login(moderator)
    url = admin_url(Initiative, "change", initiative.pk)
    post_admin_form(client, url, initiative_data(organisation, slug=initiative.slug, title="Ny"))
    data = {"reason": "Mangler resultater.", "confirm": "1"} if action == "reject_selected" else {}

    response = post_action(client, action, [initiative], **data)

    initiative.refresh_from_db()
    assert (initiative.title, initiative.status) == ("Ny", Status.SUBMITTED)
    # (The change form's own success message comes first.)
    assert [level for level, _ in shown_messages(response)][-1:] == ["warning"]
    assert "en annen moderator må avgjøre det" in shown_messages(response)[-1][1]


def test_initiative_changelist_offers_moderators_the_moves(client, moderator):
    client.force_login(moderator)

    response = client.get(admin_url(Initiative, "changelist"))

    choices = [name for name, _ in response.context["action_form"].fields["action"].choices]
    # No delete: moderators archive or reject, so the history stays.
    assert choices == [
        "",
        "publish_selected",
        "reject_selected",
        "archive_selected",
    ]


def test_staff_without_moderate_permission_cannot_publish(client):
    editor = make_user(is_staff=True)
    editor.user_permissions.add(
        *Permission.objects.filter(
            content_type__app_label="initiatives",
            codename__in=["view_initiative", "change_initiative"],
        )
    )
    initiative = make_initiative(status=Status.SUBMITTED)
    client.force_login(editor)

    response = post_action(client, "publish_selected", [initiative])

    assert response.context["action_form"] is None
    initiative.refresh_from_db()
    assert initiative.status == Status.SUBMITTED
    assert initiative.status_changes.count() == 0


def test_reject_action_asks_for_a_reason_first(client, moderator):
    initiative = make_initiative(status=Status.SUBMITTED, title="Matsvinn i barnehagen")
    client.force_login(moderator)

    response = post_action(client, "reject_selected", [initiative])

    assert response.status_code == 200
    assert response.templates[0].name == "admin/initiatives/initiative/reject_confirmation.html"
    assert response.context["form"].is_bound is False
    assert list(response.context["objects"]) == [initiative]
    assert "Matsvinn i barnehagen" in response.content.decode()
    initiative.refresh_from_db()
    assert initiative.status == Status.SUBMITTED
    assert initiative.status_changes.count() == 0


def test_reject_action_with_reason_rejects_and_stores_it(
    client, moderator, submitter, mailoutbox, django_capture_on_commit_callbacks
):
    initiative = make_initiative(status=Status.SUBMITTED, created_by=submitter)
    client.force_login(moderator)
    reason = "Legg til kontaktperson & mål."

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            admin_url(Initiative, "changelist"),
            {
                "action": "reject_selected",
                "_selected_action": [initiative.pk],
                "confirm": "yes",
                "reason": reason,
            },
        )

    assert response.status_code == 302
    initiative.refresh_from_db()
    assert (initiative.status, initiative.rejection_reason) == (Status.REJECTED, reason)
    change = initiative.status_changes.get()
    assert (change.to_status, change.changed_by, change.note) == (
        Status.REJECTED,
        moderator,
        reason,
    )
    assert [(mail.to, mail.subject) for mail in mailoutbox] == [
        (
            ["submitter@example.org"],
            in_norwegian("Your initiative needs changes: %(title)s", title=initiative.title),
        )
    ]
    assert shown_messages(response) == [
        ("success", count_in_norwegian("%d initiative rejected.", "%d initiatives rejected.", 1))
    ]


@pytest.mark.parametrize("reason", ["", "   "], ids=["empty", "blank"])
def test_reject_action_without_reason_asks_again(
    client, moderator, mailoutbox, django_capture_on_commit_callbacks, reason
):
    initiative = make_initiative(status=Status.SUBMITTED)
    client.force_login(moderator)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            admin_url(Initiative, "changelist"),
            {
                "action": "reject_selected",
                "_selected_action": [initiative.pk],
                "confirm": "yes",
                "reason": reason,
            },
        )

    assert response.status_code == 200
    assert list(response.context["form"].errors) == ["reason"]
    assert (
        escape(in_norwegian("Please write a reason for the rejection."))
        in response.content.decode()
    )
    initiative.refresh_from_db()
    assert (initiative.status, initiative.rejection_reason) == (Status.SUBMITTED, "")
    assert initiative.status_changes.count() == 0
    assert mailoutbox == []


# --- Change and add forms -----------------------------------------------------------


def initiative_data(organisation, **overrides) -> dict[str, object]:
    return {
        "title": "Matsvinn i barnehagen",
        "slug": "matsvinn-i-barnehagen",
        "summary": "Barnehager som kaster mindre mat.",
        "description": "Slik gjorde vi det.",
        "phase": Initiative.Phase.PILOT,
        "lead_organisation": organisation.pk,
        "scope": "local",
        "municipality": Municipality.objects.get(number="0301").pk,
        **overrides,
    }


def test_initiative_change_form_shows_status_read_only(admin_client):
    initiative = make_initiative(status=Status.SUBMITTED)

    response = admin_client.get(admin_url(Initiative, "change", initiative.pk))

    assert "status" not in response.context["adminform"].form.fields
    assert "status" in response.context["adminform"].readonly_fields


def test_initiative_change_form_ignores_a_posted_status(admin_client, organisation):
    initiative = make_initiative(status=Status.SUBMITTED, lead_organisation=organisation)
    url = admin_url(Initiative, "change", initiative.pk)
    data = initiative_data(
        organisation, slug=initiative.slug, title="Nytt navn", status="published"
    )

    response = post_admin_form(admin_client, url, data)

    assert response.status_code == 302
    initiative.refresh_from_db()
    assert (initiative.title, initiative.status) == ("Nytt navn", Status.SUBMITTED)
    assert initiative.status_changes.count() == 0


def test_initiative_change_form_keeps_the_history(admin_client, moderator, submitter, organisation):
    profile_for(submitter).confirm_email()
    initiative = make_complete_initiative(lead_organisation=organisation, created_by=submitter)
    initiative.submit(by=submitter)
    initiative.publish(by=moderator)
    url = admin_url(Initiative, "change", initiative.pk)
    data = initiative_data(organisation, slug=initiative.slug, title="Nytt navn")

    response = post_admin_form(admin_client, url, data)

    assert response.status_code == 302
    initiative.refresh_from_db()
    assert (initiative.title, initiative.status) == ("Nytt navn", Status.PUBLISHED)
    history = initiative.status_changes.order_by("created", "pk")
    assert list(history.values_list("from_status", "to_status", "changed_by")) == [
        (Status.DRAFT, Status.SUBMITTED, submitter.pk),
        (Status.SUBMITTED, Status.PUBLISHED, moderator.pk),
    ]


def test_initiative_change_page_lists_the_history_newest_first(admin_client):
    initiative = make_initiative(status=Status.PUBLISHED)
    now = timezone.now()
    submitted = make_status_change(initiative=initiative, created=now - timedelta(days=2))
    published = make_status_change(
        initiative=initiative,
        from_status=Status.SUBMITTED,
        to_status=Status.PUBLISHED,
        created=now - timedelta(days=1),
    )

    response = admin_client.get(admin_url(Initiative, "change", initiative.pk))

    formsets = {
        inline.formset.model: inline.formset for inline in response.context["inline_admin_formsets"]
    }
    assert [form.instance for form in formsets[InitiativeStatusChange].forms] == [
        published,
        submitted,
    ]


def test_initiative_add_saves_a_draft_owned_by_the_user(admin_client, superuser, organisation):
    response = post_admin_form(
        admin_client, admin_url(Initiative, "add"), initiative_data(organisation)
    )

    assert response.status_code == 302
    initiative = Initiative.objects.get(slug="matsvinn-i-barnehagen")
    assert (initiative.status, initiative.created_by) == (Status.DRAFT, superuser)


def test_initiative_add_refuses_end_before_start(admin_client, organisation):
    before = Initiative.objects.count()
    data = initiative_data(organisation, start_date="01.06.2026", end_date="31.05.2026")

    response = post_admin_form(admin_client, admin_url(Initiative, "add"), data)

    assert response.status_code == 200
    assert form_errors(response) == {
        "__all__": [in_norwegian("The end date cannot be before the start date.")]
    }
    assert Initiative.objects.count() == before


def test_initiative_add_refuses_a_place_that_does_not_match_the_scope(admin_client, organisation):
    before = Initiative.objects.count()
    data = initiative_data(organisation, scope="national")

    response = post_admin_form(admin_client, admin_url(Initiative, "add"), data)

    assert response.status_code == 200
    assert form_errors(response) == {
        "__all__": [
            in_norwegian(
                "A local initiative needs a municipality and no county, a regional one a county "
                "and no municipality, a national or Nordic one neither."
            )
        ]
    }
    assert Initiative.objects.count() == before


def organisation_data(**overrides) -> dict[str, object]:
    return {
        "name": "Bærum kommune",
        "slug": "baerum-kommune",
        "actor_type": ActorType.objects.order_by("pk").first().pk,
        **overrides,
    }


def test_organisation_add_saves_a_valid_organisation_number(admin_client):
    response = post_admin_form(
        admin_client,
        admin_url(Organisation, "add"),
        organisation_data(organisation_number="974760673"),
    )

    assert response.status_code == 302
    assert Organisation.objects.get(slug="baerum-kommune").organisation_number == "974760673"


@pytest.mark.parametrize("number", ["974760674", "97476067", "97476067x"])
def test_organisation_add_refuses_a_bad_organisation_number(admin_client, number):
    before = Organisation.objects.count()

    response = post_admin_form(
        admin_client, admin_url(Organisation, "add"), organisation_data(organisation_number=number)
    )

    assert response.status_code == 200
    message = in_norwegian(
        "%(value)s is not a valid organisation number: it must be nine digits with a correct check digit.",
        value=number,
    )
    assert form_errors(response) == {"organisation_number": [message]}
    assert escape(message) in response.content.decode()
    assert Organisation.objects.count() == before


def test_organisation_add_refuses_a_taken_organisation_number(admin_client):
    make_organisation(organisation_number="974760673")
    before = Organisation.objects.count()

    response = post_admin_form(
        admin_client,
        admin_url(Organisation, "add"),
        organisation_data(organisation_number="974760673"),
    )

    assert response.status_code == 200
    assert form_errors(response) == {
        "__all__": [
            in_norwegian(
                "Another organisation is already registered with this organisation number."
            )
        ]
    }
    assert Organisation.objects.count() == before


def test_adoption_add_saves_a_first_report(admin_client):
    initiative = make_initiative(status=Status.PUBLISHED)
    adopter = make_organisation()

    response = post_admin_form(
        admin_client,
        admin_url(Adoption, "add"),
        {"initiative": initiative.pk, "organisation": adopter.pk},
    )

    assert response.status_code == 302
    assert Adoption.objects.filter(initiative=initiative, organisation=adopter).count() == 1


def test_adoption_add_refuses_a_second_report(admin_client):
    adoption = make_adoption()
    before = Adoption.objects.count()

    response = post_admin_form(
        admin_client,
        admin_url(Adoption, "add"),
        {"initiative": adoption.initiative.pk, "organisation": adoption.organisation.pk},
    )

    assert response.status_code == 200
    assert form_errors(response) == {
        "__all__": [
            in_norwegian("This organisation has already reported that it took up this initiative.")
        ]
    }
    assert Adoption.objects.count() == before


def test_participation_add_refuses_the_same_partner_twice(admin_client):
    participation = make_participation()
    before = Participation.objects.count()

    response = post_admin_form(
        admin_client,
        admin_url(Participation, "add"),
        {
            "initiative": participation.initiative.pk,
            "organisation": participation.organisation.pk,
            "role": Participation.Role.FUNDER,
        },
    )

    assert response.status_code == 200
    assert form_errors(response) == {
        "__all__": [in_norwegian("This organisation is already a partner in the initiative.")]
    }
    assert Participation.objects.count() == before


def test_goal_is_not_editable_by_moderators(client, moderator):
    sdg = goal(14)
    client.force_login(moderator)

    response = client.post(admin_url(Goal, "change", sdg.pk), {"short_nb": "Endret"})

    assert response.status_code == 403
    sdg.refresh_from_db()
    assert sdg.short_nb == "Livet i havet"
