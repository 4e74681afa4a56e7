"""Network memberships and event registrations in the admin: their statuses are read-only
and change only through actions that call the model's moves, with their e-mails and
timestamps, as the public pages do."""

from datetime import timedelta

import pytest
from django.utils import timezone, translation

from ideabank.models import profile_for
from networks.models import Event, EventRegistration, Membership, Network
from tests.factories import (
    make_event,
    make_membership,
    make_moderator,
    make_network,
    make_org_member,
    make_organisation,
    make_registration,
    make_user,
)
from tests.initiatives.test_admin import (
    admin_url,
    count_in_norwegian,
    form_errors,
    in_norwegian,
    post_admin_form,
    shown_messages,
)

pytestmark = pytest.mark.django_db

Status = Membership.Status
RegistrationStatus = EventRegistration.Status


def english(user):
    profile = profile_for(user)
    profile.language = "en"
    profile.save()
    return user


def translated(language: str, message: str, **params) -> str:
    with translation.override(language):
        return translation.gettext(message) % params


def post_action(client, model, action: str, objects, **extra):
    return client.post(
        admin_url(model, "changelist"),
        {"action": action, "_selected_action": [o.pk for o in objects], "index": 0, **extra},
    )


@pytest.fixture
def staff(client):
    client.force_login(make_moderator())
    return client


@pytest.fixture
def organisation():
    """Asker kommune with two active members: one reads Bokmål, one English."""
    organisation = make_organisation(name="Asker kommune")
    make_org_member(organisation=organisation, user=make_user(email="kari@example.org"))
    make_org_member(organisation=organisation, user=english(make_user(email="jane@example.org")))
    return organisation


@pytest.fixture
def network():
    return make_network(name="Bærekraftsnettverket")


# --- Memberships: read-only statuses -----------------------------------------------------


RECORDED = {"status", "since", "ended_at", "requested_by", "approved_by"}


def test_membership_change_form_shows_the_status_read_only(admin_client):
    membership = make_membership(status=Status.REQUESTED)

    response = admin_client.get(admin_url(Membership, "change", membership.pk))

    assert RECORDED & set(response.context["adminform"].form.fields) == set()
    assert set(response.context["adminform"].readonly_fields) >= RECORDED


def test_membership_change_form_ignores_a_posted_status(admin_client, mailoutbox):
    membership = make_membership(status=Status.REQUESTED)
    data = {
        "network": membership.network.pk,
        "organisation": membership.organisation.pk,
        "role": Membership.Role.COORDINATOR,
        "status": Status.ACTIVE,
        "since_0": "01.01.2020",
    }

    response = post_admin_form(admin_client, admin_url(Membership, "change", membership.pk), data)

    membership.refresh_from_db()
    assert response.status_code == 302
    assert (membership.role, membership.status, membership.since) == (
        Membership.Role.COORDINATOR,
        Status.REQUESTED,
        None,
    )
    assert mailoutbox == []


def test_membership_added_in_the_admin_starts_as_a_request(admin_client, network):
    organisation = make_organisation()
    data = {
        "network": network.pk,
        "organisation": organisation.pk,
        "role": Membership.Role.MEMBER,
        "status": Status.ACTIVE,
    }

    response = post_admin_form(admin_client, admin_url(Membership, "add"), data)

    assert response.status_code == 302
    membership = Membership.objects.get(network=network, organisation=organisation)
    assert (membership.status, membership.since) == (Status.REQUESTED, None)


def test_network_page_membership_inline_shows_statuses_read_only(admin_client, network):
    make_membership(network=network)

    response = admin_client.get(admin_url(Network, "change", network.pk))

    [inline] = [
        i for i in response.context["inline_admin_formsets"] if i.formset.model is Membership
    ]
    assert RECORDED & set(inline.formset.forms[0].fields) == set()


