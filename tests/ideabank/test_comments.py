"""Questions and comments on initiatives and networks: reading, writing, replies, changes,
deletion, answers, reports, notifications, and bad input (ideabank/comments.py)."""

from datetime import timedelta

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from ideabank.comments import COMMENTS_PER_ACCOUNT, REPORTS_PER_IP
from ideabank.models import (
    COMMENT_EDIT_MINUTES,
    COMMENT_MAX_LENGTH,
    Comment,
    CommentReport,
    OutgoingMail,
    profile_for,
)
from initiatives.models import Initiative
from tests.factories import (
    make_comment,
    make_confirmed_user,
    make_initiative,
    make_moderator,
    make_network,
    make_org_member,
    make_organisation,
    make_user,
)

pytestmark = pytest.mark.django_db

Kind = Comment.Kind


def notices(response) -> list[str]:
    return [message.message for message in get_messages(response.wsgi_request)]


def speaking(user, language: str):
    profile = profile_for(user)
    profile.language = language
    profile.save()
    return user


@pytest.fixture
def initiative(organisation):
    return make_initiative(
        status=Initiative.Status.PUBLISHED,
        title="Matsvinn i barnehagen",
        lead_organisation=organisation,
    )


@pytest.fixture
def owner(organisation):
    """A confirmed, active member of the lead organisation (Asker kommune)."""
    user = make_confirmed_user(first_name="Olga", last_name="Eier", email="olga@example.org")
    make_org_member(organisation=organisation, user=user)
    return user


@pytest.fixture
def writer():
    return make_confirmed_user(first_name="Kari", last_name="Nordmann", email="kari@example.org")


@pytest.fixture
def network(organisation):
    return make_network(name="Klimanettverket", coordinator=organisation)


def create_url(initiative) -> str:
    return reverse("comments:initiative_create", args=[initiative.slug])


def post_comment(client, initiative, **data):
    return client.post(
        create_url(initiative),
        {"kind": Kind.QUESTION, "body": "Hvordan veide dere matsvinnet?", "language": "nb", **data},
    )


# --- Reading --------------------------------------------------------------------------------


def test_anonymous_reads_the_thread_of_an_initiative(client, initiative, writer, organisation):
    question = make_comment(
        initiative=initiative, author=writer, kind=Kind.QUESTION, organisation=organisation
    )
    reply = make_comment(initiative=initiative, parent=question, body="Med en kjøkkenvekt.")
    Comment.objects.filter(pk=question.pk).update(edited_at=timezone.now())

    response = client.get(initiative.get_absolute_url())

    page = response.content.decode()
    thread = response.context["comments"]
    assert response.status_code == 200
    assert [c.pk for c in thread] == [question.pk]
    assert [r.pk for r in thread[0].thread_replies] == [reply.pk]
    assert "Kari Nordmann" in page
    assert "Asker kommune" in page
    assert "Hvordan fikk dere med barnehagene?" in page
    assert "Med en kjøkkenvekt." in page
    assert "(edited)" in page
    assert "Question" in page
    assert "Not answered yet" in page
    assert f'id="kommentar-{question.pk}"' in page
    assert "Log in</a> to ask a question" in page


def test_anonymous_reads_the_thread_of_a_network(client, network, writer):
    make_comment(network=network, author=writer, body="Når er neste møte?")

    response = client.get(network.get_absolute_url())

    assert response.status_code == 200
    assert "Når er neste møte?" in response.content.decode()
    assert len(response.context["comments"]) == 1


def test_newest_first_replies_oldest_first(client, initiative):
    old = make_comment(initiative=initiative, created=timezone.now() - timedelta(days=2))
    new = make_comment(initiative=initiative)
    first = make_comment(
        initiative=initiative, parent=old, created=timezone.now() - timedelta(days=1)
    )
    second = make_comment(initiative=initiative, parent=old)

    thread = client.get(initiative.get_absolute_url()).context["comments"]

    assert [c.pk for c in thread] == [new.pk, old.pk]
    assert [r.pk for r in thread[1].thread_replies] == [first.pk, second.pk]


def test_writer_without_a_name_is_not_shown_by_address(client, initiative):
    author = make_user(email="hemmelig@example.org", username="hemmelig@example.org")
    make_comment(initiative=initiative, author=author)

    page = client.get(initiative.get_absolute_url()).content.decode()

    assert "hemmelig" not in page
    assert "A member" in page


