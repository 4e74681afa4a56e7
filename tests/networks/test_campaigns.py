"""Campaigns: who runs them, whom they ask, the invitations, the answers and the pages."""

import threading
from datetime import timedelta

import pytest
from django.contrib.messages import get_messages
from django.core.management import call_command
from django.db import connection, connections
from django.urls import reverse
from django.utils import timezone, translation

from ideabank.models import OutgoingMail, profile_for
from initiatives.models import ActorType, County, FocusArea, Initiative, Municipality, Organisation
from networks.models import Campaign, CampaignAddressee, Membership
from networks.tasks import invite_campaign_addressees
from tests import factories
from tests.factories import (
    confirmed,
    goal,
    make_complete_initiative,
    make_confirmed_user,
    make_focus_area,
    make_initiative,
    make_membership,
    make_moderator,
    make_network,
    make_org_member,
    make_organisation,
    make_participation,
    make_user,
)

pytestmark = pytest.mark.django_db

with translation.override("en"):
    LOGIN = reverse("accounts:login")
    CREATE_INITIATIVE = reverse("initiatives:create")
    CAMPAIGNS = reverse("networks:campaign_list")


def create_url(network) -> str:
    return reverse("networks:campaign_create", args=[network.slug])


def edit_url(campaign: Campaign) -> str:
    return reverse("networks:campaign_edit", args=[campaign.slug])


def page_url(campaign: Campaign) -> str:
    return reverse("networks:campaign", args=[campaign.slug])


def notices(response) -> list[str]:
    return [str(message.message) for message in get_messages(response.wsgi_request)]


def english(user):
    profile = profile_for(user)
    profile.language = "en"
    profile.save()
    return user


def in_future(days: int = 30):
    return timezone.localdate() + timedelta(days=days)


def municipality_type() -> ActorType:
    return ActorType.objects.get(slug="municipality")


def trondelag() -> County:
    return County.objects.get(number="50")


def make_municipality_org(name: str, *, county_number: str = "50", **overrides) -> Organisation:
    place = Municipality.objects.filter(county__number=county_number).order_by("number").first()
    return make_organisation(
        name=name, actor_type=municipality_type(), municipality=place, **overrides
    )


def make_campaign(**overrides) -> Campaign:
    return factories.make_campaign(**{"title": "Del en suksesshistorie", **overrides})


def address(campaign: Campaign, *organisations: Organisation) -> None:
    for organisation in organisations:
        CampaignAddressee.objects.create(campaign=campaign, organisation=organisation)


def progress(campaign: Campaign) -> tuple[int, int]:
    counted = Campaign.objects.with_progress().get(pk=campaign.pk)
    return counted.answered_count, counted.addressee_count


@pytest.fixture
def network():
    coordinator = make_organisation(name="Trøndelag fylkeskommune")
    network = make_network(
        name="Bærekraftsnettverket i Trøndelag",
        coordinator=coordinator,
        scope="regional",
        county=trondelag(),
    )
    make_membership(network=network, organisation=coordinator, role=Membership.Role.COORDINATOR)
    return network


@pytest.fixture
def coordinator_member(network):
    return confirmed(make_org_member(organisation=network.coordinator).user)


@pytest.fixture
def campaign(network):
    return make_campaign(network=network)


def people(network) -> dict:
    """Everyone the permission tests try, made before the request."""
    other = make_organisation(name="Et annet sted")
    unconfirmed = make_org_member(organisation=network.coordinator).user
    return {
        "anonymous": None,
        "unconfirmed": unconfirmed,
        "other_member": confirmed(make_org_member(organisation=other).user),
        "coordinator_member": confirmed(make_org_member(organisation=network.coordinator).user),
        "moderator": confirmed(make_moderator()),
    }


def campaign_data(**overrides) -> dict:
    data = {
        "title": "Del en suksesshistorie",
        "language": "nb",
        "text": "Alle kommuner i Trøndelag: del én suksesshistorie.",
        "deadline": in_future().isoformat(),
        "goals": [goal(11).pk],
        "focus_areas": [],
        "actor_type": "",
        "county": "",
    }
    return {**data, **overrides}


