"""Moderating comments in the admin: the queue of reports, hiding and restoring with a
reason the author is told, dismissing reports, who may do it; and the privacy page."""

import threading

import pytest
from django.conf import settings
from django.contrib.admin.models import LogEntry
from django.contrib.messages import get_messages
from django.db import connection, connections
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation

from ideabank import moderation
from ideabank.models import Comment, CommentModeration, CommentReport, OutgoingMail, Profile
from tests.factories import (
    make_comment,
    make_comment_report,
    make_confirmed_user,
    make_moderator,
    make_network,
    make_organisation,
    make_user,
)

pytestmark = pytest.mark.django_db

REASON = "Personangrep: navngir en ansatt."


def url(view: str, *args) -> str:
    """The address in the English admin: the assertions read the English messages (the
    Bokmål admin says the same, translated)."""
    with translation.override("en"):
        return reverse(f"admin:ideabank_comment_{view}", args=args)


def author(language: str = "nb"):
    user = make_confirmed_user(first_name="Kari", last_name="Nordmann")
    Profile.objects.filter(user=user).update(language=language)
    return user


def act(client, action: str, comments, **extra):
    """Pick an action on the comments list and run it on the ticked rows."""
    return client.post(
        url("changelist"),
        {"action": action, "_selected_action": [c.pk for c in comments], "index": 0, **extra},
    )


def shown_messages(response) -> list[tuple[str, str]]:
    return [(m.level_tag, m.message) for m in get_messages(response.wsgi_request)]


def rendered(template: str, language: str, comment: Comment, reason: str) -> tuple[str, str]:
    """The subject and body `template` gives in `language`, as the outbox should hold them."""
    context = {
        "site_name": settings.SITE_NAME,
        "site_url": settings.SITE_URL,
        "comment": comment,
        "where": comment.initiative or comment.network,
        "reason": reason,
        "contact_email": settings.CONTACT_EMAIL,
    }
    with translation.override(language):
        subject = render_to_string(f"email/{template}_subject.txt", context)
        return " ".join(subject.split()), render_to_string(f"email/{template}.txt", context)


@pytest.fixture
def moderator():
    return make_moderator(username="moderator")


# --- The queue ------------------------------------------------------------------------------


def test_queue_shows_open_reports_first_with_their_counts(client, moderator):
    twice = make_comment_report().comment
    make_comment_report(comment=twice)
    make_comment_report(comment=twice, handled_at=timezone.now())  # dealt with: not counted
    once = make_comment_report().comment
    quiet = make_comment()  # newest, but nobody reported it
    client.force_login(moderator)

    response = client.get(url("changelist"))

    rows = response.context["cl"].result_list
    assert [(c.pk, c.open_reports) for c in rows] == [(twice.pk, 2), (once.pk, 1), (quiet.pk, 0)]


def test_reported_filter_lists_only_comments_with_open_reports(client, moderator):
    open_one = make_comment_report().comment
    make_comment_report(comment=open_one)
    make_comment_report(handled_at=timezone.now())
    make_comment()
    client.force_login(moderator)

    response = client.get(url("changelist"), {"reported": "open"})

    assert [(c.pk, c.open_reports) for c in response.context["cl"].result_list] == [
        (open_one.pk, 2)
    ]


@pytest.mark.parametrize("rows", [1, 20])
def test_queue_query_count_does_not_grow_with_rows(
    client, moderator, django_assert_num_queries, rows
):
    network = make_network()
    for number in range(rows):
        organisation = make_organisation()
        on_initiative = make_comment(author=author(), organisation=organisation)
        make_comment_report(comment=on_initiative)
        make_comment(network=network, author=author(), body=f"Svar {number}")
    client.force_login(moderator)
    client.get(url("changelist"))  # content types and sessions warmed

    # Session, user, the two permission lists; the counts (all, shown), the rows with their
    # open reports, place and author; the date hierarchy's range and its days.
    with django_assert_num_queries(9):
        response = client.get(url("changelist"))

    assert len(response.context["cl"].result_list) == 2 * rows


