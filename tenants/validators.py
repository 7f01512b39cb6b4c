"""Rules for tenant slugs: they become DNS labels and PostgreSQL schema names."""

import re

from django.core.exceptions import ValidationError

SLUG_PATTERN = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$")
SLUG_MAX_LENGTH = 40

# Names a customer must not take: they are (or may become) our own hosts, or confuse people.
RESERVED_SLUGS = frozenset(
    """
    admin administrator api app apps assets auth billing blog cdn dashboard db dev docs
    download email ftp help imap internal localhost login logout mail media my new news
    ns ns1 ns2 pop pop3 postgres public redis root security settings signup smtp sso
    staff static status stripe support system team template tenant test web webhooks
    webmail ws www
    """.split()  # noqa: SIM905 (a word list reads better than a list literal)
)


def validate_slug(value: str) -> None:
    """Refuse slugs that are not DNS-safe labels or that we keep for ourselves."""
    if not value:
        raise ValidationError("Enter a subdomain.", code="required")
    if len(value) > SLUG_MAX_LENGTH:
        raise ValidationError(f"Use at most {SLUG_MAX_LENGTH} characters.", code="max_length")
    if not SLUG_PATTERN.match(value):
        raise ValidationError(
            "Use lowercase letters, digits and hyphens; start and end with a letter or digit.",
            code="invalid",
        )
    if "--" in value:
        raise ValidationError("Do not use two hyphens in a row.", code="invalid")
    if value in RESERVED_SLUGS:
        raise ValidationError(f"“{value}” is reserved; choose another subdomain.", code="reserved")


def schema_name_for(slug: str) -> str:
    """The PostgreSQL schema of a tenant: never collides with public, pg_* or the template."""
    return "t_" + slug.replace("-", "_")


HOSTNAME_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


def validate_hostname(value: str) -> None:
    """A lower-case DNS host name such as `app.example.com` (no scheme, port or path)."""
    labels = value.split(".")
    if len(value) > 253 or len(labels) < 2 or not all(HOSTNAME_LABEL.match(x) for x in labels):
        raise ValidationError(f"“{value}” is not a valid host name.", code="invalid")