def test_network_inline_ignores_a_posted_status(admin_client, network):
    membership = make_membership(network=network, status=Status.REQUESTED)
    url = admin_url(Network, "change", network.pk)
    page = admin_client.get(url)
    rows = {
        form.add_prefix(name): "" if form[name].value() is None else form[name].value()
        for inline in page.context["inline_admin_formsets"]
        for form in inline.formset.initial_forms
        for name in form.fields
        if name != "DELETE"
    }
    prefix = next(key for key in rows if key.endswith("-id")).rsplit("-", 1)[0]
    data = {
        "name": network.name,
        "slug": network.slug,
        "scope": network.scope,
        "description": network.description,
        **rows,
        f"{prefix}-status": Status.ACTIVE,
    }

    response = post_admin_form(admin_client, url, data)

    membership.refresh_from_db()
    assert response.status_code == 302
    assert membership.status == Status.REQUESTED


# --- Memberships: the actions --------------------------------------------------------------


def test_approve_action_makes_a_member_from_today_and_tells_the_requester(
    staff, network, organisation, mailoutbox, django_capture_on_commit_callbacks
):
    requester = english(make_user(email="asker@example.org"))
    membership = make_membership(
        network=network, organisation=organisation, status=Status.REQUESTED, requested_by=requester
    )

    with django_capture_on_commit_callbacks(execute=True):
        response = post_action(staff, Membership, "approve_selected", [membership])

    membership.refresh_from_db()
    assert (membership.status, membership.since, membership.approved_by) == (
        Status.ACTIVE,
        timezone.localdate(),
        response.wsgi_request.user,
    )
    assert [mail.to for mail in mailoutbox] == [["asker@example.org"]]
    assert mailoutbox[0].subject == "Asker kommune is now a member of Bærekraftsnettverket"
    assert shown_messages(response) == [
        (
            "success",
            count_in_norwegian("%d request to join approved.", "%d requests to join approved.", 1),
        )
    ]


def test_approve_action_on_no_requests_warns_and_changes_nothing(staff, mailoutbox):
    active = make_membership(status=Status.ACTIVE, since=timezone.localdate() - timedelta(days=9))

    response = post_action(staff, Membership, "approve_selected", [active])

    active.refresh_from_db()
    assert active.since == timezone.localdate() - timedelta(days=9)
    assert shown_messages(response) == [
        ("warning", in_norwegian("None of the selected memberships was a request to join."))
    ]
    assert mailoutbox == []


def test_decline_action_declines_the_request_and_tells_the_requester(
    staff, network, organisation, mailoutbox, django_capture_on_commit_callbacks
):
    requester = make_user(email="asker@example.org")
    membership = make_membership(
        network=network, organisation=organisation, status=Status.REQUESTED, requested_by=requester
    )

    with django_capture_on_commit_callbacks(execute=True):
        post_action(staff, Membership, "decline_selected", [membership])

    assert Membership.objects.get(pk=membership.pk).status == Status.DECLINED
    assert [mail.to for mail in mailoutbox] == [["asker@example.org"]]


def test_decline_action_on_an_active_membership_warns_and_keeps_it(staff, mailoutbox):
    active = make_membership(status=Status.ACTIVE)

    response = post_action(staff, Membership, "decline_selected", [active])

    assert Membership.objects.get(pk=active.pk).status == Status.ACTIVE
    assert [level for level, _ in shown_messages(response)] == ["warning"]
    assert mailoutbox == []


def test_end_action_ends_the_membership_and_tells_the_members_in_their_language(
    staff, network, organisation, mailoutbox, django_capture_on_commit_callbacks
):
    membership = make_membership(
        network=network, organisation=organisation, since=timezone.localdate()
    )

    with django_capture_on_commit_callbacks(execute=True):
        response = post_action(staff, Membership, "end_selected", [membership])

    membership.refresh_from_db()
    assert membership.status == Status.ENDED
    assert timezone.now() - membership.ended_at < timedelta(minutes=1)
    # The row stays, with when it began.
    assert membership.since == timezone.localdate()
    mails = {mail.to[0]: mail for mail in mailoutbox}
    assert sorted(mails) == ["jane@example.org", "kari@example.org"]
    for address, language in [("kari@example.org", "nb"), ("jane@example.org", "en")]:
        assert mails[address].subject == translated(
            language,
            "%(organisation)s is no longer a member of %(network)s",
            organisation="Asker kommune",
            network="Bærekraftsnettverket",
        )
    assert f"/en/nettverk/{network.slug}/" in mails["jane@example.org"].body
    assert "/en/" not in mails["kari@example.org"].body
    assert shown_messages(response) == [
        ("success", count_in_norwegian("%d membership ended.", "%d memberships ended.", 1))
    ]


