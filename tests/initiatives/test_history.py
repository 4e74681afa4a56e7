"""The edit history of initiatives (initiatives.history): every change recorded with who,
when and what changed; the diffs in the admin; restore; the queue of published initiatives
changed since their last review."""

import ast
import importlib
import threading
import time
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from django import forms
from django.apps import apps as django_apps
from django.contrib import admin
from django.contrib.auth.models import Permission
from django.contrib.messages import get_messages
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection, connections, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation
from reversion.models import Version

from initiatives import history, models
from initiatives.models import (
    CatalogueChange,
    Initiative,
    InitiativeLink,
    Organisation,
    Participation,
    Target,
)
from tests.factories import (
    goal,
    make_attachment,
    make_complete_initiative,
    make_confirmed_user,
    make_initiative,
    make_link,
    make_moderator,
    make_org_member,
    make_organisation,
    make_participation,
    make_purpose,
    make_user,
)

pytestmark = pytest.mark.django_db

Status = Initiative.Status
# A valid edit saved, the same for 1 and 20 rows; one of them reads whether the editor's
# e-mail address is confirmed. The search refresh reads the texts and adoption notes and
# adds their words to the vocabulary (3); PostgreSQL also reads the vocabulary for
# compound splitting and writes the vector (2).
EDIT_SAVE = 68 if connection.vendor == "postgresql" else 66


# --- Helpers ------------------------------------------------------------------------


def edit_url(initiative: Initiative) -> str:
    return reverse("initiatives:edit", args=[initiative.slug])


def admin_url(name: str, *args) -> str:
    with translation.override("nb"):
        return reverse(f"admin:initiatives_initiative_{name}", args=args)


def page_data(response, **overrides) -> dict:
    """The edit form as the page shows it (fields, rows, the version it was loaded from),
    posted back as a browser would, with `overrides`."""
    context = response.context
    parts = [context["form"], context["version_form"]]
    for formset in context["formsets"]:
        parts += [formset.management_form, *formset.forms]
    data = {"action": "save"}
    for part in parts:
        for bound in part:
            value = bound.value()
            if isinstance(bound.field, forms.FileField) or value is None or value is False:
                continue
            if value is True:
                value = "on"
            data[bound.html_name] = (
                [str(item) for item in value] if isinstance(value, list | tuple) else str(value)
            )
    data.update(overrides)
    return data


def stored(name: str) -> str:
    """A file saved in the media storage; its storage name."""
    return default_storage.save(name, ContentFile(b"%PDF-1.4 test"))


def latest(initiative: Initiative) -> history.Entry:
    """The newest entry of the history, in English (a request before may have left Bokmål)."""
    with translation.override("en"):
        entries, _ = history.history(initiative.pk)
    return entries[0]


def changes_by_label(entry: history.Entry) -> dict[str, history.Change]:
    return {str(change.label): change for change in entry.changes}


@pytest.fixture
def owner(organisation):
    user = make_confirmed_user(username="eier", first_name="Eva", last_name="Eier")
    make_org_member(organisation=organisation, user=user)
    return user


@pytest.fixture
def colleague(organisation):
    user = make_confirmed_user(username="kollega", first_name="Kari", last_name="Kollega")
    make_org_member(organisation=organisation, user=user)
    return user


@pytest.fixture
def moderator_client(client, moderator):
    client.force_login(moderator)
    return client


@pytest.fixture
def published(organisation, owner, moderator):
    initiative = make_initiative(
        lead_organisation=organisation, created_by=owner, title="Matsvinn i barnehagen"
    )
    initiative.goals.add(goal(12))
    initiative.purposes.add(make_purpose())
    initiative.tags.add("matsvinn")
    initiative.submit(by=owner)
    initiative.publish(by=moderator)
    return initiative


# --- Recording -------------------------------------------------------------------------


def test_a_members_edit_is_recorded_with_who_when_and_the_field_differences(
    client, owner, organisation
):
    initiative = make_initiative(
        lead_organisation=organisation,
        created_by=owner,
        title="Matsvinn",
        description="Barnehagene veier maten de kaster hver dag.",
    )
    initiative.tags.add("mat", "avfall")
    partner = make_organisation(name="Bærum kommune")
    client.force_login(owner)
    data = page_data(
        client.get(edit_url(initiative)),
        title="Matsvinn i barnehagen",
        description="Barnehagene veier maten de kaster hver uke.",
        goals=[str(goal(12).pk)],
        tags="mat, klima",
        **{"partners-0-organisation": str(partner.pk), "partners-0-role": "funder"},
        **{"links-0-title": "Rapport", "links-0-url": "https://example.org/rapport"},
    )

    response = client.post(edit_url(initiative), data)

    assert response.status_code == 302
    entry = latest(initiative)
    assert entry.revision.user == owner
    assert entry.comment == "Edited"
    assert timezone.now() - entry.revision.date_created < timedelta(minutes=1)
    changes = changes_by_label(entry)
    assert (changes["Title"].old, changes["Title"].new) == ("Matsvinn", "Matsvinn i barnehagen")
    assert changes["Description"].words == [
        ("equal", "Barnehagene veier maten de kaster hver "),
        ("delete", "dag."),
        ("insert", "uke."),
    ]
    assert changes["SDG goals"].added == [str(goal(12))]
    assert (changes["Tags"].added, changes["Tags"].removed) == (["klima"], ["avfall"])
    assert changes["Partners"].added == ["Bærum kommune (Funder)"]
    assert changes["Links"].added == ["Rapport (https://example.org/rapport)"]
    assert set(changes) == {
        *("Title", "Slug", "Description", "SDG goals", "Tags", "Partners", "Links")
    }