def test_deleted_comment_with_replies_says_so_without_its_text(client, initiative):
    question = make_comment(initiative=initiative, body="Slett meg", deleted_at=timezone.now())
    make_comment(initiative=initiative, parent=question, body="Et svar som blir stående.")
    make_comment(initiative=initiative, body="Borte uten svar", deleted_at=timezone.now())

    response = client.get(initiative.get_absolute_url())

    page = response.content.decode()
    assert "The comment is deleted." in page
    assert "Slett meg" not in page
    assert "Borte uten svar" not in page
    assert "Et svar som blir stående." in page
    assert [c.pk for c in response.context["comments"]] == [question.pk]
    assert response.context["comment_count"] == 1


def test_hidden_comment_is_invisible_to_the_public_and_shown_to_its_writer(
    client, initiative, writer, moderator
):
    comment = make_comment(initiative=initiative, author=writer, body="Kjøp billige klokker")
    comment.hide(by=moderator, reason="Reklame er ikke lov her.")

    public = client.get(initiative.get_absolute_url()).content.decode()
    client.force_login(make_confirmed_user())
    other = client.get(initiative.get_absolute_url()).content.decode()
    client.force_login(writer)
    own = client.get(initiative.get_absolute_url()).content.decode()

    assert "Kjøp billige klokker" not in public
    assert "Kjøp billige klokker" not in other
    assert "Kjøp billige klokker" in own
    assert "Hidden by a moderator:" in own
    assert "Reklame er ikke lov her." in own
    assert client.get(reverse("comments:report", args=[comment.pk])).status_code == 200
    client.logout()
    assert client.get(reverse("comments:report", args=[comment.pk])).status_code == 404


def test_draft_initiative_has_no_comments_to_read_or_write(client, writer, organisation):
    draft = make_initiative(lead_organisation=organisation)
    comment = make_comment(initiative=draft)
    client.force_login(writer)

    assert client.get(draft.get_absolute_url()).status_code == 404
    assert post_comment(client, draft).status_code == 404
    assert client.get(reverse("comments:reply", args=[comment.pk])).status_code == 404
    assert client.get(reverse("comments:report", args=[comment.pk])).status_code == 404
    assert Comment.objects.count() == 1


@pytest.mark.parametrize("rows", [1, 20])
def test_initiative_page_queries_do_not_grow_with_comments(
    client, initiative, django_assert_num_queries, rows
):
    for _ in range(rows):
        question = make_comment(
            initiative=initiative, kind=Kind.QUESTION, organisation=make_organisation()
        )
        make_comment(initiative=initiative, parent=question, organisation=make_organisation())
    client.get(initiative.get_absolute_url())  # the facet engine is built once per process

    with django_assert_num_queries(INITIATIVE_PAGE_QUERIES):
        response = client.get(initiative.get_absolute_url())

    assert len(response.context["comments"]) == rows


@pytest.mark.parametrize("rows", [1, 20])
def test_initiative_page_queries_for_an_owner_do_not_grow_with_comments(
    client, initiative, owner, django_assert_num_queries, rows
):
    for _ in range(rows):
        question = make_comment(initiative=initiative, kind=Kind.QUESTION)
        make_comment(initiative=initiative, parent=question, author=owner)
    client.force_login(owner)
    client.get(initiative.get_absolute_url())

    with django_assert_num_queries(INITIATIVE_PAGE_QUERIES_OWNER):
        response = client.get(initiative.get_absolute_url())

    assert sum(r.may_mark for c in response.context["comments"] for r in c.thread_replies) == rows


@pytest.mark.parametrize("rows", [1, 20])
def test_network_page_queries_do_not_grow_with_comments(
    client, network, django_assert_num_queries, rows
):
    for _ in range(rows):
        question = make_comment(network=network, organisation=make_organisation())
        make_comment(network=network, parent=question, organisation=make_organisation())
    client.get(network.get_absolute_url())

    with django_assert_num_queries(NETWORK_PAGE_QUERIES):
        response = client.get(network.get_absolute_url())

    assert len(response.context["comments"]) == rows


