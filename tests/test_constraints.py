"""Each rule that must always hold is kept by the database and explained by validation."""

from datetime import date, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from initiatives.models import (
    Adoption,
    County,
    Goal,
    Initiative,
    Organisation,
    OrganisationMember,
    Participation,
)
from networks.models import (
    EventRegistration,
    Membership,
    Network,
    Presentation,
    WorkingGroup,
    WorkingGroupMember,
)
from tests import factories as f

pytestmark = pytest.mark.django_db


def goal_out_of_range():
    return Goal(number=18, short_nb="x", short_en="x", title_nb="x", title_en="x", colour="#000000")


def organisation_duplicate_number():
    f.make_organisation(organisation_number="974760673")
    return Organisation(
        name="Kopi", slug="kopi", actor_type=f.make_actor_type(), organisation_number="974760673"
    )


def organisation_number_not_digits():
    return Organisation(
        name="Feil", slug="feil", actor_type=f.make_actor_type(), organisation_number="97476067x"
    )


def organisation_member_twice():
    member = f.make_org_member()
    return OrganisationMember(organisation=member.organisation, user=member.user)


def initiative_ends_before_start():
    initiative = f.make_initiative()
    initiative.start_date, initiative.end_date = date(2026, 5, 1), date(2026, 4, 30)
    return initiative


def initiative_local_without_municipality():
    initiative = f.make_initiative()
    initiative.municipality = None
    return initiative


def initiative_national_with_county():
    initiative = f.make_initiative()
    initiative.scope, initiative.municipality = "national", None
    initiative.county = County.objects.first()
    return initiative


def initiative_rejected_without_reason():
    initiative = f.make_initiative(status=Initiative.Status.REJECTED)
    initiative.rejection_reason = ""
    return initiative


def initiative_duplicate_slug():
    existing = f.make_initiative()
    return Initiative(
        slug=existing.slug,
        title="Kopi",
        summary="s",
        description="d",
        lead_organisation=existing.lead_organisation,
        municipality=existing.municipality,
    )


def participation_twice():
    participation = f.make_participation()
    return Participation(
        initiative=participation.initiative, organisation=participation.organisation
    )


def adoption_twice():
    adoption = f.make_adoption()
    return Adoption(initiative=adoption.initiative, organisation=adoption.organisation)


def network_duplicate_slug():
    existing = f.make_network()
    return Network(slug=existing.slug, name="Kopi", scope="local", description="d")


def membership_twice():
    membership = f.make_membership()
    return Membership(network=membership.network, organisation=membership.organisation)


def working_group_without_host():
    return WorkingGroup(name="Uten vert", slug="uten-vert", mandate="m", year=2026)


def working_group_year_out_of_range():
    return WorkingGroup(
        name="Gammel", slug="gammel", mandate="m", year=1990, host_network=f.make_network()
    )


def working_group_two_leaders():
    leader = f.make_working_group_member(role=WorkingGroupMember.Role.LEADER)
    return WorkingGroupMember(
        working_group=leader.working_group, name="Ola Nordmann", role="leader"
    )


def event_ends_before_start():
    event = f.make_event()
    event.ends_at = event.starts_at - timedelta(minutes=1)
    return event


def event_zero_capacity():
    event = f.make_event()
    event.capacity = 0
    return event


def event_two_organisers():
    event = f.make_event()
    event.organiser_network = f.make_network()
    return event


def event_no_organiser():
    event = f.make_event()
    event.organiser_organisation = None
    return event


def presentation_twice():
    presentation = f.make_presentation()
    return Presentation(
        event=presentation.event, initiative=presentation.initiative, presenter="Igjen"
    )


def registration_same_email_other_case():
    registration = f.make_registration(email="kari@example.org")
    return EventRegistration(event=registration.event, name="Kari", email="KARI@example.org")


VIOLATIONS = {
    "goal_out_of_range": (goal_out_of_range, "17"),
    "organisation_duplicate_number": (organisation_duplicate_number, "already registered"),
    "organisation_number_not_digits": (organisation_number_not_digits, "nine digits"),
    "organisation_member_twice": (organisation_member_twice, "already a member"),
    "initiative_ends_before_start": (initiative_ends_before_start, "end date cannot be before"),
    "initiative_local_without_municipality": (
        initiative_local_without_municipality,
        "needs a municipality",
    ),
    "initiative_national_with_county": (initiative_national_with_county, "neither"),
    "initiative_rejected_without_reason": (
        initiative_rejected_without_reason,
        "must have a reason",
    ),
    "initiative_duplicate_slug": (initiative_duplicate_slug, "Slug already exists"),
    "participation_twice": (participation_twice, "already a partner"),
    "adoption_twice": (adoption_twice, "already reported"),
    "network_duplicate_slug": (network_duplicate_slug, "Slug already exists"),
    "membership_twice": (membership_twice, "already listed"),
    "working_group_without_host": (
        working_group_without_host,
        "host network or a host organisation",
    ),
    "working_group_year_out_of_range": (working_group_year_out_of_range, "2000"),
    "working_group_two_leaders": (working_group_two_leaders, "one leader"),
    "event_ends_before_start": (event_ends_before_start, "cannot end before it starts"),
    "event_zero_capacity": (event_zero_capacity, "positive number"),
    "event_two_organisers": (event_two_organisers, "exactly one organiser"),
    "event_no_organiser": (event_no_organiser, "exactly one organiser"),
    "presentation_twice": (presentation_twice, "already on the event"),
    "registration_same_email_other_case": (
        registration_same_email_other_case,
        "already registered",
    ),
}


@pytest.mark.parametrize("case", VIOLATIONS)
def test_constraint_held_by_database(case):
    build, _ = VIOLATIONS[case]
    instance = build()

    with pytest.raises(IntegrityError), transaction.atomic():
        instance.save()


@pytest.mark.parametrize("case", VIOLATIONS)
def test_constraint_explained_by_validation(case):
    build, message = VIOLATIONS[case]
    instance = build()

    with pytest.raises(ValidationError) as error:
        instance.full_clean()

    assert message in " ".join(error.value.messages)


def test_cancelled_registration_frees_the_email():
    registration = f.make_registration(
        email="kari@example.org", status=EventRegistration.Status.CANCELLED
    )

    again = EventRegistration.objects.create(
        event=registration.event, name="Kari", email="kari@example.org"
    )

    assert again.status == EventRegistration.Status.CONFIRMED


def test_network_cannot_be_its_own_ancestor():
    top = f.make_network()
    child = f.make_network(parent=top)
    top.parent = child

    with pytest.raises(ValidationError) as error:
        top.full_clean()

    assert list(error.value.message_dict) == ["parent"]


def test_open_ended_dates_allowed():
    initiative = f.make_initiative(start_date=timezone.localdate(), end_date=None)

    initiative.full_clean()

    assert initiative.end_date is None