def test_attachments_taxonomy_and_choices_show_in_the_diff(owner, organisation):
    initiative = make_initiative(lead_organisation=organisation, created_by=owner)
    old = make_attachment(initiative=initiative, title="Rapport", file="attachments/a1.pdf")
    purpose = make_purpose(name_en="Across sectors")
    history.record(initiative, by=owner, comment=history.EDITED)

    with history.change(initiative, by=owner, comment=history.EDITED):
        old.file = "attachments/b2.pdf"
        old.save()
        make_attachment(initiative=initiative, title="Plan", file="attachments/c3.pdf")
        initiative.purposes.add(purpose)
        initiative.targets.add(Target.objects.get(code="14.a"))
        initiative.phase = Initiative.Phase.PILOT
        initiative.save()

    changes = changes_by_label(latest(initiative))
    assert (changes["Attachments"].added, changes["Attachments"].removed) == (
        ["Plan (c3.pdf)", "Rapport (b2.pdf)"],
        ["Rapport (a1.pdf)"],
    )
    assert changes["Purposes"].added == ["Across sectors"]
    assert changes["SDG targets"].added == ["14.a"]
    assert (changes["Phase"].old, changes["Phase"].new) == ("Idea", "Pilot")


def test_the_first_change_records_the_state_before_it(client, owner, organisation):
    initiative = make_initiative(lead_organisation=organisation, created_by=owner, title="Før")
    client.force_login(owner)

    client.post(edit_url(initiative), page_data(client.get(edit_url(initiative)), title="Etter"))

    entries, _ = history.history(initiative.pk)
    assert [entry.comment for entry in entries] == ["Edited", "As it was when the history began"]
    assert entries[1].changes is None
    assert entries[1].revision.date_created == initiative.updated
    assert [(c.old, c.new) for c in entries[0].changes] == [
        ("Før", "Etter"),
        (initiative.slug, "etter"),  # the address follows the title until published
    ]


def test_creating_through_the_form_is_the_first_version(client, owner, organisation):
    client.force_login(owner)

    create = reverse("initiatives:create")

    client.post(create, page_data(client.get(create), title="Nytt tiltak"))

    initiative = Initiative.objects.get(title="Nytt tiltak")
    entries, older = history.history(initiative.pk)
    assert [(entry.comment, entry.changes, entry.revision.user) for entry in entries] == [
        ("Created", None, owner)
    ]
    assert older is False


def test_status_moves_are_recorded(owner, moderator, organisation):
    initiative = make_complete_initiative(lead_organisation=organisation, created_by=owner)

    initiative.submit(by=owner)
    initiative.publish(by=moderator)

    entries, _ = history.history(initiative.pk)
    assert [(e.comment, e.revision.user) for e in entries] == [
        ("Published", moderator),
        ("Submitted for review", owner),
        ("As it was when the history began", None),
    ]
    status = entries[0].changes[0]
    assert (str(status.label), status.old, status.new) == (
        "Status",
        "Submitted for review",
        "Published",
    )


@pytest.mark.parametrize(
    ("start", "move", "label"),
    [
        (Status.PUBLISHED, "archive", "Archived"),
        (Status.SUBMITTED, "withdraw", "Withdrawn to draft"),
        (Status.SUBMITTED, "reject", "Rejected"),
    ],
)
def test_every_other_status_move_is_recorded_too(moderator, organisation, start, move, label):
    initiative = make_initiative(lead_organisation=organisation, status=start)
    kwargs = {"reason": "Mangler resultater."} if move == "reject" else {}

    getattr(initiative, move)(by=moderator, **kwargs)

    entry = latest(initiative)
    assert (entry.comment, entry.revision.user) == (label, moderator)
    assert [(str(c.label), c.new) for c in entry.changes] == [
        ("Status", str(Status(initiative.status).label))
    ]


def test_models_leave_recording_the_moves_to_the_history():
    """initiatives.models never imports the edit history (which imports the search engine:
    models may not, docs/DESIGN.md), and the initiative's own methods, the status moves
    among them, import nothing at all; the history records the moves through the model's
    signals, connected at start-up."""

    def imports(tree: ast.AST) -> set[str]:
        found = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                found.add(node.module)
                found.update(f"{node.module}.{alias.name}" for alias in node.names)
            elif isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
        return found

    module = ast.parse(Path(models.__file__).read_text(encoding="utf-8"))
    initiative = next(
        node for node in module.body if isinstance(node, ast.ClassDef) and node.name == "Initiative"
    )

    assert "initiatives.history" not in imports(module)
    assert imports(initiative) == set()
    assert models.status_moving.has_listeners(Initiative)
    assert models.status_moved.has_listeners(Initiative)


def test_a_move_whose_recording_fails_is_undone(published, moderator, monkeypatch):
    def failing_record(*args, **kwargs):
        raise RuntimeError("the history could not be written")

    monkeypatch.setattr(history, "record", failing_record)

    with pytest.raises(RuntimeError, match="could not be written"):
        published.archive(by=moderator)

    published.refresh_from_db()
    assert published.status == Status.PUBLISHED
    assert not published.status_changes.filter(to_status=Status.ARCHIVED).exists()


def test_a_move_into_the_current_status_records_nothing(published, moderator):
    before = Version.objects.count()

    published.publish(by=moderator)

    assert Version.objects.count() == before


def test_tags_are_part_of_the_version(published):
    version = history.versions_of(published.pk).first()

    assert history._tag_names(version) == {"matsvinn"}


