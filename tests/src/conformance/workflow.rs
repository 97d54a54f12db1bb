//! The state machine, assignment, viewing, history and statistics.

use super::*;

/// `new -> in_progress -> done`, each step timestamped; everything else is refused.
pub async fn state_machine_steps_and_timestamps<S: Store + Clone>(store: S) {
    let f = Fixture::new(store).await;
    let t = f.submit("Phone").await;

    let e = f.set(&f.admin, t.id, Done).await.unwrap_err();
    assert!(
        matches!(
            e,
            CoreError::InvalidTransition {
                from: New,
                to: Done
            }
        ),
        "{e:?}"
    );
    assert_eq!(e.allowed_next(), Some(&[InProgress][..]));
    let e = f.set(&f.admin, t.id, InProgress).await.unwrap_err();
    assert!(
        matches!(e, CoreError::NotAssigned),
        "starting needs a worker: {e:?}"
    );
    assert_eq!(
        (e.code(), e.allowed_next()),
        ("invalid_transition", Some(&[][..]))
    );

    f.tick();
    let assigned_at = f.clock.now();
    let t = f.crm.assign(&f.admin, t.id, f.worker.id).await.unwrap();
    assert_eq!(t.status, New, "assigning does not change the status");
    assert_eq!(
        (t.worker_id, t.assigned_at, t.updated_at),
        (Some(f.worker.id), Some(assigned_at), assigned_at)
    );

    let started = f.set(&f.worker, t.id, InProgress).await.unwrap();
    let now = f.clock.now();
    assert_eq!(
        (started.status, started.in_progress_at, started.updated_at),
        (InProgress, Some(now), now)
    );
    assert_eq!(started.done_at, None);
    assert!(matches!(
        f.set(&f.worker, t.id, New).await,
        Err(CoreError::InvalidTransition {
            from: InProgress,
            to: New
        })
    ));

    let done = f.set(&f.worker, t.id, Done).await.unwrap();
    let now = f.clock.now();
    assert_eq!(
        (done.status, done.done_at, done.updated_at),
        (Done, Some(now), now)
    );
    assert_eq!(done.in_progress_at, started.in_progress_at);
    for s in [New, InProgress] {
        let e = f.set(&f.admin, t.id, s).await.unwrap_err();
        assert!(matches!(e, CoreError::InvalidTransition { from: Done, .. }));
        assert_eq!(e.allowed_next(), Some(&[][..]));
    }
    // An admin may move any ticket; the other worker may not even see it.
    let u = f.assigned("Tablet", &f.worker).await;
    assert!(matches!(
        f.set(&f.other, u.id, InProgress).await,
        Err(CoreError::NotFound(_))
    ));
    assert_eq!(
        f.set(&f.admin, u.id, InProgress).await.unwrap().status,
        InProgress
    );
    assert!(matches!(
        f.set(&f.admin, TicketId(999_999), InProgress).await,
        Err(CoreError::NotFound(_))
    ));
}

/// Asking for the current status returns the ticket unchanged and records nothing.
pub async fn same_status_is_a_safe_no_op<S: Store + Clone>(store: S) {
    let f = Fixture::new(store).await;
    let t = f.assigned("Watch", &f.worker).await;
    let same = f.set(&f.worker, t.id, New).await.unwrap();
    assert_eq!(same, t);
    let started = f.set(&f.worker, t.id, InProgress).await.unwrap();
    let again = f.set(&f.worker, t.id, InProgress).await.unwrap();
    assert_eq!(again, started);
    let h = f.crm.history(&f.admin, t.id).await.unwrap();
    assert_eq!(
        h.iter()
            .filter(|e| e.kind == EventKind::StatusChanged)
            .count(),
        1
    );
}

/// 16 racing `new -> in_progress` moves apply once: one event, one `in_progress_at`.
pub async fn racing_transitions_apply_once<S: Store + Clone>(store: S) {
    let f = Fixture::new(store).await;
    let t = f.assigned("Console", &f.worker).await;
    let tasks = (0..16).map(|i| {
        let crm = f.crm.clone();
        let clock = f.clock.clone();
        let actor = if i % 2 == 0 { f.worker } else { f.admin };
        tokio::spawn(async move {
            clock.advance(TimeDelta::milliseconds(1));
            crm.change_status(&actor, t.id, InProgress).await
        })
    });
    let results: Vec<Ticket> = join_all(tasks)
        .await
        .into_iter()
        .map(|r| {
            r.unwrap()
                .expect("a racing identical move is a no-op, not an error")
        })
        .collect();
    let stamps: HashSet<_> = results.iter().map(|t| t.in_progress_at).collect();
    assert_eq!(stamps.len(), 1, "{stamps:?}");
    let h = f.crm.history(&f.admin, t.id).await.unwrap();
    assert_eq!(
        h.iter()
            .filter(|e| e.kind == EventKind::StatusChanged)
            .count(),
        1
    );
    let stored = f.crm.get_ticket(&f.admin, t.id).await.unwrap();
    assert_eq!(Some(stored.in_progress_at), stamps.into_iter().next());

    // Racing finishes of one ticket: one `done` step.
    let tasks = (0..16).map(|_| {
        let crm = f.crm.clone();
        let actor = f.worker;
        tokio::spawn(async move { crm.change_status(&actor, t.id, Done).await })
    });
    for r in join_all(tasks).await {
        assert_eq!(r.unwrap().unwrap().status, Done);
    }
    let h = f.crm.history(&f.admin, t.id).await.unwrap();
    assert_eq!(
        h.iter()
            .filter(|e| e.kind == EventKind::StatusChanged)
            .count(),
        2
    );
}

