"""Who may do what: every mutating URL and every non-public object, for every role.

One table, one row per URL (and object), one expected outcome per role. A refused
request must also leave the database as it was (the fingerprint below), so a view
that answers 403 after saving is caught too. A last test checks that every named
URL of the site is either in the table or listed as a public read-only page, so a
new view cannot slip past this test.

Outcomes: a status code, or "login" (302 to the log-in page). "done" is a 302 that
is not to the log-in page: the request was accepted.
"""

import inspect
import re

import pytest
from django.contrib.admin.models import LogEntry
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from ideabank.models import Comment, CommentReport, Follow, OutgoingMail
from initiatives.models import (
    Adoption,
    Initiative,
    Organisation,
    OrganisationMember,
)
from networks.models import Event, EventRegistration, Membership
from tests.factories import (
    make_adoption,
    make_attachment,
    make_campaign,
    make_comment,
    make_complete_initiative,
    make_confirmed_user,
    make_event,
    make_follow,
    make_initiative,
    make_membership,
    make_moderator,
    make_network,
    make_org_member,
    make_organisation,
    make_progress_report,
    make_registration,
    make_user,
)

ROLES = (
    "anonymous",
    "outsider",
    "unconfirmed",
    "other_member",
    "member",
    "moderator",
    "superuser",
)
PASSWORD = "correct horse battery staple"


class World:
    """The objects every cell works on, and one user per role.

    Organisation A leads the initiatives; "member" administers A, "unconfirmed" is an
    active member of A who never confirmed their address (they must not act for A),
    "other_member" belongs to B, which adopted the published initiative.
    """

    def __init__(self) -> None:
        self.org_a = make_organisation(name="Organisasjon A", slug="org-a")
        self.org_b = make_organisation(name="Organisasjon B", slug="org-b")
        self.org_c = make_organisation(name="Organisasjon C", slug="org-c")
        self.users = {
            "anonymous": None,
            "outsider": make_confirmed_user(username="outsider"),
            "unconfirmed": make_user(username="unconfirmed"),
            "other_member": make_confirmed_user(username="other"),
            "member": make_confirmed_user(username="member"),
            "moderator": make_confirmed_user(username="moderator"),
            "superuser": make_confirmed_user(username="root", is_superuser=True, is_staff=True),
        }
        moderator = make_moderator(username="moderator-2")
        self.users["moderator"].groups.set(moderator.groups.all())
        self.users["moderator"].is_staff = True
        self.users["moderator"].save()
        for role, org, admin in (
            ("member", self.org_a, True),
            ("unconfirmed", self.org_a, False),
            ("other_member", self.org_b, True),
        ):
            make_org_member(
                organisation=org,
                user=self.users[role],
                role=OrganisationMember.Role.ADMIN if admin else OrganisationMember.Role.MEMBER,
                status=OrganisationMember.Status.ACTIVE,
            )
        author = self.users["member"]
        # Complete, so that submitting it is refused only for who asks, never for a gap.
        self.draft = make_complete_initiative(
            slug="utkast", lead_organisation=self.org_a, created_by=author
        )
        self.submitted = make_initiative(
            slug="innsendt",
            lead_organisation=self.org_a,
            created_by=author,
            status=Initiative.Status.SUBMITTED,
        )
        self.rejected = make_initiative(
            slug="avvist",
            lead_organisation=self.org_a,
            created_by=author,
            status=Initiative.Status.REJECTED,
        )
        self.archived = make_initiative(
            slug="arkivert",
            lead_organisation=self.org_a,
            created_by=author,
            status=Initiative.Status.ARCHIVED,
        )
        self.published = make_initiative(
            slug="publisert",
            lead_organisation=self.org_a,
            created_by=author,
            status=Initiative.Status.PUBLISHED,
            contact_email="kontakt@org-a.example",
        )
        self.draft_attachment = make_attachment(
            initiative=self.draft,
            file=default_storage.save("attachments/rapport.pdf", ContentFile(b"%PDF-1.4\n")),
        )
        self.adoption = make_adoption(initiative=self.published, organisation=self.org_b)
        # Someone outside asks to join A; C asks to join a network A coordinates.
        self.join_request = make_org_member(
            organisation=self.org_a,
            user=make_confirmed_user(username="asker"),
            status=OrganisationMember.Status.REQUESTED,
        )
        self.network = make_network(slug="nettverk", coordinator=self.org_a)
        self.network_request = make_membership(
            network=self.network, organisation=self.org_c, status=Membership.Status.REQUESTED
        )
        self.open_network = make_network(slug="apent-nettverk")
        self.event = make_event(slug="webinar", registration=Event.Registration.OPEN)
        self.report = make_progress_report(initiative=self.published, written_by=author)
        self.campaign = make_campaign(slug="kampanje", network=self.network)
        self.registration = make_registration(event=self.event)
        # Issue 15: a comment by the member (A's administrator), a question by the outsider
        # with a reply from the other member, and what the outsider follows.
        self.comment = make_comment(initiative=self.published, author=author, body="Fra A")
        self.question = make_comment(
            initiative=self.published,
            author=self.users["outsider"],
            kind=Comment.Kind.QUESTION,
            body="Hvordan?",
        )
        self.reply = make_comment(
            initiative=self.published,
            parent=self.question,
            author=self.users["other_member"],
            body="Slik.",
        )
        self.follow = make_follow(user=self.users["outsider"], initiative=self.published)

    def login(self, client, role: str) -> None:
        if self.users[role] is not None:
            client.force_login(self.users[role])


