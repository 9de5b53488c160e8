"""What pages of every domain share: the Jinja2 templates, rendering, and the registry of page sections and /admin
menu links that several domains contribute to. Low in the dependency order so that no domain imports `web`."""