# --- Who runs a campaign ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("anonymous", 302),
        ("unconfirmed", 403),
        ("other_member", 403),
        ("coordinator_member", 200),
        ("moderator", 200),
    ],
)
def test_create_page_only_for_those_who_run_the_network(client, network, who, status):
    user = people(network)[who]
    if user is not None:
        client.force_login(user)

    response = client.get(create_url(network))

    assert response.status_code == status
    if status == 302:
        assert response["Location"].startswith(LOGIN)
    if status == 200:
        assert response.context["network"] == network


@pytest.mark.parametrize(
    ("who", "created"),
    [
        ("anonymous", False),
        ("unconfirmed", False),
        ("other_member", False),
        ("coordinator_member", True),
        ("moderator", True),
    ],
)
def test_create_post_only_for_those_who_run_the_network(client, network, who, created):
    member = make_organisation(name="Malvik kommune")
    make_membership(network=network, organisation=member)
    user = people(network)[who]
    if user is not None:
        client.force_login(user)

    client.post(create_url(network), campaign_data(members=[member.pk]))

    assert Campaign.objects.filter(network=network).exists() is created


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("anonymous", 302),
        ("unconfirmed", 403),
        ("other_member", 403),
        ("coordinator_member", 200),
        ("moderator", 200),
    ],
)
def test_edit_page_only_for_those_who_run_the_campaign(client, network, campaign, who, status):
    user = people(network)[who]
    if user is not None:
        client.force_login(user)

    response = client.get(edit_url(campaign))

    assert response.status_code == status
    if status == 200:
        assert response.context["campaign"] == campaign


def test_moderators_campaign_is_run_by_moderators_only(client, network):
    campaign = make_campaign(network=None)
    coordinator = confirmed(make_org_member(organisation=network.coordinator).user)
    moderator = confirmed(make_moderator())

    client.force_login(coordinator)
    refused = client.get(edit_url(campaign))
    client.force_login(moderator)
    allowed = client.get(edit_url(campaign))

    assert refused.status_code == 403
    assert allowed.status_code == 200
    assert campaign.is_managed_by(moderator) is True
    assert campaign.is_managed_by(coordinator) is False


def test_subgroup_campaign_is_run_by_the_parents_coordinator(network):
    subgroup = make_network(parent=network)
    campaign = make_campaign(network=subgroup)
    coordinator = confirmed(make_org_member(organisation=network.coordinator).user)

    assert campaign.is_managed_by(coordinator) is True
    assert campaign.is_managed_by(make_user()) is False


def test_requesting_member_of_coordinator_does_not_run_the_campaign(network, campaign):
    membership = make_org_member(organisation=network.coordinator, status="requested")

    assert campaign.is_managed_by(membership.user) is False


def test_edit_is_get_or_post_only_and_unknown_slug_is_404(client, coordinator_member):
    client.force_login(coordinator_member)

    assert client.get(page_url(Campaign(slug="finnes-ikke"))).status_code == 404
    assert client.get(edit_url(Campaign(slug="finnes-ikke"))).status_code == 404
    assert client.get(reverse("networks:campaign_create", args=["finnes-ikke"])).status_code == 404


# --- Creating: the addressees ---------------------------------------------------------------


def test_create_all_municipalities_in_a_county(
    client, network, coordinator_member, django_capture_on_commit_callbacks
):
    trondheim = make_municipality_org("Trondheim kommune")
    steinkjer = make_municipality_org("Steinkjer kommune")
    make_municipality_org("Proposed kommune", status=Organisation.Status.PROPOSED)
    make_municipality_org("Oslo kommune", county_number="03")
    make_organisation(
        name="Skole i Trøndelag",
        municipality=Municipality.objects.filter(county__number="50").first(),
    )
    client.force_login(coordinator_member)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            create_url(network),
            campaign_data(actor_type=municipality_type().pk, county=trondelag().pk),
        )

    campaign = Campaign.objects.get(network=network)
    assert response.status_code == 302
    assert response["Location"] == page_url(campaign)
    assert set(campaign.organisations.all()) == {trondheim, steinkjer}
    assert campaign.created_by == coordinator_member
    assert campaign.slug == "del-en-suksesshistorie"
    assert list(campaign.goals.all()) == [goal(11)]
    assert notices(response) == [
        "The campaign is started. The organisations it asks are sent their invitations."
    ]