def test_queue_searches_text_and_author(client, moderator):
    found = make_comment(body="Kjøp billige klokker her", author=make_user(email="spam@x.example"))
    make_comment(body="Hvordan målte dere matsvinnet?")
    client.force_login(moderator)

    by_text = client.get(url("changelist"), {"q": "klokker"})
    by_author = client.get(url("changelist"), {"q": "spam@x.example"})

    assert [c.pk for c in by_text.context["cl"].result_list] == [found.pk]
    assert [c.pk for c in by_author.context["cl"].result_list] == [found.pk]


def test_queue_shows_what_people_wrote_as_text(client, moderator):
    make_comment(body='<script>alert("x")</script>')
    client.force_login(moderator)

    page = client.get(url("changelist")).content.decode()

    assert '<script>alert("x")</script>' not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page


def test_change_page_shows_where_who_and_the_history_read_only(client, moderator):
    comment = make_comment(author=author(), body="Hva kostet det?")
    make_comment_report(comment=comment, reason="Upassende")
    moderation.hide_comment(comment, by=moderator, reason=REASON)
    client.force_login(moderator)

    response = client.get(url("change", comment.pk))

    page = response.content.decode()
    assert comment.initiative.get_absolute_url() in page
    assert "Kari Nordmann" in page or comment.author.username in page
    assert "Upassende" in page
    assert REASON in page
    assert response.context["adminform"].form.fields == {}  # nothing to edit
    assert f'href="{url("restore", comment.pk)}"' in page


def test_posting_the_change_page_does_not_change_the_text(client, moderator):
    comment = make_comment(body="Det opprinnelige.")
    client.force_login(moderator)

    client.post(url("change", comment.pk), {"body": "Endret av moderator.", "kind": "question"})

    comment.refresh_from_db()
    assert (comment.body, comment.kind) == ("Det opprinnelige.", Comment.Kind.COMMENT)


# --- Hiding and restoring ----------------------------------------------------------------


def test_hide_action_asks_for_the_reason_first(client, moderator):
    comment = make_comment_report().comment
    client.force_login(moderator)

    response = act(client, "hide_selected", [comment])

    assert response.status_code == 200
    assert response.context["action"] == "hide_selected"
    assert list(response.context["objects"]) == [comment]
    assert Comment.objects.get(pk=comment.pk).is_hidden is False


@pytest.mark.parametrize("reason", ["", "   ", "x" * 2001])
def test_hide_action_without_a_usable_reason_asks_again_and_changes_nothing(
    client, moderator, reason
):
    comment = make_comment_report().comment
    client.force_login(moderator)

    response = act(client, "hide_selected", [comment], confirm="yes", reason=reason)

    assert response.status_code == 200
    assert response.context["form"].errors["reason"]
    assert Comment.objects.get(pk=comment.pk).is_hidden is False
    assert CommentModeration.objects.count() == 0
    assert CommentReport.objects.filter(handled_at__isnull=True).count() == 1
    assert OutgoingMail.objects.count() == 0


@pytest.mark.parametrize("language", ["nb", "en"])
def test_hide_action_hides_keeps_the_history_and_tells_the_author_in_their_language(
    client, moderator, language
):
    comment = make_comment(author=author(language), body="Dere er <b>håpløse</b> & dumme.")
    report = make_comment_report(comment=comment)
    client.force_login(moderator)

    response = act(client, "hide_selected", [comment], confirm="yes", reason=REASON)

    assert response.status_code == 302
    comment.refresh_from_db()
    assert (comment.is_hidden, comment.hidden_by, comment.hidden_reason) == (
        True,
        moderator,
        REASON,
    )
    assert comment not in Comment.objects.shown()
    assert list(CommentModeration.objects.values_list("action", "reason", "by")) == [
        (CommentModeration.Action.HIDE, REASON, moderator.pk)
    ]
    report.refresh_from_db()
    assert (report.handled_by, report.handled_at is not None) == (moderator, True)
    (mail,) = OutgoingMail.objects.all()
    assert (mail.to, mail.language, mail.template) == (
        comment.author.email,
        language,
        "email/comment_hidden",
    )
    assert (mail.subject, mail.body) == rendered("comment_hidden", language, comment, REASON)
    assert REASON in mail.body
    assert "Dere er <b>håpløse</b> & dumme." in mail.body  # plain text, not escaped
    assert LogEntry.objects.filter(user=moderator, object_id=str(comment.pk)).count() == 1
    assert shown_messages(response) == [("success", "1 comment hidden; its author is told why.")]


