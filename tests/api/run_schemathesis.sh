#!/usr/bin/env bash
# schemathesis against the live API (issue 13, point 2), as CI runs it (.ci/run):
#   tests/api/run_schemathesis.sh sqlite:////path/to/db-with-demo-data.sqlite3
# Adds initiatives in every unpublished state (and a proposed organisation, a presentation
# of a draft, a proposed member) to that database, writes what must never show to a file
# for the hook (tests/api/schemathesis_hooks.py), serves the site with gunicorn on a free
# port with production settings, validates the schema it serves (openapi-spec-validator)
# and runs schemathesis's stateless phases over every endpoint of /api/v1/openapi.json. The server stops when the script ends, however it ends.
set -euo pipefail
cd "$(dirname "$0")/../.."
export DATABASE_URL="$1"
work="$(mktemp -d)"
export SCHEMATHESIS_SECRETS="$work/secrets.json"

.venv/bin/python manage.py shell -c "$(cat <<'PY'
import json, os
from initiatives import engine
from initiatives.models import Initiative, Organisation
from networks.models import Event, Membership, Network, Presentation

lead = Organisation.objects.approved().order_by("pk").first()
proposed, _ = Organisation.objects.get_or_create(
    slug="ci-foreslatt-organisasjon",
    defaults={"name": "CI foreslått organisasjon", "actor_type": lead.actor_type,
              "status": Organisation.Status.PROPOSED},
)
event = Event.objects.order_by("pk").first()
for status in ["draft", "submitted", "rejected", "archived", "withdrawn"]:
    initiative, _ = Initiative.objects.get_or_create(
        slug=f"ci-upublisert-{status}",
        defaults={"title": f"CI upublisert {status}", "summary": "Ikke offentlig.",
                  "description": "Ikke offentlig.", "scope": "national", "lead_organisation": lead},
    )
    initiative.tags.add("ci-upublisert")
    initiative.goals.set([12])
    # Placed directly (a CI fixture): "withdrawn" is a draft that was once published.
    Initiative.objects.filter(pk=initiative.pk).update(
        status="draft" if status == "withdrawn" else status,
        rejection_reason="CI" if status == "rejected" else "",
    )
    engine.initiatives_changed([initiative.pk])
    Presentation.objects.get_or_create(event=event, initiative=initiative, defaults={"presenter": "CI"})
Membership.objects.get_or_create(network=Network.objects.order_by("pk").first(), organisation=proposed,
                                 defaults={"status": Membership.Status.ACTIVE})
hidden = Initiative.objects.exclude(status=Initiative.Status.PUBLISHED)
secrets = {
    "initiative_slugs": list(hidden.values_list("slug", flat=True)),
    "initiative_titles": list(hidden.values_list("title", flat=True)),
    "organisation_slugs": list(Organisation.objects.exclude(status="approved").values_list("slug", flat=True)),
}
with open(os.environ["SCHEMATHESIS_SECRETS"], "w", encoding="utf-8") as file:
    json.dump(secrets, file)
print(f"{len(secrets['initiative_slugs'])} unpublished initiatives, "
      f"{len(secrets['organisation_slugs'])} organisations not approved")
PY
)"

static="$work/static"
prod=(env DEBUG=false SECRET_KEY="schemathesis-$RANDOM$RANDOM$RANDOM$RANDOM" ALLOWED_HOSTS=127.0.0.1
  SECURE_SSL_REDIRECT=false SECURE_HSTS_SECONDS=0 STATIC_ROOT="$static")
"${prod[@]}" .venv/bin/python manage.py collectstatic --no-input -v0

port="$(.venv/bin/python -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
base="http://127.0.0.1:$port"
# Production settings, plain HTTP on the loopback. The limit per client address is raised:
# every generated request comes from this one address, and the 429 has its own test.
"${prod[@]}" API_REQUESTS_PER_MINUTE=1000000 SITE_URL="$base" GUNICORN_BIND="127.0.0.1:$port" GUNICORN_WORKERS=2 \
  .venv/bin/gunicorn -c gunicorn.conf.py ideabank.wsgi >"$work/server.log" 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null; wait "$server" 2>/dev/null || true; rm -rf "$work"' EXIT
fetch() { .venv/bin/python -c 'import sys, urllib.request; sys.stdout.buffer.write(urllib.request.urlopen(sys.argv[1], timeout=5).read())' "$1"; }
for _ in $(seq 60); do
  fetch "$base/api/v1/" >/dev/null 2>&1 && break
  kill -0 "$server" 2>/dev/null || { cat "$work/server.log"; exit 1; }
  sleep 0.5
done
fetch "$base/api/v1/openapi.json" >"$work/openapi.json"
.venv/bin/openapi-spec-validator "$work/openapi.json"

# Every check but two that do not fit a read-only API over real data:
# - positive_data_acceptance wants a 2xx for any value the schema allows, but a filter
#   value must name something that exists (a goal from 1 to 17, a purpose's slug, a
#   published initiative's tag), which no schema says; the API answers such a value 400.
# - ignored_auth: the API has no authentication to ignore.
# Run from the temporary folder: schemathesis keeps a cache of what it found in ./.schemathesis.
repo="$PWD"
cd "$work"
PYTHONPATH="$repo" SCHEMATHESIS_HOOKS=tests.api.schemathesis_hooks "$repo/.venv/bin/schemathesis" run \
  "$base/api/v1/openapi.json" \
  --checks all --exclude-checks positive_data_acceptance,ignored_auth \
  --phases examples,coverage,fuzzing --max-examples 25 --workers 2 --seed 13 \
  --request-timeout 10 --max-response-time 5 --no-color \
  --generation-database none
