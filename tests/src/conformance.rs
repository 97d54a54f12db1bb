//! The checks. Each takes a fresh, empty store and panics on the first broken rule.

use crate::fixture::{Fixture, PASSWORD, request};
use chrono::TimeDelta;
use crm_core::{
    Clock, CoreError, EventKind, ListTickets, ListUsers, NewUser, Role, Store, StoreError,
    SubmitTicket, Ticket, TicketId, TicketStatus, UserId, input::Username,
};
use futures::future::join_all;
use std::collections::HashSet;

use TicketStatus::{Done, InProgress, New};

fn list(status: Option<TicketStatus>, worker: Option<UserId>, search: Option<&str>) -> ListTickets {
    ListTickets {
        page: None,
        size: Some(100),
        status,
        worker_id: worker,
        search: search.map(str::to_owned),
    }
}

fn ids(items: &[Ticket]) -> Vec<i64> {
    items.iter().map(|t| t.id.0).collect()
}

fn fields(e: &CoreError) -> Vec<String> {
    match e {
        CoreError::Validation(v) => v.0.iter().map(|f| f.field.clone()).collect(),
        other => panic!("expected a validation error, got {other:?}"),
    }
}

/// A submission stores every field, creates its client and its `submitted` event.
pub async fn submit_stores_ticket_client_and_event<S: Store + Clone>(store: S) {
    let f = Fixture::new(store).await;
    f.tick();
    let now = f.clock.now();
    let mut req = request("  Broken laptop screen ", " John@Example.com ");
    req.requester_ua = Some("u".repeat(600));
    let t = f.crm.submit(req).await.unwrap();
    assert_eq!(t.title, "Broken laptop screen");
    assert_eq!(t.description, "Description of   Broken laptop screen");
    assert_eq!(t.status, New);
    assert!(!t.viewed);
    assert_eq!(t.worker_id, None);
    assert_eq!((t.created_at, t.updated_at), (now, now));
    assert_eq!(
        (t.assigned_at, t.in_progress_at, t.done_at),
        (None, None, None)
    );
    assert_eq!(t.requester_ip.as_deref(), Some("192.0.2.7"));
    assert_eq!(
        t.requester_ua.as_ref().map(|u| u.chars().count()),
        Some(512)
    );
    assert_eq!(t.tracking_code.as_str().len(), 22);
    assert_eq!(t.client.name, "John Doe");
    assert_eq!(t.client.email, "John@Example.com");
    assert_eq!(t.client.phone.as_deref(), Some("+1234567890"));
    assert_eq!(t.client.created_at, now);

    let read = f.crm.get_ticket(&f.admin, t.id).await.unwrap();
    assert_eq!(read.title, t.title);
    assert_eq!(read.client, t.client);
    assert_eq!(read.tracking_code, t.tracking_code);

    let h = f.crm.history(&f.admin, t.id).await.unwrap();
    assert_eq!(h[0].kind, EventKind::Submitted);
    assert_eq!(h[0].actor_id, None);
    assert_eq!(h[0].at, now);
    assert_eq!(h[0].ticket_id, t.id);

    // No phone is fine; a blank phone is "no phone".
    let mut req = request("Kettle", "kettle@example.com");
    req.client_phone = Some("  ".into());
    req.requester_ip = None;
    req.requester_ua = None;
    let t = f.crm.submit(req).await.unwrap();
    assert_eq!(t.client.phone, None);
    assert_eq!((t.requester_ip, t.requester_ua), (None, None));
}

/// Bad input is refused field by field and nothing is stored.
pub async fn submit_rejects_invalid_input_and_stores_nothing<S: Store + Clone>(store: S) {
    let f = Fixture::new(store).await;
    let bad = SubmitTicket {
        title: "  ".into(),
        description: "d".repeat(5001),
        client_name: "n".repeat(101),
        client_email: "not-an-email".into(),
        client_phone: Some("12ab".into()),
        ..Default::default()
    };
    let e = f.crm.submit(bad).await.unwrap_err();
    assert_eq!(e.code(), "validation_error");
    assert_eq!(
        fields(&e),
        [
            "title",
            "description",
            "client.name",
            "client.email",
            "client.phone"
        ]
    );
    let mut long_title = request(&"t".repeat(201), "a@example.com");
    long_title.client_phone = None;
    assert_eq!(
        fields(&f.crm.submit(long_title).await.unwrap_err()),
        ["title"]
    );
    let page = f
        .crm
        .list_tickets(&f.admin, list(None, None, None))
        .await
        .unwrap();
    assert_eq!(page.total, 0);
    // Limits are inclusive and count characters, not bytes.
    let ok = SubmitTicket {
        title: "é".repeat(200),
        description: "d".repeat(5000),
        client_name: "n".repeat(100),
        client_email: format!("{}@example.com", "a".repeat(64)),
        client_phone: Some("1".repeat(32)),
        ..Default::default()
    };
    f.crm.submit(ok).await.unwrap();
}

