"""Adoption: "our organisation has taken this up", reported, edited and withdrawn."""

import pytest
from django.contrib.contenttypes.models import ContentType
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from initiatives.engine import catalogue_version, engine
from initiatives.models import Adoption, Initiative, Organisation
from tests.factories import (
    confirmed,
    make_adoption,
    make_confirmed_user,
    make_initiative,
    make_moderator,
    make_org_member,
    make_organisation,
)

pytestmark = pytest.mark.django_db

Status = Initiative.Status


def notices(response) -> list[str]:
    return [message.message for message in get_messages(response.wsgi_request)]


def create_url(initiative: Initiative) -> str:
    return reverse("initiatives:adoption_create", args=[initiative.slug])


def edit_url(adoption: Adoption) -> str:
    return reverse("initiatives:adoption_edit", args=[adoption.initiative.slug, adoption.pk])


def withdraw_url(adoption: Adoption) -> str:
    return reverse("initiatives:adoption_withdraw", args=[adoption.initiative.slug, adoption.pk])


@pytest.fixture
def initiative():
    return make_initiative(status=Status.PUBLISHED, title="Matsvinn i barnehagen")


@pytest.fixture
def submitter():
    # Adoption is a public claim: only confirmed accounts may make it.
    return make_confirmed_user(username="submitter", email="submitter@example.org")


@pytest.fixture
def member(organisation):
    """An active member of Asker kommune, which does not lead `initiative`."""
    return make_org_member(organisation=organisation, user=make_confirmed_user()).user


@pytest.fixture
def adoption(initiative, organisation):
    return make_adoption(initiative=initiative, organisation=organisation, note="Prøvd i to bhg.")


# --- Reporting ----------------------------------------------------------------------


def test_adoption_member_reports_and_the_catalogue_recounts(
    client, initiative, organisation, member, django_capture_on_commit_callbacks
):
    client.force_login(member)
    version = catalogue_version()

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            create_url(initiative), {"organisation": organisation.pk, "note": "Vi veier matsvinn."}
        )

    adoption = Adoption.objects.get()
    assert (adoption.initiative, adoption.organisation, adoption.note, adoption.reported_by) == (
        initiative,
        organisation,
        "Vi veier matsvinn.",
        member,
    )
    assert catalogue_version() > version
    assert engine().adoption_count() == 1
    assert response.url == initiative.get_absolute_url()
    assert notices(response) == ["Thank you. Asker kommune is now shown as having taken this up."]


def test_adoption_form_offers_only_my_organisations_without_an_adoption(
    client, initiative, organisation, member
):
    second = make_organisation(name="Bærum bibliotek")
    make_org_member(organisation=second, user=member)
    make_adoption(initiative=initiative, organisation=second)
    proposed = make_organisation(status=Organisation.Status.PROPOSED)
    make_org_member(organisation=proposed, user=member)
    client.force_login(member)

    response = client.get(create_url(initiative))

    offered = [name for _pk, name in response.context["form"].fields["organisation"].choices]
    assert offered == ["Asker kommune"]


def test_adoption_anonymous_sent_to_login(client, initiative, organisation):
    response = client.post(create_url(initiative), {"organisation": organisation.pk})

    assert response.status_code == 302
    assert response.url.startswith(reverse("accounts:login"))
    assert not Adoption.objects.exists()


@pytest.mark.parametrize(
    "status", [Status.DRAFT, Status.SUBMITTED, Status.REJECTED, Status.ARCHIVED]
)
def test_adoption_of_an_unpublished_initiative_is_404(client, organisation, member, status):
    hidden = make_initiative(status=status)
    client.force_login(member)

    response = client.post(create_url(hidden), {"organisation": organisation.pk})

    assert response.status_code == 404
    assert not Adoption.objects.exists()


def test_adoption_without_an_organisation_is_403_with_a_way_on(client, initiative, submitter):
    client.force_login(submitter)

    response = client.post(create_url(initiative), {"organisation": make_organisation().pk})

    assert response.status_code == 403
    assert "Only members of an organisation can report" in response.text
    assert reverse("initiatives:organisation_join") in response.text
    assert not Adoption.objects.exists()


def test_adoption_requested_membership_is_not_enough(client, initiative, organisation):
    asker = make_org_member(
        organisation=organisation, user=make_confirmed_user(), status="requested"
    ).user
    client.force_login(asker)

    response = client.post(create_url(initiative), {"organisation": organisation.pk})

    assert response.status_code == 403
    assert not Adoption.objects.exists()


@pytest.mark.parametrize("forged", ["other", "", "abc", "999999", "-1"])
def test_adoption_forged_organisation_is_a_form_error(client, initiative, member, forged):
    value = str(make_organisation().pk) if forged == "other" else forged
    client.force_login(member)

    response = client.post(create_url(initiative), {"organisation": value, "note": "x"})

    assert response.status_code == 200
    assert list(response.context["form"].errors) == ["organisation"]
    assert not Adoption.objects.exists()


