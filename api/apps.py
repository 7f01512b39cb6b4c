from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "api"
    verbose_name = "API"

    def ready(self) -> None:
        from api import receivers, schema  # noqa: F401  (key cache invalidation; the key scheme's OpenAPI extension)
