"""Adoption feedback: how it went for an organisation that took an initiative up."""

import pytest
from django.contrib.contenttypes.models import ContentType
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from initiatives.engine import engine
from initiatives.models import Adoption, Initiative, OrganisationMember
from tests.factories import (
    confirmed,
    make_adoption,
    make_confirmed_user,
    make_initiative,
    make_moderator,
    make_org_member,
    make_organisation,
    make_user,
)

pytestmark = pytest.mark.django_db

Status = Initiative.Status
Outcome = Adoption.Outcome


def feedback_url(adoption: Adoption) -> str:
    return reverse("initiatives:adoption_feedback", args=[adoption.initiative.slug, adoption.pk])


def notices(response) -> list[str]:
    return [message.message for message in get_messages(response.wsgi_request)]


@pytest.fixture
def initiative():
    return make_initiative(status=Status.PUBLISHED, title="Ombruk av møbler")


@pytest.fixture
def adoption(initiative, organisation):
    return make_adoption(initiative=initiative, organisation=organisation, note="Prøvd i to bygg.")


@pytest.fixture
def adopter(organisation):
    """A confirmed, active member of the adopting organisation (Asker kommune)."""
    return make_org_member(organisation=organisation, user=make_confirmed_user()).user


FEEDBACK = {"outcome": Outcome.PARTLY, "effect": "Halvparten av møblene ble brukt.", "note": "Ny."}


# --- Who may ------------------------------------------------------------------------------


def test_adopter_tells_how_it_went(client, adoption, adopter, django_capture_on_commit_callbacks):
    client.force_login(adopter)
    before = timezone.now()

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(feedback_url(adoption), FEEDBACK)

    adoption.refresh_from_db()
    assert response.status_code == 302
    assert response.url == f"{adoption.initiative.get_absolute_url()}#taken-up"
    assert (adoption.outcome, adoption.effect, adoption.note) == (
        Outcome.PARTLY,
        "Halvparten av møblene ble brukt.",
        "Ny.",
    )
    assert adoption.feedback_at >= before
    assert notices(response) == [
        "Thank you. How it went for Asker kommune is shown on the initiative's page."
    ]


def test_feedback_anonymous_sent_to_login(client, adoption):
    response = client.post(feedback_url(adoption), FEEDBACK)

    assert response.status_code == 302
    assert response.url.startswith(reverse("accounts:login"))
    adoption.refresh_from_db()
    assert adoption.outcome == ""


def test_feedback_unconfirmed_member_refused(client, adoption, organisation):
    member = make_org_member(organisation=organisation, user=make_user()).user
    client.force_login(member)

    response = client.post(feedback_url(adoption), FEEDBACK)

    assert response.status_code == 403
    assert "accounts/email_unconfirmed.html" in [t.name for t in response.templates]
    adoption.refresh_from_db()
    assert adoption.outcome == ""


@pytest.mark.parametrize("who", ["other", "lead", "requested", "declined", "moderator"])
def test_feedback_refused_to_all_but_the_adopters_members(client, adoption, organisation, who):
    user = make_confirmed_user()
    if who == "other":
        make_org_member(user=user, organisation=make_organisation())
    elif who == "lead":
        make_org_member(user=user, organisation=adoption.initiative.lead_organisation)
    elif who in ("requested", "declined"):
        make_org_member(organisation=organisation, user=user, status=who)
    else:
        user = confirmed(make_moderator())
    client.force_login(user)

    responses = [client.get(feedback_url(adoption)), client.post(feedback_url(adoption), FEEDBACK)]

    assert [response.status_code for response in responses] == [403, 403]
    adoption.refresh_from_db()
    assert (adoption.outcome, adoption.feedback_at) == ("", None)


@pytest.mark.parametrize("status", [Status.DRAFT, Status.SUBMITTED, Status.ARCHIVED])
def test_feedback_on_an_unpublished_initiative_is_404(client, organisation, adopter, status):
    adoption = make_adoption(initiative=make_initiative(status=status), organisation=organisation)
    client.force_login(adopter)

    response = client.post(feedback_url(adoption), FEEDBACK)

    assert response.status_code == 404
    adoption.refresh_from_db()
    assert adoption.outcome == ""


def test_feedback_on_an_adoption_of_another_initiative_is_404(client, adoption, adopter):
    other = make_initiative(status=Status.PUBLISHED)

    client.force_login(adopter)
    response = client.get(reverse("initiatives:adoption_feedback", args=[other.slug, adoption.pk]))

    assert response.status_code == 404


