"""A person's own data: the export, deleting the account, and the retention jobs."""

import json
import sqlite3
import subprocess
from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django.db import connection
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from reversion.models import Revision

from ideabank import personal_data, tasks
from ideabank.email import Recipient, send_to
from ideabank.models import Follow, OutgoingMail, Profile, profile_for
from initiatives import history
from initiatives.models import Initiative, Municipality, OrganisationMember
from networks.models import EventRegistration, Membership
from tests.factories import (
    make_adoption,
    make_comment,
    make_comment_report,
    make_confirmed_user,
    make_event,
    make_follow,
    make_initiative,
    make_membership,
    make_moderator,
    make_org_member,
    make_organisation,
    make_registration,
    make_status_change,
    make_user,
    make_working_group_member,
)

pytestmark = pytest.mark.django_db

User = get_user_model()
PASSWORD = "correct horse battery staple"  # make_user's
EMAIL = "anna.andersen@example.org"
OTHER = "ole.olsen@example.org"


def url(name: str, language: str = "nb") -> str:
    with translation.override(language):
        return reverse(name)


def person(email: str = EMAIL, *, language: str = "nb", name: str = "Anna Andersen"):
    """A confirmed account made the way sign-up makes them: the address is the username."""
    user = make_confirmed_user(username=email, email=email, first_name=name)
    Profile.objects.filter(user=user).update(language=language)
    return user


def give_data(user, *, rows: int = 1) -> dict:
    """`rows` of every kind of data the site holds about `user`; what was made, by kind."""
    organisation = make_organisation()
    made = {"initiatives": [], "registrations": []}
    for number in range(rows):
        make_org_member(user=user, status=OrganisationMember.Status.REQUESTED)
        make_membership(requested_by=user, status=Membership.Status.REQUESTED)
        created = make_initiative(created_by=user, lead_organisation=organisation)
        # Their address as contact, typed in another case by a colleague.
        contact = make_initiative(
            contact_name="Anna Andersen",
            contact_role="Rådgiver",
            contact_email=user.email.upper(),
            contact_phone="99 99 99 99",
            lead_organisation=organisation,
        )
        made["initiatives"] += [created, contact]
        make_adoption(reported_by=user, note=f"Notat {number}")
        made["registrations"].append(
            make_registration(name="Anna Andersen", email=user.email.title())
        )
        make_status_change(initiative=created, changed_by=user, note="Sendt inn.")
        with history.change(contact, by=user, comment=history.EDITED):
            contact.summary = f"Endret {number}"
            contact.save()
        make_working_group_member(user=user, name="Anna Andersen")
        make_follow(user=user, initiative=created)
        make_comment(author=user, body=f"Spørsmål {number}", organisation=organisation)
        make_comment_report(reporter=user, reason=f"Reklame {number}")
    send_to("email/account_deleted", {"contact_email": "x@example.org"}, [user])
    return made


def give_other_person_data() -> None:
    """The same kinds of data for someone else: none of it may reach Anna's export."""
    other = person(OTHER, name="Ole Olsen")
    give_data(other)


# --- Export -----------------------------------------------------------------------------


def test_export_holds_each_kind_of_data_and_nothing_of_other_people(client):
    user = person()
    made = give_data(user)
    give_other_person_data()
    client.force_login(user)

    response = client.get(url("accounts:my_data"))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="idebanken-data-')
    assert response["Cache-Control"] == "no-store, private"
    text = response.content.decode()
    data = json.loads(text)
    assert data["account"]["email"] == EMAIL
    assert data["account"]["name"] == "Anna Andersen"
    assert data["profile"]["email_confirmed"] is True
    assert data["profile"]["language"] == "nb"
    assert [m["status"] for m in data["organisation_memberships"]] == ["requested"]
    assert [m["you"] for m in data["network_membership_requests"]] == ["requested"]
    assert sorted(i["title"] for i in data["initiatives"]) == sorted(
        i.title for i in made["initiatives"]
    )
    assert sorted((i["created_by_you"], i["you_are_contact"]) for i in data["initiatives"]) == [
        (False, True),
        (True, False),
    ]
    assert [a["note"] for a in data["adoptions"]] == ["Notat 0"]
    assert [r["email"] for r in data["event_registrations"]] == [EMAIL.title()]
    assert [c["note"] for c in data["status_changes"]] == ["Sendt inn."]
    assert [e["comment"] for e in data["edits"]] == [history.EDITED]
    assert [e["objects"][0]["type"] for e in data["edits"]] == ["initiative"]
    assert [s["name"] for s in data["working_group_seats"]] == ["Anna Andersen"]
    assert [m["to"] for m in data["mails_to_you"]] == [EMAIL]
    assert data["profile"]["follow_mail"] == "weekly"
    assert [(f["kind"], f["what"]) for f in data["follows"]] == [
        ("initiative", made["initiatives"][0].title)
    ]
    assert [(c["text"], c["kind"], c["hidden"]) for c in data["comments"]] == [
        ("Spørsmål 0", "comment", None)
    ]
    assert [r["reason"] for r in data["comment_reports"]] == ["Reklame 0"]
    assert OTHER not in text
    assert "Ole Olsen" not in text


