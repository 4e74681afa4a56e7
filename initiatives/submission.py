"""Sharing an initiative: the form (create and edit), preview, submit, withdraw, and the files.

One page holds the whole initiative. "Save draft" keeps whatever is there (a title
and a lead organisation suffice); "Preview" saves and shows the page as it will be
published; "Submit for review" asks for everything a review needs first. Rows of
partners, links and attachments are added by a submit button and removed by a
checkbox, so none of it needs JavaScript. Everything is written in one transaction.
"""

from pathlib import PurePath

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.db.models import Count, Q, QuerySet
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST
from taggit.models import TaggedItem

from ideabank.decorators import confirmed_email_required
from ideabank.slugs import slugify_nb
from initiatives import history, search
from initiatives.engine import catalogue_version
from initiatives.forms import (
    AttachmentFormSet,
    CampaignAnswerForm,
    FormActionForm,
    InitiativeForm,
    LinkFormSet,
    PartnerFormSet,
    SimilarForm,
    unique_slug,
)
from initiatives.models import (
    IllegalTransition,
    Initiative,
    Organisation,
    OrganisationMember,
    Participation,
)

TAG_SUGGESTIONS = 30

# What the stored suffix says a file is; anything else is served as plain bytes.
CONTENT_TYPES = {
    ".pdf": "application/pdf",
    ".doc": "application/msword",
    ".xls": "application/vnd.ms-excel",
    ".ppt": "application/vnd.ms-powerpoint",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    ".odt": "application/vnd.oasis.opendocument.text",
    ".ods": "application/vnd.oasis.opendocument.spreadsheet",
    ".odp": "application/vnd.oasis.opendocument.presentation",
}
IMAGE_TYPES = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".webp": "image/webp",
}


# --- Lookups ----------------------------------------------------------------------


def editable_initiative(
    request: HttpRequest, slug: str, queryset: QuerySet | None = None, *, look: bool = False
):
    """The initiative `slug` if the user may edit it (InitiativeQuerySet.editable_by), or with
    `look` preview it (previewable_by): 404 when they may not even see it, 403 when they may
    see but not edit it. The views are behind confirmed_email_required, which tells an
    account with an unconfirmed address why it may not, before any of this."""
    visible = (Initiative.objects.all() if queryset is None else queryset).visible_to(request.user)
    initiative = get_object_or_404(visible, slug=slug)
    allowed = Initiative.objects.previewable_by if look else Initiative.objects.editable_by
    if not allowed(request.user).filter(pk=initiative.pk).exists():
        raise PermissionDenied(_("Only members of the lead organisation can change this."))
    return initiative


def lead_choices(user, initiative: Initiative | None = None) -> list[Organisation]:
    """The organisations that may lead: the user's active memberships, plus the current
    lead (a moderator editing, or a creator who has since left the organisation)."""
    mine = OrganisationMember.objects.active().filter(user=user).values("organisation")
    condition = Q(pk__in=mine)
    if initiative is not None and initiative.is_published:
        # A published initiative stays live while edited: only an approved organisation may
        # take the lead, or a proposed one would be shown before a moderator saw it.
        condition &= Q(status=Organisation.Status.APPROVED)
    if initiative is not None and initiative.lead_organisation_id:
        condition |= Q(pk=initiative.lead_organisation_id)
    return list(Organisation.objects.filter(condition).only("pk", "name", "slug").order_by("name"))


def partner_choices(initiative: Initiative) -> list[Organisation]:
    """Approved organisations, plus any already a partner (they stay choosable)."""
    condition = Q(status=Organisation.Status.APPROVED)
    if initiative.pk:
        condition |= Q(
            pk__in=Participation.objects.filter(initiative_id=initiative.pk).values("organisation")
        )
    return list(Organisation.objects.filter(condition).only("pk", "name").order_by("name"))


def tag_suggestions() -> list[str]:
    """The tags most used on published initiatives (a draft's tags are nobody's business),
    counted once per catalogue version."""
    key = f"initiatives:tag-suggestions:{catalogue_version()}"
    names = cache.get(key)
    if names is None:
        published = Initiative.objects.published().values("pk")
        names = list(
            TaggedItem.objects.filter(
                content_type__app_label="initiatives",
                content_type__model="initiative",
                object_id__in=published,
            )
            .values("tag__name")
            .annotate(n=Count("pk"))
            .order_by("-n", "tag__name")
            .values_list("tag__name", flat=True)[:TAG_SUGGESTIONS]
        )
        cache.set(key, names, 3600)
    return names


# --- The form ---------------------------------------------------------------------


