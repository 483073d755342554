"""Schemas of the shapes teams really have, with their fixtures, for the real-schema tests."""