def test_an_admin_change_with_its_inlines_is_one_revision(
    admin_client, admin_user, published, organisation
):
    page = admin_client.get(admin_url("change", published.pk))
    form = page.context["adminform"].form
    data = {
        name: value
        for name, value in {
            **{f.html_name: f.value() for f in form if f.value() not in (None, "", [])},
            "history-loaded": form.version_form["loaded"].value(),
            "summary": "Et nytt sammendrag.",
        }.items()
    }
    data["goals"] = [str(pk) for pk in data["goals"]]
    data["start_date"] = data["end_date"] = ""
    for inline in page.context["inline_admin_formsets"]:
        management = inline.formset.management_form
        data.update({management.add_prefix(n): management[n].value() for n in management.fields})
    data["links-TOTAL_FORMS"] = "1"
    data.update(
        {"links-0-title": "Nettside", "links-0-url": "https://example.org/", "links-0-position": 0}
    )

    response = admin_client.post(admin_url("change", published.pk), data)

    assert response.status_code == 302
    entry = latest(published)
    assert (entry.comment, entry.revision.user) == ("Changed in the admin", admin_user)
    changes = changes_by_label(entry)
    assert changes["Summary"].new == "Et nytt sammendrag."
    assert changes["Links"].added == ["Nettside (https://example.org/)"]
    assert set(changes) == {"Summary", "Links"}


def test_a_partner_deleted_on_its_own_admin_page_is_recorded(admin_client, published):
    participation = make_participation(initiative=published)
    history.record(published, by=None, comment=history.EDITED)
    with translation.override("nb"):
        url = reverse("admin:initiatives_participation_delete", args=[participation.pk])

    response = admin_client.post(url, {"post": "yes"})

    assert response.status_code == 302
    assert not Participation.objects.filter(pk=participation.pk).exists()
    entry = latest(published)
    assert entry.comment == "Changed in the admin"
    assert changes_by_label(entry)["Partners"].removed == [
        f"{participation.organisation.name} (Partner)"
    ]


@pytest.mark.parametrize("count", [1, 20])
def test_saving_an_edit_query_count_does_not_grow_with_the_rows(
    client, django_assert_num_queries, owner, organisation, count
):
    initiative = make_initiative(lead_organisation=organisation, created_by=owner)
    for number in range(count):
        make_participation(initiative=initiative)
        make_link(initiative=initiative, title=f"Lenke {number}", position=number)
        make_attachment(initiative=initiative, title=f"Vedlegg {number}")
        initiative.tags.add(f"stikkord-{number}")
    initiative.goals.add(*[goal(n) for n in range(1, min(count, 17) + 1)])
    client.force_login(owner)
    client.post(edit_url(initiative), page_data(client.get(edit_url(initiative)), summary="1"))
    data = page_data(client.get(edit_url(initiative)), summary="2")

    # The history's part of it: the version check (2), whether it has a version yet (1),
    # the initiative with its taxonomy, tags and rows read once (10), the rows checked to
    # exist (4), the revision and its versions written (2), and a savepoint (2).
    with django_assert_num_queries(EDIT_SAVE):
        response = client.post(edit_url(initiative), data)

    assert response.status_code == 302
    assert history.versions_of(initiative.pk).count() == 3


# --- The admin's history and review pages ------------------------------------------------


def test_history_page_shows_the_diff_in_the_language_of_the_page(
    client, moderator, owner, published
):
    client.force_login(owner)
    client.post(
        edit_url(published),
        page_data(client.get(edit_url(published)), summary="Et bedre sammendrag."),
    )
    client.force_login(moderator)

    norwegian = client.get(admin_url("history", published.pk)).content.decode()
    with translation.override("en"):
        english_url = reverse("admin:initiatives_initiative_history", args=[published.pk])
    english = client.get(english_url).content.decode()

    assert "Sammendrag:</dt>" in norwegian
    assert "Et kort sammendrag.</span> → <span" in norwegian
    assert "Summary:</dt>" in english


def test_history_page_query_count_does_not_grow_with_the_rows(
    moderator_client, django_assert_num_queries, organisation
):
    def edited_twice(count: int) -> Initiative:
        initiative = make_initiative(lead_organisation=organisation)
        for number in range(count):
            make_participation(initiative=initiative)
            make_link(initiative=initiative, title=f"Lenke {number}")
            initiative.tags.add(f"stikkord-{number}")
        initiative.goals.add(*[goal(n) for n in range(1, min(count, 17) + 1)])
        for title in ("Første", "Andre"):
            with history.change(initiative, by=None, comment=history.EDITED):
                initiative.title = title
                initiative.save()
                make_link(initiative=initiative, title=title)
        return initiative

    one, twenty = edited_twice(1), edited_twice(20)
    moderator_client.get(admin_url("history", one.pk))  # sessions and content types warmed

    with django_assert_num_queries(7):
        small = moderator_client.get(admin_url("history", one.pk))
    with django_assert_num_queries(7):
        large = moderator_client.get(admin_url("history", twenty.pk))

    assert len(small.context["entries"]) == len(large.context["entries"]) == 3
    newest = changes_by_label(large.context["entries"][0])  # in Bokmål, the page's language
    assert newest["Lenker"].added == ["Andre (https://example.org/)"]