def test_adoption_over_long_note_is_refused_and_kept(client, initiative, organisation, member):
    client.force_login(member)

    response = client.post(
        create_url(initiative), {"organisation": organisation.pk, "note": "n" * 2001}
    )

    assert response.context["form"].errors["note"] == [
        "The note can be at most 2000 characters (it has 2001)."
    ]
    assert "n" * 2001 in response.text
    assert not Adoption.objects.exists()


def test_adoption_twice_by_one_organisation_is_refused(
    client, initiative, organisation, member, adoption
):
    second = make_organisation()
    make_org_member(organisation=second, user=member)
    client.force_login(member)

    response = client.post(create_url(initiative), {"organisation": organisation.pk, "note": "2"})

    assert list(response.context["form"].errors) == ["organisation"]
    assert Adoption.objects.get() == adoption


def test_adoption_when_every_organisation_has_reported_says_so(
    client, initiative, member, adoption
):
    client.force_login(member)

    response = client.post(create_url(initiative), {"organisation": adoption.organisation_id})

    assert "Your organisations have already reported taking this up" in response.text
    assert edit_url(adoption) in response.text
    assert Adoption.objects.count() == 1


def test_adoption_lead_organisation_cannot_adopt_its_own(client, organisation, member):
    own = make_initiative(status=Status.PUBLISHED, lead_organisation=organisation)
    client.force_login(member)

    response = client.post(create_url(own), {"organisation": organisation.pk})

    assert "Your organisation leads this initiative" in response.text
    assert not Adoption.objects.exists()


def test_adoption_note_with_html_is_escaped_on_the_initiative_page(
    client, initiative, organisation, member
):
    client.force_login(member)
    client.post(
        create_url(initiative),
        {"organisation": organisation.pk, "note": "<script>alert(1)</script>"},
    )

    response = client.get(initiative.get_absolute_url())

    assert "<script>alert(1)</script>" not in response.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in response.text


# --- Editing and withdrawing ------------------------------------------------------------


@pytest.mark.parametrize("who", ["member", "moderator"])
def test_adoption_edit_changes_the_note(
    client, who, member, adoption, django_capture_on_commit_callbacks
):
    client.force_login(member if who == "member" else confirmed(make_moderator()))

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(edit_url(adoption), {"note": "Nå i alle barnehager."})

    adoption.refresh_from_db()
    assert adoption.note == "Nå i alle barnehager."
    assert response.url == adoption.initiative.get_absolute_url()
    assert notices(response) == ["The note from Asker kommune was saved."]


def test_adoption_edit_form_shows_the_note(client, member, adoption):
    client.force_login(member)

    response = client.get(edit_url(adoption))

    assert response.context["form"].initial["note"] == "Prøvd i to bhg."
    assert withdraw_url(adoption) in response.text


def test_adoption_edit_over_long_note_changes_nothing(client, member, adoption):
    client.force_login(member)

    response = client.post(edit_url(adoption), {"note": "n" * 2001})

    assert list(response.context["form"].errors) == ["note"]
    adoption.refresh_from_db()
    assert adoption.note == "Prøvd i to bhg."


@pytest.mark.parametrize("who", ["member", "moderator"])
def test_adoption_withdraw_removes_it_and_recounts(
    client, who, member, adoption, django_capture_on_commit_callbacks
):
    client.force_login(member if who == "member" else confirmed(make_moderator()))
    version = catalogue_version()

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(withdraw_url(adoption))

    assert not Adoption.objects.exists()
    assert catalogue_version() > version
    assert engine().adoption_count() == 0
    assert notices(response) == ["Asker kommune is no longer shown as having taken this up."]


@pytest.mark.parametrize("view", ["edit", "withdraw"])
def test_adoption_change_by_someone_else_is_403(client, view, adoption):
    # A member of another organisation sees the adoption on the public page but may not change it.
    client.force_login(make_org_member(user=make_confirmed_user()).user)

    response = client.post(
        edit_url(adoption) if view == "edit" else withdraw_url(adoption), {"note": "Kapret"}
    )

    assert response.status_code == 403
    adoption.refresh_from_db()
    assert adoption.note == "Prøvd i to bhg."


@pytest.mark.parametrize("view", ["edit", "withdraw"])
def test_adoption_change_unknown_or_unpublished_is_404(client, view, member, adoption):
    client.force_login(member)
    Initiative.objects.filter(pk=adoption.initiative_id).update(status=Status.DRAFT)
    missing = Adoption(pk=999999, initiative=make_initiative(status=Status.PUBLISHED))

    for target in (adoption, missing):
        url = edit_url(target) if view == "edit" else withdraw_url(target)
        assert client.post(url, {"note": "x"}).status_code == 404
    assert Adoption.objects.filter(pk=adoption.pk, note="Prøvd i to bhg.").exists()


@pytest.mark.parametrize("view", ["edit", "withdraw"])
def test_adoption_change_anonymous_sent_to_login(client, view, adoption):
    response = client.post(
        edit_url(adoption) if view == "edit" else withdraw_url(adoption), {"note": "x"}
    )

    assert response.status_code == 302
    assert response.url.startswith(reverse("accounts:login"))
    assert Adoption.objects.filter(pk=adoption.pk, note="Prøvd i to bhg.").exists()


