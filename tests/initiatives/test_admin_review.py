"""Moderation in the admin: the review page, its publish and reject forms, proposed
organisations and membership requests, and the e-mails that follow."""

from urllib.parse import quote

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Permission
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import translation
from django.utils.html import escape

from ideabank.models import profile_for
from initiatives.models import (
    Initiative,
    Organisation,
    OrganisationMember,
    Target,
)
from tests.factories import (
    goal,
    make_attachment,
    make_complete_initiative,
    make_focus_area,
    make_initiative,
    make_link,
    make_moderator,
    make_org_member,
    make_organisation,
    make_participation,
    make_purpose,
    make_status_change,
    make_user,
)

pytestmark = pytest.mark.django_db

Status = Initiative.Status
SITE_URL = "http://testserver"


@pytest.fixture(autouse=True)
def _site_url(settings):
    settings.SITE_URL = SITE_URL


# --- Helpers ------------------------------------------------------------------------


def url(name: str, *args) -> str:
    """An admin address as staff use it: the Bokmål admin, without a language prefix."""
    with translation.override("nb"):
        return reverse(f"admin:initiatives_{name}", args=args)


def review_url(initiative: Initiative, action: str = "") -> str:
    return url(f"initiative_review{'_' + action if action else ''}", initiative.pk)


def in_norwegian(message: str, **params) -> str:
    """The message as the Bokmål admin shows it (the English source until it is translated)."""
    with translation.override("nb"):
        text = translation.gettext(message)
    return text % params if params else text


def shown_messages(response) -> list[tuple[str, str]]:
    return [(message.level_tag, message.message) for message in get_messages(response.wsgi_request)]


def staff_without_moderation():
    """Staff who may view and change initiatives but not moderate them."""
    editor = make_user(is_staff=True)
    editor.user_permissions.add(
        *Permission.objects.filter(
            content_type__app_label="initiatives",
            codename__in=["view_initiative", "change_initiative"],
        )
    )
    return editor


@pytest.fixture
def submitted(submitter, organisation):
    return make_initiative(
        status=Status.SUBMITTED,
        created_by=submitter,
        lead_organisation=organisation,
        title="Matsvinn i barnehagen",
        summary="Barnehager som veier maten de kaster.",
        description="Vi veide matsvinnet hver dag i fire uker.",
        contact_name="Kari Nordmann",
        contact_email="kari@example.org",
    )


@pytest.fixture
def moderator_client(client, moderator):
    client.force_login(moderator)
    return client


# --- The review page ---------------------------------------------------------------------


def test_review_page_shows_the_submission_as_it_will_look(moderator_client, submitted):
    partner = make_participation(initiative=submitted, organisation=make_organisation(name="Bærum"))
    submitted.goals.add(goal(12))
    make_attachment(initiative=submitted, title="Sluttrapport")
    make_link(initiative=submitted, title="Prosjektside", url="https://example.org/matsvinn")

    response = moderator_client.get(review_url(submitted))

    assert response.status_code == 200
    assert response.templates[0].name == "admin/initiatives/initiative/review.html"
    page = response.content.decode()
    for text in [
        "Matsvinn i barnehagen",
        "Barnehager som veier maten de kaster.",
        "Vi veide matsvinnet hver dag i fire uker.",
        partner.organisation.name,
        str(goal(12)),
        "Sluttrapport",
        "https://example.org/matsvinn",
        "kari@example.org",
        "submitter@example.org",
    ]:
        assert escape(text) in page, text
    assert response.context["initiative"] == submitted
    assert (response.context["can_publish"], response.context["can_reject"]) == (True, True)
    assert response.context["reject_form"].is_bound is False
    assert f'action="{review_url(submitted, "publish")}"' in page
    assert f'action="{review_url(submitted, "reject")}"' in page
    assert 'name="reason"' in page


