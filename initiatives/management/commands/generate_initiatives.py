"""Fill the database with many synthetic, published initiatives, for load and speed tests.

Everything made here has a slug starting with "syn-", so it is easy to tell
apart and to remove (--replace). Rows are written with bulk_create in batches,
one transaction per batch, so a batch is either complete (initiative, its
relations, tags and search vector) or absent. The same --seed gives the same
organisations and initiatives (titles, texts, facets, partners, adoptions);
only the dates move with today. This is set-up data: no moderation history and
no e-mails, the status and publication time are set directly.
"""

import random
import resource
import sys
import time
import unicodedata
from bisect import bisect
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from datetime import time as clock
from itertools import accumulate

from django.contrib.contenttypes.models import ContentType
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, reset_queries, transaction
from django.utils import timezone
from django.utils.text import slugify
from taggit.models import Tag

from initiatives import engine
from initiatives.models import (
    ActorType,
    Adoption,
    County,
    FocusArea,
    Goal,
    Initiative,
    Municipality,
    Organisation,
    Participation,
    Purpose,
    Scope,
    Target,
)

PREFIX = "syn-"
ORG_PREFIX = "syn-org-"

# --- Words ----------------------------------------------------------------------------------

# Places where initiatives happen, with their inflected forms:
# (indefinite singular, definite singular, indefinite plural, definite plural).
PLACES = [
    ("barnehage", "barnehagen", "barnehager", "barnehagene"),
    ("skole", "skolen", "skoler", "skolene"),
    ("ungdomsskole", "ungdomsskolen", "ungdomsskoler", "ungdomsskolene"),
    ("bibliotek", "biblioteket", "bibliotek", "bibliotekene"),
    ("sykehjem", "sykehjemmet", "sykehjem", "sykehjemmene"),
    ("kantine", "kantinen", "kantiner", "kantinene"),
    ("idrettshall", "idrettshallen", "idrettshaller", "idrettshallene"),
    ("helsestasjon", "helsestasjonen", "helsestasjoner", "helsestasjonene"),
    ("gjenbruksstasjon", "gjenbruksstasjonen", "gjenbruksstasjoner", "gjenbruksstasjonene"),
    ("borettslag", "borettslaget", "borettslag", "borettslagene"),
    ("bydel", "bydelen", "bydeler", "bydelene"),
    ("rådhus", "rådhuset", "rådhus", "rådhusene"),
    ("fritidsklubb", "fritidsklubben", "fritidsklubber", "fritidsklubbene"),
    ("kulturhus", "kulturhuset", "kulturhus", "kulturhusene"),
    ("byggeplass", "byggeplassen", "byggeplasser", "byggeplassene"),
]

# Who takes part, in the plural (indefinite, definite).
PEOPLE = [
    ("innbyggere", "innbyggerne"),
    ("ansatte", "de ansatte"),
    ("elever", "elevene"),
    ("barn", "barna"),
    ("ungdommer", "ungdommene"),
    ("leverandører", "leverandørene"),
    ("innkjøpere", "innkjøperne"),
    ("frivillige", "de frivillige"),
    ("bedrifter", "bedriftene"),
    ("beboere", "beboerne"),
    ("pårørende", "de pårørende"),
    ("lærere", "lærerne"),
]

