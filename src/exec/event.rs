//! ansible-runner events as rawx stores them: AWX's fields derived from the
//! runner's JSON (`failed`, `changed`, `host_name`, ...), encoded as rows
//! for PostgreSQL's COPY.

use serde_json::Value;

/// Events AWX counts as failures (unless the task ignores errors).
const FAILING: [&str; 6] = [
    "runner_on_failed",
    "runner_item_on_failed",
    "runner_on_unreachable",
    "runner_on_async_failed",
    "runner_on_error",
    "error",
];

/// A column of an event table, as `JobEvent::encode` fills it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Column {
    JobId,
    JobCreated,
    Created,
    Event,
    Counter,
    EventData,
    Failed,
    Changed,
    Uuid,
    ParentUuid,
    HostId,
    HostName,
    Playbook,
    Play,
    Role,
    Task,
    Stdout,
    StartLine,
    EndLine,
    Verbosity,
}

impl Column {
    fn name(self, table: EventTable) -> &'static str {
        match self {
            Column::JobId => table.job_column(),
            Column::JobCreated => "job_created",
            Column::Created => "created",
            Column::Event => "event",
            Column::Counter => "counter",
            Column::EventData => "event_data",
            Column::Failed => "failed",
            Column::Changed => "changed",
            Column::Uuid => "uuid",
            Column::ParentUuid => "parent_uuid",
            Column::HostId => "host_id",
            Column::HostName => "host_name",
            Column::Playbook => "playbook",
            Column::Play => "play",
            Column::Role => "role",
            Column::Task => "task",
            Column::Stdout => "stdout",
            Column::StartLine => "start_line",
            Column::EndLine => "end_line",
            Column::Verbosity => "verbosity",
        }
    }
}

/// The table a kind of unified job keeps its events in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventTable {
    Job,
    ProjectUpdate,
    InventoryUpdate,
    AdHocCommand,
}

impl EventTable {
    const ALL: [EventTable; 4] = [
        EventTable::Job,
        EventTable::ProjectUpdate,
        EventTable::InventoryUpdate,
        EventTable::AdHocCommand,
    ];

    /// The table's name.
    pub fn name(self) -> &'static str {
        match self {
            EventTable::Job => "job_events",
            EventTable::ProjectUpdate => "project_update_events",
            EventTable::InventoryUpdate => "inventory_update_events",
            EventTable::AdHocCommand => "ad_hoc_command_events",
        }
    }

    /// The table whose name is `name`.
    pub fn from_name(name: &str) -> Option<EventTable> {
        Self::ALL.into_iter().find(|t| t.name() == name)
    }

    /// The table of a unified job kind's events.
    pub fn of_kind(kind: &str) -> Option<EventTable> {
        match kind {
            "job" => Some(EventTable::Job),
            "project_update" => Some(EventTable::ProjectUpdate),
            "inventory_update" => Some(EventTable::InventoryUpdate),
            "ad_hoc_command" => Some(EventTable::AdHocCommand),
            _ => None,
        }
    }

    /// The column naming the event's unified job.
    pub fn job_column(self) -> &'static str {
        match self {
            EventTable::Job => "job_id",
            EventTable::ProjectUpdate => "project_update_id",
            EventTable::InventoryUpdate => "inventory_update_id",
            EventTable::AdHocCommand => "ad_hoc_command_id",
        }
    }

    /// The columns this table's rows fill, in COPY order (as AWX's models:
    /// inventory updates keep only verbose output; ad hoc commands have no
    /// play, task or parent).
    fn column_list(self) -> &'static [Column] {
        use Column::*;
        match self {
            EventTable::Job => &[
                JobId, JobCreated, Created, Event, Counter, EventData, Failed, Changed, Uuid,
                ParentUuid, HostId, HostName, Playbook, Play, Role, Task, Stdout, StartLine,
                EndLine, Verbosity,
            ],
            EventTable::ProjectUpdate => &[
                JobId, JobCreated, Created, Event, Counter, EventData, Failed, Changed, Uuid,
                HostName, Playbook, Play, Role, Task, Stdout, StartLine, EndLine, Verbosity,
            ],
            EventTable::InventoryUpdate => &[
                JobId, JobCreated, Created, Counter, EventData, Uuid, Stdout, StartLine, EndLine,
                Verbosity,
            ],
            EventTable::AdHocCommand => &[
                JobId, JobCreated, Created, Event, Counter, EventData, Failed, Changed, Uuid,
                HostId, HostName, Stdout, StartLine, EndLine, Verbosity,
            ],
        }
    }

    /// The COPY column list, in `JobEvent::encode`'s order.
    pub fn columns(self) -> String {
        self.column_list()
            .iter()
            .map(|c| c.name(self))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// One event, as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct JobEvent {
    pub counter: i64,
    pub event: String,
    pub created: String,
    pub uuid: String,
    pub parent_uuid: String,
    pub host_name: String,
    pub playbook: String,
    pub play: String,
    pub role: String,
    pub task: String,
    pub stdout: String,
    pub start_line: i64,
    pub end_line: i64,
    pub verbosity: i64,
    pub failed: bool,
    pub changed: bool,
    pub event_data: Value,
}

fn text(value: Option<&Value>) -> String {
    match value {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    }
}

fn int(value: Option<&Value>) -> i64 {
    value.and_then(Value::as_i64).unwrap_or_default()
}

/// Whether any host in a stats table has a non-zero count.
fn any_count(stats: Option<&Value>) -> bool {
    stats
        .and_then(Value::as_object)
        .is_some_and(|hosts| hosts.values().any(|v| v.as_i64().unwrap_or_default() > 0))
}

