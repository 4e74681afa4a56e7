"""Joining an organisation, proposing one, and deciding on requests to join."""

from datetime import timedelta

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import formats, timezone, translation

from initiatives.models import ASK_AGAIN_AFTER, Organisation, OrganisationMember
from initiatives.views import JOIN_REQUESTS_PER_ACCOUNT, JOIN_REQUESTS_PER_IP
from tests.factories import (
    confirmed,
    make_confirmed_user,
    make_moderator,
    make_org_member,
    make_organisation,
    make_user,
)

pytestmark = pytest.mark.django_db

Status = OrganisationMember.Status
# English pages, so that assertions read the English source strings.
with translation.override("en"):
    JOIN = reverse("initiatives:organisation_join")
    PROPOSE = reverse("initiatives:organisation_propose")
    LOGIN = reverse("accounts:login")


def notices(response) -> list[str]:
    return [message.message for message in get_messages(response.wsgi_request)]


def decide_url(action: str, membership: OrganisationMember) -> str:
    return reverse(f"initiatives:membership_{action}", args=[membership.pk])


@pytest.fixture
def submitter():
    # Joining and proposing reach other people: only confirmed accounts may.
    return make_confirmed_user(username="submitter", email="submitter@example.org")


@pytest.fixture
def member(organisation):
    return make_org_member(
        organisation=organisation, user=make_confirmed_user(email="member@example.org")
    )


@pytest.fixture
def join_request(organisation):
    return make_org_member(
        organisation=organisation,
        user=make_user(email="asker@example.org"),
        status=Status.REQUESTED,
    )


# --- Joining ------------------------------------------------------------------------


@pytest.mark.parametrize("url", [JOIN, PROPOSE])
@pytest.mark.parametrize("method", ["get", "post"])
def test_join_and_propose_anonymous_sent_to_login(client, url, method):
    response = getattr(client, method)(url)

    assert response.status_code == 302
    assert response.url.startswith(LOGIN)
    assert OrganisationMember.objects.count() == 0


def test_join_lists_approved_organisations_by_name_only(client, submitter):
    make_organisation(name="Bodø kommune")
    make_organisation(name="Arendal kommune")
    make_organisation(name="Foreslått forening", status=Organisation.Status.PROPOSED)
    client.force_login(submitter)

    response = client.get(JOIN)

    names = [name for _pk, name in response.context["form"].fields["organisation"].choices][1:]
    assert names == ["Arendal kommune", "Bodø kommune"]
    assert "Foreslått forening" not in response.text


def test_join_search_narrows_the_list(client, submitter):
    make_organisation(name="Bodø kommune")
    make_organisation(name="Arendal kommune")
    client.force_login(submitter)

    response = client.get(JOIN, {"q": "bodø"})

    names = [name for _pk, name in response.context["form"].fields["organisation"].choices][1:]
    assert names == ["Bodø kommune"]


def test_join_sends_a_request_that_members_are_told_of(
    client, submitter, organisation, member, mailoutbox, django_capture_on_commit_callbacks
):
    client.force_login(submitter)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(JOIN, {"organisation": organisation.pk})

    membership = OrganisationMember.objects.get(user=submitter)
    assert (membership.organisation, membership.status) == (organisation, Status.REQUESTED)
    assert response.url == reverse("initiatives:my_page")
    assert notices(response) == [
        "Your request to join Asker kommune has been sent. A member of the organisation or a "
        "moderator approves it, and you get an e-mail when they have."
    ]
    assert [mail.to for mail in mailoutbox] == [["member@example.org"]]


@pytest.mark.parametrize(
    ("status", "notice"),
    [
        (Status.ACTIVE, "You are already a member of Asker kommune."),
        (
            Status.REQUESTED,
            "You have already asked to join Asker kommune. A member of the organisation or a "
            "moderator approves the request.",
        ),
    ],
)
def test_join_again_says_so_and_changes_nothing(client, submitter, organisation, status, notice):
    make_org_member(organisation=organisation, user=submitter, status=status)
    client.force_login(submitter)

    response = client.post(JOIN, {"organisation": organisation.pk})

    assert notices(response) == [notice]
    assert list(OrganisationMember.objects.values_list("status", flat=True)) == [status]


