"""The one shape of errors: what the user can act on, apart from bugs.

Every exception the core raises for bad input or a troubled environment derives from
:class:`UserError`; its message is a sentence meant for the user (no traceback). Anything else
that escapes is a bug. Front ends sort errors by these classes only, never by a class's name or
its message text: the CLI prints a user error and exits 2 (a :class:`DatabaseError` exits 3);
the GUI shows a user error in the status bar or the view, and a bug in the log and an error
dialog (after qutebrowser's split of known errors from bugs).

Classes that also derive from ``ValueError`` keep doing so, for callers that catch that.
Internal signals (a cancelled job, a fallback from one backend to another) are not user errors.
"""

from __future__ import annotations


class UserError(Exception):
    """An error the user can act on; the message says what went wrong and, if it can, how to
    fix it."""


class QueryError(UserError):
    """A search the user should rephrase (unknown words, bad syntax) or that cannot run here."""


class ImageError(UserError):
    """A file cannot be read as an image."""


class WordSpaceProblem(UserError):
    """Word vectors, a projection or a word list cannot be used."""


class TaughtWordProblem(UserError):
    """A taught word cannot be made, renamed or used; nothing was changed."""


class ModelProblem(UserError):
    """The image model or its inference backend cannot be used on this machine."""


class DatabaseError(UserError):
    """Any failure of the library database (exit status 3 in the CLI)."""


class DatabaseCorruptError(DatabaseError):
    """The file is not a usable SQLite database."""


class DatabaseLockedError(DatabaseError):
    """Another program holds the database."""


class DatabaseFullError(DatabaseError):
    """The disk holding the database is full."""