# The page's own queries (tests/initiatives, tests/networks) and one for the thread; for a
# confirmed owner two more: whether they own the page, whom they may write for.
INITIATIVE_PAGE_QUERIES = 15
INITIATIVE_PAGE_QUERIES_OWNER = 25
NETWORK_PAGE_QUERIES = 17


# --- Writing --------------------------------------------------------------------------------


def test_anonymous_is_sent_to_log_in(client, initiative):
    response = post_comment(client, initiative)

    assert response.status_code == 302
    assert response.url.startswith(reverse("accounts:login"))
    assert Comment.objects.count() == 0


def test_unconfirmed_account_is_refused(client, initiative):
    client.force_login(make_user())

    response = post_comment(client, initiative)

    assert response.status_code == 403
    assert "accounts/email_unconfirmed.html" in [t.name for t in response.templates]
    assert Comment.objects.count() == 0


def test_confirmed_account_asks_a_question(client, initiative, writer, organisation):
    make_org_member(organisation=organisation, user=writer)  # writes for Asker kommune
    other = make_initiative(status=Initiative.Status.PUBLISHED)
    client.force_login(writer)

    response = post_comment(client, other, organisation=organisation.pk, language="en")

    comment = Comment.objects.get()
    assert response.status_code == 302
    assert response.url == f"{other.get_absolute_url()}#kommentar-{comment.pk}"
    assert (comment.kind, comment.author, comment.organisation, comment.language) == (
        Kind.QUESTION,
        writer,
        organisation,
        "en",
    )
    assert (comment.initiative, comment.network, comment.parent) == (other, None, None)
    assert notices(response) == ["Your text is published."]


def test_organisation_must_be_ones_own(client, initiative, writer):
    make_org_member(user=writer)
    client.force_login(writer)

    response = post_comment(client, initiative, organisation=make_organisation().pk)

    assert response.status_code == 200
    assert response.context["form"].errors["organisation"]
    assert Comment.objects.count() == 0


def test_one_organisation_is_chosen_for_the_writer(client, initiative, writer, organisation):
    make_org_member(organisation=organisation, user=writer)
    client.force_login(writer)

    form = client.get(initiative.get_absolute_url()).context["comment_form"]

    assert form["organisation"].value() == organisation.pk
    assert list(form.fields["organisation"].queryset) == [organisation]


def test_writer_of_several_organisations_says_which(client, initiative, writer, organisation):
    make_org_member(organisation=organisation, user=writer)
    make_org_member(organisation=make_organisation(), user=writer)
    client.force_login(writer)

    response = post_comment(client, initiative)

    assert response.context["form"].errors["organisation"] == ["Choose whom you write for."]
    assert Comment.objects.count() == 0


def test_writer_without_an_organisation_writes_in_their_name(client, initiative, writer):
    client.force_login(writer)

    post_comment(client, initiative, organisation=make_organisation().pk)

    assert Comment.objects.get().organisation is None


@pytest.mark.parametrize(
    ("name", "method"),
    [
        ("reply", "post"),
        ("edit", "post"),
        ("delete", "post"),
        ("mark_answer", "post"),
        ("unmark_answer", "post"),
    ],
)
def test_anonymous_is_sent_to_log_in_everywhere(client, initiative, name, method):
    comment = make_comment(initiative=initiative, body="Uendret")

    response = getattr(client, method)(
        reverse(f"comments:{name}", args=[comment.pk]), {"body": "x"}
    )

    comment.refresh_from_db()
    assert response.status_code == 302
    assert response.url.startswith(reverse("accounts:login"))
    assert (comment.body, comment.deleted_at, comment.answer_marked_at) == ("Uendret", None, None)


@pytest.mark.parametrize("name", ["reply", "edit", "delete", "report"])
def test_someone_elses_hidden_comment_is_not_found(client, initiative, writer, moderator, name):
    comment = make_comment(initiative=initiative)
    comment.hide(by=moderator, reason="Brudd på reglene.")
    client.force_login(writer)

    response = client.post(
        reverse(f"comments:{name}", args=[comment.pk]), {"body": "x", "reason": "y"}
    )

    comment.refresh_from_db()
    assert response.status_code == 404
    assert comment.deleted_at is None
    assert CommentReport.objects.count() == 0


