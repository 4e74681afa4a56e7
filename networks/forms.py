"""Forms for joining networks, filtering lists, registering for events and campaigns."""

from django import forms
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ideabank.forms import DesignsystemetMixin, IdChoicesField
from initiatives.models import ActorType, County, Organisation
from networks.models import Campaign, CampaignAddressee, EventRegistration, Membership, Network

# --- Networks and join requests ---------------------------------------------------


class NetworkFilterForm(DesignsystemetMixin, forms.Form):
    """The network list's filter form (NetworkFilter's Meta.form): Designsystemet's inputs."""


class NetworkJoinForm(DesignsystemetMixin, forms.Form):
    """Ask to join a network for one of the user's organisations."""

    organisation = forms.ModelChoiceField(
        label=_("Your organisation"),
        queryset=Organisation.objects.none(),
        empty_label=None,
        error_messages={
            "required": _("Choose which of your organisations asks to join."),
            "invalid_choice": _(
                "Choose one of your organisations in the list: those not already members "
                "and not already waiting for an answer."
            ),
        },
    )

    def __init__(self, *args, organisations: QuerySet, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # The view decides what may ask: the user's approved organisations, not yet in.
        self.fields["organisation"].queryset = organisations


# --- Working groups ------------------------------------------------------------------


# --- Events, registration and calendars ------------------------------------------


class EventFilterForm(DesignsystemetMixin, forms.Form):
    """The event lists' filter form (EventFilter's Meta.form): Designsystemet's inputs."""


def _max_length(name: str) -> int:
    return EventRegistration._meta.get_field(name).max_length


class EventRegistrationForm(DesignsystemetMixin, forms.Form):
    """Name, e-mail and organisation for Event.register; the event decides the rest."""

    name = forms.CharField(
        label=_("Name"),
        max_length=_max_length("name"),
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    email = forms.EmailField(
        label=_("E-mail address"),
        max_length=_max_length("email"),
        help_text=_("We send the confirmation here, with a link to cancel."),
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    organisation = forms.CharField(
        label=_("Organisation"),
        max_length=_max_length("organisation_name"),
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "organization"}),
    )


# --- Campaigns -----------------------------------------------------------------------


class CampaignForm(DesignsystemetMixin, forms.ModelForm):
    """A campaign and whom it asks, for those who manage the network (Campaign.is_managed_by).

    The addressees are chosen three ways, any mix of them: every active member organisation
    of the network, every approved organisation of one actor type in one county (all the
    municipalities in Trøndelag), and single member organisations. On an existing campaign
    they only add: an organisation once asked stays asked (and invited once).
    """

    all_members = forms.BooleanField(
        label=_("Every active member organisation of the network"), required=False
    )
    actor_type = forms.ModelChoiceField(
        label=_("Every approved organisation of this actor type …"),
        queryset=ActorType.objects.all(),
        required=False,
        empty_label=_("(none)"),
    )
    county = forms.ModelChoiceField(
        label=_("… in this county"),
        queryset=County.objects.all(),
        required=False,
        empty_label=_("(none)"),
    )
    members = IdChoicesField(
        label=_("Member organisations, one by one"),
        queryset=Organisation.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    class Meta:
        model = Campaign
        fields = ["title", "language", "text", "deadline", "goals", "focus_areas"]
        field_classes = {"goals": IdChoicesField, "focus_areas": IdChoicesField}
        widgets = {
            "text": forms.Textarea(attrs={"rows": 8}),
            "deadline": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "goals": forms.CheckboxSelectMultiple,
            "focus_areas": forms.CheckboxSelectMultiple,
        }
        labels = {"text": _("What you ask for"), "deadline": _("Deadline")}
        help_texts = {
            "text": _("It goes into the invitation and stands on the campaign's page."),
            "deadline": _("The last day to answer."),
        }

    def __init__(self, *args, network: Network | None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.network = network
        if self.instance.pk:
            # The title gives the address and the invitations; it stays.
            del self.fields["title"], self.fields["language"]
        if network is None:
            del self.fields["all_members"], self.fields["members"]
        else:
            self.fields["members"].queryset = self.member_organisations()
        self.fields["deadline"].widget.attrs["min"] = timezone.localdate().isoformat()
        self.addressees: list[int] = []

    def member_organisations(self) -> QuerySet:
        """The network's active member organisations the public sees (approved)."""
        members = Membership.objects.active().filter(network=self.network).values("organisation")
        return Organisation.objects.approved().filter(pk__in=members).order_by("name", "pk")

    def clean_deadline(self):
        deadline = self.cleaned_data["deadline"]
        changed = not self.instance.pk or deadline != self.instance.deadline
        if changed and deadline <= timezone.localdate():
            raise forms.ValidationError(_("Choose a deadline after today."))
        return deadline

    def clean(self) -> dict:
        cleaned = super().clean()
        actor_type, county = cleaned.get("actor_type"), cleaned.get("county")
        if bool(actor_type) != bool(county):
            self.add_error(
                "actor_type" if county else "county",
                _("Choose both an actor type and a county, or neither."),
            )
            return cleaned
        chosen: set[int] = set()
        if cleaned.get("all_members"):
            chosen |= set(self.member_organisations().values_list("pk", flat=True))
        if actor_type and county:
            matching = Organisation.objects.approved().filter(
                actor_type=actor_type, municipality__county=county
            )
            found = set(matching.values_list("pk", flat=True))
            if not found:
                self.add_error(
                    "county",
                    _("No approved organisation of that actor type is in that county."),
                )
            chosen |= found
        chosen |= {organisation.pk for organisation in cleaned.get("members") or []}
        if not chosen and not (self.instance.pk and self.instance.addressees.exists()):
            raise forms.ValidationError(
                _(
                    "Choose at least one organisation to ask: the members, a kind of "
                    "organisation in a county, or single members."
                )
            )
        self.addressees = sorted(chosen)
        return cleaned

    def save_addressees(self, campaign: Campaign) -> None:
        """Add the chosen organisations; those already asked are left as they are."""
        asked = set(campaign.addressees.values_list("organisation_id", flat=True))
        # ignore_conflicts: two managers adding the same organisation at once add it once.
        CampaignAddressee.objects.bulk_create(
            [
                CampaignAddressee(campaign=campaign, organisation_id=pk)
                for pk in self.addressees
                if pk not in asked
            ],
            ignore_conflicts=True,
        )