def test_export_of_an_unconfirmed_account_leaves_out_what_only_the_address_ties_to_it(client):
    user = make_user(username=EMAIL, email=EMAIL)
    profile_for(user)
    make_registration(email=EMAIL, name="Someone with this address")
    make_initiative(contact_email=EMAIL)
    send_to("email/account_deleted", {}, [Recipient(EMAIL, "nb")])
    client.force_login(user)

    data = json.loads(client.get(url("accounts:my_data")).content)

    assert (data["event_registrations"], data["mails_to_you"], data["initiatives"]) == ([], [], [])


def test_export_hides_links_that_sign_in(client):
    user = person()
    send_to(
        "email/account_confirm",
        {"user": user, "confirm_url": "https://x/secret", "valid_days": 3},
        [user],
    )
    client.force_login(user)

    data = json.loads(client.get(url("accounts:my_data")).content)

    assert "https://x/secret" not in json.dumps(data)
    assert [m["body"] for m in data["mails_to_you"]] == [
        "(Removed once sent: it held a personal link.)"
    ]


@pytest.mark.parametrize("rows", [1, 5])
def test_export_query_count_does_not_grow_with_the_rows(django_assert_num_queries, rows):
    user = person()
    give_data(user, rows=rows)

    with django_assert_num_queries(16):
        data = personal_data.collect(user)

    assert len(data["initiatives"]) == 2 * rows
    assert len(data["comments"]) == len(data["follows"]) == rows


def test_export_needs_log_in(client):
    response = client.get(url("accounts:my_data"))

    assert (response.status_code, response["Location"].split("?")[0]) == (
        302,
        url("accounts:login"),
    )


def test_export_refuses_post(client):
    client.force_login(person())

    assert client.post(url("accounts:my_data")).status_code == 405


# --- Deleting the account -----------------------------------------------------------------


def test_delete_page_explains_and_asks_for_the_password(client):
    client.force_login(person())

    response = client.get(url("accounts:account_delete", "en"))

    assert response.status_code == 200
    page = response.content.decode()
    assert "What is deleted" in page
    assert "What is kept" in page
    assert 'type="password"' in page


def test_delete_with_the_wrong_password_changes_nothing(client):
    user = person()
    made = give_data(user)
    client.force_login(user)

    response = client.post(url("accounts:account_delete", "en"), {"password": "wrong"})

    assert response.status_code == 200
    assert response.context["form"].errors == {
        "password": ["That is not your password. Nothing was deleted."]
    }
    assert User.objects.filter(pk=user.pk).exists()
    registration = made["registrations"][0]
    registration.refresh_from_db()
    assert (registration.name, registration.email) == ("Anna Andersen", EMAIL.title())
    assert OutgoingMail.objects.filter(to=EMAIL).count() == 1


def test_delete_is_refused_after_five_wrong_passwords(client):
    user = person()
    client.force_login(user)
    for _ in range(5):
        client.post(url("accounts:account_delete", "en"), {"password": "wrong"})

    response = client.post(url("accounts:account_delete", "en"), {"password": PASSWORD})

    assert response.status_code == 429
    assert User.objects.filter(pk=user.pk).exists()