def test_network_comment(client, network, writer):
    client.force_login(writer)

    response = client.post(
        reverse("comments:network_create", args=[network.slug]),
        {"kind": Kind.COMMENT, "body": "Takk for sist!", "language": "nb"},
    )

    comment = Comment.objects.get()
    assert response.url == f"{network.get_absolute_url()}#kommentar-{comment.pk}"
    assert (comment.network, comment.initiative, comment.body) == (network, None, "Takk for sist!")


def test_reply_to_a_reply_joins_its_parent(client, initiative, writer):
    question = make_comment(initiative=initiative, kind=Kind.QUESTION)
    reply = make_comment(initiative=initiative, parent=question)
    client.force_login(writer)

    response = client.post(
        reverse("comments:reply", args=[reply.pk]), {"body": "Enig!", "language": "nb"}
    )

    new = Comment.objects.latest("pk")
    assert response.status_code == 302
    assert (new.parent, new.kind, new.initiative) == (question, Kind.COMMENT, initiative)


def test_no_replies_to_a_deleted_comment(client, initiative, writer):
    comment = make_comment(initiative=initiative, deleted_at=timezone.now())
    make_comment(initiative=initiative, parent=comment)
    client.force_login(writer)

    response = client.post(
        reverse("comments:reply", args=[comment.pk]), {"body": "Hallo?", "language": "nb"}
    )

    assert response.status_code == 403
    assert Comment.objects.count() == 2


def test_rate_limit_keeps_the_text(client, initiative, writer):
    client.force_login(writer)
    for _ in range(COMMENTS_PER_ACCOUNT.limit):
        assert post_comment(client, initiative).status_code == 302

    response = post_comment(client, initiative, body="Den ellevte teksten")

    assert response.status_code == 429
    assert "Den ellevte teksten" in response.content.decode()
    assert "Too many attempts" in response.content.decode()
    assert Comment.objects.count() == COMMENTS_PER_ACCOUNT.limit


# --- Changing and deleting ------------------------------------------------------------------


def test_writer_changes_within_the_time(client, initiative, writer):
    comment = make_comment(initiative=initiative, author=writer)
    client.force_login(writer)

    response = client.post(
        reverse("comments:edit", args=[comment.pk]), {"body": "Rettet tekst", "language": "nb"}
    )

    comment.refresh_from_db()
    assert response.status_code == 302
    assert comment.body == "Rettet tekst"
    assert comment.edited_at is not None


def test_others_may_not_change(client, initiative, writer):
    comment = make_comment(initiative=initiative, body="Original")
    client.force_login(writer)

    response = client.post(
        reverse("comments:edit", args=[comment.pk]), {"body": "Overtatt", "language": "nb"}
    )

    comment.refresh_from_db()
    assert response.status_code == 403
    assert (comment.body, comment.edited_at) == ("Original", None)


def test_writer_may_not_change_after_the_time(client, initiative, writer):
    comment = make_comment(initiative=initiative, author=writer, body="Original")
    Comment.objects.filter(pk=comment.pk).update(
        created=timezone.now() - timedelta(minutes=COMMENT_EDIT_MINUTES, seconds=1)
    )
    client.force_login(writer)

    response = client.post(
        reverse("comments:edit", args=[comment.pk]), {"body": "For sent", "language": "nb"}
    )

    comment.refresh_from_db()
    assert response.status_code == 403
    assert "15 minutes" in response.content.decode()
    assert comment.body == "Original"


def test_writer_deletes_own(client, initiative, writer):
    comment = make_comment(initiative=initiative, author=writer, body="Angrer dette")
    client.force_login(writer)

    confirm = client.get(reverse("comments:delete", args=[comment.pk]))
    comment.refresh_from_db()
    untouched = comment.deleted_at
    response = client.post(reverse("comments:delete", args=[comment.pk]))

    comment.refresh_from_db()
    assert confirm.status_code == 200
    assert "Delete your text?" in confirm.content.decode()
    assert untouched is None
    assert comment.is_deleted
    assert comment.body == ""  # the text is gone, as the privacy page says
    assert response.url == f"{initiative.get_absolute_url()}#kommentarer"
    assert "Angrer dette" not in client.get(initiative.get_absolute_url()).content.decode()


