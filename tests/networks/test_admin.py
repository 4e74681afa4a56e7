"""The networks admin: bad input gets a form error, never a 500, and nothing is saved.

Every networks model's pages and changelist query counts are checked with the
rest of the admin site in tests/initiatives/test_admin.py.
"""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from networks.models import (
    Event,
    EventRegistration,
    Membership,
    Network,
    Presentation,
    WorkingGroup,
    WorkingGroupMember,
)
from tests.factories import (
    make_event,
    make_focus_area,
    make_membership,
    make_network,
    make_organisation,
    make_presentation,
    make_registration,
    make_working_group_member,
)
from tests.initiatives.test_admin import admin_url, form_errors, in_norwegian, post_admin_form

pytestmark = pytest.mark.django_db

OSLO = ZoneInfo("Europe/Oslo")


def event_data(**overrides) -> dict[str, object]:
    # Split date and time, as the Bokmål admin shows them: day.month.year.
    return {
        "title": "Frokostmøte om matsvinn",
        "slug": "frokostmote-om-matsvinn",
        "kind": Event.Kind.MEETING,
        "organiser_organisation": make_organisation().pk,
        "starts_at_0": "01.06.2026",
        "starts_at_1": "10:00",
        "ends_at_0": "01.06.2026",
        "ends_at_1": "11:30",
        "registration": Event.Registration.OPEN,
        **overrides,
    }


def working_group_data(**overrides) -> dict[str, object]:
    return {
        "name": "Matsvinn 2026",
        "slug": "matsvinn-2026",
        "mandate": "Foreslå tre nye tiltak.",
        "year": 2026,
        "host_network": make_network().pk,
        "required_meetings": 6,
        "required_open_events": 1,
        **overrides,
    }


# The model and a function giving the data the add form posts.
VALID = {
    "event": (Event, event_data),
    "working-group": (WorkingGroup, working_group_data),
    "membership": (
        Membership,
        lambda: {
            "network": make_network().pk,
            "organisation": make_organisation().pk,
            "role": Membership.Role.MEMBER,
            "status": Membership.Status.ACTIVE,
        },
    ),
}


def duplicate_membership() -> dict[str, object]:
    taken = make_membership()
    return {
        "network": taken.network.pk,
        "organisation": taken.organisation.pk,
        "role": Membership.Role.COORDINATOR,
        "status": Membership.Status.REQUESTED,
    }


def second_leader() -> dict[str, object]:
    leader = make_working_group_member(role=WorkingGroupMember.Role.LEADER)
    return {
        "working_group": leader.working_group.pk,
        "name": "Ola Nordmann",
        "role": WorkingGroupMember.Role.LEADER,
    }


def repeated_registration() -> dict[str, object]:
    taken = make_registration(email="kari@example.org")
    return {
        "event": taken.event.pk,
        "name": "Kari Nordmann",
        "email": "Kari@Example.org",
        "status": EventRegistration.Status.CONFIRMED,
    }


def repeated_presentation() -> dict[str, object]:
    taken = make_presentation()
    return {
        "event": taken.event.pk,
        "initiative": taken.initiative.pk,
        "presenter": "Leder",
        "order": 2,
    }


# The model, a function giving the data, and the errors the form shows in Bokmål.
BAD_INPUT = {
    "event-ends-before-start": (
        Event,
        lambda: event_data(ends_at_1="09:59"),
        {"__all__": [in_norwegian("The event cannot end before it starts.")]},
    ),
    "event-ends-the-day-before": (
        Event,
        lambda: event_data(ends_at_0="31.05.2026", ends_at_1="23:00"),
        {"__all__": [in_norwegian("The event cannot end before it starts.")]},
    ),
    "event-zero-capacity": (
        Event,
        lambda: event_data(capacity=0),
        {
            "__all__": [
                in_norwegian("The capacity must be a positive number, or empty for no limit.")
            ]
        },
    ),
    "event-negative-capacity": (
        Event,
        lambda: event_data(capacity=-5),
        {
            "capacity": [
                in_norwegian(
                    "Ensure this value is greater than or equal to %(limit_value)s.", limit_value=0
                )
            ]
        },
    ),
    "event-no-organiser": (
        Event,
        lambda: event_data(organiser_organisation=""),
        {
            "__all__": [
                in_norwegian(
                    "Choose exactly one organiser: a network, a working group or an organisation."
                )
            ]
        },
    ),
    "event-two-organisers": (
        Event,
        lambda: event_data(organiser_network=make_network().pk),
        {
            "__all__": [
                in_norwegian(
                    "Choose exactly one organiser: a network, a working group or an organisation."
                )
            ]
        },
    ),
    "working-group-without-host": (
        WorkingGroup,
        lambda: working_group_data(host_network=""),
        {"__all__": [in_norwegian("A working group needs a host network or a host organisation.")]},
    ),
    "working-group-year-too-early": (
        WorkingGroup,
        lambda: working_group_data(year=1999),
        {
            "year": [
                in_norwegian(
                    "Ensure this value is greater than or equal to %(limit_value)s.",
                    limit_value=2000,
                )
            ]
        },
    ),
    "membership-twice": (
        Membership,
        duplicate_membership,
        {"__all__": [in_norwegian("This organisation is already listed in the network.")]},
    ),
    "working-group-second-leader": (
        WorkingGroupMember,
        second_leader,
        {"__all__": [in_norwegian("A working group has one leader.")]},
    ),
    "registration-same-email-other-case": (
        EventRegistration,
        repeated_registration,
        # Refused by Event.register's own check, as on the event page.
        {"__all__": [in_norwegian("This e-mail address is already registered.")]},
    ),
    "presentation-twice": (
        Presentation,
        repeated_presentation,
        {"__all__": [in_norwegian("This initiative is already on the event's programme.")]},
    ),
}


