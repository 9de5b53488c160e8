"""Who may do what on which object: actors, one policy table, and the FastAPI dependencies every route uses."""
