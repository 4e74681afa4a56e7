"""Asking to join a network or sub-group, and deciding on the request.

Who may decide: moderators and the active members of the coordinating organisation. The
asking organisation's members know the request exists and get 403; anyone else, member of
the network or not, gets 404 (requests are shown to coordinators only).
"""

import pytest
from django.conf import settings
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import formats, timezone, translation

from ideabank.models import profile_for
from initiatives.models import ASK_AGAIN_AFTER, Organisation
from networks.models import Membership, Network
from networks.views import NETWORK_REQUESTS_PER_ACCOUNT, NETWORK_REQUESTS_PER_IP
from tests.factories import (
    confirmed,
    make_confirmed_user,
    make_membership,
    make_moderator,
    make_network,
    make_org_member,
    make_organisation,
    make_user,
)

pytestmark = pytest.mark.django_db

Status = Membership.Status
with translation.override("en"):
    LOGIN = reverse("accounts:login")


def notices(response) -> list[str]:
    return [message.message for message in get_messages(response.wsgi_request)]


def join_url(network: Network) -> str:
    return reverse("networks:network_join", args=[network.slug])


def decide_url(action: str, membership: Membership) -> str:
    return reverse(f"networks:membership_{action}", args=[membership.pk])


def english(user):
    profile = profile_for(user)
    profile.language = "en"
    profile.save()
    return user


@pytest.fixture
def network():
    coordinator = make_organisation(name="KS")
    network = make_network(name="Bærekraftsnettverket", coordinator=coordinator)
    make_membership(network=network, organisation=coordinator, role=Membership.Role.COORDINATOR)
    return network


@pytest.fixture
def coordinator(network):
    """An active member of the coordinating organisation."""
    return make_org_member(
        organisation=network.coordinator, user=make_confirmed_user(email="koordinator@example.org")
    ).user


@pytest.fixture
def asker():
    """An active member of Asker kommune, which is not in the network yet."""
    organisation = make_organisation(name="Asker kommune")
    return make_org_member(
        organisation=organisation, user=make_confirmed_user(email="asker@example.org")
    )


@pytest.fixture
def join_request(network, asker):
    return make_membership(
        network=network,
        organisation=asker.organisation,
        status=Status.REQUESTED,
        requested_by=asker.user,
    )


# --- Asking ---------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["get", "post"])
def test_join_anonymous_sent_to_login(client, network, method):
    response = getattr(client, method)(join_url(network))

    assert response.status_code == 302
    assert response.url.startswith(LOGIN)
    assert Membership.objects.filter(status=Status.REQUESTED).count() == 0


@pytest.mark.parametrize("method", ["get", "post"])
def test_join_without_an_organisation_is_403_with_a_way_on(client, network, method):
    user = make_confirmed_user()
    # Asking to join an organisation, or being in a proposed one, is not enough.
    make_org_member(user=user, status="requested")
    make_org_member(user=user, organisation=make_organisation(status=Organisation.Status.PROPOSED))
    client.force_login(user)

    response = getattr(client, method)(join_url(network))

    assert response.status_code == 403
    assert "Only members of an organisation can ask for it to join a network." in response.text
    assert f'href="{reverse("initiatives:organisation_join")}"' in response.text
    assert not Membership.objects.filter(status=Status.REQUESTED).exists()


def test_join_page_offers_only_organisations_that_may_ask(client, network):
    user = make_confirmed_user()
    free = make_org_member(user=user, organisation=make_organisation(name="Bodø kommune"))
    make_org_member(user=user, organisation=make_organisation(name="Arendal kommune"))
    member = make_org_member(user=user, organisation=make_organisation(name="Alta kommune"))
    waiting = make_org_member(user=user, organisation=make_organisation(name="Moss kommune"))
    make_membership(network=network, organisation=member.organisation)
    make_membership(network=network, organisation=waiting.organisation, status=Status.REQUESTED)
    client.force_login(user)

    response = client.get(join_url(network))

    choices = [name for _pk, name in response.context["form"].fields["organisation"].choices]
    assert choices == ["Arendal kommune", "Bodø kommune"]
    assert "Alta kommune is a member." in response.text
    assert "Moss kommune has asked to join and is waiting for an answer." in response.text
    assert free.organisation.name in response.text


