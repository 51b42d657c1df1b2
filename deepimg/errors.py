"""The one exception type that reaches the user as a one-line message (exit status 2)."""


class UserError(Exception):
    """Bad input from the user: the message names the bad value and what is accepted."""
