import pytest
from django.db import transaction

from ideabank.models import profile_for
from initiatives import history
from initiatives.engine import engine
from initiatives.models import (
    IllegalTransition,
    Initiative,
    InitiativeStatusChange,
    Scope,
)
from tests.factories import (
    make_complete_initiative,
    make_confirmed_user,
    make_initiative,
    make_moderator,
    make_user,
)

pytestmark = pytest.mark.django_db

Status = Initiative.Status

ALLOWED = [
    (move, source, target)
    for move, (sources, target) in Initiative.TRANSITIONS.items()
    for source in sorted(sources)
]
FORBIDDEN = [
    (move, source)
    for move, (sources, target) in Initiative.TRANSITIONS.items()
    for source in Status.values
    if source not in sources and source != target
]


def confirmed_moderator(**overrides):
    moderator = make_moderator(**overrides)
    profile_for(moderator).confirm_email()
    return moderator


def do_move(initiative: Initiative, move: str, by) -> None:
    kwargs = {"reason": "Mangler kontaktperson."} if move == "reject" else {}
    getattr(initiative, move)(by=by, **kwargs)


def test_transition_table_covers_every_status():
    starts = {source for sources, _ in Initiative.TRANSITIONS.values() for source in sources}

    assert starts == set(Status.values)
    assert len(ALLOWED) == 9
    assert len(FORBIDDEN) == 11


@pytest.mark.parametrize(("move", "source", "target"), ALLOWED)
def test_allowed_move_changes_status_and_writes_history(move, source, target, submitter):
    moderator = confirmed_moderator()
    initiative = make_complete_initiative(status=source, created_by=submitter)

    do_move(initiative, move, by=moderator)

    initiative.refresh_from_db()
    assert initiative.status == target
    change = initiative.status_changes.get()
    assert (change.from_status, change.to_status, change.changed_by) == (source, target, moderator)


@pytest.mark.parametrize(("move", "source"), FORBIDDEN)
def test_forbidden_move_raises_and_changes_nothing(move, source):
    initiative = make_initiative(status=source)

    with pytest.raises(IllegalTransition):
        do_move(initiative, move, by=make_moderator())

    initiative.refresh_from_db()
    assert initiative.status == source
    assert initiative.status_changes.count() == 0


@pytest.mark.parametrize(
    ("move", "status"), [(m, target) for m, (_, target) in Initiative.TRANSITIONS.items()]
)
def test_move_into_current_status_is_a_no_op(move, status):
    initiative = make_initiative(status=status)

    do_move(initiative, move, by=make_moderator())

    initiative.refresh_from_db()
    assert initiative.status == status
    assert initiative.status_changes.count() == 0


def test_moves_set_their_timestamps():
    moderator = make_moderator()
    initiative = make_complete_initiative(created_by=make_confirmed_user())

    initiative.submit(by=initiative.created_by)
    initiative.publish(by=moderator)
    initiative.archive(by=moderator)

    initiative.refresh_from_db()
    assert initiative.submitted_at <= initiative.published_at <= initiative.archived_at
    history = list(
        initiative.status_changes.order_by("created", "pk").values_list("from_status", "to_status")
    )
    assert history == [
        (Status.DRAFT, Status.SUBMITTED),
        (Status.SUBMITTED, Status.PUBLISHED),
        (Status.PUBLISHED, Status.ARCHIVED),
    ]


def test_reject_without_reason_is_refused(submitter):
    initiative = make_initiative(status=Status.SUBMITTED, created_by=submitter)

    with pytest.raises(IllegalTransition):
        initiative.reject(by=make_moderator(), reason="   ")

    initiative.refresh_from_db()
    assert (initiative.status, initiative.rejection_reason) == (Status.SUBMITTED, "")


def test_reject_stores_reason_and_history_note(submitter):
    initiative = make_initiative(status=Status.SUBMITTED, created_by=submitter)

    initiative.reject(by=make_moderator(), reason="Beskriv resultatene.")

    initiative.refresh_from_db()
    assert initiative.rejection_reason == "Beskriv resultatene."
    assert initiative.status_changes.get().note == "Beskriv resultatene."


