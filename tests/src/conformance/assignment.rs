//! Automatic assignment: the documented order, round robin, waiting tickets, deletions, the
//! limit under racing submissions, and manual assignments.

use super::*;
use crm_core::{AssignmentMode, AssignmentSettings};

fn settings(mode: AssignmentMode, max: Option<u32>) -> AssignmentSettings {
    AssignmentSettings {
        mode,
        max_open_per_worker: max,
    }
}

async fn worker_of<S: Store + Clone>(f: &Fixture<S>, t: &Ticket) -> Option<UserId> {
    f.crm.get_ticket(&f.admin, t.id).await.unwrap().worker_id
}

async fn open_of<S: Store + Clone>(f: &Fixture<S>, w: UserId) -> u64 {
    let s = f.crm.stats(&f.admin, Some(w)).await.unwrap();
    s.new + s.in_progress
}

async fn third_worker<S: Store + Clone>(f: &Fixture<S>, name: &str) -> crm_core::Actor {
    let u = f
        .crm
        .create_user(&f.admin, name, PASSWORD, Role::Worker)
        .await
        .unwrap();
    f.crm.actor(u.id).await.unwrap().0
}

/// Off by default; `least_open` picks the fewest open tickets, then the one assigned longest
/// ago (never counts as longest), then the lowest id; its assignments have no actor.
pub async fn least_open_follows_the_documented_order<S: Store + Clone>(store: S) {
    let f = Fixture::new(store).await;
    let t0 = f.submit("Before").await;
    assert_eq!(worker_of(&f, &t0).await, None, "off by default");
    assert_eq!(
        f.crm.assignment_settings(&f.admin).await.unwrap(),
        AssignmentSettings::default()
    );
    let w3 = third_worker(&f, "third").await;
    f.crm
        .set_assignment_settings(&f.admin, settings(AssignmentMode::LeastOpen, None))
        .await
        .unwrap();
    // Switching it on assigned the waiting ticket: all at 0, never assigned, lowest id.
    assert_eq!(worker_of(&f, &t0).await, Some(f.worker.id));
    let t1 = f.submit("One").await;
    assert_eq!(worker_of(&f, &t1).await, Some(f.other.id));
    let t2 = f.submit("Two").await;
    assert_eq!(worker_of(&f, &t2).await, Some(w3.id));
    // All at 1: the one assigned longest ago.
    let t3 = f.submit("Three").await;
    assert_eq!(worker_of(&f, &t3).await, Some(f.worker.id));
    // `other` finishes: it has the fewest.
    f.set(&f.other, t1.id, InProgress).await.unwrap();
    f.set(&f.other, t1.id, Done).await.unwrap();
    let t4 = f.submit("Four").await;
    assert_eq!(worker_of(&f, &t4).await, Some(f.other.id));
    let h = f.crm.history(&f.admin, t4.id).await.unwrap();
    let auto = h.iter().find(|e| e.kind == EventKind::Assigned).unwrap();
    assert_eq!((auto.actor_id, auto.worker_id), (None, Some(f.other.id)));
}

/// `round_robin` takes workers in id order after the last one chosen, skipping the
/// unavailable and the full.
pub async fn round_robin_cycles_skipping_unavailable_and_full<S: Store + Clone>(store: S) {
    let f = Fixture::new(store).await;
    let w3 = third_worker(&f, "third").await;
    f.crm
        .set_assignment_settings(&f.admin, settings(AssignmentMode::RoundRobin, Some(2)))
        .await
        .unwrap();
    let mut got = Vec::new();
    for i in 0..3 {
        got.push(worker_of(&f, &f.submit(&format!("rr {i}")).await).await);
    }
    assert_eq!(got, [Some(f.worker.id), Some(f.other.id), Some(w3.id)]);
    // `other` goes away: skipped.
    let away = f
        .crm
        .set_availability(&f.other, f.other.id, false)
        .await
        .unwrap();
    assert!(!away.available);
    let next = f.submit("rr 3").await;
    assert_eq!(worker_of(&f, &next).await, Some(f.worker.id));
    // `worker` is full (2): `w3` next, then `w3` is full too and tickets wait.
    let a = f.submit("rr 4").await;
    assert_eq!(worker_of(&f, &a).await, Some(w3.id));
    let waiting = f.submit("rr 5").await;
    assert_eq!(worker_of(&f, &waiting).await, None);
    // A worker may not set another's availability; an admin may.
    let e = f
        .crm
        .set_availability(&f.worker, f.other.id, true)
        .await
        .unwrap_err();
    assert_eq!(e.code(), "forbidden");
    f.crm
        .set_availability(&f.admin, f.other.id, true)
        .await
        .unwrap();
    assert_eq!(
        worker_of(&f, &waiting).await,
        Some(f.other.id),
        "available again: it takes the waiting one"
    );
}