def test_join_creates_a_request_and_tells_the_coordinators_in_their_language(
    client, network, coordinator, asker, mailoutbox, django_capture_on_commit_callbacks
):
    english(coordinator)
    norwegian = make_org_member(
        organisation=network.coordinator, user=make_user(email="norsk@example.org")
    ).user
    # Not told: someone only asking to join the coordinating organisation.
    make_org_member(organisation=network.coordinator, status="requested")
    client.force_login(asker.user)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(join_url(network), {"organisation": asker.organisation.pk})

    membership = Membership.objects.get(organisation=asker.organisation)
    assert (membership.network, membership.status, membership.requested_by) == (
        network,
        Status.REQUESTED,
        asker.user,
    )
    assert membership.since is None
    assert response.url == network.get_absolute_url()
    assert notices(response) == [
        "Asker kommune has asked to join Bærekraftsnettverket. The coordinating organisation "
        "or a moderator decides, and you get an e-mail when they have."
    ]
    mails = {tuple(mail.to): mail for mail in mailoutbox}
    assert set(mails) == {("koordinator@example.org",), (norwegian.email,)}
    assert f"/en/nettverk/{network.slug}/#requests" in mails[("koordinator@example.org",)].body
    assert (
        f"{settings.SITE_URL}/nettverk/{network.slug}/#requests" in mails[(norwegian.email,)].body
    )
    assert (
        "asker@example.org asks, on behalf of Asker kommune"
        in mails[("koordinator@example.org",)].body
    )


def test_join_without_coordinator_members_tells_the_moderators(
    client, asker, mailoutbox, django_capture_on_commit_callbacks
):
    make_moderator(email="moderator@example.org")
    network = make_network(coordinator=None)
    client.force_login(asker.user)

    with django_capture_on_commit_callbacks(execute=True):
        client.post(join_url(network), {"organisation": asker.organisation.pk})

    assert Membership.objects.get(organisation=asker.organisation).status == Status.REQUESTED
    assert [mail.to for mail in mailoutbox] == [["moderator@example.org"]]


def test_join_sub_group_is_decided_by_the_parents_coordinator(
    client, network, coordinator, asker, mailoutbox, django_capture_on_commit_callbacks
):
    subgroup = make_network(name="Transport", parent=network)
    client.force_login(asker.user)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(join_url(subgroup), {"organisation": asker.organisation.pk})

    membership = Membership.objects.get(organisation=asker.organisation)
    assert (membership.network, membership.status) == (subgroup, Status.REQUESTED)
    assert response.url == subgroup.get_absolute_url()
    assert [mail.to for mail in mailoutbox] == [["koordinator@example.org"]]


def test_join_a_former_member_may_ask_again(
    client, network, coordinator, asker, mailoutbox, django_capture_on_commit_callbacks
):
    make_membership(network=network, organisation=asker.organisation, status=Status.ENDED)
    client.force_login(asker.user)

    with django_capture_on_commit_callbacks(execute=True):
        client.post(join_url(network), {"organisation": asker.organisation.pk})

    membership = Membership.objects.get(organisation=asker.organisation)
    assert (membership.status, membership.requested_by) == (Status.REQUESTED, asker.user)
    assert len(mailoutbox) == 1


@pytest.mark.parametrize("status", [Status.REQUESTED, Status.ACTIVE])
def test_join_when_every_organisation_is_in_or_waiting_says_so(client, network, asker, status):
    make_membership(network=network, organisation=asker.organisation, status=status)
    client.force_login(asker.user)

    response = client.post(join_url(network), {"organisation": asker.organisation.pk})

    assert response.status_code == 200
    assert "form" not in response.context
    assert "Asker kommune" in response.text
    assert list(
        Membership.objects.filter(organisation=asker.organisation).values_list("status", flat=True)
    ) == [status]