def test_create_every_active_member_and_single_members(client, network, coordinator_member):
    active = make_organisation(name="Malvik kommune")
    make_membership(network=network, organisation=active)
    waiting = make_organisation(name="Melhus kommune")
    make_membership(network=network, organisation=waiting, status=Membership.Status.REQUESTED)
    client.force_login(coordinator_member)

    client.post(create_url(network), campaign_data(all_members="on"))

    campaign = Campaign.objects.get(network=network)
    assert set(campaign.organisations.all()) == {network.coordinator, active}


def test_create_single_member_only_from_the_network(client, network, coordinator_member):
    outsider = make_organisation(name="Utenfor")
    client.force_login(coordinator_member)

    response = client.post(create_url(network), campaign_data(members=[outsider.pk]))

    assert response.status_code == 200
    assert "members" in response.context["form"].errors
    assert not Campaign.objects.exists()


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"deadline": "2020-01-01"}, "deadline", "Choose a deadline after today."),
        ({"deadline": "not a date"}, "deadline", "Enter a valid date."),
        ({"title": ""}, "title", "This field is required."),
        ({"text": "x" * 10001}, "text", None),
        ({"actor_type": "999999999999999999999"}, "actor_type", None),
        ({"members": ["999999999999999999999"]}, "members", None),
        ({"goals": ["abc"]}, "goals", None),
        ({"focus_areas": ["999999999999999999999"]}, "focus_areas", None),
        (
            {"actor_type": "ACTOR"},
            "county",
            "Choose both an actor type and a county, or neither.",
        ),
        ({}, "__all__", None),
    ],
)
def test_create_bad_input_is_refused_and_nothing_saved(
    client, network, coordinator_member, overrides, field, message, mailoutbox
):
    if overrides.get("actor_type") == "ACTOR":
        overrides = {**overrides, "actor_type": municipality_type().pk}
    member = make_organisation(name="Malvik kommune")
    make_membership(network=network, organisation=member)
    data = campaign_data(**overrides)
    if field != "__all__":
        data.setdefault("members", [member.pk])
    client.force_login(coordinator_member)

    response = client.post(create_url(network), data)

    assert response.status_code == 200
    errors = response.context["form"].errors
    assert field in errors
    if message:
        assert message in errors[field]
    if field == "__all__":
        assert errors[field] == [
            "Choose at least one organisation to ask: the members, a kind of organisation in "
            "a county, or single members."
        ]
    assert not Campaign.objects.exists()
    assert not CampaignAddressee.objects.exists()
    assert mailoutbox == []


def test_nul_byte_is_a_bad_request_and_nothing_saved(client, network, coordinator_member):
    client.force_login(coordinator_member)

    response = client.post(create_url(network), campaign_data(title="a\x00b", all_members="on"))

    assert response.status_code == 400
    assert not Campaign.objects.exists()


def test_county_without_matching_organisations_says_so(client, network, coordinator_member):
    client.force_login(coordinator_member)

    response = client.post(
        create_url(network), campaign_data(actor_type=municipality_type().pk, county=trondelag().pk)
    )

    assert response.context["form"].errors["county"] == [
        "No approved organisation of that actor type is in that county."
    ]


def test_edit_adds_addressees_keeps_the_old_and_accepts_an_unchanged_past_deadline(
    client, network, coordinator_member
):
    old = make_organisation(name="Malvik kommune")
    new = make_organisation(name="Melhus kommune")
    for organisation in (old, new):
        make_membership(network=network, organisation=organisation)
    campaign = make_campaign(network=network, deadline=timezone.localdate() - timedelta(days=1))
    address(campaign, old)
    client.force_login(coordinator_member)

    response = client.post(
        edit_url(campaign),
        {
            "text": "Ny tekst",
            "deadline": campaign.deadline.isoformat(),
            "goals": [goal(12).pk],
            "members": [new.pk, old.pk],
        },
    )

    campaign.refresh_from_db()
    assert response.status_code == 302
    assert campaign.text == "Ny tekst"
    assert campaign.title == "Del en suksesshistorie"
    assert set(campaign.organisations.all()) == {old, new}
    assert CampaignAddressee.objects.filter(campaign=campaign).count() == 2


