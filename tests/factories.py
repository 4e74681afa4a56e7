"""Small factory functions: each makes one valid object, overrides win."""

import itertools
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.utils import timezone

from initiatives import engine
from initiatives.models import (
    MODERATORS_GROUP,
    ActorType,
    Adoption,
    Attachment,
    FocusArea,
    Goal,
    Initiative,
    InitiativeLink,
    Municipality,
    Organisation,
    OrganisationMember,
    Participation,
    Purpose,
)
from networks.models import (
    Campaign,
    Event,
    EventRegistration,
    Membership,
    Network,
    Presentation,
    WorkingGroup,
    WorkingGroupMember,
)

_counter = itertools.count(1)


def unique(prefix: str) -> str:
    return f"{prefix}-{next(_counter)}"


def make_user(**overrides):
    username = overrides.pop("username", unique("user"))
    defaults = {"email": f"{username}@example.org"}
    password = overrides.pop("password", "correct horse battery staple")
    user = get_user_model().objects.create_user(
        username=username, password=password, **{**defaults, **overrides}
    )
    return user


def make_moderator(**overrides):
    user = make_user(is_staff=True, **overrides)
    user.groups.add(Group.objects.get(name=MODERATORS_GROUP))
    return user


def make_actor_type(**overrides) -> ActorType:
    slug = overrides.pop("slug", unique("actor"))
    defaults = {
        "name_nb": f"Aktør {slug}",
        "name_en": f"Actor {slug}",
        "group": ActorType.Group.SOCIETY,
    }
    return ActorType.objects.create(slug=slug, **{**defaults, **overrides})


def make_organisation(**overrides) -> Organisation:
    slug = overrides.pop("slug", unique("org"))
    defaults = {"name": f"Organisasjon {slug}"}
    if "actor_type" not in overrides:
        defaults["actor_type"] = ActorType.objects.order_by("pk").first() or make_actor_type()
    return Organisation.objects.create(slug=slug, **{**defaults, **overrides})


def make_initiative(**overrides) -> Initiative:
    """A draft initiative; pass status=... to place it directly (for test set-up only)."""
    slug = overrides.pop("slug", unique("initiative"))
    status = overrides.pop("status", Initiative.Status.DRAFT)
    defaults = {
        "title": f"Tiltak {slug}",
        "summary": "Et kort sammendrag.",
        "description": "En lengre beskrivelse.",
        "scope": Initiative._meta.get_field("scope").default,
    }
    if "lead_organisation" not in overrides:
        defaults["lead_organisation"] = make_organisation()
    if "municipality" not in overrides and overrides.get("scope", defaults["scope"]) == "local":
        defaults["municipality"] = Municipality.objects.order_by("number").first()
    initiative = Initiative.objects.create(slug=slug, **{**defaults, **overrides})
    if status != Initiative.Status.DRAFT:
        # Set-up shortcut: tests of the moves themselves start from here.
        fields = {"status": status}
        if status == Initiative.Status.REJECTED:
            fields["rejection_reason"] = "Mangler beskrivelse."
        if status == Initiative.Status.PUBLISHED:
            fields["published_at"] = timezone.now()
        Initiative.objects.filter(pk=initiative.pk).update(**fields)
        # update() sends no signal: log the change the facet engine reads, as a save would.
        engine.initiatives_changed([initiative.pk])
        initiative.refresh_from_db()
    return initiative


def make_complete_initiative(**overrides) -> Initiative:
    """A draft with everything review needs (Initiative.review_gaps): a purpose and a goal
    besides make_initiative's summary, description and place, so submit() accepts it."""
    initiative = make_initiative(**overrides)
    initiative.purposes.add(Purpose.objects.order_by("pk").first() or make_purpose())
    initiative.goals.add(Goal.objects.order_by("number").first())
    return initiative


def make_participation(**overrides) -> Participation:
    defaults = {}
    if "initiative" not in overrides:
        defaults["initiative"] = make_initiative()
    if "organisation" not in overrides:
        defaults["organisation"] = make_organisation()
    return Participation.objects.create(**{**defaults, **overrides})