def test_review_page_with_changes_query_count_does_not_grow_with_the_rows(
    moderator_client, django_assert_num_queries, owner, moderator, organisation
):
    def changed_since_review(count: int) -> Initiative:
        initiative = make_complete_initiative(lead_organisation=organisation, created_by=owner)
        for number in range(count):
            make_participation(initiative=initiative)
            make_link(initiative=initiative, title=f"Lenke {number}")
            initiative.tags.add(f"stikkord-{number}")
        initiative.goals.add(*[goal(n) for n in range(1, min(count, 17) + 1)])
        initiative.submit(by=owner)
        initiative.publish(by=moderator)
        with history.change(initiative, by=owner, comment=history.EDITED):
            initiative.summary = "Endret."
            initiative.save()
            make_link(initiative=initiative, title="Ny")
        return initiative

    one, twenty = changed_since_review(1), changed_since_review(20)
    moderator_client.get(admin_url("review", one.pk))  # sessions and content types warmed

    # One of them reads who made the initiative (Initiative.authors): they may not decide.
    with django_assert_num_queries(19):
        small = moderator_client.get(admin_url("review", one.pk))
    with django_assert_num_queries(19):
        large = moderator_client.get(admin_url("review", twenty.pk))

    assert [str(c.label) for c in small.context["changes"].changes] == ["Sammendrag", "Lenker"]
    assert [str(c.label) for c in large.context["changes"].changes] == ["Sammendrag", "Lenker"]


def test_history_page_pages_through_older_changes(moderator_client, published):
    for number in range(history.HISTORY_PAGE):
        with history.change(published, by=None, comment=history.EDITED):
            published.summary = f"Sammendrag {number}"
            published.save()

    first = moderator_client.get(admin_url("history", published.pk))
    second = moderator_client.get(admin_url("history", published.pk) + "?page=2")
    forged = moderator_client.get(admin_url("history", published.pk) + "?page=x")

    assert len(first.context["entries"]) == history.HISTORY_PAGE
    assert first.context["older_page"] == 2
    # The admin page speaks Bokmål.
    with translation.override("nb"):
        baseline = str(history.COMMENTS[history.BASELINE])
    assert [str(entry.comment) for entry in second.context["entries"]][-1] == baseline
    assert second.context["entries"][0].changes  # compared with the one on the page before
    assert forged.context["page"] == 1


# --- Restore --------------------------------------------------------------------------


def test_restore_brings_back_fields_taxonomy_tags_partners_links_and_attachments(
    owner, moderator, organisation
):
    partner = make_organisation(name="Bærum kommune")
    image = stored("images/gammelt.png")
    initiative = make_initiative(
        lead_organisation=organisation,
        created_by=owner,
        title="Gammel tittel",
        description="Gammel beskrivelse.",
        image=image,
        image_alt="Et bilde",
    )
    initiative.goals.add(goal(12))
    initiative.targets.add(Target.objects.get(code="12.3"))
    initiative.purposes.add(make_purpose())
    initiative.tags.add("gammel")
    participation = make_participation(initiative=initiative, organisation=partner, role="funder")
    link = make_link(initiative=initiative, title="Gammel lenke")
    attachment = make_attachment(initiative=initiative, file=stored("attachments/gammel.pdf"))
    rows = (participation.pk, link.pk, attachment.pk)
    initiative.submit(by=owner)
    initiative.publish(by=moderator)
    old = history.versions_of(initiative.pk).first()
    with history.change(initiative, by=owner, comment=history.EDITED):
        initiative.title = "Ny tittel"
        initiative.description = "Ny beskrivelse."
        initiative.image = stored("images/nytt.png")
        initiative.save()
        initiative.goals.set([goal(13)])
        initiative.targets.clear()
        initiative.purposes.clear()
        initiative.tags.set(["ny"])
        participation.delete()
        link.delete()
        attachment.delete()
        make_link(initiative=initiative, title="Ny lenke")
        make_attachment(initiative=initiative, file=stored("attachments/ny.pdf"))
    changes_before = CatalogueChange.objects.count()

    skipped = history.restore(old, by=moderator)

    initiative = Initiative.objects.get(pk=initiative.pk)
    assert skipped == []
    assert (initiative.title, initiative.description) == ("Gammel tittel", "Gammel beskrivelse.")
    assert (initiative.image.name, initiative.image_alt) == (image, "Et bilde")
    assert initiative.status == Status.PUBLISHED  # the status stays
    assert list(initiative.goals.all()) == [goal(12)]
    assert [t.code for t in initiative.targets.all()] == ["12.3"]
    assert initiative.purposes.count() == 1
    assert list(initiative.tags.names()) == ["gammel"]
    assert list(initiative.participations.values_list("pk", "organisation", "role")) == [
        (rows[0], partner.pk, "funder")
    ]
    assert list(initiative.links.values_list("pk", "title")) == [(rows[1], "Gammel lenke")]
    restored_attachment = initiative.attachments.get()
    assert (restored_attachment.pk, restored_attachment.file.name) == (
        rows[2],
        attachment.file.name,
    )
    # Stored to the millisecond (Django's JSON).
    assert abs(restored_attachment.created - attachment.created) < timedelta(milliseconds=1)
    entry = latest(initiative)
    assert entry.comment.startswith("Restored the version from ")
    assert entry.revision.user == moderator
    assert changes_by_label(entry)["Title"].new == "Gammel tittel"
    # The facet engine hears of it (one log row per initiative and write).
    assert CatalogueChange.objects.filter(initiative_id=initiative.pk).count() > 0
    assert CatalogueChange.objects.count() > changes_before