def test_a_hidden_comment_keeps_its_text_when_its_writer_deletes_it(initiative, writer):
    comment = make_comment(initiative=initiative, author=writer, body="Reklame")
    comment.hide(by=make_moderator(), reason="Reklame er ikke lov.")

    assert comment.delete_by_author()
    assert not comment.delete_by_author()  # once

    comment.refresh_from_db()
    assert comment.is_deleted
    assert comment.body == "Reklame"  # what the moderators' decision is about


def test_others_may_not_delete(client, initiative, writer):
    comment = make_comment(initiative=initiative)
    client.force_login(writer)

    response = client.post(reverse("comments:delete", args=[comment.pk]))

    comment.refresh_from_db()
    assert response.status_code == 403
    assert comment.deleted_at is None


# --- Answers --------------------------------------------------------------------------------


def test_owner_marks_the_answer_and_only_one(client, initiative, owner):
    question = make_comment(initiative=initiative, kind=Kind.QUESTION)
    first = make_comment(initiative=initiative, parent=question)
    second = make_comment(initiative=initiative, parent=question)
    client.force_login(owner)

    client.post(reverse("comments:mark_answer", args=[first.pk]))
    response = client.post(reverse("comments:mark_answer", args=[second.pk]))

    first.refresh_from_db()
    second.refresh_from_db()
    assert response.url == f"{initiative.get_absolute_url()}#kommentar-{second.pk}"
    assert (first.is_answer, second.is_answer, second.answer_marked_by) == (False, True, owner)
    page = client.get(initiative.get_absolute_url()).content.decode()
    assert "Answer from the initiative's owners" in page
    assert "Answered" in page

    client.post(reverse("comments:unmark_answer", args=[second.pk]))

    second.refresh_from_db()
    assert second.is_answer is False


def test_network_manager_marks_the_answer(client, network, owner):
    question = make_comment(network=network, kind=Kind.QUESTION)
    reply = make_comment(network=network, parent=question)
    client.force_login(owner)

    client.post(reverse("comments:mark_answer", args=[reply.pk]))

    reply.refresh_from_db()
    assert reply.is_answer


@pytest.mark.parametrize("who", ["writer", "asker", "member_of_other"])
def test_only_owners_mark_the_answer(client, initiative, writer, who):
    asker = make_confirmed_user()
    question = make_comment(initiative=initiative, kind=Kind.QUESTION, author=asker)
    reply = make_comment(initiative=initiative, parent=question, author=writer)
    user = {
        "writer": writer,
        "asker": asker,
        "member_of_other": make_org_member(user=make_confirmed_user()).user,
    }[who]
    client.force_login(user)

    response = client.post(reverse("comments:mark_answer", args=[reply.pk]))

    reply.refresh_from_db()
    assert response.status_code == 403
    assert reply.answer_marked_at is None


def test_a_reply_to_a_comment_is_no_answer(client, initiative, owner):
    comment = make_comment(initiative=initiative, kind=Kind.COMMENT)
    reply = make_comment(initiative=initiative, parent=comment)
    client.force_login(owner)

    response = client.post(reverse("comments:mark_answer", args=[reply.pk]))

    reply.refresh_from_db()
    assert response.status_code == 403
    assert reply.answer_marked_at is None


def test_mark_answer_is_post_only(client, initiative, owner):
    question = make_comment(initiative=initiative, kind=Kind.QUESTION)
    reply = make_comment(initiative=initiative, parent=question)
    client.force_login(owner)

    assert client.get(reverse("comments:mark_answer", args=[reply.pk])).status_code == 405


# --- Reports --------------------------------------------------------------------------------


def test_anonymous_reports_a_comment(client, initiative):
    comment = make_comment(initiative=initiative)

    form = client.get(reverse("comments:report", args=[comment.pk]))
    response = client.post(
        reverse("comments:report", args=[comment.pk]), {"reason": "Dette er reklame."}
    )

    report = CommentReport.objects.get()
    assert form.status_code == 200
    assert response.url == f"{initiative.get_absolute_url()}#kommentar-{comment.pk}"
    assert (report.comment, report.reporter, report.reason) == (comment, None, "Dette er reklame.")
    assert notices(response) == ["Thank you. The moderators will look at it."]


def test_logged_in_report_names_the_reporter(client, network, writer):
    comment = make_comment(network=network)
    client.force_login(writer)

    client.post(reverse("comments:report", args=[comment.pk]), {"reason": "Personangrep."})

    assert CommentReport.objects.get().reporter == writer


