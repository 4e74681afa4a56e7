"""Public pages for networks, working groups and events; join requests, registration, calendars."""

# --- Networks and join requests ---------------------------------------------------


# --- Working groups ------------------------------------------------------------------


# --- Events, registration and calendars ------------------------------------------
