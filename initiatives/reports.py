"""After publication: the owners' progress reports, and the adopters' feedback (issue 14).

Members of the lead organisation write dated reports on a published initiative (what was
done, figures against the collaboration frame's indicators, status, lessons); the
initiative's page shows them as a timeline. Members of an organisation that took an
initiative up tell how it went for them. Who may is one rule each, on the QuerySets:
InitiativeQuerySet.reportable_by and AdoptionQuerySet.feedback_by. Moderators correct
both in the admin.
"""

import re

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext as _

from ideabank.decorators import confirmed_email_required
from ideabank.http import posted
from initiatives import history
from initiatives.forms import (
    EMPTY_INDICATOR_ROWS,
    MAX_INDICATORS,
    AdoptionFeedbackForm,
    IndicatorFormSet,
    ProgressReportForm,
)
from initiatives.models import Adoption, IndicatorResult, Initiative, ProgressReport

INDICATOR_LENGTH = IndicatorResult._meta.get_field("indicator").max_length
# A line of the frame's indicators, without its list mark ("- ", "• ", "1. ", "a) ").
LIST_MARK = re.compile(r"^\s*(?:[-–•*·]+|\(?\w{1,2}[.)])\s+")


def report_context(user, initiative: Initiative) -> dict:
    """What the initiative's page needs about reports and feedback for `user`: whether they
    may write a report, and the adoptions they may tell how it went on (one query each at
    most, however many there are)."""
    reports = list(initiative.progress_reports.all())
    feedback = set()
    if initiative.adoptions.all():
        feedback = set(
            Adoption.objects.feedback_by(user)
            .filter(initiative=initiative)
            .values_list("pk", flat=True)
        )
    return {
        "progress_reports": reports,
        "latest_report": reports[0] if reports else None,
        "may_report": initiative.is_published
        and Initiative.objects.reportable_by(user).filter(pk=initiative.pk).exists(),
        "feedback_adoptions": feedback,
    }


# --- Progress reports ---------------------------------------------------------------------


def reportable_initiative(request: HttpRequest, slug: str) -> Initiative:
    """The published initiative `slug` if the user may report on it: 404 when it is not
    public (a draft has no reports), 403 when they may see it but not report on it."""
    initiative = get_object_or_404(
        Initiative.objects.published().select_related("lead_organisation"), slug=slug
    )
    if not Initiative.objects.reportable_by(request.user).filter(pk=initiative.pk).exists():
        raise PermissionDenied(
            _("Only members of the lead organisation can write its progress reports.")
        )
    return initiative


def suggested_indicators(initiative: Initiative) -> list[dict]:
    """Rows to start a new report from: each line (or ;-separated part) of the collaboration
    frame's indicators, then the indicators of the newest report (with their units), each
    once."""
    rows: dict[str, dict] = {}
    for line in re.split(r"[\n;]", initiative.frame_indicators):
        name = LIST_MARK.sub("", line).strip().rstrip(".").strip()[:INDICATOR_LENGTH]
        if name:
            rows.setdefault(name.casefold(), {"indicator": name[:1].upper() + name[1:]})
    latest = initiative.progress_reports.order_by("-reported_on", "-pk").first()
    if latest is not None:
        for result in latest.indicator_results.all():
            rows.setdefault(result.indicator.casefold(), {"indicator": result.indicator})
            if result.unit:
                rows[result.indicator.casefold()].setdefault("unit", result.unit)
    return list(rows.values())[: MAX_INDICATORS - EMPTY_INDICATOR_ROWS]


class StaleReport(Exception):
    """The report was saved by someone else after the form was loaded."""

    def __init__(self, current: str) -> None:
        super().__init__(current)
        self.current = current


def stamp(report: ProgressReport) -> str:
    """The version of a saved report an edit form is loaded from: when it was last saved."""
    return report.updated.isoformat() if report.pk else ""


def save_report(
    initiative: Initiative, form: ProgressReportForm, rows, *, by, loaded: str | None
) -> ProgressReport:
    """Write the report and its figures, all or nothing. The owners have shown the entry is
    alive (note_owner_update); if this is the newest report and its phase is not the
    initiative's, the initiative's phase follows as a recorded edit (history, search and
    the moderators see it). With `loaded`, a report saved since then is not overwritten:
    StaleReport."""
    with transaction.atomic():
        # One report of an initiative at a time: which report is the newest, and the phase
        # that follows it, are decided with the initiative's row locked.
        list(Initiative.objects.select_for_update().filter(pk=initiative.pk).values_list("pk"))
        if loaded is not None:
            current = (
                ProgressReport.objects.select_for_update()
                .filter(pk=form.instance.pk)
                .values_list("updated", flat=True)
                .first()
            )
            if current is None:
                raise Http404(_("The report has been deleted."))
            if current.isoformat() != loaded:
                raise StaleReport(current.isoformat())
        report = form.save()
        rows.instance = report
        rows.save()
        newest = initiative.progress_reports.values_list("pk", flat=True).first()
        if newest == report.pk and report.phase != initiative.phase:
            with history.change(initiative, by=by, comment=history.EDITED):
                initiative.phase = report.phase
                initiative.save(update_fields=["phase", "updated"])
                initiative.record_edit(
                    by=by, note=gettext("The phase changed with a progress report.")
                )
        else:
            initiative.note_owner_update()
    return report