def test_hidden_comment_is_no_longer_among_those_the_public_sees():
    kept = make_comment()
    hidden = make_comment()

    moderation.hide_comment(hidden, by=make_moderator(), reason=REASON)

    on_page = Comment.objects.filter(pk__in=[kept.pk, hidden.pk]).shown()
    assert list(on_page) == [kept]
    assert Comment.objects.filter(pk=hidden.pk).exists()  # kept in the history


def test_the_public_page_no_longer_shows_a_hidden_comment_and_shows_it_when_restored(client):
    kept = make_comment(body="Et godt spørsmål om kildesortering.")
    hidden = make_comment(initiative=kept.initiative, body="Kjøp billige klokker her.")
    moderator = make_moderator()
    page_url = kept.initiative.get_absolute_url()

    moderation.hide_comment(hidden, by=moderator, reason=REASON)
    while_hidden = client.get(page_url).content.decode()
    moderation.restore_comment(hidden, by=moderator, reason="Feil av meg.")
    restored = client.get(page_url).content.decode()

    assert "Et godt spørsmål om kildesortering." in while_hidden
    assert "Kjøp billige klokker her." not in while_hidden
    assert "Kjøp billige klokker her." in restored


@pytest.mark.parametrize("language", ["nb", "en"])
def test_restore_action_shows_it_again_and_tells_the_author(client, moderator, language):
    comment = make_comment(author=author(language), network=make_network(), initiative=None)
    moderation.hide_comment(comment, by=moderator, reason=REASON)
    OutgoingMail.objects.all().delete()
    client.force_login(moderator)

    response = act(
        client, "restore_selected", [comment], confirm="yes", reason="Ved nærmere ettersyn OK."
    )

    assert response.status_code == 302
    comment.refresh_from_db()
    assert (comment.is_hidden, comment.hidden_reason) == (False, "")
    assert list(CommentModeration.objects.values_list("action", flat=True)) == [
        CommentModeration.Action.RESTORE,
        CommentModeration.Action.HIDE,
    ]
    (mail,) = OutgoingMail.objects.all()
    assert (mail.to, mail.language, mail.template) == (
        comment.author.email,
        language,
        "email/comment_restored",
    )
    assert (mail.subject, mail.body) == rendered(
        "comment_restored", language, comment, "Ved nærmere ettersyn OK."
    )
    with translation.override(language):
        assert comment.network.get_absolute_url() in mail.body


def test_actions_on_a_mixed_selection_move_only_what_they_can(client, moderator):
    hidden = make_comment()
    moderation.hide_comment(hidden, by=moderator, reason=REASON)
    shown = make_comment()
    client.force_login(moderator)

    response = act(client, "hide_selected", [hidden, shown], confirm="yes", reason="Reklame.")

    assert shown_messages(response) == [
        ("success", "1 comment hidden; its author is told why."),
        ("warning", "1 comment was hidden already."),
    ]
    hidden.refresh_from_db()
    assert hidden.hidden_reason == REASON  # the first decision stands
    assert CommentModeration.objects.filter(comment=hidden).count() == 1