@pytest.mark.parametrize(
    "forged",
    ["", "abc", "999999", "99999999999999999999999", "1 OR 1=1", "-1", "1.5"],
)
def test_join_forged_organisation_is_a_form_error(client, network, asker, forged):
    client.force_login(asker.user)

    response = client.post(join_url(network), {"organisation": forged})

    assert response.status_code == 200
    assert response.context["form"].errors["organisation"] in (
        ["Choose which of your organisations asks to join."],
        [
            "Choose one of your organisations in the list: those not already members and not "
            "already waiting for an answer."
        ],
        ["Null characters are not allowed."],
    )
    assert 'aria-invalid="true"' in response.text
    assert 'class="ds-error-summary' in response.text
    assert "<title>Error:" in response.text
    assert not Membership.objects.filter(organisation=asker.organisation).exists()


@pytest.mark.parametrize("whose", ["someone else's", "proposed", "already waiting"])
def test_join_for_an_organisation_not_offered_is_refused(client, network, asker, whose):
    if whose == "someone else's":
        other = make_organisation()
    elif whose == "proposed":
        other = make_org_member(
            user=asker.user, organisation=make_organisation(status=Organisation.Status.PROPOSED)
        ).organisation
    else:
        other = make_org_member(user=asker.user).organisation
        make_membership(network=network, organisation=other, status=Status.REQUESTED)
    client.force_login(asker.user)

    response = client.post(join_url(network), {"organisation": other.pk})

    assert "organisation" in response.context["form"].errors
    assert list(Membership.objects.filter(organisation=other).values_list("status", flat=True)) == (
        [Status.REQUESTED] if whose == "already waiting" else []
    )


def test_join_unknown_network_is_404(client, asker):
    client.force_login(asker.user)

    response = client.post(reverse("networks:network_join", args=["finnes-ikke"]))

    assert response.status_code == 404


def test_network_page_offers_the_join_form_to_members_of_organisations(client, network, asker):
    client.force_login(asker.user)

    response = client.get(network.get_absolute_url())

    form = response.context["join_form"]
    assert [name for _pk, name in form.fields["organisation"].choices] == ["Asker kommune"]
    assert f'action="{join_url(network)}"' in response.text


def test_network_page_tells_a_requester_they_are_waiting(client, network, join_request):
    client.force_login(join_request.requested_by)

    response = client.get(network.get_absolute_url())

    assert "join_form" not in response.context
    assert "Asker kommune has asked to join and is waiting for an answer." in response.text


# --- Deciding ---------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["coordinator", "moderator"])
def test_approve_makes_a_member_from_today_and_tells_the_requester(
    client, who, network, coordinator, join_request, mailoutbox, django_capture_on_commit_callbacks
):
    actor = coordinator if who == "coordinator" else confirmed(make_moderator())
    english(join_request.requested_by)
    client.force_login(actor)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(decide_url("approve", join_request))

    join_request.refresh_from_db()
    assert (join_request.status, join_request.since, join_request.approved_by) == (
        Status.ACTIVE,
        timezone.localdate(),
        actor,
    )
    assert response.url == network.get_absolute_url()
    assert notices(response) == ["Asker kommune is now a member of Bærekraftsnettverket."]
    assert [mail.to for mail in mailoutbox] == [["asker@example.org"]]
    assert mailoutbox[0].subject == "Asker kommune is now a member of Bærekraftsnettverket"
    assert f"/en/nettverk/{network.slug}/" in mailoutbox[0].body


@pytest.mark.parametrize("who", ["coordinator", "moderator"])
def test_decline_keeps_the_request_as_declined_and_tells_the_requester(
    client, who, network, coordinator, join_request, mailoutbox, django_capture_on_commit_callbacks
):
    client.force_login(coordinator if who == "coordinator" else confirmed(make_moderator()))

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(decide_url("decline", join_request))

    declined = Membership.objects.get(pk=join_request.pk)
    assert declined.status == Status.DECLINED
    assert declined.declined_at is not None
    assert notices(response) == [
        "The request from Asker kommune to join Bærekraftsnettverket was declined."
    ]
    assert [mail.to for mail in mailoutbox] == [["asker@example.org"]]
    # Bokmål is the requester's language: the link has no /en/.
    assert f"{settings.SITE_URL}/nettverk/{network.slug}/" in mailoutbox[0].body