def test_restore_leaves_what_is_gone_and_says_so(owner, moderator, organisation):
    partner = make_organisation(name="Nedlagt AS")
    initiative = make_initiative(lead_organisation=organisation, created_by=owner)
    participation = make_participation(initiative=initiative, organisation=partner)
    make_attachment(initiative=initiative, title="Borte", file="attachments/borte.pdf")
    history.record(initiative, by=owner, comment=history.EDITED)
    old = history.versions_of(initiative.pk).first()
    with history.change(initiative, by=owner, comment=history.EDITED):
        participation.delete()
        initiative.attachments.all().delete()
    Organisation.objects.filter(pk=partner.pk).delete()

    skipped = history.restore(old, by=moderator)

    assert skipped == [
        "a partner (the organisation has been deleted)",
        "the attachment “Borte” (its file is gone)",
    ]
    assert not initiative.participations.exists()
    assert not initiative.attachments.exists()


def test_moderator_restores_in_the_admin_after_confirming(moderator_client, moderator, published):
    old = history.versions_of(published.pk).first()
    with history.change(published, by=None, comment=history.EDITED):
        published.title = "Endret tittel"
        published.save()
    url = admin_url("restore", published.pk, old.pk)

    confirm = moderator_client.get(url)
    response = moderator_client.post(url)

    changes = changes_by_label(history.Entry(old, "", confirm.context["changes"]))
    assert (changes["Tittel"].old, changes["Tittel"].new) == (
        "Endret tittel",
        "Matsvinn i barnehagen",
    )
    assert "Status" not in changes  # the status stays
    assert response.status_code == 302
    assert response["Location"] == admin_url("history", published.pk)
    published.refresh_from_db()
    assert published.title == "Matsvinn i barnehagen"
    assert latest(published).revision.user == moderator
    with translation.override("nb"):
        said = history.describe(history.RESTORED + old.revision.date_created.isoformat())
    assert [str(m) for m in get_messages(response.wsgi_request)] == [said]
    assert latest(published).comment.startswith("Restored the version from ")


def test_history_page_offers_restore_to_moderators_only(client, moderator, published):
    staff = make_user(is_staff=True)
    staff.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_initiative", "change_initiative"])
    )
    old = history.versions_of(published.pk).last()
    restore = admin_url("restore", published.pk, old.pk)

    client.force_login(moderator)
    as_moderator = client.get(admin_url("history", published.pk)).content.decode()
    client.force_login(staff)
    as_staff = client.get(admin_url("history", published.pk))

    assert restore in as_moderator
    assert as_staff.status_code == 200
    assert restore not in as_staff.content.decode()


@pytest.mark.parametrize("method", ["get", "post"])
def test_restore_is_for_moderators_only(client, published, method):
    staff = make_user(is_staff=True)
    old = history.versions_of(published.pk).last()
    url = admin_url("restore", published.pk, old.pk)
    before = Version.objects.count()

    anonymous = getattr(client, method)(url)
    client.force_login(staff)
    not_moderator = getattr(client, method)(url)

    assert anonymous.status_code == 302
    assert "/login/" in anonymous["Location"]
    assert not_moderator.status_code == 403
    assert Version.objects.count() == before


def test_restore_of_another_initiatives_version_is_404(moderator_client, published):
    other = make_initiative()
    history.record(other, by=None, comment=history.EDITED)
    version = history.versions_of(other.pk).first()

    response = moderator_client.post(admin_url("restore", published.pk, version.pk))

    assert response.status_code == 404


# --- The queue of published initiatives changed since review -------------------------------


def test_an_edit_to_a_published_initiative_puts_it_in_the_queue_until_marked_reviewed(
    client, owner, moderator, published
):
    assert not Initiative.objects.changed_since_review().exists()
    client.force_login(owner)
    client.post(
        edit_url(published),
        page_data(client.get(edit_url(published)), summary="Et nytt sammendrag."),
    )
    client.force_login(moderator)

    queue = client.get(admin_url("changelist") + "?changed_since_review=yes")
    review = client.get(admin_url("review", published.pk))
    token = review.context["mark_reviewed_form"]["loaded"].value()
    marked = client.post(admin_url("review_mark_reviewed", published.pk), {"history-loaded": token})

    assert list(queue.context["cl"].result_list) == [published]
    assert review.context["can_mark_reviewed"] is True
    assert [(str(c.label), c.new) for c in review.context["changes"].changes] == [
        ("Sammendrag", "Et nytt sammendrag.")
    ]
    assert [e.revision.user for e in review.context["changes"].entries] == [owner]
    assert marked.status_code == 302
    assert not Initiative.objects.changed_since_review().exists()
    published.refresh_from_db()
    assert published.reviewed_by == moderator


def test_mark_reviewed_refuses_when_it_changed_again(moderator_client, published):
    with history.change(published, by=None, comment=history.EDITED):
        published.summary = "Først."
        published.save()
    token = history.token_of(published.pk)
    with history.change(published, by=None, comment=history.EDITED):
        published.summary = "Så."
        published.save()

    response = moderator_client.post(
        admin_url("review_mark_reviewed", published.pk), {"history-loaded": token}
    )

    assert response["Location"] == admin_url("review", published.pk)
    assert Initiative.objects.changed_since_review().get() == published


def test_a_change_begun_before_a_review_and_saved_after_it_stays_in_the_queue(
    published, owner, moderator
):
    shown = history.token_of(published.pk)  # the version the review page showed
    with history.change(published, by=owner, comment=history.EDITED):
        published.summary = "Lagret etter gjennomgangen."
        published.save()
        # "Mark reviewed" lands while this change is being saved: its revision is dated
        # when it began, before the mark.
        history.mark_reviewed(Initiative.objects.get(pk=published.pk), shown, by=moderator)

    marked = Initiative.objects.get(pk=published.pk)
    revision = history.versions_of(published.pk).first().revision
    assert revision.date_created < marked.reviewed_at
    assert marked.reviewed_version == int(shown)
    assert Initiative.objects.changed_since_review().get() == published
    with translation.override("en"):
        review = history.since_review(marked)
    assert review.since.pk == int(shown)
    assert [(str(c.label), c.new) for c in review.changes] == [
        ("Summary", "Lagret etter gjennomgangen.")
    ]


