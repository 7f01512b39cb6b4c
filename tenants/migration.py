"""Tenant schemas migrated in seconds: only the ones behind, in parallel, each doing only its own work.

django-tenants' executors run Django's whole `migrate` command once per schema: the system
checks (~100 ms), the "changes not yet reflected" autodetector (~60-90 ms) and a render of
the final project state for post_migrate (~80-100 ms, mostly dj-stripe's 59 models), about
0.3 s per schema with nothing to apply. They also record every app's migrations (dj-stripe's
too) in every schema, so a shared app's upgrade runs once per tenant. Here:

- one catalog query reads every schema's applied tenant-app migrations, and the schemas
  that hold the tenant apps' leaf migrations are skipped without opening anything else;
- the migration graph is loaded once per run, and the project state before the plan is built
  and rendered once per distinct starting point (normally one for the whole run); each
  schema gets a clone of it and `MigrationExecutor.migrate(plan=..., state=...)`;
- shared apps' migrations count as applied in every tenant schema (their tables live in
  public and the public run migrates them once), so they are never planned, run or recorded
  per tenant, upgrades included;
- post_migrate is not sent per schema: its receivers (contenttypes, auth permissions) write
  shared tables, which the public run covers;
- the template schema goes first, under an advisory lock that provisioning takes shared, so a
  sign-up during a run either copies the migrated template or committed its schema before
  the catalog was read (and is then migrated with the others);
- the status of each schema is kept in public (`SchemaMigration`, shown in the admin), but
  the schemas' own `django_migrations` stay the truth: a run killed midway is resumed by
  running it again, and what committed is never applied twice.
"""

from __future__ import annotations

import queue
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import datetime

from django.apps import apps
from django.conf import settings
from django.db import connection, transaction
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.migration import Migration
from django.db.migrations.recorder import MigrationRecorder
from django.db.migrations.state import ProjectState
from django.utils import timezone
from django_tenants.utils import get_public_schema_name

from tenants.models import SchemaMigration, Tenant
from tenants.schema_template import TEMPLATE_LOCK, quote, template_ensure, template_schema

Node = tuple[str, str]
Log = Callable[[str], None]

# Session advisory lock held for a whole run: two releases at once would migrate the same
# schemas twice over (the second fails on every one of them).
_RUN_LOCK = 0x5C4E_4D01
# Schemas per catalog query: each one takes a lock on that schema's django_migrations, and
# the lock table holds max_locks_per_transaction x max_connections of them in all.
_CATALOG_CHUNK = 500


class MigrationRunBusy(RuntimeError):
    """Another `migrate_schemas` holds the run lock."""


def tenant_app_labels() -> frozenset[str]:
    names = set(settings.TENANT_APPS)
    return frozenset(config.label for config in apps.get_app_configs() if config.name in names)


@dataclass
class _Start:
    """Schemas that have the same tenant migrations applied, and what they all need."""

    applied: frozenset[Node]
    plan: list[tuple[Migration, bool]]
    state: ProjectState | None = None
    schemas: list[str] = field(default_factory=list)


class _SchemaExecutor(MigrationExecutor):
    """Django's executor on one worker's connection, sharing the run's graph.

    Sharing the loader (read only while migrating) saves each worker from reloading every
    migration module; the full plan `migrate()` asks for on every call is the same for every
    schema, so it is computed once.
    """

    def __init__(self, run: MigrationRun) -> None:
        self.connection = connection
        self.loader = run.loader
        self.recorder = _KnownTableRecorder(connection)
        self.progress_callback = None
        self._full_plan = run.full_plan

    def migration_plan(self, targets, clean_start=False):
        if clean_start:
            return self._full_plan
        return super().migration_plan(targets, clean_start=clean_start)

    def apply_migration(self, state, migration, fake=False, fake_initial=False):
        """Apply a migration and record it in one transaction.

        Django records a migration whose schema editor deferred SQL (the index of an added
        field, say) only after that editor's transaction has committed, so a run killed in
        between leaves the DDL without its record, and the resumed run fails on it ("column
        ... already exists"). In an outer transaction the editor's becomes a savepoint and
        both commit together. Non-atomic migrations cannot be helped.
        """
        with self._with_its_record(migration):
            return super().apply_migration(state, migration, fake=fake, fake_initial=fake_initial)

    def unapply_migration(self, state, migration, fake=False):
        """Unapply a migration and remove its record in one transaction (Django: two)."""
        with self._with_its_record(migration):
            return super().unapply_migration(state, migration, fake=fake)

    def _with_its_record(self, migration: Migration):
        return transaction.atomic(using=self.connection.alias) if migration.atomic else nullcontext()