@confirmed_email_required
def initiative_create(request: HttpRequest) -> HttpResponse:
    organisations = lead_choices(request.user)
    if not organisations:
        messages.info(
            request,
            _(
                "An initiative is shared by an organisation. Join yours (or propose it) first, "
                "then come back to share the initiative."
            ),
        )
        return redirect("initiatives:organisation_join")
    initiative = Initiative(created_by=request.user)
    return form_page(request, initiative, organisations)


@confirmed_email_required
def initiative_edit(request: HttpRequest, slug: str) -> HttpResponse:
    initiative = editable_initiative(
        request,
        slug,
        Initiative.objects.prefetch_related(
            "purposes", "actor_types", "goals", "targets", "focus_areas", "tags"
        ).annotate(history_version=history.latest_version()),
    )
    return form_page(request, initiative, lead_choices(request.user, initiative))


def form_page(
    request: HttpRequest, initiative: Initiative, organisations: list[Organisation]
) -> HttpResponse:
    """Show, check and save the submission form for a new or an existing initiative."""
    posted = request.method == "POST"
    action = FormActionForm(request.POST if posted else None).value
    submitting = action == FormActionForm.SUBMIT
    quiet = action in FormActionForm.ADD_ROW
    data, files = (request.POST, request.FILES) if posted else (None, None)
    # The form writes what was typed onto the instance, valid or not; the page's heading
    # and current image show what is saved.
    saved = {"title": initiative.title, "image": bool(initiative.image), "slug": initiative.slug}

    # The campaign it answers (?campaign=<slug> from an invitation, then a hidden field):
    # the form says so and ticks the campaign's goals and focus areas; the save links it.
    campaign_form = CampaignAnswerForm(request.POST if posted else request.GET)
    campaign = campaign_form.cleaned_data["campaign"] if campaign_form.is_valid() else None
    initial = {}
    if campaign is not None and not posted:
        for name in ("goals", "focus_areas"):
            chosen = list(getattr(initiative, name).all()) if initiative.pk else []
            initial[name] = sorted({item.pk for item in [*chosen, *getattr(campaign, name).all()]})

    form = InitiativeForm(
        data,
        files,
        initial=initial,
        instance=initiative,
        organisations=organisations,
        submitting=submitting,
        quiet=quiet,
        tag_suggestions=tag_suggestions(),
    )
    formsets = {
        "partners": PartnerFormSet(
            data,
            instance=initiative,
            prefix="partners",
            queryset=Participation.objects.order_by("pk"),
            form_kwargs={"organisations": partner_choices(initiative)},
            add_row=FormActionForm.ADD_ROW.get(action) == "partners",
            quiet=quiet,
        ),
        "links": LinkFormSet(
            data,
            instance=initiative,
            prefix="links",
            add_row=FormActionForm.ADD_ROW.get(action) == "links",
            quiet=quiet,
        ),
        "attachments": AttachmentFormSet(
            data,
            files,
            instance=initiative,
            prefix="attachments",
            add_row=FormActionForm.ADD_ROW.get(action) == "attachments",
            quiet=quiet,
        ),
    }

    # The version the form was loaded from: saving over a newer one is refused (below).
    version_form = history.VersionForm(
        data, initial={"loaded": getattr(initiative, "history_version", None) or ""}
    )
    conflict = None
    if posted and not quiet:
        form_valid = form.is_valid()
        formsets["partners"].lead_organisation = form.cleaned_data.get("lead_organisation")
        formsets_valid = all([formset.is_valid() for formset in formsets.values()])
        if form_valid and formsets_valid:
            version = version_form.token if initiative.pk else None
            try:
                initiative = save_initiative(
                    request, form, formsets, version=version, campaign=campaign
                )
            except history.EditConflict as error:
                # Nothing is saved: the page comes back with the input, both versions shown,
                # and a button to save this input over the newer version.
                conflict = history.conflict(error, history.state_of_forms(form, formsets))
                initiative.slug = saved["slug"]  # the address stays what is saved
            else:
                return after_save(request, initiative, action)

    title = form["title"].value() or ""
    summary = form["summary"].value() or ""
    similar = search.similar_to(title, summary, exclude_pk=initiative.pk) if title else []
    return render(
        request,
        "initiatives/initiative_form.html",
        {
            "initiative": initiative,
            "saved": saved,
            "form": form,
            "partners": formsets["partners"],
            "links": formsets["links"],
            "attachments": formsets["attachments"],
            "formsets": list(formsets.values()),
            "formset_errors": any(formset.total_error_count() for formset in formsets.values()),
            "can_submit": initiative.pk is None
            or initiative.status in Initiative.TRANSITIONS["submit"][0],
            "lost_files": lost_files(form, formsets["attachments"]),
            "similar": similar,
            "version_form": version_form,
            "conflict": conflict,
            "campaign": campaign,
            "campaign_errors": campaign_form.errors.get("campaign", []),
            # Those it answers already stay: an initiative may answer several campaigns.
            "answered_campaigns": list(initiative.campaigns.all()) if initiative.pk else [],
        },
    )


