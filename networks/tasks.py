"""Tasks the worker runs for networks (`manage.py worker`): campaign invitations."""

from django.db import transaction
from django.utils import timezone
from django_tasks import task

from ideabank.email import send_to
from initiatives.models import OrganisationMember
from networks.models import Campaign, CampaignAddressee


@task()
def invite_campaign_addressees(campaign_id: int) -> int:
    """Mail the confirmed active members of every organisation the campaign asks that has
    not been invited yet, each in their own language; returns how many organisations.

    Each organisation is claimed by an UPDATE … WHERE invited_at IS NULL in the transaction
    that writes its mails to the outbox: of two workers running at once, one claims it and
    the other updates nothing and moves on, so nobody is invited twice, and an organisation
    added later is invited alone. An organisation without a confirmed member is claimed
    too: there is nobody to write to, and one who joins later finds the campaign's page.
    """
    campaign = Campaign.objects.select_related("network").filter(pk=campaign_id).first()
    if campaign is None:
        return 0
    waiting = CampaignAddressee.objects.filter(campaign=campaign, invited_at__isnull=True)
    invited = 0
    for addressee in waiting.select_related("organisation").order_by("pk"):
        with transaction.atomic():
            claimed = CampaignAddressee.objects.filter(
                pk=addressee.pk, invited_at__isnull=True
            ).update(invited_at=timezone.now())
            if not claimed:
                continue
            members = (
                OrganisationMember.objects.active()
                .filter(
                    organisation=addressee.organisation_id,
                    user__profile__email_confirmed_at__isnull=False,
                )
                .select_related("user__profile")
                .order_by("pk")
            )
            send_to(
                "email/campaign_invitation",
                {"campaign": campaign, "organisation": addressee.organisation},
                [member.user for member in members],
            )
            invited += 1
    return invited
