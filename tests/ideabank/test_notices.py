"""Follow mails (ideabank/notices.py): what is new for a person, told once, at once or in
the weekly digest, in their language, with a one-click unsubscribe."""

import logging
from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone, translation

from ideabank import notices, tasks
from ideabank.models import Follow, FollowMail, OutgoingMail, Profile, read_unsubscribe_token
from initiatives.models import Initiative
from initiatives.views import published_matching
from networks.models import Membership
from tests.factories import (
    goal,
    make_comment,
    make_confirmed_user,
    make_event,
    make_follow,
    make_initiative,
    make_membership,
    make_network,
    make_organisation,
    make_participation,
    make_progress_report,
    make_user,
)
from tests.worker import run_worker, use_database_queue

pytestmark = pytest.mark.django_db

Kind = Follow.Kind
Status = Initiative.Status
HOUR = timedelta(hours=1)


def follower(language: str = "nb", mode: str = FollowMail.WEEKLY, **fields):
    user = make_confirmed_user(**fields)
    Profile.objects.filter(user=user).update(language=language, follow_mail=mode)
    return user


def follows(user, **target) -> Follow:
    """`user` follows `target` since an hour ago (kind from the target's name)."""
    (name,) = target
    kind = {"search": Kind.SEARCH}.get(name, name)
    return make_follow(user=user, kind=kind, created=timezone.now() - HOUR, **target)


def published(moderator, goals=(), partners=(), **fields) -> Initiative:
    """Submitted, then published the way a moderator does (a status change row)."""
    initiative = make_initiative(status=Status.SUBMITTED, **fields)
    initiative.goals.add(*(goal(number) for number in goals))
    for organisation in partners:
        make_participation(initiative=initiative, organisation=organisation)
    initiative.publish(by=moderator, notify=False)
    return initiative


def later() -> timezone.datetime:
    return timezone.now() + timedelta(seconds=1)


def news_for(user, since=None) -> dict:
    """{follow: [(item kind, title)]} of what is new for `user` now."""
    groups = notices.news(user, since, later())
    return {group.follow: [(item.kind, item.title) for item in group.items] for group in groups}


def profile(user) -> Profile:
    return Profile.objects.select_related("user").get(user=user)


# --- What is new, per kind of follow ------------------------------------------------------


def test_an_initiative_tells_its_reports_edits_and_comments_by_others(moderator):
    person = follower()
    initiative = published(moderator, title="Matsvinn i barnehagen")
    follow = follows(person, initiative=initiative)
    make_progress_report(initiative=initiative)
    initiative.record_edit(by=moderator)
    initiative.record_edit(by=moderator)  # two edits in one window are told once
    question = make_comment(
        initiative=initiative, kind="question", body="Hvordan  veide\n dere <b>det</b>?"
    )
    # Not told: their own comment, report and edit; a hidden one; a deleted one; a comment
    # on something else.
    make_comment(initiative=initiative, author=person)
    make_progress_report(initiative=initiative, written_by=person)
    make_comment(initiative=initiative).hide(by=moderator, reason="Reklame.")
    make_comment(initiative=initiative, deleted_at=timezone.now())
    make_comment()

    found = news_for(person)

    assert sorted(found[follow]) == sorted(
        [
            ("report", "Matsvinn i barnehagen"),
            ("edit", "Matsvinn i barnehagen"),
            ("question", "Matsvinn i barnehagen"),
        ]
    )
    (group,) = notices.news(person, None, later())
    comment = next(item for item in group.items if item.kind == "question")
    assert comment.key == ("comment", question.pk)
    assert comment.text == "Hvordan veide dere <b>det</b>?"  # plain text, one line
    assert comment.url.endswith(initiative.get_absolute_url())


def test_nothing_from_before_the_follow_or_the_watermark(moderator):
    person = follower()
    initiative = published(moderator)
    old = make_comment(initiative=initiative)
    follow = follows(person, initiative=initiative)
    type(old).objects.filter(pk=old.pk).update(created=follow.created - HOUR)
    assert news_for(person) == {}

    make_comment(initiative=initiative)
    assert len(news_for(person)[follow]) == 1
    assert news_for(person, since=later()) == {}


