"""Forms for joining networks, filtering lists and registering for events."""

from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from ideabank.forms import DesignsystemetMixin
from initiatives.models import Organisation
from networks.models import EventRegistration

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