def test_review_page_shows_the_history_newest_first(moderator_client, submitted, moderator):
    first = make_status_change(initiative=submitted, note="Første innsending")
    second = make_status_change(
        initiative=submitted,
        from_status=Status.REJECTED,
        to_status=Status.SUBMITTED,
        changed_by=moderator,
        note="Rettet kontaktperson",
    )

    response = moderator_client.get(review_url(submitted))

    assert list(response.context["history"]) == [second, first]
    page = response.content.decode()
    assert page.index("Rettet kontaktperson") < page.index("Første innsending")


def test_review_page_escapes_html_in_every_field(moderator_client, submitter, organisation):
    script = '<script>alert("x")</script>'
    initiative = make_initiative(
        status=Status.SUBMITTED,
        created_by=submitter,
        lead_organisation=organisation,
        title=f"Tittel {script}",
        summary=f"Sammendrag {script}",
        description=f"Beskrivelse {script}",
        results=script,
        frame_goals=script,
        contact_name=script,
    )

    response = moderator_client.get(review_url(initiative))

    page = response.content.decode()
    assert script not in page
    assert page.count(escape(script)) >= 7


def test_review_page_links_to_the_front_end_preview(moderator_client, submitted):
    with translation.override("nb"):
        preview = reverse("initiatives:preview", args=[submitted.slug])

    response = moderator_client.get(review_url(submitted))

    assert response.context["preview_url"] == preview
    assert f'href="{preview}"' in response.content.decode()


def test_review_page_of_a_draft_offers_no_decision(moderator_client, submitter):
    draft = make_initiative(created_by=submitter)

    response = moderator_client.get(review_url(draft))

    assert (response.context["can_publish"], response.context["can_reject"]) == (False, False)
    page = response.content.decode()
    assert review_url(draft, "publish") not in page
    assert review_url(draft, "reject") not in page


def test_review_page_query_count_does_not_grow(
    moderator_client, submitter, django_assert_num_queries
):
    def initiative_with(count: int) -> Initiative:
        initiative = make_initiative(status=Status.SUBMITTED, created_by=submitter)
        for number in range(count):
            make_participation(initiative=initiative)
            make_attachment(initiative=initiative, title=f"Vedlegg {number}")
            make_link(initiative=initiative, title=f"Lenke {number}")
            make_status_change(initiative=initiative, changed_by=submitter)
            initiative.purposes.add(make_purpose())
            initiative.focus_areas.add(make_focus_area())
            initiative.tags.add(f"stikkord-{number}")
        initiative.goals.add(*[goal(n) for n in range(1, min(count, 17) + 1)])
        initiative.targets.add(*Target.objects.order_by("pk")[:count])
        return initiative

    one, twenty = initiative_with(1), initiative_with(20)
    moderator_client.get(review_url(one))  # sessions and content types warmed

    # 17: one of them reads the edit history's versions since the last review, one who
    # made the initiative (Initiative.authors: they may not decide on it).
    with django_assert_num_queries(17):
        small = moderator_client.get(review_url(one))
    with django_assert_num_queries(17):
        large = moderator_client.get(review_url(twenty))

    assert len(small.context["initiative"].participations.all()) == 1
    assert len(large.context["initiative"].participations.all()) == 20
    assert len(large.context["history"]) == 20


def test_review_page_is_linked_from_the_change_form_and_the_queue(moderator_client, submitted):
    published = make_initiative(status=Status.PUBLISHED)

    change = moderator_client.get(url("initiative_change", submitted.pk))
    queue = moderator_client.get(url("initiative_changelist"))

    assert change.context["review_url"] == review_url(submitted)
    assert change.content.decode().count(f'href="{review_url(submitted)}"') == 2
    page = queue.content.decode()
    assert f'href="{review_url(submitted)}"' in page
    assert f'href="{review_url(published)}"' not in page


def test_review_link_is_not_offered_to_staff_who_cannot_moderate(client, submitted):
    client.force_login(staff_without_moderation())

    change = client.get(url("initiative_change", submitted.pk))
    queue = client.get(url("initiative_changelist"))

    assert "review_url" not in change.context
    assert "review_link" not in queue.context["cl"].list_display
    assert review_url(submitted) not in queue.content.decode()


