class MembershipError(Exception):
    """A member change the rules refuse; `message` is shown to the person as is."""

    def __init__(self, message: str, *, code: str) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
