//! Shared data set for the benches: a million repair requests with realistic titles, spread
//! over clients, workers and statuses, loaded through the public facade.
//!
//! Titles are `"{brand} {device} {problem} ref K{nnnn}"`: each of ten devices is in exactly a
//! tenth of all titles (the broad search, `"laptop"`), and each `K{nnnn}` in exactly 1,000 of a
//! million (the selective search, `"K0042"`).

pub mod pg;

use criterion::{BatchSize, Criterion};
use crm_core::{
    Actor, Crm, DefaultAccount, ListTickets, Role, Store, SubmitTicket, TicketStatus, UserId,
};
use std::{
    hint::black_box,
    sync::atomic::{AtomicU64, Ordering},
};

/// Ten devices, each in exactly a tenth of the titles; none is a substring of another title word.
pub const DEVICES: [&str; 10] = [
    "laptop",
    "phone",
    "tablet",
    "printer",
    "monitor",
    "console",
    "camera",
    "router",
    "speaker",
    "smartwatch",
];
const BRANDS: [&str; 20] = [
    "Acer", "Apple", "Asus", "Bosch", "Canon", "Dell", "Epson", "Garmin", "HP", "Huawei", "Lenovo",
    "LG", "Logitech", "Nikon", "Nintendo", "Philips", "Samsung", "Sony", "TP-Link", "Xiaomi",
];
const PROBLEMS: [&str; 16] = [
    "cracked screen",
    "won't turn on",
    "battery drains fast",
    "overheating",
    "no sound",
    "buttons sticking",
    "water damage",
    "charging port loose",
    "keeps rebooting",
    "dead pixels",
    "fan noise",
    "wifi drops",
    "paper jam",
    "blurry picture",
    "firmware update failed",
    "hinge broken",
];

/// The data-set size: `BENCH_TICKETS`, default a million.
pub fn tickets_from_env() -> u64 {
    std::env::var("BENCH_TICKETS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000)
}

/// The runtime the benches drive the service on: two workers, one per core.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a Tokio runtime")
}

/// Seeds an admin into the empty store behind `crm` and creates 50 workers.
pub async fn staff<S: Store + Clone>(crm: &Crm<S>) -> (Actor, Vec<Actor>) {
    crm.ensure_default_accounts(&[DefaultAccount {
        username: "admin".into(),
        password: "admin-pass".into(),
        role: Role::Admin,
        must_change_password: false,
    }])
    .await
    .expect("seed the admin");
    let admin = crm
        .authenticate("admin", "admin-pass")
        .await
        .expect("sign in the admin");
    let admin = crm.actor(admin.id).await.expect("admin").0;
    let mut workers = Vec::new();
    for i in 0..50 {
        let u = crm
            .create_user(&admin, &format!("worker{i}"), "worker-pass", Role::Worker)
            .await
            .expect("create a worker");
        workers.push(crm.actor(u.id).await.expect("worker").0);
    }
    (admin, workers)
}

/// The title of the `i`-th generated ticket.
pub fn title(i: u64) -> String {
    let device = DEVICES[(i % 10) as usize];
    let brand = BRANDS[((i / 10) % 20) as usize];
    let problem = PROBLEMS[((i / 200) % 16) as usize];
    // 7919 is prime and coprime with 1000, so every ref appears exactly n/1000 times.
    let r = (i * 7919) % 1000;
    format!("{brand} {device} {problem} ref K{r:04}")
}

/// The submission of the `i`-th generated ticket: 100,000 distinct clients.
pub fn submission(i: u64) -> SubmitTicket {
    SubmitTicket {
        title: title(i),
        description: format!(
            "Customer reports: {}. Bought {} months ago, receipt attached. Request {i}.",
            PROBLEMS[(i % 16) as usize],
            i % 48
        ),
        client_name: format!("Client {}", i % 100_000),
        client_email: format!("client{}@example.com", i % 100_000),
        client_phone: Some(format!("+1 555 {:07}", i % 100_000)),
        requester_ip: Some("203.0.113.7".into()),
        requester_ua: Some("Mozilla/5.0 (X11; Linux x86_64)".into()),
        device: None,
    }
}

/// Loads `n` tickets: 80% assigned round-robin to `workers`, of those a quarter in progress and
/// a quarter done. Returns the number of text bytes stored (titles, descriptions, client data,
/// requester data), which the memory figure excludes.
pub async fn load<S: Store + Clone>(crm: &Crm<S>, admin: &Actor, workers: &[Actor], n: u64) -> u64 {
    let mut text = 0u64;
    for i in 0..n {
        let s = submission(i);
        text += (s.title.len() + s.description.len()) as u64;
        text += 22 + 11 + 31; // tracking code, requester ip and user agent
        if i < 100_000 {
            // Each client is stored once, on its first request.
            text += (s.client_name.len() + s.client_email.len() + 15) as u64;
        }
        let t = crm
            .submit(s)
            .await
            .expect("generated tickets are valid and unique");
        if i % 5 == 4 {
            continue;
        }
        let w = &workers[(i % workers.len() as u64) as usize];
        crm.assign(admin, t.id, w.id).await.expect("assign");
        match i % 4 {
            1 => {
                crm.change_status(w, t.id, TicketStatus::InProgress)
                    .await
                    .expect("start");
            }
            2 => {
                crm.change_status(w, t.id, TicketStatus::InProgress)
                    .await
                    .expect("start");
                crm.change_status(w, t.id, TicketStatus::Done)
                    .await
                    .expect("finish");
            }
            _ => {}
        }
    }
    text
}