def test_two_moderators_hiding_at_once_make_one_decision():
    comment = make_comment()
    first, second = make_moderator(), make_moderator()
    # Each loaded the comment before either decided.
    seen_by_first = Comment.objects.get(pk=comment.pk)
    seen_by_second = Comment.objects.get(pk=comment.pk)

    results = [
        moderation.hide_comment(seen_by_first, by=first, reason="Først."),
        moderation.hide_comment(seen_by_second, by=second, reason="Også."),
    ]

    assert results == [True, False]
    assert list(CommentModeration.objects.values_list("by", "reason")) == [(first.pk, "Først.")]
    assert OutgoingMail.objects.count() == 1
    comment.refresh_from_db()
    assert (comment.hidden_by, comment.hidden_reason) == (first, "Først.")


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="SQLite has no row locks; it serialises writes"
)
@pytest.mark.django_db(transaction=True)
def test_two_moderators_hiding_at_once_on_two_connections_make_one_decision():
    comment = make_comment(network=make_network(), author=make_user())
    # Staff users, not make_moderator(): a transactional test before this one may have
    # flushed the Moderators group; the decision itself does not check permissions.
    moderators = {"first": make_user(is_staff=True), "second": make_user(is_staff=True)}
    barrier = threading.Barrier(2)
    results: dict[str, object] = {}

    def attempt(who: str) -> None:
        try:
            seen = Comment.objects.get(pk=comment.pk)
            barrier.wait(timeout=10)
            results[who] = moderation.hide_comment(seen, by=moderators[who], reason=who)
        except Exception as error:  # reported by the assertion below
            results[who] = error
        finally:
            # Each thread has its own connection; close it so the test database can be dropped.
            connections.close_all()

    threads = [threading.Thread(target=attempt, args=(who,)) for who in moderators]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(results.values()) == [False, True]
    (decision,) = CommentModeration.objects.all()
    comment.refresh_from_db()
    assert comment.hidden_reason == decision.reason
    assert OutgoingMail.objects.count() == 1


def test_no_mail_when_the_author_is_gone():
    comment = make_comment(author=None)

    assert moderation.hide_comment(comment, by=make_moderator(), reason=REASON) is True

    assert OutgoingMail.objects.count() == 0
    assert Comment.objects.get(pk=comment.pk).is_hidden is True


def test_dismiss_marks_the_open_reports_handled_and_leaves_the_comment(client, moderator):
    comment = make_comment_report().comment
    make_comment_report(comment=comment)
    earlier = make_comment_report(comment=comment, handled_at=timezone.now())
    other = make_comment_report()
    client.force_login(moderator)

    response = act(client, "dismiss_reports", [comment])

    assert response.status_code == 302
    assert shown_messages(response) == [
        ("success", "2 reports marked handled; the comments are left as they are.")
    ]
    assert set(comment.reports.values_list("handled_by", flat=True)) == {moderator.pk, None}
    assert comment.reports.filter(handled_at__isnull=True).count() == 0
    earlier.refresh_from_db()
    assert earlier.handled_by is None  # handled before, left as it was
    assert CommentReport.objects.get(pk=other.pk).handled_at is None
    assert Comment.objects.get(pk=comment.pk).is_hidden is False
    assert CommentModeration.objects.count() == 0
    assert comment not in Comment.objects.with_open_reports()


# --- Hiding and restoring from the comment's own page ------------------------------------


def test_hide_page_asks_for_the_reason(client, moderator):
    comment = make_comment(body="Teksten som vurderes.")
    client.force_login(moderator)

    response = client.get(url("hide", comment.pk))

    assert response.status_code == 200
    assert response.context["form"].is_bound is False
    assert "Teksten som vurderes." in response.content.decode()
    assert Comment.objects.get(pk=comment.pk).is_hidden is False


def test_hide_page_without_a_reason_says_so_and_changes_nothing(client, moderator):
    comment = make_comment()
    client.force_login(moderator)

    response = client.post(url("hide", comment.pk), {"reason": "  "})

    assert response.status_code == 400
    assert response.context["form"].errors["reason"] == [
        "Please write a reason: the author is told it."
    ]
    assert Comment.objects.get(pk=comment.pk).is_hidden is False


def test_hide_then_restore_from_the_comment_page(client, moderator):
    comment = make_comment(author=author())
    client.force_login(moderator)

    hidden = client.post(url("hide", comment.pk), {"reason": REASON})
    is_hidden = Comment.objects.get(pk=comment.pk).is_hidden
    restored = client.post(url("restore", comment.pk), {"reason": "Feil av meg."})

    assert hidden["Location"] == url("change", comment.pk)
    assert shown_messages(hidden) == [("success", "1 comment hidden; its author is told why.")]
    assert restored["Location"] == url("change", comment.pk)
    assert is_hidden is True
    assert Comment.objects.get(pk=comment.pk).is_hidden is False
    assert list(OutgoingMail.objects.order_by("pk").values_list("template", flat=True)) == [
        "email/comment_hidden",
        "email/comment_restored",
    ]