def test_edit_refuses_a_new_past_deadline(client, network, campaign, coordinator_member):
    address(campaign, network.coordinator)
    client.force_login(coordinator_member)

    response = client.post(
        edit_url(campaign), {"text": "Tekst", "deadline": "2021-05-05", "goals": []}
    )

    assert response.context["form"].errors["deadline"] == ["Choose a deadline after today."]
    campaign.refresh_from_db()
    assert campaign.deadline == in_future()


# --- Invitations --------------------------------------------------------------------------


def test_invitations_once_per_organisation_in_each_recipients_language(
    client, network, coordinator_member, mailoutbox, django_capture_on_commit_callbacks
):
    trondheim = make_municipality_org("Trondheim kommune")
    steinkjer = make_municipality_org("Steinkjer kommune")
    norwegian = confirmed(make_org_member(organisation=trondheim).user)
    english_speaker = english(confirmed(make_org_member(organisation=steinkjer).user))
    make_org_member(organisation=steinkjer)  # unconfirmed address: not mailed
    confirmed(make_org_member(organisation=steinkjer, status="requested").user)  # not a member
    client.force_login(coordinator_member)

    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            create_url(network),
            campaign_data(actor_type=municipality_type().pk, county=trondelag().pk),
        )

    campaign = Campaign.objects.get()
    mails = {mail.to[0]: mail for mail in mailoutbox}
    assert sorted(mails) == sorted([norwegian.email, english_speaker.email])
    languages = dict(OutgoingMail.objects.values_list("to", "language"))
    assert languages == {norwegian.email: "nb", english_speaker.email: "en"}
    assert mails[english_speaker.email].subject == "Invitation: Del en suksesshistorie"
    english_body = mails[english_speaker.email].body
    assert "asks Steinkjer kommune to share an initiative" in english_body
    assert campaign.text in english_body
    assert f"/en/del-tiltak/?campaign={campaign.slug}" in english_body
    norwegian_body = mails[norwegian.email].body
    assert f"/del-tiltak/?campaign={campaign.slug}" in norwegian_body
    assert "/en/" not in norwegian_body
    assert not campaign.addressees.filter(invited_at=None).exists()


def test_organisation_added_later_is_invited_alone(
    client, network, coordinator_member, mailoutbox, django_capture_on_commit_callbacks
):
    first = make_organisation(name="Malvik kommune")
    later = make_organisation(name="Melhus kommune")
    for organisation in (first, later):
        make_membership(network=network, organisation=organisation)
    first_person = confirmed(make_org_member(organisation=first).user)
    later_person = confirmed(make_org_member(organisation=later).user)
    client.force_login(coordinator_member)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(create_url(network), campaign_data(members=[first.pk]))
    campaign = Campaign.objects.get()
    mailoutbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            edit_url(campaign),
            {
                "text": campaign.text,
                "deadline": campaign.deadline.isoformat(),
                "members": [first.pk, later.pk],
            },
        )

    assert [mail.to for mail in mailoutbox] == [[later_person.email]]
    assert first_person.email not in {mail.to[0] for mail in mailoutbox}


def test_invitation_task_claims_each_organisation_once(
    campaign, mailoutbox, django_capture_on_commit_callbacks
):
    organisation = make_organisation()
    confirmed(make_org_member(organisation=organisation).user)
    address(campaign, organisation)

    with django_capture_on_commit_callbacks(execute=True):
        first = invite_campaign_addressees.call(campaign.pk)
        second = invite_campaign_addressees.call(campaign.pk)

    assert (first, second) == (1, 0)
    assert len(mailoutbox) == 1
    assert campaign.addressees.get().invited_at is not None


def test_invitation_task_for_a_deleted_campaign_does_nothing(mailoutbox):
    assert invite_campaign_addressees.call(123456) == 0
    assert mailoutbox == []


# --- The submission form pre-filled with the campaign ----------------------------------------


