"""What the studio refuses, said for people."""


class StudioError(Exception):
    """A request the studio refuses, with a message for the person and the
    form field it concerns (if any)."""

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field
