"""Dutch formats: a date and time always says its zone (CET, CEST)."""

DATETIME_FORMAT = "j M Y, H:i T"
SHORT_DATETIME_FORMAT = "j-n-Y H:i T"
