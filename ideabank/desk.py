"""The moderators' desk on the admin's front page: what waits for them, counted, each with a
link to the admin list that shows it. The rules are the models' QuerySet methods; this
module only lists them."""

from collections.abc import Callable
from dataclasses import dataclass

from django.contrib.auth import get_permission_codename
from django.db.models import Model, QuerySet
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from ideabank.models import Comment, OutgoingMail
from initiatives.models import Initiative, Organisation, OrganisationMember
from networks.models import Membership


@dataclass(frozen=True)
class Waiting:
    label: str
    count: int
    url: str


# What waits, in the order a moderator takes it: (label, model, the rule, the admin list's
# filter that shows the same rows).
QUEUES: list[tuple[str, type[Model], Callable[[], QuerySet], str]] = [
    (
        _("Initiatives submitted for review"),
        Initiative,
        lambda: Initiative.objects.awaiting_review(),
        f"status__exact={Initiative.Status.SUBMITTED}",
    ),
    (
        _("Published initiatives changed since their review"),
        Initiative,
        lambda: Initiative.objects.changed_since_review(),
        "changed_since_review=yes",
    ),
    (
        _("Proposed organisations"),
        Organisation,
        lambda: Organisation.objects.proposed(),
        f"status__exact={Organisation.Status.PROPOSED}",
    ),
    (
        _("Requests to join an organisation that has no member to decide them"),
        OrganisationMember,
        lambda: OrganisationMember.objects.without_decider(),
        "without_decider=yes",
    ),
    (
        _("Requests to join a network"),
        Membership,
        lambda: Membership.objects.requested(),
        f"status__exact={Membership.Status.REQUESTED}",
    ),
    (
        _("Comments reported and not yet handled"),
        Comment,
        lambda: Comment.objects.with_open_reports(),
        "reported=open",
    ),
    (
        _("E-mails that could not be sent"),
        OutgoingMail,
        lambda: OutgoingMail.objects.failed(),
        f"status__exact={OutgoingMail.Status.FAILED}",
    ),
]


def waiting(user) -> list[Waiting]:
    """What waits, for the lists `user` may see in the admin: one count query each."""
    items = []
    for label, model, rows, query in QUEUES:
        opts = model._meta
        if not user.has_perm(f"{opts.app_label}.{get_permission_codename('view', opts)}"):
            continue
        url = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
        items.append(Waiting(label=label, count=rows().count(), url=f"{url}?{query}"))
    return items