def make_link(**overrides) -> InitiativeLink:
    defaults = {"title": "Nettside", "url": "https://example.org/"}
    if "initiative" not in overrides:
        defaults["initiative"] = make_initiative()
    return InitiativeLink.objects.create(**{**defaults, **overrides})


def make_attachment(**overrides) -> Attachment:
    defaults = {"title": "Rapport", "file": "attachments/rapport.pdf"}
    if "initiative" not in overrides:
        defaults["initiative"] = make_initiative()
    return Attachment.objects.create(**{**defaults, **overrides})


def make_adoption(**overrides) -> Adoption:
    defaults = {"note": "Vi prøvde det i to barnehager."}
    if "initiative" not in overrides:
        defaults["initiative"] = make_initiative(status=Initiative.Status.PUBLISHED)
    if "organisation" not in overrides:
        defaults["organisation"] = make_organisation()
    return Adoption.objects.create(**{**defaults, **overrides})


def make_progress_report(**overrides):
    """A progress report on a published initiative, with one indicator figure."""
    from initiatives.models import IndicatorResult, ProgressReport

    defaults = {
        "phase": Initiative.Phase.RUNNING,
        "status": ProgressReport.Status.ON_TRACK,
        "done": "Vi veide matsvinnet i fire uker.",
    }
    if "initiative" not in overrides:
        defaults["initiative"] = make_initiative(status=Initiative.Status.PUBLISHED)
    report = ProgressReport.objects.create(**{**defaults, **overrides})
    IndicatorResult.objects.create(report=report, indicator="Kilo matsvinn", value=12, unit="kg")
    return report


def make_org_member(**overrides) -> OrganisationMember:
    defaults = {}
    if "organisation" not in overrides:
        defaults["organisation"] = make_organisation()
    if "user" not in overrides:
        defaults["user"] = make_user()
    return OrganisationMember.objects.create(**{**defaults, **overrides})


def make_purpose(**overrides) -> Purpose:
    slug = overrides.pop("slug", unique("purpose"))
    return Purpose.objects.create(
        slug=slug, **{"name_nb": f"Formål {slug}", "name_en": f"Purpose {slug}", **overrides}
    )


def make_focus_area(**overrides) -> FocusArea:
    slug = overrides.pop("slug", unique("focus"))
    return FocusArea.objects.create(
        slug=slug, **{"name_nb": f"Tema {slug}", "name_en": f"Focus {slug}", **overrides}
    )


def make_network(**overrides) -> Network:
    slug = overrides.pop("slug", unique("network"))
    defaults = {"name": f"Nettverk {slug}", "scope": "national", "description": "Et nettverk."}
    return Network.objects.create(slug=slug, **{**defaults, **overrides})


def make_membership(**overrides) -> Membership:
    defaults = {"status": Membership.Status.ACTIVE}
    if "network" not in overrides:
        defaults["network"] = make_network()
    if "organisation" not in overrides:
        defaults["organisation"] = make_organisation()
    return Membership.objects.create(**{**defaults, **overrides})


def make_working_group(**overrides) -> WorkingGroup:
    slug = overrides.pop("slug", unique("group"))
    defaults = {"name": f"Arbeidsgruppe {slug}", "mandate": "Foreslå nye tiltak.", "year": 2026}
    if "host_network" not in overrides and "host_organisation" not in overrides:
        defaults["host_network"] = make_network()
    return WorkingGroup.objects.create(slug=slug, **{**defaults, **overrides})


def make_working_group_member(**overrides) -> WorkingGroupMember:
    defaults = {"name": unique("Kari Nordmann")}
    if "working_group" not in overrides:
        defaults["working_group"] = make_working_group()
    return WorkingGroupMember.objects.create(**{**defaults, **overrides})


