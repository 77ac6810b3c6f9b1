//! Job events through the CallbackReceiver into PostgreSQL: batched COPY,
//! acknowledged once committed, in the job's hourly partition.

mod common;

use std::rc::Rc;

use actors::callback_receiver::{CallbackReceiver, EventRows, Flush, Ingest};
use actors::supervise;
use common::TestDb;
use rawx::exec::event::{EventTable, JobEvent};
use rawx::store::events::{PgEventStore, ensure_partition};
use serde_json::json;

fn rows(job_id: i64, created: &str, counters: std::ops::RangeInclusive<i64>) -> EventRows {
    let mut bytes = Vec::new();
    let mut count = 0;
    let mut last = 0;
    for counter in counters {
        let line = json!({"event": "runner_on_ok", "counter": counter, "uuid": format!("u{counter}"),
            "stdout": format!("ok: [host-{counter}]\r\n"), "start_line": counter, "end_line": counter + 1,
            "event_data": {"host": format!("host-{counter}"), "task": "ping", "res": {"changed": counter % 2 == 0}}});
        JobEvent::from_runner(&line).expect("event").encode(
            EventTable::Job,
            job_id,
            created,
            None,
            &mut bytes,
        );
        count += 1;
        last = counter;
    }
    EventRows {
        table: EventTable::Job.name(),
        job_id,
        last_counter: last,
        count,
        rows: bytes,
    }
}

#[actix_web::test]
async fn events_are_batched_committed_and_acknowledged() {
    let db = TestDb::create().await;
    let pool = rawx::store::connect(db.url.parse().expect("url"), 4)
        .await
        .expect("pool");
    rawx::store::migrate::run(&pool).await.expect("migrate");
    let created = chrono::Utc::now();
    ensure_partition(&pool, "job", created)
        .await
        .expect("partition");
    let stamp = created.to_rfc3339();

    let store = Rc::new(PgEventStore(pool.clone()));
    let receiver = supervise("callback_receiver", move |incarnation| {
        CallbackReceiver::new(incarnation, store.clone())
    });
    // Two jobs, many small messages in flight at once, as running jobs send them.
    let mut sends = Vec::new();
    for chunk in 0..50 {
        let start = chunk * 100 + 1;
        for job in [1, 2] {
            sends.push(receiver.send(Ingest(rows(job, &stamp, start..=start + 99))));
        }
    }
    for result in futures_util::future::join_all(sends).await {
        result.expect("mailbox").expect("committed");
    }
    receiver.send(Flush).await.expect("mailbox").expect("flush");

    let client = db.client().await;
    for job in [1i64, 2] {
        let row = client
            .query_one(
                "SELECT count(*), count(DISTINCT counter), min(counter), max(counter), count(*) FILTER (WHERE changed)
                   FROM job_events WHERE job_id = $1",
                &[&job],
            )
            .await
            .expect("count");
        let (all, distinct, min, max, changed): (i64, i64, i32, i32, i64) =
            (row.get(0), row.get(1), row.get(2), row.get(3), row.get(4));
        assert_eq!(
            (all, distinct, min, max, changed),
            (5000, 5000, 1, 5000, 2500)
        );
    }
    let partition: String = client
        .query_one(
            "SELECT tableoid::regclass::text FROM job_events LIMIT 1",
            &[],
        )
        .await
        .expect("partition")
        .get(0);
    assert!(
        partition.starts_with("job_events_2"),
        "rows went to {partition}"
    );
    let stdout: String = client
        .query_one(
            "SELECT stdout FROM job_events WHERE job_id = 1 AND counter = 7",
            &[],
        )
        .await
        .expect("row")
        .get(0);
    assert_eq!(stdout, "ok: [host-7]\r\n");

    let status = receiver.send(actors::GetStatus).await.expect("status");
    assert!(
        status.counters.contains(&("events_committed", 10000)),
        "{status:?}"
    );
}