def save_initiative(
    request: HttpRequest,
    form: InitiativeForm,
    formsets: dict,
    *,
    version: str | None = None,
    campaign=None,
) -> Initiative:
    """Write the initiative, its relations and rows: all of it or none of it. With `version`
    (the one the form was loaded from) nothing is written if a newer one was saved since:
    history.EditConflict. With `campaign`, the initiative answers it too."""
    initiative = form.save(commit=False)
    creating = initiative.pk is None
    if creating:
        initiative.created_by = request.user
    # The address follows the title until the initiative is first published; after that,
    # links to it exist elsewhere.
    if creating or ("title" in form.changed_data and initiative.published_at is None):
        initiative.slug = unique_slug(initiative.title, exclude_pk=initiative.pk)
    try:
        write_initiative(
            initiative, form, formsets, by=request.user, version=version, campaign=campaign
        )
    except IntegrityError:
        # Someone took the same address a moment ago: take the next free one.
        if not Initiative.objects.filter(slug=initiative.slug).exclude(pk=initiative.pk).exists():
            raise
        initiative.slug = unique_slug(initiative.title, exclude_pk=initiative.pk)
        write_initiative(
            initiative, form, formsets, by=request.user, version=version, campaign=campaign
        )
    return initiative


def write_initiative(
    initiative: Initiative,
    form: InitiativeForm,
    formsets: dict,
    *,
    by,
    version: str | None,
    campaign=None,
) -> None:
    creating = initiative.pk is None
    with transaction.atomic():
        if not creating and version is not None:
            history.check_version(initiative.pk, version)
        # The edit history records the whole change (fields, taxonomy, tags, rows) as one
        # revision by `by`.
        comment = history.CREATED if creating else history.EDITED
        with history.change(initiative, by=by, comment=comment):
            initiative.save()
            form.save_m2m()
            if campaign is not None:
                initiative.campaigns.add(campaign)
            for formset in formsets.values():
                formset.instance = initiative
                formset.save()
            if initiative.is_published:
                # It stays public; the history says who changed it, search and the catalogue
                # see the change, and the moderators are told.
                initiative.record_edit(by=by)
            else:
                Initiative.objects.filter(pk=initiative.pk).refresh_search_vectors()


def after_save(request: HttpRequest, initiative: Initiative, action: str) -> HttpResponse:
    if action == FormActionForm.PREVIEW:
        return redirect("initiatives:preview", initiative.slug)
    if action == FormActionForm.SUBMIT:
        return submit(request, initiative)
    if initiative.is_published:
        messages.success(
            request, _("Your changes are published. The moderators have been told of them.")
        )
    elif initiative.status == Initiative.Status.SUBMITTED:
        messages.success(
            request, _("Your changes are saved. The initiative is still waiting for review.")
        )
    else:
        messages.success(request, _("The draft is saved."))
    return redirect("initiatives:edit", initiative.slug)


def submit(request: HttpRequest, initiative: Initiative) -> HttpResponse:
    """Send for review: the model refuses what is incomplete (Initiative.review_gaps), and
    the page comes back saying what is missing; the status stays as it was."""
    try:
        initiative.submit(by=request.user)
    except IllegalTransition as error:
        messages.error(request, str(error))
        return redirect("initiatives:edit", initiative.slug)
    messages.success(
        request,
        _(
            "Thank you! The initiative is sent for review. You will get an e-mail when a "
            "moderator has looked at it."
        ),
    )
    return redirect("initiatives:preview", initiative.slug)


def lost_files(form: InitiativeForm, attachments) -> bool:
    """Whether files chosen in this post must be chosen again (the page came back)."""
    return bool(form.chosen_files) or any(row.chosen_files for row in attachments.forms)


# --- Preview, submit, withdraw ----------------------------------------------------


