"""English formats: a date and time always says its zone (CET, CEST), since engineers and
customers read the page's zone, not the server's."""

DATETIME_FORMAT = "j M Y, H:i T"
SHORT_DATETIME_FORMAT = "j M Y H:i T"
