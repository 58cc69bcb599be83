"""A module with no app in it."""

VALUE = 1