/// Waiting tickets are assigned, oldest first, as soon as a worker becomes eligible: it
/// finishes a ticket, becomes available, is created, or the limit rises.
pub async fn waiting_tickets_go_to_the_first_worker_that_becomes_eligible<S: Store + Clone>(
    store: S,
) {
    let f = Fixture::new(store).await;
    f.crm
        .set_availability(&f.admin, f.other.id, false)
        .await
        .unwrap();
    f.crm
        .set_assignment_settings(&f.admin, settings(AssignmentMode::LeastOpen, Some(1)))
        .await
        .unwrap();
    let t1 = f.submit("First").await;
    let t2 = f.submit("Second").await;
    let t3 = f.submit("Third").await;
    let t4 = f.submit("Fourth").await;
    let t5 = f.submit("Fifth").await;
    assert_eq!(worker_of(&f, &t1).await, Some(f.worker.id));
    assert_eq!(worker_of(&f, &t2).await, None);
    // Finishing a ticket: the oldest waiting one follows.
    f.set(&f.worker, t1.id, InProgress).await.unwrap();
    f.set(&f.worker, t1.id, Done).await.unwrap();
    assert_eq!(worker_of(&f, &t2).await, Some(f.worker.id));
    assert_eq!(worker_of(&f, &t3).await, None);
    // Becoming available.
    f.crm
        .set_availability(&f.other, f.other.id, true)
        .await
        .unwrap();
    assert_eq!(worker_of(&f, &t3).await, Some(f.other.id));
    // Being created.
    let w3 = third_worker(&f, "newcomer").await;
    assert_eq!(worker_of(&f, &t4).await, Some(w3.id));
    // The limit rising.
    assert_eq!(worker_of(&f, &t5).await, None);
    f.crm
        .set_assignment_settings(&f.admin, settings(AssignmentMode::LeastOpen, Some(2)))
        .await
        .unwrap();
    assert!(worker_of(&f, &t5).await.is_some());
    // A limit is 1 or more.
    let e = f
        .crm
        .set_assignment_settings(&f.admin, settings(AssignmentMode::LeastOpen, Some(0)))
        .await
        .unwrap_err();
    assert_eq!(fields(&e), ["max_open_per_worker"]);
    assert_eq!(
        f.crm
            .set_assignment_settings(&f.worker, settings(AssignmentMode::Off, None))
            .await
            .unwrap_err()
            .code(),
        "forbidden"
    );
}

/// Deleting a worker puts its open tickets back, and they go to the others at once.
pub async fn deleting_a_worker_hands_its_open_tickets_to_others<S: Store + Clone>(store: S) {
    let f = Fixture::new(store).await;
    let a = f.assigned("Kept A", &f.worker).await;
    let b = f.assigned("Kept B", &f.worker).await;
    f.set(&f.worker, b.id, InProgress).await.unwrap();
    f.crm
        .set_assignment_settings(&f.admin, settings(AssignmentMode::LeastOpen, None))
        .await
        .unwrap();
    f.crm.delete_user(&f.admin, f.worker.id).await.unwrap();
    for t in [&a, &b] {
        let now = f.crm.get_ticket(&f.admin, t.id).await.unwrap();
        assert_eq!((now.worker_id, now.status), (Some(f.other.id), New));
    }
}

/// A manual assignment always wins: it may exceed the limit, and automatic assignment never
/// takes a ticket an admin assigned.
pub async fn manual_assignment_wins<S: Store + Clone>(store: S) {
    let f = Fixture::new(store).await;
    f.crm
        .set_assignment_settings(&f.admin, settings(AssignmentMode::LeastOpen, Some(1)))
        .await
        .unwrap();
    f.crm
        .set_availability(&f.admin, f.other.id, false)
        .await
        .unwrap();
    let auto = f.submit("Auto").await;
    assert_eq!(worker_of(&f, &auto).await, Some(f.worker.id));
    let extra = f.submit("Extra").await;
    assert_eq!(worker_of(&f, &extra).await, None, "the worker is full");
    f.crm.assign(&f.admin, extra.id, f.worker.id).await.unwrap();
    assert_eq!(open_of(&f, f.worker.id).await, 2, "past the limit by hand");
    f.crm.assign(&f.admin, auto.id, f.other.id).await.unwrap();
    assert_eq!(
        worker_of(&f, &auto).await,
        Some(f.other.id),
        "never taken back"
    );
}

/// 64 racing submissions with 4 workers and a limit of 10: nobody goes over 10, and under
/// least_open the open counts differ by at most one.
pub async fn racing_submissions_respect_the_limit_and_spread_evenly<S: Store + Clone>(store: S) {
    let f = Fixture::new(store).await;
    let w3 = third_worker(&f, "racer3").await;
    let w4 = third_worker(&f, "racer4").await;
    f.crm
        .set_assignment_settings(&f.admin, settings(AssignmentMode::LeastOpen, Some(10)))
        .await
        .unwrap();
    let tasks = (0..64).map(|i| {
        let crm = f.crm.clone();
        tokio::spawn(async move {
            crm.submit(request(
                &format!("Race {i}"),
                &format!("race{i}@example.com"),
            ))
            .await
        })
    });
    for r in join_all(tasks).await {
        r.unwrap().unwrap();
    }
    let mut counts = Vec::new();
    for w in [f.worker.id, f.other.id, w3.id, w4.id] {
        counts.push(open_of(&f, w).await);
    }
    assert!(counts.iter().all(|&n| n <= 10), "{counts:?}");
    assert_eq!(counts.iter().sum::<u64>(), 40, "{counts:?}");
    let (min, max) = (counts.iter().min().unwrap(), counts.iter().max().unwrap());
    assert!(max - min <= 1, "{counts:?}");
    let waiting = f
        .crm
        .list_tickets(&f.admin, list(Some(New), None, None))
        .await
        .unwrap()
        .items
        .iter()
        .filter(|t| t.worker_id.is_none())
        .count();
    assert_eq!(waiting, 24);
}