/// The first request from an e-mail creates the client; later ones reuse it unchanged.
pub async fn clients_are_found_by_email_and_never_overwritten<S: Store + Clone>(store: S) {
    let f = Fixture::new(store).await;
    let a = f
        .crm
        .submit(request("First", "ann@example.com"))
        .await
        .unwrap();
    let mut second = request("Second", "  ANN@example.COM ");
    second.client_name = "Mallory".into();
    second.client_phone = Some("999 999 999".into());
    let b = f.crm.submit(second).await.unwrap();
    assert_eq!(
        a.client, b.client,
        "the stored client is reused, not overwritten"
    );
    assert_eq!(b.client.name, "John Doe");
    let c = f
        .crm
        .submit(request("Third", "bob@example.com"))
        .await
        .unwrap();
    assert_ne!(c.client.id, a.client.id);
}

/// Same title, description and e-mail as an open ticket is a duplicate until that one is done.
pub async fn duplicates_are_rejected_until_the_ticket_is_done<S: Store + Clone>(store: S) {
    let f = Fixture::new(store).await;
    let first = f
        .crm
        .submit(request("Broken screen", "dup@example.com"))
        .await
        .unwrap();
    for email in ["dup@example.com", "DUP@Example.com ", " dup@example.com"] {
        let mut again = request(" Broken screen  ", email);
        again.description = " Description of Broken screen\n".into();
        again.client_name = "Someone else".into();
        let e = f.crm.submit(again).await.unwrap_err();
        assert!(matches!(e, CoreError::DuplicateTicket), "{email}: {e:?}");
        assert_eq!(e.code(), "duplicate_ticket");
    }
    // Any difference is a new request: title case, description, e-mail.
    f.crm
        .submit(request("broken screen", "dup@example.com"))
        .await
        .unwrap();
    let mut other_desc = request("Broken screen", "dup@example.com");
    other_desc.description.push('!');
    f.crm.submit(other_desc).await.unwrap();
    f.crm
        .submit(request("Broken screen", "dup2@example.com"))
        .await
        .unwrap();
    let total = f
        .crm
        .list_tickets(&f.admin, list(None, None, None))
        .await
        .unwrap()
        .total;
    assert_eq!(total, 4);

    // In progress still blocks; done frees the key.
    f.crm.assign(&f.admin, first.id, f.worker.id).await.unwrap();
    f.set(&f.worker, first.id, InProgress).await.unwrap();
    assert!(matches!(
        f.crm
            .submit(request("Broken screen", "dup@example.com"))
            .await,
        Err(CoreError::DuplicateTicket)
    ));
    f.set(&f.worker, first.id, Done).await.unwrap();
    let again = f
        .crm
        .submit(request("Broken screen", "dup@example.com"))
        .await
        .unwrap();
    assert_ne!(again.id, first.id);
    assert!(matches!(
        f.crm
            .submit(request("Broken screen", "dup@example.com"))
            .await,
        Err(CoreError::DuplicateTicket)
    ));
}

/// 32 identical submissions racing store exactly one ticket.
pub async fn racing_identical_submissions_store_exactly_one<S: Store + Clone>(store: S) {
    let f = Fixture::new(store).await;
    let tasks = (0..32).map(|_| {
        let crm = f.crm.clone();
        tokio::spawn(async move { crm.submit(request("Race", "race@example.com")).await })
    });
    let results: Vec<_> = join_all(tasks)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    let ok = results.iter().filter(|r| r.is_ok()).count();
    let dup = results
        .iter()
        .filter(|r| matches!(r, Err(CoreError::DuplicateTicket)))
        .count();
    assert_eq!((ok, dup), (1, 31), "{results:?}");
    let page = f
        .crm
        .list_tickets(&f.admin, list(None, None, Some("race")))
        .await
        .unwrap();
    assert_eq!(page.total, 1);
    // Different requests from one new client racing: all stored, one client.
    let tasks = (0..16).map(|i| {
        let crm = f.crm.clone();
        tokio::spawn(async move {
            crm.submit(request(&format!("Job {i}"), "new@example.com"))
                .await
        })
    });
    let clients: HashSet<_> = join_all(tasks)
        .await
        .into_iter()
        .map(|r| r.unwrap().unwrap().client.id)
        .collect();
    assert_eq!(clients.len(), 1, "one client per e-mail even under races");
}

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
    assert_eq!(fields(&e), ["new_status"], "starting needs a worker");

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
    };
    assert!(matches!(
        f.crm.store().transition(stale).await,
        Err(StoreError::Stale)
    ));
    let now = f.crm.get_ticket(&f.admin, t.id).await.unwrap();
    assert_eq!((now.status, now.worker_id), (New, None));
    let e = f.set(&f.admin, t.id, InProgress).await.unwrap_err();
    assert_eq!(fields(&e), ["new_status"]);
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

