"""Questions and comments on published initiatives and on networks (issue 15).

Anyone reads a page's thread; confirmed accounts write a question or a comment, reply one
level deep, change their text within COMMENT_EDIT_MINUTES and delete their own; the
page's owners mark one reply to a question as its answer; anyone reports a comment to
the moderators, who hide or restore it in the admin (ideabank/admin.py).

Who sees and does what is one rule each on the model: CommentQuerySet.visible_to,
Comment.may_edit, may_delete, may_mark_answer and is_owner. Outsiders get 404 for what
they may not see, 403 (with a page saying why) for what they see but may not change.
"""

from collections import defaultdict
from typing import TYPE_CHECKING

from django import forms
from django.contrib import messages
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from ideabank.decorators import confirmed_email_required
from ideabank.email import send_to
from ideabank.forms import DesignsystemetMixin
from ideabank.http import posted
from ideabank.models import (
    COMMENT_EDIT_MINUTES,
    Comment,
    CommentReport,
    email_confirmed,
)
from ideabank.ratelimit import Limit, client_ip, render_limited
from initiatives.freshness import owners_by_organisation
from initiatives.models import Initiative, Organisation

if TYPE_CHECKING:
    from networks.models import Network

# Enough for a lively discussion; more is a script or a flame war the moderators must see.
COMMENTS_PER_ACCOUNT = Limit("comment-account", limit=10, window=10 * 60)
# Reports need no account: per address for everyone, per account on top when logged in.
REPORTS_PER_IP = Limit("comment-report-ip", limit=20, window=60 * 60)
REPORTS_PER_ACCOUNT = Limit("comment-report-account", limit=10, window=60 * 60)

TOO_LONG = gettext_lazy("This can be at most %(limit_value)d characters (it has %(show_value)d).")


# --- Forms ---------------------------------------------------------------------------------


class LimitSaidMixin:
    """Says the text field's limit in its help text, in the language of the request."""

    limited_field = "body"

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields[self.limited_field]
        field.help_text = " ".join(
            str(text)
            for text in (
                _("At most %(limit)d characters.") % {"limit": field.max_length},
                self.extra_help,
            )
            if text
        )

    extra_help = gettext_lazy("Plain text: links become clickable.")


class CommentForm(LimitSaidMixin, DesignsystemetMixin, forms.ModelForm):
    """A new question or comment, or (reply=True) a reply: the kind is the writer's choice
    on a new one only; the organisation one of those they may act for, or none."""

    class Meta:
        model = Comment
        fields = ["kind", "body", "organisation", "language"]
        widgets = {"kind": forms.RadioSelect, "body": forms.Textarea(attrs={"rows": 6})}
        labels = {
            "kind": gettext_lazy("Is it a question or a comment?"),
            "body": gettext_lazy("Your text"),
            "organisation": gettext_lazy("Write on behalf of"),
        }
        help_texts = {
            "organisation": gettext_lazy("Shown beside your name."),
            "language": gettext_lazy("The language your text is written in."),
        }
        error_messages = {
            "body": {
                "required": gettext_lazy("Write something first."),
                "max_length": TOO_LONG,
            },
            "kind": {"required": gettext_lazy("Choose question or comment.")},
        }

    def __init__(self, *args, user, reply: bool = False, **kwargs) -> None:
        # Its own ids: the page it sits on may have another form with an organisation field.
        kwargs.setdefault("auto_id", "id_comment_%s")
        super().__init__(*args, **kwargs)
        if reply:
            del self.fields["kind"]
        else:
            # A radio list has no empty choice to offer.
            self.fields["kind"].choices = Comment.Kind.choices
        # Someone who acts for organisations says for which one they write (readers weigh a
        # municipality's answer differently from a supplier's); without any, their name.
        acting_for = Organisation.objects.acting_for(user).order_by("name", "pk")
        organisations = list(acting_for)
        if organisations:
            field = self.fields["organisation"]
            field.queryset = acting_for  # what a choice is checked against
            field.required = True
            field.error_messages["required"] = _("Choose whom you write for.")
            # The page shows the list just read rather than reading it again.
            choices = [(organisation.pk, organisation.name) for organisation in organisations]
            if len(organisations) == 1:
                # Nothing to choose: a post without the field writes for that one.
                self.only_organisation = organisations[0]
                field.required = False
                self.initial.setdefault("organisation", organisations[0].pk)
            else:
                choices.insert(0, ("", field.empty_label))
            field.widget.choices = choices
        else:
            del self.fields["organisation"]

    only_organisation = None

    def clean_organisation(self):
        return self.cleaned_data.get("organisation") or self.only_organisation


