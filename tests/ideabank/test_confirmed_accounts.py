"""Confirmed accounts only for what reaches other people (issue 11, point 3).

Joining an organisation or a network, proposing an organisation, reporting or editing an
adoption and writing to a contact person: an account whose e-mail address was never
confirmed gets a page saying why, with a button for a new link, and nothing is saved or
sent; anonymous visitors are sent to log in.
"""

import pytest
from django.urls import reverse

from ideabank.models import OutgoingMail
from initiatives.models import Adoption, Initiative, Organisation, OrganisationMember
from networks.models import Membership
from tests.factories import (
    make_adoption,
    make_confirmed_user,
    make_initiative,
    make_membership,
    make_network,
    make_org_member,
    make_organisation,
    make_user,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def world() -> dict:
    """Something to join, propose, adopt and write to; the coordinators of a network and the
    members of an organisation who would be mailed."""
    organisation = make_organisation(name="Asker kommune")
    make_org_member(organisation=organisation, user=make_confirmed_user(email="admin@asker.no"))
    own = make_organisation(name="Bærum kommune")
    network = make_network(name="Klimanettverket", coordinator=organisation)
    make_membership(network=network, organisation=organisation, role=Membership.Role.COORDINATOR)
    initiative = make_initiative(
        status=Initiative.Status.PUBLISHED,
        lead_organisation=organisation,
        contact_name="Kari Kontakt",
        contact_email="kari@asker.no",
    )
    return {
        "organisation": organisation,
        "own": own,
        "network": network,
        "initiative": initiative,
        "adoption": make_adoption(initiative=initiative, organisation=own, note="Prøvd."),
    }


def requests(world: dict) -> dict:
    """Each view that reaches other people: its URL and what a person would post."""
    initiative, adoption = world["initiative"], world["adoption"]
    return {
        "organisation_join": (
            reverse("initiatives:organisation_join"),
            {"organisation": world["organisation"].pk},
        ),
        "organisation_propose": (
            reverse("initiatives:organisation_propose"),
            {"name": "Nytt selskap AS", "organisation_number": "", "website": ""},
        ),
        "network_join": (
            reverse("networks:network_join", args=[world["network"].slug]),
            {"organisation": world["own"].pk},
        ),
        "adoption_create": (
            reverse("initiatives:adoption_create", args=[initiative.slug]),
            {"organisation": world["own"].pk, "note": "Vi også."},
        ),
        "adoption_edit": (
            reverse("initiatives:adoption_edit", args=[initiative.slug, adoption.pk]),
            {"note": "Endret av en ubekreftet konto."},
        ),
        "contact": (
            reverse("initiatives:contact", args=[initiative.slug]),
            {"name": "Ola", "email": "ola@example.org", "message": "Hei!", "homepage": ""},
        ),
    }


VIEWS = [
    "organisation_join",
    "organisation_propose",
    "network_join",
    "adoption_create",
    "adoption_edit",
    "contact",
]


def snapshot() -> dict:
    return {
        "organisations": Organisation.objects.count(),
        "organisation members": OrganisationMember.objects.count(),
        "network memberships": Membership.objects.count(),
        "adoptions": list(Adoption.objects.values_list("organisation", "note")),
        "mails": OutgoingMail.objects.count(),
    }


@pytest.fixture
def unconfirmed(world):
    """An active member of an organisation (so every view would otherwise let them through)
    whose address was never confirmed."""
    user = make_user(email="ubekreftet@example.org")
    make_org_member(organisation=world["own"], user=user)
    return user


@pytest.mark.parametrize("view", VIEWS)
@pytest.mark.parametrize("method", ["get", "post"])
def test_unconfirmed_account_is_told_to_confirm_and_nothing_is_saved_or_sent(
    client, world, unconfirmed, mailoutbox, django_capture_on_commit_callbacks, view, method
):
    url, data = requests(world)[view]
    before = snapshot()
    client.force_login(unconfirmed)

    with django_capture_on_commit_callbacks(execute=True):
        response = getattr(client, method)(url, data)

    assert response.status_code == 403
    assert response.templates[0].name == "accounts/email_unconfirmed.html"
    assert "ubekreftet@example.org" in response.text
    assert f'action="{reverse("accounts:resend_confirmation")}"' in response.text
    assert snapshot() == before
    assert mailoutbox == []


@pytest.mark.parametrize("view", VIEWS)
def test_confirmed_account_gets_through(client, world, view):
    url, _data = requests(world)[view]
    user = make_confirmed_user()
    make_org_member(organisation=world["own"], user=user)
    client.force_login(user)

    response = client.get(url)

    assert response.status_code == 200
    assert response.templates[0].name != "accounts/email_unconfirmed.html"


@pytest.mark.parametrize("view", VIEWS)
def test_anonymous_is_sent_to_log_in(client, world, view):
    url, data = requests(world)[view]
    before = snapshot()

    response = client.post(url, data)

    assert response.status_code == 302
    assert response.url.startswith(reverse("accounts:login"))
    assert snapshot() == before


def test_unconfirmed_page_button_sends_a_new_link(
    client, world, unconfirmed, mailoutbox, django_capture_on_commit_callbacks
):
    client.force_login(unconfirmed)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("accounts:resend_confirmation"))

    assert response.status_code == 302
    assert [mail.to for mail in mailoutbox] == [["ubekreftet@example.org"]]


@pytest.mark.parametrize("action", ["approve", "decline"])
@pytest.mark.parametrize("kind", ["organisation", "network"])
def test_unconfirmed_member_cannot_decide_on_requests(
    client, world, mailoutbox, django_capture_on_commit_callbacks, action, kind
):
    # Deciding e-mails the requester: the decider's address must be real too.
    decider = make_user()
    make_org_member(organisation=world["organisation"], user=decider)
    if kind == "organisation":
        pending = make_org_member(
            organisation=world["organisation"], status=OrganisationMember.Status.REQUESTED
        )
        url = reverse(f"initiatives:membership_{action}", args=[pending.pk])
    else:
        pending = make_membership(
            network=world["network"], organisation=world["own"], status=Membership.Status.REQUESTED
        )
        url = reverse(f"networks:membership_{action}", args=[pending.pk])
    client.force_login(decider)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url)

    assert response.status_code == 403
    assert response.templates[0].name == "accounts/email_unconfirmed.html"
    pending.refresh_from_db()
    assert pending.status == "requested"
    assert mailoutbox == []