/// A worker sees only its own tickets; anything else answers exactly like a missing id.
pub async fn worker_visibility_is_a_filter<S: Store + Clone>(store: S) {
    let f = Fixture::new(store).await;
    let mine = f.assigned("Mine", &f.worker).await;
    let theirs = f.assigned("Theirs", &f.other).await;
    let unassigned = f.submit("Nobody's").await;

    let page = f
        .crm
        .list_tickets(&f.worker, list(None, None, None))
        .await
        .unwrap();
    assert_eq!((ids(&page.items), page.total), (vec![mine.id.0], 1));
    let page = f
        .crm
        .list_tickets(&f.worker, list(None, Some(f.worker.id), None))
        .await
        .unwrap();
    assert_eq!(page.total, 1);
    let e = f
        .crm
        .list_tickets(&f.worker, list(None, Some(f.other.id), None))
        .await
        .unwrap_err();
    assert_eq!(e.code(), "forbidden");
    let page = f
        .crm
        .list_tickets(&f.worker, list(Some(New), None, Some("i")))
        .await
        .unwrap();
    assert_eq!(
        ids(&page.items),
        vec![mine.id.0],
        "search stays inside the scope"
    );

    for id in [theirs.id, unassigned.id, TicketId(9_999)] {
        let not_found = |r: Result<_, CoreError>| matches!(r, Err(CoreError::NotFound("Ticket")));
        assert!(not_found(f.crm.get_ticket(&f.worker, id).await.map(|_| ())));
        assert!(not_found(f.crm.history(&f.worker, id).await.map(|_| ())));
        assert!(not_found(
            f.crm
                .change_status(&f.worker, id, InProgress)
                .await
                .map(|_| ())
        ));
    }
    let page = f
        .crm
        .list_tickets(&f.admin, list(None, None, None))
        .await
        .unwrap();
    assert_eq!(page.total, 3);
    let e = f.crm.stats(&f.worker, None).await.unwrap_err();
    assert_eq!(e.code(), "forbidden");
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

/// Newest first (`created_at` desc, then `id` desc), stable pages, honest totals past the end.
pub async fn lists_are_newest_first_and_paged<S: Store + Clone>(store: S) {
    let f = Fixture::new(store).await;
    let mut made = Vec::new();
    for i in 0..7 {
        // Three pairs share a creation time; ties go to the higher id.
        if i % 2 == 0 {
            f.tick();
        }
        made.push(
            f.crm
                .submit(request(&format!("Ticket {i}"), "p@example.com"))
                .await
                .unwrap(),
        );
    }
    // A ticket stamped earlier than all others (a clock set back) sorts last despite its id.
    f.clock.advance(TimeDelta::days(-1));
    let old = f.crm.submit(request("Old", "p@example.com")).await.unwrap();
    let mut expected: Vec<i64> = made.iter().rev().map(|t| t.id.0).collect();
    expected.push(old.id.0);
    let mut expected_sorted = made.clone();
    expected_sorted.push(old);
    expected_sorted.sort_by_key(|t| std::cmp::Reverse((t.created_at, t.id)));
    assert_eq!(ids(&expected_sorted), expected);

    let mut seen = Vec::new();
    for page in 1..=3 {
        let p = f
            .crm
            .list_tickets(
                &f.admin,
                ListTickets {
                    page: Some(page),
                    size: Some(3),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert_eq!((p.total, p.pages, p.page, p.size), (8, 3, page as u32, 3));
        seen.extend(ids(&p.items));
    }
    assert_eq!(seen, expected);
    let past = f
        .crm
        .list_tickets(
            &f.admin,
            ListTickets {
                page: Some(9),
                size: Some(3),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(past.items.is_empty());
    assert_eq!((past.total, past.pages), (8, 3));
    let default = f
        .crm
        .list_tickets(&f.admin, ListTickets::default())
        .await
        .unwrap();
    assert_eq!(
        (default.page, default.size, default.items.len()),
        (1, 10, 8)
    );
}

/// Status, worker and search filters combine with AND.
pub async fn list_filters_combine<S: Store + Clone>(store: S) {
    let f = Fixture::new(store).await;
    let a = f.assigned("Laptop fan noise", &f.worker).await;
    let b = f.assigned("Laptop hinge", &f.worker).await;
    let c = f.assigned("Laptop battery", &f.other).await;
    let d = f.submit("Phone battery").await;
    f.set(&f.worker, b.id, InProgress).await.unwrap();
    f.set(&f.other, c.id, InProgress).await.unwrap();
    f.set(&f.other, c.id, Done).await.unwrap();

    type Case<'a> = (
        Option<TicketStatus>,
        Option<UserId>,
        Option<&'a str>,
        Vec<i64>,
    );
    let cases: Vec<Case> = vec![
        (None, None, None, vec![d.id.0, c.id.0, b.id.0, a.id.0]),
        (Some(New), None, None, vec![d.id.0, a.id.0]),
        (Some(InProgress), None, None, vec![b.id.0]),
        (Some(Done), None, None, vec![c.id.0]),
        (None, Some(f.worker.id), None, vec![b.id.0, a.id.0]),
        (Some(New), Some(f.worker.id), None, vec![a.id.0]),
        (Some(Done), Some(f.worker.id), None, vec![]),
        (None, None, Some("battery"), vec![d.id.0, c.id.0]),
        (Some(New), None, Some("battery"), vec![d.id.0]),
        (None, Some(f.other.id), Some("laptop"), vec![c.id.0]),
        (
            Some(InProgress),
            Some(f.worker.id),
            Some("hinge"),
            vec![b.id.0],
        ),
        (Some(InProgress), Some(f.worker.id), Some("fan"), vec![]),
        (None, Some(UserId(777)), None, vec![]),
    ];
    for (status, worker, search, want) in cases {
        let p = f
            .crm
            .list_tickets(&f.admin, list(status, worker, search))
            .await
            .unwrap();
        assert_eq!(ids(&p.items), want, "{status:?} {worker:?} {search:?}");
        assert_eq!(p.total, want.len() as u64);
    }
}

/// Search is a case-insensitive substring of the title; `%`, `_` and `\` match themselves.
pub async fn title_search_is_case_insensitive_and_literal<S: Store + Clone>(store: S) {
    let f = Fixture::new(store).await;
    let titles = [
        "SCREEN cracked",
        "Cracked screen",
        "Noisy fan",
        "50% battery drain",
        "500 battery",
        "snake_case label",
        "snakeXcase label",
        r"back\slash",
        "Écran cassé",
        "x",
    ];
    let mut by_title = std::collections::HashMap::new();
    for t in titles {
        by_title.insert(t, f.submit(t).await.id.0);
    }
    let cases: Vec<(&str, Vec<&str>)> = vec![
        ("screen", vec!["Cracked screen", "SCREEN cracked"]),
        ("  ScReEn ", vec!["Cracked screen", "SCREEN cracked"]),
        ("n c", vec!["SCREEN cracked", "Écran cassé"]),
        ("50%", vec!["50% battery drain"]),
        ("%", vec!["50% battery drain"]),
        ("_", vec!["snake_case label"]),
        ("e_c", vec!["snake_case label"]),
        ("\\", vec![r"back\slash"]),
        ("écran", vec!["Écran cassé"]),
        ("ÉCRAN", vec!["Écran cassé"]),
        ("x", vec!["x", "snakeXcase label"]),
        ("zzz", vec![]),
        ("a", vec![]), // filled below: every title containing "a"
    ];
    for (term, want) in cases {
        let mut want: Vec<i64> = want.iter().map(|t| by_title[t]).collect();
        if term == "a" {
            want = titles
                .iter()
                .filter(|t| t.to_lowercase().contains('a'))
                .map(|t| by_title[t])
                .collect();
        }
        want.sort_unstable_by(|a, b| b.cmp(a));
        let p = f
            .crm
            .list_tickets(&f.admin, list(None, None, Some(term)))
            .await
            .unwrap();
        assert_eq!(ids(&p.items), want, "search {term:?}");
        assert_eq!(p.total, want.len() as u64);
    }
    // A blank search is no search.
    let p = f
        .crm
        .list_tickets(&f.admin, list(None, None, Some("   ")))
        .await
        .unwrap();
    assert_eq!(p.total, titles.len() as u64);
}

/// `page` >= 1, `size` 1-100, search at most 200 characters.
pub async fn list_rejects_bad_paging_and_search<S: Store + Clone>(store: S) {
    let f = Fixture::new(store).await;
    for (page, size, field) in [
        (0, 10, "page"),
        (-3, 10, "page"),
        (1, 0, "size"),
        (1, 101, "size"),
    ] {
        let e = f
            .crm
            .list_tickets(
                &f.admin,
                ListTickets {
                    page: Some(page),
                    size: Some(size),
                    ..Default::default()
                },
            )
            .await
            .unwrap_err();
        assert_eq!(fields(&e), [field]);
        let e = f
            .crm
            .list_users(
                &f.admin,
                ListUsers {
                    page: Some(page),
                    size: Some(size),
                    ..Default::default()
                },
            )
            .await
            .unwrap_err();
        assert_eq!(fields(&e), [field]);
    }
    let e = f
        .crm
        .list_tickets(&f.admin, list(None, None, Some(&"s".repeat(201))))
        .await
        .unwrap_err();
    assert_eq!(fields(&e), ["search"]);
    f.crm
        .list_tickets(&f.admin, list(None, None, Some(&"s".repeat(200))))
        .await
        .unwrap();
}

/// A tracking code reveals progress and nothing else; unknown or malformed codes are not found.
pub async fn tracking_code_shows_progress_only<S: Store + Clone>(store: S) {
    let f = Fixture::new(store).await;
    let t = f.submit("Bike").await;
    let code = t.tracking_code.as_str().to_owned();
    let p = f.crm.track(&code).await.unwrap();
    assert_eq!(
        (p.id, p.status, p.assigned, p.created_at),
        (t.id, New, false, t.created_at)
    );
    f.crm.assign(&f.admin, t.id, f.worker.id).await.unwrap();
    let started = f.set(&f.worker, t.id, InProgress).await.unwrap();
    let p = f.crm.track(&code).await.unwrap();
    assert_eq!(
        (p.status, p.assigned, p.in_progress_at, p.done_at),
        (InProgress, true, started.in_progress_at, None)
    );
    for bad in [
        "",
        "short",
        "AAAAAAAAAAAAAAAAAAAAAA",
        "../../etc/passwd/xxxxx",
    ] {
        let e = f.crm.track(bad).await.unwrap_err();
        assert_eq!(e.code(), "not_found", "{bad:?}");
    }
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

/// Creating and listing accounts: admins only, validated, unique case-insensitively.
pub async fn user_accounts<S: Store + Clone>(store: S) {
    let f = Fixture::new(store).await;
    let e = f
        .crm
        .create_user(&f.worker, "sneaky", PASSWORD, Role::Admin)
        .await
        .unwrap_err();
    assert_eq!(e.code(), "forbidden");
    assert_eq!(
        f.crm
            .list_users(&f.worker, ListUsers::default())
            .await
            .unwrap_err()
            .code(),
        "forbidden"
    );
    assert_eq!(
        f.crm
            .delete_user(&f.worker, f.other.id)
            .await
            .unwrap_err()
            .code(),
        "forbidden"
    );

    let e = f
        .crm
        .create_user(&f.admin, "no", "short", Role::Worker)
        .await
        .unwrap_err();
    assert_eq!(fields(&e), ["username", "password"]);
    let e = f
        .crm
        .create_user(&f.admin, "WORKER", PASSWORD, Role::Worker)
        .await
        .unwrap_err();
    assert_eq!(e.code(), "username_taken");

    f.tick();
    let w1 = f
        .crm
        .create_user(&f.admin, "Worker.One", PASSWORD, Role::Worker)
        .await
        .unwrap();
    assert_eq!(
        (w1.username.as_str(), w1.role),
        ("Worker.One", Role::Worker)
    );
    assert_eq!(w1.created_at, f.clock.now());
    f.tick();
    let a2 = f
        .crm
        .create_user(&f.admin, "boss2", PASSWORD, Role::Admin)
        .await
        .unwrap();

    let all = f
        .crm
        .list_users(
            &f.admin,
            ListUsers {
                size: Some(100),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let names: Vec<_> = all.items.iter().map(|u| u.username.as_str()).collect();
    assert_eq!(names[..2], ["boss2", "Worker.One"], "newest first");
    assert_eq!(all.total, 5);
    let workers = f
        .crm
        .list_users(
            &f.admin,
            ListUsers {
                role: Some(Role::Worker),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(workers.total, 3);
    let found = f
        .crm
        .list_users(
            &f.admin,
            ListUsers {
                search: Some("ONE".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(found.items, vec![w1.clone()]);
    let paged = f
        .crm
        .list_users(
            &f.admin,
            ListUsers {
                page: Some(2),
                size: Some(2),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!((paged.items.len(), paged.total, paged.pages), (2, 5, 3));

    // Deleting: self, unknown, then really; a deleted account is gone from lists and sign-in.
    assert_eq!(
        f.crm
            .delete_user(&f.admin, f.admin.id)
            .await
            .unwrap_err()
            .code(),
        "cannot_delete_self"
    );
    assert_eq!(
        f.crm
            .delete_user(&f.admin, UserId(4_040))
            .await
            .unwrap_err()
            .code(),
        "not_found"
    );
    f.crm.delete_user(&f.admin, a2.id).await.unwrap();
    assert_eq!(
        f.crm.delete_user(&f.admin, a2.id).await.unwrap_err().code(),
        "not_found"
    );
    assert!(matches!(
        f.crm.actor(a2.id).await,
        Err(CoreError::Unauthenticated)
    ));
    assert!(matches!(
        f.crm.authenticate("boss2", PASSWORD).await,
        Err(CoreError::InvalidCredentials)
    ));
    let all = f
        .crm
        .list_users(&f.admin, ListUsers::default())
        .await
        .unwrap();
    assert!(all.items.iter().all(|u| u.id != a2.id));
    // The name is free again, for a new account with a new id.
    let again = f
        .crm
        .create_user(&f.admin, "BOSS2", PASSWORD, Role::Worker)
        .await
        .unwrap();
    assert_ne!(again.id, a2.id);
    let rec = f.crm.store().find_user(a2.id).await.unwrap();
    assert!(!rec.active, "the row stays for history and statistics");
}

/// Deleting a worker puts its open tickets back to `new` with no worker; done ones keep it.
pub async fn deleting_a_worker_releases_its_open_tickets<S: Store + Clone>(store: S) {
    let f = Fixture::new(store).await;
    let open_new = f.assigned("Open new", &f.worker).await;
    let open_started = f.assigned("Open started", &f.worker).await;
    f.set(&f.worker, open_started.id, InProgress).await.unwrap();
    let done = f.assigned("Finished", &f.worker).await;
    f.set(&f.worker, done.id, InProgress).await.unwrap();
    f.set(&f.worker, done.id, Done).await.unwrap();
    let others = f.assigned("Someone else's", &f.other).await;

    f.tick();
    let at = f.clock.now();
    assert_eq!(f.crm.delete_user(&f.admin, f.worker.id).await.unwrap(), 2);
    for id in [open_new.id, open_started.id] {
        let t = f.crm.get_ticket(&f.admin, id).await.unwrap();
        assert_eq!(
            (t.status, t.worker_id, t.assigned_at, t.in_progress_at),
            (New, None, None, None)
        );
        assert_eq!(t.updated_at, at);
        let h = f.crm.history(&f.admin, id).await.unwrap();
        let released = h.iter().find(|e| e.kind == EventKind::Released).unwrap();
        assert_eq!(
            (released.actor_id, released.worker_id, released.at),
            (Some(f.admin.id), Some(f.worker.id), at)
        );
        assert_eq!(released.to_status, Some(New));
    }
    let d = f.crm.get_ticket(&f.admin, done.id).await.unwrap();
    assert_eq!((d.status, d.worker_id), (Done, Some(f.worker.id)));
    let o = f.crm.get_ticket(&f.admin, others.id).await.unwrap();
    assert_eq!(o.worker_id, Some(f.other.id));
    let p = f
        .crm
        .list_tickets(&f.admin, list(None, Some(f.worker.id), None))
        .await
        .unwrap();
    assert_eq!(ids(&p.items), vec![done.id.0]);
    // Its token stops working at once: the actor can no longer be loaded.
    assert!(matches!(
        f.crm.actor(f.worker.id).await,
        Err(CoreError::Unauthenticated)
    ));
    // Released tickets are in the unassigned queue and can be assigned again.
    let t = f
        .crm
        .assign(&f.admin, open_started.id, f.other.id)
        .await
        .unwrap();
    assert_eq!((t.status, t.worker_id), (New, Some(f.other.id)));
}

/// The last active admin can never be deleted, not even by two admins deleting each other.
pub async fn last_admin_cannot_be_deleted_even_when_racing<S: Store + Clone>(store: S) {
    let f = Fixture::new(store).await;
    let store = f.crm.store().clone();
    let e = store
        .deactivate_user(f.admin.id, f.admin.id, f.clock.now())
        .await;
    assert!(matches!(e, Err(StoreError::LastAdmin)), "{e:?}");
    for round in 0..5 {
        let b = f
            .crm
            .create_user(&f.admin, &format!("second{round}"), PASSWORD, Role::Admin)
            .await
            .unwrap();
        let b = f.crm.actor(b.id).await.unwrap().0;
        let (x, y) = (f.crm.clone(), f.crm.clone());
        let a = f.admin;
        let (r1, r2) = tokio::join!(
            tokio::spawn(async move { x.delete_user(&a, b.id).await }),
            tokio::spawn(async move { y.delete_user(&b, a.id).await }),
        );
        let (r1, r2) = (r1.unwrap(), r2.unwrap());
        let admins = f
            .crm
            .store()
            .list_users(&crm_core::UserQuery {
                role: Some(Role::Admin),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(admins.total, 1, "round {round}: {r1:?} {r2:?}");
        assert!(r1.is_ok() ^ r2.is_ok(), "round {round}: {r1:?} {r2:?}");
        if r2.is_ok() {
            // `b` won and is now the only admin; nothing left to race with.
            break;
        }
    }
}

/// Eight racing creations of one username make one account.
pub async fn racing_usernames_create_one_account<S: Store + Clone>(store: S) {
    let f = Fixture::new(store).await;
    let tasks = (0..8).map(|i| {
        let crm = f.crm.clone();
        let admin = f.admin;
        let name = if i % 2 == 0 { "racer" } else { "RACER" };
        tokio::spawn(async move { crm.create_user(&admin, name, PASSWORD, Role::Worker).await })
    });
    let results: Vec<_> = join_all(tasks)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    assert_eq!(
        results.iter().filter(|r| r.is_ok()).count(),
        1,
        "{results:?}"
    );
    assert!(
        results
            .iter()
            .all(|r| r.is_ok() || matches!(r, Err(CoreError::UsernameTaken)))
    );
}

/// Deleting a worker while tickets are being assigned to it leaves no open ticket with it.
pub async fn deleting_a_worker_while_assigning_leaves_no_orphans<S: Store + Clone>(store: S) {
    let f = Fixture::new(store).await;
    for round in 0..3 {
        let w = f
            .crm
            .create_user(&f.admin, &format!("doomed{round}"), PASSWORD, Role::Worker)
            .await
            .unwrap();
        let mut tickets = Vec::new();
        for i in 0..24 {
            tickets.push(
                f.crm
                    .submit(request(
                        &format!("Round {round} job {i}"),
                        "orphans@example.com",
                    ))
                    .await
                    .unwrap()
                    .id,
            );
        }
        let assigns = tickets.iter().map(|&id| {
            let crm = f.crm.clone();
            let admin = f.admin;
            tokio::spawn(async move { crm.assign(&admin, id, w.id).await })
        });
        let crm = f.crm.clone();
        let admin = f.admin;
        let delete = tokio::spawn(async move {
            tokio::task::yield_now().await;
            crm.delete_user(&admin, w.id).await
        });
        for r in join_all(assigns).await {
            match r.unwrap() {
                Ok(t) => assert_eq!(t.worker_id, Some(w.id)),
                Err(e) => assert!(matches!(e, CoreError::InvalidWorker), "{e:?}"),
            }
        }
        delete.await.unwrap().unwrap();
        let orphans = f
            .crm
            .list_tickets(&f.admin, list(None, Some(w.id), None))
            .await
            .unwrap();
        assert_eq!(
            orphans.total, 0,
            "round {round}: open tickets kept a deleted worker"
        );
        for id in tickets {
            let t = f.crm.get_ticket(&f.admin, id).await.unwrap();
            assert_eq!((t.status, t.worker_id), (New, None));
        }
    }
}

/// Default accounts are created once, only into an empty store, even by racing replicas.
pub async fn default_accounts_are_seeded_once<S: Store + Clone>(store: S) {
    let new_user = |name: &str, role| NewUser {
        username: Username::parse(name).unwrap(),
        password_hash: "$argon2id$v=19$m=1024,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA".into(),
        role,
        created_at: chrono::Utc::now(),
    };
    let tasks = (0..8).map(|_| {
        let store = store.clone();
        let users = vec![
            new_user("admin", Role::Admin),
            new_user("worker", Role::Worker),
        ];
        tokio::spawn(async move { store.seed_users(users).await })
    });
    let seeded = join_all(tasks)
        .await
        .into_iter()
        .filter(|r| *r.as_ref().unwrap().as_ref().unwrap())
        .count();
    assert_eq!(seeded, 1);
    let users = store
        .list_users(&crm_core::UserQuery::default())
        .await
        .unwrap();
    assert_eq!(users.total, 2);
    assert!(
        !store
            .seed_users(vec![new_user("third", Role::Admin)])
            .await
            .unwrap()
    );
}

/// Sign-in: case-insensitive username, exact password, one answer for every failure.
pub async fn authentication<S: Store + Clone>(store: S) {
    let f = Fixture::new(store).await;
    let u = f.crm.authenticate("Worker", PASSWORD).await.unwrap();
    assert_eq!((u.id, u.role), (f.worker.id, Role::Worker));
    for (name, pw) in [
        ("worker", "wrong-password"),
        ("nobody", PASSWORD),
        ("x", PASSWORD),
        ("worker", ""),
    ] {
        let e = f.crm.authenticate(name, pw).await.unwrap_err();
        assert_eq!(e.code(), "invalid_credentials");
    }
    let (actor, user) = f.crm.actor(f.admin.id).await.unwrap();
    assert_eq!((actor.role, user.username.as_str()), (Role::Admin, "admin"));
    assert!(matches!(
        f.crm.actor(UserId(31_337)).await,
        Err(CoreError::Unauthenticated)
    ));
}

/// A few thousand tickets with every filter and search: each answer equals a naive filter of
/// the whole set, so the backend's indexes can never drift from the rules.
pub async fn large_lists_and_search_agree_with_a_naive_filter<S: Store + Clone>(store: S) {
    let f = Fixture::new(store).await;
    let words = [
        "screen", "battery", "Hinge", "fan", "KEYBOARD", "port", "speaker",
    ];
    let mut all = Vec::new();
    for i in 0..600usize {
        if i % 3 == 0 {
            f.tick();
        }
        let title = format!("{} {} #{i}", words[i % 7], words[(i / 7) % 7]);
        let t = f
            .crm
            .submit(request(&title, &format!("c{}@example.com", i % 50)))
            .await
            .unwrap();
        let t = match i % 5 {
            0 => t,
            1 | 2 => f.crm.assign(&f.admin, t.id, f.worker.id).await.unwrap(),
            _ => f.crm.assign(&f.admin, t.id, f.other.id).await.unwrap(),
        };
        let t = if i % 4 == 1 && t.worker_id.is_some() {
            let w = if t.worker_id == Some(f.worker.id) {
                f.worker
            } else {
                f.other
            };
            let t = f.crm.change_status(&w, t.id, InProgress).await.unwrap();
            if i % 8 == 1 {
                f.crm.change_status(&w, t.id, Done).await.unwrap()
            } else {
                t
            }
        } else {
            t
        };
        all.push(t);
    }
    all.sort_by_key(|t| std::cmp::Reverse((t.created_at, t.id)));
    let searches = [
        None,
        Some("screen"),
        Some("KEY"),
        Some("e"),
        Some("ry h"),
        Some("#1"),
        Some("nothing"),
    ];
    let statuses = [None, Some(New), Some(InProgress), Some(Done)];
    let workers = [None, Some(f.worker.id), Some(f.other.id)];
    for search in searches {
        for status in statuses {
            for worker in workers {
                let want: Vec<i64> = all
                    .iter()
                    .filter(|t| status.is_none_or(|s| t.status == s))
                    .filter(|t| worker.is_none_or(|w| t.worker_id == Some(w)))
                    .filter(|t| {
                        search.is_none_or(|s| t.title.to_lowercase().contains(&s.to_lowercase()))
                    })
                    .map(|t| t.id.0)
                    .collect();
                for (page, size) in [(1, 7), (3, 7), (2, 100)] {
                    let req = ListTickets {
                        page: Some(page),
                        size: Some(size),
                        status,
                        worker_id: worker,
                        search: search.map(str::to_owned),
                    };
                    let p = f.crm.list_tickets(&f.admin, req).await.unwrap();
                    let from = ((page - 1) * size) as usize;
                    let expect: Vec<i64> = want
                        .iter()
                        .skip(from)
                        .take(size as usize)
                        .copied()
                        .collect();
                    assert_eq!(
                        ids(&p.items),
                        expect,
                        "{search:?} {status:?} {worker:?} page {page}"
                    );
                    assert_eq!(p.total, want.len() as u64);
                }
            }
        }
    }
    // The worker's own view equals the admin's view filtered by that worker.
    let mine = f
        .crm
        .list_tickets(
            &f.worker,
            ListTickets {
                size: Some(100),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let want: Vec<i64> = all
        .iter()
        .filter(|t| t.worker_id == Some(f.worker.id))
        .map(|t| t.id.0)
        .take(100)
        .collect();
    assert_eq!(ids(&mine.items), want);
}