def test_an_initiative_published_before_the_history_enters_the_queue_when_changed(
    owner, moderator, organisation
):
    initiative = make_initiative(lead_organisation=organisation, status=Status.PUBLISHED)
    assert not Initiative.objects.changed_since_review().exists()

    with history.change(initiative, by=owner, comment=history.EDITED):
        initiative.summary = "Endret etter at historikken begynte."
        initiative.save()

    assert Initiative.objects.changed_since_review().get() == initiative
    with translation.override("en"):
        review = history.since_review(initiative)
    assert review.since.revision.comment == history.BASELINE  # as it was, reviewed
    assert [e.revision.user for e in review.entries] == [owner]
    assert [str(c.label) for c in review.changes] == ["Summary"]

    history.mark_reviewed(initiative, review.token, by=moderator)

    assert not Initiative.objects.changed_since_review().exists()


def test_migration_marks_what_is_published_reviewed_at_its_newest_version(
    published, owner, organisation
):
    with history.change(published, by=owner, comment=history.EDITED):
        published.summary = "Endret før migreringen."
        published.save()
    unrecorded = make_initiative(lead_organisation=organisation, status=Status.PUBLISHED)
    Initiative.objects.update(reviewed_version=None, reviewed_at=None, reviewed_by=None)
    migration = importlib.import_module("initiatives.migrations.0009_edit_history_review")

    migration.published_is_reviewed(django_apps, SimpleNamespace(connection=connection))

    published.refresh_from_db()
    unrecorded.refresh_from_db()
    assert published.reviewed_version == int(history.token_of(published.pk))
    assert (unrecorded.reviewed_version, unrecorded.reviewed_at) == (None, unrecorded.published_at)
    assert not Initiative.objects.changed_since_review().exists()


def test_the_queue_filter_query_count_does_not_grow_with_the_rows(
    moderator_client, django_assert_num_queries, owner, moderator, organisation
):
    def changed_since_review() -> Initiative:
        initiative = make_complete_initiative(lead_organisation=organisation, created_by=owner)
        initiative.submit(by=owner)
        initiative.publish(by=moderator)
        with history.change(initiative, by=owner, comment=history.EDITED):
            initiative.summary = "Endret."
            initiative.save()
        return initiative

    queue = admin_url("changelist") + "?changed_since_review=yes"
    changed_since_review()
    make_initiative(lead_organisation=organisation, status=Status.PUBLISHED)  # not changed
    with CaptureQueriesContext(connection) as one:
        first = moderator_client.get(queue)
    for _ in range(19):
        changed_since_review()

    with django_assert_num_queries(len(one)):
        response = moderator_client.get(queue)

    assert len(first.context["cl"].result_list) == 1
    assert len(response.context["cl"].result_list) == 20
    assert response.content.decode().count("Gå gjennom endringene") == 20


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="SQLite has no row locks; it serialises writes"
)
@pytest.mark.django_db(transaction=True)
def test_mark_reviewed_waits_for_a_change_being_saved_and_then_refuses():
    # No reference data here (a transactional test runs on a flushed database).
    initiative = make_initiative(scope="national", status=Status.PUBLISHED)
    history.record(initiative, by=None, comment=history.EDITED)
    shown = history.token_of(initiative.pk)
    history.mark_reviewed(initiative, shown, by=None)
    history.record(initiative, by=None, comment=history.EDITED)
    shown = history.token_of(initiative.pk)  # the review page shows this change
    editing, saved = threading.Event(), threading.Event()
    results: dict[str, str] = {}

    def edit() -> None:
        try:
            mine = Initiative.objects.get(pk=initiative.pk)
            with history.change(mine, by=None, comment=history.EDITED):
                # Saved means committed: first of the commit's callbacks (the others, such
                # as queueing the statistics' recount, may take a while in a test).
                transaction.on_commit(saved.set)
                mine.summary = "Lagres mens moderatoren ser på."
                mine.save()
                editing.set()
                time.sleep(0.5)  # not saved yet when "Mark reviewed" is clicked
            results["edit"] = "saved"
        except Exception as error:  # reported by the assertion below
            results["edit"] = repr(error)
        finally:
            saved.set()
            connections.close_all()

    def mark() -> None:
        try:
            editing.wait(timeout=10)
            history.mark_reviewed(Initiative.objects.get(pk=initiative.pk), shown, by=None)
            results["mark"] = "marked"
        except history.EditConflict:
            results["mark"] = "refused" if saved.is_set() else "refused before the save"
        except Exception as error:
            results["mark"] = repr(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=edit), threading.Thread(target=mark)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert results == {"edit": "saved", "mark": "refused"}
    assert Initiative.objects.changed_since_review().get() == initiative
    assert Initiative.objects.get(pk=initiative.pk).reviewed_version < int(shown)


def test_publishing_again_is_a_review(published, moderator):
    with history.change(published, by=None, comment=history.EDITED):
        published.summary = "Endret."
        published.save()
    published.archive(by=moderator)
    other_moderator = make_moderator()

    published.publish(by=other_moderator)

    assert not Initiative.objects.changed_since_review().exists()


def test_mark_reviewed_is_post_only_and_for_moderators(client, published):
    staff = make_user(is_staff=True)
    url = admin_url("review_mark_reviewed", published.pk)
    client.force_login(staff)

    assert client.post(url).status_code == 403
    client.force_login(make_moderator())
    assert client.get(url).status_code == 405