def test_join_twenty_requests_in_seconds_are_limited_with_one_mail_per_new_request(
    client, submitter, mailoutbox, django_capture_on_commit_callbacks
):
    # Was: one account sent 20 join requests in seconds, 20 e-mails to every moderator.
    make_moderator(email="moderator@example.org")
    organisations = [make_organisation(name=f"Kommune {n:02}") for n in range(20)]
    client.force_login(submitter)

    with django_capture_on_commit_callbacks(execute=True):
        statuses = [
            client.post(JOIN, {"organisation": organisation.pk}).status_code
            for organisation in organisations
        ]

    allowed = JOIN_REQUESTS_PER_ACCOUNT.limit
    assert statuses == [302] * allowed + [429] * (20 - allowed)
    assert OrganisationMember.objects.filter(user=submitter).count() == allowed
    # One mail to the moderators for each new request (these organisations have no members).
    assert [mail.to for mail in mailoutbox] == [["moderator@example.org"]] * allowed
    refused = client.post(JOIN, {"organisation": organisations[-1].pk})
    assert "Too many attempts." in refused.text
    assert 0 < int(refused["Retry-After"]) <= JOIN_REQUESTS_PER_ACCOUNT.window


def test_join_asking_again_while_waiting_mails_nobody_again(
    client, submitter, organisation, member, mailoutbox, django_capture_on_commit_callbacks
):
    client.force_login(submitter)

    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(3):
            client.post(JOIN, {"organisation": organisation.pk})

    assert OrganisationMember.objects.filter(user=submitter).count() == 1
    assert [mail.to for mail in mailoutbox] == [["member@example.org"]]


def test_join_limited_per_client_address(client, mailoutbox):
    organisation = make_organisation()
    for _ in range(JOIN_REQUESTS_PER_IP.limit):
        client.force_login(make_confirmed_user())
        client.post(JOIN, {"organisation": organisation.pk}, REMOTE_ADDR="198.51.100.7")
    latecomer = make_confirmed_user()
    client.force_login(latecomer)

    response = client.post(JOIN, {"organisation": organisation.pk}, REMOTE_ADDR="198.51.100.7")

    assert response.status_code == 429
    assert not OrganisationMember.objects.filter(user=latecomer).exists()
    # From another address the same account gets through.
    other = client.post(JOIN, {"organisation": organisation.pk}, REMOTE_ADDR="203.0.113.7")
    assert other.status_code == 302
    assert OrganisationMember.objects.filter(user=latecomer).count() == 1


@pytest.mark.parametrize("forged", ["", "abc", "999999", "99999999999999999999999", "1 OR 1=1"])
def test_join_forged_organisation_is_a_form_error(client, submitter, forged):
    make_organisation()
    client.force_login(submitter)

    response = client.post(JOIN, {"organisation": forged})

    assert response.status_code == 200
    assert response.context["form"].errors["organisation"] in (
        ["Choose one of the organisations in the list."],
        ["Choose the organisation you want to join."],
    )
    assert 'aria-invalid="true"' in response.text
    assert OrganisationMember.objects.count() == 0


def test_join_proposed_organisation_is_refused(client, submitter):
    proposed = make_organisation(status=Organisation.Status.PROPOSED)
    client.force_login(submitter)

    response = client.post(JOIN, {"organisation": proposed.pk})

    assert response.context["form"].errors["organisation"] == [
        "Choose one of the organisations in the list."
    ]
    assert not OrganisationMember.objects.filter(user=submitter).exists()


# --- Proposing ----------------------------------------------------------------------


def proposal(**overrides) -> dict:
    from initiatives.models import ActorType

    return {
        "name": "Grønn Framtid Bærum",
        "organisation_number": "",
        "actor_type": ActorType.objects.order_by("pk").first().pk,
        "municipality": "",
        "website": "",
        "description": "Vi jobber med gjenbruk.",
        **overrides,
    }


def test_propose_makes_a_proposed_organisation_with_the_proposer_as_admin(client, submitter):
    client.force_login(submitter)

    response = client.post(PROPOSE, proposal(organisation_number="974 760 673"))

    organisation = Organisation.objects.get(name="Grønn Framtid Bærum")
    assert organisation.status == Organisation.Status.PROPOSED
    assert organisation.proposed_by == submitter
    assert organisation.slug == "gronn-framtid-baerum"
    assert organisation.organisation_number == "974760673"
    membership = organisation.memberships.get()
    assert (membership.user, membership.status, membership.role) == (
        submitter,
        Status.ACTIVE,
        OrganisationMember.Role.ADMIN,
    )
    assert response.url == reverse("initiatives:my_page")


def test_propose_gives_a_taken_slug_a_number(client, submitter):
    make_organisation(name="Grønn Framtid Bærum", slug="gronn-framtid-baerum")
    client.force_login(submitter)

    client.post(PROPOSE, proposal())

    assert Organisation.objects.get(proposed_by=submitter).slug == "gronn-framtid-baerum-2"


def test_propose_slug_never_takes_a_path_of_its_own(client, submitter):
    client.force_login(submitter)

    client.post(PROPOSE, proposal(name="Bli med"))

    assert Organisation.objects.get(proposed_by=submitter).slug == "bli-med-2"


