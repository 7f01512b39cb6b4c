class InvitationError(Exception):
    """A refused invitation operation; `message` is safe to show to the person who tried."""

    def __init__(self, message: str, *, code: str = "invalid") -> None:
        super().__init__(message)
        self.message = message
        self.code = code


class InvitationBusy(InvitationError):
    """The invitation's row lock could not be obtained in time; nothing was changed."""

    def __init__(self) -> None:
        super().__init__(
            "Someone else is changing this invitation right now. Nothing was changed; please try again.",
            code="busy",
        )