class _KnownTableRecorder(MigrationRecorder):
    # The run creates every schema's django_migrations before migrating it; asking the
    # catalog again would list hundreds of public tables for each schema.
    def has_table(self) -> bool:
        return True


class MigrationRun:
    """The graph, the tenant apps' targets and the project states, built once per run."""

    def __init__(self) -> None:
        self.loader = MigrationLoader(None, ignore_no_migrations=True)
        graph = self.loader.graph
        self.tenant_labels = tenant_app_labels()
        self.tenant_nodes = frozenset(node for node in graph.nodes if node[0] in self.tenant_labels)
        self.shared_nodes = frozenset(node for node in graph.nodes if node[0] not in self.tenant_labels)
        self.leaves: list[Node] = sorted(node for node in graph.leaf_nodes() if node[0] in self.tenant_labels)
        self.target = [f"{app}.{name}" for app, name in self.leaves]
        self.full_plan = self._plan(graph.leaf_nodes(), applied=frozenset())
        self._starts: dict[frozenset[Node], _Start] = {}
        self._lock = threading.Lock()
        self._without_table: set[str] = set()

    def _plan(self, targets: Iterable[Node], *, applied: frozenset[Node]) -> list[tuple[Migration, bool]]:
        seen = set(applied)
        plan = []
        for target in targets:
            for node in self.loader.graph.forwards_plan(target):
                if node not in seen:
                    seen.add(node)
                    plan.append((self.loader.graph.nodes[node], False))
        return plan

    def _resolve(self, recorded: set[Node]) -> frozenset[Node]:
        """Recorded names as graph nodes: a squashed migration counts once all it replaces are."""
        applied = set(recorded)
        for key, migration in self.loader.replacements.items():
            if key[0] in self.tenant_labels and set(migration.replaces) <= recorded:
                applied.add(key)
        return frozenset(applied & self.tenant_nodes)

    def start_for(self, recorded: set[Node]) -> _Start:
        applied = self._resolve(recorded)
        start = self._starts.get(applied)
        if start is None:
            start = _Start(applied=applied, plan=self._plan(self.leaves, applied=self.shared_nodes | applied))
            self._starts[applied] = start
        return start

    def state_for(self, start: _Start) -> ProjectState:
        """The rendered state before `start`'s plan (built once, then cloned per schema)."""
        with self._lock:
            if start.state is None:
                state = ProjectState(real_apps=self.loader.unmigrated_apps)
                applied = self.shared_nodes | start.applied
                for migration, _ in self.full_plan:
                    if (migration.app_label, migration.name) in applied:
                        migration.mutate_state(state, preserve=False)
                state.apps  # noqa: B018 - render now, once, not in every schema
                start.state = state
            return start.state.clone()

    # --- the catalog ------------------------------------------------------------------------

    def recorded(self, schemas: Sequence[str]) -> dict[str, set[Node] | None]:
        """Each schema's recorded tenant-app migrations (None: it has no django_migrations)."""
        found: dict[str, set[Node] | None] = dict.fromkeys(schemas)
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT n.nspname FROM pg_namespace n JOIN pg_class c ON c.relnamespace = n.oid "
                "WHERE c.relname = 'django_migrations' AND c.relkind = 'r' AND n.nspname = ANY(%s)",
                [list(schemas)],
            )
            with_table = [name for (name,) in cursor.fetchall()]
            self._without_table.update(set(schemas) - set(with_table))
            for name in with_table:
                found[name] = set()
            labels = sorted(self.tenant_labels)
            for offset in range(0, len(with_table), _CATALOG_CHUNK):
                chunk = with_table[offset : offset + _CATALOG_CHUNK]
                union = " UNION ALL ".join(
                    f"SELECT %s::text, app, name FROM {quote(name)}.django_migrations" for name in chunk
                )
                cursor.execute(
                    f"SELECT * FROM ({union}) recorded (schema_name, app, name) WHERE app = ANY(%s)",
                    [*chunk, labels],
                )
                for schema_name, app, name in cursor.fetchall():
                    found[schema_name].add((app, name))  # type: ignore[union-attr]
        return found

    def behind(self, schemas: Sequence[str]) -> dict[str, _Start]:
        """The schemas that miss a tenant migration, each with where it starts from."""
        result = {}
        for schema_name, recorded in self.recorded(schemas).items():
            start = self.start_for(recorded or set())
            if recorded is None or start.plan:
                result[schema_name] = start
        return result

    # --- one schema -------------------------------------------------------------------------

    def migrate_schema(self, schema_name: str, start: _Start) -> None:
        """Apply `start`'s plan in one schema, on this thread's connection."""
        try:
            if schema_name in self._without_table:
                # Only the schema on the path: the recorder must not find public's table.
                connection.set_schema(schema_name, include_public=False)  # type: ignore[attr-defined]
                MigrationRecorder(connection).ensure_schema()
            connection.set_schema(schema_name)  # type: ignore[attr-defined]
            if start.plan:
                _SchemaExecutor(self).migrate(self.leaves, plan=start.plan, state=self.state_for(start))
        finally:
            connection.set_schema_to_public()  # type: ignore[attr-defined]