def test_a_withdrawn_initiative_tells_nothing(moderator):
    person = follower()
    initiative = published(moderator)
    follows(person, initiative=initiative)
    make_comment(initiative=initiative)
    initiative.withdraw(by=moderator)
    assert news_for(person) == {}


def test_an_organisation_tells_what_it_leads_or_takes_part_in_once_published(moderator):
    person = follower()
    organisation = make_organisation()
    follow = follows(person, organisation=organisation)
    published(moderator, title="Ledet", lead_organisation=organisation)
    published(moderator, title="Partner", partners=[organisation])
    published(moderator, title="Andres")
    make_initiative(title="Utkast", lead_organisation=organisation)
    make_initiative(title="Innsendt", status=Status.SUBMITTED, lead_organisation=organisation)
    published(moderator, title="Trukket", lead_organisation=organisation).withdraw(by=moderator)

    assert sorted(news_for(person)[follow]) == [("published", "Ledet"), ("published", "Partner")]


def test_a_network_tells_its_events_and_its_active_members_initiatives(moderator):
    person = follower()
    network = make_network()
    member, asking = make_organisation(), make_organisation()
    make_membership(network=network, organisation=member)
    make_membership(network=network, organisation=asking, status=Membership.Status.REQUESTED)
    follow = follows(person, network=network)
    make_event(title="Webinar om matsvinn", organiser_network=network)
    make_event(title="Avlyst", organiser_network=network, cancelled_at=timezone.now())
    make_event(title="Et annet nettverks", organiser_network=make_network())
    published(moderator, title="Medlemmets", partners=[member])
    published(moderator, title="Søkerens", lead_organisation=asking)

    assert sorted(news_for(person)[follow]) == [
        ("event", "Webinar om matsvinn"),
        ("published", "Medlemmets"),
    ]


def test_a_goal_tells_new_initiatives_on_it(moderator):
    person = follower()
    follow = follows(person, goal=goal(12))
    published(moderator, title="Tolv", goals=[12, 3])
    published(moderator, title="Tre", goals=[3])

    assert news_for(person)[follow] == [("published", "Tolv")]


def test_an_item_two_follows_reach_is_told_once(moderator):
    person = follower()
    organisation = make_organisation()
    by_organisation = follows(person, organisation=organisation)
    follows(person, goal=goal(12))
    follows(person, search="")  # everything new
    published(moderator, title="Begge", lead_organisation=organisation, goals=[12])

    assert news_for(person) == {by_organisation: [("published", "Begge")]}


# --- Saved searches: the list's own rules -------------------------------------------------


def test_a_saved_search_tells_a_new_matching_publication_in_the_next_digest_exactly_once(
    moderator, mailoutbox, django_capture_on_commit_callbacks
):
    person = follower()
    follows(person, search="goal=12")
    make_initiative(title="Utkast med mål 12").goals.add(goal(12))
    submitted = make_initiative(title="Innsendt med mål 12", status=Status.SUBMITTED)
    submitted.goals.add(goal(12))
    published(moderator, title="Matsvinn", goals=[12])
    published(moderator, title="Helse", goals=[3])

    with django_capture_on_commit_callbacks(execute=True):
        assert notices.send_weekly(now=later() + notices.MARGIN) == 1
    (mail,) = mailoutbox
    assert "Matsvinn" in mail.body
    for other in ("Helse", "Utkast", "Innsendt"):
        assert other not in mail.body

    # The next digest is due a week later and has nothing new: no mail.
    next_week = later() + notices.MARGIN + notices.WEEK
    with django_capture_on_commit_callbacks(execute=True):
        assert notices.send_weekly(now=next_week) == 0
    assert len(mailoutbox) == 1
    assert profile(person).follow_notices_until == next_week - notices.MARGIN


def test_a_saved_search_ignores_sort_and_page(moderator):
    person = follower()
    follow = follows(person, search="goal=12&sort=title&page=3")
    published(moderator, title="Tolv", goals=[12])
    assert news_for(person)[follow] == [("published", "Tolv")]


def test_a_saved_search_with_text(moderator):
    person = follower()
    follow = follows(person, search="q=matsvinn")
    published(moderator, title="Mindre matsvinn i skolen")
    published(moderator, title="Sykkelparkering")

    assert news_for(person)[follow] == [("published", "Mindre matsvinn i skolen")]