@pytest.mark.parametrize(
    ("number", "error"),
    [
        ("974760674", "not a valid organisation number"),
        ("12345", "not a valid organisation number"),
        ("x" * 30, "at most 20 characters"),
    ],
)
def test_propose_invalid_number_is_refused(client, submitter, number, error):
    client.force_login(submitter)

    response = client.post(PROPOSE, proposal(organisation_number=number))

    assert error in response.context["form"].errors["organisation_number"][0]
    assert not Organisation.objects.filter(proposed_by=submitter).exists()
    assert not OrganisationMember.objects.exists()


def test_propose_registered_number_points_to_joining(client, submitter):
    make_organisation(name="Brønnøysundregistrene", organisation_number="974760673")
    client.force_login(submitter)

    response = client.post(PROPOSE, proposal(organisation_number="974760673"))

    assert response.context["form"].errors["organisation_number"] == [
        "Brønnøysundregistrene is already registered with this organisation number. "
        "Ask to join it instead."
    ]
    assert f'href="{JOIN}?q=Br%C3%B8nn%C3%B8ysundregistrene"' in response.text
    assert Organisation.objects.count() == 1


def test_propose_number_of_a_proposed_organisation_is_refused(client, submitter):
    make_organisation(organisation_number="974760673", status=Organisation.Status.PROPOSED)
    client.force_login(submitter)

    response = client.post(PROPOSE, proposal(organisation_number="974760673"))

    assert "already been proposed" in response.context["form"].errors["organisation_number"][0]
    assert Organisation.objects.count() == 1


def test_propose_bad_input_keeps_what_was_typed(client, submitter):
    client.force_login(submitter)

    response = client.post(
        PROPOSE,
        proposal(
            name="x" * 201,
            website="not a url",
            description="d" * 3001,
            actor_type="999999",
            municipality="abc",
        ),
    )

    errors = response.context["form"].errors
    assert set(errors) == {"name", "website", "description", "actor_type", "municipality"}
    assert "x" * 201 in response.text
    assert 'class="ds-error-summary' in response.text
    assert not Organisation.objects.filter(proposed_by=submitter).exists()


def test_propose_html_in_name_is_escaped_on_my_page(client, submitter):
    client.force_login(submitter)

    client.post(PROPOSE, proposal(name="<script>alert(1)</script>"))
    response = client.get(reverse("initiatives:my_page"))

    assert "<script>alert(1)</script>" not in response.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in response.text


# --- Approving and declining ------------------------------------------------------------


@pytest.mark.parametrize("who", ["member", "moderator"])
def test_approve_lets_the_requester_in_and_tells_them(
    client, who, member, join_request, mailoutbox, django_capture_on_commit_callbacks
):
    actor = member.user if who == "member" else confirmed(make_moderator())
    client.force_login(actor)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(decide_url("approve", join_request))

    join_request.refresh_from_db()
    assert (join_request.status, join_request.approved_by) == (Status.ACTIVE, actor)
    assert join_request.approved_at is not None
    assert notices(response) == ["asker@example.org is now a member of Asker kommune."]
    assert [mail.to for mail in mailoutbox] == [["asker@example.org"]]


@pytest.mark.parametrize("who", ["member", "moderator"])
def test_decline_keeps_the_request_as_declined_and_tells_the_requester(
    client, who, member, join_request, mailoutbox, django_capture_on_commit_callbacks
):
    client.force_login(member.user if who == "member" else confirmed(make_moderator()))

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(decide_url("decline", join_request))

    declined = OrganisationMember.objects.get(pk=join_request.pk)
    assert (declined.status, declined.declined_at is not None) == (Status.DECLINED, True)
    assert notices(response) == [
        "The request from asker@example.org to join Asker kommune was declined."
    ]
    assert [mail.to for mail in mailoutbox] == [["asker@example.org"]]


def test_join_after_a_decline_is_refused_for_30_days_with_the_date(
    client, submitter, organisation, member, mailoutbox, django_capture_on_commit_callbacks
):
    # Was: a declined request could be repeated at once.
    request = make_org_member(organisation=organisation, user=submitter, status=Status.REQUESTED)
    request.decline(by=member.user)
    declined_at = timezone.now() - ASK_AGAIN_AFTER + timedelta(days=1)
    OrganisationMember.objects.filter(pk=request.pk).update(declined_at=declined_at)
    client.force_login(submitter)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(JOIN, {"organisation": organisation.pk})

    assert response.status_code == 409
    [error] = response.context["form"].errors["organisation"]
    assert error == (
        f"Asker kommune declined your request to join on "
        f"{formats.date_format(timezone.localdate(declined_at))}. You can ask again from "
        f"{formats.date_format(timezone.localdate(declined_at + ASK_AGAIN_AFTER))}."
    )
    assert OrganisationMember.objects.get(pk=request.pk).status == Status.DECLINED
    assert mailoutbox == []