def report_page(
    request: HttpRequest, initiative: Initiative, report: ProgressReport
) -> HttpResponse:
    """Show, check and save the form for a new or an existing report."""
    creating = report.pk is None
    data = posted(request)
    form = ProgressReportForm(data, instance=report, initial={"loaded": stamp(report)})
    rows = IndicatorFormSet(
        data,
        instance=report,
        prefix="indicators",
        queryset=IndicatorResult.objects.order_by("pk"),
        initial=suggested_indicators(initiative) if creating else None,
    )
    extra_errors = []
    if data is not None and all([form.is_valid(), rows.is_valid()]):
        loaded = None if creating else form.cleaned_data["loaded"]
        try:
            report = save_report(initiative, form, rows, by=request.user, loaded=loaded)
        except StaleReport as error:
            # Nothing is saved; the page comes back with what they wrote. Saving again
            # replaces the newer version: the form now carries it.
            data = data.copy()
            data[form.add_prefix("loaded")] = error.current
            form = ProgressReportForm(data, instance=report, initial={"loaded": stamp(report)})
            rows = IndicatorFormSet(
                data,
                instance=report,
                prefix="indicators",
                queryset=IndicatorResult.objects.order_by("pk"),
            )
            form.is_valid(), rows.is_valid()
            extra_errors.append(
                _(
                    "Someone else saved this report after you opened it, so yours was not "
                    "saved. Your text is still here: compare it with the report on the "
                    "initiative's page, then save again to replace that version."
                )
            )
        else:
            messages.success(
                request,
                _("The progress report is published on the initiative's page.")
                if creating
                else _("The progress report is saved."),
            )
            return redirect(f"{initiative.get_absolute_url()}#progress-reports")
    return render(
        request,
        "initiatives/progress_report_form.html",
        {
            "initiative": initiative,
            "report": None if creating else report,
            "form": form,
            "rows": rows,
            "formsets": [rows],
            "formset_errors": bool(rows.total_error_count()),
            "extra_errors": extra_errors,
        },
    )


@confirmed_email_required
def report_create(request: HttpRequest, slug: str) -> HttpResponse:
    initiative = reportable_initiative(request, slug)
    report = ProgressReport(
        initiative=initiative,
        phase=initiative.phase,
        language=initiative.language,
        written_by=request.user,
    )
    return report_page(request, initiative, report)


@confirmed_email_required
def report_edit(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    initiative = reportable_initiative(request, slug)
    report = get_object_or_404(initiative.progress_reports.all(), pk=pk)
    report.initiative = initiative
    return report_page(request, initiative, report)


# --- Adoption feedback --------------------------------------------------------------------


@confirmed_email_required
def adoption_feedback(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    """How it went for an organisation that took the initiative up: 404 if the adoption is
    not there (or not public), 403 unless the user is an active member of the adopter."""
    initiative = get_object_or_404(
        Initiative.objects.published().select_related("lead_organisation"), slug=slug
    )
    adoption = get_object_or_404(
        Adoption.objects.select_related("organisation"), pk=pk, initiative=initiative
    )
    adoption.initiative = initiative
    if not Adoption.objects.feedback_by(request.user).filter(pk=adoption.pk).exists():
        raise PermissionDenied(
            _("Only members of %(organisation)s can tell how it went for it.")
            % {"organisation": adoption.organisation.name}
        )
    form = AdoptionFeedbackForm(posted(request), instance=adoption)
    if request.method == "POST" and form.is_valid():
        adoption = form.save(commit=False)
        adoption.feedback_at = timezone.now()
        with transaction.atomic():  # the feedback and the engine's change log together
            adoption.save()
        messages.success(
            request,
            _("Thank you. How it went for %(organisation)s is shown on the initiative's page.")
            % {"organisation": adoption.organisation.name},
        )
        return redirect(f"{initiative.get_absolute_url()}#taken-up")
    return render(
        request,
        "initiatives/adoption_feedback_form.html",
        {"initiative": initiative, "adoption": adoption, "form": form},
    )