def fingerprint() -> tuple:
    """What a refused request must not change."""
    return (
        list(Initiative.objects.order_by("pk").values_list("pk", "status", "updated", "title")),
        list(OrganisationMember.objects.order_by("pk").values_list("pk", "status", "role")),
        list(Organisation.objects.order_by("pk").values_list("pk", "status", "name")),
        list(Membership.objects.order_by("pk").values_list("pk", "status")),
        list(Adoption.objects.order_by("pk").values_list("pk", "note")),
        list(EventRegistration.objects.order_by("pk").values_list("pk", "status")),
        OutgoingMail.objects.count(),
        LogEntry.objects.count(),
        list(
            Comment.objects.order_by("pk").values_list(
                "pk", "body", "kind", "edited_at", "deleted_at", "answer_marked_at", "hidden_at"
            )
        ),
        CommentReport.objects.count(),
        list(Follow.objects.order_by("pk").values_list("pk", "user", "kind")),
    )


# (name, method, path(world), data(world), expected per role in ROLES order)
# Data is what a person allowed to act would send, so "done" shows the act went through.
CELLS = [
    # --- Non-public initiatives: the public page is for the published only; the
    # organisation reads its own through the preview, moderators what was sent to them ---
    (
        "draft page",
        "get",
        lambda w: w.draft.get_absolute_url(),
        None,
        "404 404 404 404 404 404 404",
    ),
    (
        "submitted page",
        "get",
        lambda w: w.submitted.get_absolute_url(),
        None,
        "404 404 404 404 404 404 404",
    ),
    (
        "archived page",
        "get",
        lambda w: w.archived.get_absolute_url(),
        None,
        "404 404 404 404 404 404 404",
    ),
    (
        "preview submitted",
        "get",
        lambda w: reverse("initiatives:preview", args=[w.submitted.slug]),
        None,
        "login 404 403 404 200 200 200",
    ),
    (
        "preview rejected",
        "get",
        lambda w: reverse("initiatives:preview", args=[w.rejected.slug]),
        None,
        "login 404 403 404 200 200 200",
    ),
    (
        "preview archived",
        "get",
        lambda w: reverse("initiatives:preview", args=[w.archived.slug]),
        None,
        "login 404 403 404 200 200 200",
    ),
    (
        "draft attachment",
        "get",
        lambda w: reverse("initiatives:attachment", args=[w.draft.slug, w.draft_attachment.pk]),
        None,
        "login 404 200 404 200 200 200",
    ),
    # --- Sharing: edit, preview, submit, withdraw ---
    # Without an organisation the form sends people to join one first ("done").
    (
        "create form",
        "get",
        lambda w: reverse("initiatives:create"),
        None,
        "login done 403 200 200 done done",
    ),
    (
        "edit draft",
        "get",
        lambda w: reverse("initiatives:edit", args=[w.draft.slug]),
        None,
        "login 404 403 404 200 403 403",
    ),
    (
        "edit published",
        "get",
        lambda w: reverse("initiatives:edit", args=[w.published.slug]),
        None,
        "login 403 403 403 200 403 403",
    ),
    (
        "preview draft",
        "get",
        lambda w: reverse("initiatives:preview", args=[w.draft.slug]),
        None,
        "login 404 403 404 200 403 403",
    ),
    (
        "submit draft",
        "post",
        lambda w: reverse("initiatives:submit", args=[w.draft.slug]),
        lambda w: {},
        "login 404 403 404 done 403 403",
    ),
    (
        "withdraw submitted",
        "post",
        lambda w: reverse("initiatives:withdraw", args=[w.submitted.slug]),
        lambda w: {},
        "login 404 403 404 done 403 403",
    ),
    # --- Organisations ---
    (
        "ask to join A",
        "post",
        lambda w: reverse("initiatives:organisation_join"),
        lambda w: {"organisation": w.org_a.pk},
        "login done 403 done done done done",
    ),
    (
        "propose organisation",
        "post",
        lambda w: reverse("initiatives:organisation_propose"),
        lambda w: {
            "name": "Ny kommune",
            "organisation_number": "",
            "actor_type": w.org_a.actor_type_id,
        },
        "login done 403 done done done done",
    ),
    (
        "approve join request",
        "post",
        lambda w: reverse("initiatives:membership_approve", args=[w.join_request.pk]),
        lambda w: {},
        "login 404 403 404 done done done",
    ),
    (
        "decline join request",
        "post",
        lambda w: reverse("initiatives:membership_decline", args=[w.join_request.pk]),
        lambda w: {},
        "login 404 403 404 done done done",
    ),
    # --- Adoption and contact ---
    (
        "adopt",
        "post",
        lambda w: reverse("initiatives:adoption_create", args=[w.published.slug]),
        lambda w: {"organisation": w.org_c.pk, "note": "Vi tok det i bruk."},
        "login 403 403 200 200 403 403",
    ),
    (
        "edit adoption",
        "post",
        lambda w: reverse("initiatives:adoption_edit", args=[w.published.slug, w.adoption.pk]),
        lambda w: {"note": "Endret notat."},
        "login 403 403 done 403 done done",
    ),
    (
        "withdraw adoption",
        "post",
        lambda w: reverse("initiatives:adoption_withdraw", args=[w.published.slug, w.adoption.pk]),
        lambda w: {},
        "login 403 403 done 403 done done",
    ),
    (
        "contact",
        "post",
        lambda w: reverse("initiatives:contact", args=[w.published.slug]),
        lambda w: {"name": "Kari", "email": "kari@example.org", "message": "Hei!"},
        "login done 403 done done done done",
    ),
    # --- Progress reports: the lead organisation's confirmed members, published only;
    # feedback on an adoption: the adopting organisation's (B's) ---
    (
        "write report",
        "get",
        lambda w: reverse("initiatives:report_create", args=[w.published.slug]),
        None,
        "login 403 403 403 200 403 403",
    ),
    (
        "write report on a draft",
        "get",
        lambda w: reverse("initiatives:report_create", args=[w.draft.slug]),
        None,
        "login 404 403 404 404 404 404",
    ),
    (
        "edit report",
        "post",
        lambda w: reverse("initiatives:report_edit", args=[w.published.slug, w.report.pk]),
        lambda w: {},
        "login 403 403 403 200 403 403",
    ),
    (
        "adoption feedback",
        "post",
        lambda w: reverse("initiatives:adoption_feedback", args=[w.published.slug, w.adoption.pk]),
        lambda w: {"outcome": "worked", "effect": "Mindre svinn.", "note": "Endret notat."},
        "login 403 403 done 403 403 403",
    ),
    # --- Campaigns: those who run the network (A's confirmed members) and moderators ---
    (
        "start campaign",
        "get",
        lambda w: reverse("networks:campaign_create", args=[w.network.slug]),
        None,
        "login 403 403 403 200 200 200",
    ),
    (
        "edit campaign",
        "post",
        lambda w: reverse("networks:campaign_edit", args=[w.campaign.slug]),
        lambda w: {},
        "login 403 403 403 200 200 200",
    ),
    # --- Networks ---
    (
        "ask to join network",
        "post",
        lambda w: reverse("networks:network_join", args=[w.open_network.slug]),
        lambda w: {"organisation": w.org_a.pk},
        "login 403 403 200 done 403 403",
    ),
    (
        "approve network request",
        "post",
        lambda w: reverse("networks:membership_approve", args=[w.network_request.pk]),
        lambda w: {},
        "login 404 403 404 done done done",
    ),
    (
        "decline network request",
        "post",
        lambda w: reverse("networks:membership_decline", args=[w.network_request.pk]),
        lambda w: {},
        "login 404 403 404 done done done",
    ),
    # --- The admin: moderators and superusers only ---
    (
        "admin index",
        "get",
        lambda w: reverse("admin:index"),
        None,
        "login login login login login 200 200",
    ),
    (
        "admin draft",
        "get",
        lambda w: reverse("admin:initiatives_initiative_change", args=[w.draft.pk]),
        None,
        "login login login login login 200 200",
    ),
    (
        "admin publish",
        "post",
        lambda w: reverse("admin:initiatives_initiative_changelist"),
        lambda w: {"action": "publish", "_selected_action": [w.submitted.pk]},
        "login login login login login done done",
    ),
    # Accounts are the superusers' to manage; moderators edit content.
    (
        "admin users",
        "get",
        lambda w: reverse("admin:auth_user_changelist"),
        None,
        "login login login login login 403 200",
    ),
    # --- One's own account: only ever the signed-in person's ---
    (
        "profile",
        "get",
        lambda w: reverse("accounts:profile"),
        None,
        "login 200 200 200 200 200 200",
    ),
    (
        "change password",
        "get",
        lambda w: reverse("accounts:password_change"),
        None,
        "login 200 200 200 200 200 200",
    ),
    (
        "resend confirmation",
        "post",
        lambda w: reverse("accounts:resend_confirmation"),
        lambda w: {},
        "login done done done done done done",
    ),
    # --- Following (ideabank/follows.py): confirmed accounts, public things only ---
    (
        "follow published initiative",
        "post",
        lambda w: reverse("accounts:follow_initiative", args=[w.published.slug]),
        lambda w: {},
        "login done 403 done done done done",
    ),
    (
        "follow draft initiative",
        "post",
        lambda w: reverse("accounts:follow_initiative", args=[w.draft.slug]),
        lambda w: {},
        "login 404 403 404 404 404 404",
    ),
    (
        "follow organisation",
        "post",
        lambda w: reverse("accounts:follow_organisation", args=[w.org_a.slug]),
        lambda w: {},
        "login done 403 done done done done",
    ),
    (
        "follow network",
        "post",
        lambda w: reverse("accounts:follow_network", args=[w.network.slug]),
        lambda w: {},
        "login done 403 done done done done",
    ),
    (
        "follow goal",
        "post",
        lambda w: reverse("accounts:follow_goal", args=[12]),
        lambda w: {},
        "login done 403 done done done done",
    ),
    (
        "follow search",
        "post",
        lambda w: reverse("accounts:follow_search") + "?q=matsvinn",
        lambda w: {},
        "login done 403 done done done done",
    ),
    # Only the person who follows stops it (the outsider); for anyone else the answer is
    # the same "you do not follow that" and nothing changes (tests/ideabank/test_follows.py:
    # test_follow_stop_twice_or_someone_elses_changes_nothing), which tells nothing about
    # other people's follows.
    (
        "stop someone's follow",
        "post",
        lambda w: reverse("accounts:follow_stop", args=[w.follow.pk]),
        lambda w: {},
        "login done done done done done done",
    ),
    (
        "what I follow",
        "get",
        lambda w: reverse("accounts:follows"),
        None,
        "login 200 200 200 200 200 200",
    ),
    # --- Comments (ideabank/comments.py): anyone reads, confirmed accounts write, the
    # author edits and deletes, the initiative's owners mark the answer ---
    (
        "comment on published initiative",
        "post",
        lambda w: reverse("comments:initiative_create", args=[w.published.slug]),
        lambda w: {"kind": "comment", "body": "Godt tiltak", "language": "nb"},
        "login done 403 done done done done",
    ),
    (
        "comment on draft initiative",
        "post",
        lambda w: reverse("comments:initiative_create", args=[w.draft.slug]),
        lambda w: {"kind": "comment", "body": "Godt tiltak", "language": "nb"},
        "login 404 403 404 404 404 404",
    ),
    (
        "comment on network",
        "post",
        lambda w: reverse("comments:network_create", args=[w.network.slug]),
        lambda w: {"kind": "question", "body": "Når møtes dere?", "language": "nb"},
        "login done 403 done done done done",
    ),
    (
        "reply",
        "post",
        lambda w: reverse("comments:reply", args=[w.question.pk]),
        lambda w: {"body": "Vi gjorde det slik", "language": "nb"},
        "login done 403 done done done done",
    ),
    (
        "edit the member's comment",
        "post",
        lambda w: reverse("comments:edit", args=[w.comment.pk]),
        lambda w: {"body": "Endret", "language": "nb"},
        "login 403 403 403 done 403 403",
    ),
    (
        "delete the member's comment",
        "post",
        lambda w: reverse("comments:delete", args=[w.comment.pk]),
        lambda w: {},
        "login 403 403 403 done 403 403",
    ),
    (
        "mark the answer",
        "post",
        lambda w: reverse("comments:mark_answer", args=[w.reply.pk]),
        lambda w: {},
        "login 403 403 403 done 403 403",
    ),
    (
        "report a comment",
        "post",
        lambda w: reverse("comments:report", args=[w.comment.pk]),
        lambda w: {"reason": "Reklame"},
        "done done done done done done done",
    ),
    # Staff accounts are deleted by another administrator (ideabank/personal_data.py).
    (
        "my data",
        "get",
        lambda w: reverse("accounts:my_data"),
        None,
        "login 200 200 200 200 200 200",
    ),
    (
        "delete account",
        "post",
        lambda w: reverse("accounts:account_delete"),
        lambda w: {"password": PASSWORD},
        "login done done done done 403 403",
    ),
]