# --- Edit conflicts -------------------------------------------------------------------------


def test_two_editors_the_second_save_is_refused_with_both_versions_and_kept_input(
    client, owner, colleague, published
):
    client.force_login(owner)
    owners_page = client.get(edit_url(published))
    client.force_login(colleague)
    colleagues_page = client.get(edit_url(published))
    client.force_login(owner)
    client.post(edit_url(published), page_data(owners_page, summary="Eiers sammendrag."))
    saved = history.token_of(published.pk)
    client.force_login(colleague)
    data = page_data(colleagues_page, title="Kollegas tittel", tags="matsvinn, skole")

    refused = client.post(edit_url(published), data)

    published.refresh_from_db()
    assert refused.status_code == 200
    assert (published.title, published.summary) == ("Matsvinn i barnehagen", "Eiers sammendrag.")
    assert list(published.tags.names()) == ["matsvinn"]
    assert history.token_of(published.pk) == saved
    conflict = refused.context["conflict"]
    assert conflict.latest.revision.user == owner
    assert [(str(c.label), c.new) for c in conflict.theirs] == [("Summary", "Eiers sammendrag.")]
    yours = {str(c.label): c for c in conflict.yours}
    assert set(yours) == {"Title", "Summary", "Tags"}
    assert yours["Summary"].new == "Et kort sammendrag."  # saving hers would undo his
    assert yours["Tags"].added == ["skole"]
    page = refused.content.decode()
    assert 'value="Kollegas tittel"' in page  # the input is kept
    assert ", Eva Eier saved a newer version." in page
    assert f'name="history-overwrite" value="{saved}"' in page

    overwrite = client.post(edit_url(published), {**data, "history-overwrite": saved})

    published.refresh_from_db()
    assert overwrite.status_code == 302
    assert (published.title, published.summary) == ("Kollegas tittel", "Et kort sammendrag.")
    assert latest(published).revision.user == colleague


def test_a_conflict_shows_rows_the_other_editor_added_as_kept_and_yours_as_you_changed_them(
    client, owner, colleague, published
):
    make_link(initiative=published, title="Felles", url="https://example.org/felles")
    make_link(initiative=published, title="Gammel", url="https://example.org/gammel")
    history.record(published, by=owner, comment=history.EDITED)
    client.force_login(colleague)
    colleagues_page = client.get(edit_url(published))
    partner = make_organisation(name="Ny partner")
    with history.change(published, by=owner, comment=history.EDITED):
        make_link(initiative=published, title="Eiers lenke", url="https://example.org/eier")
        make_participation(initiative=published, organisation=partner, role="partner")
        make_attachment(initiative=published, title="Eiers rapport", file=stored("eier.pdf"))
    saved = history.token_of(published.pk)
    rows = {
        form.instance.title: form.prefix
        for form in colleagues_page.context["links"].forms
        if form.instance.pk
    }
    extra = colleagues_page.context["links"].forms[-1].prefix
    data = page_data(
        colleagues_page,
        title="Kollegas tittel",
        **{
            f"{rows['Felles']}-title": "Felles lenke",  # changed
            f"{rows['Gammel']}-DELETE": "on",  # removed
            f"{extra}-title": "Kollegas lenke",  # added
            f"{extra}-url": "https://example.org/kollega",
        },
    )

    refused = client.post(edit_url(published), data)

    conflict = refused.context["conflict"]
    theirs = {str(c.label): (c.added, c.removed) for c in conflict.theirs}
    assert theirs == {
        "Partners": (["Ny partner (Partner)"], []),
        "Links": (["Eiers lenke (https://example.org/eier)"], []),
        "Attachments": (["Eiers rapport (eier.pdf)"], []),
    }
    yours = {str(c.label): c for c in conflict.yours}
    assert set(yours) == {"Title", "Links"}  # the partner and attachment they added stay
    assert (yours["Links"].added, yours["Links"].removed) == (
        [
            "Felles lenke (https://example.org/felles)",
            "Kollegas lenke (https://example.org/kollega)",
        ],
        ["Felles (https://example.org/felles)", "Gammel (https://example.org/gammel)"],
    )

    client.post(edit_url(published), {**data, "history-overwrite": saved})

    # The panel said what saving would change, and that is what it changed.
    shown = [(str(c.label), c.old, c.new, c.added, c.removed) for c in conflict.yours]
    entry = latest(published)
    assert entry.revision.user == colleague
    assert [(str(c.label), c.old, c.new, c.added, c.removed) for c in entry.changes] == shown
    assert sorted(published.links.values_list("title", flat=True)) == [
        "Eiers lenke",
        "Felles lenke",
        "Kollegas lenke",
    ]
    assert list(published.participations.values_list("organisation", flat=True)) == [partner.pk]


def test_a_conflict_loaded_before_any_history_compares_with_the_first_version(
    client, owner, colleague, organisation
):
    initiative = make_initiative(lead_organisation=organisation, summary="Fra før.")
    client.force_login(colleague)
    colleagues_page = client.get(edit_url(initiative))
    client.force_login(owner)
    client.post(edit_url(initiative), page_data(client.get(edit_url(initiative)), summary="Ny."))
    client.force_login(colleague)

    refused = client.post(edit_url(initiative), page_data(colleagues_page, title="Annen tittel"))

    assert colleagues_page.context["version_form"]["loaded"].value() == ""
    assert [(c.old, c.new) for c in refused.context["conflict"].theirs] == [("Fra før.", "Ny.")]


