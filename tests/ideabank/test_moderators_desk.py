"""The moderators' desk: what waits on the admin's front page, the e-mail when an
organisation is proposed, and requests no member can decide on the moderator's own page."""

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone, translation

from ideabank import desk
from ideabank.models import Comment, OutgoingMail, profile_for
from initiatives import history
from initiatives.models import ActorType, Initiative, Organisation, OrganisationMember
from networks.models import Membership
from tests.factories import (
    confirmed,
    make_comment,
    make_comment_report,
    make_confirmed_user,
    make_initiative,
    make_membership,
    make_moderator,
    make_org_member,
    make_organisation,
    unique,
)

pytestmark = pytest.mark.django_db

with translation.override("en"):
    ADMIN = reverse("admin:index")
    MY_PAGE = reverse("initiatives:my_page")
Requested = OrganisationMember.Status.REQUESTED


def changelist(model: str, query: str) -> str:
    return f"{reverse(f'admin:{model}_changelist')}?{query}"


def make_mail(status: str) -> OutgoingMail:
    return OutgoingMail.objects.create(
        to="someone@example.org",
        language="nb",
        template="email/membership_approved",
        subject="Emne",
        body="Tekst",
        message_id=f"<{unique('mail')}@example.org>",
        status=status,
    )


def changed_since_review() -> Initiative:
    """A published initiative edited after it was reviewed (here: before the history began)."""
    initiative = make_initiative(status=Initiative.Status.PUBLISHED)
    with history.change(initiative, by=None, comment=history.EDITED):
        initiative.summary = "Endret etter publisering."
        initiative.save()
    return initiative


def request_without_decider() -> OrganisationMember:
    """A request to join an organisation nobody is an active member of."""
    return make_org_member(organisation=make_organisation(), status=Requested)


def everything_waiting(items: int = 1) -> None:
    """`items` of each thing that waits, next to things that do not."""
    for _ in range(items):
        make_initiative(status=Initiative.Status.SUBMITTED)
        changed_since_review()
        make_organisation(status=Organisation.Status.PROPOSED)
        request_without_decider()
        make_membership(status=Membership.Status.REQUESTED)
        reported = make_comment_report().comment
        make_comment_report(comment=reported)  # counted once
        make_mail(OutgoingMail.Status.FAILED)
    # None of these wait for a moderator.
    make_initiative(status=Initiative.Status.PUBLISHED)
    decided_here = make_organisation()
    make_org_member(organisation=decided_here)
    make_org_member(organisation=decided_here, status=Requested)
    make_membership()
    make_mail(OutgoingMail.Status.SENT)
    make_comment_report(handled_at=timezone.now())
    make_comment()


# --- The admin's front page ------------------------------------------------------------


def test_desk_counts_what_waits_each_with_a_link_to_those_rows(client, superuser):
    everything_waiting()
    make_initiative(status=Initiative.Status.SUBMITTED)
    client.force_login(superuser)

    response = client.get(ADMIN)

    assert [(str(item.label), item.count, item.url) for item in response.context["desk"]] == [
        (
            "Initiatives submitted for review",
            2,
            changelist("initiatives_initiative", "status__exact=submitted"),
        ),
        (
            "Published initiatives changed since their review",
            1,
            changelist("initiatives_initiative", "changed_since_review=yes"),
        ),
        (
            "Proposed organisations",
            1,
            changelist("initiatives_organisation", "status__exact=proposed"),
        ),
        (
            "Requests to join an organisation that has no member to decide them",
            1,
            changelist("initiatives_organisationmember", "without_decider=yes"),
        ),
        (
            "Requests to join a network",
            1,
            changelist("networks_membership", "status__exact=requested"),
        ),
        (
            "Comments reported and not yet handled",
            1,
            changelist("ideabank_comment", "reported=open"),
        ),
        (
            "E-mails that could not be sent",
            1,
            changelist("ideabank_outgoingmail", "status__exact=failed"),
        ),
    ]
    assert "Waiting for the moderators" in response.text
    assert (
        f'<a href="{changelist("initiatives_organisation", "status__exact=proposed")}">'
        in response.text
    )


def test_desk_shows_a_moderator_only_the_lists_they_may_see(client):
    everything_waiting()
    client.force_login(make_moderator())

    response = client.get(ADMIN)

    labels = [str(item.label) for item in response.context["desk"]]
    # The outbox is for administrators: moderators have no permission to view it.
    assert "E-mails that could not be sent" not in labels
    assert len(labels) == 6


def test_desk_is_empty_for_staff_without_permissions(client):
    everything_waiting()
    client.force_login(confirmed(make_confirmed_user(is_staff=True)))

    response = client.get(ADMIN)

    assert response.context["desk"] == []
    assert "Waiting for the moderators" not in response.text


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            changelist("initiatives_organisationmember", "without_decider=yes"),
            "requests without a decider",
        ),
        (changelist("initiatives_initiative", "changed_since_review=yes"), "changed initiatives"),
        (changelist("initiatives_organisation", "status__exact=proposed"), "proposals"),
        (changelist("ideabank_comment", "reported=open"), "reported comments"),
    ],
)
def test_desk_links_list_the_rows_it_counted(client, superuser, url, expected):
    everything_waiting()
    waiting = {
        "requests without a decider": OrganisationMember.objects.without_decider(),
        "changed initiatives": Initiative.objects.changed_since_review(),
        "proposals": Organisation.objects.proposed(),
        "reported comments": Comment.objects.with_open_reports(),
    }[expected]
    client.force_login(superuser)

    response = client.get(url)

    shown = {row.pk for row in response.context["cl"].result_list}
    assert shown == set(waiting.values_list("pk", flat=True))
    assert len(shown) == 1