def test_decision_without_a_requester_tells_the_organisations_members(
    client, network, coordinator, asker, mailoutbox, django_capture_on_commit_callbacks
):
    # A request entered in the admin names nobody; the organisation's members are told.
    membership = make_membership(
        network=network, organisation=asker.organisation, status=Status.REQUESTED
    )
    client.force_login(coordinator)

    with django_capture_on_commit_callbacks(execute=True):
        client.post(decide_url("approve", membership))

    assert [mail.to for mail in mailoutbox] == [["asker@example.org"]]


def test_sub_group_request_is_decided_by_the_parents_coordinator(
    client, network, coordinator, asker
):
    subgroup = make_network(parent=network)
    membership = make_membership(
        network=subgroup, organisation=asker.organisation, status=Status.REQUESTED
    )
    client.force_login(coordinator)

    response = client.post(decide_url("approve", membership))

    membership.refresh_from_db()
    assert membership.status == Status.ACTIVE
    assert response.url == subgroup.get_absolute_url()


@pytest.mark.parametrize("action", ["approve", "decline"])
def test_decide_requesting_organisations_member_gets_403(client, action, join_request):
    colleague = make_org_member(organisation=join_request.organisation).user
    client.force_login(colleague)

    response = client.post(decide_url(action, join_request))

    assert response.status_code == 403
    join_request.refresh_from_db()
    assert join_request.status == Status.REQUESTED


@pytest.mark.parametrize("action", ["approve", "decline"])
@pytest.mark.parametrize(
    "who", ["outsider", "member of another organisation", "member of a member organisation"]
)
def test_decide_outsider_gets_404(client, action, who, network, join_request):
    if who == "outsider":
        user = make_confirmed_user()
    elif who == "member of another organisation":
        user = make_org_member(user=make_confirmed_user()).user
    else:
        user = make_org_member(
            organisation=make_membership(network=network).organisation, user=make_confirmed_user()
        ).user
    client.force_login(user)

    response = client.post(decide_url(action, join_request))

    assert response.status_code == 404
    join_request.refresh_from_db()
    assert join_request.status == Status.REQUESTED


@pytest.mark.parametrize("action", ["approve", "decline"])
def test_decide_someone_only_asking_to_join_the_coordinator_gets_404(
    client, action, network, join_request
):
    user = make_org_member(
        organisation=network.coordinator, user=make_confirmed_user(), status="requested"
    ).user
    client.force_login(user)

    response = client.post(decide_url(action, join_request))

    assert response.status_code == 404
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
def test_decide_get_is_405(client, action, coordinator, join_request):
    client.force_login(coordinator)

    response = client.get(decide_url(action, join_request))

    assert response.status_code == 405
    join_request.refresh_from_db()
    assert join_request.status == Status.REQUESTED


def test_decide_unknown_request_is_404(client, coordinator):
    client.force_login(coordinator)

    response = client.post(reverse("networks:membership_approve", args=[999999]))

    assert response.status_code == 404


def test_approve_an_active_member_says_so_and_changes_nothing(
    client, network, coordinator, mailoutbox
):
    membership = make_membership(network=network, organisation=make_organisation(name="Alta"))
    client.force_login(coordinator)

    response = client.post(decide_url("approve", membership))

    membership.refresh_from_db()
    assert (membership.status, membership.since) == (Status.ACTIVE, None)
    assert notices(response) == ["Alta is already a member of Bærekraftsnettverket."]
    assert mailoutbox == []


@pytest.mark.parametrize("status", [Status.ACTIVE, Status.ENDED])
def test_decline_a_membership_that_is_no_request_is_refused(client, network, coordinator, status):
    membership = make_membership(network=network, status=status)
    client.force_login(coordinator)

    response = client.post(decide_url("decline", membership))

    assert Membership.objects.get(pk=membership.pk).status == status
    assert notices(response) == [
        "Only a request to join can be declined; end a membership in the admin."
    ]


