"""The networks admin changes memberships and registrations only through the model's moves,
and deletes nothing silently (issue 10, points 6 and 7): no inline or bulk deletes, no
delete pages where a move is the way, a network with members kept, a registration's
address never clashing with another's, an admin-added registration in the person's
language, and a refused registration shown on the form with what was typed."""

from datetime import timedelta

import pytest
from django.contrib import admin
from django.db.models import ProtectedError
from django.urls import reverse
from django.utils import timezone, translation

from networks.admin import RegistrationForm
from networks.models import Event, EventRegistration, Membership, Network
from tests.factories import (
    make_event,
    make_membership,
    make_moderator,
    make_network,
    make_organisation,
    make_registration,
)
from tests.initiatives.test_admin import (
    admin_url,
    form_errors,
    in_norwegian,
    post_admin_form,
    shown_messages,
)
from tests.initiatives.test_protected_deletes import assert_refused, bulk_delete, confirm_delete
from tests.networks.test_admin_moves import post_action

pytestmark = pytest.mark.django_db

Status = Membership.Status
RegistrationStatus = EventRegistration.Status


@pytest.fixture
def staff(client):
    client.force_login(make_moderator())
    return client


def offered_actions(client, model) -> set[str]:
    response = client.get(admin_url(model, "changelist"))
    return {name for name, _ in response.context["action_form"].fields["action"].choices if name}


def inline_for(response, model):
    [inline] = [i for i in response.context["inline_admin_formsets"] if i.formset.model is model]
    return inline


def change_page_data(client, url: str, **changes) -> dict[str, object]:
    """What the change page would post back unchanged (inline rows included), then `changes`."""
    page = client.get(url)
    form = page.context["adminform"].form
    data = {
        name: "" if form[name].value() is None else form[name].value()
        for name in form.fields
        if name not in {"starts_at", "ends_at"}
    }
    for name in ("starts_at", "ends_at"):
        if name in form.fields:
            moment = timezone.localtime(getattr(form.instance, name))
            data[f"{name}_0"] = moment.strftime("%d.%m.%Y")
            data[f"{name}_1"] = moment.strftime("%H:%M")
    for inline in page.context["inline_admin_formsets"]:
        management = inline.formset.management_form
        data.update({management.add_prefix(n): management[n].value() for n in management.fields})
        for row in inline.formset.initial_forms:
            for name in row.fields:
                value = row[name].value()
                if value is not None and name != "DELETE":
                    data[row.add_prefix(name)] = value
    return {**data, **changes}


# --- 1. A registration's new address must not be another live registration's ------------


def two_registrations():
    event = make_event(registration=Event.Registration.OPEN)
    first = make_registration(event=event, name="Anne", email="a@example.org")
    second = make_registration(event=event, name="Bjørn", email="b@example.org")
    return first, second


def change_data(registration, **changes) -> dict[str, object]:
    return {
        "name": registration.name,
        "email": registration.email,
        "organisation_name": registration.organisation_name,
        **changes,
    }


@pytest.mark.parametrize("address", ["a@example.org", "A@Example.ORG"])
def test_registration_changed_to_another_registrants_address_is_refused_on_the_form(
    admin_client, address
):
    _first, second = two_registrations()
    url = admin_url(EventRegistration, "change", second.pk)

    response = post_admin_form(admin_client, url, change_data(second, email=address))

    assert response.status_code == 200
    assert form_errors(response) == {
        "email": [in_norwegian("This e-mail address is already registered for the event.")]
    }
    assert response.context["adminform"].form["email"].value() == address
    second.refresh_from_db()
    assert second.email == "b@example.org"


def test_registration_may_take_the_address_of_a_cancelled_registration(admin_client):
    first, second = two_registrations()
    first.cancel()

    response = post_admin_form(
        admin_client,
        admin_url(EventRegistration, "change", second.pk),
        change_data(second, email="a@example.org"),
    )

    assert response.status_code == 302
    second.refresh_from_db()
    assert second.email == "a@example.org"


def test_registration_may_change_the_case_of_its_own_address(admin_client):
    _first, second = two_registrations()

    response = post_admin_form(
        admin_client,
        admin_url(EventRegistration, "change", second.pk),
        change_data(second, email="B@example.org"),
    )

    assert response.status_code == 302
    second.refresh_from_db()
    assert second.email == "B@example.org"


def test_address_taken_between_the_check_and_the_save_is_shown_on_the_form(
    admin_client, monkeypatch
):
    # The form's check finds the address free; the database's rule then refuses it.
    _first, second = two_registrations()
    monkeypatch.setattr(Event, "has_registration_for", lambda self, email, other_than=None: False)

    response = post_admin_form(
        admin_client,
        admin_url(EventRegistration, "change", second.pk),
        change_data(second, name="Bjørn Berg", email="a@example.org"),
    )

    assert response.status_code == 200
    assert form_errors(response) == {
        "__all__": [in_norwegian("This e-mail address is already registered for the event.")]
    }
    assert response.context["adminform"].form["name"].value() == "Bjørn Berg"
    second.refresh_from_db()
    assert (second.name, second.email) == ("Bjørn", "b@example.org")