def test_rejected_initiative_can_be_fixed_and_submitted_again(submitter):
    profile_for(submitter).confirm_email()
    initiative = make_complete_initiative(status=Status.REJECTED, created_by=submitter)

    initiative.submit(by=submitter)

    initiative.refresh_from_db()
    assert initiative.status == Status.SUBMITTED


def test_nobody_publishes_their_own_submission():
    author = make_moderator()
    initiative = make_initiative(status=Status.SUBMITTED, created_by=author)

    with pytest.raises(IllegalTransition):
        initiative.publish(by=author)

    initiative.refresh_from_db()
    assert initiative.status == Status.SUBMITTED


def test_publish_mails_submitter_after_commit_only(
    submitter, mailoutbox, django_capture_on_commit_callbacks
):
    initiative = make_initiative(
        status=Status.SUBMITTED, created_by=submitter, title="Matsvinn i barnehagen"
    )

    with django_capture_on_commit_callbacks() as callbacks:
        initiative.publish(by=make_moderator())
        assert mailoutbox == []
    for callback in callbacks:
        callback()

    assert [message.to for message in mailoutbox] == [["submitter@example.org"]]
    assert "Matsvinn i barnehagen" in mailoutbox[0].subject


def test_reject_mails_submitter_the_reason(
    submitter, mailoutbox, django_capture_on_commit_callbacks
):
    initiative = make_initiative(status=Status.SUBMITTED, created_by=submitter)

    with django_capture_on_commit_callbacks(execute=True):
        initiative.reject(by=make_moderator(), reason="Legg til kontaktperson & mål.")

    assert [message.to for message in mailoutbox] == [["submitter@example.org"]]
    # Plain-text e-mail: the reason arrives as written, not HTML-escaped.
    assert "Legg til kontaktperson & mål." in mailoutbox[0].body


def test_submit_mails_moderators(mailoutbox, django_capture_on_commit_callbacks):
    make_moderator(email="mod@example.org")
    initiative = make_complete_initiative()

    with django_capture_on_commit_callbacks(execute=True):
        initiative.submit(by=make_confirmed_user())

    assert [message.to for message in mailoutbox] == [["mod@example.org"]]


def test_rolled_back_move_sends_no_mail(submitter, mailoutbox, django_capture_on_commit_callbacks):
    initiative = make_initiative(status=Status.SUBMITTED, created_by=submitter)

    moderator = make_moderator()

    def publish_then_fail() -> None:
        with transaction.atomic():
            initiative.publish(by=moderator)
            raise RuntimeError("the request failed after the move")

    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError):
        publish_then_fail()

    initiative.refresh_from_db()
    assert initiative.status == Status.SUBMITTED
    assert InitiativeStatusChange.objects.filter(initiative=initiative).count() == 0
    assert mailoutbox == []


def test_no_op_sends_no_mail(submitter, mailoutbox, django_capture_on_commit_callbacks):
    initiative = make_initiative(status=Status.PUBLISHED, created_by=submitter)

    with django_capture_on_commit_callbacks(execute=True):
        initiative.publish(by=make_moderator())

    assert mailoutbox == []


def test_published_queryset_holds_only_published():
    published = make_initiative(status=Status.PUBLISHED)
    for status in (Status.DRAFT, Status.SUBMITTED, Status.REJECTED, Status.ARCHIVED):
        make_initiative(status=status)

    assert list(Initiative.objects.published()) == [published]


def test_many_moves_in_one_transaction_reach_the_engine_together():
    moderator = make_moderator()
    initiatives = [make_initiative(status=Status.SUBMITTED) for _ in range(3)]
    before = engine().version

    with transaction.atomic():
        for initiative in initiatives:
            initiative.publish(by=moderator)

    current = engine()
    assert current.version > before
    assert {current.pk_of[p] for p in current.published} == {i.pk for i in initiatives}


# --- What review needs, who may send it, and who may decide on it -------------------------