def test_approve_an_ended_membership_is_refused(client, network, coordinator):
    membership = make_membership(network=network, status=Status.ENDED)
    client.force_login(coordinator)

    response = client.post(decide_url("approve", membership))

    assert Membership.objects.get(pk=membership.pk).status == Status.ENDED
    assert notices(response) == ["Only a request to join can be approved."]


# --- Requests on the network's page -----------------------------------------------------


@pytest.mark.parametrize("who", ["coordinator", "moderator"])
def test_page_shows_requests_with_buttons_to_those_who_decide(
    client, who, network, coordinator, join_request
):
    client.force_login(coordinator if who == "coordinator" else confirmed(make_moderator()))

    response = client.get(network.get_absolute_url())

    assert list(response.context["join_requests"]) == [join_request]
    assert f'action="{decide_url("approve", join_request)}"' in response.text
    assert f'action="{decide_url("decline", join_request)}"' in response.text
    assert "asked by asker@example.org" in response.text


@pytest.mark.parametrize("who", ["anonymous", "outsider", "requester"])
def test_page_hides_requests_from_everyone_else(client, who, network, join_request):
    if who == "outsider":
        client.force_login(make_org_member().user)
    elif who == "requester":
        client.force_login(join_request.requested_by)

    response = client.get(network.get_absolute_url())

    assert "join_requests" not in response.context
    assert decide_url("approve", join_request) not in response.text


def test_page_escapes_html_in_a_requesting_organisations_name(client, network, coordinator):
    make_membership(
        network=network,
        organisation=make_organisation(name="<script>alert(1)</script>"),
        status=Status.REQUESTED,
    )
    client.force_login(coordinator)

    response = client.get(network.get_absolute_url())

    assert "<script>alert(1)</script>" not in response.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in response.text


# --- Limits: confirmed requesters, one mail per request, no repeat after a decline ------


def test_network_page_shows_whether_each_requester_has_confirmed_their_address(
    client, network, coordinator, join_request
):
    make_membership(
        network=network,
        organisation=make_organisation(name="Bodø kommune"),
        status=Status.REQUESTED,
        requested_by=make_user(email="unconfirmed@example.org"),
    )
    client.force_login(coordinator)

    response = client.get(network.get_absolute_url())

    shown = {
        request.requested_by.email: request.requester_confirmed_at is not None
        for request in response.context["join_requests"]
    }
    assert shown == {"asker@example.org": True, "unconfirmed@example.org": False}
    assert response.text.count("E-mail address confirmed") == 1
    assert response.text.count("E-mail address not confirmed") == 1


def test_admin_memberships_list_shows_whether_the_requester_is_confirmed(admin_client, network):
    confirmed_request = make_membership(
        network=network, status=Status.REQUESTED, requested_by=make_confirmed_user()
    )
    unconfirmed_request = make_membership(
        network=network, status=Status.REQUESTED, requested_by=make_user()
    )

    response = admin_client.get(reverse("admin:networks_membership_changelist"))

    admin = response.context["cl"].model_admin
    rows = {
        row.pk: admin.requester_email_confirmed(row) for row in response.context["cl"].result_list
    }
    assert rows[confirmed_request.pk] is True
    assert rows[unconfirmed_request.pk] is False
    assert "column-requester_email_confirmed" in response.text


def test_join_asking_again_while_waiting_mails_nobody_again(
    client, network, coordinator, asker, mailoutbox, django_capture_on_commit_callbacks
):
    client.force_login(asker.user)

    with django_capture_on_commit_callbacks(execute=True):
        client.post(join_url(network), {"organisation": asker.organisation.pk})
        # A second tab, or the back button: the organisation is no longer offered.
        again = client.post(join_url(network), {"organisation": asker.organisation.pk})

    assert again.status_code == 200
    assert Membership.objects.filter(organisation=asker.organisation).count() == 1
    assert [mail.to for mail in mailoutbox] == [["koordinator@example.org"]]