def draft_data(lead: Organisation, **overrides) -> dict:
    """A draft as the submission form posts it, with its empty rows."""
    data = {"action": "save", "lead_organisation": str(lead.pk), "title": "Matsvinn"}
    for prefix in ("partners", "links", "attachments"):
        data.update(
            {
                f"{prefix}-TOTAL_FORMS": "0",
                f"{prefix}-INITIAL_FORMS": "0",
                f"{prefix}-MIN_NUM_FORMS": "0",
                f"{prefix}-MAX_NUM_FORMS": "1000",
            }
        )
    return {**data, **overrides}


@pytest.fixture
def sharer():
    lead = make_organisation(name="Trondheim kommune")
    return confirmed(make_org_member(organisation=lead).user)


def test_prefilled_form_says_so_and_ticks_goals_and_focus_areas(client, campaign, sharer):
    focus = make_focus_area()
    campaign.goals.add(goal(11))
    campaign.focus_areas.add(focus)
    client.force_login(sharer)

    response = client.get(CREATE_INITIATIVE, {"campaign": campaign.slug})

    assert response.status_code == 200
    assert response.context["campaign"] == campaign
    form = response.context["form"]
    assert form.initial["goals"] == [goal(11).pk]
    assert form.initial["focus_areas"] == [focus.pk]
    content = response.content.decode()
    assert "You are answering the campaign" in content
    assert f'<input type="hidden" name="campaign" value="{campaign.slug}">' in content


def test_prefilled_form_links_the_saved_draft(client, campaign, sharer):
    client.force_login(sharer)
    lead = Organisation.objects.get(name="Trondheim kommune")

    response = client.post(
        CREATE_INITIATIVE,
        draft_data(lead, title="Matsvinn i barnehagen", campaign=campaign.slug),
    )

    initiative = Initiative.objects.get(title="Matsvinn i barnehagen")
    assert response.status_code == 302
    assert initiative.status == Initiative.Status.DRAFT
    assert list(initiative.campaigns.all()) == [campaign]


def test_edit_form_shows_and_keeps_the_campaigns_and_adds_another(client, network, sharer):
    lead = Organisation.objects.get(name="Trondheim kommune")
    first = make_campaign(network=network, title="Første")
    second = make_campaign(network=network, title="Andre")
    initiative = make_initiative(lead_organisation=lead, created_by=sharer)
    initiative.campaigns.add(first)
    client.force_login(sharer)
    url = reverse("initiatives:edit", args=[initiative.slug])

    page = client.get(url, {"campaign": second.slug})
    client.post(url, draft_data(lead, title=initiative.title, campaign=second.slug))

    assert page.context["answered_campaigns"] == [first]
    assert "It answers the campaigns:" in page.content.decode()
    assert set(initiative.campaigns.all()) == {first, second}


@pytest.mark.parametrize("junk", ["finnes-ikke", "<script>alert(1)</script>", "x" * 5000, "ø" * 3])
def test_junk_campaign_on_the_submission_form_is_a_message_not_an_error(client, sharer, junk):
    client.force_login(sharer)
    lead = Organisation.objects.get(name="Trondheim kommune")

    page = client.get(CREATE_INITIATIVE, {"campaign": junk})
    saved = client.post(
        CREATE_INITIATIVE,
        draft_data(lead, title="Uten kampanje", campaign=junk),
    )

    assert page.status_code == 200
    assert page.context["campaign"] is None
    assert "<script>alert(1)</script>" not in page.content.decode()
    assert saved.status_code == 302
    assert Initiative.objects.get(title="Uten kampanje").campaigns.count() == 0


def test_nul_byte_campaign_is_a_bad_request(client, sharer):
    client.force_login(sharer)

    response = client.get(CREATE_INITIATIVE, {"campaign": "a\x00b"})

    assert response.status_code == 400


@pytest.mark.parametrize("slug", ["finnes-ikke", "x" * 5000])
def test_unknown_campaign_message(client, sharer, slug):
    client.force_login(sharer)

    page = client.get(CREATE_INITIATIVE, {"campaign": slug})

    assert page.context["campaign_errors"] == [
        "There is no campaign at the address you followed. You can still share the "
        "initiative; it is just not linked to a campaign."
    ]


