"""The project's exceptions, rooted in one class so callers can catch them all.

Expected problems with *input* (a broken article, a failing source) are not
raised through the pipeline: they are collected as `Problem` values and
reported together, so one bad file never stops the rest of the work.
Exceptions are for what stops a command as a whole (a broken configuration,
an unwritable output directory, a store that cannot be opened).
"""

from __future__ import annotations


class FeedsError(Exception):
    """Base of every error this project raises on purpose; its text is for users."""


class ConfigError(FeedsError):
    """The configuration (feeds.toml) is invalid: nothing can be done without it."""


class SourceError(FeedsError):
    """A source, or a whole source list, cannot be used; the message starts with `where:`.

    Unlike a ConfigError this stops nothing but the source itself: a bad
    `[[source]]` or OPML file is reported and every other source is still
    fetched (`where` is `path:line`, or the URL given on the command line).
    """

    def __init__(self, where: str, reason: str) -> None:
        super().__init__(f"{where}: {reason}")
        self.where = where
        self.reason = reason


class ArticleError(FeedsError):
    """A local article cannot be read; the message starts with `path:line:`."""

    def __init__(self, path: str, line: int, reason: str) -> None:
        super().__init__(f"{path}:{line}: {reason}")
        self.path = path
        self.line = line
        self.reason = reason

    def __reduce__(self) -> tuple[type[ArticleError], tuple[str, int, str]]:
        # Parsing runs in worker processes; the error must survive pickling.
        return (type(self), (self.path, self.line, self.reason))


class FetchError(FeedsError):
    """A remote source could not be fetched (network, TLS, HTTP status, size)."""


class ParseError(FeedsError):
    """Fetched bytes are not a feed this project can read."""


class NotAFeedError(ParseError):
    """Fetched bytes hold no feed at all: an HTML page, JSON that is no JSON Feed, nothing.

    Told apart from a feed too broken to read, because the cure differs:
    the source's URL is wrong, not the feed.
    """


class StoreError(FeedsError):
    """The entry store cannot be opened, migrated or written."""


class OutputError(FeedsError):
    """The output directory cannot be written."""


class TemplateError(FeedsError):
    """A page template cannot be rendered; the message starts with `path:line:`.

    Reported as a problem of the build: the feeds are written, the pages
    stay as they were until the template is fixed.
    """

    def __init__(self, where: str, reason: str) -> None:
        super().__init__(f"{where}: {reason}")
        self.where = where
        self.reason = reason


class SubscriptionError(FeedsError):
    """A WebSub subscription request the own hub refuses; the message says why, for the subscriber."""


class LockedError(FeedsError):
    """Another feeds process holds the project's lock."""


class UsageError(FeedsError):
    """The command line asks for something impossible (no project at --root, a bad port)."""
