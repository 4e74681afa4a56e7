import pytest

from ideabank.slugs import slugify_nb, unique_slug
from initiatives.models import Initiative
from tests.factories import make_initiative

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("text", "slug"),
    [
        ("Gjenbruk av møbler", "gjenbruk-av-mobler"),
        ("Bærekraftsfredag på Ås", "baerekraftsfredag-pa-as"),
        ("ÆØÅ æøå", "aeoa-aeoa"),
        ("Café Müller", "cafe-muller"),
        ("<script>", "script"),
    ],
)
def test_slugify_nb_spells_out_norwegian_letters(text, slug):
    assert slugify_nb(text) == slug


def test_unique_slug_adds_a_number_and_avoids_url_words():
    make_initiative(slug="skjotselsplan")

    assert unique_slug("Skjøtselsplan", Initiative.objects.all(), fallback="x") == "skjotselsplan-2"
    assert (
        unique_slug("Nytt", Initiative.objects.all(), fallback="x", reserved={"nytt"}) == "nytt-2"
    )
    assert unique_slug("!!!", Initiative.objects.all(), fallback="tiltak") == "tiltak"