def test_join_requests_are_limited_per_account_with_one_mail_per_new_request(
    client, asker, mailoutbox, django_capture_on_commit_callbacks
):
    make_moderator(email="moderator@example.org")
    networks = [make_network(coordinator=None) for _ in range(10)]
    client.force_login(asker.user)

    with django_capture_on_commit_callbacks(execute=True):
        statuses = [
            client.post(join_url(network), {"organisation": asker.organisation.pk}).status_code
            for network in networks
        ]

    allowed = NETWORK_REQUESTS_PER_ACCOUNT.limit
    assert statuses == [302] * allowed + [429] * (10 - allowed)
    assert Membership.objects.filter(organisation=asker.organisation).count() == allowed
    assert [mail.to for mail in mailoutbox] == [["moderator@example.org"]] * allowed


def test_join_requests_are_limited_per_client_address(client, network):
    for _ in range(NETWORK_REQUESTS_PER_IP.limit):
        user = make_confirmed_user()
        make_org_member(user=user)
        client.force_login(user)
        client.get(join_url(network))  # nothing counted for a look at the form
        client.post(join_url(network), {"organisation": ""}, REMOTE_ADDR="198.51.100.3")
    latecomer = make_org_member(user=make_confirmed_user())
    client.force_login(latecomer.user)

    refused = client.post(
        join_url(network), {"organisation": latecomer.organisation.pk}, REMOTE_ADDR="198.51.100.3"
    )
    elsewhere = client.post(
        join_url(network), {"organisation": latecomer.organisation.pk}, REMOTE_ADDR="203.0.113.3"
    )

    assert refused.status_code == 429
    assert "Too many attempts." in refused.text
    assert elsewhere.status_code == 302
    assert Membership.objects.get(organisation=latecomer.organisation).status == Status.REQUESTED


def test_join_after_a_decline_is_refused_for_30_days_with_the_date(
    client, network, coordinator, join_request, mailoutbox, django_capture_on_commit_callbacks
):
    # Was: a declined request could be repeated at once.
    join_request.decline(by=coordinator)
    declined_at = timezone.now() - ASK_AGAIN_AFTER + timezone.timedelta(days=1)
    Membership.objects.filter(pk=join_request.pk).update(declined_at=declined_at)
    client.force_login(join_request.requested_by)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(join_url(network), {"organisation": join_request.organisation_id})

    assert response.status_code == 409
    again = timezone.localdate(declined_at + ASK_AGAIN_AFTER)
    [error] = response.context["form"].errors["organisation"]
    assert error == (
        f"Bærekraftsnettverket declined the request from Asker kommune on "
        f"{formats.date_format(timezone.localdate(declined_at))}. "
        f"It can ask again from {formats.date_format(again)}."
    )
    assert Membership.objects.get(pk=join_request.pk).status == Status.DECLINED
    assert mailoutbox == []


def test_join_after_a_decline_30_days_ago_is_a_new_request(
    client, network, coordinator, join_request, mailoutbox, django_capture_on_commit_callbacks
):
    join_request.decline(by=coordinator)
    Membership.objects.filter(pk=join_request.pk).update(
        declined_at=timezone.now() - ASK_AGAIN_AFTER - timezone.timedelta(minutes=1)
    )
    client.force_login(join_request.requested_by)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(join_url(network), {"organisation": join_request.organisation_id})

    assert response.status_code == 302
    membership = Membership.objects.get(pk=join_request.pk)
    assert (membership.status, membership.declined_at) == (Status.REQUESTED, None)
    assert [mail.to for mail in mailoutbox] == [["koordinator@example.org"]]


def test_declined_request_does_not_keep_the_network_from_being_deleted(network, join_request):
    join_request.decline(by=None)
    Membership.objects.filter(network=network, status=Status.ACTIVE).update(status=Status.ENDED)

    network.delete()

    assert not Membership.objects.filter(pk=join_request.pk).exists()
