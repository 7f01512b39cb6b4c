"""Every message `/ws/dashboard/` sends, and which domain event becomes which: one place.

Each frame is JSON `{"type": ..., "stream": "tenant" | "user", "seq": n, ...}`; `seq` counts
the messages of that stream (saas.broadcast). A client that sees `seq` skip a number, or
that reconnects, asks for (or is sent) a fresh `snapshot`. A snapshot's `reason` is
`connect`, `requested`, `gap` (a number skipped), `drift` (a counter moved without a
message) or `restart` (Redis lost the counters: a new epoch); the client applies all alike.

| type                 | stream | fields                                                          |
|----------------------|--------|-----------------------------------------------------------------|
| `snapshot`           | -      | `reason`, `members`, `member_count`, `notifications_unread`,   |
|                      |        | `notifications` (the newest, as the dashboard lists them),     |
|                      |        | `plan`, `seq` ({"tenant": n, "user": n}: where the streams are) |
| `membership.changed` | tenant | `change` (joined, left, role_changed, removed), `user_id`,      |
|                      |        | `member` (the member's view, null once not a member)            |
| `notifications.count`| user   | `unread`; `notification` ({id, kind, title, url, created_at,    |
|                      |        | read}) when the change is a new notification for this person   |
| `plan.changed`       | tenant | `plan` ({code, name, status, seat_limit})                       |
| `job.progress`       | user   | `job_id`, `kind`, `percent` (0-100), `label`                    |
| `job.done`           | user   | `job_id`, `kind`, `ok` (bool), `url` (the result, may be "")    |
| `image.ready`        | both   | `kind` (avatar: the person's user stream in each organization;  |
|                      |        | logo: the tenant stream), `owner_id`, `status`, `thumbnails`    |
|                      |        | ({"32": url, "64": url, ...}: square sides in pixels)           |
| `session.closed`     | user   | `reason` ("removed" or "left"); the server then closes 4403     |
| `error`              | -      | `error` (malformed, too_large, unknown_type, too_many_resyncs)  |

Client frames: `{"type": "resync"}` (send me a fresh snapshot) and `{"type": "ping"}`
(answered `{"type": "pong"}`). Anything else gets an `error` frame; the socket stays open.

Background jobs (reports) send `job.progress` / `job.done` to the user who started them:
`broadcast_on_commit(user_stream(schema, user_id), {"type": "job.progress", ...})`.
"""

MEMBERSHIP_CHANGED = "membership.changed"
NOTIFICATIONS_COUNT = "notifications.count"
PLAN_CHANGED = "plan.changed"
JOB_PROGRESS = "job.progress"
JOB_DONE = "job.done"
SESSION_CLOSED = "session.closed"
IMAGE_READY = "image.ready"

# What the consumer passes on from the channel layer; anything else is a bug, logged, dropped.
SERVER_MESSAGE_TYPES = frozenset(
    {
        MEMBERSHIP_CHANGED,
        NOTIFICATIONS_COUNT,
        PLAN_CHANGED,
        JOB_PROGRESS,
        JOB_DONE,
        SESSION_CLOSED,
        IMAGE_READY,
    }
)

# Domain event name -> the `change` of membership.changed. Events not declared (yet) in
# saas/signals.py are skipped when receivers connect; payloads carry tenant_id, user_id, role.
MEMBERSHIP_EVENTS = {
    "member.joined": "joined",
    "member.left": "left",
    "member.role_changed": "role_changed",
    "member.removed": "removed",
}
# Changes after which the person is no longer a member: their open sockets are closed.
MEMBERSHIP_ENDED = frozenset({"left", "removed"})
