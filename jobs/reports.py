"""Report writers: rows streamed from the database into a file on disk, never a list in memory.

Each writer reads with `iterator(chunk_size=...)` (a server-side cursor under PostgreSQL) and
writes as it goes; XLSX uses XlsxWriter's `constant_memory` mode, which flushes each row to
disk. A writer yields after every chunk the rows written so far, so the service can report
progress; the total is counted first (one COUNT query) to turn rows into a percentage.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import IO, Any

import xlsxwriter
from django.db.models import QuerySet
from django.utils import timezone

from accounts.models import Membership
from activity.models import AuditEvent
from jobs.models import Job

CHUNK_ROWS = 2000


@dataclass(frozen=True)
class ReportSpec:
    extension: str
    content_type: str


SPECS = {
    Job.Kind.MEMBERS_CSV: ReportSpec("csv", "text/csv"),
    Job.Kind.ACTIVITY_CSV: ReportSpec("csv", "text/csv"),
    Job.Kind.SUMMARY_XLSX: ReportSpec(
        "xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    ),
}


def members_queryset(*, tenant_id: int) -> QuerySet[Membership]:
    return Membership.objects.filter(tenant_id=tenant_id).select_related("user").order_by("id")


def activity_queryset(*, date_from: date, date_to: date) -> QuerySet[AuditEvent]:
    start = timezone.make_aware(datetime.combine(date_from, time.min))
    end = timezone.make_aware(datetime.combine(date_to + timedelta(days=1), time.min))
    return AuditEvent.objects.filter(created_at__gte=start, created_at__lt=end).order_by("created_at", "id")


def report_total(*, job: Job, tenant_id: int) -> int:
    """How many rows the report will hold (for its progress percentage)."""
    if job.kind == Job.Kind.ACTIVITY_CSV:
        return activity_queryset(**_dates(job)).count()
    members = members_queryset(tenant_id=tenant_id).count()
    if job.kind == Job.Kind.SUMMARY_XLSX:
        return members + AuditEvent.objects.count()
    return members


def report_write(*, job: Job, tenant_id: int, tenant_name: str, out: IO[bytes]) -> Iterator[int]:
    """Write the report of `job` into `out`, yielding the number of rows written after each chunk."""
    if job.kind == Job.Kind.MEMBERS_CSV:
        yield from _csv(out, ["email", "name", "role", "joined_at"], _member_rows(tenant_id))
    elif job.kind == Job.Kind.ACTIVITY_CSV:
        yield from _csv(out, ["at", "action", "actor", "target"], _activity_rows(**_dates(job)))
    elif job.kind == Job.Kind.SUMMARY_XLSX:
        yield from _summary_xlsx(out, tenant_id=tenant_id, tenant_name=tenant_name)
    else:
        raise ValueError(f"unknown report kind {job.kind!r}")


def _dates(job: Job) -> dict[str, date]:
    return {
        "date_from": date.fromisoformat(job.params["date_from"]),
        "date_to": date.fromisoformat(job.params["date_to"]),
    }


def _member_rows(tenant_id: int) -> Iterator[list[Any]]:
    for membership in members_queryset(tenant_id=tenant_id).iterator(chunk_size=CHUNK_ROWS):
        user = membership.user
        yield [user.email, user.get_full_name(), membership.role, membership.created_at.isoformat()]


def _activity_rows(*, date_from: date, date_to: date) -> Iterator[list[Any]]:
    for event in activity_queryset(date_from=date_from, date_to=date_to).iterator(chunk_size=CHUNK_ROWS):
        yield [event.created_at.isoformat(), event.action, event.actor_email, event.target]


class _Utf8Writer:
    """csv.writer writes text; the file is bytes (storage backends take binary files)."""

    def __init__(self, out: IO[bytes]) -> None:
        self.out = out

    def write(self, text: str) -> int:
        return self.out.write(text.encode())


def _csv(out: IO[bytes], header: list[str], rows: Iterator[list[Any]]) -> Iterator[int]:
    writer = csv.writer(_Utf8Writer(out))
    writer.writerow(header)
    written = 0
    for row in rows:
        writer.writerow([_cell(value) for value in row])
        written += 1
        if written % CHUNK_ROWS == 0:
            yield written
    yield written


def _cell(value: Any) -> Any:
    # A cell starting with = + - @ is a formula to spreadsheet programs (CSV injection, OWASP).
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def _summary_xlsx(out: IO[bytes], *, tenant_id: int, tenant_name: str) -> Iterator[int]:
    workbook = xlsxwriter.Workbook(out, {"constant_memory": True, "strings_to_formulas": False})
    bold = workbook.add_format({"bold": True})
    summary = workbook.add_worksheet("Summary")
    members = members_queryset(tenant_id=tenant_id)
    for row, (label, value) in enumerate(
        [
            ("Organization", tenant_name),
            ("Members", members.count()),
            ("Activity entries", AuditEvent.objects.count()),
            ("Generated at", timezone.now().isoformat()),
        ]
    ):
        summary.write_string(row, 0, label, bold)
        summary.write(row, 1, value)
    written = 0
    for title, header, rows in (
        ("Members", ["email", "name", "role", "joined_at"], _member_rows(tenant_id)),
        ("Activity", ["at", "action", "actor", "target"], _all_activity_rows()),
    ):
        sheet = workbook.add_worksheet(title)
        for column, name in enumerate(header):
            sheet.write_string(0, column, name, bold)
        for index, values in enumerate(rows, start=1):
            for column, value in enumerate(values):
                sheet.write_string(index, column, str(value))
            written += 1
            if written % CHUNK_ROWS == 0:
                yield written
    workbook.close()
    yield written


def _all_activity_rows() -> Iterator[list[Any]]:
    for event in AuditEvent.objects.order_by("created_at", "id").iterator(chunk_size=CHUNK_ROWS):
        yield [event.created_at.isoformat(), event.action, event.actor_email, event.target]