@confirmed_email_required
def initiative_preview(request: HttpRequest, slug: str) -> HttpResponse:
    """The initiative exactly as its public page will show it, with a banner to edit or submit
    (moderators may look at what was sent for review, from the admin's review page)."""
    initiative = editable_initiative(
        request,
        slug,
        Initiative.objects.with_details()
        .with_adoptions()
        .with_progress_reports()
        .prefetch_related("presentations__event"),
        look=True,
    )
    can_edit = Initiative.objects.editable_by(request.user).filter(pk=initiative.pk).exists()
    return render(
        request,
        "initiatives/initiative_preview.html",
        {
            "initiative": initiative,
            "preview": True,
            "related": Initiative.objects.published().related_to(initiative),
            "involvement_aim": Initiative.INVOLVEMENT_AIMS.get(initiative.involvement, ""),
            "similar": search.similar_to(
                initiative.title, initiative.summary, exclude_pk=initiative.pk
            ),
            "gaps": initiative.review_gaps(),
            "can_edit": can_edit,
            "can_submit": can_edit and initiative.status in Initiative.TRANSITIONS["submit"][0],
            "can_withdraw": can_edit and initiative.status == Initiative.Status.SUBMITTED,
            "progress_reports": list(initiative.progress_reports.all()),
        },
    )


@require_POST
@confirmed_email_required
def initiative_submit(request: HttpRequest, slug: str) -> HttpResponse:
    """Send a saved draft for review (the preview's button): it must be complete."""
    return submit(request, editable_initiative(request, slug))


@require_POST
@confirmed_email_required
def initiative_withdraw(request: HttpRequest, slug: str) -> HttpResponse:
    """Take a submitted initiative back to draft, to keep working on it."""
    initiative = editable_initiative(request, slug)
    if initiative.status == Initiative.Status.DRAFT:
        messages.info(request, _("The initiative is a draft already."))
        return redirect("initiatives:edit", initiative.slug)
    try:
        initiative.withdraw(by=request.user)
    except IllegalTransition as error:
        messages.error(request, str(error))
    else:
        messages.success(
            request, _("The initiative is withdrawn from review and is a draft again.")
        )
    return redirect("initiatives:edit", initiative.slug)


# --- Similar initiatives while writing ---------------------------------------------


@require_GET
@login_required
def initiative_similar(request: HttpRequest) -> HttpResponse:
    """The list of similar published initiatives for a title being typed (a fragment the
    form's script swaps in)."""
    form = SimilarForm(request.GET)
    similar = []
    if form.is_valid() and form.cleaned_data["title"]:
        similar = search.similar_to(form.cleaned_data["title"], form.cleaned_data["summary"])
    return render(
        request, "includes/similar_initiatives.html", {"similar": similar, "heading_level": 3}
    )


# --- Files ----------------------------------------------------------------------


def readable_initiative(request: HttpRequest, slug: str) -> Initiative | None:
    """The initiative whose file is asked for, if the user may see it. None asks an
    anonymous visitor to log in; a signed-in user who may not see it gets 404."""
    initiative = Initiative.objects.visible_to(request.user).filter(slug=slug).first()
    if initiative is None and request.user.is_authenticated:
        raise Http404(_("There is no such initiative."))
    return initiative


def _open(field_file):
    try:
        return field_file.open("rb")
    except (FileNotFoundError, ValueError) as error:
        raise Http404(_("The file is missing.")) from error


def initiative_attachment(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    """A document, always as a download under a name made from its title."""
    initiative = readable_initiative(request, slug)
    if initiative is None:
        return redirect_to_login(request.get_full_path())
    attachment = get_object_or_404(initiative.attachments.all(), pk=pk)
    suffix = PurePath(attachment.file.name).suffix.lower()
    filename = f"{slugify_nb(attachment.title)[:80] or 'vedlegg'}{suffix}"
    response = FileResponse(
        _open(attachment.file),
        as_attachment=True,
        filename=filename,
        content_type=CONTENT_TYPES.get(suffix, "application/octet-stream"),
    )
    response["X-Content-Type-Options"] = "nosniff"
    if not initiative.is_published:
        response["Cache-Control"] = "private, no-store"
    return response


def initiative_image(request: HttpRequest, slug: str) -> HttpResponse:
    """The initiative's image, shown in the page."""
    initiative = readable_initiative(request, slug)
    if initiative is None:
        return redirect_to_login(request.get_full_path())
    suffix = PurePath(initiative.image.name or "").suffix.lower()
    if not initiative.image or suffix not in IMAGE_TYPES:
        raise Http404(_("The initiative has no image."))
    response = FileResponse(_open(initiative.image), content_type=IMAGE_TYPES[suffix])
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = (
        "public, max-age=3600" if initiative.is_published else "private, no-store"
    )
    return response
