"""Scheduled work inside the server: which jobs exist, how one run is claimed and recorded, the scheduler."""