def make_event(**overrides) -> Event:
    slug = overrides.pop("slug", unique("event"))
    starts_at = overrides.pop("starts_at", timezone.now() + timedelta(days=7))
    defaults = {
        "title": f"Arrangement {slug}",
        "kind": Event.Kind.WEBINAR,
        "starts_at": starts_at,
        "ends_at": starts_at + timedelta(hours=1),
    }
    if not any(key.startswith("organiser_") for key in overrides):
        defaults["organiser_organisation"] = make_organisation()
    return Event.objects.create(slug=slug, **{**defaults, **overrides})


def make_presentation(**overrides) -> Presentation:
    defaults = {"presenter": "Prosjektleder"}
    if "event" not in overrides:
        defaults["event"] = make_event()
    if "initiative" not in overrides:
        defaults["initiative"] = make_initiative(status=Initiative.Status.PUBLISHED)
    return Presentation.objects.create(**{**defaults, **overrides})


def make_registration(**overrides) -> EventRegistration:
    name = unique("deltaker")
    defaults = {"name": name, "email": f"{name}@example.org"}
    if "event" not in overrides:
        defaults["event"] = make_event(registration=Event.Registration.OPEN)
    return EventRegistration.objects.create(**{**defaults, **overrides})


def make_campaign(**overrides) -> Campaign:
    """A moderators' campaign (no network) with a deadline a month ahead, addressing nobody."""
    slug = overrides.pop("slug", unique("kampanje"))
    defaults = {
        "title": f"Kampanje {slug}",
        "text": "Del en suksesshistorie.",
        "deadline": timezone.localdate() + timedelta(days=30),
    }
    return Campaign.objects.create(slug=slug, **{**defaults, **overrides})


def goal(number: int) -> Goal:
    return Goal.objects.get(number=number)


def make_status_change(**overrides):
    """A history row as a move writes it; for tests that only need the row to exist."""
    from initiatives.models import InitiativeStatusChange

    defaults = {
        "from_status": Initiative.Status.DRAFT,
        "to_status": Initiative.Status.SUBMITTED,
    }
    if "initiative" not in overrides:
        defaults["initiative"] = make_initiative(status=Initiative.Status.SUBMITTED)
    return InitiativeStatusChange.objects.create(**{**defaults, **overrides})


def confirmed(user):
    """`user`, with their e-mail address confirmed: for users other factories make
    (make_moderator(), make_org_member().user)."""
    from ideabank.models import profile_for

    profile_for(user).confirm_email()
    return user


def make_confirmed_user(**overrides):
    """A user whose e-mail address is confirmed: they may submit initiatives for review."""
    from ideabank.models import profile_for

    user = make_user(**overrides)
    profile_for(user).confirm_email()
    return user


def make_comment(**overrides):
    """A comment by a new user on a new published initiative (unless on a network)."""
    from ideabank.models import Comment

    defaults = {"body": "Hvordan fikk dere med barnehagene?"}
    if "author" not in overrides:
        defaults["author"] = make_user()
    if "initiative" not in overrides and "network" not in overrides:
        defaults["initiative"] = make_initiative(status=Initiative.Status.PUBLISHED)
    return Comment.objects.create(**{**defaults, **overrides})


def make_comment_report(**overrides):
    """An open report on a comment (a new one unless given)."""
    from ideabank.models import CommentReport

    defaults = {"reason": "Dette er reklame."}
    if "comment" not in overrides:
        defaults["comment"] = make_comment()
    return CommentReport.objects.create(**{**defaults, **overrides})


def make_follow(**overrides):
    """A new user following a new published initiative (pass kind and target for others)."""
    from ideabank.models import Follow

    defaults = {"kind": Follow.Kind.INITIATIVE}
    if "user" not in overrides:
        defaults["user"] = make_user()
    kind = overrides.get("kind", Follow.Kind.INITIATIVE)
    if kind == Follow.Kind.INITIATIVE and "initiative" not in overrides:
        defaults["initiative"] = make_initiative(status=Initiative.Status.PUBLISHED)
    return Follow.objects.create(**{**defaults, **overrides})