def test_feedback_by_is_the_adopters_members_on_published_initiatives(adoption, adopter):
    archived = make_adoption(
        initiative=make_initiative(status=Status.ARCHIVED), organisation=adoption.organisation
    )
    make_adoption(initiative=adoption.initiative)  # another organisation's

    assert list(Adoption.objects.feedback_by(adopter)) == [adoption]
    assert archived.pk not in Adoption.objects.feedback_by(adopter).values_list("pk", flat=True)
    OrganisationMember.objects.filter(user=adopter).update(
        status=OrganisationMember.Status.DECLINED
    )
    assert list(Adoption.objects.feedback_by(adopter)) == []


# --- Bad input ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"effect": "Bra."}, "outcome", "Choose how it went."),
        ({"outcome": "brilliant"}, "outcome", None),
        ({"outcome": "worked", "effect": "x" * 10_001}, "effect", "This can be at most 2000 characters (it has 10001)."),
        ({"outcome": "worked", "note": "x" * 2001}, "note", "This can be at most 2000 characters (it has 2001)."),
    ],
)  # fmt: skip
def test_feedback_bad_input_keeps_what_was_typed_and_saves_nothing(
    client, adoption, adopter, data, field, message
):
    client.force_login(adopter)

    response = client.post(feedback_url(adoption), data)

    assert response.status_code == 200
    errors = response.context["form"].errors[field]
    assert errors == [message] if message else errors
    for name, value in data.items():
        assert response.context["form"][name].value() == value
    adoption.refresh_from_db()
    assert (adoption.outcome, adoption.effect, adoption.feedback_at) == ("", "", None)


def test_feedback_with_a_nul_byte_is_400(client, adoption, adopter):
    client.force_login(adopter)

    response = client.post(feedback_url(adoption), {"outcome": "worked", "effect": "a\x00b"})

    assert response.status_code == 400
    adoption.refresh_from_db()
    assert adoption.outcome == ""


# --- The initiative's page ------------------------------------------------------------------


def test_initiative_page_shows_feedback_beside_the_adoption_escaped(client, adoption):
    adoption.outcome = Outcome.WORKED
    adoption.effect = "<script>alert(1)</script> Mindre avfall."
    adoption.save()

    page = client.get(adoption.initiative.get_absolute_url())

    assert "How it went: It worked." in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Mindre avfall." in page.text
    assert "<script>alert(1)</script>" not in page.text
    assert feedback_url(adoption) not in page.text


def test_initiative_page_links_feedback_for_the_adopters_members_only(client, adoption, adopter):
    outsider = make_org_member(user=make_confirmed_user()).user

    client.force_login(adopter)
    mine = client.get(adoption.initiative.get_absolute_url())
    client.force_login(outsider)
    theirs = client.get(adoption.initiative.get_absolute_url())

    assert feedback_url(adoption) in mine.text
    assert "Tell how it went" in mine.text
    assert feedback_url(adoption) not in theirs.text


@pytest.mark.parametrize("adoptions", [1, 20])
def test_initiative_page_for_an_adopter_query_count_does_not_grow(
    client, django_assert_num_queries, initiative, adopter, adoptions
):
    for _ in range(adoptions):
        organisation = make_organisation()
        make_org_member(organisation=organisation, user=adopter)
        make_adoption(
            initiative=initiative, organisation=organisation, outcome=Outcome.WORKED, effect="Ja."
        )
    client.force_login(adopter)
    ContentType.objects.get_for_model(Initiative)
    engine()
    client.get(initiative.get_absolute_url())  # warm: caches of related initiatives

    # One of them for the follow button (whether they follow it); three for the comments
    # (the thread, whether they own the page, the organisations they may write for).
    with django_assert_num_queries(28):
        response = client.get(initiative.get_absolute_url())

    assert len(response.context["feedback_adoptions"]) == adoptions
    assert response.text.count("Change how it went") == adoptions


def test_moderators_see_feedback_in_the_admin(client, adoption):
    adoption.outcome = Outcome.NOT_WORKED
    adoption.effect = "Ingen effekt."
    adoption.feedback_at = timezone.now()
    adoption.save()
    client.force_login(make_moderator())

    listing = client.get(
        reverse("admin:initiatives_adoption_changelist"), {"outcome": "not_worked"}
    )
    change = client.get(reverse("admin:initiatives_adoption_change", args=[adoption.pk]))

    assert [row.pk for row in listing.context["cl"].result_list] == [adoption.pk]
    assert "Ingen effekt." in change.text
    assert 'name="outcome"' in change.text