def test_staff_cannot_delete_themselves(client):
    moderator = make_moderator()
    client.force_login(moderator)

    response = client.post(url("accounts:account_delete", "en"), {"password": PASSWORD})

    assert response.status_code == 403
    assert User.objects.filter(pk=moderator.pk).exists()


def test_delete_needs_log_in(client):
    response = client.post(url("accounts:account_delete"), {"password": PASSWORD})

    assert (response.status_code, response["Location"].split("?")[0]) == (
        302,
        url("accounts:login"),
    )


@pytest.mark.parametrize("language", ["nb", "en"])
def test_delete_erases_the_account_keeps_the_content_and_sends_a_receipt(
    client, mailoutbox, django_capture_on_commit_callbacks, language
):
    user = person(language=language)
    made = give_data(user)
    client.force_login(user)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url("accounts:account_delete", language), {"password": PASSWORD})

    assert response["Location"] == url("accounts:account_deleted", language)
    assert not User.objects.filter(pk=user.pk).exists()
    created, contact = made["initiatives"]
    created.refresh_from_db()
    contact.refresh_from_db()
    assert created.created_by is None
    assert [getattr(contact, f) for f in personal_data.CONTACT_FIELDS] == ["", "", "", ""]
    assert contact.lead_organisation is not None
    registration = EventRegistration.objects.get(pk=made["registrations"][0].pk)
    assert registration.name == ""
    assert registration.email == f"registration-{registration.pk}@anonymised.invalid"
    # The event was still to come: the place is given back.
    assert registration.status == EventRegistration.Status.CANCELLED
    assert not OutgoingMail.objects.exists()
    assert not Revision.objects.filter(user__isnull=False).exists()
    assert Revision.objects.filter(comment=history.EDITED).count() == 1  # the edit stays
    (receipt,) = mailoutbox
    assert receipt.to == [EMAIL]
    with translation.override(language):
        context = {"site_name": settings.SITE_NAME, "contact_email": settings.CONTACT_EMAIL}
        assert (
            receipt.subject
            == render_to_string("email/account_deleted_subject.txt", context).strip()
        )
    assert settings.CONTACT_EMAIL in receipt.body
    assert client.get(url("accounts:profile")).status_code == 302  # logged out


def test_deleting_an_account_with_an_unconfirmed_address_leaves_that_address_alone(client):
    user = make_user(username=EMAIL, email=EMAIL)
    profile_for(user)
    registration = make_registration(email=EMAIL, name="The real owner of the address")
    send_to("email/account_deleted", {}, [Recipient(EMAIL, "nb")])  # waits to be sent
    client.force_login(user)

    client.post(url("accounts:account_delete"), {"password": PASSWORD})

    assert not User.objects.filter(pk=user.pk).exists()
    registration.refresh_from_db()
    assert (registration.name, registration.email) == ("The real owner of the address", EMAIL)
    # The mail that waited still goes; so does the receipt to the address they gave.
    assert OutgoingMail.objects.filter(to=EMAIL).count() == 2


def database_text() -> str:
    """Everything the database holds, as text: pg_dump on PostgreSQL, SQL on SQLite."""
    if connection.vendor == "postgresql":
        params = connection.settings_dict
        command = ["pg_dump", "--data-only", "--no-owner", "-h", params["HOST"] or "localhost"]
        command += ["-p", str(params["PORT"] or 5432), "-U", params["USER"], params["NAME"]]
        env = {"PGPASSWORD": params["PASSWORD"] or "", "PATH": "/usr/bin:/bin"}
        return subprocess.run(command, env=env, capture_output=True, text=True, check=True).stdout
    connection.ensure_connection()
    raw = connection.connection
    assert isinstance(raw, sqlite3.Connection)
    return "\n".join(raw.iterdump())


