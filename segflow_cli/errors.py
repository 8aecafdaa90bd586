"""User-facing errors: one line that names the problem and the fix.

The CLI catches :class:`SegflowError` and prints its message without a traceback, then exits
with status 2. Library code raises it (or a subclass) for anything a user can fix.
"""


class SegflowError(Exception):
    """A problem with the user's input, files or environment; the message says how to fix it."""


class FormatError(SegflowError, ValueError):
    """A file exists but is not in the expected format (bad tag, truncated, wrong size)."""


class WeightsError(SegflowError):
    """Weights are missing, truncated, corrupt or belong to another architecture."""