def test_closed_campaign_is_not_linked_and_says_why(client, network, sharer):
    closed = make_campaign(network=network, deadline=timezone.localdate() - timedelta(days=1))
    client.force_login(sharer)
    lead = Organisation.objects.get(name="Trondheim kommune")

    page = client.get(CREATE_INITIATIVE, {"campaign": closed.slug})
    client.post(
        CREATE_INITIATIVE,
        draft_data(lead, title="For sent", campaign=closed.slug),
    )

    assert page.context["campaign"] is None
    assert page.context["campaign_errors"][0].startswith(
        "The campaign “Del en suksesshistorie” closed on "
    )
    assert Initiative.objects.get(title="For sent").campaigns.count() == 0


# --- Progress -------------------------------------------------------------------------------


def test_progress_follows_submit_publish_and_withdraw(campaign):
    trondheim = make_municipality_org("Trondheim kommune")
    steinkjer = make_municipality_org("Steinkjer kommune")
    address(campaign, trondheim, steinkjer)
    initiative = make_complete_initiative(lead_organisation=trondheim)
    initiative.campaigns.add(campaign)
    moderator = make_moderator()

    draft = progress(campaign)
    initiative.submit(by=None)
    submitted = progress(campaign)
    initiative.publish(by=moderator)
    published = progress(campaign)
    initiative.withdraw(by=moderator)
    withdrawn = progress(campaign)

    assert (draft, submitted, published, withdrawn) == ((0, 2), (0, 2), (1, 2), (0, 2))


def test_a_partner_answers_too_and_an_unlinked_initiative_does_not(campaign):
    trondheim = make_municipality_org("Trondheim kommune")
    malvik = make_municipality_org("Malvik kommune")
    steinkjer = make_municipality_org("Steinkjer kommune")
    address(campaign, trondheim, malvik, steinkjer)
    answer = make_initiative(status=Initiative.Status.PUBLISHED, lead_organisation=trondheim)
    answer.campaigns.add(campaign)
    make_participation(initiative=answer, organisation=malvik)
    make_initiative(status=Initiative.Status.PUBLISHED, lead_organisation=steinkjer)

    answered = {
        addressee.organisation.name: addressee.answered
        for addressee in campaign.addressees.with_answered().select_related("organisation")
    }

    assert answered == {
        "Trondheim kommune": True,
        "Malvik kommune": True,
        "Steinkjer kommune": False,
    }
    assert progress(campaign) == (2, 3)


def test_an_answer_to_another_campaign_does_not_count(network, campaign):
    other = make_campaign(network=network)
    trondheim = make_municipality_org("Trondheim kommune")
    address(campaign, trondheim)
    address(other, trondheim)
    answer = make_initiative(status=Initiative.Status.PUBLISHED, lead_organisation=trondheim)
    answer.campaigns.add(other)

    assert progress(campaign) == (0, 1)
    assert progress(other) == (1, 1)


def test_open_first_orders_open_by_nearest_deadline_then_closed_latest_first(network):
    today = timezone.localdate()
    closed_long_ago = make_campaign(network=network, deadline=today - timedelta(days=90))
    closed_lately = make_campaign(network=network, deadline=today - timedelta(days=1))
    open_later = make_campaign(network=network, deadline=today + timedelta(days=60))
    open_today = make_campaign(network=network, deadline=today)

    ordered = list(Campaign.objects.open_first())

    assert ordered == [open_today, open_later, closed_lately, closed_long_ago]
    assert list(Campaign.objects.open()) == [open_later, open_today]
    assert (open_today.is_open, closed_lately.is_open) == (True, False)


# --- The pages --------------------------------------------------------------------------------


@pytest.fixture
def answered_campaign(campaign):
    """Two organisations asked: Trondheim has shared, Steinkjer has not."""
    trondheim = make_municipality_org("Trondheim kommune")
    steinkjer = make_municipality_org("Steinkjer kommune")
    address(campaign, trondheim, steinkjer)
    published = make_initiative(
        status=Initiative.Status.PUBLISHED, lead_organisation=trondheim, title="Publisert svar"
    )
    submitted = make_initiative(
        status=Initiative.Status.SUBMITTED, lead_organisation=steinkjer, title="Innsendt svar"
    )
    draft = make_initiative(lead_organisation=steinkjer, title="Utkast til svar")
    for initiative in (published, submitted, draft):
        initiative.campaigns.add(campaign)
    return campaign