/// The list requests every bench run measures, by name.
pub fn list_cases(worker: UserId) -> Vec<(&'static str, ListTickets)> {
    let page1 = |status, worker_id, search: Option<&str>| ListTickets {
        page: Some(1),
        size: Some(20),
        cursor: None,
        status,
        worker_id,
        search: search.map(str::to_owned),
        ..Default::default()
    };
    vec![
        ("list_page1_unfiltered", page1(None, None, None)),
        (
            "list_page1_status",
            page1(Some(TicketStatus::InProgress), None, None),
        ),
        ("list_page1_worker", page1(None, Some(worker), None)),
        (
            "list_page1_worker_status",
            page1(Some(TicketStatus::New), Some(worker), None),
        ),
        ("search_selective_1000", page1(None, None, Some("K0042"))),
        ("search_broad_10pct", page1(None, None, Some("laptop"))),
        (
            "list_page5000_size20",
            ListTickets {
                page: Some(5000),
                size: Some(20),
                ..Default::default()
            },
        ),
    ]
}

/// The measurements both benches take, by name, on whatever store `crm` runs on: the list
/// cases, statistics, then a status change and a submission (last, because they add tickets
/// that the list figures must not include).
pub fn bench_service<S: Store + Clone>(
    c: &mut Criterion,
    group: &str,
    rt: &tokio::runtime::Runtime,
    crm: &Crm<S>,
    admin: &Actor,
    workers: &[Actor],
) {
    let mut g = c.benchmark_group(group);
    for (name, req) in list_cases(workers[0].id) {
        let page = rt.block_on(crm.list_tickets(admin, req.clone())).unwrap();
        println!("{name}: total {}, {} items", page.total, page.items.len());
        g.bench_function(name, |b| {
            b.to_async(rt)
                .iter(|| async { black_box(crm.list_tickets(admin, req.clone()).await.unwrap()) })
        });
    }
    let w = workers[1];
    g.bench_function("stats_worker", |b| {
        b.to_async(rt)
            .iter(|| async { black_box(crm.stats(admin, Some(w.id)).await.unwrap()) })
    });
    g.bench_function("stats_overall", |b| {
        b.to_async(rt)
            .iter(|| async { black_box(crm.stats(admin, None).await.unwrap()) })
    });
    let next = AtomicU64::new(10_000_000);
    g.bench_function("status_change", |b| {
        b.iter_batched(
            || {
                rt.block_on(async {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let t = crm.submit(submission(i)).await.unwrap();
                    crm.assign(admin, t.id, w.id).await.unwrap().id
                })
            },
            |id| {
                rt.block_on(async {
                    black_box(
                        crm.change_status(&w, id, TicketStatus::InProgress)
                            .await
                            .unwrap(),
                    )
                })
            },
            BatchSize::SmallInput,
        )
    });
    g.bench_function("submit", |b| {
        b.to_async(rt).iter_batched(
            || submission(next.fetch_add(1, Ordering::Relaxed)),
            |s| async { black_box(crm.submit(s).await.unwrap()) },
            BatchSize::SmallInput,
        )
    });
    g.finish();
}

/// The counter's lookups on a loaded store (PostgreSQL only: the memory store answers these by
/// a scan): customer search and the counter search `q` by a phone fragment and by an e-mail
/// fragment, and a `sort=due` page from the top and from a cursor deep in the list.
pub fn bench_counter<S: Store + Clone>(
    c: &mut Criterion,
    group: &str,
    rt: &tokio::runtime::Runtime,
    crm: &Crm<S>,
    admin: &Actor,
    deep_due: crm_core::Cursor,
) {
    let mut g = c.benchmark_group(group);
    for (name, text) in [
        ("customers_search_phone", "555 0012"),
        ("customers_search_email", "client4242@"),
    ] {
        let req = crm_core::ListClients {
            search: Some(text.into()),
            size: Some(20),
            ..Default::default()
        };
        let page = rt.block_on(crm.list_clients(admin, req.clone())).unwrap();
        println!("{name}: total {}, {} items", page.total, page.items.len());
        g.bench_function(name, |b| {
            b.to_async(rt)
                .iter(|| async { black_box(crm.list_clients(admin, req.clone()).await.unwrap()) })
        });
    }
    let due = |cursor: Option<crm_core::Cursor>| ListTickets {
        size: Some(20),
        sort: Some(crm_core::TicketSort::Due),
        cursor: cursor.map(crm_core::Cursor::encode),
        ..Default::default()
    };
    let q = |text: &str| ListTickets {
        size: Some(20),
        q: Some(text.into()),
        ..Default::default()
    };
    for (name, req) in [
        // The last digits of a number, as a customer reads them out: 10 customers' numbers
        // hold them, 100 tickets.
        ("q_phone_fragment", q("5 0012 34")),
        // A fragment 1,000 customers' numbers hold: 10,000 tickets to count.
        ("q_phone_fragment_broad", q("555 0012")),
        ("q_email_fragment", q("client4242@")),
        ("due_page1", due(None)),
        ("due_deep_cursor", due(Some(deep_due))),
    ] {
        let page = rt.block_on(crm.list_tickets(admin, req.clone())).unwrap();
        println!("{name}: total {}, {} items", page.total, page.items.len());
        g.bench_function(name, |b| {
            b.to_async(rt)
                .iter(|| async { black_box(crm.list_tickets(admin, req.clone()).await.unwrap()) })
        });
    }
    g.finish();
}