def test_a_forged_version_is_refused_like_a_conflict(client, owner, published):
    client.force_login(owner)
    data = page_data(client.get(edit_url(published)), title="Endret", **{"history-loaded": "x"})

    response = client.post(edit_url(published), data)

    published.refresh_from_db()
    assert response.context["conflict"] is not None
    assert published.title == "Matsvinn i barnehagen"


def test_admin_change_form_refuses_saving_over_a_newer_version(
    admin_client, moderator, published, organisation
):
    page = admin_client.get(admin_url("change", published.pk))
    with history.change(published, by=moderator, comment=history.EDITED):
        published.summary = "Moderatorens sammendrag."
        published.save()
    token = history.token_of(published.pk)
    form = page.context["adminform"].form
    data = {f.html_name: f.value() for f in form if f.value() not in (None, "", [])}
    data["goals"] = [str(pk) for pk in data["goals"]]
    data["title"] = "Admins tittel"
    data["history-loaded"] = form.version_form["loaded"].value()
    for inline in page.context["inline_admin_formsets"]:
        management = inline.formset.management_form
        data.update({management.add_prefix(n): management[n].value() for n in management.fields})

    refused = admin_client.post(admin_url("change", published.pk), data)

    published.refresh_from_db()
    assert refused.status_code == 200
    assert published.title == "Matsvinn i barnehagen"
    assert "edit_conflict" in [
        e.code for e in refused.context["adminform"].form.non_field_errors().as_data()
    ]
    assert f'name="history-overwrite" value="{token}"' in refused.content.decode()

    saved = admin_client.post(
        admin_url("change", published.pk), {**data, "history-overwrite": token}
    )

    published.refresh_from_db()
    assert saved.status_code == 302
    # Saved over: the whole form, including the summary the other moderator had changed.
    assert (published.title, published.summary) == ("Admins tittel", "Et kort sammendrag.")


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="SQLite has no row locks; it serialises writes"
)
@pytest.mark.django_db(transaction=True)
def test_two_saves_from_the_same_version_at_once_one_is_refused():
    # No reference data here (a transactional test runs on a flushed database).
    initiative = make_initiative(scope="national")
    history.record(initiative, by=None, comment=history.CREATED)
    loaded = history.token_of(initiative.pk)
    barrier = threading.Barrier(2)
    results: dict[str, str] = {}

    def save(who: str) -> None:
        try:
            barrier.wait(timeout=10)
            with transaction.atomic():
                history.check_version(initiative.pk, loaded)
                time.sleep(0.3)  # both would have passed the check without the row lock
                mine = Initiative.objects.get(pk=initiative.pk)
                with history.change(mine, by=None, comment=history.EDITED):
                    mine.summary = who
                    mine.save()
            results[who] = "saved"
        except history.EditConflict:
            results[who] = "refused"
        except Exception as error:  # reported by the assertion below
            results[who] = repr(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=save, args=(who,)) for who in ("anne", "bjorn")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(results.values()) == ["refused", "saved"]
    winner = next(who for who, result in results.items() if result == "saved")
    assert Initiative.objects.get(pk=initiative.pk).summary == winner
    assert history.versions_of(initiative.pk).count() == 2


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="SQLite has no row locks; it serialises writes"
)
@pytest.mark.django_db(transaction=True)
def test_two_rows_added_at_once_on_their_admin_pages_are_both_recorded_in_turn():
    # No reference data here (a transactional test runs on a flushed database).
    initiative = make_initiative(scope="national")
    history.record(initiative, by=None, comment=history.CREATED)
    links = admin.site._registry[InitiativeLink]
    barrier = threading.Barrier(2)
    results: dict[str, str] = {}

    def add(title: str) -> None:
        try:
            barrier.wait(timeout=10)
            # As the link's admin page saves it. Unlocked, each would record the
            # initiative without the other's row: the newest version would miss one.
            with links.recorded(SimpleNamespace(user=None), [initiative.pk]):
                make_link(initiative=Initiative(pk=initiative.pk), title=title)
                time.sleep(0.3)
            results[title] = "saved"
        except Exception as error:  # reported by the assertion below
            results[title] = repr(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=add, args=(title,)) for title in ("A", "B")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert results == {"A": "saved", "B": "saved"}
    first, second = history.versions_of(initiative.pk)[:2][::-1]
    rows = history.states([first, second])
    assert [sum(rows[v.pk].links.values()) for v in (first, second)] == [1, 2]


# --- Files the history needs --------------------------------------------------------------


def test_referenced_files_names_every_file_a_kept_version_names(owner, organisation):
    initiative = make_initiative(
        lead_organisation=organisation, image="images/gammelt.png", image_alt="Bilde"
    )
    attachment = make_attachment(initiative=initiative, file="attachments/gammel.pdf")
    history.record(initiative, by=owner, comment=history.EDITED)
    with history.change(initiative, by=owner, comment=history.EDITED):
        initiative.image = "images/nytt.png"
        initiative.save()
        attachment.file = "attachments/ny.pdf"
        attachment.save()
    InitiativeLink.objects.create(initiative=initiative, title="x", url="https://example.org/")

    assert history.referenced_files() == {
        "images/gammelt.png",
        "images/nytt.png",
        "attachments/gammel.pdf",
        "attachments/ny.pdf",
    }


def test_nothing_is_recorded_when_the_change_fails(owner, published):
    before = Version.objects.count()

    def failing_change() -> None:
        with history.change(published, by=owner, comment=history.EDITED):
            Participation.objects.create(initiative=published, organisation=make_organisation())
            raise ValueError("the change fails half-way")

    with pytest.raises(ValueError, match="half-way"):
        failing_change()

    assert Version.objects.count() == before
    assert not published.participations.exists()
