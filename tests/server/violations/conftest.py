"""Fixtures: the closed-loop world (department, people, enterprises, a checklist with a major criterion)."""

from tests.server.hazards.factories import world  # noqa: F401  (a fixture, found by pytest by name)
