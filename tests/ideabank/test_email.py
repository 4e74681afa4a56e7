import pytest

from ideabank.email import send_after_commit
from tests.factories import make_initiative

pytestmark = pytest.mark.django_db


def test_each_recipient_gets_a_message_of_their_own(mailoutbox, django_capture_on_commit_callbacks):
    initiative = make_initiative(title="Matsvinn")

    with django_capture_on_commit_callbacks(execute=True):
        send_after_commit(
            "email/initiative_submitted",
            {"initiative": initiative},
            to=["a@example.org", "", "b@example.org"],
        )

    assert [mail.to for mail in mailoutbox] == [["a@example.org"], ["b@example.org"]]
    assert mailoutbox[0].subject == mailoutbox[1].subject


def test_nothing_is_sent_when_the_transaction_rolls_back(
    mailoutbox, django_capture_on_commit_callbacks
):
    initiative = make_initiative()

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        send_after_commit(
            "email/initiative_submitted", {"initiative": initiative}, to=["a@example.org"]
        )

    assert len(callbacks) == 1
    assert mailoutbox == []
