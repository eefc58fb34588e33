"""govssi composition root: the ``govssi`` command line and the wiring of the services."""