def test_without_decider_counts_only_requests_no_active_member_can_decide():
    lone = request_without_decider()
    only_asked = make_organisation()
    first = make_org_member(organisation=only_asked, status=Requested)
    second = make_org_member(organisation=only_asked, status=Requested)
    decided = make_organisation()
    make_org_member(organisation=decided)
    make_org_member(organisation=decided, status=Requested)
    declined_only = make_organisation()
    make_org_member(organisation=declined_only, status=OrganisationMember.Status.DECLINED)

    assert set(OrganisationMember.objects.without_decider()) == {lone, first, second}


@pytest.mark.parametrize("items", [1, 20])
def test_desk_query_count_does_not_grow(client, superuser, django_assert_num_queries, items):
    everything_waiting(items)
    client.force_login(superuser)
    client.get(ADMIN)  # content types and sessions warmed

    # Session and user; one count for each of the seven; the admin's recent actions.
    with django_assert_num_queries(10):
        response = client.get(ADMIN)

    assert [item.count for item in response.context["desk"]] == [items] * 7


def test_desk_waiting_needs_a_view_permission_for_each_list():
    user = make_confirmed_user(is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_organisation"))

    assert [str(item.label) for item in desk.waiting(user)] == ["Proposed organisations"]


# --- The e-mail when an organisation is proposed ------------------------------------


def proposal() -> dict:
    return {
        "name": "Grønn Framtid Bærum",
        "organisation_number": "",
        "actor_type": ActorType.objects.order_by("pk").first().pk,
        "municipality": "",
        "website": "",
        "description": "Vi jobber med gjenbruk.",
    }


def test_proposing_an_organisation_emails_the_moderators_in_their_language(
    client, settings, mailoutbox, django_capture_on_commit_callbacks
):
    settings.SITE_URL = "https://idebanken.example"
    norwegian = confirmed(make_moderator(email="moderator@example.org"))
    english = confirmed(make_moderator(email="moderator-en@example.org"))
    profile = profile_for(english)
    profile.language = "en"
    profile.save()
    proposer = make_confirmed_user(first_name="Kari", last_name="Nordmann")
    client.force_login(proposer)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("initiatives:organisation_propose"), proposal())

    assert response.status_code == 302
    organisation = Organisation.objects.get(name="Grønn Framtid Bærum")
    by_address = {mail.to[0]: mail for mail in mailoutbox}
    assert set(by_address) == {norwegian.email, english.email}
    mail = by_address[english.email]
    assert mail.subject == "New organisation proposed: Grønn Framtid Bærum"
    assert "Kari Nordmann has proposed the organisation Grønn Framtid Bærum" in mail.body
    change = reverse("admin:initiatives_organisation_change", args=[organisation.pk])
    assert f"https://idebanken.example{change}" in mail.body
    # Plain text, not HTML-escaped.
    assert "&" not in mail.subject
    assert "&#" not in mail.body
    assert proposer.email not in by_address


def test_a_refused_proposal_emails_nobody(client, mailoutbox, django_capture_on_commit_callbacks):
    confirmed(make_moderator())
    client.force_login(make_confirmed_user())

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("initiatives:organisation_propose"), {**proposal(), "name": ""}
        )

    assert response.status_code == 200
    assert mailoutbox == []


# --- The moderator's own page ----------------------------------------------------------


def test_my_page_shows_a_moderator_the_requests_no_member_can_decide(client):
    lone = request_without_decider()
    decided_here = make_organisation(name="Har medlemmer")
    make_org_member(organisation=decided_here)
    make_org_member(organisation=decided_here, status=Requested)
    client.force_login(confirmed(make_moderator()))

    response = client.get(MY_PAGE)

    assert list(response.context["undecided_requests"]) == [lone]
    assert "Requests for a moderator" in response.text
    assert f'action="{reverse("initiatives:membership_approve", args=[lone.pk])}"' in response.text
    assert f'action="{reverse("initiatives:membership_decline", args=[lone.pk])}"' in response.text
    assert "Har medlemmer" not in response.text


def test_my_page_hides_the_moderators_requests_from_others(client):
    request_without_decider()
    client.force_login(make_confirmed_user())

    response = client.get(MY_PAGE)

    assert list(response.context["undecided_requests"]) == []
    assert "Requests for a moderator" not in response.text


def test_a_moderator_approves_from_their_page(
    client, mailoutbox, django_capture_on_commit_callbacks
):
    lone = request_without_decider()
    moderator = confirmed(make_moderator())
    client.force_login(moderator)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("initiatives:membership_approve", args=[lone.pk]))

    lone.refresh_from_db()
    assert (lone.status, lone.approved_by) == (OrganisationMember.Status.ACTIVE, moderator)
    assert response.url == MY_PAGE
    assert [mail.to for mail in mailoutbox] == [[lone.user.email]]
    assert client.get(MY_PAGE).context["undecided_requests"].count() == 0


@pytest.mark.parametrize("items", [1, 20])
def test_my_page_for_a_moderator_query_count_does_not_grow(
    client, django_assert_num_queries, items
):
    for _ in range(items):
        request_without_decider()
    client.force_login(confirmed(make_moderator()))

    # Session, user, memberships, profile, the moderator check (permissions of user and
    # groups), the requests no member can decide, the initiatives. (A member of no
    # organisation: no requests to join theirs or adoptions to read.)
    with django_assert_num_queries(8):
        response = client.get(MY_PAGE)

    assert len(response.context["undecided_requests"]) == items
    assert response.text.count(">Approve<") == items