def schemas_migrate_to(
    *, target: tuple[str, str | None], schemas: Sequence[str] | None = None, log: Log = print
) -> list[str]:
    """`migrate_schemas <app> <name|zero>` in tenant schemas, one after another; the schemas changed.

    An administrator's tool (rolling one app back or forward), so it is not parallel and has
    no status rows; shared apps' migrations still count as applied and are never recorded.
    """
    run = MigrationRun()
    if target[0] not in run.tenant_labels:
        raise ValueError(f"{target[0]} is not a tenant app: its migrations run in public only.")
    names = list(schemas) if schemas is not None else [template_schema(), *tenant_schema_names()]
    changed = []
    for schema_name, recorded in run.recorded(names).items():
        applied = run.shared_nodes | run._resolve(recorded or set())
        executor = _SchemaExecutor(run)
        run.loader.applied_migrations = {node: run.loader.graph.nodes[node] for node in applied}
        plan = executor.migration_plan([target])
        if not plan:
            continue
        try:
            connection.set_schema(schema_name, include_public=False)  # type: ignore[attr-defined]
            MigrationRecorder(connection).ensure_schema()
            connection.set_schema(schema_name)  # type: ignore[attr-defined]
            executor.migrate([target], plan=plan)
        finally:
            connection.set_schema_to_public()  # type: ignore[attr-defined]
        log(f"{schema_name}: {', '.join(f'{m.app_label}.{m.name}' for m, _ in plan)}")
        changed.append(schema_name)
    return changed


@dataclass
class SchemaResult:
    schema_name: str
    started_at: datetime
    finished_at: datetime
    error: str = ""


@dataclass
class MigrationReport:
    checked: int = 0
    migrated: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0


def _work(
    run: MigrationRun, jobs: queue.Queue[tuple[str, _Start] | None], results: queue.Queue[SchemaResult]
) -> None:
    try:
        while (job := jobs.get()) is not None:
            schema_name, start = job
            started_at = timezone.now()
            error = ""
            try:
                run.migrate_schema(schema_name, start)
            except Exception as exc:
                error = "".join(traceback.format_exception_only(exc)).strip()
                connection.close()  # whatever state the failure left the session in
            results.put(SchemaResult(schema_name, started_at, timezone.now(), error))
    finally:
        connection.close()