# A topic: title phrase, a lower-case phrase for running text, focus areas, likely goals, tags.
TOPICS = [
    ("Matsvinn", "mindre matsvinn", ["food-and-food-waste"], [12, 2], ["matsvinn", "mat", "måling"]),
    ("Ombruk av møbler", "ombruk av møbler", ["sharing-and-reuse", "sustainable-procurement"], [12], ["ombruk", "møbler", "sirkulær"]),
    ("Sirkulære innkjøp av IKT-utstyr", "sirkulære innkjøp av IKT-utstyr", ["sustainable-procurement", "circular-economy"], [12, 9], ["innkjøp", "ikt", "sirkulær"]),
    ("Energisparing", "energisparing", ["climate-and-energy"], [7, 13], ["energi", "strøm", "klima"]),
    ("Solceller på taket", "solceller på taket", ["climate-and-energy", "buildings-and-land-use"], [7, 13], ["solenergi", "energi"]),
    ("Trygg og aktiv skolevei", "en trygg og aktiv skolevei", ["mobility-and-transport", "public-health-and-inclusion"], [3, 11], ["mobilitet", "sykkel", "gange"]),
    ("Utlån av sports- og friluftsutstyr", "utlån av sports- og friluftsutstyr", ["sharing-and-reuse"], [12, 10], ["deling", "utlån", "friluftsliv"]),
    ("Kompostering av matavfall", "kompostering av matavfall", ["food-and-food-waste", "circular-economy"], [12, 15], ["kompost", "avfall", "mat"]),
    ("Insektvennlige uteområder", "insektvennlige uteområder", ["nature-and-biodiversity"], [15, 11], ["natur", "pollinatorer", "naturmangfold"]),
    ("Klimabudsjett", "et klimabudsjett", ["sustainability-management"], [13, 17], ["klima", "klimabudsjett", "styring"]),
    ("Reparasjonskafé", "en reparasjonskafé", ["sharing-and-reuse", "public-health-and-inclusion"], [12, 11], ["reparasjon", "ombruk", "frivillighet"]),
    ("Mindre engangsplast", "mindre engangsplast", ["circular-economy"], [12, 14], ["plast", "avfall"]),
    ("Kompetanseheving i sirkulær økonomi", "kompetanseheving i sirkulær økonomi", ["competence-and-education", "circular-economy"], [4, 12], ["kompetanse", "sirkulær", "kurs"]),
    ("Fossilfrie byggeplasser", "fossilfrie byggeplasser", ["buildings-and-land-use", "climate-and-energy"], [9, 11, 13], ["bygg", "fossilfri", "klima"]),
    ("Delte elbiler og elsykler", "deling av elbiler og elsykler", ["mobility-and-transport", "sharing-and-reuse"], [11, 13], ["mobilitet", "deling", "elbil"]),
    ("Lokalmat i kantinen", "mer lokalmat i kantinen", ["food-and-food-waste"], [2, 12], ["mat", "lokalmat", "innkjøp"]),
    ("Ombruk av byggematerialer", "ombruk av byggematerialer", ["buildings-and-land-use", "circular-production"], [12, 9], ["ombruk", "bygg", "sirkulær"]),
    ("Arbeidstrening i ombruksverksted", "arbeidstrening i et ombruksverksted", ["public-health-and-inclusion", "sharing-and-reuse"], [8, 10], ["inkludering", "ombruk", "arbeid"]),
    ("Friluftsliv og folkehelse", "friluftsliv for bedre folkehelse", ["public-health-and-inclusion", "nature-and-biodiversity"], [3, 15], ["friluftsliv", "folkehelse", "natur"]),
    ("Innsamling av tekstiler", "innsamling og ombruk av tekstiler", ["circular-economy", "sharing-and-reuse"], [12], ["tekstil", "ombruk", "avfall"]),
    ("Kunnskapsdeling mellom kommuner", "kunnskapsdeling mellom kommuner", ["knowledge-sharing"], [17, 11], ["kunnskapsdeling", "nettverk"]),
    ("Klimavennlig mat", "klimavennlig mat", ["food-and-food-waste", "climate-and-energy"], [2, 12, 13], ["mat", "klima", "plantebasert"]),
    ("Rent vann og mindre vannforbruk", "mindre vannforbruk", ["climate-and-energy", "nature-and-biodiversity"], [6, 12], ["vann", "sparing"]),
    ("Grønn leverandørdialog", "dialog med leverandører om sirkulære løsninger", ["sustainable-procurement"], [12, 17], ["innkjøp", "leverandørdialog", "sirkulær"]),
    ("Bærekraftsmål i planarbeidet", "bærekraftsmålene i planarbeidet", ["sustainability-management", "buildings-and-land-use"], [11, 17], ["planlegging", "bærekraftsmål", "styring"]),
]  # fmt: skip

TITLE_TEMPLATES = [
    "{topic} i {places} i {where}",
    "{topic} i {places}",
    "{topic} på {place_def}",
    "{topic} for {people} i {where}",
    "{where}: {topic_lower} i {places}",
    "Pilot: {topic_lower} i {places_def}",
    "{topic} sammen med {people}",
    "Sirkulær {where}: {topic_lower}",
]

SUMMARY_OPENINGS = [
    "{lead} arbeider for {phrase} i {places_def} sammen med {people}.",
    "Sammen med {people} har {lead} satt i gang {phrase} i {places_def}.",
    "{lead} prøver ut {phrase} i {places_def}, med {people} som viktige bidragsytere.",
    "Et samarbeid om {phrase} der {places_def} og {people} deler erfaringer.",
]
SUMMARY_ENDINGS = [
    " Målet er å redusere klimagassutslipp og kostnader.",
    " Tiltaket er enkelt å overføre til andre kommuner.",
    " Erfaringene deles åpent i nettverket.",
    " Resultatene måles hvert kvartal.",
    "",
]