class CommentEditForm(LimitSaidMixin, DesignsystemetMixin, forms.ModelForm):
    class Meta:
        model = Comment
        fields = ["body", "language"]
        widgets = CommentForm.Meta.widgets
        labels = CommentForm.Meta.labels
        help_texts = CommentForm.Meta.help_texts
        error_messages = CommentForm.Meta.error_messages


class CommentReportForm(LimitSaidMixin, DesignsystemetMixin, forms.ModelForm):
    limited_field = "reason"
    extra_help = gettext_lazy(
        "For example: it is offensive, it is advertising, or it shares someone's personal details."
    )

    class Meta:
        model = CommentReport
        fields = ["reason"]
        widgets = {"reason": forms.Textarea(attrs={"rows": 4})}
        labels = {"reason": gettext_lazy("What is wrong with it?")}
        error_messages = {
            "reason": {
                "required": gettext_lazy("Tell the moderators what is wrong."),
                "max_length": TOO_LONG,
            }
        }


# --- The thread on a page ------------------------------------------------------------------


def network_model():
    # networks.models by way of the relation: initiatives.views imports this module, and
    # initiatives never imports networks.
    return Comment._meta.get_field("network").related_model


def page_context(comment: Comment) -> dict:
    return {"page": comment.page, "comment_on_network": comment.network_id is not None}


def comment_url(comment: Comment) -> str:
    """The comment's place on its page (each comment is an element #kommentar-<pk>)."""
    return f"{comment.page.get_absolute_url()}#kommentar-{comment.pk}"


def thread_context(
    user, *, initiative: Initiative | None = None, network: "Network | None" = None
) -> dict:
    """What includes/comments.html needs on a published initiative's or a network's page.

    In a fixed number of queries, however many comments: one for the comments and their
    replies (with writers and organisations); for a confirmed account one more for
    whether they own the page and one for the organisations they may write for.

    Questions and comments newest first, so what is new is seen without scrolling; the
    replies to each oldest first under it, so a conversation reads downwards. A deleted
    comment with replies stays as "deleted" (the replies need it); without, it goes.
    """
    on = {"initiative": initiative} if initiative is not None else {"network": network}
    rows = (
        Comment.objects.visible_to(user)
        .filter(**on)
        .select_related("author", "organisation")
        .order_by("created", "pk")
    )
    confirmed = email_confirmed(user)
    owner = confirmed and Comment.is_owner(user, initiative=initiative, network=network)
    now = timezone.now()
    replies, questions = defaultdict(list), []
    for comment in rows:
        comment.may_edit_now = comment.may_edit(user, now)
        comment.may_delete_now = comment.may_delete(user)
        if comment.parent_id is None:
            questions.append(comment)
        elif not comment.is_deleted:
            replies[comment.parent_id].append(comment)
    thread = []
    for question in reversed(questions):
        question.thread_replies = replies[question.pk]
        for reply in question.thread_replies:
            reply.parent = question  # read by may_mark_answer without a query
            reply.may_mark = reply.may_mark_answer(user, owner=owner)
        question.answered = any(reply.is_answer for reply in question.thread_replies)
        if not question.is_deleted or question.thread_replies:
            thread.append(question)
    page = initiative if initiative is not None else network
    return {
        "comments": thread,
        "comment_count": sum(len(c.thread_replies) + (not c.is_deleted) for c in thread),
        "comment_on_network": initiative is None,
        "comment_form": CommentForm(user=user, initial={"language": translation.get_language()})
        if confirmed
        else None,
        "comment_action": create_url(page),
        "comment_edit_minutes": COMMENT_EDIT_MINUTES,
    }


def create_url(page: "Initiative | Network") -> str:
    if isinstance(page, Initiative):
        return reverse("comments:initiative_create", args=[page.slug])
    return reverse("comments:network_create", args=[page.slug])


# --- Writing --------------------------------------------------------------------------------


