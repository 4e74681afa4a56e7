"""Organisers export an event's registrations from the admin as CSV that Excel reads."""

import csv
import io
from datetime import UTC, datetime

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import translation

from networks.models import Event, EventRegistration
from tests.factories import make_event, make_registration, make_user
from tests.initiatives.test_admin import admin_url, in_norwegian, shown_messages

pytestmark = pytest.mark.django_db

BOM = b"\xef\xbb\xbf"
HEADER = ["Event", "Event starts", "Name", "E-mail", "Organisation", "Status", "Registered at"]


def export_action(client, events):
    return client.post(
        admin_url(Event, "changelist"),
        {
            "action": "export_registrations",
            "_selected_action": [event.pk for event in events],
            "index": 0,
        },
    )


def export_url(event: Event) -> str:
    with translation.override("nb"):
        return reverse("admin:networks_event_registrations_csv", args=[event.pk])


def rows(response) -> list[list[str]]:
    text = response.content.decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text), delimiter=";"))


def cancelled_in_norwegian(count: int) -> str:
    with translation.override("nb"):
        return translation.ngettext(
            "%(count)d registration cancelled.", "%(count)d registrations cancelled.", count
        ) % {"count": count}


def registration_at(event: Event, moment: datetime, **fields) -> EventRegistration:
    registration = make_registration(event=event, **fields)
    EventRegistration.objects.filter(pk=registration.pk).update(created=moment)
    return registration


def test_export_action_gives_the_registrations_as_utf8_csv_with_a_bom(client, moderator):
    # Winter: Oslo is UTC+1.
    event = make_event(
        title="Frokostmøte på Ås",
        starts_at=datetime(2031, 1, 10, 8, 0, tzinfo=UTC),
        registration=Event.Registration.OPEN,
        capacity=1,
    )
    registration_at(
        event,
        datetime(2030, 12, 1, 9, 30, tzinfo=UTC),
        name="Åse Øvregård",
        email="ase@example.org",
        organisation_name="Bærum kommune",
    )
    registration_at(
        event,
        datetime(2030, 12, 2, 10, 0, tzinfo=UTC),
        name="Per",
        email="per@example.org",
        status=EventRegistration.Status.WAITING,
    )
    make_registration(event=make_event(), name="Not this event")
    client.force_login(moderator)

    response = export_action(client, [event])

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith("attachment; filename")
    assert response.content.startswith(BOM)
    assert rows(response) == [
        [in_norwegian(title) for title in HEADER],
        [
            "Frokostmøte på Ås",
            "2031-01-10 09:00",
            "Åse Øvregård",
            "ase@example.org",
            "Bærum kommune",
            in_norwegian("Confirmed"),
            "2030-12-01 10:30",
        ],
        [
            "Frokostmøte på Ås",
            "2031-01-10 09:00",
            "Per",
            "per@example.org",
            "",
            in_norwegian("On the waiting list"),
            "2030-12-02 11:00",
        ],
    ]


def test_export_action_on_several_events_lists_them_in_time_order(client, moderator):
    later = make_event(title="Later", starts_at=datetime(2031, 5, 1, 8, 0, tzinfo=UTC))
    sooner = make_event(title="Sooner", starts_at=datetime(2031, 4, 1, 8, 0, tzinfo=UTC))
    make_registration(event=later, name="B")
    make_registration(event=sooner, name="A")
    client.force_login(moderator)

    response = export_action(client, [later, sooner])

    assert [(row[0], row[2]) for row in rows(response)[1:]] == [("Sooner", "A"), ("Later", "B")]


@pytest.mark.parametrize("value", ['=HYPERLINK("http://x")', "+1+2", "-2+3", "@SUM(A1)", "\tx"])
def test_export_keeps_formulas_from_running_in_a_spreadsheet(client, moderator, value):
    event = make_event(title=value)
    make_registration(event=event, name=value, organisation_name=value)
    client.force_login(moderator)

    response = export_action(client, [event])

    [row] = rows(response)[1:]
    assert (row[0], row[2], row[4]) == (f"'{value}", f"'{value}", f"'{value}")


def test_export_per_event_is_linked_from_its_change_page(client, moderator):
    event = make_event(slug="frokostmote")
    make_registration(event=event, name="Kari")
    make_registration(event=make_event(), name="Other event's")
    client.force_login(moderator)

    page = client.get(admin_url(Event, "change", event.pk)).content.decode()
    response = client.get(export_url(event))

    assert f'href="{export_url(event)}"' in page
    assert response.content.startswith(BOM)
    assert [row[2] for row in rows(response)[1:]] == ["Kari"]
    assert response["Content-Disposition"].endswith("-frokostmote.csv")


def test_export_non_staff_is_sent_to_the_admin_login(client):
    event = make_event()
    make_registration(event=event, email="secret@example.org")
    client.force_login(make_user())

    action = export_action(client, [event])
    direct = client.get(export_url(event))

    for response in (action, direct):
        assert response.status_code == 302
        assert "/admin/login/" in response.url
        assert b"secret@example.org" not in response.content


def test_export_anonymous_is_sent_to_the_admin_login(client):
    event = make_event()

    response = client.get(export_url(event))

    assert response.status_code == 302
    assert "/admin/login/" in response.url


def test_export_staff_who_may_not_see_registrations_cannot(client):
    event = make_event()
    make_registration(event=event, email="secret@example.org")
    editor = make_user(is_staff=True)
    editor.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_event", "change_event"])
    )
    client.force_login(editor)

    changelist = client.get(admin_url(Event, "changelist"))
    page = client.get(admin_url(Event, "change", event.pk)).content.decode()
    direct = client.get(export_url(event))

    action_form = changelist.context["action_form"]
    actions = (
        [value for value, _label in action_form.fields["action"].choices] if action_form else []
    )
    assert "export_registrations" not in actions
    assert export_url(event) not in page
    assert direct.status_code == 403
    assert b"secret@example.org" not in direct.content


@pytest.mark.parametrize("object_id", ["999999", "abc"])
def test_export_unknown_event_is_404(client, moderator, object_id):
    client.force_login(moderator)

    response = client.get(f"/admin/networks/event/{object_id}/registrations.csv")

    assert response.status_code == 404


def test_cancel_action_moves_the_waiting_list_up_and_emails(
    client, moderator, mailoutbox, django_capture_on_commit_callbacks
):
    event = make_event(registration=Event.Registration.OPEN, capacity=1)
    confirmed = make_registration(event=event)
    waiting = make_registration(event=event, status=EventRegistration.Status.WAITING)
    client.force_login(moderator)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            admin_url(EventRegistration, "changelist"),
            {"action": "cancel_registrations", "_selected_action": [confirmed.pk], "index": 0},
        )

    assert dict(event.registrations.values_list("pk", "status")) == {
        confirmed.pk: "cancelled",
        waiting.pk: "confirmed",
    }
    assert [mail.to for mail in mailoutbox] == [[waiting.email]]
    assert shown_messages(response) == [("success", cancelled_in_norwegian(1))]


def test_cancel_action_on_cancelled_registrations_warns_and_sends_nothing(
    client, moderator, mailoutbox, django_capture_on_commit_callbacks
):
    registration = make_registration(status=EventRegistration.Status.CANCELLED)
    client.force_login(moderator)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            admin_url(EventRegistration, "changelist"),
            {"action": "cancel_registrations", "_selected_action": [registration.pk], "index": 0},
        )

    assert shown_messages(response) == [
        ("warning", in_norwegian("All the selected registrations were already cancelled."))
    ]
    assert mailoutbox == []
