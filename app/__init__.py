"""The ``microgov`` command line and the classroom web view (top layer)."""
