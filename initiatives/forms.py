"""Forms for sharing initiatives, joining organisations, adopting and contacting."""

from collections.abc import Iterable

from django import forms
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.core.validators import MaxLengthValidator, RegexValidator, URLValidator
from django.db.models import QuerySet
from django.forms.formsets import TOTAL_FORM_COUNT, ManagementForm
from django.forms.models import (
    BaseInlineFormSet,
    ModelChoiceIteratorValue,
    inlineformset_factory,
)
from django.forms.utils import ErrorDict
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from taggit.utils import edit_string_for_tags, parse_tags

from ideabank import slugs
from ideabank.forms import DesignsystemetMixin, IdChoicesField
from initiatives import uploads
from initiatives.models import (
    ActorType,
    Adoption,
    Attachment,
    County,
    FocusArea,
    Goal,
    IndicatorResult,
    Initiative,
    InitiativeLink,
    Municipality,
    Organisation,
    Participation,
    ProgressReport,
    Purpose,
    Scope,
    Target,
    validate_organisation_number,
)

# --- Sharing an initiative: the submission form ----------------------------------

MAX_TAGS = 20
MAX_TAG_LENGTH = 50
LONG_TEXT = 20_000  # the description
TEXT = 5_000  # every other free text
MAX_PARTNERS = 50
MAX_LINKS = 30
MAX_ATTACHMENTS = 20
# Words the initiative URLs use besides slugs: a title such as "Ny" must not take them.
RESERVED_SLUGS = frozenset(
    {"ny", "nytt", "lignende", "del-tiltak", "rediger", "sok", "mine", "tiltak", "feed"}
    | {"fortsatt-aktuelt"}  # tiltak/fortsatt-aktuelt/<token>/: the freshness reminders' link
)
DOCUMENT_ACCEPT = ",".join(uploads.DOCUMENT_TYPES)
IMAGE_ACCEPT = ".png,.jpg,.jpeg,.webp,image/png,image/jpeg,image/webp"


def unique_slug(title: str, *, exclude_pk: int | None = None) -> str:
    """A slug for `title` that no other initiative and no URL word has."""
    taken = Initiative.objects.exclude(pk=exclude_pk) if exclude_pk else Initiative.objects.all()
    return slugs.unique_slug(title, taken, fallback="tiltak", reserved=RESERVED_SLUGS)


class QuietFormMixin:
    """A bound form that can show what was typed without any errors.

    Adding a partner row re-shows the whole form without JavaScript; complaining
    then about a missing summary would answer a question nobody asked.
    """

    def __init__(self, *args, quiet: bool = False, **kwargs) -> None:
        self.quiet = quiet
        super().__init__(*args, **kwargs)

    def full_clean(self) -> None:
        if self.quiet:
            self._errors = ErrorDict()
            self.cleaned_data = {}
            return
        super().full_clean()

    @property
    def chosen_files(self) -> dict[str, str]:
        """Field name -> name of the file chosen in this post. Browsers cannot fill a file
        input again, so when the page comes back the person is asked to choose it again."""
        if not self.is_bound:
            return {}
        return {
            name: self.files[self.add_prefix(name)].name
            for name, field in self.fields.items()
            if isinstance(field, forms.FileField) and self.add_prefix(name) in self.files
        }


class PreloadedChoiceField(forms.ModelChoiceField):
    """A model choice over objects read once by the view.

    Every row of a formset shares the list: rendering and checking twenty rows
    read the database once, not twenty times. A posted id not in the list is
    refused like any invalid choice (a forged organisation id).
    """

    def __init__(self, **kwargs) -> None:
        self.objects: dict[str, object] = {}
        super().__init__(queryset=None, **kwargs)

    def __deepcopy__(self, memo):
        result = super().__deepcopy__(memo)
        result.objects = self.objects
        return result

    def set_objects(self, objects: Iterable) -> None:
        self.objects = {str(obj.pk): obj for obj in objects}
        self.widget.choices = self.choices

    def _get_choices(self) -> list:
        empty = [("", self.empty_label)] if self.empty_label is not None else []
        return empty + [
            (ModelChoiceIteratorValue(pk, obj), self.label_from_instance(obj))
            for pk, obj in self.objects.items()
        ]

    choices = property(_get_choices, forms.ChoiceField.choices.fset)

    def to_python(self, value):
        if value in self.empty_values:
            return None
        if hasattr(value, "pk"):
            value = value.pk
        try:
            return self.objects[str(value)]
        except KeyError:
            raise ValidationError(
                self.error_messages["invalid_choice"], code="invalid_choice"
            ) from None


class RowIdField(PreloadedChoiceField):
    """The hidden id of a formset row: one of the rows read for the formset."""

    def label_from_instance(self, obj) -> str:
        return str(obj.pk)  # never shown; str(obj) might read related rows