# --- 2. No silent deletes: registrations ---------------------------------------------------


def test_event_page_offers_no_delete_for_registrations(staff):
    registration = make_registration()

    response = staff.get(admin_url(Event, "change", registration.event_id))

    inline = inline_for(response, EventRegistration)
    assert inline.formset.can_delete is False
    assert "DELETE" not in inline.formset.forms[0].fields


def test_ticking_delete_on_the_registrations_then_deleting_the_event_loses_nobody(
    staff, mailoutbox
):
    event = make_event(registration=Event.Registration.OPEN)
    registrations = [make_registration(event=event) for _ in range(2)]
    url = admin_url(Event, "change", event.pk)
    data = change_page_data(staff, url)
    prefix = inline_for(staff.get(url), EventRegistration).formset.prefix
    for index in range(len(registrations)):
        data[f"{prefix}-{index}-DELETE"] = "on"

    saved = staff.post(url, data)
    deleted = confirm_delete(staff, event)

    assert saved.status_code == 302
    assert event.registrations.count() == 2
    assert_refused(deleted, event, [(EventRegistration, 2)])
    assert mailoutbox == []


def test_moderator_cannot_delete_a_registration(staff):
    registration = make_registration()

    page = staff.get(admin_url(EventRegistration, "delete", registration.pk))
    posted = confirm_delete(staff, registration)
    change = staff.get(admin_url(EventRegistration, "change", registration.pk))

    assert (page.status_code, posted.status_code) == (403, 403)
    assert change.context["has_delete_permission"] is False
    assert EventRegistration.objects.filter(pk=registration.pk).exists() is True


@pytest.mark.parametrize("role", ["moderator", "superuser"])
def test_registrations_list_offers_no_bulk_delete(client, request, role):
    make_registration()
    client.force_login(request.getfixturevalue(role))

    actions = offered_actions(client, EventRegistration)

    assert "delete_selected" not in actions
    assert "cancel_registrations" in actions


def test_bulk_delete_of_registrations_posted_anyway_deletes_nothing(admin_client):
    registration = make_registration()

    bulk_delete(admin_client, [registration])

    assert EventRegistration.objects.filter(pk=registration.pk).exists() is True


def test_superuser_erases_one_registration_and_its_place_goes_to_the_waiting_list(
    admin_client, mailoutbox, django_capture_on_commit_callbacks
):
    event = make_event(registration=Event.Registration.OPEN, capacity=1)
    erased = make_registration(event=event, email="slett@example.org")
    waiting = make_registration(
        event=event, email="venter@example.org", status=RegistrationStatus.WAITING
    )

    with django_capture_on_commit_callbacks(execute=True):
        response = confirm_delete(admin_client, erased)

    assert response.status_code == 302
    assert EventRegistration.objects.filter(pk=erased.pk).exists() is False
    waiting.refresh_from_db()
    assert waiting.status == RegistrationStatus.CONFIRMED
    assert [mail.to for mail in mailoutbox] == [["venter@example.org"]]


# --- 2. No silent deletes: memberships -----------------------------------------------------


def test_network_page_offers_no_delete_for_memberships(staff):
    membership = make_membership()

    response = staff.get(admin_url(Network, "change", membership.network_id))

    inline = inline_for(response, Membership)
    assert inline.formset.can_delete is False
    assert "DELETE" not in inline.formset.forms[0].fields


def test_ticking_delete_on_a_membership_in_the_network_page_keeps_it(staff, mailoutbox):
    membership = make_membership()
    url = admin_url(Network, "change", membership.network_id)
    data = change_page_data(staff, url)
    prefix = inline_for(staff.get(url), Membership).formset.prefix

    response = staff.post(url, {**data, f"{prefix}-0-DELETE": "on"})

    assert response.status_code == 302
    assert Membership.objects.get(pk=membership.pk).status == Status.ACTIVE
    assert mailoutbox == []


@pytest.mark.parametrize("role", ["moderator", "superuser"])
@pytest.mark.parametrize("status", [Status.REQUESTED, Status.ACTIVE, Status.ENDED])
def test_nobody_deletes_a_membership_on_its_delete_page(client, request, role, status):
    membership = make_membership(status=status)
    client.force_login(request.getfixturevalue(role))

    response = confirm_delete(client, membership)

    assert response.status_code == 403
    assert Membership.objects.filter(pk=membership.pk).exists() is True


