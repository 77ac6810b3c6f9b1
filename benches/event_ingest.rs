//! Event ingestion: synthetic job events through the CallbackReceiver into
//! PostgreSQL, against a raw COPY of the same rows, in the same run.
//!
//! `cargo bench --bench event_ingest` (RAWX_TEST_DATABASE_URL as for tests;
//! RAWX_BENCH_EVENTS sets the count, default 200000).

use std::rc::Rc;
use std::time::Instant;

use actors::callback_receiver::{CallbackReceiver, EventRows, Flush, Ingest};
use actors::supervise;
use rawx::exec::event::{EventTable, JobEvent};
use rawx::store::events::{PgEventStore, copy_job_events, ensure_partition};
use serde_json::json;
use tokio_postgres::NoTls;

/// Events per message, about what a busy job's stream reader sends at once.
const PER_MESSAGE: i64 = 100;
/// Jobs streaming at the same time.
const JOBS: i64 = 20;

fn runner_event(counter: i64) -> serde_json::Value {
    json!({"event": "runner_on_ok", "counter": counter, "uuid": format!("8f1c2a9e-{counter:012}"),
        "parent_uuid": "02fc0000-0001-0000-0000-000000000007", "created": "2026-11-29T12:00:00.000000+00:00",
        "stdout": format!("\u{1b}[0;32mok: [host-{}]\u{1b}[0m", counter % 500), "start_line": counter, "end_line": counter + 1,
        "event_data": {"host": format!("host-{}", counter % 500), "task": "gather", "play": "site", "playbook": "site.yml",
            "task_action": "ansible.builtin.ping", "res": {"ping": "pong", "changed": false}, "duration": 0.01}})
}

fn main() {
    let admin_url = std::env::var("RAWX_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://rawx:rawx@127.0.0.1:5432/postgres".into());
    let total: i64 = std::env::var("RAWX_BENCH_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200_000);
    let name = format!("rawx_bench_{}", std::process::id());
    let runtime = actix_web::rt::System::new();
    runtime.block_on(async {
        let (admin, conn) = tokio_postgres::connect(&admin_url, NoTls)
            .await
            .expect("connect");
        actix_web::rt::spawn(conn);
        admin
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .await
            .expect("create database");
        let mut config: tokio_postgres::Config = admin_url.parse().expect("url");
        config.dbname(&name);
        let pool = rawx::store::connect(config, 8).await.expect("pool");
        rawx::store::migrate::run(&pool).await.expect("migrate");
        let created = chrono::Utc::now();
        ensure_partition(&pool, "job", created)
            .await
            .expect("partition");
        let stamp = created.to_rfc3339();

        // Encoding, as the stream reader does it per event.
        let started = Instant::now();
        let mut messages = Vec::new();
        let per_job = total / JOBS;
        for job in 1..=JOBS {
            let mut counter = 1;
            while counter <= per_job {
                let last = (counter + PER_MESSAGE - 1).min(per_job);
                let mut rows = Vec::new();
                for c in counter..=last {
                    let event = JobEvent::from_runner(&runner_event(c)).expect("event");
                    event.encode(EventTable::Job, job, &stamp, None, &mut rows);
                }
                messages.push(EventRows {
                    table: EventTable::Job.name(),
                    job_id: job,
                    last_counter: last,
                    count: (last - counter + 1) as usize,
                    rows,
                });
                counter = last + 1;
            }
        }
        let encode_secs = started.elapsed().as_secs_f64();
        let events = per_job * JOBS;

        // Baseline: one raw COPY of exactly the same rows.
        let all: Vec<u8> = messages
            .iter()
            .flat_map(|m| m.rows.iter().copied())
            .collect();
        let started = Instant::now();
        copy_job_events(&pool, all).await.expect("raw copy");
        let raw_secs = started.elapsed().as_secs_f64();
        pool.get()
            .await
            .expect("conn")
            .batch_execute("TRUNCATE job_events")
            .await
            .expect("truncate");

        // rawx: every job's messages through the CallbackReceiver, all in flight.
        let store = Rc::new(PgEventStore(pool.clone()));
        let receiver = supervise("callback_receiver", move |i| {
            CallbackReceiver::new(i, store.clone())
        });
        let started = Instant::now();
        let sends: Vec<_> = messages
            .into_iter()
            .map(|m| receiver.send(Ingest(m)))
            .collect();
        for result in futures_util::future::join_all(sends).await {
            result.expect("mailbox").expect("committed");
        }
        receiver.send(Flush).await.expect("mailbox").expect("flush");
        let actor_secs = started.elapsed().as_secs_f64();
        let stored: i64 = pool
            .get()
            .await
            .expect("conn")
            .query_one("SELECT count(*) FROM job_events", &[])
            .await
            .expect("count")
            .get(0);
        assert_eq!(stored, events, "every event stored exactly once");

        let rate = |secs: f64| events as f64 / secs;
        println!("event ingestion: {events} events, {JOBS} jobs, {PER_MESSAGE} events per message");
        println!(
            "  encode (runner JSON -> COPY row) {:>10.0} events/s",
            rate(encode_secs)
        );
        println!(
            "  raw COPY baseline                 {:>10.0} events/s",
            rate(raw_secs)
        );
        println!(
            "  CallbackReceiver -> COPY          {:>10.0} events/s",
            rate(actor_secs)
        );
        println!(
            "  ratio to raw COPY                 {:>10.2}",
            raw_secs / actor_secs
        );
        println!(
            "  (target: >= 50000 events/s and >= 0.7 of raw COPY; AWX measured ~1300 events/s)"
        );

        drop(pool);
        admin
            .batch_execute(&format!("DROP DATABASE {name} WITH (FORCE)"))
            .await
            .expect("drop database");
    });
}
