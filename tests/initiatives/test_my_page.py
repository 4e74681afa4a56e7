"""My page: the user's organisations, requests to join them, initiatives and adoptions."""

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from ideabank.models import profile_for
from initiatives.models import Initiative, OrganisationMember
from tests.factories import (
    make_adoption,
    make_initiative,
    make_moderator,
    make_org_member,
    make_organisation,
    make_user,
)

pytestmark = pytest.mark.django_db

Status = Initiative.Status
with translation.override("en"):
    MY_PAGE = reverse("initiatives:my_page")


def confirmed(user):
    profile = profile_for(user)
    profile.email_confirmed_at = timezone.now()
    profile.save()
    return user


@pytest.fixture
def owner(organisation):
    return make_org_member(organisation=organisation, user=confirmed(make_user())).user


def test_my_page_anonymous_sent_to_login(client):
    response = client.get(MY_PAGE)

    assert response.status_code == 302
    assert response.url.startswith(reverse("accounts:login"))


def test_my_page_lists_own_and_led_initiatives_only(client, owner, organisation):
    created = make_initiative(created_by=owner, title="Mitt utkast")
    led = make_initiative(lead_organisation=organisation, status=Status.PUBLISHED, title="Vårt")
    make_initiative(status=Status.PUBLISHED, title="Andres")
    client.force_login(owner)

    response = client.get(MY_PAGE)

    assert {i.pk for i in response.context["initiatives"]} == {created.pk, led.pk}
    assert "Andres" not in response.text


def test_my_page_shows_status_reason_and_links(client, owner, organisation):
    rejected = make_initiative(created_by=owner, status=Status.REJECTED)
    Initiative.objects.filter(pk=rejected.pk).update(rejection_reason="Mangler <b>kilder</b>.")
    published = make_initiative(lead_organisation=organisation, status=Status.PUBLISHED)
    client.force_login(owner)

    response = client.get(MY_PAGE)

    assert "Rejected" in response.text
    assert "Mangler &lt;b&gt;kilder&lt;/b&gt;." in response.text
    assert reverse("initiatives:edit", args=[rejected.slug]) in response.text
    assert reverse("initiatives:preview", args=[rejected.slug]) in response.text
    assert reverse("initiatives:detail", args=[published.slug]) in response.text
    assert f'href="{reverse("initiatives:detail", args=[rejected.slug])}"' not in response.text
    assert f'href="{reverse("initiatives:create")}"' in response.text


def test_my_page_for_a_moderator_shows_only_their_own(client):
    moderator = confirmed(make_moderator())
    own = make_initiative(created_by=moderator)
    make_initiative(status=Status.SUBMITTED)
    client.force_login(moderator)

    response = client.get(MY_PAGE)

    assert [i.pk for i in response.context["initiatives"]] == [own.pk]


def test_my_page_shows_memberships_with_their_status(client, owner, organisation):
    pending = make_organisation(name="Ventende forening")
    make_org_member(organisation=pending, user=owner, status=OrganisationMember.Status.REQUESTED)
    client.force_login(owner)

    response = client.get(MY_PAGE)

    statuses = {m.organisation.name: m.status for m in response.context["memberships"]}
    assert statuses == {"Asker kommune": "active", "Ventende forening": "requested"}
    assert "Request awaiting approval" in response.text


def test_my_page_shows_requests_to_my_organisations_with_buttons(client, owner, organisation):
    asker = make_org_member(
        organisation=organisation,
        user=make_user(email="asker@example.org"),
        status=OrganisationMember.Status.REQUESTED,
    )
    # A request to an organisation the user only asked to join is not theirs to decide.
    other = make_organisation()
    make_org_member(organisation=other, user=owner, status=OrganisationMember.Status.REQUESTED)
    make_org_member(organisation=other, status=OrganisationMember.Status.REQUESTED)
    client.force_login(owner)

    response = client.get(MY_PAGE)

    assert list(response.context["join_requests"]) == [asker]
    assert reverse("initiatives:membership_approve", args=[asker.pk]) in response.text
    assert reverse("initiatives:membership_decline", args=[asker.pk]) in response.text


def test_my_page_shows_whether_each_requester_has_confirmed_their_address(
    client, owner, organisation
):
    # Was: the approver saw the address as if it were an identity, with nothing saying
    # it was never confirmed.
    make_org_member(
        organisation=organisation,
        user=confirmed(make_user(email="confirmed@example.org")),
        status=OrganisationMember.Status.REQUESTED,
    )
    make_org_member(
        organisation=organisation,
        user=make_user(email="unconfirmed@example.org"),
        status=OrganisationMember.Status.REQUESTED,
    )
    client.force_login(owner)

    response = client.get(MY_PAGE)

    shown = {
        request.user.email: request.email_confirmed_at is not None
        for request in response.context["join_requests"]
    }
    assert shown == {"confirmed@example.org": True, "unconfirmed@example.org": False}
    assert response.text.count("E-mail address confirmed") == 1
    assert response.text.count("E-mail address not confirmed") == 1


def test_my_page_shows_my_organisations_adoptions_with_edit_links(client, owner, organisation):
    adoption = make_adoption(organisation=organisation, note="<i>Prøvd</i>")
    make_adoption()
    client.force_login(owner)

    response = client.get(MY_PAGE)

    assert list(response.context["adoptions"]) == [adoption]
    assert (
        reverse("initiatives:adoption_edit", args=[adoption.initiative.slug, adoption.pk])
        in response.text
    )
    assert "&lt;i&gt;Prøvd&lt;/i&gt;" in response.text


def test_my_page_leaves_out_adoptions_of_initiatives_no_longer_public(client, owner, organisation):
    adoption = make_adoption(organisation=organisation)
    adoption.initiative.withdraw(by=None)
    Initiative.objects.filter(pk=adoption.initiative.pk).update(title="KONFIDENSIELT UTKAST")
    client.force_login(owner)

    response = client.get(MY_PAGE)

    assert list(response.context["adoptions"]) == []
    assert "KONFIDENSIELT UTKAST" not in response.text


def test_my_page_unconfirmed_email_offers_a_new_link(client, submitter):
    client.force_login(submitter)

    response = client.get(MY_PAGE)

    assert "Confirm your e-mail address submitter@example.org" in response.text
    assert f'action="{reverse("accounts:resend_confirmation")}"' in response.text


def test_my_page_confirmed_email_has_no_notice(client, owner):
    client.force_login(owner)

    response = client.get(MY_PAGE)

    assert "Confirm your e-mail address" not in response.text
    assert reverse("accounts:resend_confirmation") not in response.text


@pytest.mark.parametrize("items", [1, 20])
def test_my_page_query_count_does_not_grow(client, django_assert_num_queries, items):
    user = confirmed(make_user())
    for _ in range(items):
        organisation = make_organisation()
        make_org_member(organisation=organisation, user=user)
        make_initiative(created_by=user, status=Status.REJECTED)
        make_initiative(lead_organisation=organisation, status=Status.PUBLISHED)
        make_adoption(organisation=organisation)
        make_org_member(organisation=organisation, status=OrganisationMember.Status.REQUESTED)
    client.force_login(user)

    # Two of them the moderator check (permissions of user and groups): moderators also
    # see the requests no member can decide (tests/ideabank/test_moderators_desk.py).
    with django_assert_num_queries(9):
        response = client.get(MY_PAGE)

    assert len(response.context["initiatives"]) == 2 * items
    assert len(response.context["join_requests"]) == items
    assert len(response.context["adoptions"]) == items
    assert len(response.context["memberships"]) == items