class InitiativeForm(QuietFormMixin, DesignsystemetMixin, forms.ModelForm):
    """The whole initiative on one page.

    A draft needs only a title and a lead organisation; with `submitting` the form asks
    for what a review needs (Initiative.REVIEW_NEEDS: summary, description, scope, a
    purpose, a goal). The lead organisation is one of `organisations` (the user's, read
    by the view).
    """

    SECTIONS = {
        "basics": [
            "lead_organisation",
            "language",
            "title",
            "summary",
            "description",
            "phase",
            "start_date",
            "end_date",
            "scope",
            "municipality",
            "county",
        ],
        "classification": [
            "purposes",
            "actor_types",
            "goals",
            "targets",
            "focus_areas",
            "involvement",
            "tags",
        ],
        "frame": [
            "frame_goals",
            "frame_roles",
            "frame_financing",
            "frame_expected_results",
            "frame_indicators",
            "frame_effect_shown",
        ],
        "results": ["results", "lessons", "transfer_value"],
        "contact": ["contact_name", "contact_role", "contact_email", "contact_phone"],
        "image": ["image", "remove_image", "image_alt"],
    }
    lead_organisation = PreloadedChoiceField(
        label=_("Lead organisation"),
        help_text=_("One of the organisations you are a member of. It owns the initiative."),
        error_messages={
            "required": _("Choose the organisation that leads the initiative."),
            "invalid_choice": _("Choose one of the organisations you are a member of."),
        },
    )
    tags = forms.CharField(
        label=_("Tags"),
        required=False,
        max_length=1000,
        help_text=_("Words people might search for, separated by commas."),
    )
    image = forms.FileField(
        label=_("Image"),
        required=False,
        widget=forms.FileInput(attrs={"accept": IMAGE_ACCEPT}),
        help_text=uploads.ACCEPTED_IMAGES,
    )
    remove_image = forms.BooleanField(label=_("Remove the image"), required=False)

    class Meta:
        model = Initiative
        field_classes = {
            name: IdChoicesField
            for name in ("purposes", "actor_types", "goals", "targets", "focus_areas")
        }
        fields = [
            "lead_organisation",
            "language",
            "title",
            "summary",
            "description",
            "phase",
            "start_date",
            "end_date",
            "scope",
            "municipality",
            "county",
            "purposes",
            "actor_types",
            "goals",
            "targets",
            "focus_areas",
            "involvement",
            "frame_goals",
            "frame_roles",
            "frame_financing",
            "frame_expected_results",
            "frame_indicators",
            "frame_effect_shown",
            "results",
            "lessons",
            "transfer_value",
            "contact_name",
            "contact_role",
            "contact_email",
            "contact_phone",
            "image",
            "image_alt",
        ]
        widgets = {
            "summary": forms.Textarea(attrs={"rows": 3}),
            "description": forms.Textarea(attrs={"rows": 10}),
            "start_date": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "end_date": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "purposes": forms.CheckboxSelectMultiple,
            "actor_types": forms.CheckboxSelectMultiple,
            "goals": forms.CheckboxSelectMultiple,
            "targets": forms.CheckboxSelectMultiple,
            "focus_areas": forms.CheckboxSelectMultiple,
            "involvement": forms.RadioSelect,
            "frame_goals": forms.Textarea(attrs={"rows": 3}),
            "frame_roles": forms.Textarea(attrs={"rows": 3}),
            "frame_financing": forms.Textarea(attrs={"rows": 3}),
            "frame_expected_results": forms.Textarea(attrs={"rows": 3}),
            "frame_indicators": forms.Textarea(attrs={"rows": 3}),
            "frame_effect_shown": forms.Textarea(attrs={"rows": 3}),
            "results": forms.Textarea(attrs={"rows": 5}),
            "lessons": forms.Textarea(attrs={"rows": 5}),
            "transfer_value": forms.Textarea(attrs={"rows": 5}),
            "contact_email": forms.EmailInput(attrs={"autocomplete": "off"}),
            "contact_phone": forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "off"}),
        }
        help_texts = {
            "title": _("Short and concrete, such as “Weighing food waste in kindergartens”."),
            "description": _("What you do, why, for whom and how."),
            "scope": _("A local initiative names a municipality, a regional one a county."),
            "municipality": _("For a local initiative."),
            "county": _("For a regional initiative."),
            "purposes": _("What the collaboration is for. Choose at least one to submit."),
            "targets": _("Open a goal to choose its targets (optional)."),
            "contact_email": _("Shown to signed-in users only."),
            "contact_phone": _("Shown to signed-in users only."),
        }
        error_messages = {
            "title": {
                "required": _("Write a title."),
                "max_length": _(
                    "The title can be at most %(limit_value)d characters (it has %(show_value)d)."
                ),
            },
            "summary": {
                "max_length": _(
                    "The summary can be at most %(limit_value)d characters (it has %(show_value)d)."
                ),
            },
            "contact_email": {"invalid": _("Write an e-mail address such as name@example.no.")},
        }

    def __init__(
        self,
        *args,
        organisations: Iterable[Organisation] = (),
        submitting: bool = False,
        tag_suggestions: Iterable[str] = (),
        **kwargs,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.submitting = submitting
        organisations = list(organisations)
        lead = self.fields["lead_organisation"]
        lead.empty_label = None if len(organisations) == 1 else _("Choose the lead organisation")
        lead.set_objects(organisations)
        if len(organisations) == 1 and not self.instance.lead_organisation_id:
            self.initial["lead_organisation"] = organisations[0].pk

        fields = self.fields
        fields["phase"].required = False
        # The select always sends a choice; a post without one keeps the model's (nb).
        fields["language"].required = False
        # What review needs is the model's list (Initiative.review_gaps), asked for here
        # when the person submits, in the same words.
        for name, message in Initiative.REVIEW_NEEDS.items():
            fields[name].required = submitting
            fields[name].error_messages["required"] = message
        # The model's text columns have no limit; the form keeps them to what a person writes.
        for name in ("description", *self.SECTIONS["frame"], *self.SECTIONS["results"]):
            limit = LONG_TEXT if name == "description" else TEXT
            fields[name].max_length = limit
            fields[name].validators.append(MaxLengthValidator(limit))
            fields[name].widget.attrs["maxlength"] = str(limit)

        # A new initiative has not chosen its reach yet: a blank choice says so.
        fields["scope"].choices = [("", _("Choose the scope")), *Scope.choices]
        if not self.instance.pk:
            self.initial["scope"] = ""  # not the model's default: the person has not chosen
        fields["municipality"].queryset = Municipality.objects.only("pk", "name")
        fields["municipality"].empty_label = _("No municipality")
        fields["county"].queryset = County.objects.only("pk", "name")
        fields["county"].empty_label = _("No county")
        fields["purposes"].queryset = Purpose.objects.all()
        fields["actor_types"].queryset = ActorType.objects.all()
        fields["goals"].queryset = Goal.objects.all()
        fields["targets"].queryset = Target.objects.only(
            "pk", "goal_id", "code", "text_nb", "text_en"
        )
        fields["focus_areas"].queryset = FocusArea.objects.all()
        fields["involvement"].choices = [("", _("Not stated")), *Initiative.Involvement.choices]
        fields["contact_phone"].validators.append(
            RegexValidator(
                r"^[0-9 +()\-]*$",
                _("Write the phone number with digits, spaces and + only."),
                code="invalid_phone",
            )
        )
        tag_suggestions = list(tag_suggestions)
        if tag_suggestions:
            # Escaped here: the help text is shown as HTML, the tag names are people's words.
            fields["tags"].help_text = format_html(
                "{} {}",
                fields["tags"].help_text,
                _("Often used: %(tags)s.") % {"tags": ", ".join(tag_suggestions)},
            )
        if self.instance.pk and not self.is_bound:
            fields["tags"].initial = edit_string_for_tags(list(self.instance.tags.all()))

    # --- Field checks ---------------------------------------------------------

    def clean_title(self) -> str:
        title = " ".join(self.cleaned_data["title"].split())
        if not title:
            raise ValidationError(self.fields["title"].error_messages["required"], code="required")
        return title

    def clean_phase(self) -> str:
        # A browser always sends one (the select has no blank); a script may not.
        return self.cleaned_data["phase"] or Initiative.Phase.IDEA

    def clean_tags(self) -> list[str]:
        names = [name.strip() for name in parse_tags(self.cleaned_data["tags"]) if name.strip()]
        too_long = [name for name in names if len(name) > MAX_TAG_LENGTH]
        if too_long:
            raise ValidationError(
                _("A tag can be at most %(limit)d characters: “%(tag)s” is longer."),
                code="tag_too_long",
                params={"limit": MAX_TAG_LENGTH, "tag": too_long[0][:MAX_TAG_LENGTH] + "…"},
            )
        unique_names = list(dict.fromkeys(names))
        if len(unique_names) > MAX_TAGS:
            raise ValidationError(
                _("Use at most %(limit)d tags (there are %(count)d)."),
                code="too_many_tags",
                params={"limit": MAX_TAGS, "count": len(unique_names)},
            )
        return unique_names

    def clean_image(self):
        image = self.cleaned_data.get("image")
        if image and isinstance(image, UploadedFile):
            return uploads.clean_image(image)
        return image

    def clean(self) -> dict:
        data = super().clean()
        self._clean_place(data)
        start, end = data.get("start_date"), data.get("end_date")
        if start and end and end < start:
            self.add_error("end_date", _("The end date cannot be before the start date."))
        self._add_goals_of_targets(data)
        if data.get("remove_image") and not isinstance(data.get("image"), ContentFile):
            data["image"] = False  # the model field then forgets the file
        image = data.get("image")
        has_image = bool(image) if image is not None else bool(self.instance.image)
        if has_image and not data.get("image_alt") and "image_alt" not in self.errors:
            self.add_error(
                "image_alt",
                _("Describe what the image shows, for people who cannot see it."),
            )
        return data

    def _add_goals_of_targets(self, data: dict) -> None:
        """A target implies its goal: choosing 12.3 says the initiative works on goal 12."""
        targets = data.get("targets")
        if not targets:
            return
        goals = data.get("goals")
        if goals is None and self.has_error("goals", "required"):
            del self._errors["goals"]
            goals = []
        if goals is None:
            return
        chosen = {goal.pk for goal in goals}
        wanted = chosen | {target.goal_id for target in targets}
        if wanted != chosen:
            data["goals"] = Goal.objects.filter(pk__in=wanted)

    def _clean_place(self, data: dict) -> None:
        """Say in words what the database's place-matches-scope constraint requires."""
        scope = data.get("scope")
        municipality, county = data.get("municipality"), data.get("county")
        if "scope" in self.errors:
            return
        if not scope:
            # A draft that has not chosen yet: a place it names decides; without one the
            # scope stays blank, so the form does not later claim a choice nobody made.
            if municipality and county:
                self.add_error(
                    "county",
                    _("Choose either a municipality (local) or a county (regional), not both."),
                )
                return
            data["scope"] = Scope.LOCAL if municipality else Scope.REGIONAL if county else ""
            # Set it on the instance too: a blank value left out of the post would otherwise
            # leave the model's default (local) in place.
            self.instance.scope = data["scope"]
            return
        if scope == Scope.LOCAL:
            if not municipality:
                self.add_error("municipality", _("A local initiative needs a municipality."))
            if county:
                self.add_error(
                    "county",
                    _(
                        "A local initiative names its municipality, not a county: choose “No county”."
                    ),
                )
        elif scope == Scope.REGIONAL:
            if not county:
                self.add_error("county", _("A regional initiative needs a county."))
            if municipality:
                self.add_error(
                    "municipality",
                    _(
                        "A regional initiative names its county, not a municipality: choose “No municipality”."
                    ),
                )
        else:
            for name, place in (("municipality", municipality), ("county", county)):
                if place:
                    self.add_error(
                        name,
                        _(
                            "A national or Nordic initiative names no municipality or county: "
                            "choose the local or regional scope, or remove the place."
                        ),
                    )

    def _save_m2m(self) -> None:
        super()._save_m2m()
        self.instance.tags.set(self.cleaned_data["tags"])

    # --- For the template -------------------------------------------------------

    def goal_groups(self) -> list[tuple]:
        """(goal checkbox, its target checkboxes, whether to open) for each goal, from the
        fields' own options: read once, grouped without further queries."""
        targets_by_goal: dict[int, list] = {}
        for option in self["targets"].subwidgets:
            targets_by_goal.setdefault(option.data["value"].instance.goal_id, []).append(option)
        return [
            (
                option,
                targets_by_goal.get(option.data["value"].value, []),
                any(
                    target.data["selected"]
                    for target in targets_by_goal.get(option.data["value"].value, [])
                ),
            )
            for option in self["goals"].subwidgets
        ]

    def actor_type_groups(self) -> list[tuple]:
        """(stakeholder group label, its actor type checkboxes), groups in the order of the
        stakeholder map (ActorType.Group)."""
        groups: dict[str, list] = {group: [] for group in ActorType.Group.values}
        for option in self["actor_types"].subwidgets:
            groups[option.data["value"].instance.group].append(option)
        return [
            (ActorType.Group(group).label, options) for group, options in groups.items() if options
        ]

    def involvement_options(self) -> list[tuple]:
        """(radio, the OECD aim it stands for) for each involvement level."""
        return [
            (option, Initiative.INVOLVEMENT_AIMS.get(option.data["value"], ""))
            for option in self["involvement"].subwidgets
        ]


class RowsFormSet(BaseInlineFormSet):
    """Rows of an initiative (partners, links, attachments) that grow without JavaScript:
    a submit button asks for one more row and the page comes back with everything typed
    (`quiet`: without errors, as nothing was saved)."""

    def __init__(self, *args, add_row: bool = False, quiet: bool = False, **kwargs) -> None:
        self.quiet = quiet
        super().__init__(*args, **kwargs)
        if add_row and self.is_bound:
            management = ManagementForm(self.data, auto_id=self.auto_id, prefix=self.prefix)
            if management.is_valid():
                total = management.cleaned_data[TOTAL_FORM_COUNT]
                if total < self.max_num:
                    self.data = self.data.copy()
                    self.data[self.add_prefix(TOTAL_FORM_COUNT)] = str(total + 1)

    def full_clean(self) -> None:
        if self.quiet:
            self._errors = []
            self._non_form_errors = self.error_class(error_class="nonform", renderer=self.renderer)
            return
        super().full_clean()

    def add_fields(self, form, index) -> None:
        super().add_fields(form, index)
        # Django checks each row's hidden id with a query of its own, against every row of
        # the table; this checks it against this initiative's rows, read once.
        name = self._pk_field.name
        row_id = RowIdField(
            required=False, widget=form.fields[name].widget, initial=form.fields[name].initial
        )
        row_id.set_objects(self.get_queryset())
        form.fields[name] = row_id
        if "DELETE" in form.fields:
            form.fields["DELETE"].label = _("Remove this row")
            form.fields["DELETE"].widget.attrs["class"] = "ds-input"

    def get_form_kwargs(self, index):
        kwargs = super().get_form_kwargs(index)
        kwargs["quiet"] = self.quiet
        return kwargs

    @property
    def can_add_row(self) -> bool:
        return self.total_form_count() < self.max_num


class ParticipationForm(QuietFormMixin, DesignsystemetMixin, forms.ModelForm):
    organisation = PreloadedChoiceField(
        label=_("Organisation"),
        empty_label=_("Choose an organisation"),
        error_messages={
            "required": _("Choose the partner organisation."),
            "invalid_choice": _("Choose one of the registered organisations in the list."),
        },
    )

    class Meta:
        model = Participation
        fields = ["organisation", "role"]

    def __init__(self, *args, organisations: Iterable[Organisation] = (), **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["organisation"].set_objects(organisations)

    def _get_validation_exclusions(self) -> set[str]:
        # Already checked against the list read once; the model's own check would ask the
        # database again for every row.
        return {*super()._get_validation_exclusions(), "organisation"}


class PartnerRows(RowsFormSet):
    lead_organisation = None  # set by the view once the main form is checked

    def clean(self) -> None:
        super().clean()
        seen = set()
        for form in self.forms:
            if not form.has_changed() or self._should_delete_form(form):
                continue
            organisation = form.cleaned_data.get("organisation")
            if organisation is None:
                continue
            if self.lead_organisation is not None and organisation.pk == self.lead_organisation.pk:
                form.add_error(
                    "organisation",
                    _("%(name)s leads the initiative; it need not be a partner too.")
                    % {"name": organisation.name},
                )
            elif organisation.pk in seen:
                form.add_error(
                    "organisation",
                    _("%(name)s is already a partner above.") % {"name": organisation.name},
                )
            seen.add(organisation.pk)


class WebAddressField(forms.URLField):
    """A web page's address: http or https only (no javascript:, ftp: or file:)."""

    default_validators = [URLValidator(schemes=["http", "https"])]


class LinkForm(QuietFormMixin, DesignsystemetMixin, forms.ModelForm):
    url = WebAddressField(
        label=_("Address"),
        max_length=500,
        assume_scheme="https",
        error_messages={
            "invalid": _("Write a web address starting with https:// or http://."),
        },
    )

    class Meta:
        model = InitiativeLink
        fields = ["title", "url"]
        labels = {"title": _("Link text")}
        error_messages = {"title": {"required": _("Write what the link leads to.")}}


class LinkRows(RowsFormSet):
    def save(self, commit: bool = True) -> list:
        saved = super().save(commit=commit)
        if commit:
            # The order of the rows on the page is the order on the initiative.
            kept = [form.instance for form in self.forms if form.instance.pk]
            for position, link in enumerate(kept):
                if link.position != position:
                    InitiativeLink.objects.filter(pk=link.pk).update(position=position)
                    link.position = position
        return saved


class AttachmentForm(QuietFormMixin, DesignsystemetMixin, forms.ModelForm):
    class Meta:
        model = Attachment
        fields = ["title", "file"]
        widgets = {"file": forms.FileInput(attrs={"accept": DOCUMENT_ACCEPT})}
        help_texts = {"file": uploads.ACCEPTED_DOCUMENTS}
        error_messages = {
            "title": {"required": _("Write a title for the document.")},
            "file": {"required": _("Choose a document to upload.")},
        }

    def clean_file(self):
        uploaded = self.cleaned_data.get("file")
        if isinstance(uploaded, UploadedFile):
            uploads.validate_document(uploaded)
        return uploaded


PartnerFormSet = inlineformset_factory(
    Initiative,
    Participation,
    form=ParticipationForm,
    formset=PartnerRows,
    extra=1,
    max_num=MAX_PARTNERS,
    absolute_max=MAX_PARTNERS,  # a forged row count builds no more rows than this
    validate_max=True,
    can_delete=True,
)
LinkFormSet = inlineformset_factory(
    Initiative,
    InitiativeLink,
    form=LinkForm,
    formset=LinkRows,
    extra=1,
    max_num=MAX_LINKS,
    absolute_max=MAX_LINKS,  # a forged row count builds no more rows than this
    validate_max=True,
    can_delete=True,
)
AttachmentFormSet = inlineformset_factory(
    Initiative,
    Attachment,
    form=AttachmentForm,
    formset=RowsFormSet,
    extra=1,
    max_num=MAX_ATTACHMENTS,
    absolute_max=MAX_ATTACHMENTS,  # a forged row count builds no more rows than this
    validate_max=True,
    can_delete=True,
)


class FormActionForm(forms.Form):
    """Which of the form's submit buttons was pressed."""

    SAVE = "save"
    PREVIEW = "preview"
    SUBMIT = "submit"
    ADD_PARTNER = "add-partner"
    ADD_LINK = "add-link"
    ADD_ATTACHMENT = "add-attachment"
    ADD_ROW = {ADD_PARTNER: "partners", ADD_LINK: "links", ADD_ATTACHMENT: "attachments"}

    action = forms.ChoiceField(
        required=False,
        choices=[
            (value, value)
            for value in (SAVE, PREVIEW, SUBMIT, ADD_PARTNER, ADD_LINK, ADD_ATTACHMENT)
        ],
    )

    @property
    def value(self) -> str:
        """The button pressed; saving a draft when unknown (Enter in a text field)."""
        if self.is_valid() and self.cleaned_data["action"]:
            return self.cleaned_data["action"]
        return self.SAVE


class SimilarForm(forms.Form):
    """The title and summary being written, for the list of similar initiatives."""

    title = forms.CharField(required=False, max_length=200)
    summary = forms.CharField(required=False, max_length=500)


class CampaignAnswerForm(forms.Form):
    """The campaign a new or edited initiative answers: `?campaign=<slug>` from an
    invitation, then a hidden field. Only an open campaign is taken; any other value is an
    error the page shows, and the initiative is saved without the link.

    Campaigns live in the networks app, which this one never imports: the model is
    reached through Initiative.campaigns, the reverse relation."""

    UNKNOWN = _(
        "There is no campaign at the address you followed. You can still share the "
        "initiative; it is just not linked to a campaign."
    )

    campaign = forms.CharField(
        required=False, max_length=220, error_messages={"max_length": UNKNOWN}
    )

    def clean_campaign(self):
        slug = self.cleaned_data["campaign"]
        if not slug:
            return None
        campaigns = Initiative._meta.get_field("campaigns").related_model.objects
        campaign = campaigns.filter(slug=slug).first()
        if campaign is None:
            raise ValidationError(self.UNKNOWN)
        if not campaign.is_open:
            raise ValidationError(
                _(
                    "The campaign “%(title)s” closed on %(deadline)s, so the initiative is not "
                    "linked to it. You are still welcome to share it."
                ),
                params={"title": campaign.title, "deadline": date_format(campaign.deadline)},
            )
        return campaign


# --- Organisations, adoption and contact -----------------------------------------


class OrganisationSearchForm(DesignsystemetMixin, forms.Form):
    """Narrows the join page's list of organisations by name (a GET form, no JavaScript)."""

    q = forms.CharField(label=_("Search by name"), max_length=100, required=False)


class OrganisationJoinForm(DesignsystemetMixin, forms.Form):
    organisation = forms.ModelChoiceField(
        label=_("Organisation"),
        queryset=Organisation.objects.none(),
        empty_label=_("Choose an organisation"),
        error_messages={
            "required": _("Choose the organisation you want to join."),
            "invalid_choice": _("Choose one of the organisations in the list."),
        },
    )

    def __init__(self, *args, search: str = "", **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # Only approved organisations can be joined; a proposed one waits for a moderator.
        queryset = Organisation.objects.approved().order_by("name").only("pk", "name")
        if search and not self.is_bound:
            # The search only narrows what is offered; a posted choice is checked against all.
            queryset = queryset.filter(name__icontains=search)
        self.fields["organisation"].queryset = queryset


class OrganisationProposeForm(DesignsystemetMixin, forms.ModelForm):
    # Wider than the nine digits so that "974 760 673" can be typed; spaces are removed.
    organisation_number = forms.CharField(
        label=_("Organisation number"),
        max_length=20,
        required=False,
        help_text=_("Nine digits, from the Brønnøysund Register Centre. Optional."),
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )
    website = forms.URLField(
        label=_("Website"), max_length=200, required=False, assume_scheme="https"
    )
    description = forms.CharField(
        label=_("Description"),
        max_length=3000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_("What the organisation does, in a few sentences."),
    )

    class Meta:
        model = Organisation
        fields = [
            "name",
            "organisation_number",
            "actor_type",
            "municipality",
            "website",
            "description",
        ]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # The registered organisation that has the number typed, if any: the page offers to join it.
        self.existing_organisation: Organisation | None = None
        self.fields["actor_type"].queryset = ActorType.objects.all()
        self.fields["actor_type"].empty_label = _("Choose an actor type")
        self.fields["municipality"].queryset = Municipality.objects.order_by("name")
        self.fields["municipality"].empty_label = _("None (national or regional)")

    def clean_name(self) -> str:
        name = " ".join(self.cleaned_data["name"].split())
        if not name:
            raise ValidationError(_("Write the organisation's name."), code="required")
        return name

    def clean_organisation_number(self) -> str:
        number = "".join(self.cleaned_data["organisation_number"].split())
        if not number:
            return ""
        validate_organisation_number(number)
        existing = Organisation.objects.filter(organisation_number=number).first()
        if existing is not None:
            self.existing_organisation = existing
            if existing.is_approved:
                raise ValidationError(
                    _(
                        "%(name)s is already registered with this organisation number. "
                        "Ask to join it instead."
                    ),
                    code="registered",
                    params={"name": existing.name},
                )
            raise ValidationError(
                _(
                    "An organisation with this number has already been proposed and awaits a "
                    "moderator. You can ask to join it once it is approved."
                ),
                code="proposed",
            )
        return number


class AdoptionForm(DesignsystemetMixin, forms.ModelForm):
    """Report that one of the user's organisations has taken an initiative up."""

    class Meta:
        model = Adoption
        fields = ["organisation", "note"]
        widgets = {"note": forms.Textarea(attrs={"rows": 4})}
        error_messages = {
            "organisation": {
                "required": _("Choose which of your organisations took this up."),
                "invalid_choice": _(
                    "Choose one of your organisations that has not already reported taking this up."
                ),
            },
            "note": {
                "max_length": _(
                    "The note can be at most %(limit_value)d characters (it has %(show_value)d)."
                ),
            },
        }

    def __init__(self, *args, organisations: QuerySet, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # The view decides which organisations may adopt: the user's own, not yet adopted.
        self.fields["organisation"].queryset = organisations
        self.fields["organisation"].empty_label = None
        self.fields["organisation"].label = _("Your organisation")


class AdoptionNoteForm(DesignsystemetMixin, forms.ModelForm):
    """Edit an adoption's note; the organisation stays as reported."""

    class Meta:
        model = Adoption
        fields = ["note"]
        widgets = {"note": forms.Textarea(attrs={"rows": 4})}
        error_messages = AdoptionForm.Meta.error_messages


class ContactForm(DesignsystemetMixin, forms.Form):
    """A message to an initiative's contact person, whose address the sender never sees."""

    name = forms.CharField(label=_("Your name"), max_length=150)
    email = forms.EmailField(
        label=_("Your e-mail address"),
        max_length=254,
        help_text=_("The contact person replies to this address."),
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    message = forms.CharField(
        label=_("Message"),
        max_length=3000,
        widget=forms.Textarea(attrs={"rows": 8}),
    )
    # A trap for robots: hidden from people (CSS and aria-hidden), out of the tab order;
    # anything written in it means a machine filled the form.
    homepage = forms.CharField(
        label=_("Leave this field empty"),
        required=False,
        max_length=200,
        widget=forms.TextInput(attrs={"tabindex": "-1", "autocomplete": "off"}),
    )

    def clean_name(self) -> str:
        # One line: the name is quoted in the e-mail.
        return " ".join(self.cleaned_data["name"].split())

    @property
    def is_trap(self) -> bool:
        return bool(self.cleaned_data.get("homepage"))


# --- Progress reports and adoption feedback (initiatives/reports.py) ---------------------

MAX_INDICATORS = 30
EMPTY_INDICATOR_ROWS = 3  # a few to fill in, without JavaScript
TOO_LONG = _("This can be at most %(limit_value)d characters (it has %(show_value)d).")


class ProgressReportForm(DesignsystemetMixin, forms.ModelForm):
    """A dated report on a published initiative, and the version it was loaded from: a save
    over a report changed since is refused (initiatives.reports.report_edit)."""

    loaded = forms.CharField(required=False, max_length=40, widget=forms.HiddenInput)

    class Meta:
        model = ProgressReport
        fields = ["reported_on", "status", "phase", "done", "results", "lessons", "language"]
        widgets = {
            "reported_on": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "status": forms.RadioSelect,
            "done": forms.Textarea(attrs={"rows": 6}),
            "results": forms.Textarea(attrs={"rows": 4}),
            "lessons": forms.Textarea(attrs={"rows": 4}),
        }
        labels = {"language": _("Language of the report")}
        help_texts = {
            "phase": _(
                "Where the initiative is now. The initiative's phase follows the newest report."
            ),
            "language": _("The language the report is written in."),
        }
        error_messages = {
            "reported_on": {
                "required": _("Give the date of the report."),
                "invalid": _("Write the date as day, month and year, for example 3.3.2026."),
            },
            "status": {"required": _("Choose how the initiative is going.")},
            "phase": {"required": _("Choose the phase the initiative is in now.")},
            "done": {"required": _("Write what was done."), "max_length": TOO_LONG},
            "results": {"max_length": TOO_LONG},
            "lessons": {"max_length": TOO_LONG},
        }

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # A radio list has no empty choice to offer.
        self.fields["status"].choices = ProgressReport.Status.choices

    def clean_reported_on(self):
        reported_on = self.cleaned_data["reported_on"]
        if reported_on > timezone.localdate():
            raise ValidationError(_("A report cannot be dated in the future."))
        return reported_on


ROW_FIELDS = ("indicator", "value", "unit", "note")


class FigureField(forms.DecimalField):
    """A number as people type it in either language: "12,5", "12.5", "1 200,5" or
    "1,200.5" (the last of a comma and a point is the decimal mark)."""

    def to_python(self, value):
        if isinstance(value, str):
            value = "".join(value.split())  # spaces, also no-break and thin ones
            if "," in value and "." in value:
                decimal_mark = "," if value.rindex(",") > value.rindex(".") else "."
                value = value.replace("." if decimal_mark == "," else ",", "")
            value = value.replace(",", ".")
        return super().to_python(value)


class IndicatorResultForm(QuietFormMixin, DesignsystemetMixin, forms.ModelForm):
    value = FigureField(
        label=_("Figure"),
        required=False,
        max_digits=14,
        decimal_places=2,
        localize=True,
        widget=forms.TextInput(attrs={"inputmode": "decimal"}),
        error_messages={
            "invalid": _("Write a number, for example 12 or 12,5."),
            "max_digits": _("The number is too large."),
            "max_decimal_places": _("Write the number with at most two decimals."),
            "max_whole_digits": _("The number is too large."),
        },
    )

    class Meta:
        model = IndicatorResult
        fields = ROW_FIELDS
        error_messages = {
            "indicator": {"max_length": TOO_LONG},
            "unit": {"max_length": TOO_LONG},
            "note": {"max_length": TOO_LONG},
        }

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # A row left empty is left out (IndicatorRows); one with a figure needs its name.
        self.fields["indicator"].required = False

    @property
    def is_empty(self) -> bool:
        data = getattr(self, "cleaned_data", {})
        return not any(data.get(name) not in (None, "") for name in ROW_FIELDS)

    def clean(self) -> dict:
        data = super().clean()
        if "indicator" not in self.errors and not data.get("indicator") and not self.is_empty:
            self.add_error("indicator", _("Name the indicator this figure is for."))
        return data


class IndicatorRows(RowsFormSet):
    """A report's indicator figures: its rows, the suggested indicators (`initial`) and a
    few empty rows. A suggested row left as it was, or a row emptied, is not saved (an
    emptied saved row is deleted)."""

    def __init__(self, *args, initial: list[dict] | None = None, **kwargs) -> None:
        super().__init__(*args, initial=initial, **kwargs)
        self.extra = min(len(initial or []) + EMPTY_INDICATOR_ROWS, MAX_INDICATORS)

    def _should_delete_form(self, form) -> bool:
        return super()._should_delete_form(form) or (form.is_valid() and form.is_empty)


IndicatorFormSet = inlineformset_factory(
    ProgressReport,
    IndicatorResult,
    form=IndicatorResultForm,
    formset=IndicatorRows,
    extra=EMPTY_INDICATOR_ROWS,
    max_num=MAX_INDICATORS,
    absolute_max=MAX_INDICATORS,  # a forged row count builds no more rows than this
    validate_max=True,
    can_delete=True,
    can_delete_extra=False,
)


class AdoptionFeedbackForm(DesignsystemetMixin, forms.ModelForm):
    """How it went for an organisation that took an initiative up."""

    class Meta:
        model = Adoption
        fields = ["outcome", "effect", "note"]
        widgets = {
            "outcome": forms.RadioSelect,
            "effect": forms.Textarea(attrs={"rows": 4}),
            "note": forms.Textarea(attrs={"rows": 4}),
        }
        labels = {"outcome": _("Did it work for you?"), "effect": _("Effect")}
        help_texts = {
            "effect": _("What changed for you, with figures if you have them."),
        }
        error_messages = {
            "outcome": {"required": _("Choose how it went.")},
            "effect": {"max_length": TOO_LONG},
            "note": {"max_length": TOO_LONG},
        }

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["outcome"].required = True
        # A radio list has no empty choice to offer.
        self.fields["outcome"].choices = Adoption.Outcome.choices
