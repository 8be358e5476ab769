"""Errors of the access reviews app."""


class ReviewError(Exception):
    """A review change that cannot be made (already signed off, a line left undecided, …)."""


class ReviewForbidden(ReviewError):
    """The user may not do this to this campaign or item (role, assignment, own team)."""


class ReviewInvalid(ReviewError):
    """Bad input for a decision; ``field`` names the input it is about, if any."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field