@pytest.fixture
def world(db):
    return World()


def outcome(response) -> str:
    if response.status_code == 302:
        location = response["Location"]
        login_paths = (reverse("accounts:login"), reverse("admin:login"))
        return "login" if location.split("?")[0] in login_paths else "done"
    return str(response.status_code)


CASES = [
    pytest.param(name, method, path, data, role, expected.split()[index], id=f"{name}|{role}")
    for name, method, path, data, expected in CELLS
    for index, role in enumerate(ROLES)
]


@pytest.mark.parametrize(("name", "method", "path", "data", "role", "expected"), CASES)
def test_authorisation(client, world, name, method, path, data, role, expected):
    world.login(client, role)
    before = fingerprint()
    send = client.get if method == "get" else client.post
    response = send(path(world), data(world) if data else None)
    assert outcome(response) == expected, f"{name} as {role}"
    if expected in ("login", "403", "404"):
        assert fingerprint() == before, f"{name} as {role} was refused but changed something"


# --- Every URL is in the table, or public and read-only ---------------------------

PUBLIC_READ_ONLY = {
    "home",
    "accounts:account_deleted",
    "about",
    "accessibility",
    "privacy",
    "set_language",
    "initiatives:list",
    "initiatives:detail",
    "initiatives:goal",
    "initiatives:organisation",
    "initiatives:actor_type",
    "initiatives:purpose",
    # Atom feeds (initiatives/feeds.py, networks/feeds.py): published content only.
    "initiatives:list_feed",
    "initiatives:goal_feed",
    "initiatives:organisation_feed",
    "initiatives:actor_type_feed",
    "initiatives:purpose_feed",
    "networks:event_feed",
    "initiatives:similar",
    "initiatives:image",
    "initiatives:my_page",
    # For search engines (ideabank/sitemaps.py): only public pages, nothing to act on.
    "robots_txt",
    "sitemap",
    "sitemap_section",
    # Forms anyone may use, acting only on whoever signs in or holds the mailed link.
    "accounts:signup",
    "accounts:signup_done",
    "accounts:login",
    "accounts:logout",
    "accounts:confirm_email",
    "accounts:password_reset",
    "accounts:password_reset_done",
    "accounts:password_reset_confirm",
    "accounts:password_reset_complete",
    "accounts:password_change_done",
    "networks:network_list",
    "networks:network",
    "networks:working_group_list",
    "networks:working_group",
    "networks:working_group_report",
    "networks:event_list",
    "networks:event_past_list",
    "networks:event",
    "networks:calendar",
    "networks:event_calendar",
    "networks:network_calendar",
    "networks:working_group_calendar",
    # Open data: the JSON API (tests/api: published only, GET and HEAD), the DCAT
    # description and the page about them (tests/ideabank/test_open_data.py).
    "api:index",
    "api:api-root",
    "api:openapi-json",
    "api:openapi-view",
    "api:goals",
    "api:purposes",
    "api:actor_types",
    "api:focus_areas",
    "api:counties",
    "api:municipalities",
    "api:initiative_list",
    "api:initiative_detail",
    "api:organisation_list",
    "api:organisation_detail",
    "api:network_list",
    "api:network_detail",
    "api:working_group_list",
    "api:working_group_detail",
    "api:event_list",
    "api:event_detail",
    "api_reference",
    # Downloads of a list state (tests/initiatives/test_exports.py): published only.
    "initiatives:export_csv",
    "initiatives:export_xlsx",
    "networks:event_export_csv",
    "networks:event_past_export_csv",
    # The statistics page and its CSV (tests/initiatives/test_statistics.py).
    "initiatives:statistics",
    "initiatives:statistics_csv",
    # Campaigns (tests/networks/test_campaigns.py: who has not answered shows to their
    # managers only).
    "networks:campaign_list",
    "networks:campaign",
    "open_data",
    "dcat_catalogue",
    "dcat_turtle",
    "dcat_jsonld",
}
# Covered by their own tests (tests/ideabank): the accounts' own forms act on the
# signed-in person only, or on whoever holds a token from an e-mail.
COVERED_ELSEWHERE = {
    "networks:event_register": "tests/networks/test_registration.py",
    "networks:registration_cancel": "tests/networks/test_event_registration_views.py",
    # The reminder's "still current" link: whoever holds it (signed, expiring, once).
    "initiatives:still_current": "tests/initiatives/test_freshness.py",
    # The signed link in follow mails: whoever holds it, without logging in (RFC 8058).
    "accounts:unsubscribe": "tests/ideabank/test_follows.py",
    "comments:unmark_answer": "tests/ideabank/test_comments.py",
}


def named_routes(resolver=None, namespace: str = "") -> set[str]:
    names = set()
    for pattern in (resolver or get_resolver()).url_patterns:
        if isinstance(pattern, URLResolver):
            if pattern.namespace == "admin":
                continue
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            names |= named_routes(pattern, inner)
        elif isinstance(pattern, URLPattern) and pattern.name:
            names.add(f"{namespace}{pattern.name}")
    return names


def test_every_route_is_accounted_for():
    accounted = PUBLIC_READ_ONLY | set(COVERED_ELSEWHERE) | route_names_in_cells()
    missing = named_routes() - accounted
    assert not missing, f"Add these URLs to the authorisation table: {sorted(missing)}"


def route_names_in_cells() -> set[str]:
    names = set()
    for _name, _method, path, _data, _expected in CELLS:
        source = inspect.getsource(path)
        names |= set(re.findall(r'reverse\("([\w:]+)"', source))
        if "get_absolute_url" in source:
            names.add("initiatives:detail")
    return names
