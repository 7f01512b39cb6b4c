class LifecycleError(Exception):
    """A deletion the rules refuse; `message` is shown to the person as is, on `field` if named."""

    def __init__(self, message: str, *, code: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.field = field
