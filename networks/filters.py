"""One FilterSet per list page: networks, working groups, events."""