@pytest.mark.django_db(transaction=True)
def test_after_deletion_the_address_is_nowhere_in_the_database(
    client, django_capture_on_commit_callbacks
):
    # A transactional test: pg_dump sees only what is committed. Another one before it
    # may have flushed the reference data.
    if not Municipality.objects.exists():
        call_command("load_reference_data", verbosity=0)
    user = person()
    give_data(user)
    give_other_person_data()
    # A moderator's admin log entries naming the account and the address.
    moderator = make_user(is_staff=True)
    for content_type, object_id in (
        (ContentType.objects.get_for_model(User), user.pk),
        (ContentType.objects.get_for_model(Initiative), Initiative.objects.first().pk),
    ):
        LogEntry.objects.create(
            user=moderator,
            content_type=content_type,
            object_id=str(object_id),
            object_repr=f"{EMAIL} (Asker)",
            action_flag=CHANGE,
            change_message=json.dumps([{"changed": {"fields": [f"Contact {EMAIL.upper()}"]}}]),
        )
    make_status_change(changed_by=moderator, note=f"Asked {EMAIL} to add a scope.")
    past = make_event(starts_at=timezone.now() - timedelta(days=3))
    make_registration(event=past, email=EMAIL, name="Anna Andersen")
    client.force_login(user)
    assert EMAIL in database_text()  # the check below would find it

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url("accounts:account_delete"), {"password": PASSWORD})

    assert response.status_code == 302
    dump = database_text().lower()
    assert EMAIL not in dump
    assert OTHER in dump  # other people's data stays
    assert "[removed] (asker)" in dump


# --- Retention ------------------------------------------------------------------------------


def test_registrations_are_anonymised_months_after_their_event(settings):
    settings.REGISTRATION_KEEP_MONTHS = 12
    now = timezone.now()
    old = make_event(starts_at=now - timedelta(days=370))
    recent = make_event(starts_at=now - timedelta(days=350))
    gone = make_registration(event=old, name="Gamle Gunnar", email="gunnar@example.org")
    kept = make_registration(event=recent, name="Nye Nina", email="nina@example.org")

    first = tasks.anonymise_old_registrations.call()
    again = tasks.anonymise_old_registrations.call()

    gone.refresh_from_db()
    kept.refresh_from_db()
    assert (first, again) == (1, 0)
    assert (gone.name, gone.email) == ("", f"registration-{gone.pk}@anonymised.invalid")
    assert gone.status == EventRegistration.Status.CONFIRMED  # still counted as a place
    assert (kept.name, kept.email) == ("Nye Nina", "nina@example.org")


def test_unconfirmed_accounts_are_deleted_after_their_days(settings):
    settings.UNCONFIRMED_ACCOUNT_KEEP_DAYS = 30
    long_ago = timezone.now() - timedelta(days=31)
    lately = timezone.now() - timedelta(days=29)

    def account(name: str, *, joined, confirmed: bool = False, **fields):
        user = make_user(username=name, date_joined=joined, **fields)
        if confirmed:
            profile_for(user).confirm_email()
        else:
            profile_for(user)
        return user

    expired = account("expired", joined=long_ago)
    make_org_member(user=expired, status=OrganisationMember.Status.REQUESTED)
    kept = [
        account("new", joined=lately),
        account("confirmed", joined=long_ago, confirmed=True),
        account("staff", joined=long_ago, is_staff=True),
        account("author", joined=long_ago),
        account("member", joined=long_ago),
        # Made in the admin: no profile, so never through sign-up's confirmation.
        make_user(username="admin-made", date_joined=long_ago),
    ]
    make_initiative(created_by=kept[3])
    make_org_member(user=kept[4], status=OrganisationMember.Status.ACTIVE)

    deleted = tasks.delete_unconfirmed_accounts.call()

    assert deleted == 1
    assert sorted(User.objects.values_list("username", flat=True)) == sorted(
        user.username for user in kept
    )
    assert list(OrganisationMember.objects.values_list("user__username", flat=True)) == ["member"]


def test_retention_jobs_run_daily_on_the_worker():
    assert settings.PERIODIC_TASKS["ideabank.tasks.anonymise_old_registrations"] == 24 * 3600
    assert settings.PERIODIC_TASKS["ideabank.tasks.delete_unconfirmed_accounts"] == 24 * 3600


# --- Privacy page ---------------------------------------------------------------------------