def test_join_after_a_decline_30_days_ago_is_a_new_request(
    client, submitter, organisation, member, mailoutbox, django_capture_on_commit_callbacks
):
    request = make_org_member(organisation=organisation, user=submitter, status=Status.REQUESTED)
    request.decline(by=member.user)
    OrganisationMember.objects.filter(pk=request.pk).update(
        declined_at=timezone.now() - ASK_AGAIN_AFTER - timedelta(minutes=1)
    )
    client.force_login(submitter)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(JOIN, {"organisation": organisation.pk})

    assert response.status_code == 302
    again = OrganisationMember.objects.get(pk=request.pk)
    assert (again.status, again.declined_at) == (Status.REQUESTED, None)
    assert [mail.to for mail in mailoutbox] == [["member@example.org"]]


def test_approve_a_declined_request_is_refused_with_a_message(client, member, join_request):
    join_request.decline(by=member.user)
    client.force_login(member.user)

    response = client.post(decide_url("approve", join_request))

    assert response.status_code == 302
    assert notices(response) == ["Only a request to join can be approved."]
    assert OrganisationMember.objects.get(pk=join_request.pk).status == Status.DECLINED


@pytest.mark.parametrize("action", ["approve", "decline"])
def test_decide_outsider_gets_404(client, action, join_request):
    # An active member of another organisation is still an outsider here.
    outsider = make_org_member(user=make_confirmed_user()).user
    client.force_login(outsider)

    response = client.post(decide_url(action, join_request))

    assert response.status_code == 404
    join_request.refresh_from_db()
    assert join_request.status == Status.REQUESTED


@pytest.mark.parametrize("action", ["approve", "decline"])
@pytest.mark.parametrize("who", ["requester", "other requester"])
def test_decide_someone_only_asking_to_join_gets_403(client, action, who, join_request):
    if who == "requester":
        user = join_request.user
    else:
        user = make_org_member(organisation=join_request.organisation, status=Status.REQUESTED).user
    client.force_login(user)

    response = client.post(decide_url(action, join_request))

    assert response.status_code == 403
    join_request.refresh_from_db()
    assert join_request.status == Status.REQUESTED


@pytest.mark.parametrize("action", ["approve", "decline"])
def test_decide_anonymous_sent_to_login(client, action, join_request):
    response = client.post(decide_url(action, join_request))

    assert response.status_code == 302
    assert response.url.startswith(LOGIN)
    join_request.refresh_from_db()
    assert join_request.status == Status.REQUESTED


@pytest.mark.parametrize("action", ["approve", "decline"])
def test_decide_get_is_405(client, action, member, join_request):
    client.force_login(member.user)

    response = client.get(decide_url(action, join_request))

    assert response.status_code == 405
    join_request.refresh_from_db()
    assert join_request.status == Status.REQUESTED


def test_decide_unknown_request_is_404(client, member):
    client.force_login(member.user)

    response = client.post(reverse("initiatives:membership_approve", args=[999999]))

    assert response.status_code == 404


def test_decline_an_active_member_is_refused_with_a_message(client, member):
    colleague = make_org_member(organisation=member.organisation)
    client.force_login(member.user)

    response = client.post(decide_url("decline", colleague))

    assert OrganisationMember.objects.filter(pk=colleague.pk).exists()
    assert notices(response) == ["An active member cannot be declined; remove them instead."]


def test_approve_an_active_member_says_so(client, member):
    colleague = make_org_member(
        organisation=member.organisation, user=make_user(email="colleague@example.org")
    )
    client.force_login(member.user)

    response = client.post(decide_url("approve", colleague))

    assert notices(response) == ["colleague@example.org is already a member of Asker kommune."]


# --- The organisation's public page ---------------------------------------------------


def test_proposed_organisation_has_no_public_page(client):
    proposed = make_organisation(status=Organisation.Status.PROPOSED)
    approved = make_organisation()

    assert client.get(reverse("initiatives:organisation", args=[proposed.slug])).status_code == 404
    response = client.get(reverse("initiatives:organisation", args=[approved.slug]))
    assert response.context["organisation"] == approved


@pytest.mark.parametrize("items", [1, 20])
def test_join_page_query_count_does_not_grow(client, django_assert_num_queries, submitter, items):
    for _ in range(items):
        make_organisation()
    client.force_login(submitter)

    with django_assert_num_queries(4):
        response = client.get(JOIN)

    assert len(response.context["form"].fields["organisation"].choices) == items + 1