DESCRIPTION_SENTENCES = [
    "Tiltaket startet med en kartlegging av hvordan {places_def} jobber med {phrase} i dag.",
    "{people_def} ble invitert til verksteder der de kom med egne forslag.",
    "Vi har brukt enkle verktøy for måling, slik at alle {places} kan gjøre det samme.",
    "Innkjøpsavdelingen har vært med fra starten for å stille krav til leverandørene.",
    "{places_def_cap} har hver sin kontaktperson som følger opp arbeidet.",
    "Arbeidet er forankret i kommuneplanen og i klima- og energiplanen.",
    "Et viktig grep var å gjøre det lett å velge riktig i hverdagen.",
    "Vi samarbeider med {people} for å nå flere.",
    "Kostnadene ble dekket av egne midler og tilskudd fra Miljødirektoratet.",
    "Resultatene viser at {phrase} gir både miljøgevinst og sparte kostnader.",
    "Erfaringene fra {place_def} brukes nå i flere {places}.",
    "Den sirkulære tankegangen har blitt en del av det daglige arbeidet.",
    "Vi har laget en veileder som andre kan bruke fritt.",
    "Tiltaket bidrar til bærekraftsmålene og til kommunens klimamål.",
    "Deling av utstyr og kompetanse på tvers av enheter har vært avgjørende.",
    "Underveis evaluerte vi arbeidet sammen med {people} og justerte kursen.",
    "Mobilitet, energi, mat og avfall henger sammen, og vi ser dem i sammenheng.",
    "Ombruk og reparasjon er billigere enn nytt, og det sparer naturen.",
]

# Rare words: compounds drawn with a long-tailed (Zipf) distribution, so that
# the last ones in this list occur in only a handful of initiatives.
RARE_HEADS = [
    "kompost", "sykkel", "regnvann", "solcelle", "tekstil", "møbel", "matrest", "grønnsak",
    "bie", "lade", "varme", "ved", "papp", "glass", "metall", "jord", "frø", "bær", "tang",
    "ull", "lær", "batteri", "dekk", "sand", "sopp", "hvete", "kaffegrut", "tare", "eple",
    "honning", "bark", "kalk", "torv", "sild", "rogn", "lyng", "einer", "mose", "vier", "hassel",
]  # fmt: skip
RARE_TAILS = [
    "binge", "verksted", "hotell", "kasse", "kartlegging", "logg", "register", "tønne", "dugnad",
    "vogn", "skap", "bank", "portal", "mester", "presse", "kvern", "sil", "tørke", "lager",
    "rampe", "stige", "hage", "teller", "merke", "bok", "fabrikk", "sirkel", "rute", "tralle",
    "tavle",
]  # fmt: skip
RARE_WORDS = [head + tail for tail in RARE_TAILS for head in RARE_HEADS]
RARE_SENTENCES = [
    "Underveis prøvde vi også ut {rare}.",
    "Erfaringene med {rare} og {rare2} var gode.",
    "Flere spurte etter {rare}, som nå er på plass.",
    "Et lite, men viktig grep var {rare}.",
]

FRAME_TEXTS = {
    "frame_goals": ["Halvere {phrase_short} innen to år.", "Nå alle {places} i kommunen innen 2027."],
    "frame_roles": ["{lead} leder arbeidet; partnerne bidrar med kompetanse og måling."],
    "frame_financing": ["Egne driftsmidler og tilskudd fra Klimasats.", "Spleiselag mellom partnerne."],
    "frame_expected_results": ["Mindre avfall, lavere kostnader og mer kunnskap hos {people}."],
    "frame_indicators": ["Kilo per uke, antall deltakere og kroner spart.", "Utslipp i tonn CO2-ekvivalenter."],
    "results": ["Vi har redusert {phrase_short} med en tredjedel det første året."],
    "lessons": ["Start smått, mål fra dag én og del resultatene ofte.", "Forankring hos ledelsen var avgjørende."],
    "transfer_value": ["Veilederen og målearkene kan brukes av alle {places} uten tilpasning."],
}  # fmt: skip

FIRST_NAMES = ["Kari", "Ola", "Ingrid", "Lars", "Nora", "Emil", "Sofie", "Jakob", "Maja", "Henrik", "Sigrid", "Magnus", "Astrid", "Håkon", "Ida", "Eirik", "Aisha", "Ali", "Marte", "Jonas"]  # fmt: skip
LAST_NAMES = ["Hansen", "Johansen", "Olsen", "Larsen", "Andersen", "Pedersen", "Nilsen", "Kristiansen", "Jensen", "Karlsen", "Berg", "Haugen", "Hagen", "Bakken", "Solberg", "Lie", "Dahl", "Moen", "Khan", "Sæther"]  # fmt: skip
CONTACT_ROLES = ["klimarådgiver", "innkjøpsrådgiver", "prosjektleder", "styrer", "rektor", "biblioteksjef", "miljøkoordinator", "daglig leder"]  # fmt: skip