def test_adoption_withdraw_get_is_405(client, member, adoption):
    client.force_login(member)

    response = client.get(withdraw_url(adoption))

    assert response.status_code == 405
    assert Adoption.objects.filter(pk=adoption.pk).exists()


def test_adoption_from_another_initiative_is_404(client, member, adoption):
    other = make_initiative(status=Status.PUBLISHED)
    client.force_login(member)

    response = client.post(reverse("initiatives:adoption_withdraw", args=[other.slug, adoption.pk]))

    assert response.status_code == 404
    assert Adoption.objects.filter(pk=adoption.pk).exists()


# --- The initiative page ----------------------------------------------------------------


def test_initiative_page_shows_who_adopted_and_when(client, initiative, adoption):
    response = client.get(initiative.get_absolute_url())

    assert "Asker kommune" in response.text
    # The page shows the Oslo date: just after midnight there, UTC is still yesterday.
    assert f'datetime="{timezone.localtime(adoption.created):%Y-%m-%d}"' in response.text
    assert "Prøvd i to bhg." in response.text
    # Anonymous visitors get neither the form nor the edit links.
    assert create_url(initiative) not in response.text
    assert edit_url(adoption) not in response.text


def test_initiative_page_offers_members_the_form(client, initiative, member):
    client.force_login(member)

    response = client.get(initiative.get_absolute_url())

    assert f'action="{create_url(initiative)}"' in response.text
    assert "Our organisation has taken this up" in response.text


def test_initiative_page_offers_members_their_own_adoption_to_change(
    client, initiative, member, adoption
):
    others = make_adoption(initiative=initiative)
    client.force_login(member)

    response = client.get(initiative.get_absolute_url())

    assert edit_url(adoption) in response.text
    assert edit_url(others) not in response.text
    assert response.context["adoption_form"] is None


def test_initiative_page_without_organisation_points_to_joining(client, initiative):
    client.force_login(make_confirmed_user())

    response = client.get(initiative.get_absolute_url())

    assert reverse("initiatives:organisation_join") in response.text
    assert create_url(initiative) not in response.text


def test_initiative_page_proposed_adopter_is_not_a_link(client, initiative):
    proposed = make_organisation(name="Ny forening", status=Organisation.Status.PROPOSED)
    make_adoption(initiative=initiative, organisation=proposed)

    response = client.get(initiative.get_absolute_url())

    assert "Ny forening" in response.text
    assert reverse("initiatives:organisation", args=[proposed.slug]) not in response.text


@pytest.mark.parametrize("adoptions", [1, 20])
def test_initiative_page_for_a_member_query_count_does_not_grow(
    client, django_assert_num_queries, initiative, member, organisation, adoptions
):
    for _ in range(adoptions):
        make_adoption(initiative=initiative)
    for _ in range(adoptions):
        make_org_member(organisation=make_organisation(), user=member)
    client.force_login(member)
    # Django caches content types per process; warm it so the count does not depend on test order.
    ContentType.objects.get_for_model(Initiative)
    engine()  # built once per process; each request then reads its change log once

    # The profile among them: an unconfirmed address is told to confirm (test_prompts.py).
    # Three for progress reports: the reports, whether they may write one, and the adoptions
    # they may give feedback on (tests/initiatives/test_progress_reports.py). One for the
    # follow button (whether they follow it). Three for the comments: the thread, whether
    # they own the page, the organisations they may write for (ideabank.comments).
    with django_assert_num_queries(28):
        response = client.get(initiative.get_absolute_url())

    assert len(response.context["initiative"].adoptions.all()) == adoptions
    assert len(response.context["adoption_form"].fields["organisation"].choices) == adoptions + 1


# --- Lists sort and filter by adoption ---------------------------------------------------


def test_list_filters_and_sorts_by_new_adoptions(
    client, initiative, organisation, member, django_capture_on_commit_callbacks
):
    never = make_initiative(status=Status.PUBLISHED)
    once = make_initiative(status=Status.PUBLISHED)
    make_adoption(initiative=once)
    client.force_login(member)
    client.get("/tiltak/")  # the counts are cached before the adoptions below

    with django_capture_on_commit_callbacks(execute=True):
        client.post(create_url(initiative), {"organisation": organisation.pk})
    make_adoption(initiative=initiative)
    client.logout()

    adopted = client.get("/tiltak/", {"adopted": "yes"})
    not_adopted = client.get("/tiltak/", {"adopted": "no"})
    by_adoption = client.get("/tiltak/", {"sort": "adopted"})

    assert {i.pk for i in adopted.context["initiatives"]} == {initiative.pk, once.pk}
    assert adopted.context["paginator"].count == 2
    assert [i.pk for i in not_adopted.context["initiatives"]] == [never.pk]
    assert [i.pk for i in by_adoption.context["initiatives"]] == [initiative.pk, once.pk, never.pk]