@pytest.mark.parametrize(
    ("change", "gap"),
    [
        ({"summary": ""}, "summary"),
        ({"description": "  "}, "description"),
        ({"scope": "", "municipality": None}, "scope"),
    ],
)
def test_submit_refuses_what_review_needs_and_changes_nothing(change, gap):
    initiative = make_complete_initiative(created_by=make_confirmed_user(), **change)

    with pytest.raises(IllegalTransition) as refused:
        initiative.submit(by=initiative.created_by)

    assert str(Initiative.REVIEW_NEEDS[gap]) in str(refused.value)
    initiative.refresh_from_db()
    assert (initiative.status, initiative.submitted_at, initiative.submitted_by) == (
        Status.DRAFT,
        None,
        None,
    )
    assert initiative.status_changes.count() == 0


def test_review_gaps_name_each_missing_relation():
    initiative = make_initiative(scope=Scope.NATIONAL)

    gaps = initiative.review_gaps()

    assert list(gaps) == ["purposes", "goals"]
    assert make_complete_initiative().review_gaps() == {}


def test_submit_refuses_an_account_whose_email_is_not_confirmed():
    author = make_user()
    initiative = make_complete_initiative(created_by=author)

    with pytest.raises(IllegalTransition, match="Confirm your e-mail address"):
        initiative.submit(by=author)

    initiative.refresh_from_db()
    assert initiative.status == Status.DRAFT


def test_submit_records_who_sent_it():
    author, sender = make_confirmed_user(), make_confirmed_user()
    initiative = make_complete_initiative(created_by=author)

    initiative.submit(by=sender)

    initiative.refresh_from_db()
    assert (initiative.status, initiative.submitted_by) == (Status.SUBMITTED, sender)


def submitted_by(sender, **overrides) -> Initiative:
    initiative = make_complete_initiative(created_by=make_confirmed_user(), **overrides)
    initiative.submit(by=sender)
    return initiative


@pytest.mark.parametrize("move", ["publish", "reject"])
def test_the_submitter_may_not_decide_even_when_someone_else_created_it(move):
    sender = confirmed_moderator()
    initiative = submitted_by(sender)

    with pytest.raises(IllegalTransition, match="another moderator"):
        do_move(initiative, move, by=sender)

    initiative.refresh_from_db()
    assert initiative.status == Status.SUBMITTED
    do_move(initiative, move, by=make_moderator())
    initiative.refresh_from_db()
    assert initiative.status == Initiative.TRANSITIONS[move][1]


@pytest.mark.parametrize("move", ["publish", "reject"])
def test_whoever_changed_it_since_the_submission_may_not_decide(move):
    editor = make_moderator()
    initiative = submitted_by(make_confirmed_user())
    with history.change(initiative, by=editor, comment=history.ADMIN):
        initiative.summary = "Endret av en moderator."
        initiative.save()

    with pytest.raises(IllegalTransition, match="another moderator"):
        do_move(initiative, move, by=editor)

    initiative.refresh_from_db()
    assert initiative.status == Status.SUBMITTED
    assert initiative.authors() == {initiative.created_by_id, initiative.submitted_by_id, editor.pk}


def test_whoever_last_changed_it_before_the_submission_may_not_publish():
    editor = make_moderator()
    initiative = make_complete_initiative(created_by=make_confirmed_user())
    with history.change(initiative, by=editor, comment=history.EDITED):
        initiative.summary = "Skrevet om rett før innsending."
        initiative.save()
    initiative.submit(by=initiative.created_by)

    with pytest.raises(IllegalTransition):
        initiative.publish(by=editor)

    initiative.refresh_from_db()
    assert initiative.status == Status.SUBMITTED


def test_changes_before_an_earlier_submission_do_not_count():
    early_editor = make_moderator()
    initiative = make_complete_initiative(created_by=make_confirmed_user())
    with history.change(initiative, by=early_editor, comment=history.EDITED):
        initiative.summary = "Første utkast."
        initiative.save()
    author = initiative.created_by
    initiative.submit(by=author)
    initiative.reject(by=make_moderator(), reason="Mer om resultatene.")
    with history.change(initiative, by=author, comment=history.EDITED):
        initiative.results = "Halvert matsvinn."
        initiative.save()
    initiative.submit(by=author)

    initiative.publish(by=early_editor)

    initiative.refresh_from_db()
    assert initiative.status == Status.PUBLISHED
