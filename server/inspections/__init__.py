"""Inspections, their inspectors, item results, conflicts and amendments."""