@pytest.mark.parametrize(("model", "make_data"), VALID.values(), ids=VALID.keys())
def test_admin_add_saves_valid_input(admin_client, model, make_data):
    before = model.objects.count()

    response = post_admin_form(admin_client, admin_url(model, "add"), make_data())

    assert response.status_code == 302
    assert model.objects.count() == before + 1


@pytest.mark.parametrize(
    ("model", "make_data", "expected"), BAD_INPUT.values(), ids=BAD_INPUT.keys()
)
def test_admin_add_refuses_bad_input(admin_client, model, make_data, expected):
    data = make_data()
    before = model.objects.count()

    response = post_admin_form(admin_client, admin_url(model, "add"), data)

    assert response.status_code == 200
    assert form_errors(response) == expected
    assert model.objects.count() == before


def test_event_add_reads_bokmal_date_and_time_in_oslo_time(admin_client):
    response = post_admin_form(admin_client, admin_url(Event, "add"), event_data(capacity=40))

    assert response.status_code == 302
    event = Event.objects.get(slug="frokostmote-om-matsvinn")
    assert (event.starts_at, event.ends_at, event.capacity) == (
        datetime(2026, 6, 1, 10, 0, tzinfo=OSLO),
        datetime(2026, 6, 1, 11, 30, tzinfo=OSLO),
        40,
    )


def test_event_change_refuses_end_before_start_and_keeps_the_times(admin_client):
    event = make_event(organiser_organisation=make_organisation())
    starts_at, ends_at = event.starts_at, event.ends_at
    data = event_data(
        slug=event.slug, organiser_organisation=event.organiser_organisation.pk, ends_at_1="09:00"
    )

    response = post_admin_form(admin_client, admin_url(Event, "change", event.pk), data)

    assert response.status_code == 200
    assert form_errors(response) == {
        "__all__": [in_norwegian("The event cannot end before it starts.")]
    }
    event.refresh_from_db()
    assert (event.starts_at, event.ends_at) == (starts_at, ends_at)


def test_registration_add_accepts_an_email_whose_earlier_registration_was_cancelled(admin_client):
    cancelled = make_registration(
        email="kari@example.org", status=EventRegistration.Status.CANCELLED
    )
    data = {
        "event": cancelled.event.pk,
        "name": "Kari Nordmann",
        "email": "kari@example.org",
        "status": EventRegistration.Status.CONFIRMED,
    }

    response = post_admin_form(admin_client, admin_url(EventRegistration, "add"), data)

    assert response.status_code == 302
    assert cancelled.event.registrations.filter(email="kari@example.org").count() == 2


@pytest.mark.parametrize("parent", ["itself", "its sub-group"])
def test_network_change_refuses_a_parent_loop(admin_client, parent):
    network = make_network(name="Klimanettverket")
    subgroup = make_network(parent=network)
    loop_parent = network if parent == "itself" else subgroup
    data = {
        "name": network.name,
        "slug": network.slug,
        "scope": network.scope,
        "description": network.description,
        "parent": loop_parent.pk,
        "focus_areas": [make_focus_area().pk],
    }

    response = post_admin_form(admin_client, admin_url(Network, "change", network.pk), data)

    assert response.status_code == 200
    assert form_errors(response) == {
        "parent": [
            in_norwegian("A network cannot be a sub-group of itself or of its own sub-groups.")
        ]
    }
    network.refresh_from_db()
    assert (network.parent, network.focus_areas.count()) == (None, 0)


def test_network_add_refuses_a_sub_group_of_a_sub_group(admin_client):
    main = make_network(name="Adda")
    subgroup = make_network(name="Adda Vest", parent=main)
    data = {
        "name": "Adda Vest Nord",
        "slug": "adda-vest-nord",
        "scope": "regional",
        "description": "Et nettverk.",
        "parent": subgroup.pk,
    }

    response = post_admin_form(admin_client, admin_url(Network, "add"), data)

    assert response.status_code == 200
    assert form_errors(response) == {
        "parent": [
            in_norwegian("A sub-group cannot have sub-groups of its own: choose a main network.")
        ]
    }
    assert not Network.objects.filter(slug="adda-vest-nord").exists()


def test_event_change_raising_the_capacity_moves_the_waiting_list_up(
    admin_client, mailoutbox, django_capture_on_commit_callbacks
):
    organiser = make_organisation()
    event = make_event(
        organiser_organisation=organiser,
        starts_at=datetime(2027, 6, 1, 10, 0, tzinfo=OSLO),
        ends_at=datetime(2027, 6, 1, 11, 30, tzinfo=OSLO),
        registration=Event.Registration.OPEN,
        capacity=1,
    )
    make_registration(event=event, email="forst@example.org")
    waiting = make_registration(
        event=event, email="venter@example.org", status=EventRegistration.Status.WAITING
    )
    url = admin_url(Event, "change", event.pk)
    page = admin_client.get(url)
    rows = {
        form.add_prefix(name): "" if form[name].value() is None else form[name].value()
        for inline in page.context["inline_admin_formsets"]
        for form in inline.formset.initial_forms
        for name in form.fields
        if name != "DELETE"
    }
    data = event_data(
        slug=event.slug,
        organiser_organisation=organiser.pk,
        starts_at_0="01.06.2027",
        ends_at_0="01.06.2027",
        capacity=2,
        **rows,
    )

    with django_capture_on_commit_callbacks(execute=True):
        response = post_admin_form(admin_client, url, data)

    waiting.refresh_from_db()
    assert response.status_code == 302
    assert waiting.status == EventRegistration.Status.CONFIRMED
    assert [mail.to for mail in mailoutbox] == [["venter@example.org"]]