@pytest.mark.parametrize(
    ("who", "sees_unanswered"),
    [
        ("anonymous", False),
        ("unconfirmed", False),
        ("other_member", False),
        ("coordinator_member", True),
        ("moderator", True),
    ],
)
def test_who_has_not_answered_is_for_the_managers_only(
    client, network, answered_campaign, who, sees_unanswered
):
    user = people(network)[who]
    if user is not None:
        client.force_login(user)

    response = client.get(page_url(answered_campaign))

    content = response.content.decode()
    assert response.status_code == 200
    assert "1 of 2 have shared" in content or "1 av 2 har delt" in content
    assert "Trondheim kommune" in content
    assert ("Steinkjer kommune" in content) is sees_unanswered
    assert [tile["label"] for tile in response.context["tiles"]] == (
        ["Steinkjer kommune", "Trondheim kommune"] if sees_unanswered else ["Trondheim kommune"]
    )
    assert response.context["manages"] is sees_unanswered
    if sees_unanswered:
        assert reverse("networks:campaign_edit", args=[answered_campaign.slug]) in content
        assert [a.organisation.name for a in response.context["unanswered"]] == [
            "Steinkjer kommune"
        ]


def test_page_lists_only_published_initiatives(client, answered_campaign):
    response = client.get(page_url(answered_campaign))

    content = response.content.decode()
    assert [i.title for i in response.context["initiatives"]] == ["Publisert svar"]
    assert response.context["initiative_count"] == 1
    assert "Innsendt svar" not in content
    assert "Utkast til svar" not in content
    assert f"?campaign={answered_campaign.slug}" in response.context["list_url"]
    assert response.context["share_url"] == f"{CREATE_INITIATIVE}?campaign={answered_campaign.slug}"


def test_campaign_text_is_escaped(client, network):
    campaign = make_campaign(network=network, text="<script>alert('x')</script>")

    response = client.get(page_url(campaign))

    assert "<script>alert('x')</script>" not in response.content.decode()
    assert "&lt;script&gt;" in response.content.decode()


def test_list_shows_open_then_closed(client, network):
    open_campaign = make_campaign(network=network, title="Åpen")
    closed = make_campaign(
        network=network, title="Lukket", deadline=timezone.localdate() - timedelta(days=3)
    )

    response = client.get(CAMPAIGNS)

    assert response.context["open_campaigns"] == [open_campaign]
    assert response.context["closed_campaigns"] == [closed]


def test_network_page_lists_its_campaigns_and_offers_managers_to_start_one(
    client, network, campaign, coordinator_member
):
    url = reverse("networks:network", args=[network.slug])
    public = client.get(url).content.decode()
    client.force_login(coordinator_member)
    manager = client.get(url).content.decode()

    assert campaign.title in public
    assert create_url(network) not in public
    assert create_url(network) in manager


# --- Query counts ----------------------------------------------------------------------------


def populate(campaign: Campaign, count: int) -> None:
    """`count` addressees, every other one answered by a published initiative (with a partner
    answering too), and `count` initiatives in all."""
    for number in range(count):
        organisation = make_organisation(name=f"Kommune {number}")
        address(campaign, organisation)
        status = Initiative.Status.PUBLISHED if number % 2 == 0 else Initiative.Status.SUBMITTED
        initiative = make_initiative(status=status, lead_organisation=organisation)
        initiative.campaigns.add(campaign)
        make_participation(initiative=initiative)


@pytest.mark.parametrize("count", [1, 20])
def test_page_query_count_anonymous(client, django_assert_num_queries, campaign, count):
    campaign.goals.add(goal(11))
    campaign.focus_areas.add(FocusArea.objects.first() or make_focus_area())
    populate(campaign, count)

    # The campaign with its progress and network; its goals; its focus areas; the
    # addressees who answered; the initiatives and their count.
    with django_assert_num_queries(6):
        response = client.get(page_url(campaign))

    assert len(response.context["tiles"]) == (count + 1) // 2