def notify(comment: Comment) -> int:
    """Tell who should know about a new comment or reply, each once and in their language:
    a reply's parent's writer (comment_reply), and the page's owners (the lead or
    coordinating organisation's confirmed active members: comment_posted) unless an owner
    wrote it. Never the writer; only active accounts with confirmed addresses. How many."""
    page = comment.page
    context = {
        "comment": comment,
        "page": page,
        # A name, never the address (the username is the address): templates say "a member"
        # for someone without one. Links are made in the templates, in each one's language.
        "writer": comment.author.get_full_name().strip(),
        "on_network": comment.network_id is not None,
    }
    told = {comment.author_id}
    sent = 0
    parent_writer = comment.parent.author if comment.parent_id else None
    if (
        parent_writer is not None
        and parent_writer.pk not in told
        and parent_writer.is_active
        and email_confirmed(parent_writer)
    ):
        sent += send_to("email/comment_reply", context, [parent_writer])
        told.add(parent_writer.pk)
    if Comment.is_owner(comment.author, initiative=comment.initiative, network=comment.network):
        return sent
    organisation = (
        comment.initiative.lead_organisation
        if comment.initiative_id
        else comment.network.coordinating_organisation
    )
    if organisation is None:
        return sent
    owners = owners_by_organisation([organisation.pk]).get(organisation.pk, [])
    context["organisation"] = organisation.name
    return sent + send_to(
        "email/comment_posted", context, [owner for owner in owners if owner.pk not in told]
    )


def comment_form_page(
    request: HttpRequest, comment: Comment, *, reply_to: Comment | None = None
) -> HttpResponse:
    """Check and save a new comment or reply (`comment` carries what the form may not set:
    page, writer, parent), or show the form with its errors and the text kept."""
    template = "comments/comment_form.html"
    kwargs = {"user": request.user, "reply": reply_to is not None}
    form = CommentForm(
        posted(request),
        instance=comment,
        initial={"language": translation.get_language()},
        **kwargs,
    )
    context = {**page_context(comment), "reply_to": reply_to}
    if request.method == "POST" and form.is_valid():
        # Only what would be saved counts against the limit.
        if COMMENTS_PER_ACCOUNT.too_many(str(request.user.pk)):
            kept = CommentForm(None, initial=form.cleaned_data, **kwargs)
            return render_limited(
                request, template, {**context, "form": kept}, COMMENTS_PER_ACCOUNT
            )
        with transaction.atomic():
            comment = form.save()
            notify(comment)
        messages.success(
            request,
            _("Your reply is published.") if reply_to else _("Your text is published."),
        )
        return redirect(comment_url(comment))
    return render(request, template, {**context, "form": form})


@confirmed_email_required
def initiative_comment_create(request: HttpRequest, slug: str) -> HttpResponse:
    initiative = get_object_or_404(
        Initiative.objects.published().select_related("lead_organisation"), slug=slug
    )
    return comment_form_page(request, Comment(initiative=initiative, author=request.user))


@confirmed_email_required
def network_comment_create(request: HttpRequest, slug: str) -> HttpResponse:
    network = get_object_or_404(network_model(), slug=slug)
    return comment_form_page(request, Comment(network=network, author=request.user))


def visible_comment(request: HttpRequest, pk: int) -> Comment:
    """The comment `pk` if the user may see it (CommentQuerySet.visible_to), else 404."""
    return get_object_or_404(
        Comment.objects.visible_to(request.user).select_related(
            "initiative__lead_organisation", "network", "parent__author", "author"
        ),
        pk=pk,
    )


def refused(request: HttpRequest, comment: Comment, reason: str) -> HttpResponse:
    """403 with a page that says why and leads back to the comment; nothing changed."""
    return render(
        request,
        "comments/comment_refused.html",
        {"comment": comment, "reason": reason, **page_context(comment)},
        status=403,
    )


@confirmed_email_required
def comment_reply(request: HttpRequest, pk: int) -> HttpResponse:
    """Reply to a question or comment. Replies are one level deep: a reply to a reply joins
    its parent's replies, where it is read in order, instead of starting a level of its
    own (pages stay readable at 320 px and by screen reader)."""
    target = visible_comment(request, pk)
    parent = target.parent if target.parent_id else target
    if parent.is_deleted or parent.is_hidden:
        return refused(
            request, parent, _("This comment is deleted or hidden: it takes no replies.")
        )
    reply = Comment(
        initiative=parent.initiative,
        network=parent.network,
        parent=parent,
        kind=Comment.Kind.COMMENT,
        author=request.user,
    )
    return comment_form_page(request, reply, reply_to=parent)


# --- Changing and deleting one's own ---------------------------------------------------------


