"""Moderators' decisions on comments: hide or restore with a reason the author is told,
or dismiss the reports on a comment that breaks no rule.

The state change itself is the model's (Comment.hide / Comment.restore: a conditional
update, a CommentModeration row, the open reports handled); this adds the mail to the
author, written in the same transaction so it goes only if the decision is committed.
The admin's actions and the comment's own admin page both come here.
"""

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from ideabank.email import send_to
from ideabank.models import Comment, CommentReport


def hide_comment(comment: Comment, *, by, reason: str) -> bool:
    """Hide `comment` from the public and tell its author why. False if it was hidden
    already (another moderator was first): nothing is written or sent then."""
    with transaction.atomic():
        if not comment.hide(by=by, reason=reason):
            return False
        _tell_author(comment, "email/comment_hidden")
    return True


def restore_comment(comment: Comment, *, by, reason: str) -> bool:
    """Show a hidden `comment` again and tell its author. False if it was not hidden."""
    with transaction.atomic():
        if not comment.restore(by=by, reason=reason):
            return False
        _tell_author(comment, "email/comment_restored", reason=reason)
    return True


def dismiss_reports(comments: QuerySet, *, by) -> int:
    """Mark the open reports on `comments` handled, leaving the comments as they are (the
    moderator found nothing wrong). Returns how many reports."""
    return CommentReport.objects.filter(comment__in=comments, handled_at__isnull=True).update(
        handled_at=timezone.now(), handled_by=by
    )


def _tell_author(comment: Comment, template: str, **context) -> None:
    # An erased account (author gone) or a comment its author deleted has no one to tell.
    if comment.author is None or comment.is_deleted:
        return
    send_to(
        template,
        {
            "comment": comment,
            "where": comment.page,
            "reason": comment.hidden_reason,
            "contact_email": settings.CONTACT_EMAIL,
            **context,
        },
        [comment.author],
    )
