"""Moving pages in and out: the Statuspage importer and the lossless page archive."""
