//! The global event order behind live updates: replay from any position, visibility, single
//! use, and listeners.

use super::*;
use crm_core::{Change, Visibility};
use std::time::Duration;

/// Every positioned event after `after` that `v` sees, once what has committed has its
/// position (as the live hub does before it reads).
async fn everything<S: Store>(store: &S, after: i64, v: Visibility) -> Vec<crm_core::Event> {
    store.sequence().await.unwrap();
    store.events_after(after, v, 10_000).await.unwrap()
}

/// Every event gets the next position; reading after any position returns exactly the later
/// events, in order, each once; a worker's reading is the same list filtered by the one
/// visibility rule.
pub async fn events_replay_in_order_from_any_position<S: Store + Clone>(store: S) {
    let f = Fixture::new(store).await;
    let a = f.assigned("Replay A", &f.worker).await;
    let b = f.assigned("Replay B", &f.other).await;
    f.set(&f.worker, a.id, InProgress).await.unwrap();
    f.tick();
    f.crm.assign(&f.admin, b.id, f.worker.id).await.unwrap(); // taken from `other`
    f.crm.get_ticket(&f.worker, b.id).await.unwrap(); // viewed
    f.set(&f.worker, a.id, Done).await.unwrap();
    f.submit("Replay C").await;
    let all = everything(f.crm.store(), 0, Visibility::All).await;
    let seqs: Vec<i64> = all.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, (1..=all.len() as i64).collect::<Vec<_>>());
    assert_eq!(
        f.crm.store().last_event_seq().await.unwrap(),
        all.len() as i64
    );
    for p in 0..=all.len() {
        let later = everything(f.crm.store(), p as i64, Visibility::All).await;
        assert_eq!(later, all[p..], "after {p}");
    }
    let page = f
        .crm
        .store()
        .events_after(2, Visibility::All, 3)
        .await
        .unwrap();
    assert_eq!(page, all[2..5]);
    for w in [f.worker, f.other] {
        let v = Visibility::AssignedTo(w.id);
        let mine = everything(f.crm.store(), 0, v).await;
        let expected: Vec<_> = all.iter().filter(|e| v.sees_event(e)).cloned().collect();
        assert_eq!(mine, expected);
        for p in [0, 3, 7] {
            let later = everything(f.crm.store(), p, v).await;
            let expected: Vec<_> = expected.iter().filter(|e| e.seq > p).cloned().collect();
            assert_eq!(later, expected, "worker {} after {p}", w.id);
        }
    }
    // The history of a ticket is the same events with the same positions.
    let h = f.crm.history(&f.admin, a.id).await.unwrap();
    for e in &h {
        assert!(all.contains(e));
    }
}

/// Each event carries the ticket's state after it: status, worker, and the worker it was
/// taken from; so a worker's stream shows its tickets, and the moment one is taken away.
pub async fn events_carry_the_state_after_them<S: Store + Clone>(store: S) {
    let f = Fixture::new(store).await;
    let t = f.assigned("State", &f.worker).await;
    f.set(&f.worker, t.id, InProgress).await.unwrap();
    f.tick();
    f.crm.assign(&f.admin, t.id, f.other.id).await.unwrap();
    f.crm.delete_user(&f.admin, f.other.id).await.unwrap();
    let all = everything(f.crm.store(), 0, Visibility::All).await;
    let summary: Vec<_> = all
        .iter()
        .map(|e| (e.kind, e.status, e.ticket_worker, e.prev_worker))
        .collect();
    let (w, o) = (Some(f.worker.id), Some(f.other.id));
    assert_eq!(
        summary,
        [
            (EventKind::Submitted, New, None, None),
            (EventKind::Assigned, New, w, None),
            (EventKind::StatusChanged, InProgress, w, None),
            (EventKind::Assigned, InProgress, o, w),
            (EventKind::Released, New, None, o),
        ]
    );
    let worker_sees: Vec<_> = everything(f.crm.store(), 0, Visibility::AssignedTo(f.worker.id))
        .await
        .iter()
        .map(|e| e.kind)
        .collect();
    assert_eq!(
        worker_sees,
        [
            EventKind::Assigned,
            EventKind::StatusChanged,
            EventKind::Assigned
        ],
        "its own, and the reassignment that took the ticket away"
    );
}

/// A single-use value is accepted once, even by racing callers, and forgotten after it
/// expires.
pub async fn single_use_values_are_used_once<S: Store + Clone>(store: S) {
    let now = chrono::Utc::now();
    let later = now + TimeDelta::seconds(60);
    let tasks = (0..8).map(|_| {
        let store = store.clone();
        tokio::spawn(async move { store.use_once("ticket-1", later, now).await.unwrap() })
    });
    let firsts = join_all(tasks)
        .await
        .into_iter()
        .filter(|r| *r.as_ref().unwrap())
        .count();
    assert_eq!(firsts, 1);
    assert!(!store.use_once("ticket-1", later, now).await.unwrap());
    assert!(store.use_once("ticket-2", later, now).await.unwrap());
    // After expiry the entry is swept (the ticket itself is refused by its own expiry).
    assert!(
        store
            .use_once(
                "ticket-1",
                later + TimeDelta::seconds(60),
                later + TimeDelta::seconds(1)
            )
            .await
            .unwrap()
    );
}

async fn next(l: &mut Box<dyn crm_core::ChangeListener>) -> Change {
    tokio::time::timeout(Duration::from_secs(5), l.next())
        .await
        .expect("a change within 5 s")
        .unwrap()
}

/// A listener hears new events and the account changes that end sessions.
pub async fn listeners_hear_events_and_account_changes<S: Store + Clone>(store: S) {
    let f = Fixture::new(store).await;
    let mut l = f.crm.store().listen().await.unwrap();
    f.submit("Heard").await;
    assert!(matches!(
        next(&mut l).await,
        Change::Events | Change::Written | Change::Unknown
    ));
    f.crm.delete_user(&f.admin, f.other.id).await.unwrap();
    let mut heard_account = false;
    for _ in 0..4 {
        match next(&mut l).await {
            Change::Account(id) if id == f.other.id => {
                heard_account = true;
                break;
            }
            Change::Unknown => {
                heard_account = true;
                break;
            }
            _ => {}
        }
    }
    assert!(heard_account, "the deletion was heard");
}