impl JobEvent {
    /// An event from one line of ansible-runner's stream; `None` for lines
    /// that are not events (status, keepalive, artifacts).
    pub fn from_runner(line: &Value) -> Option<JobEvent> {
        let event = line.get("event")?.as_str()?.to_string();
        if event == "keepalive" || event == "EOF" {
            return None;
        }
        let counter = line.get("counter")?.as_i64()?;
        let data = line
            .get("event_data")
            .cloned()
            .unwrap_or(Value::Object(Default::default()));
        let ignore_errors = data
            .get("ignore_errors")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let (failed, changed) = if event == "playbook_on_stats" {
            (
                any_count(data.get("failures")) || any_count(data.get("dark")),
                any_count(data.get("changed")),
            )
        } else {
            (
                FAILING.contains(&event.as_str()) && !ignore_errors,
                data.get("res")
                    .and_then(|r| r.get("changed"))
                    .and_then(Value::as_bool)
                    .unwrap_or(false),
            )
        };
        Some(JobEvent {
            counter,
            created: text(line.get("created")),
            uuid: text(line.get("uuid")),
            parent_uuid: text(line.get("parent_uuid")),
            host_name: text(data.get("host")),
            playbook: text(data.get("playbook")),
            play: text(data.get("play")),
            role: text(data.get("role")),
            task: text(data.get("task")),
            stdout: text(line.get("stdout")),
            start_line: int(line.get("start_line")),
            end_line: int(line.get("end_line")),
            verbosity: int(line.get("verbosity")),
            failed,
            changed,
            event,
            event_data: data,
        })
    }

    /// Appends this event as one COPY text-format row (see `EventTable::columns`).
    pub fn encode(
        &self,
        table: EventTable,
        job_id: i64,
        job_created: &str,
        host_id: Option<i64>,
        out: &mut Vec<u8>,
    ) {
        let created = if self.created.is_empty() {
            job_created
        } else {
            &self.created
        };
        let number = |n: i64, o: &mut Vec<u8>| o.extend_from_slice(n.to_string().as_bytes());
        let flag = |b: bool, o: &mut Vec<u8>| o.push(if b { b't' } else { b'f' });
        for (i, column) in table.column_list().iter().enumerate() {
            if i > 0 {
                out.push(b'\t');
            }
            match column {
                Column::JobId => number(job_id, out),
                Column::JobCreated => escape(job_created, out),
                Column::Created => escape(created, out),
                Column::Event => escape(&self.event, out),
                Column::Counter => number(self.counter, out),
                Column::EventData => escape(&self.event_data.to_string(), out),
                Column::Failed => flag(self.failed, out),
                Column::Changed => flag(self.changed, out),
                Column::Uuid => escape(&self.uuid, out),
                Column::ParentUuid => escape(&self.parent_uuid, out),
                Column::HostId => match host_id {
                    Some(id) => number(id, out),
                    None => out.extend_from_slice(b"\\N"),
                },
                Column::HostName => escape(&self.host_name, out),
                Column::Playbook => escape(&self.playbook, out),
                Column::Play => escape(&self.play, out),
                Column::Role => escape(&self.role, out),
                Column::Task => escape(&self.task, out),
                Column::Stdout => escape(&self.stdout, out),
                Column::StartLine => number(self.start_line.max(0), out),
                Column::EndLine => number(self.end_line.max(0), out),
                Column::Verbosity => number(self.verbosity.max(0), out),
            }
        }
        out.push(b'\n');
    }
}

/// COPY's text escaping; NUL cannot be stored in text and is dropped.
fn escape(value: &str, out: &mut Vec<u8>) {
    for byte in value.bytes() {
        match byte {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\t' => out.extend_from_slice(b"\\t"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            0 => {}
            other => out.push(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn awx_fields_come_from_the_runner_event() {
        let failed = json!({"event": "runner_on_failed", "counter": 7, "uuid": "u", "parent_uuid": "p",
            "stdout": "fatal: [web1]: FAILED!", "start_line": 10, "end_line": 11,
            "event_data": {"host": "web1", "task": "boom", "play": "all", "res": {"changed": true}}});
        let event = JobEvent::from_runner(&failed).expect("event");
        assert!(event.failed && event.changed);
        assert_eq!((event.host_name.as_str(), event.counter), ("web1", 7));
        let ignored = json!({"event": "runner_on_failed", "counter": 8,
            "event_data": {"ignore_errors": true, "res": {}}});
        assert!(!JobEvent::from_runner(&ignored).expect("event").failed);
        let stats = json!({"event": "playbook_on_stats", "counter": 9,
            "event_data": {"failures": {}, "dark": {"db1": 1}, "changed": {"web1": 0}}});
        let stats = JobEvent::from_runner(&stats).expect("event");
        assert!(stats.failed && !stats.changed);
        assert!(JobEvent::from_runner(&json!({"event": "keepalive", "counter": 0})).is_none());
        assert!(JobEvent::from_runner(&json!({"status": "running"})).is_none());
    }

    #[test]
    fn copy_rows_escape_what_copy_needs() {
        let event = JobEvent::from_runner(&json!({"event": "verbose", "counter": 1,
            "stdout": "a\tb\r\nc\\d\u{0}"}))
        .expect("event");
        let mut out = Vec::new();
        event.encode(EventTable::Job, 5, "2026-01-01T00:00:00Z", None, &mut out);
        let line = String::from_utf8(out).expect("utf8");
        assert_eq!(line.matches('\t').count(), 19);
        assert!(line.contains("a\\tb\\r\\nc\\\\d\t"));
        assert!(line.ends_with('\n') && line.contains("\\N"));
    }
}