/// The compare-and-set includes the worker: a decision made before a release is not applied.
pub async fn transition_lost_to_a_release_is_not_applied<S: Store + Clone>(store: S) {
    let f = Fixture::new(store).await;
    let t = f.assigned("Drone", &f.worker).await;
    f.crm.delete_user(&f.admin, f.worker.id).await.unwrap();
    let stale = crm_core::Transition {
        ticket_id: t.id,
        expected: crm_core::ExpectedState {
            status: New,
            worker_id: Some(f.worker.id),
        },
        next: InProgress,
        actor: f.worker.id,
        at: f.clock.now(),
        from_stage: None,
        to_stage: None,
    };
    assert!(matches!(
        f.crm.store().transition(stale).await,
        Err(StoreError::Stale)
    ));
    let now = f.crm.get_ticket(&f.admin, t.id).await.unwrap();
    assert_eq!((now.status, now.worker_id), (New, None));
    let e = f.set(&f.admin, t.id, InProgress).await.unwrap_err();
    assert!(matches!(e, CoreError::NotAssigned), "{e:?}");
}

/// Only admins assign; only to active workers; never a done ticket.
pub async fn assignment_rules<S: Store + Clone>(store: S) {
    let f = Fixture::new(store).await;
    let t = f.submit("Camera").await;
    let e = f
        .crm
        .assign(&f.worker, t.id, f.worker.id)
        .await
        .unwrap_err();
    assert_eq!(e.code(), "forbidden");
    assert!(matches!(
        f.crm.assign(&f.admin, TicketId(424_242), f.worker.id).await,
        Err(CoreError::NotFound(_))
    ));
    for bad in [f.admin.id, UserId(424_242)] {
        let e = f.crm.assign(&f.admin, t.id, bad).await.unwrap_err();
        assert_eq!(e.code(), "invalid_worker");
    }
    let a = f.crm.assign(&f.admin, t.id, f.worker.id).await.unwrap();
    f.tick();
    let same = f.crm.assign(&f.admin, t.id, f.worker.id).await.unwrap();
    assert_eq!(same, a, "re-assigning to the same worker changes nothing");
    f.tick();
    let moved = f.crm.assign(&f.admin, t.id, f.other.id).await.unwrap();
    assert_eq!(moved.worker_id, Some(f.other.id));
    assert!(moved.assigned_at > a.assigned_at);
    // In progress may be reassigned and keeps its status.
    f.set(&f.other, t.id, InProgress).await.unwrap();
    let back = f.crm.assign(&f.admin, t.id, f.worker.id).await.unwrap();
    assert_eq!(
        (back.status, back.worker_id),
        (InProgress, Some(f.worker.id))
    );
    f.set(&f.worker, t.id, Done).await.unwrap();
    let e = f.crm.assign(&f.admin, t.id, f.other.id).await.unwrap_err();
    assert_eq!(e.code(), "ticket_closed");
    // A deleted worker cannot be assigned.
    let u = f.submit("Printer").await;
    f.crm.delete_user(&f.admin, f.other.id).await.unwrap();
    assert!(matches!(
        f.crm.assign(&f.admin, u.id, f.other.id).await,
        Err(CoreError::InvalidWorker)
    ));
    let h = f.crm.history(&f.admin, t.id).await.unwrap();
    let assigned: Vec<_> = h
        .iter()
        .filter(|e| e.kind == EventKind::Assigned)
        .map(|e| (e.actor_id, e.worker_id))
        .collect();
    assert_eq!(
        assigned,
        [
            (Some(f.admin.id), Some(f.worker.id)),
            (Some(f.admin.id), Some(f.other.id)),
            (Some(f.admin.id), Some(f.worker.id)),
        ]
    );
}

/// Opening a ticket marks it viewed; only the first opening is an event; lists do not mark.
pub async fn opening_marks_viewed_once<S: Store + Clone>(store: S) {
    let f = Fixture::new(store).await;
    let t = f.assigned("Router", &f.worker).await;
    let listed = f
        .crm
        .list_tickets(&f.admin, list(None, None, None))
        .await
        .unwrap();
    assert!(!listed.items[0].viewed);
    f.tick();
    let opened = f.crm.get_ticket(&f.worker, t.id).await.unwrap();
    assert!(opened.viewed);
    assert_eq!(opened.updated_at, f.clock.now());
    f.tick();
    let again = f.crm.get_ticket(&f.admin, t.id).await.unwrap();
    assert_eq!(again, opened, "a second opening changes nothing");
    let h = f.crm.history(&f.admin, t.id).await.unwrap();
    let viewed: Vec<_> = h.iter().filter(|e| e.kind == EventKind::Viewed).collect();
    assert_eq!(viewed.len(), 1);
    assert_eq!(viewed[0].actor_id, Some(f.worker.id));
}

