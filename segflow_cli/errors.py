"""User-facing errors: one line that names the problem and the fix.

The CLI catches :class:`SegflowError` and prints :meth:`SegflowError.for_cli` without a traceback,
then exits with status 2. Library code raises it (or a subclass) for anything a user can fix.
Library messages name Python arguments (``max_size=8: ...``), never command-line flags; where the
command line words it differently, the error carries that wording too (``cli=``, or an
:class:`ArgumentError`, whose flag is the argument's name in kebab case: ``--max-size 8: ...``).
"""

from __future__ import annotations

import os


class SegflowError(Exception):
    """A problem with the user's input, files or environment; the message says how to fix it.

    ``cli``: the same message as the command line should print it (naming flags), if it differs."""

    def __init__(self, message: str = "", *, cli: str | None = None) -> None:
        super().__init__(message)
        self.cli = cli

    def for_cli(self) -> str:
        """The message the CLI prints (flags instead of argument names where they differ)."""
        return self.cli if self.cli is not None else str(self)


class FormatError(SegflowError, ValueError):
    """A file exists but is not in the expected format (bad tag, truncated, wrong size)."""


class WeightsError(SegflowError):
    """Weights are missing, truncated, corrupt or belong to another architecture."""


class ArgumentError(SegflowError):
    """A bad value for one argument. ``str()`` names the Python argument (``max_size=8: ...``);
    :meth:`for_cli` names the command-line flag (``--max-size 8: ...``), which the CLI prints.

    ``fix`` / ``cli_fix``: how to fix it, in library and in command-line words (default: the same);
    ``flag``: the flag when it is not ``--`` + the argument in kebab case."""

    def __init__(self, arg: str, value, problem: str, *, fix: str = "", cli_fix: str | None = None,
                 flag: str | None = None) -> None:
        self.arg, self.value, self.problem = arg, value, problem
        self.fix, self.cli_fix = fix, fix if cli_fix is None else cli_fix
        self.flag = flag or "--" + arg.replace("_", "-")
        shown = repr(os.fspath(value)) if isinstance(value, os.PathLike) else repr(value)
        super().__init__(f"{arg}={shown}: {problem}" + (f"; {fix}" if fix else ""))

    def for_cli(self) -> str:
        return f"{self.flag} {self.value}: {self.problem}" + (f"; {self.cli_fix}" if self.cli_fix else "")
