"""File helpers: atomic writes and secret redaction."""
