"""How every command fails: one exception type, one error path, three exit codes.

Stages raise their own exceptions (StorageError, SourceConfigError, ...);
anything deriving from `UserFacingError` or listed in `cli._user_errors()` is
reported by `cli.LinernotesGroup` as one `error: ...` line on stderr, without a
traceback unless `--debug` is given. Commands raise; they never print an error
and exit themselves.
"""

from __future__ import annotations

EXIT_FAILED = 1  # the command ran and failed: one `error:` line says why
EXIT_USAGE = 2  # bad arguments (click.UsageError / BadParameter): click's own convention
EXIT_INTERRUPTED = 130  # Ctrl-C, as shells report SIGINT


class UserFacingError(Exception):
    """An error whose message is complete and readable on its own."""