def test_end_action_twice_tells_nobody_again(
    staff, organisation, mailoutbox, django_capture_on_commit_callbacks
):
    membership = make_membership(organisation=organisation)
    with django_capture_on_commit_callbacks(execute=True):
        post_action(staff, Membership, "end_selected", [membership])
    ended_at = Membership.objects.get(pk=membership.pk).ended_at
    mailoutbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        post_action(staff, Membership, "end_selected", [membership])

    assert Membership.objects.get(pk=membership.pk).ended_at == ended_at
    assert mailoutbox == []


def test_end_action_on_a_request_warns_and_keeps_it(staff, mailoutbox):
    request = make_membership(status=Status.REQUESTED)

    response = post_action(staff, Membership, "end_selected", [request])

    assert Membership.objects.get(pk=request.pk).status == Status.REQUESTED
    assert shown_messages(response) == [
        (
            "warning",
            f"{request}: "
            + in_norwegian("Only an active membership can be ended; decline a request instead."),
        )
    ]
    assert mailoutbox == []


def test_approving_an_ended_membership_after_a_new_request_clears_the_end(staff):
    membership = make_membership(status=Status.ENDED, ended_at=timezone.now())
    membership.status = Status.REQUESTED
    membership.save()

    post_action(staff, Membership, "approve_selected", [membership])

    membership.refresh_from_db()
    assert (membership.status, membership.ended_at) == (Status.ACTIVE, None)


# --- Registrations: read-only statuses -----------------------------------------------------


def test_registration_change_form_shows_the_status_read_only(admin_client):
    registration = make_registration()

    response = admin_client.get(admin_url(EventRegistration, "change", registration.pk))

    fields = set(response.context["adminform"].form.fields)
    assert fields == {"name", "email", "organisation_name"}


def test_registration_change_form_ignores_a_posted_status(admin_client):
    registration = make_registration(name="Kari")
    data = {
        "event": make_event().pk,
        "name": "Kari Nordmann",
        "email": registration.email,
        "organisation_name": "Asker kommune",
        "status": RegistrationStatus.CANCELLED,
    }

    response = post_admin_form(
        admin_client, admin_url(EventRegistration, "change", registration.pk), data
    )

    event_id = registration.event_id
    registration.refresh_from_db()
    assert response.status_code == 302
    assert (registration.name, registration.status, registration.event_id) == (
        "Kari Nordmann",
        RegistrationStatus.CONFIRMED,
        event_id,
    )


def test_event_page_registration_inline_is_read_only_for_statuses_and_adds_nothing(
    admin_client,
):
    registration = make_registration()

    response = admin_client.get(admin_url(Event, "change", registration.event_id))

    [inline] = [
        i for i in response.context["inline_admin_formsets"] if i.formset.model is EventRegistration
    ]
    # No DELETE either: a registration is cancelled, which frees its place for the waiting list.
    assert set(inline.formset.forms[0].fields) == {
        "id",
        "event",
        "name",
        "email",
        "organisation_name",
    }
    assert inline.has_add_permission is False


def test_event_inline_ignores_a_posted_registration_status(admin_client):
    event = make_event(registration=Event.Registration.OPEN, capacity=1)
    registration = make_registration(event=event)
    url = admin_url(Event, "change", event.pk)
    page = admin_client.get(url)
    form = page.context["adminform"].form
    data = {
        name: "" if form[name].value() is None else form[name].value()
        for name in form.fields
        if name not in {"starts_at", "ends_at", "audience"}
    }
    starts, ends = (timezone.localtime(moment) for moment in (event.starts_at, event.ends_at))
    data.update(
        {
            "starts_at_0": starts.strftime("%d.%m.%Y"),
            "starts_at_1": starts.strftime("%H:%M"),
            "ends_at_0": ends.strftime("%d.%m.%Y"),
            "ends_at_1": ends.strftime("%H:%M"),
        }
    )
    for inline in page.context["inline_admin_formsets"]:
        for row in inline.formset.initial_forms:
            for name in row.fields:
                if name != "DELETE":
                    value = row[name].value()
                    data[row.add_prefix(name)] = "" if value is None else value
            if inline.formset.model is EventRegistration:
                data[row.add_prefix("status")] = RegistrationStatus.CANCELLED

    response = post_admin_form(admin_client, url, data)

    registration.refresh_from_db()
    assert response.status_code == 302
    assert registration.status == RegistrationStatus.CONFIRMED