# --- Publish ---------------------------------------------------------------------------


def test_review_publish_publishes_and_tells_the_submitter(
    moderator_client, moderator, submitted, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = moderator_client.post(review_url(submitted, "publish"))

    assert response.status_code == 302
    assert response.url == url("initiative_changelist")
    submitted.refresh_from_db()
    assert submitted.status == Status.PUBLISHED
    assert submitted.published_at is not None
    change = submitted.status_changes.get()
    assert (change.from_status, change.to_status, change.changed_by) == (
        Status.SUBMITTED,
        Status.PUBLISHED,
        moderator,
    )
    assert [mail.to for mail in mailoutbox] == [["submitter@example.org"]]
    with translation.override("nb"):
        public = SITE_URL + reverse("initiatives:detail", args=[submitted.slug])
    assert public in mailoutbox[0].body
    assert shown_messages(response) == [
        (
            "success",
            in_norwegian(
                "“%(title)s” is published; the submitter is told by e-mail.",
                title=submitted.title,
            ),
        )
    ]


@pytest.mark.parametrize("role", ["moderator", "superuser"])
def test_review_publish_refuses_the_submitters_own_initiative(
    client, request, organisation, mailoutbox, django_capture_on_commit_callbacks, role
):
    user = request.getfixturevalue(role)
    own = make_initiative(status=Status.SUBMITTED, created_by=user, lead_organisation=organisation)
    client.force_login(user)

    page = client.get(review_url(own))
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(review_url(own, "publish"))

    assert page.context["own_submission"] is True
    assert page.context["can_publish"] is False
    assert review_url(own, "publish") not in page.content.decode()
    assert response.status_code == 302
    assert response.url == review_url(own)
    own.refresh_from_db()
    assert own.status == Status.SUBMITTED
    assert own.status_changes.count() == 0
    assert mailoutbox == []
    assert shown_messages(response) == [
        (
            "error",
            in_norwegian(
                "You submitted or changed this initiative yourself, so another moderator "
                "must decide on it."
            ),
        )
    ]


@pytest.mark.parametrize("status", [Status.DRAFT, Status.REJECTED])
def test_review_publish_of_the_wrong_status_is_refused(moderator_client, submitter, status):
    initiative = make_initiative(status=status, created_by=submitter)

    response = moderator_client.post(review_url(initiative, "publish"))

    assert response.status_code == 302
    initiative.refresh_from_db()
    assert initiative.status == status
    assert initiative.status_changes.count() == 0
    with translation.override("nb"):
        expected = translation.gettext(
            "An initiative that is “%(current)s” cannot be moved to “%(target)s”."
        ) % {"current": Status(status).label, "target": Status.PUBLISHED.label}
    assert shown_messages(response) == [("error", expected)]


def test_review_publish_refuses_a_proposed_lead_organisation(
    moderator_client, submitter, mailoutbox, django_capture_on_commit_callbacks
):
    proposed = make_organisation(name="Nye Ås", status=Organisation.Status.PROPOSED)
    initiative = make_initiative(
        status=Status.SUBMITTED, created_by=submitter, lead_organisation=proposed
    )

    page = moderator_client.get(review_url(initiative))
    with django_capture_on_commit_callbacks(execute=True):
        response = moderator_client.post(review_url(initiative, "publish"))

    assert page.context["lead_is_proposed"] is True
    assert page.context["can_publish"] is False
    assert review_url(initiative, "approve_organisation") in page.content.decode()
    initiative.refresh_from_db()
    assert initiative.status == Status.SUBMITTED
    assert initiative.status_changes.count() == 0
    assert mailoutbox == []
    assert shown_messages(response) == [
        (
            "error",
            in_norwegian(
                "Approve the organisation “%(organisation)s” first: an initiative cannot be "
                "published while its lead organisation is only proposed.",
                organisation="Nye Ås",
            ),
        )
    ]


def test_review_approve_organisation_then_publish(moderator_client, moderator, submitter):
    proposed = make_organisation(name="Nye Ås", status=Organisation.Status.PROPOSED)
    initiative = make_initiative(
        status=Status.SUBMITTED, created_by=submitter, lead_organisation=proposed
    )

    approved = moderator_client.post(review_url(initiative, "approve_organisation"))
    published = moderator_client.post(review_url(initiative, "publish"))

    assert approved.url == review_url(initiative)
    assert shown_messages(approved) == [
        ("success", in_norwegian("The organisation “%(name)s” is approved.", name="Nye Ås"))
    ]
    proposed.refresh_from_db()
    assert proposed.status == Organisation.Status.APPROVED
    assert LogEntry.objects.get(object_id=str(proposed.pk)).user == moderator
    initiative.refresh_from_db()
    assert published.status_code == 302
    assert initiative.status == Status.PUBLISHED


# --- Reject ----------------------------------------------------------------------------------


@pytest.mark.parametrize("reason", ["", "   \n  "], ids=["empty", "blank"])
def test_review_reject_without_a_reason_changes_nothing(
    moderator_client, submitted, mailoutbox, django_capture_on_commit_callbacks, reason
):
    with django_capture_on_commit_callbacks(execute=True):
        response = moderator_client.post(review_url(submitted, "reject"), {"reason": reason})

    assert response.status_code == 200
    assert list(response.context["reject_form"].errors) == ["reason"]
    page = response.content.decode()
    assert escape(in_norwegian("Please write a reason for the rejection.")) in page
    assert 'aria-invalid="true"' in page
    submitted.refresh_from_db()
    assert (submitted.status, submitted.rejection_reason) == (Status.SUBMITTED, "")
    assert submitted.status_changes.count() == 0
    assert mailoutbox == []


def test_review_reject_refuses_an_over_long_reason(moderator_client, submitted):
    response = moderator_client.post(review_url(submitted, "reject"), {"reason": "x" * 5001})

    assert response.status_code == 200
    assert list(response.context["reject_form"].errors) == ["reason"]
    submitted.refresh_from_db()
    assert submitted.status == Status.SUBMITTED


def test_review_reject_stores_the_reason_and_tells_the_submitter(
    moderator_client, moderator, submitted, mailoutbox, django_capture_on_commit_callbacks
):
    reason = "Legg til kontaktperson & mål <b>snart</b>."

    with django_capture_on_commit_callbacks(execute=True):
        response = moderator_client.post(review_url(submitted, "reject"), {"reason": reason})

    assert response.status_code == 302
    assert response.url == url("initiative_changelist")
    submitted.refresh_from_db()
    assert (submitted.status, submitted.rejection_reason) == (Status.REJECTED, reason)
    change = submitted.status_changes.get()
    assert (change.from_status, change.to_status, change.changed_by, change.note) == (
        Status.SUBMITTED,
        Status.REJECTED,
        moderator,
        reason,
    )
    assert [mail.to for mail in mailoutbox] == [["submitter@example.org"]]
    body = mailoutbox[0].body
    assert reason in body  # plain text: not HTML-escaped
    with translation.override("nb"):
        edit = SITE_URL + reverse("initiatives:edit", args=[submitted.slug])
    assert edit in body
    assert shown_messages(response) == [
        (
            "success",
            in_norwegian(
                "“%(title)s” is sent back to the submitter with your reason.",
                title=submitted.title,
            ),
        )
    ]


def test_review_reject_of_a_published_initiative_is_refused(moderator_client, submitter):
    initiative = make_initiative(status=Status.PUBLISHED, created_by=submitter)

    response = moderator_client.post(review_url(initiative, "reject"), {"reason": "Nei."})

    assert response.url == review_url(initiative)
    initiative.refresh_from_db()
    assert (initiative.status, initiative.rejection_reason) == (Status.PUBLISHED, "")
    assert [level for level, _ in shown_messages(response)] == ["error"]


# --- Who may use the review pages -------------------------------------------------------------

REVIEW_REQUESTS = [
    ("get", ""),
    ("post", "publish"),
    ("post", "reject"),
    ("post", "approve_organisation"),
]


@pytest.mark.parametrize(("method", "action"), REVIEW_REQUESTS)
def test_review_is_forbidden_to_staff_who_cannot_moderate(client, submitted, method, action):
    client.force_login(staff_without_moderation())

    response = getattr(client, method)(review_url(submitted, action), {"reason": "Nei."})

    assert response.status_code == 403
    submitted.refresh_from_db()
    assert submitted.status == Status.SUBMITTED
    assert submitted.status_changes.count() == 0


@pytest.mark.parametrize(("method", "action"), REVIEW_REQUESTS)
@pytest.mark.parametrize("who", ["anonymous", "not_staff"])
def test_review_sends_others_to_the_admin_login(client, submitted, method, action, who):
    if who == "not_staff":
        client.force_login(make_user())
    address = review_url(submitted, action)
    data = {"reason": "Nei."} if method == "post" else {}

    response = getattr(client, method)(address, data)

    assert response.status_code == 302
    assert response.url == f"{url_login()}?next={quote(address)}"
    submitted.refresh_from_db()
    assert submitted.status == Status.SUBMITTED


def url_login() -> str:
    with translation.override("nb"):
        return reverse("admin:login")


@pytest.mark.parametrize("action", ["publish", "reject", "approve_organisation"])
def test_review_actions_refuse_get(moderator_client, submitted, action):
    response = moderator_client.get(review_url(submitted, action))

    assert response.status_code == 405
    submitted.refresh_from_db()
    assert submitted.status == Status.SUBMITTED


@pytest.mark.parametrize("object_id", ["999999", "abc", "²"])
def test_review_of_an_unknown_initiative_is_404(moderator_client, object_id):
    with translation.override("nb"):
        address = reverse("admin:initiatives_initiative_review", args=[object_id])

    response = moderator_client.get(address)

    assert response.status_code == 404
    assert "initiative" not in (response.context or {})


def test_approve_organisation_needs_change_permission_on_organisations(client, submitter):
    # A moderator-like user who may moderate initiatives but not change organisations.
    reviewer = make_user(is_staff=True)
    reviewer.user_permissions.add(
        *Permission.objects.filter(
            content_type__app_label="initiatives",
            codename__in=["view_initiative", "moderate_initiative", "view_organisation"],
        )
    )
    proposed = make_organisation(status=Organisation.Status.PROPOSED)
    initiative = make_initiative(
        status=Status.SUBMITTED, created_by=submitter, lead_organisation=proposed
    )
    client.force_login(reviewer)

    response = client.post(review_url(initiative, "approve_organisation"))

    assert response.status_code == 403
    proposed.refresh_from_db()
    assert proposed.status == Organisation.Status.PROPOSED


# --- E-mails ----------------------------------------------------------------------------------


def test_submission_emails_moderators_a_link_to_the_review_page(
    submitter, organisation, mailoutbox, django_capture_on_commit_callbacks
):
    make_moderator(username="reviewer", email="reviewer@example.org")
    profile_for(submitter).confirm_email()
    initiative = make_complete_initiative(created_by=submitter, lead_organisation=organisation)

    with django_capture_on_commit_callbacks(execute=True):
        initiative.submit(by=submitter)

    assert [mail.to for mail in mailoutbox] == [["reviewer@example.org"]]
    assert SITE_URL + review_url(initiative) in mailoutbox[0].body


def test_submission_email_warns_about_a_proposed_lead_organisation(
    submitter, mailoutbox, django_capture_on_commit_callbacks
):
    make_moderator(username="reviewer", email="reviewer@example.org")
    proposed = make_organisation(name="Nye Ås", status=Organisation.Status.PROPOSED)
    profile_for(submitter).confirm_email()
    initiative = make_complete_initiative(created_by=submitter, lead_organisation=proposed)

    with django_capture_on_commit_callbacks(execute=True):
        initiative.submit(by=submitter)

    with translation.override("nb"):
        warning = translation.gettext(
            "%(organisation)s is a proposed organisation: approve it before publishing the "
            "initiative."
        ) % {"organisation": "Nye Ås"}
    assert warning in mailoutbox[0].body


@pytest.mark.parametrize(
    ("language", "subject", "prefix"),
    [
        ("nb", "Tiltaket ditt er publisert: Matsvinn i barnehagen", ""),
        ("en", "Your initiative is published: Matsvinn i barnehagen", "/en"),
    ],
)
def test_publish_email_is_in_the_submitters_language(
    moderator_client,
    submitted,
    submitter,
    mailoutbox,
    django_capture_on_commit_callbacks,
    language,
    subject,
    prefix,
):
    profile = profile_for(submitter)
    profile.language = language
    profile.save()

    with django_capture_on_commit_callbacks(execute=True):
        moderator_client.post(review_url(submitted, "publish"))

    assert [mail.subject for mail in mailoutbox] == [subject]
    assert f"{SITE_URL}{prefix}/tiltak/{submitted.slug}/" in mailoutbox[0].body


@pytest.mark.parametrize(
    ("language", "subject"),
    [
        ("nb", "Tiltaket ditt må endres: Matsvinn i barnehagen"),
        ("en", "Your initiative needs changes: Matsvinn i barnehagen"),
    ],
)
def test_reject_email_is_in_the_submitters_language(
    moderator_client,
    submitted,
    submitter,
    mailoutbox,
    django_capture_on_commit_callbacks,
    language,
    subject,
):
    profile = profile_for(submitter)
    profile.language = language
    profile.save()

    with django_capture_on_commit_callbacks(execute=True):
        moderator_client.post(review_url(submitted, "reject"), {"reason": "Mangler mål."})

    assert [mail.subject for mail in mailoutbox] == [subject]
    assert "Mangler mål." in mailoutbox[0].body


# --- Proposed organisations ----------------------------------------------------------------------


def test_organisation_list_puts_proposed_first_and_shows_the_proposer(moderator_client):
    proposer = make_user(username="forslagsstiller")
    make_organisation(name="Aaa kommune")
    proposed = make_organisation(
        name="Zzz forening", status=Organisation.Status.PROPOSED, proposed_by=proposer
    )

    response = moderator_client.get(url("organisation_changelist"))

    rows = list(response.context["cl"].result_list)
    assert rows[0] == proposed
    assert "proposed_by" in response.context["cl"].list_display
    assert "forslagsstiller" in response.content.decode()


def test_organisation_list_filters_by_status(moderator_client):
    proposed = make_organisation(status=Organisation.Status.PROPOSED)
    make_organisation()

    response = moderator_client.get(url("organisation_changelist"), {"status__exact": "proposed"})

    assert list(response.context["cl"].result_list) == [proposed]


def test_organisation_approve_action_approves_the_proposed(moderator_client, moderator):
    first = make_organisation(status=Organisation.Status.PROPOSED)
    second = make_organisation(status=Organisation.Status.PROPOSED)
    already = make_organisation()

    response = moderator_client.post(
        url("organisation_changelist"),
        {"action": "approve_selected", "_selected_action": [first.pk, second.pk, already.pk]},
    )

    assert response.status_code == 302
    statuses = Organisation.objects.filter(pk__in=[first.pk, second.pk, already.pk])
    assert set(statuses.values_list("status", flat=True)) == {Organisation.Status.APPROVED}
    assert LogEntry.objects.filter(user=moderator).count() == 2
    with translation.override("nb"):
        expected = (
            translation.ngettext("%d organisation approved.", "%d organisations approved.", 2) % 2
        )
    assert shown_messages(response) == [("success", expected)]


def test_organisation_status_is_not_editable_in_the_form(moderator_client):
    proposed = make_organisation(status=Organisation.Status.PROPOSED)

    response = moderator_client.get(url("organisation_change", proposed.pk))

    assert "status" not in response.context["adminform"].form.fields
    assert "status" in response.context["adminform"].readonly_fields


# --- Membership requests ------------------------------------------------------------------------


def test_member_list_puts_requests_first(moderator_client, organisation):
    make_org_member(organisation=organisation, user=make_user(username="aaa"))
    request = make_org_member(
        organisation=organisation,
        user=make_user(username="zzz"),
        status=OrganisationMember.Status.REQUESTED,
    )

    response = moderator_client.get(url("organisationmember_changelist"))

    assert list(response.context["cl"].result_list)[0] == request
    filtered = moderator_client.get(
        url("organisationmember_changelist"), {"status__exact": "requested"}
    )
    assert list(filtered.context["cl"].result_list) == [request]


def test_member_approve_action_lets_the_requester_in_and_tells_them(
    moderator_client, moderator, organisation, mailoutbox, django_capture_on_commit_callbacks
):
    requester = make_user(username="ny", email="ny@example.org")
    request = make_org_member(
        organisation=organisation, user=requester, status=OrganisationMember.Status.REQUESTED
    )

    with django_capture_on_commit_callbacks(execute=True):
        response = moderator_client.post(
            url("organisationmember_changelist"),
            {"action": "approve_selected", "_selected_action": [request.pk]},
        )

    assert response.status_code == 302
    request.refresh_from_db()
    assert (request.status, request.approved_by) == (OrganisationMember.Status.ACTIVE, moderator)
    assert request.approved_at is not None
    assert [mail.to for mail in mailoutbox] == [["ny@example.org"]]
    assert organisation.name in mailoutbox[0].subject


def test_member_decline_action_declines_the_request_and_tells_them(
    moderator_client, organisation, mailoutbox, django_capture_on_commit_callbacks
):
    requester = make_user(username="ny", email="ny@example.org")
    request = make_org_member(
        organisation=organisation, user=requester, status=OrganisationMember.Status.REQUESTED
    )

    with django_capture_on_commit_callbacks(execute=True):
        response = moderator_client.post(
            url("organisationmember_changelist"),
            {"action": "decline_selected", "_selected_action": [request.pk]},
        )

    assert response.status_code == 302
    request.refresh_from_db()
    # Kept as declined, so the same request cannot be made again for a while.
    assert request.status == OrganisationMember.Status.DECLINED
    assert [mail.to for mail in mailoutbox] == [["ny@example.org"]]
    assert organisation.name in mailoutbox[0].subject


def test_member_decline_action_leaves_active_members(
    moderator_client, organisation, mailoutbox, django_capture_on_commit_callbacks
):
    member = make_org_member(organisation=organisation)

    with django_capture_on_commit_callbacks(execute=True):
        response = moderator_client.post(
            url("organisationmember_changelist"),
            {"action": "decline_selected", "_selected_action": [member.pk]},
        )

    member.refresh_from_db()
    assert member.status == OrganisationMember.Status.ACTIVE
    assert mailoutbox == []
    assert [level for level, _ in shown_messages(response)] == ["warning"]


def test_member_status_is_not_editable_in_the_form(moderator_client, organisation):
    request = make_org_member(organisation=organisation, status=OrganisationMember.Status.REQUESTED)

    response = moderator_client.get(url("organisationmember_change", request.pk))

    assert "status" not in response.context["adminform"].form.fields
    assert "status" in response.context["adminform"].readonly_fields


def test_approving_a_proposed_organisation_tells_whoever_proposed_it_in_their_language(
    moderator_client, mailoutbox, django_capture_on_commit_callbacks
):
    proposer = make_user(username="forslag", email="forslag@example.org")
    profile = profile_for(proposer)
    profile.language = "en"
    profile.save()
    proposed = make_organisation(
        name="Grønn Fjord", status=Organisation.Status.PROPOSED, proposed_by=proposer
    )

    with django_capture_on_commit_callbacks(execute=True):
        moderator_client.post(
            url("organisation_changelist"),
            {"action": "approve_selected", "_selected_action": [proposed.pk]},
        )

    (mail,) = mailoutbox
    assert mail.to == ["forslag@example.org"]
    assert mail.subject == "Grønn Fjord is approved"
    assert f"/en/organisasjoner/{proposed.slug}/" in mail.body