# Names for organisations by actor type; {m} a municipality, {c} a county, {n} a made-up name.
ORG_NAMES = {
    "state-agency": ["Statsforvalteren i {c}", "Direktoratet for {n}", "Statens {n}senter"],
    "county-council": ["{c} fylkeskommune"],
    "municipality": ["{m} kommune"],
    "kindergarten": ["{n} barnehage", "{n} naturbarnehage"],
    "school": ["{n} skole", "{n} barneskole"],
    "upper-secondary-school": ["{n} videregående skole"],
    "library": ["{m} bibliotek", "{n} bibliotekfilial"],
    "health-and-care": ["{n} sykehjem", "{m} helsehus"],
    "procurement-unit": ["Innkjøpssamarbeidet i {c}", "{m} innkjøp"],
    "municipal-company": ["{m} Avfall AS", "{n} Energi KF", "{m} Vann og avløp KF"],
    "research-and-education": ["Høgskolen i {n}", "{n}forskning"],
    "voluntary-organisation": ["{m} frivilligsentral", "Naturvernforbundet i {m}"],
    "interest-organisation": ["{m} bondelag", "{n} næringsforening"],
    "network-or-cluster": ["{c} klimanettverk", "{n} sirkulærklynge"],
    "residents": ["Velforeningen {n}", "{n} borettslag"],
    "business": ["{n} AS", "{n} Gruppen AS"],
    "social-enterprise": ["{n} Ombruk SA", "{n} Arbeid og Inkludering AS"],
    "consultancy": ["{n} Rådgivning AS", "{n} Analyse AS"],
}
NAME_PARTS = ["Sol", "Trolls", "Bjørke", "Furu", "Eike", "Lind", "Fjell", "Sjø", "Elve", "Myr", "Li", "Vik", "Nes", "Dal", "Berg", "Strand", "Haug", "Skog", "Eng", "Åker"]  # fmt: skip
NAME_ENDS = ["stua", "skogen", "tun", "haugen", "lia", "vika", "heim", "gården", "bakken", "sletta"]  # fmt: skip
# How common each actor type is among organisations.
ORG_TYPE_WEIGHTS = {
    "municipality": 14, "kindergarten": 12, "school": 12, "library": 6, "health-and-care": 6,
    "business": 10, "county-council": 4, "state-agency": 3, "upper-secondary-school": 5,
    "procurement-unit": 3, "municipal-company": 6, "research-and-education": 3,
    "voluntary-organisation": 5, "interest-organisation": 3, "network-or-cluster": 3,
    "residents": 2, "social-enterprise": 3, "consultancy": 3,
}  # fmt: skip
NATIONAL_TYPES = {"state-agency", "research-and-education", "consultancy"}

PHASE_WEIGHTS = [
    (Initiative.Phase.IDEA, 8),
    (Initiative.Phase.PRE_PROJECT, 10),
    (Initiative.Phase.PILOT, 17),
    (Initiative.Phase.RUNNING, 40),
    (Initiative.Phase.COMPLETED, 25),
]
SCOPE_WEIGHTS = [(Scope.LOCAL, 62), (Scope.REGIONAL, 20), (Scope.NATIONAL, 13), (Scope.NORDIC, 5)]
INVOLVEMENTS = [""] + list(Initiative.Involvement.values)
ROLE_WEIGHTS = [
    (Participation.Role.PARTNER, 70),
    (Participation.Role.RESOURCE_GROUP, 20),
    (Participation.Role.FUNDER, 10),
]
ADOPTION_SHARE = 0.15
ADOPTION_NOTES = [
    "",
    "Vi tok dette i bruk i våre barnehager og tilpasset målearket.",
    "Brukte veilederen nesten uendret.",
    "Vi startet med én skole og utvider nå.",
]
YEARS_BACK = 5
FRESH_YEARS = 3  # owner_updated_at spread over this many years (some stale, some not)
ORGS_PER_INITIATIVES = 250  # one organisation per this many initiatives ...
ORG_LIMITS = (12, 400)  # ... within these bounds
DELETE_CHUNK = 5000


class Weighted:
    """Draw from `items` with `weights`, fast (cumulative weights, bisect)."""

    def __init__(self, items: list, weights: list[float]) -> None:
        self.items = items
        self.cumulative = list(accumulate(weights))

    def draw(self, rng: random.Random):
        return self.items[bisect(self.cumulative, rng.random() * self.cumulative[-1])]


def zipf(items: list, exponent: float = 1.0) -> Weighted:
    return Weighted(items, [1 / (rank**exponent) for rank in range(1, len(items) + 1)])


def ascii_name(text: str) -> str:
    """E-mail-safe: æ, ø, å and accents written with a-z."""
    text = text.lower().replace("æ", "ae").replace("ø", "o").replace("å", "a")
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()


def capitalise(text: str) -> str:
    return text[:1].upper() + text[1:]


def peak_memory_mb() -> float:
    # ru_maxrss is in kilobytes on Linux, in bytes on macOS.
    scale = 1024 * 1024 if sys.platform == "darwin" else 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / scale