/// Every change is an event, oldest first, with its actor, worker and statuses.
pub async fn history_records_every_change_in_order<S: Store + Clone>(store: S) {
    let f = Fixture::new(store).await;
    let t = f.assigned("Speaker", &f.worker).await;
    f.tick();
    f.crm.get_ticket(&f.worker, t.id).await.unwrap();
    f.set(&f.worker, t.id, InProgress).await.unwrap();
    f.tick();
    f.crm.assign(&f.admin, t.id, f.other.id).await.unwrap();
    f.set(&f.other, t.id, Done).await.unwrap();
    let h = f.crm.history(&f.other, t.id).await.unwrap();
    let got: Vec<_> = h
        .iter()
        .map(|e| (e.kind, e.actor_id, e.worker_id, e.from_status, e.to_status))
        .collect();
    let (a, w, o) = (Some(f.admin.id), Some(f.worker.id), Some(f.other.id));
    assert_eq!(
        got,
        [
            (EventKind::Submitted, None, None, None, None),
            (EventKind::Assigned, a, w, None, None),
            (EventKind::Viewed, w, None, None, None),
            (
                EventKind::StatusChanged,
                w,
                None,
                Some(New),
                Some(InProgress)
            ),
            (EventKind::Assigned, a, o, None, None),
            (
                EventKind::StatusChanged,
                o,
                None,
                Some(InProgress),
                Some(Done)
            ),
        ]
    );
    assert!(h.windows(2).all(|p| p[0].at < p[1].at && p[0].id < p[1].id));
    assert!(h.iter().all(|e| e.ticket_id == t.id));
    assert!(matches!(
        f.crm.history(&f.admin, TicketId(12_345)).await,
        Err(CoreError::NotFound(_))
    ));
}

/// Counts by status and mean resolution time, per worker and overall.
pub async fn stats_per_worker_and_overall<S: Store + Clone>(store: S) {
    let f = Fixture::new(store).await;
    let empty = f.crm.stats(&f.admin, Some(f.worker.id)).await.unwrap();
    assert_eq!((empty.total, empty.avg_resolution_seconds), (0, None));
    assert_eq!(empty.worker_id, Some(f.worker.id));

    let a = f.assigned("A", &f.worker).await; // created t0
    let b = f.assigned("B", &f.worker).await;
    let _c = f.assigned("C", &f.other).await;
    let _d = f.submit("D").await;
    f.set(&f.worker, a.id, InProgress).await.unwrap();
    f.clock.advance(TimeDelta::seconds(100));
    let a_done = f.set(&f.worker, a.id, Done).await.unwrap();
    f.set(&f.worker, b.id, InProgress).await.unwrap();
    f.set(&f.worker, b.id, Done).await.unwrap();
    let b_done = f.crm.get_ticket(&f.admin, b.id).await.unwrap();
    let e = f.assigned("E", &f.worker).await;
    f.set(&f.worker, e.id, InProgress).await.unwrap();

    let mean = |ts: &[&Ticket]| {
        ts.iter()
            .map(|t| {
                (t.done_at.unwrap() - t.created_at)
                    .num_microseconds()
                    .unwrap() as f64
                    / 1e6
            })
            .sum::<f64>()
            / ts.len() as f64
    };
    let s = f.crm.stats(&f.admin, Some(f.worker.id)).await.unwrap();
    assert_eq!((s.total, s.new, s.in_progress, s.done), (3, 0, 1, 2));
    let avg = s.avg_resolution_seconds.unwrap();
    assert!((avg - mean(&[&a_done, &b_done])).abs() < 1e-6, "{avg}");

    let all = f.crm.stats(&f.admin, None).await.unwrap();
    assert_eq!(
        (all.worker_id, all.total, all.new, all.in_progress, all.done),
        (None, 5, 2, 1, 2)
    );
    let o = f.crm.stats(&f.admin, Some(f.other.id)).await.unwrap();
    assert_eq!(
        (o.total, o.new, o.done, o.avg_resolution_seconds),
        (1, 1, 0, None)
    );

    for bad in [UserId(9_999), f.admin.id] {
        let e = f.crm.stats(&f.admin, Some(bad)).await.unwrap_err();
        assert_eq!(e.code(), "not_found");
    }
    // A deleted worker keeps its done tickets and their statistics.
    f.crm.delete_user(&f.admin, f.worker.id).await.unwrap();
    let s = f.crm.stats(&f.admin, Some(f.worker.id)).await.unwrap();
    assert_eq!((s.total, s.new, s.in_progress, s.done), (2, 0, 0, 2));
    let all = f.crm.stats(&f.admin, None).await.unwrap();
    assert_eq!(
        (all.total, all.new, all.in_progress, all.done),
        (5, 3, 0, 2)
    );
}