@pytest.mark.parametrize(
    "search",
    [
        "goal=99",
        "goal=tolv",
        "q=%00",
        "q=" + "x" * 500,
        "goal=12&goal=<script>",
    ],
)
def test_a_saved_search_that_no_longer_makes_sense_breaks_nothing(moderator, search):
    initiative = published(moderator, goals=[12])
    # What the list would ignore makes the search wider than the one followed: nothing
    # matches it (and nothing fails).
    assert published_matching(search, [initiative.pk]) == set()


@pytest.mark.parametrize("search", ["nonsense=1", "%%%", "page=2&sort=title"])
def test_what_is_not_a_filter_does_not_narrow_a_saved_search(moderator, search):
    initiative = published(moderator, goals=[12])
    assert published_matching(search, [initiative.pk]) == {initiative.pk}


def test_a_saved_search_whose_tag_is_gone_matches_nothing_rather_than_everything(moderator):
    tagged = published(moderator, title="Matsvinn i kantina")
    tagged.tags.add("matsvinn")
    assert published_matching("tag=matsvinn", [tagged.pk]) == {tagged.pk}

    tagged.withdraw(by=moderator)  # the only initiative with the tag: the tag is not public
    unrelated = published(moderator, title="Sykkelparkering ved skolen")

    assert published_matching("tag=matsvinn", [unrelated.pk]) == set()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the SQLite fallback has no modes")
def test_a_saved_text_search_tells_only_of_initiatives_with_every_word(moderator):
    half = published(moderator, title="Matsvinn i kantina", summary="Veiing av matsvinn.")

    # The list would show "some of the words"; a saved search must not call it a match.
    assert published_matching("q=matsvinn+barnehage", [half.pk]) == set()
    assert published_matching("q=matsvinn", [half.pk]) == {half.pk}


def test_what_a_person_wrote_is_not_told_back_to_them(moderator):
    person = follower("en")
    follows(person, goal=goal(12))
    published(moderator, title="Mitt eget tiltak", goals=[12], created_by=person)
    published(moderator, title="Noen andres tiltak", goals=[12])

    titles = [title for items in news_for(person).values() for _kind, title in items]
    assert titles == ["Noen andres tiltak"]


def test_published_matching_only_answers_about_published_initiatives(moderator):
    draft = make_initiative()
    shown = published(moderator)
    assert published_matching("", [draft.pk, shown.pk, 10**9]) == {shown.pk}


# --- Mails: modes, once, language, headers ------------------------------------------------


def test_the_digest_is_in_the_persons_language_with_unsubscribe_links_and_headers(
    moderator, mailoutbox, django_capture_on_commit_callbacks
):
    english, norwegian = follower("en"), follower("nb")
    for person in (english, norwegian):
        follows(person, goal=goal(12))
    initiative = published(moderator, title="Matsvinn", goals=[12])

    with django_capture_on_commit_callbacks(execute=True):
        assert notices.send_weekly(now=later() + notices.MARGIN) == 2

    mails = {mail.to[0]: mail for mail in mailoutbox}
    en, nb = mails[english.email], mails[norwegian.email]
    assert "Responsible consumption and production" in en.body
    assert "Ansvarlig forbruk og produksjon" in nb.body
    with translation.override("nb"):
        path = initiative.get_absolute_url()
    assert f"{settings.SITE_URL}/en{path}" in en.body
    assert f"{settings.SITE_URL}{path}" in nb.body
    assert "/en/" not in nb.body
    for person, mail in ((english, en), (norwegian, nb)):
        row = OutgoingMail.objects.get(to=person.email)
        assert row.template == "email/follow_digest"
        assert row.language == profile(person).language
        assert mail.extra_headers["List-Unsubscribe"] == f"<{row.unsubscribe_url}>"
        assert mail.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        token = row.unsubscribe_url.rstrip("/").rsplit("/", 1)[-1]
        assert read_unsubscribe_token(token) == (person.pk, None)
        assert row.unsubscribe_url in mail.body
        # The group's own link stops that follow only.
        follow = Follow.objects.get(user=person)
        group_token = [
            line.rstrip("/").rsplit("/", 1)[-1]
            for line in mail.body.splitlines()
            if "/avslutt/" in line and row.unsubscribe_url not in line
        ]
        assert [read_unsubscribe_token(t) for t in group_token] == [(person.pk, follow.pk)]