class Command(BaseCommand):
    help = (
        "Fill the database with COUNT synthetic published initiatives (slugs start with "
        '"syn-") and a few hundred synthetic organisations, for benchmarks.'
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--count", type=int, default=100_000, help="Initiatives to add (default 100000)."
        )
        parser.add_argument("--seed", type=int, default=None, help="Random seed; the same seed gives the same data. Default: chosen and printed.")  # fmt: skip
        parser.add_argument("--batch-size", type=int, default=1000, help="Initiatives per transaction (default 1000).")  # fmt: skip
        parser.add_argument("--replace", action="store_true", help='Delete earlier "syn-" initiatives and organisations first.')  # fmt: skip

    def handle(self, *args, **options) -> None:
        count, batch_size = options["count"], options["batch_size"]
        if count < 0 or batch_size < 1:
            raise CommandError("--count must be 0 or more and --batch-size 1 or more.")
        if not Goal.objects.exists() or not ActorType.objects.exists():
            raise CommandError("Load the reference data first: manage.py load_reference_data")
        seed = options["seed"]
        if seed is None:
            seed = random.SystemRandom().randrange(1_000_000)
        self.verbose = options["verbosity"] > 0
        started = time.perf_counter()
        self.say(f"Seed {seed}; {count} initiatives in batches of {batch_size}.")

        if options["replace"]:
            self.delete_previous()
        self.load_reference()
        organisations = self.organisations(seed, self.organisations_wanted(count))
        first = self.next_number()
        rng = random.Random(f"{seed}-initiatives")
        made = 0
        while made < count:
            size = min(batch_size, count - made)
            self.write_batch(rng, organisations, first + made, size)
            made += size
            # Peak memory stays flat from the first batches on: nothing is kept across batches.
            self.say(
                f"  {made}/{count} initiatives ({time.perf_counter() - started:.1f} s, "
                f"peak memory {peak_memory_mb():.0f} MB)"
            )
        engine.everything_changed()
        self.analyse()
        self.say(f"Done: {count} initiatives in {time.perf_counter() - started:.1f} s.")

    def say(self, text: str) -> None:
        if self.verbose:
            self.stdout.write(text)
            self.stdout.flush()

    # --- set-up -----------------------------------------------------------------------------

    def delete_previous(self) -> None:
        started = time.perf_counter()
        ids = Initiative.objects.filter(slug__startswith=PREFIX).order_by("pk").values_list("pk", flat=True)  # fmt: skip
        removed = deleted = last = 0
        # One "everything changed" for the engines, not a log row per deleted row.
        with transaction.atomic(), engine.unlogged():
            # In chunks: deleting collects every row (and its related rows) in memory first.
            # Each chunk's ids are read when it is deleted, never all ids at once (a million
            # initiatives); starting after the last one, so the deleted rows are not read again.
            while chunk := list(ids.filter(pk__gt=last)[:DELETE_CHUNK]):
                last = chunk[-1]
                removed += len(chunk)
                if TAGGED.is_generic:
                    # A generic relation, which deleting an initiative does not follow.
                    deleted += TAGGED.model.objects.filter(
                        content_type=ContentType.objects.get_for_model(Initiative),
                        object_id__in=chunk,
                    ).delete()[0]
                # Adoptions protect an initiative from deletion (someone else's report);
                # these are the synthetic ones, made with it.
                deleted += Adoption.objects.filter(initiative_id__in=chunk).delete()[0]
                deleted += Initiative.objects.filter(pk__in=chunk).delete()[0]
                reset_queries()
            deleted += Organisation.objects.filter(slug__startswith=ORG_PREFIX).delete()[0]
            engine.everything_changed()
        self.say(
            f"Deleted {removed} earlier synthetic initiatives ({deleted} rows with related ones) "
            f"in {time.perf_counter() - started:.1f} s."
        )

    def load_reference(self) -> None:
        self.goals = {goal.number: goal.pk for goal in Goal.objects.all()}
        self.targets: dict[int, list[int]] = {}
        for pk, number in Target.objects.order_by("code").values_list("pk", "goal__number"):
            self.targets.setdefault(number, []).append(pk)
        self.purposes = list(Purpose.objects.order_by("slug").values_list("pk", flat=True))
        self.actor_types = dict(ActorType.objects.values_list("slug", "pk"))
        self.focus_areas = dict(FocusArea.objects.values_list("slug", "pk"))
        self.counties = list(County.objects.order_by("number"))
        self.municipalities = list(Municipality.objects.order_by("number"))
        if not self.counties or not self.municipalities:
            raise CommandError("There are no counties or municipalities: load the reference data.")
        self.initiative_type = ContentType.objects.get_for_model(Initiative)
        self.tags = {}
        names = sorted({tag for topic in TOPICS for tag in topic[4]})
        for name in names:
            tag = Tag.objects.filter(name=name).first() or Tag.objects.create(name=name)
            self.tags[name] = tag.pk

    def organisations_wanted(self, count: int) -> int:
        low, high = ORG_LIMITS
        return max(low, min(high, count // ORGS_PER_INITIATIVES))

    def organisations(self, seed: int, wanted: int) -> list[dict]:
        """The synthetic organisations, made up to `wanted`; each as a small dict."""
        rng = random.Random(f"{seed}-organisations")
        # Bigger places get more organisations: a long-tailed weight over a shuffled list.
        shuffled = self.municipalities[:]
        rng.shuffle(shuffled)
        self.place_weights = zipf(shuffled, 0.8)
        types = [slug for slug in ORG_TYPE_WEIGHTS if slug in self.actor_types]
        type_draw = Weighted(types, [ORG_TYPE_WEIGHTS[slug] for slug in types])
        existing = list(
            Organisation.objects.filter(slug__startswith=ORG_PREFIX)
            .order_by("slug")
            .values("pk", "actor_type__slug", "municipality_id", "name")
        )
        new = []
        for number in range(len(existing) + 1, wanted + 1):
            actor_type = type_draw.draw(rng)
            municipality = None if actor_type in NATIONAL_TYPES else self.place_weights.draw(rng)
            county = municipality.county if municipality else rng.choice(self.counties)
            made_up = rng.choice(NAME_PARTS) + rng.choice(NAME_ENDS)
            name = rng.choice(ORG_NAMES[actor_type]).format(
                m=(municipality or rng.choice(self.municipalities)).name, c=county.name, n=made_up
            )
            new.append(
                Organisation(
                    name=name,
                    slug=f"{ORG_PREFIX}{number:04d}-{slugify(ascii_name(name))}"[:220],
                    actor_type_id=self.actor_types[actor_type],
                    municipality=municipality,
                    website=f"https://{slugify(ascii_name(made_up))}.example.no/",
                    description=f"{name} er med i Idébanken og deler erfaringer med andre.",
                )
            )
        if new:
            Organisation.objects.bulk_create(new)
            self.say(f"Made {len(new)} organisations.")
        slug_of_type = {pk: slug for slug, pk in self.actor_types.items()}
        organisations = existing + [
            {
                "pk": org.pk,
                "actor_type__slug": slug_of_type[org.actor_type_id],
                "municipality_id": org.municipality_id,
                "name": org.name,
            }
            for org in new
        ]
        return organisations[: max(wanted, len(existing))]

    def next_number(self) -> int:
        """One past the highest number used in a "syn-" slug, so reruns add new slugs."""
        highest = 0
        for slug in (
            Initiative.objects.filter(slug__startswith=PREFIX)
            .values_list("slug", flat=True)
            .iterator()
        ):
            number = slug[len(PREFIX) :].split("-", 1)[0]
            if number.isdigit():
                highest = max(highest, int(number))
        return highest + 1

    # --- one batch -------------------------------------------------------------------------

    def write_batch(
        self, rng: random.Random, organisations: list[dict], first: int, size: int
    ) -> None:
        plans = [self.plan(rng, organisations, first + offset) for offset in range(size)]
        with transaction.atomic(), timestamps_as_given(Initiative):
            initiatives = Initiative.objects.bulk_create([plan["initiative"] for plan in plans])
            rows: dict[type, list] = {}
            for initiative, plan in zip(initiatives, plans, strict=True):
                pk = initiative.pk
                for relation, ids in plan["m2m"].items():
                    through = getattr(Initiative, relation).through
                    column = through._meta.get_field(relation_column(relation)).attname
                    rows.setdefault(through, []).extend(
                        through(initiative_id=pk, **{column: value}) for value in ids
                    )
                rows.setdefault(Participation, []).extend(
                    Participation(initiative_id=pk, organisation_id=org, role=role)
                    for org, role in plan["partners"]
                )
                rows.setdefault(Adoption, []).extend(
                    Adoption(initiative_id=pk, organisation_id=org, note=note)
                    for org, note in plan["adoptions"]
                )
                rows.setdefault(TAGGED.model, []).extend(
                    TAGGED.row(pk, tag, self.initiative_type.pk) for tag in plan["tags"]
                )
            for model, objects in rows.items():
                model.objects.bulk_create(objects, batch_size=5000)
            ids = [initiative.pk for initiative in initiatives]
            batch = Initiative.objects.filter(slug__startswith=PREFIX, pk__in=ids)
            if hasattr(batch, "refresh_search_vectors"):
                batch.refresh_search_vectors()
        # With DEBUG on, Django keeps every query's SQL; bulk inserts would pile up hundreds of MB.
        reset_queries()

    def plan(self, rng: random.Random, organisations: list[dict], number: int) -> dict:
        """One initiative and the ids of everything it links to."""
        topic_title, phrase, focus_slugs, topic_goals, topic_tags = rng.choice(TOPICS)
        lead = rng.choice(organisations)
        scope = SCOPES.draw(rng)
        municipality = county = None
        if scope == Scope.LOCAL:
            municipality = (
                self.municipality(lead["municipality_id"])
                if lead["municipality_id"] and rng.random() < 0.7
                else self.place_weights.draw(rng)
            )
            where = municipality.name
        elif scope == Scope.REGIONAL:
            county = rng.choice(self.counties)
            where = county.name
        else:
            where = "hele landet" if scope == Scope.NATIONAL else "Norden"
        place = rng.choice(PLACES)
        people = rng.choice(PEOPLE)
        words = {
            "topic": topic_title,
            "topic_lower": phrase,
            "phrase": phrase,
            "phrase_short": phrase.removeprefix("mindre ").removeprefix("et ").removeprefix("en "),
            "where": where,
            "place": place[0],
            "place_def": place[1],
            "places": place[2],
            "places_def": place[3],
            "places_def_cap": capitalise(place[3]),
            "people": people[0],
            "people_def": capitalise(people[1]),
            "lead": lead["name"],
        }
        title = capitalise(rng.choice(TITLE_TEMPLATES).format(**words))[:200]
        summary = (
            capitalise(rng.choice(SUMMARY_OPENINGS).format(**words)) + rng.choice(SUMMARY_ENDINGS)
        )[:500]
        sentences = [
            s.format(**words) for s in rng.sample(DESCRIPTION_SENTENCES, rng.randint(3, 7))
        ]
        for _ in range(rng.randint(1, 2)):
            sentences.insert(
                rng.randrange(len(sentences) + 1),
                rng.choice(RARE_SENTENCES).format(rare=RARE.draw(rng), rare2=RARE.draw(rng)),
            )
        description = " ".join(sentences)

        phase = PHASES.draw(rng)
        published = self.today - timedelta(seconds=rng.randrange(YEARS_BACK * 365 * 86400))
        start_date, end_date = self.dates(rng, phase, published.date())
        first_name, last_name = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        frame = {
            name: rng.choice(texts).format(**words)
            for name, texts in FRAME_TEXTS.items()
            if rng.random() < 0.5
        }
        created = published - timedelta(weeks=rng.randint(0, 8), hours=rng.randint(2, 72))
        # The owners' last update (freshness): at some moment in the last FRESH_YEARS, never
        # before the publication. Drawn from its own generator, so every other value stays
        # what the seed gave before.
        fresh_from = max(published, self.today - timedelta(days=FRESH_YEARS * 365))
        owner_updated = fresh_from + (self.today - fresh_from) * random.Random(number).random()
        initiative = Initiative(
            created=created,
            updated=published,
            title=title,
            slug=f"{PREFIX}{number:07d}-{slugify(ascii_name(title))}"[:220].rstrip("-"),
            summary=summary,
            description=description,
            phase=phase,
            # Set directly: this is bulk set-up data, not a moderation move (no history, no e-mail).
            status=Initiative.Status.PUBLISHED,
            published_at=published,
            owner_updated_at=owner_updated,
            submitted_at=created + (published - created) / 2,
            lead_organisation_id=lead["pk"],
            involvement=rng.choice(INVOLVEMENTS),
            scope=scope,
            municipality=municipality,
            county=county,
            start_date=start_date,
            end_date=end_date,
            contact_name=f"{first_name} {last_name}",
            contact_role=rng.choice(CONTACT_ROLES),
            contact_email=f"{ascii_name(first_name)}.{ascii_name(last_name)}@example.no",
            contact_phone=f"+47 9{rng.randint(0, 99):02d} {rng.randint(0, 99):02d} {rng.randint(0, 999):03d}",
            **frame,
        )

        goals = set(rng.sample(topic_goals, rng.randint(1, len(topic_goals))))
        if rng.random() < 0.3:
            goals.add(rng.randint(1, 17))
        targets = []
        for goal in goals:
            if self.targets.get(goal) and rng.random() < 0.6:
                targets.extend(rng.sample(self.targets[goal], rng.randint(1, 2)))
        actor_types = {self.actor_types[lead["actor_type__slug"]]}
        actor_types.update(rng.sample(sorted(self.actor_types.values()), rng.randint(0, 2)))
        focus = {self.focus_areas[slug] for slug in focus_slugs if slug in self.focus_areas}
        if rng.random() < 0.2:
            focus.add(rng.choice(sorted(self.focus_areas.values())))
        others = [
            org for org in rng.sample(organisations, min(6, len(organisations))) if org is not lead
        ]
        partners = [(org["pk"], ROLES.draw(rng)) for org in others[: rng.randint(0, 3)]]
        adoptions = []
        if rng.random() < ADOPTION_SHARE:
            adopters = others[3:][: rng.randint(1, 3)]
            adoptions = [(org["pk"], rng.choice(ADOPTION_NOTES)) for org in adopters]
        tags = {self.tags[name] for name in rng.sample(topic_tags, rng.randint(0, len(topic_tags)))}
        return {
            "initiative": initiative,
            "m2m": {
                "goals": sorted(self.goals[g] for g in goals),
                "targets": sorted(set(targets)),
                "purposes": sorted(rng.sample(self.purposes, rng.choice([1, 1, 1, 2, 2, 3]))),
                "actor_types": sorted(actor_types),
                "focus_areas": sorted(focus),
            },
            "partners": partners,
            "adoptions": adoptions,
            "tags": sorted(tags),
        }

    @property
    def today(self) -> datetime:
        # The start of today, so a run's dates do not depend on the time of day it starts
        # and none lies ahead: a publication made after the run is the newest, as in life
        # (the facet engine places it without a rebuild).
        if not hasattr(self, "_today"):
            self._today = timezone.make_aware(datetime.combine(date.today(), clock(0)))
        return self._today

    def municipality(self, pk: int) -> Municipality:
        if not hasattr(self, "_municipalities_by_pk"):
            self._municipalities_by_pk = {m.pk: m for m in self.municipalities}
        return self._municipalities_by_pk[pk]

    @staticmethod
    def dates(rng: random.Random, phase: str, published: date) -> tuple[date | None, date | None]:
        if phase == Initiative.Phase.IDEA:
            return (
                (None, None)
                if rng.random() < 0.6
                else (published + timedelta(days=rng.randint(30, 365)), None)
            )
        start = published - timedelta(days=rng.randint(0, 700))
        if phase == Initiative.Phase.COMPLETED:
            return start, start + timedelta(days=rng.randint(60, 900))
        if rng.random() < 0.5:
            return start, start + timedelta(days=rng.randint(180, 1500))
        return start, None

    # --- after ----------------------------------------------------------------------------

    def analyse(self) -> None:
        """Fresh planner statistics, so the first queries after a big load plan well."""
        started = time.perf_counter()
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql" and not connection.in_atomic_block:
                # Also clears the dead row versions left by the per-batch updates.
                for table in ANALYSED_TABLES:
                    cursor.execute(f"VACUUM ANALYZE {connection.ops.quote_name(table)}")
            elif connection.vendor == "postgresql":
                for table in ANALYSED_TABLES:
                    cursor.execute(f"ANALYZE {connection.ops.quote_name(table)}")
            else:
                cursor.execute("ANALYZE")
        self.say(f"Analysed the tables in {time.perf_counter() - started:.1f} s.")


@contextmanager
def timestamps_as_given(model):
    """Let bulk_create keep the `created` and `updated` set on the instances.

    Synthetic initiatives have a past (created before they were published); the
    fields normally stamp "now". Restored on the way out, even after an error.
    """
    fields = [model._meta.get_field(name) for name in ("created", "updated")]
    saved = [(f.auto_now, f.auto_now_add) for f in fields]
    for f in fields:
        f.auto_now = f.auto_now_add = False
    try:
        yield
    finally:
        for f, (auto_now, auto_now_add) in zip(fields, saved, strict=True):
            f.auto_now, f.auto_now_add = auto_now, auto_now_add


class TaggedThrough:
    """The model taggit stores an initiative's tags in: its generic TaggedItem by default,
    or a through model with a real foreign key if Initiative.tags names one."""

    def __init__(self) -> None:
        self.model = Initiative._meta.get_field("tags").through
        names = {f.name for f in self.model._meta.get_fields()}
        self.is_generic = "content_type" in names

    def row(self, initiative_id: int, tag_id: int, content_type_id: int):
        if self.is_generic:
            return self.model(
                content_type_id=content_type_id, object_id=initiative_id, tag_id=tag_id
            )
        return self.model(content_object_id=initiative_id, tag_id=tag_id)


TAGGED = TaggedThrough()


def relation_column(relation: str) -> str:
    """The through table's field pointing at the other side of `relation`."""
    return {
        "goals": "goal",
        "targets": "target",
        "purposes": "purpose",
        "actor_types": "actortype",
        "focus_areas": "focusarea",
    }[relation]


RARE = zipf(RARE_WORDS, 1.1)
SCOPES = Weighted(*zip(*SCOPE_WEIGHTS, strict=True))
PHASES = Weighted(*zip(*PHASE_WEIGHTS, strict=True))
ROLES = Weighted(*zip(*ROLE_WEIGHTS, strict=True))
ANALYSED_TABLES = [
    Initiative._meta.db_table,
    Initiative.goals.through._meta.db_table,
    Initiative.targets.through._meta.db_table,
    Initiative.purposes.through._meta.db_table,
    Initiative.actor_types.through._meta.db_table,
    Initiative.focus_areas.through._meta.db_table,
    Participation._meta.db_table,
    Adoption._meta.db_table,
    Organisation._meta.db_table,
    TAGGED.model._meta.db_table,
    Tag._meta.db_table,
]