@pytest.mark.parametrize("role", ["moderator", "superuser"])
def test_memberships_list_offers_the_moves_and_no_bulk_delete(client, request, role):
    make_membership()
    client.force_login(request.getfixturevalue(role))

    actions = offered_actions(client, Membership)

    assert actions == {"approve_selected", "decline_selected", "end_selected"}


def test_bulk_delete_of_memberships_posted_anyway_deletes_nothing(staff):
    memberships = [make_membership(status=Status.REQUESTED), make_membership()]

    bulk_delete(staff, memberships)

    assert Membership.objects.filter(pk__in=[m.pk for m in memberships]).count() == 2


def test_moderator_still_declines_a_request_which_is_kept_as_declined(staff):
    request = make_membership(status=Status.REQUESTED)

    post_action(staff, Membership, "decline_selected", [request])

    assert Membership.objects.get(pk=request.pk).status == Status.DECLINED


def test_memberships_list_puts_requests_first(admin_client):
    network = make_network(name="Aaa-nettverket")
    active = make_membership(network=network)
    request = make_membership(network=make_network(name="Zzz-nettverket"), status=Status.REQUESTED)

    response = admin_client.get(admin_url(Membership, "changelist"))

    assert list(response.context["cl"].result_list) == [request, active]


# --- 3. One definition of a live registration, and of an event being over ---------------


def test_live_registrations_are_the_confirmed_and_the_waiting():
    event = make_event(registration=Event.Registration.OPEN)
    confirmed = make_registration(event=event)
    waiting = make_registration(event=event, status=RegistrationStatus.WAITING)
    make_registration(event=event, status=RegistrationStatus.CANCELLED)

    assert set(event.registrations.live()) == {confirmed, waiting}


def test_an_event_ending_now_is_over_for_registration_and_the_waiting_list(monkeypatch):
    now = timezone.now()
    monkeypatch.setattr(timezone, "now", lambda: now)
    event = make_event(
        registration=Event.Registration.OPEN,
        capacity=1,
        starts_at=now - timedelta(hours=1),
        ends_at=now,
    )
    confirmed = make_registration(event=event)
    waiting = make_registration(event=event, status=RegistrationStatus.WAITING)

    confirmed.cancel()

    assert event.is_over is True
    waiting.refresh_from_db()
    assert waiting.status == RegistrationStatus.WAITING
    assert event.fill_free_places() == []


# --- 4. A membership stays with its network and organisation ------------------------------


def test_membership_change_form_shows_network_and_organisation_read_only(admin_client):
    membership = make_membership()

    response = admin_client.get(admin_url(Membership, "change", membership.pk))

    form = response.context["adminform"].form
    assert {"network", "organisation"} & set(form.fields) == set()
    assert {"network", "organisation"} <= set(response.context["adminform"].readonly_fields)


def test_membership_change_form_ignores_another_network_and_organisation(admin_client):
    membership = make_membership()
    network, organisation = membership.network, membership.organisation

    response = post_admin_form(
        admin_client,
        admin_url(Membership, "change", membership.pk),
        {
            "network": make_network().pk,
            "organisation": make_organisation().pk,
            "role": Membership.Role.COORDINATOR,
        },
    )

    membership.refresh_from_db()
    assert response.status_code == 302
    assert (membership.network, membership.organisation, membership.role) == (
        network,
        organisation,
        Membership.Role.COORDINATOR,
    )


def test_membership_add_form_still_picks_network_and_organisation(admin_client):
    response = admin_client.get(admin_url(Membership, "add"))

    assert {"network", "organisation"} <= set(response.context["adminform"].form.fields)


def test_network_page_keeps_a_listed_organisation_in_its_row(staff):
    membership = make_membership()
    organisation = membership.organisation
    url = admin_url(Network, "change", membership.network_id)
    prefix = inline_for(staff.get(url), Membership).formset.prefix
    data = change_page_data(staff, url, **{f"{prefix}-0-organisation": make_organisation().pk})

    response = staff.post(url, data)

    assert response.status_code == 302
    membership.refresh_from_db()
    assert membership.organisation == organisation


# --- 5. A network with members or requests is not deleted ---------------------------------


def test_network_refusal_says_to_end_the_memberships_first():
    with translation.override("en"):
        instead = str(admin.site._registry[Network].delete_instead)

    assert instead.startswith("End its memberships and decline its requests to join first")


@pytest.mark.parametrize("status", [Status.ACTIVE, Status.REQUESTED])
def test_network_with_a_live_membership_is_protected_by_the_model(status):
    membership = make_membership(status=status)

    with pytest.raises(ProtectedError):
        membership.network.delete()

    assert Membership.objects.filter(pk=membership.pk).exists() is True


