"""Shared pytest configuration.

Fixtures that belong to one area live in that area's test module; this file
only holds what every test module may use.
"""