def _migrate_parallel(run: MigrationRun, batch: dict[str, _Start], workers: int) -> list[SchemaResult]:
    jobs: queue.Queue[tuple[str, _Start] | None] = queue.Queue()
    results: queue.Queue[SchemaResult] = queue.Queue()
    for item in batch.items():
        jobs.put(item)
    count = max(1, min(workers, len(batch)))
    for _ in range(count):
        jobs.put(None)
    threads = [threading.Thread(target=_work, args=(run, jobs, results), daemon=True) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return [results.get() for _ in range(len(batch))]


def _migrate_batches(
    run: MigrationRun,
    behind: dict[str, _Start],
    *,
    attempt: int,
    workers: int,
    batch_size: int,
    report: MigrationReport,
    began: float,
    log: Log,
) -> dict[str, str]:
    """One pass over `behind`, batch after batch; the schemas that failed, with their errors."""
    failed: dict[str, str] = {}
    pending = list(behind.items())
    for offset in range(0, len(pending), batch_size):
        batch = dict(pending[offset : offset + batch_size])
        _status_running(batch)
        results = _migrate_parallel(run, batch, workers)
        _status_results(results)
        errors = {result.schema_name: result.error for result in results if result.error}
        failed.update(errors)
        report.migrated.extend(result.schema_name for result in results if not result.error)
        log(
            f"attempt {attempt}, schemas {offset + 1}-{offset + len(batch)} of {len(pending)}: "
            f"{len(batch) - len(errors)} migrated, {len(errors)} failed "
            f"({time.perf_counter() - began:.1f} s)"
        )
    return failed


def _status_pending(run: MigrationRun, schemas: Iterable[str]) -> None:
    SchemaMigration.objects.bulk_create(
        [
            SchemaMigration(
                schema_name=name, target=run.target, state=SchemaMigration.State.PENDING, error=""
            )
            for name in schemas
        ],
        update_conflicts=True,
        unique_fields=["schema_name"],
        update_fields=["target", "state", "error"],
    )


def _status_running(schemas: Iterable[str]) -> None:
    from django.db.models import F

    SchemaMigration.objects.filter(schema_name__in=list(schemas)).update(
        state=SchemaMigration.State.RUNNING,
        started_at=timezone.now(),
        finished_at=None,
        attempts=F("attempts") + 1,
    )


def _status_results(results: list[SchemaResult]) -> None:
    rows = {
        row.schema_name: row
        for row in SchemaMigration.objects.filter(schema_name__in=[r.schema_name for r in results])
    }
    for result in results:
        row = rows[result.schema_name]
        row.state = SchemaMigration.State.FAILED if result.error else SchemaMigration.State.DONE
        row.started_at, row.finished_at, row.error = result.started_at, result.finished_at, result.error
    SchemaMigration.objects.bulk_update(rows.values(), ["state", "started_at", "finished_at", "error"])


def _status_current(run: MigrationRun, checked: Iterable[str], behind: Iterable[str]) -> None:
    """Rows a killed run left pending or running (or failed) whose schema is current now."""
    current = set(checked) - set(behind)
    SchemaMigration.objects.filter(schema_name__in=current, target=run.target).exclude(
        state=SchemaMigration.State.DONE
    ).update(state=SchemaMigration.State.DONE, error="", finished_at=timezone.now())


@contextmanager
def _advisory_lock(key: int, *, wait: bool) -> Iterator[None]:
    with connection.cursor() as cursor:
        if wait:
            cursor.execute("SELECT pg_advisory_lock(%s)", [key])
        else:
            cursor.execute("SELECT pg_try_advisory_lock(%s)", [key])
            if not cursor.fetchone()[0]:
                raise MigrationRunBusy("Another migrate_schemas is running on this database; wait for it.")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [key])


def tenant_schema_names() -> list[str]:
    return list(
        Tenant.objects.exclude(schema_name=get_public_schema_name())
        .order_by("schema_name")
        .values_list("schema_name", flat=True)
    )


def schemas_behind() -> dict[str, list[str]]:
    """Tenant schemas (template included) that miss migrations, with the leaves they miss."""
    run = MigrationRun()
    names = [template_schema(), *tenant_schema_names()]
    return {
        name: [f"{app}.{migration}" for app, migration in run.leaves if (app, migration) not in start.applied]
        for name, start in run.behind(names).items()
    }


def schemas_migrate(
    *,
    schemas: Sequence[str] | None = None,
    workers: int | None = None,
    batch_size: int | None = None,
    attempts: int | None = None,
    log: Log = print,
) -> MigrationReport:
    """Bring tenant schemas (all, template first, or just `schemas`) to the tenant apps' leaves."""
    workers = workers or settings.MIGRATION_WORKERS
    batch_size = batch_size or settings.MIGRATION_BATCH_SIZE
    attempts = attempts or settings.MIGRATION_ATTEMPTS
    began = time.perf_counter()
    report = MigrationReport()
    connection.set_schema_to_public()  # type: ignore[attr-defined]
    with _advisory_lock(_RUN_LOCK, wait=False):
        run = MigrationRun()
        log(f"tenant apps' targets: {', '.join(run.target) or '(none)'}")
        if schemas is None:
            # Exclusive against provisioning's shared lock: sign-ups wait for the template to
            # be current (one schema: short), and every schema they made before is listed.
            with _advisory_lock(TEMPLATE_LOCK, wait=True):
                template_ensure()
                template = template_schema()
                start = run.behind([template]).get(template)
                if start is not None:
                    log(f"{template}: migrating the template first")
                    run.migrate_schema(template, start)
                names = tenant_schema_names()
                behind = run.behind(names)
        else:
            names = list(schemas)
            behind = run.behind(names)
        report.checked = len(names)
        _status_current(run, names, behind)
        log(f"{len(names)} tenant schemas: {len(names) - len(behind)} current, {len(behind)} behind")
        if not behind:
            report.seconds = time.perf_counter() - began
            return report
        _status_pending(run, behind)
        remaining = behind
        for attempt in range(1, attempts + 1):
            report.failed = _migrate_batches(
                run,
                remaining,
                attempt=attempt,
                workers=workers,
                batch_size=batch_size,
                report=report,
                began=began,
                log=log,
            )
            if not report.failed or attempt == attempts:
                break
            # What applied before a failure stays applied: start again from the catalog.
            remaining = run.behind(list(report.failed))
    report.seconds = time.perf_counter() - began
    return report
