"""Subject search: organisations by name or unified code, substring, traditional script and typo tolerant."""