def test_privacy_page_states_the_periods_from_settings(client, settings):
    settings.REGISTRATION_KEEP_MONTHS = 7
    settings.UNCONFIRMED_ACCOUNT_KEEP_DAYS = 11
    settings.MAIL_KEEP_DAYS = 23
    settings.FAILED_MAIL_KEEP_DAYS = 47
    settings.HISTORY_KEEP_DAYS = 401

    page = client.get(url("privacy", "en")).content.decode()

    assert "removed 7 months after the event" in page
    assert "not confirmed within 11 days is deleted" in page
    assert "deleted after 23 days" in page
    assert "kept for 47 days" in page
    assert "deleted after 401 days" in page
    assert "6(1)(e)" in page
    assert reverse("accounts:profile") in page


# --- Finding an address in the admin ----------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "shown"),
    [
        ("/admin/initiatives/initiative/", "Tiltak med kontakt"),
        ("/admin/ideabank/outgoingmail/", EMAIL),
        ("/admin/networks/eventregistration/", "Anna Andersen"),
        ("/admin/auth/user/", EMAIL),
    ],
)
def test_moderators_find_what_an_address_is_tied_to_in_the_admin(admin_client, path, shown):
    user = person()
    make_initiative(title="Tiltak med kontakt", contact_email=EMAIL.upper())
    make_initiative(title="Tiltak uten kontakt", contact_email=OTHER)
    make_registration(name="Anna Andersen", email=EMAIL)
    make_registration(name="Ole Olsen", email=OTHER)
    send_to("email/account_deleted", {}, [user])

    page = admin_client.get(path, {"q": EMAIL}).content.decode()

    assert shown in page
    assert OTHER not in page
    assert "Tiltak uten kontakt" not in page


def test_deleting_an_account_in_the_admin_erases_the_data_too(admin_client):
    user = person()
    made = give_data(user)

    response = admin_client.post(f"/admin/auth/user/{user.pk}/delete/", {"post": "yes"})

    assert response.status_code == 302
    assert not User.objects.filter(pk=user.pk).exists()
    registration = EventRegistration.objects.get(pk=made["registrations"][0].pk)
    assert registration.name == ""
    (entry,) = LogEntry.objects.all()
    assert entry.object_repr == "[removed]"
    assert not OutgoingMail.objects.exists()  # no receipt: the person did not ask


# --- Follows and comments (issue 15) ------------------------------------------------------


def test_export_shows_a_hidden_comment_with_the_reason_and_where_it_is(client):
    user = person()
    comment = make_comment(author=user, body="Skarp kritikk.")
    comment.hide(by=make_moderator(), reason="Personangrep.")
    Profile.objects.filter(user=user).update(follow_mail="instant")
    client.force_login(user)

    data = json.loads(client.get(url("accounts:my_data")).content)

    (exported,) = data["comments"]
    assert (exported["text"], exported["hidden_reason"]) == ("Skarp kritikk.", "Personangrep.")
    assert exported["hidden"] is not None
    assert exported["where"] == f"{settings.SITE_URL}{comment.initiative.get_absolute_url()}"
    assert data["profile"]["follow_mail"] == "instant"


def test_deleting_an_account_empties_its_comments_and_keeps_the_thread(client):
    user = person()
    question = make_comment(
        author=user, body="Hvem kan jeg ringe?", organisation=make_organisation()
    )
    answer = make_comment(
        initiative=question.initiative, parent=question, body="Ring meg, hilsen Ole."
    )
    hidden = make_comment(author=user, body="Noe stygt.")
    moderator = make_moderator()
    hidden.hide(by=moderator, reason="Stygt.")
    report = make_comment_report(comment=answer, reporter=user, reason="Feil svar.")
    follow = make_follow(user=user)
    client.force_login(user)

    client.post(url("accounts:account_delete"), {"password": PASSWORD})

    question.refresh_from_db()
    assert (question.body, question.author, question.organisation) == ("", None, None)
    assert question.deleted_at is not None
    answer.refresh_from_db()
    assert (answer.body, answer.parent_id, answer.deleted_at) == (
        "Ring meg, hilsen Ole.",
        question.pk,
        None,
    )
    hidden.refresh_from_db()
    assert (hidden.body, hidden.hidden_reason, hidden.hidden_by) == ("", "Stygt.", moderator)
    assert hidden.moderations.count() == 1  # the moderators' history stays
    report.refresh_from_db()
    assert (report.reporter, report.reason) == (None, "Feil svar.")
    assert not Follow.objects.filter(pk=follow.pk).exists()
