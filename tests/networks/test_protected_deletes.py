"""An event people registered for is cancelled, not deleted; a network's sub-groups are not
deleted with it. The admin refuses such deletes with a message saying what to do instead."""

import pytest
from django.db.models import ProtectedError

from networks.models import Event, EventRegistration, Network, Presentation
from tests.factories import (
    make_event,
    make_moderator,
    make_network,
    make_presentation,
    make_registration,
)
from tests.initiatives.test_admin import admin_url
from tests.initiatives.test_protected_deletes import assert_refused, bulk_delete, confirm_delete

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(client):
    client.force_login(make_moderator())
    return client


def test_event_with_registrations_is_protected_by_the_database_rules():
    registration = make_registration(status=EventRegistration.Status.CANCELLED)

    with pytest.raises(ProtectedError):
        registration.event.delete()

    assert EventRegistration.objects.filter(pk=registration.pk).exists() is True


def test_event_delete_page_says_it_has_registrations_and_to_cancel(staff):
    event = make_event(registration=Event.Registration.OPEN)
    make_registration(event=event)
    make_registration(event=event, status=EventRegistration.Status.WAITING)

    response = staff.get(admin_url(Event, "delete", event.pk))

    assert_refused(response, event, [(EventRegistration, 2)])


def test_event_delete_confirmed_anyway_is_refused(staff):
    event = make_registration().event

    response = confirm_delete(staff, event)

    assert_refused(response, event, [(EventRegistration, 1)])
    assert event.registrations.count() == 1


def test_event_bulk_delete_is_refused_with_the_message(staff):
    blocked = make_registration().event
    free = make_event()

    response = bulk_delete(staff, [free, blocked])

    assert_refused(response, blocked, [(EventRegistration, 1)])
    assert Event.objects.filter(pk=free.pk).exists() is True


def test_event_without_registrations_is_deleted_with_its_programme(staff):
    presentation = make_presentation()
    event = presentation.event

    response = confirm_delete(staff, event)

    assert response.status_code == 302
    assert Event.objects.filter(pk=event.pk).exists() is False
    assert Presentation.objects.filter(pk=presentation.pk).exists() is False


def test_event_bulk_delete_goes_ahead_when_nothing_blocks(staff):
    events = [make_event(), make_event()]

    response = bulk_delete(staff, events)

    assert response.status_code == 302
    assert Event.objects.filter(pk__in=[e.pk for e in events]).count() == 0


def test_a_superuser_can_still_delete_a_registration(admin_client):
    # Erasing one person's registration (their request under the GDPR) is legitimate;
    # moderators cancel instead (tests/networks/test_admin_nothing_lost.py).
    registration = make_registration()

    response = confirm_delete(admin_client, registration)

    assert response.status_code == 302
    assert EventRegistration.objects.filter(pk=registration.pk).exists() is False


def test_network_with_sub_groups_is_refused_with_the_message(staff):
    network = make_network()
    make_network(parent=network)

    response = confirm_delete(staff, network)

    assert_refused(response, network, [(Network, 1)])


def test_network_without_sub_groups_is_deleted(staff):
    subgroup = make_network(parent=make_network())

    response = confirm_delete(staff, subgroup)

    assert response.status_code == 302
    assert Network.objects.filter(pk=subgroup.pk).exists() is False