def test_the_goal_name_in_the_heading_is_the_recipients(moderator):
    english = follower("en")
    follows(english, goal=goal(12))
    published(moderator, goals=[12])
    assert notices.notify(profile(english), later(), instant=False)
    body = OutgoingMail.objects.get().body
    assert "New initiatives for goal 12. Responsible consumption and production" in body


def test_an_instant_mail_names_the_first_thing_and_counts_the_rest(moderator):
    person = follower("en", mode=FollowMail.INSTANT)
    initiative = published(moderator, title="Matsvinn")
    follows(person, initiative=initiative)
    make_comment(initiative=initiative, body="Ord " * 500)
    make_progress_report(initiative=initiative)
    make_progress_report(initiative=initiative)

    assert notices.send_instant(now=later() + notices.MARGIN) == 1
    mail = OutgoingMail.objects.get()
    assert mail.subject == "New about what you follow: “Matsvinn” and 2 more"
    (quoted,) = [line for line in mail.body.splitlines() if line.strip().startswith("Ord")]
    assert len(quoted.strip()) == notices.EXCERPT
    assert quoted.endswith("…")


def test_other_mails_have_no_unsubscribe_header(mailoutbox, django_capture_on_commit_callbacks):
    from ideabank.email import send_to

    with django_capture_on_commit_callbacks(execute=True):
        send_to("email/account_deleted", {}, ["someone@example.org"])
    assert "List-Unsubscribe" not in mailoutbox[0].extra_headers


def test_instant_mails_go_to_those_who_chose_them_and_weekly_waits_a_week(moderator):
    instant = follower("en", mode=FollowMail.INSTANT)
    weekly = follower("en", mode=FollowMail.WEEKLY)
    for person in (instant, weekly):
        follows(person, goal=goal(12))
    Profile.objects.filter(user=weekly).update(follow_notices_until=timezone.now() - 2 * HOUR)
    published(moderator, title="Matsvinn", goals=[12])
    now = later() + notices.MARGIN

    assert notices.send_instant(now=now) == 1
    assert notices.send_weekly(now=now) == 0  # their last digest is two hours old
    (mail,) = OutgoingMail.objects.all()
    assert mail.to == instant.email
    assert mail.template == "email/follow_notice"
    assert mail.subject == "New about what you follow: “Matsvinn”"

    assert notices.send_weekly(now=now + notices.WEEK) == 1
    assert OutgoingMail.objects.get(to=weekly.email).template == "email/follow_digest"
    assert notices.send_instant(now=now + notices.WEEK) == 0  # nothing new since


def test_a_quiet_instant_run_looks_at_nobody(moderator, django_assert_num_queries):
    person = follower(mode=FollowMail.INSTANT)
    follows(person, goal=goal(12))
    Profile.objects.filter(user=person).update(follow_notices_until=timezone.now() - HOUR)
    # Nothing happened since: the aggregate and one look per kind of news, however many
    # people wait for instant mails.
    with django_assert_num_queries(5):
        assert notices.send_instant() == 0
    published(moderator, goals=[12])
    assert notices.send_instant(now=later() + notices.MARGIN) == 1


def test_no_mail_but_the_watermark_moves_for_never_inactive_and_unconfirmed(moderator):
    never = follower(mode=FollowMail.NEVER)
    inactive = follower(is_active=False)
    unconfirmed = make_user()
    Profile.objects.get_or_create(user=unconfirmed)
    for person in (never, inactive, unconfirmed):
        follows(person, goal=goal(12))
    published(moderator, goals=[12])
    now = later() + notices.MARGIN

    assert notices.send_weekly(now=now) == 0
    assert not OutgoingMail.objects.exists()
    for person in (never, inactive, unconfirmed):
        assert profile(person).follow_notices_until == now - notices.MARGIN
    # Back to weekly mails later: what happened meanwhile is not mailed then.
    Profile.objects.filter(user=never).update(follow_mail=FollowMail.WEEKLY)
    assert notices.send_weekly(now=now + notices.WEEK) == 0


