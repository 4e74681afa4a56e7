import pytest
from django.core.exceptions import ValidationError

from initiatives.models import organisation_number_is_valid, validate_organisation_number
from tests.factories import make_organisation

pytestmark = pytest.mark.django_db

# Real, published numbers: Brønnøysundregistrene, Equinor, Oslo kommune, Asker kommune.
VALID = ["974760673", "923609016", "940192226", "971032081"]
INVALID = [
    "974760674",  # wrong check digit
    "923609017",
    "100000130",  # the first eight digits give remainder 1, so no check digit can be right
    "12345678",  # too short
    "9747606730",  # too long
    "97476067a",
    "974 760 673",
    "٩٧٤٧٦٠٦٧٣",  # Arabic-Indic digits: isdigit() but not ASCII
    "",
]


@pytest.mark.parametrize("number", VALID)
def test_organisation_number_valid_accepted(number):
    assert organisation_number_is_valid(number) is True
    validate_organisation_number(number)


@pytest.mark.parametrize("number", INVALID)
def test_organisation_number_invalid_refused(number):
    assert organisation_number_is_valid(number) is False
    with pytest.raises(ValidationError, match="not a valid organisation number"):
        validate_organisation_number(number)


def test_organisation_number_optional_on_organisation():
    organisation = make_organisation(organisation_number="")

    organisation.full_clean()

    assert organisation.organisation_number == ""


def test_organisation_full_clean_names_the_check_digit_error():
    organisation = make_organisation()
    organisation.organisation_number = "974760674"

    with pytest.raises(ValidationError) as error:
        organisation.full_clean()

    assert list(error.value.message_dict) == ["organisation_number"]
    assert "check digit" in error.value.message_dict["organisation_number"][0]
