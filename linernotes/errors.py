"""The one exception type the CLI turns into a single stderr line and exit code 1.

Stages raise their own exceptions (StorageError, SourceConfigError, ...);
anything deriving from `UserFacingError` or listed in `cli.USER_ERRORS` is
reported without a traceback unless `--debug` is given.
"""

from __future__ import annotations


class UserFacingError(Exception):
    """An error whose message is complete and readable on its own."""


class NotAvailableError(UserFacingError):
    """A command whose stage has not been built (or whose optional dependency is missing)."""