def test_restoring_a_comment_that_is_shown_changes_nothing(client, moderator):
    comment = make_comment()
    client.force_login(moderator)

    response = client.post(url("restore", comment.pk), {"reason": "Hm."})

    assert response.status_code == 302
    assert shown_messages(response) == [
        ("warning", "Nothing changed: another moderator decided first.")
    ]
    assert CommentModeration.objects.count() == 0


@pytest.mark.parametrize("object_id", ["999999", "abc", "1.5", "-1"])
def test_hide_page_of_an_unknown_comment_is_not_found(client, moderator, object_id):
    client.force_login(moderator)

    response = client.get(f"/admin/ideabank/comment/{object_id}/hide/")

    assert response.status_code == 404


# --- Who may -----------------------------------------------------------------------------


@pytest.mark.parametrize("view", ["hide", "restore"])
def test_staff_without_permissions_cannot_decide(client, view):
    comment = make_comment()
    client.force_login(make_confirmed_user(is_staff=True))

    page = client.post(url(view, comment.pk), {"reason": REASON})
    action = act(client, f"{view}_selected", [comment], confirm="yes", reason=REASON)
    queue = client.get(url("changelist"))

    assert (page.status_code, action.status_code, queue.status_code) == (403, 403, 403)
    assert CommentModeration.objects.count() == 0


def test_anonymous_is_sent_to_log_in():
    from django.test import Client

    comment = make_comment()

    response = Client().post(url("hide", comment.pk), {"reason": REASON})

    assert response.status_code == 302
    assert "login" in response["Location"]
    assert Comment.objects.get(pk=comment.pk).is_hidden is False


def test_moderators_cannot_delete_comments(client, moderator):
    comment = make_comment_report().comment
    client.force_login(moderator)

    page = client.post(url("delete", comment.pk), {"post": "yes"})
    actions = client.get(url("changelist")).context["action_form"].fields["action"].choices

    assert page.status_code == 403
    assert "delete_selected" not in [name for name, _label in actions]
    assert Comment.objects.filter(pk=comment.pk).exists()


def test_superusers_may_delete_a_comment(admin_client):
    comment = make_comment_report().comment

    response = admin_client.post(url("delete", comment.pk), {"post": "yes"})

    assert response.status_code == 302
    assert not Comment.objects.filter(pk=comment.pk).exists()


def test_a_nul_character_in_a_reason_is_refused_and_changes_nothing(client, moderator):
    comment = make_comment_report().comment
    client.force_login(moderator)

    action = act(client, "hide_selected", [comment], confirm="yes", reason="a\x00b")
    page = client.post(url("hide", comment.pk), {"reason": "a\x00b"})

    assert (action.status_code, page.status_code) == (400, 400)
    assert Comment.objects.get(pk=comment.pk).is_hidden is False
    assert CommentModeration.objects.count() == 0


def test_reports_list_is_read_only_with_a_link_to_the_comment(client, moderator):
    report = make_comment_report(reason="Spam")
    client.force_login(moderator)
    with translation.override("nb"):
        listing_url = reverse("admin:ideabank_commentreport_changelist")
        change_url = reverse("admin:ideabank_commentreport_change", args=[report.pk])
        add_url = reverse("admin:ideabank_commentreport_add")

    listing = client.get(listing_url)
    change = client.get(change_url)

    assert [r.pk for r in listing.context["cl"].result_list] == [report.pk]
    with translation.override("nb"):
        comment_url = reverse("admin:ideabank_comment_change", args=[report.comment_id])
    assert f'href="{comment_url}"' in listing.content.decode()
    assert change.context["adminform"].form.fields == {}
    assert client.get(add_url).status_code == 403


# --- The privacy page ----------------------------------------------------------------------


@pytest.mark.parametrize("language", ["nb", "en"])
def test_privacy_page_lists_follows_comments_reports_and_their_mails(client, language):
    with translation.override(language):
        address = reverse("privacy")

    page = client.get(address).content.decode()

    for section in (
        "privacy-follows",
        "privacy-comments",
        "privacy-comment-reports",
        "privacy-follow-mails",
        "privacy-follows-kept",
        "privacy-comments-kept",
        "privacy-follows-comments-rights",
    ):
        assert f'id="{section}"' in page