@pytest.mark.parametrize("reason", ["", "   ", "x" * 2001])
def test_report_needs_a_sensible_reason(client, initiative, reason):
    comment = make_comment(initiative=initiative)

    response = client.post(reverse("comments:report", args=[comment.pk]), {"reason": reason})

    assert response.status_code == 200
    assert response.context["form"].errors["reason"]
    assert CommentReport.objects.count() == 0


def test_reports_are_rate_limited_per_address(client, initiative):
    comment = make_comment(initiative=initiative)
    url = reverse("comments:report", args=[comment.pk])
    for _ in range(REPORTS_PER_IP.limit):
        client.post(url, {"reason": "Spam."})

    response = client.post(url, {"reason": "Den siste meldingen"})

    assert response.status_code == 429
    assert "Den siste meldingen" in response.content.decode()
    assert CommentReport.objects.count() == REPORTS_PER_IP.limit


# --- Notifications --------------------------------------------------------------------------


def test_owners_are_told_in_their_language(client, initiative, owner, writer, organisation):
    english = speaking(
        make_org_member(organisation=organisation, user=make_confirmed_user()).user, "en"
    )
    make_org_member(organisation=organisation, user=make_user())  # unconfirmed: not told
    client.force_login(writer)

    post_comment(client, initiative, body="Hvor mye sparte dere?")

    mails = {mail.to: mail for mail in OutgoingMail.objects.filter(template="email/comment_posted")}
    comment = Comment.objects.get()
    assert set(mails) == {owner.email, english.email}
    assert (mails[owner.email].language, mails[english.email].language) == ("nb", "en")
    assert mails[english.email].subject == "New question on “Matsvinn i barnehagen”"
    assert "Kari Nordmann asked a question" in mails[english.email].body
    assert "Hvor mye sparte dere?" in mails[english.email].body
    # Each in its language's pages: Bokmål without a prefix, English under /en/.
    assert f"/en/tiltak/{initiative.slug}/#kommentar-{comment.pk}" in mails[english.email].body
    assert "/en/tiltak/" not in mails[owner.email].body
    assert f"/tiltak/{initiative.slug}/#kommentar-{comment.pk}" in mails[owner.email].body
    assert "Hvor mye sparte dere?" in mails[owner.email].body


def test_owner_writing_tells_nobody(client, initiative, owner):
    client.force_login(owner)

    post_comment(client, initiative)

    assert OutgoingMail.objects.count() == 0


def test_network_coordinators_are_told(client, network, owner, writer):
    client.force_login(writer)

    client.post(
        reverse("comments:network_create", args=[network.slug]),
        {"kind": Kind.COMMENT, "body": "Hei!", "language": "nb"},
    )

    assert list(OutgoingMail.objects.values_list("to", "template")) == [
        (owner.email, "email/comment_posted")
    ]


@pytest.mark.parametrize("language", ["nb", "en"])
def test_reply_tells_the_parent_writer(client, initiative, owner, writer, organisation, language):
    speaking(writer, language)
    question = make_comment(initiative=initiative, author=writer, kind=Kind.QUESTION)
    client.force_login(owner)

    client.post(
        reverse("comments:reply", args=[question.pk]),
        {"body": "Vi brukte en vekt.", "language": "nb", "organisation": organisation.pk},
    )

    mail = OutgoingMail.objects.get()
    assert (mail.to, mail.template, mail.language) == (
        writer.email,
        "email/comment_reply",
        language,
    )
    assert "Vi brukte en vekt." in mail.body
    assert "Olga Eier" in mail.body
    prefix = {"nb": "", "en": "/en"}[language]
    assert f"{prefix}/tiltak/{initiative.slug}/#kommentar-" in mail.body
    assert "Matsvinn i barnehagen" in mail.subject


def test_replying_to_oneself_tells_nobody(client, initiative, writer):
    question = make_comment(initiative=initiative, author=writer)
    client.force_login(writer)

    client.post(reverse("comments:reply", args=[question.pk]), {"body": "PS", "language": "nb"})

    assert OutgoingMail.objects.filter(template="email/comment_reply").count() == 0


