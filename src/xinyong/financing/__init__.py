"""信易贷: financial institutions, products, needs, matching and claims, grants of access, the authorised credit view, loans."""