def test_nothing_new_no_mail_but_the_watermark_moves():
    person = follower()
    follows(person, goal=goal(12))
    until = later()
    assert notices.notify(profile(person), until, instant=False) is False
    assert profile(person).follow_notices_until == until
    assert not OutgoingMail.objects.exists()


def test_two_workers_claiming_the_same_window_send_one_mail(moderator):
    person = follower()
    follows(person, goal=goal(12))
    published(moderator, goals=[12])
    first, second = profile(person), profile(person)  # both read the same watermark
    until = later()

    assert notices.notify(first, until, instant=False) is True
    assert notices.notify(second, until, instant=False) is False
    assert notices.notify(profile(person), until, instant=False) is False
    assert OutgoingMail.objects.count() == 1


def test_a_window_ends_a_margin_before_now(moderator):
    # A row of a transaction still committing: stamped just before now, seen in the next run.
    person = follower(mode=FollowMail.INSTANT)
    follows(person, goal=goal(12))
    published(moderator, goals=[12])
    assert notices.send_instant() == 0
    assert notices.send_instant(now=later() + notices.MARGIN) == 1


def test_a_failure_for_one_person_does_not_stop_the_rest(moderator, monkeypatch, caplog):
    broken, fine = follower(), follower()
    for person in (broken, fine):
        follows(person, goal=goal(12))
    published(moderator, goals=[12])
    real_news = notices.news

    def news(user, since, until):
        if user == broken:
            raise RuntimeError("boom")
        return real_news(user, since, until)

    monkeypatch.setattr(notices, "news", news)
    with caplog.at_level(logging.ERROR, logger="ideabank.notices"):
        assert notices.send_weekly(now=later() + notices.MARGIN) == 1
    assert OutgoingMail.objects.get().to == fine.email
    assert "Could not send follow mail" in caplog.text
    # Their window was not claimed: the next run tries again.
    assert profile(broken).follow_notices_until is None


def test_large_batches(moderator, monkeypatch):
    monkeypatch.setattr(notices, "BATCH", 2)
    people = [follower() for _ in range(5)]
    for person in people:
        follows(person, goal=goal(12))
    published(moderator, goals=[12])
    assert notices.send_weekly(now=later() + notices.MARGIN) == 5


# --- A person's digest costs the same however much they follow ----------------------------


def everything_followed(moderator, person, times: int) -> None:
    for number in range(times):
        initiative = published(moderator)
        follows(person, initiative=initiative)
        organisation, network, member = make_organisation(), make_network(), make_organisation()
        make_membership(network=network, organisation=member)
        follows(person, organisation=organisation)
        follows(person, network=network)
        follows(person, search=f"q=unik{number}")
        make_progress_report(initiative=initiative)
        initiative.record_edit(by=moderator)
        make_comment(initiative=initiative, organisation=make_organisation())
        make_event(organiser_network=network)
        published(moderator, title=f"Unik{number}", lead_organisation=organisation)
        published(moderator, partners=[member], goals=[12])
    follows(person, goal=goal(12))


@pytest.mark.parametrize("times", [1, 10])
def test_a_digest_costs_a_constant_number_of_queries(moderator, times):
    person = follower()
    everything_followed(moderator, person, times)
    notices.news(person, None, later())  # the saved search's text hits, now cached

    mine = profile(person)
    with CaptureQueriesContext(connection) as queries:
        assert notices.notify(mine, later(), instant=False)

    body = OutgoingMail.objects.get(template="email/follow_digest").body
    assert body.count("\n* ") == 6 * times  # report, edit, comment, event, 2 publications
    assert len(queries) == QUERIES, "\n".join(q["sql"][:150] for q in queries.captured_queries)


# The claim (in a savepoint), the follows; reports, edits, comments; publications, their
# lead and partner organisations, their goals; network members, network events; the
# engine's look at the change log; the outbox row.
QUERIES = 2 + 1 + 3 + 4 + 2 + 1 + 1 + 1


# --- The tasks, the schedule and what wakes the instant run -------------------------------