def test_a_reply_in_a_thread_tells_the_owners_and_the_parent_writer_once_each(
    client, initiative, owner, writer
):
    question = make_comment(initiative=initiative, author=writer, kind=Kind.QUESTION)
    someone = make_confirmed_user(first_name="Siri", email="siri@example.org")
    client.force_login(someone)

    client.post(
        reverse("comments:reply", args=[question.pk]),
        {"body": "Vi lurer på det samme.", "language": "nb"},
    )

    sent = sorted(OutgoingMail.objects.values_list("to", "template"))
    assert sent == [
        (writer.email, "email/comment_reply"),
        (owner.email, "email/comment_posted"),
    ]


def test_a_reply_to_an_unconfirmed_writer_is_not_mailed_to_them(client, initiative, owner):
    unconfirmed = make_user(email="ukjent@example.org")
    question = make_comment(initiative=initiative, author=unconfirmed, kind=Kind.QUESTION)
    client.force_login(owner)

    client.post(reverse("comments:reply", args=[question.pk]), {"body": "Svar", "language": "nb"})

    assert not OutgoingMail.objects.filter(to=unconfirmed.email).exists()


def test_replies_under_a_hidden_question_are_hidden_with_it(client, initiative, writer):
    question = make_comment(initiative=initiative, author=writer, kind=Kind.QUESTION)
    reply = make_comment(initiative=initiative, parent=question, body="Ring meg på 99 99 99 99")
    question.hide(by=make_moderator(), reason="Personopplysninger.")

    assert list(Comment.objects.shown()) == []
    assert list(Comment.objects.visible_to(None)) == []
    assert reply in Comment.objects.visible_to(reply.author)  # its own writer still sees it
    assert client.get(reverse("comments:report", args=[reply.pk])).status_code == 404
    assert "99 99 99 99" not in client.get(initiative.get_absolute_url()).content.decode()


# --- Bad input ------------------------------------------------------------------------------


def test_too_long_text_is_refused(client, initiative, writer):
    client.force_login(writer)

    response = post_comment(client, initiative, body="x" * (COMMENT_MAX_LENGTH + 1))

    assert response.status_code == 200
    assert (
        "Fix these before you go on" in response.content.decode() or response.context["form"].errors
    )
    assert "x" * (COMMENT_MAX_LENGTH + 1) in response.content.decode()
    assert Comment.objects.count() == 0


@pytest.mark.parametrize("body", ["", "   \n  "])
def test_empty_text_is_refused(client, initiative, writer, body):
    client.force_login(writer)

    response = post_comment(client, initiative, body=body)

    assert response.context["form"].errors["body"] == ["Write something first."]
    assert Comment.objects.count() == 0


def test_nul_is_refused(client, initiative, writer):
    client.force_login(writer)

    response = post_comment(client, initiative, body="før\x00etter")

    assert response.status_code == 400
    assert Comment.objects.count() == 0


@pytest.mark.parametrize("kind", ["answer", "", "<b>"])
def test_unknown_kind_is_refused(client, initiative, writer, kind):
    client.force_login(writer)

    response = post_comment(client, initiative, kind=kind)

    assert response.context["form"].errors["kind"]
    assert Comment.objects.count() == 0


def test_huge_ids_are_404(client, writer):
    client.force_login(writer)

    assert client.get(reverse("comments:reply", args=[10**30])).status_code == 404
    assert client.get(reverse("comments:report", args=[10**30])).status_code == 404


def test_markup_is_stored_as_written_and_shown_as_text(client, initiative, writer):
    body = (
        "<script>alert(1)</script> <b>fet</b>\n"
        "javascript:alert(2) https://example.org/a?b=\"c\"&d='e' "
        "https://x.example/" + "a" * 300
    )
    client.force_login(writer)

    post_comment(client, initiative, body=body)
    page = client.get(initiative.get_absolute_url()).content.decode()

    assert Comment.objects.get().body == body
    assert "<script>alert(1)" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&lt;b&gt;fet&lt;/b&gt;<br>" in page
    assert 'href="javascript:' not in page
    # A quote ends the link: nothing after it can get into the attribute.
    assert '<a href="https://example.org/a?b=" rel="nofollow">' in page
    assert "&quot;c&quot;&amp;d=&#x27;e&#x27;" in page
    assert f'<a href="https://x.example/{"a" * 300}" rel="nofollow">' in page
