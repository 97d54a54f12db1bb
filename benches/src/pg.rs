//! The bulk load of the PostgreSQL benches: `n` tickets of the shape [`crate::load`] makes
//! through the facade, written with `generate_series` in one statement per table, with
//! triggers off and secondary indexes dropped, the trigger-kept tables (`ticket_search`,
//! `ticket_counts`, with the stage of every started ticket and one finished hour in the first
//! stage for every done one) filled with set-based statements, then the indexes rebuilt from
//! their own definitions, as a bulk import would. Ticket `i` (from 0) gets id `i + 1` in a
//! fresh database.

use crate::DEVICES;
use sqlx::{Connection, Executor, PgConnection};
use std::time::Instant;

/// Loads `n` tickets into the migrated, otherwise empty database at `url`, whose 50 workers
/// have the ids from `first_worker` on. Prints how long it took and the database's size.
pub async fn bulk_load(url: &str, n: u64, first_worker: i64) {
    let started = Instant::now();
    let devices = DEVICES.map(|d| format!("'{d}'")).join(",");
    let script = format!(
        "SET session_replication_role = replica;
         SET maintenance_work_mem = '512MB';
         INSERT INTO clients (name, email, email_key, phone, created_at, name_folded, phone_digits) \
         SELECT 'Client ' || c, 'client' || c || '@example.com', 'client' || c || '@example.com', \
                '+1 555 ' || lpad(c::text, 7, '0'), timestamptz '2025-01-01', 'client ' || c, \
                '1555' || lpad(c::text, 7, '0') \
         FROM generate_series(0, 99999) c;
         INSERT INTO client_events (client_id, at, kind) SELECT id, created_at, 'created' FROM clients;
         INSERT INTO tickets (title, title_folded, description, status, client_id, worker_id, created_at, updated_at, \
                              assigned_at, in_progress_at, done_at, requester_ip, requester_ua, tracking_code, \
                              device, serial_key, due_at, stage_id, stage_at) \
         SELECT title, lower(title), description, status, client_id, worker_id, created_at, updated_at, \
                assigned_at, in_progress_at, done_at, requester_ip, requester_ua, tracking_code, \
                CASE WHEN i % 2 = 0 THEN jsonb_build_object('kind', 'phone', 'serial', 'SN' || lpad(i::text, 9, '0')) END, \
                CASE WHEN i % 2 = 0 THEN 'SN' || lpad(i::text, 9, '0') END, \
                CASE WHEN i % 3 = 0 THEN created_at + ((i * 7919) % 1000000) * interval '1 minute' END, \
                CASE status WHEN 'in_progress' THEN (ARRAY(SELECT id FROM stages WHERE status = 'in_progress' ORDER BY position))[(i / 4) % 4 + 1] \
                            WHEN 'done' THEN (ARRAY(SELECT id FROM stages WHERE status = 'done' ORDER BY position))[(i / 4) % 2 + 1] END, \
                CASE WHEN status <> 'new' THEN created_at + interval '1 hour' END FROM ( \
         SELECT (ARRAY['Acer','Apple','Asus','Bosch','Canon','Dell','Epson','Garmin','HP','Huawei','Lenovo','LG', \
                       'Logitech','Nikon','Nintendo','Philips','Samsung','Sony','TP-Link','Xiaomi'])[(i / 10) % 20 + 1] \
                || ' ' || (ARRAY[{devices}])[i % 10 + 1] || ' ' || \
                (ARRAY['cracked screen','won''t turn on','battery drains fast','overheating','no sound', \
                       'buttons sticking','water damage','charging port loose','keeps rebooting','dead pixels', \
                       'fan noise','wifi drops','paper jam','blurry picture','firmware update failed', \
                       'hinge broken'])[(i / 200) % 16 + 1] \
                || ' ref K' || lpad(((i * 7919) % 1000)::text, 4, '0') AS title, \
                'Customer reports a fault. Bought ' || (i % 48) || ' months ago, receipt attached. Request ' || i || '.' AS description, \
                CASE WHEN i % 5 = 4 THEN 'new' WHEN i % 4 = 1 THEN 'in_progress' WHEN i % 4 = 2 THEN 'done' ELSE 'new' END AS status, \
                (SELECT min(id) FROM clients) + i % 100000 AS client_id, \
                CASE WHEN i % 5 = 4 THEN NULL ELSE {first_worker} + i % 50 END AS worker_id, \
                ts AS created_at, ts AS updated_at, \
                CASE WHEN i % 5 = 4 THEN NULL ELSE ts END AS assigned_at, \
                CASE WHEN i % 5 <> 4 AND i % 4 IN (1, 2) THEN ts END AS in_progress_at, \
                CASE WHEN i % 5 <> 4 AND i % 4 = 2 THEN ts + interval '2 hours' END AS done_at, \
                '203.0.113.7' AS requester_ip, 'Mozilla/5.0 (X11; Linux x86_64)' AS requester_ua, \
                md5(i::text) AS tracking_code, i \
         FROM (SELECT i, timestamptz '2025-01-01' + i * interval '1 second' AS ts \
               FROM generate_series(0::bigint, {last}::bigint) i) g) rows;
         INSERT INTO ticket_events (ticket_id, at, kind, status) \
         SELECT id, created_at, 'submitted', 'new' FROM tickets ORDER BY id;
         INSERT INTO event_positions (seq, event_id) \
         SELECT row_number() OVER (ORDER BY id), id FROM ticket_events;
         INSERT INTO ticket_search (id, created_at, status, worker_id, title) \
         SELECT id, created_at, status, worker_id, title_folded FROM tickets;
         INSERT INTO ticket_counts (worker_id, status, stage_id, n, resolution_micros) \
         SELECT coalesce(worker_id, 0), status, coalesce(stage_id, 0), count(*), \
                coalesce(sum(extract(epoch FROM done_at - created_at) * 1000000), 0) \
         FROM tickets GROUP BY 1, 2, 3;
         INSERT INTO ticket_counts (worker_id, status, stage_id, n, resolution_micros, stage_visits, stage_micros) \
         SELECT coalesce(worker_id, 0), 'in_progress', (SELECT id FROM stages WHERE status = 'in_progress' ORDER BY position LIMIT 1), \
                0, 0, count(*), count(*) * 3600000000::numeric \
         FROM tickets WHERE status = 'done' GROUP BY 1 \
         ON CONFLICT (worker_id, status, stage_id) DO UPDATE \
         SET stage_visits = excluded.stage_visits, stage_micros = excluded.stage_micros;
         SET session_replication_role = origin;
         UPDATE event_sequencer SET low_xid = pg_snapshot_xmin(pg_current_snapshot());
         VACUUM ANALYZE",
        last = n - 1,
    );
    let mut db_conn = PgConnection::connect_with(&crm_store_postgres::parse_url(url).unwrap())
        .await
        .unwrap();
    // Secondary indexes are dropped for the load and rebuilt once afterwards from their own
    // definitions (as a bulk import would), so the migrations stay their only source.
    let indexes: Vec<(String, String)> = sqlx::query_as(
        "SELECT i.indexname, i.indexdef FROM pg_indexes i \
         JOIN pg_index x ON x.indexrelid = (quote_ident(i.schemaname) || '.' || quote_ident(i.indexname))::regclass \
         WHERE i.schemaname = 'public' AND i.tablename IN ('tickets', 'ticket_search', 'ticket_events', 'clients') \
           AND NOT x.indisprimary",
    )
    .fetch_all(&mut db_conn)
    .await
    .unwrap();
    for (name, _) in &indexes {
        db_conn
            .execute(format!("DROP INDEX {name}").as_str())
            .await
            .unwrap();
    }
    let mut statements: Vec<String> = script.split(";\n").map(str::to_owned).collect();
    let vacuum = statements
        .pop()
        .expect("the script ends with VACUUM ANALYZE");
    statements.extend(indexes.into_iter().map(|(_, def)| def));
    statements.push(vacuum);
    for stmt in &statements {
        db_conn.execute(stmt.as_str()).await.unwrap();
    }
    let size: String =
        sqlx::query_scalar("SELECT pg_size_pretty(pg_database_size(current_database()))")
            .fetch_one(&mut db_conn)
            .await
            .unwrap();
    println!(
        "loaded {n} tickets in {:.1} s; database size {size}",
        started.elapsed().as_secs_f64()
    );
}
