"""Host -> tenant, cached per process.

A tenant request must not spend a query on finding its tenant. Each process keeps a bounded
map of host -> Tenant (unknown hosts included, so a flood of random hosts costs at most one
query each and cannot grow memory without bound). A change to a Domain or Tenant bumps a
generation number in the shared cache on commit; the changing process drops its map at once
and every other process notices within TENANT_RESOLUTION_RECHECK_SECONDS.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict

import structlog
from django.conf import settings
from django.core.cache import cache
from django_tenants.utils import schema_context

from tenants.models import Domain, Tenant

logger = structlog.get_logger(__name__)

GENERATION_KEY = "tenants:resolution:generation"
MAX_ENTRIES = 10_000
_MISSING = object()


class TenantResolver:
    def __init__(self) -> None:
        self._entries: OrderedDict[str, Tenant | None] = OrderedDict()
        self._lock = threading.Lock()
        self._generation: int | None = None
        self._checked_at = 0.0

    def resolve(self, hostname: str) -> Tenant | None:
        """The tenant that owns `hostname`, or None when no Domain matches."""
        self._drop_if_stale()
        with self._lock:
            found = self._entries.get(hostname, _MISSING)
            if found is not _MISSING:
                self._entries.move_to_end(hostname)
                return found  # type: ignore[return-value]
        tenant = self._load(hostname)
        with self._lock:
            self._entries[hostname] = tenant
            while len(self._entries) > MAX_ENTRIES:
                self._entries.popitem(last=False)
        return tenant

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    @staticmethod
    def _load(hostname: str) -> Tenant | None:
        # The whole tenant row: a deferred field would cost a hidden query on first use.
        domain = Domain.objects.select_related("tenant").filter(domain=hostname).first()
        return domain.tenant if domain else None

    def _drop_if_stale(self) -> None:
        now = time.monotonic()
        if now - self._checked_at < settings.TENANT_RESOLUTION_RECHECK_SECONDS:
            return
        self._checked_at = now
        try:
            # The generation lives in the shared cache, outside any tenant's key space.
            with schema_context("public"):
                generation = cache.get(GENERATION_KEY, 0)
        except Exception:
            # Redis down must not take every tenant page down with it: keep serving the map
            # (this process's own changes still clear it), and drop it once Redis is back.
            logger.warning("tenant resolution: generation unreadable, keeping cached hosts", exc_info=True)
            self._generation = None
            return
        if generation != self._generation:
            self._generation = generation
            self.clear()

    def changed_here(self, generation: int | None) -> None:
        """This process changed a Domain or Tenant (committed): forget everything now.

        Recording the generation it bumped to spares a second, needless clear at the next
        check; a failed bump (None) makes the next successful check clear again.
        """
        with self._lock:
            self._entries.clear()
            self._generation = generation


resolver = TenantResolver()


def resolution_invalidate() -> None:
    """Forget cached host mappings here and, within seconds, in every other process."""
    generation: int | None = None
    try:
        with schema_context("public"):
            try:
                generation = cache.incr(GENERATION_KEY)
            except ValueError:
                generation = 1
                cache.set(GENERATION_KEY, generation, timeout=None)
    except Exception:
        # The change is committed already; failing here would fail its caller after the fact.
        logger.error("tenant resolution: could not tell other processes of a change", exc_info=True)
    resolver.changed_here(generation)
