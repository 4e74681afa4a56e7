"""Adoption and member prompts on an initiative's page, right for each person: what they
can do about "we took this up", or what they must do first."""

import pytest
from django.urls import reverse

from initiatives.models import Initiative, Organisation, OrganisationMember
from tests.factories import (
    confirmed,
    make_confirmed_user,
    make_initiative,
    make_moderator,
    make_org_member,
    make_organisation,
)

pytestmark = pytest.mark.django_db

ADOPT_BUTTON = "Our organisation has taken this up"
JOIN_PROMPT = "Join your organisation</a> to report it"
LEADS_IT = "Your organisation leads this initiative."
CONFIRM_PROMPT = "Confirm your e-mail address"
WAITING = "is waiting for approval"


@pytest.fixture
def lead():
    return make_organisation(name="Bergen kommune")


@pytest.fixture
def initiative(lead):
    return make_initiative(
        status=Initiative.Status.PUBLISHED, title="Klesbytte i barnehagen", lead_organisation=lead
    )


def page(client, initiative: Initiative) -> str:
    response = client.get(initiative.get_absolute_url())
    assert response.status_code == 200
    return response.text


def test_prompt_for_a_logged_out_visitor_is_to_log_in(client, initiative):
    text = page(client, initiative)

    login = f"{reverse('accounts:login')}?next={initiative.get_absolute_url()}"
    assert f'<a class="ds-link" href="{login}">Log in</a> to tell us.' in text
    assert ADOPT_BUTTON not in text
    assert JOIN_PROMPT not in text


def test_prompt_for_an_unconfirmed_address_is_to_confirm_it(client, initiative):
    member = make_org_member(organisation=make_organisation()).user  # not confirmed
    client.force_login(member)

    text = page(client, initiative)

    assert f"{CONFIRM_PROMPT} {member.email}" in text
    assert f'action="{reverse("accounts:resend_confirmation")}"' in text
    assert ADOPT_BUTTON not in text
    assert JOIN_PROMPT not in text


def test_prompt_for_a_request_awaiting_approval_names_the_organisation(client, initiative):
    user = make_confirmed_user()
    make_org_member(
        organisation=make_organisation(name="Voss herad"),
        user=user,
        status=OrganisationMember.Status.REQUESTED,
    )
    client.force_login(user)

    text = page(client, initiative)

    assert f"Your request to join Voss herad {WAITING}." in text
    assert JOIN_PROMPT not in text
    assert ADOPT_BUTTON not in text


def test_prompt_for_the_proposer_of_an_organisation_awaiting_approval(client, initiative):
    proposed = make_organisation(name="Ny forening", status=Organisation.Status.PROPOSED)
    user = make_org_member(
        organisation=proposed, user=make_confirmed_user(), role=OrganisationMember.Role.ADMIN
    ).user
    client.force_login(user)

    text = page(client, initiative)

    assert "Ny forening, which you proposed, is waiting for a moderator's approval." in text
    assert JOIN_PROMPT not in text
    assert ADOPT_BUTTON not in text


def test_prompt_for_a_member_of_the_lead_organisation_has_no_adopt_button(client, initiative, lead):
    client.force_login(make_org_member(organisation=lead, user=make_confirmed_user()).user)

    response = client.get(initiative.get_absolute_url())

    assert response.context["adoption_form"] is None
    assert LEADS_IT in response.text
    assert ADOPT_BUTTON not in response.text
    assert JOIN_PROMPT not in response.text


def test_prompt_for_a_member_of_the_lead_and_another_offers_only_the_other(
    client, initiative, lead
):
    user = make_org_member(organisation=lead, user=make_confirmed_user()).user
    other = make_org_member(organisation=make_organisation(name="Voss herad"), user=user)
    client.force_login(user)

    response = client.get(initiative.get_absolute_url())

    choices = [
        value for value, _label in response.context["adoption_form"].fields["organisation"].choices
    ]
    assert choices == [other.organisation_id]
    assert LEADS_IT in response.text
    assert ADOPT_BUTTON in response.text


def test_prompt_for_a_member_of_another_organisation_is_the_adopt_form(client, initiative):
    user = make_org_member(organisation=make_organisation(), user=make_confirmed_user()).user
    client.force_login(user)

    text = page(client, initiative)

    assert ADOPT_BUTTON in text
    assert f'action="{reverse("initiatives:adoption_create", args=[initiative.slug])}"' in text
    assert LEADS_IT not in text
    assert JOIN_PROMPT not in text


def test_prompt_for_a_member_of_no_organisation_is_to_join_one(client, initiative):
    client.force_login(make_confirmed_user())

    text = page(client, initiative)

    assert f'<a class="ds-link" href="{reverse("initiatives:organisation_join")}">' in text
    assert JOIN_PROMPT in text
    assert ADOPT_BUTTON not in text
    assert WAITING not in text


def test_preview_does_not_invite_the_lead_organisation_to_adopt(client, lead):
    draft = make_initiative(lead_organisation=lead)
    client.force_login(confirmed(make_org_member(organisation=lead).user))

    response = client.get(reverse("initiatives:preview", args=[draft.slug]))

    assert response.status_code == 200
    assert "other organisations can report here that they have taken it up" in response.text
    assert ADOPT_BUTTON not in response.text
    assert JOIN_PROMPT not in response.text
    assert "Log in</a> to tell us" not in response.text


def test_preview_by_a_moderator_outside_the_organisation_invites_nobody(client, lead):
    submitted = make_initiative(lead_organisation=lead, status=Initiative.Status.SUBMITTED)
    client.force_login(confirmed(make_moderator()))

    response = client.get(reverse("initiatives:preview", args=[submitted.slug]))

    assert response.status_code == 200
    assert JOIN_PROMPT not in response.text
    assert ADOPT_BUTTON not in response.text