@pytest.mark.parametrize("count", [1, 20])
def test_page_query_count_manager(
    client, django_assert_num_queries, campaign, coordinator_member, count
):
    populate(campaign, count)
    client.force_login(coordinator_member)

    # Besides the six: the session and the user; whether they are a moderator (groups and
    # permissions), have confirmed their address (the profile) and are an active member of
    # the coordinating organisation.
    with django_assert_num_queries(12):
        response = client.get(page_url(campaign))

    assert len(response.context["tiles"]) == count


@pytest.mark.parametrize("count", [1, 20])
def test_list_query_count(client, django_assert_num_queries, network, count):
    for _ in range(count):
        campaign = make_campaign(network=network)
        populate(campaign, 2)

    with django_assert_num_queries(1):
        response = client.get(CAMPAIGNS)

    assert len(response.context["open_campaigns"]) == count
    assert response.context["open_campaigns"][0].answered_count == 1


# --- The admin -------------------------------------------------------------------------------


def test_admin_lists_campaigns_and_sends_invitations(
    client, superuser, campaign, mailoutbox, django_capture_on_commit_callbacks
):
    organisation = make_organisation()
    member = confirmed(make_org_member(organisation=organisation).user)
    address(campaign, organisation)
    client.force_login(superuser)
    changelist = reverse("admin:networks_campaign_changelist")

    page = client.get(changelist)
    change = client.get(reverse("admin:networks_campaign_change", args=[campaign.pk]))
    with django_capture_on_commit_callbacks(execute=True):
        client.post(changelist, {"action": "send_invitations", "_selected_action": [campaign.pk]})

    assert page.status_code == 200
    assert change.status_code == 200
    assert [mail.to for mail in mailoutbox] == [[member.email]]
    assert campaign.addressees.get().invited_at is not None


def test_confirmed_user_without_organisation_may_not_start_a_campaign(client, network):
    client.force_login(make_confirmed_user())

    assert client.get(create_url(network)).status_code == 403


# --- Demo data -------------------------------------------------------------------------------


def test_demo_campaign_asks_trondelags_municipalities_and_counts_only_published():
    call_command("load_demo_data", verbosity=0)
    call_command("load_demo_data", verbosity=0)

    campaign = Campaign.objects.with_progress().get(slug="del-en-suksesshistorie")
    answered = dict(
        campaign.addressees.with_answered().values_list("organisation__slug", "answered")
    )
    assert campaign.network.slug == "trondelag-regionalt-baerekraftsnettverk"
    assert campaign.is_open
    assert answered == {
        "malvik-kommune": False,  # its answer waits for review
        "melhus-kommune": False,
        "steinkjer-kommune": True,  # a partner in Sesammen Midt-Norge
        "stjordal-kommune": True,
        "trondheim-kommune": False,
    }
    assert (campaign.answered_count, campaign.addressee_count) == (2, 5)
    assert campaign.answered_initiatives().count() == 3


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="SQLite has no row locks; it serialises writes"
)
@pytest.mark.django_db(transaction=True)
def test_two_workers_at_once_invite_each_organisation_once():
    campaign = make_campaign()
    organisations = [make_organisation() for _ in range(10)]
    for organisation in organisations:
        confirmed(make_org_member(organisation=organisation).user)
    address(campaign, *organisations)
    barrier = threading.Barrier(2)
    results: dict[str, object] = {}

    def work(name: str) -> None:
        try:
            barrier.wait(timeout=10)
            results[name] = invite_campaign_addressees.call(campaign.pk)
        except Exception as error:  # reported by the assertion below
            results[name] = error
        finally:
            # Each thread has its own connection; close it so the test database can be dropped.
            connections.close_all()

    threads = [threading.Thread(target=work, args=(name,)) for name in ("first", "second")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sum(results.values()) == 10
    assert OutgoingMail.objects.filter(template="email/campaign_invitation").count() == 10
    assert not campaign.addressees.filter(invited_at=None).exists()