@pytest.mark.parametrize("status", [Status.ACTIVE, Status.REQUESTED])
def test_network_delete_with_live_memberships_is_refused_with_the_message(staff, status):
    network = make_network()
    make_membership(network=network, status=status)
    make_membership(network=network, status=status)
    make_membership(network=network, status=Status.ENDED)

    response = confirm_delete(staff, network)

    assert_refused(response, network, [(Membership, 2)])
    assert network.memberships.count() == 3


def test_network_bulk_delete_with_an_active_membership_is_refused(staff):
    blocked = make_membership().network
    free = make_network()

    response = bulk_delete(staff, [free, blocked])

    assert_refused(response, blocked, [(Membership, 1)])
    assert Network.objects.filter(pk=free.pk).exists() is True


def test_network_whose_memberships_have_ended_is_deleted_with_them(staff, mailoutbox):
    ended = make_membership(status=Status.ENDED, ended_at=timezone.now())

    response = confirm_delete(staff, ended.network)

    assert response.status_code == 302
    assert Network.objects.filter(pk=ended.network_id).exists() is False
    assert Membership.objects.filter(pk=ended.pk).exists() is False
    assert mailoutbox == []


# --- 6. Admin-added registrations: the person's language; a refusal kept on the form ------


def registration_data(event: Event, **overrides) -> dict[str, object]:
    return {
        "event": event.pk,
        "name": "Jane Doe",
        "email": "jane@example.org",
        "organisation_name": "Asker kommune",
        **overrides,
    }


def test_registration_add_form_offers_the_languages_bokmal_first(staff):
    response = staff.get(admin_url(EventRegistration, "add"))

    field = response.context["adminform"].form["language"]
    assert [code for code, _ in field.field.choices] == ["nb", "en"]
    assert field.value() == "nb"


@pytest.mark.parametrize(
    ("admin_language", "chosen", "expected"),
    [("nb", "en", "en"), ("en", "nb", "nb"), ("en", None, "nb")],
    ids=["english-from-bokmal-admin", "bokmal-from-english-admin", "default-bokmal"],
)
def test_registration_added_in_the_admin_is_mailed_in_the_language_chosen(
    staff, mailoutbox, django_capture_on_commit_callbacks, admin_language, chosen, expected
):
    event = make_event(registration=Event.Registration.OPEN, title="Frokostmøte")
    with translation.override(admin_language):
        url = reverse("admin:networks_eventregistration_add")
    data = registration_data(event)
    if chosen:
        data["language"] = chosen

    with django_capture_on_commit_callbacks(execute=True):
        response = post_admin_form(staff, url, data)

    assert response.status_code == 302
    registration = event.registrations.get()
    assert registration.language == expected
    with translation.override(expected):
        subject = translation.gettext("You are registered for %(title)s") % {"title": "Frokostmøte"}
    assert [(mail.to, mail.subject) for mail in mailoutbox] == [(["jane@example.org"], subject)]
    assert ("/en/" in registration.cancel_url) == (expected == "en")


def test_registration_change_form_shows_the_language_read_only(admin_client):
    registration = make_registration(language="en")

    response = admin_client.get(admin_url(EventRegistration, "change", registration.pk))

    assert "language" not in response.context["adminform"].form.fields
    assert "language" in response.context["adminform"].readonly_fields


def test_registration_refused_at_the_save_is_shown_on_the_form_with_the_input(
    staff, mailoutbox, monkeypatch, django_capture_on_commit_callbacks
):
    # The form finds the event open; it closes before Event.register takes its lock.
    event = make_event(registration=Event.Registration.OPEN)
    check = Event.check_registration

    def check_then_close(self, email):
        check(self, email)
        Event.objects.filter(pk=self.pk).update(registration=Event.Registration.CLOSED)

    monkeypatch.setattr(Event, "check_registration", check_then_close)

    with django_capture_on_commit_callbacks(execute=True):
        response = post_admin_form(
            staff, admin_url(EventRegistration, "add"), registration_data(event, language="en")
        )

    assert response.status_code == 200
    assert form_errors(response) == {
        "__all__": [in_norwegian("Registration for this event is closed.")]
    }
    form = response.context["adminform"].form
    assert (form["name"].value(), form["email"].value(), form["language"].value()) == (
        "Jane Doe",
        "jane@example.org",
        "en",
    )
    assert shown_messages(response) == []
    assert event.registrations.count() == 0
    assert mailoutbox == []


def test_registration_form_refusal_is_a_form_error():
    event = make_event(registration=Event.Registration.OPEN)
    form_class = type("Refused", (RegistrationForm,), {"refusal": "Stengt."})

    form = form_class(data=registration_data(event))

    assert form.is_valid() is False
    assert form.errors == {"__all__": ["Stengt."]}
