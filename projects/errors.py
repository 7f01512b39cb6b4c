class ProjectError(Exception):
    """A refused project operation; `message` is safe to show, `field` names the input at fault."""

    def __init__(self, message: str, *, code: str = "invalid", field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.field = field


class ProjectVersionConflict(ProjectError):
    """The project changed since the caller read it (their `expected_version` is stale)."""

    def __init__(self, *, current_version: int) -> None:
        super().__init__(
            f"The project was changed by someone else (now version {current_version}); "
            "read it again and retry.",
            code="version_conflict",
        )
        self.current_version = current_version