# --- Registrations: added through Event.register, cancelled through cancel() ---------------


def registration_data(event: Event, **overrides) -> dict[str, object]:
    return {
        "event": event.pk,
        "name": "Kari Nordmann",
        "email": "kari@example.org",
        "organisation_name": "Asker kommune",
        **overrides,
    }


def test_registration_added_in_the_admin_goes_through_register(
    admin_client, mailoutbox, django_capture_on_commit_callbacks
):
    event = make_event(registration=Event.Registration.OPEN, capacity=5)

    with django_capture_on_commit_callbacks(execute=True):
        response = post_admin_form(
            admin_client,
            admin_url(EventRegistration, "add"),
            registration_data(event, status=RegistrationStatus.WAITING),
        )

    registration = EventRegistration.objects.get(event=event)
    assert response.status_code == 302
    assert (registration.name, registration.status) == (
        "Kari Nordmann",
        RegistrationStatus.CONFIRMED,
    )
    assert [mail.to for mail in mailoutbox] == [["kari@example.org"]]
    assert registration.cancel_url in mailoutbox[0].body


def test_registration_added_in_the_admin_to_a_full_event_waits(admin_client):
    event = make_event(registration=Event.Registration.OPEN, capacity=1)
    make_registration(event=event)

    response = post_admin_form(
        admin_client, admin_url(EventRegistration, "add"), registration_data(event)
    )

    assert response.status_code == 302
    added = event.registrations.get(email="kari@example.org")
    assert added.status == RegistrationStatus.WAITING
    assert (
        "warning",
        in_norwegian(
            "The event is full, so %(name)s is on the waiting list.", name="Kari Nordmann"
        ),
    ) in shown_messages(response)


@pytest.mark.parametrize(
    ("event_state", "refusal"),
    [
        ({"registration": Event.Registration.CLOSED}, "Registration for this event is closed."),
        (
            {"cancelled_at": timezone.now()},
            "This event is cancelled, so it takes no registrations.",
        ),
    ],
    ids=["closed", "cancelled"],
)
def test_registration_added_in_the_admin_is_refused_as_on_the_event_page(
    admin_client, mailoutbox, event_state, refusal
):
    event = make_event(**{"registration": Event.Registration.OPEN, **event_state})

    response = post_admin_form(
        admin_client, admin_url(EventRegistration, "add"), registration_data(event)
    )

    assert response.status_code == 200
    assert form_errors(response) == {"__all__": [in_norwegian(refusal)]}
    assert event.registrations.count() == 0
    assert mailoutbox == []


def test_cancel_registrations_action_records_when_and_moves_the_waiting_list_up(
    staff, mailoutbox, django_capture_on_commit_callbacks
):
    event = make_event(registration=Event.Registration.OPEN, capacity=1)
    confirmed = make_registration(event=event)
    waiting = make_registration(
        event=event, email="venter@example.org", status=RegistrationStatus.WAITING
    )

    with django_capture_on_commit_callbacks(execute=True):
        post_action(staff, EventRegistration, "cancel_registrations", [confirmed])

    confirmed.refresh_from_db()
    waiting.refresh_from_db()
    assert confirmed.status == RegistrationStatus.CANCELLED
    assert timezone.now() - confirmed.cancelled_at < timedelta(minutes=1)
    assert waiting.status == RegistrationStatus.CONFIRMED
    assert [mail.to for mail in mailoutbox] == [["venter@example.org"]]
