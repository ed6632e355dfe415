"""Departments, users and their roles, registered devices, login and tokens."""