@confirmed_email_required
def comment_edit(request: HttpRequest, pk: int) -> HttpResponse:
    comment = visible_comment(request, pk)
    if not comment.may_edit(request.user):
        return refused(
            request,
            comment,
            _(
                "Only the writer can change a comment, and only for %(minutes)d minutes after "
                "writing it. You can still delete your own comment and write a new one."
            )
            % {"minutes": COMMENT_EDIT_MINUTES},
        )
    form = CommentEditForm(posted(request), instance=comment)
    if request.method == "POST" and form.is_valid():
        comment = form.save(commit=False)
        comment.edited_at = timezone.now()
        comment.save(update_fields=["body", "language", "edited_at"])
        messages.success(request, _("Your change is saved."))
        return redirect(comment_url(comment))
    return render(
        request,
        "comments/comment_form.html",
        {"form": form, "editing": comment, **page_context(comment)},
    )


@confirmed_email_required
def comment_delete(request: HttpRequest, pk: int) -> HttpResponse:
    """GET asks, POST deletes (Comment.delete_by_author: the text goes, the row stays
    for the replies of others); a deleted comment without replies is not shown at all."""
    comment = visible_comment(request, pk)
    if not comment.may_delete(request.user):
        return refused(request, comment, _("Only the writer can delete a comment."))
    if request.method == "POST":
        comment.delete_by_author()
        messages.success(request, _("Your comment is deleted."))
        return redirect(f"{comment.page.get_absolute_url()}#kommentarer")
    return render(
        request, "comments/comment_delete.html", {"comment": comment, **page_context(comment)}
    )


# --- The answer to a question ---------------------------------------------------------------


def mark_answer(reply: Comment, *, by) -> None:
    """`reply` becomes the one answer to its question; a previous answer is unmarked."""
    with transaction.atomic():
        # Two owners marking at once: the question's row lock puts them one after the other.
        list(Comment.objects.select_for_update().filter(pk=reply.parent_id).values_list("pk"))
        Comment.objects.filter(parent=reply.parent_id, answer_marked_at__isnull=False).exclude(
            pk=reply.pk
        ).update(answer_marked_at=None, answer_marked_by=None)
        Comment.objects.filter(pk=reply.pk).update(
            answer_marked_at=timezone.now(), answer_marked_by=by
        )


def answer_action(request: HttpRequest, pk: int, *, mark: bool) -> HttpResponse:
    reply = visible_comment(request, pk)
    if not reply.may_mark_answer(request.user):
        return refused(
            request,
            reply,
            _("Only the owners of the page can mark the answer to a question, on a reply to it."),
        )
    if mark:
        mark_answer(reply, by=request.user)
        messages.success(request, _("The reply is marked as the answer."))
    else:
        Comment.objects.filter(pk=reply.pk).update(answer_marked_at=None, answer_marked_by=None)
        messages.success(request, _("The reply is no longer marked as the answer."))
    return redirect(comment_url(reply))


@require_POST
@confirmed_email_required
def answer_mark(request: HttpRequest, pk: int) -> HttpResponse:
    return answer_action(request, pk, mark=True)


@require_POST
@confirmed_email_required
def answer_unmark(request: HttpRequest, pk: int) -> HttpResponse:
    return answer_action(request, pk, mark=False)


# --- Reports to the moderators ---------------------------------------------------------------


def comment_report(request: HttpRequest, pk: int) -> HttpResponse:
    """Anyone tells the moderators what is wrong with a comment (no account needed: the
    person hurt by it may have none)."""
    comment = visible_comment(request, pk)
    if comment.is_deleted:
        raise Http404(_("The comment is deleted."))
    template = "comments/comment_report.html"
    context = {"comment": comment, **page_context(comment)}
    form = CommentReportForm(posted(request))
    if request.method == "POST":
        limits = [(REPORTS_PER_IP, client_ip(request))]
        if request.user.is_authenticated:
            limits.append((REPORTS_PER_ACCOUNT, str(request.user.pk)))
        for limit, key in limits:
            if limit.too_many(key):
                kept = CommentReportForm(None, initial={"reason": form.data.get("reason", "")})
                return render_limited(request, template, {**context, "form": kept}, limit)
        if form.is_valid():
            report = form.save(commit=False)
            report.comment = comment
            report.reporter = request.user if request.user.is_authenticated else None
            report.save()
            messages.success(request, _("Thank you. The moderators will look at it."))
            return redirect(comment_url(comment))
    return render(request, template, {**context, "form": form})
