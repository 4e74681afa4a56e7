"""Campaigns: the list, a campaign's page with its progress, and starting and changing one.

Who manages a campaign is Campaign.is_managed_by (a network's managers, or moderators for
the moderators' own campaigns); whether an addressed organisation has answered is
CampaignAddresseeQuerySet.with_answered, read live. Moderators also work in the admin.
"""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from ideabank import slugs
from ideabank.decorators import confirmed_email_required
from ideabank.http import posted
from initiatives.models import Organisation
from networks.forms import CampaignForm
from networks.models import Campaign, CampaignAddressee, Network

# How many of the initiatives a campaign brought in its page lists; the rest are a link
# to the list filtered by the campaign.
CAMPAIGN_PAGE_LIMIT = 20

# Campaign pages' query counts stay fixed: the network with its coordinators in one join.
NETWORK_RELATED = ("network__coordinator", "network__parent__coordinator")


def campaign_list(request: HttpRequest) -> HttpResponse:
    """Every campaign, open ones first, with its progress: one query."""
    campaigns = list(Campaign.objects.open_first().with_progress().select_related("network"))
    return render(
        request,
        "networks/campaign_list.html",
        {
            "open_campaigns": [campaign for campaign in campaigns if campaign.is_open],
            "closed_campaigns": [campaign for campaign in campaigns if not campaign.is_open],
        },
    )


def campaign_detail(request: HttpRequest, slug: str) -> HttpResponse:
    """A campaign, how far it has come and the published initiatives it brought in. Who has
    not answered yet is read only for those who manage the campaign."""
    campaign = get_object_or_404(
        Campaign.objects.with_progress()
        .select_related(*NETWORK_RELATED)
        .prefetch_related("goals", "focus_areas"),
        slug=slug,
    )
    manages = campaign.is_managed_by(request.user)
    addressees = campaign.addressees.with_answered().select_related("organisation")
    if not manages:
        # The public learns who has answered (their initiatives are public anyway) and how
        # many were asked, never who has not: those rows are not even read.
        addressees = addressees.filter(
            answered=True, organisation__in=Organisation.objects.approved()
        )
    addressees = list(addressees.order_by("organisation__name", "pk"))
    tiles = [
        {
            "label": addressee.organisation.name,
            "done": addressee.answered,
            "url": addressee.organisation.get_absolute_url()
            if addressee.organisation.is_approved
            else "",
        }
        for addressee in addressees
    ]
    initiatives = campaign.answered_initiatives().select_related("lead_organisation")
    return render(
        request,
        "networks/campaign_detail.html",
        {
            "campaign": campaign,
            "manages": manages,
            "addressees": addressees,
            "unanswered": [addressee for addressee in addressees if not addressee.answered],
            "tiles": tiles,
            "initiatives": initiatives.order_by("-published_at", "pk")[:CAMPAIGN_PAGE_LIMIT],
            "initiative_count": initiatives.count(),
            "share_url": f"{reverse('initiatives:create')}?campaign={campaign.slug}",
            "list_url": f"{reverse('initiatives:list')}?campaign={campaign.slug}",
        },
    )


@confirmed_email_required
def campaign_create(request: HttpRequest, slug: str) -> HttpResponse:
    """Start a campaign for a network: those who manage it (Network.is_managed_by). The
    invitations go out after the commit, on the task worker."""
    network = get_object_or_404(Network.objects.select_related("coordinator", "parent"), slug=slug)
    if not network.is_managed_by(request.user):
        raise PermissionDenied(_("Only those who run the network can start a campaign for it."))
    form = CampaignForm(posted(request), network=network)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            campaign = form.save(commit=False)
            campaign.network = network
            campaign.created_by = request.user
            campaign.slug = slugs.unique_slug(
                campaign.title, Campaign.objects.all(), fallback="kampanje"
            )
            campaign.save()
            form.save_m2m()
            form.save_addressees(campaign)
            campaign.invite_after_commit()
        messages.success(
            request,
            _("The campaign is started. The organisations it asks are sent their invitations."),
        )
        return redirect(campaign)
    return render(request, "networks/campaign_form.html", {"form": form, "network": network})


@confirmed_email_required
def campaign_edit(request: HttpRequest, slug: str) -> HttpResponse:
    """Change a campaign's text, deadline and themes and ask more organisations: those who
    manage it (Campaign.is_managed_by; 403 for anyone else, the campaign being public).
    Organisations added are invited; those invited before are not invited again."""
    campaign = get_object_or_404(Campaign.objects.select_related(*NETWORK_RELATED), slug=slug)
    if not campaign.is_managed_by(request.user):
        raise PermissionDenied(_("Only those who run the campaign can change it."))
    form = CampaignForm(posted(request), instance=campaign, network=campaign.network)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            form.save()
            form.save_addressees(campaign)
            campaign.invite_after_commit()
        messages.success(request, _("The campaign is saved."))
        return redirect(campaign)
    return render(
        request,
        "networks/campaign_form.html",
        {
            "form": form,
            "network": campaign.network,
            "campaign": campaign,
            "addressees": CampaignAddressee.objects.filter(campaign=campaign).select_related(
                "organisation"
            ),
        },
    )
