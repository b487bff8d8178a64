"""Errors the interfaces turn into messages (the domain's own are in states.rules)."""


class UserError(Exception):
    """Bad input from the person at the keyboard: say what and how to fix it."""
