"""Forms for joining networks, filtering lists and registering for events."""

# --- Networks and join requests ---------------------------------------------------


# --- Working groups ------------------------------------------------------------------


# --- Events, registration and calendars ------------------------------------------