def test_the_tasks_run_on_the_real_queue(
    moderator, settings, monkeypatch, mailoutbox, django_capture_on_commit_callbacks
):
    assert settings.PERIODIC_TASKS["ideabank.tasks.send_weekly_digests"] == 24 * 3600
    assert settings.PERIODIC_TASKS["ideabank.tasks.send_instant_notices"] == 5 * 60
    person = follower()
    follows(person, goal=goal(12))
    published(moderator, title="Matsvinn", goals=[12])
    monkeypatch.setattr(notices, "MARGIN", timedelta(seconds=-1))  # no wait in a test
    use_database_queue(settings, monkeypatch)

    with django_capture_on_commit_callbacks(execute=True):
        tasks.send_weekly_digests.enqueue()
    with django_capture_on_commit_callbacks(execute=True):
        run_worker()  # the digest: its mail waits in the outbox, its delivery is queued
    assert OutgoingMail.objects.get().status == OutgoingMail.Status.WAITING
    run_worker()  # the delivery

    (mail,) = mailoutbox
    assert "Matsvinn" in mail.body
    assert mail.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def queue(enqueue) -> SimpleNamespace:
    """A stand-in for the task, on a queue that cannot wait (as in tests)."""
    return SimpleNamespace(
        enqueue=enqueue, get_backend=lambda: SimpleNamespace(supports_defer=False)
    )


def test_something_followable_wakes_the_instant_run_once_per_transaction(
    moderator, monkeypatch, django_capture_on_commit_callbacks
):
    runs = []
    monkeypatch.setattr(tasks, "send_instant_notices", queue(lambda: runs.append(1)))
    initiative = make_initiative(status=Status.SUBMITTED)
    network = make_network()

    with django_capture_on_commit_callbacks(execute=True):
        initiative.publish(by=moderator, notify=False)
        make_progress_report(initiative=initiative)
        make_comment(initiative=initiative)
        make_event(organiser_network=network)
    assert runs == [1]


@pytest.mark.parametrize(
    "happening",
    [
        lambda initiative, network, moderator: initiative.record_edit(by=moderator),
        lambda initiative, network, moderator: make_progress_report(initiative=initiative),
        lambda initiative, network, moderator: make_comment(initiative=initiative),
        lambda initiative, network, moderator: make_event(organiser_network=network),
    ],
    ids=["edit", "report", "comment", "event"],
)
def test_each_followable_thing_wakes_the_instant_run(
    moderator, monkeypatch, django_capture_on_commit_callbacks, happening
):
    # No publication row here: its wake-up, never run, would stand for this transaction's.
    initiative, network = make_initiative(status=Status.PUBLISHED), make_network()
    runs = []
    monkeypatch.setattr(tasks, "send_instant_notices", queue(lambda: runs.append(1)))
    with django_capture_on_commit_callbacks(execute=True):
        happening(initiative, network, moderator)
    assert runs == [1]


def test_what_nobody_follows_wakes_nothing(
    moderator, monkeypatch, django_capture_on_commit_callbacks
):
    network, submitted = make_network(), make_initiative(status=Status.SUBMITTED)
    runs = []
    monkeypatch.setattr(tasks, "send_instant_notices", queue(lambda: runs.append(1)))
    with django_capture_on_commit_callbacks(execute=True):
        make_event()  # an organisation's event
        make_comment(network=network)  # followers of a network hear of its events only
        submitted.withdraw(by=moderator)  # a move that publishes nothing
    assert runs == []


def test_a_queue_that_is_down_does_not_fail_the_change(
    moderator, monkeypatch, caplog, django_capture_on_commit_callbacks
):
    def down():
        raise ConnectionError("queue down")

    monkeypatch.setattr(tasks, "send_instant_notices", queue(down))
    initiative = make_initiative(status=Status.SUBMITTED)
    with (
        caplog.at_level(logging.ERROR, logger="ideabank.notices"),
        django_capture_on_commit_callbacks(execute=True),
    ):
        initiative.publish(by=moderator, notify=False)
    assert Initiative.objects.get(pk=initiative.pk).status == Status.PUBLISHED
    assert "Could not queue the instant follow mails" in caplog.text
