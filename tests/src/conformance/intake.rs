//! Intake at the counter: staff intake and its roles, the device and its limits, priority and
//! due date, the public view hiding the shop's records, the counter search and filters, and
//! the `due` order walked by cursor.

use super::*;
use crm_core::{DeviceInput, DeviceKind, IntakeTicket, Priority};

fn device() -> DeviceInput {
    DeviceInput {
        kind: Some(DeviceKind::Phone),
        brand: Some(" Fairphone ".into()),
        model: Some("5".into()),
        serial: Some("35 209 911 0001 x".into()),
        condition: Some("Cracked back glass".into()),
        accessories: Some("Case, SIM".into()),
    }
}

fn intake(title: &str, email: &str) -> IntakeTicket {
    let mut request = request(title, email);
    request.device = Some(device());
    IntakeTicket {
        request,
        priority: Some(Priority::High),
        due_at: None,
        worker_id: None,
    }
}

/// An admin's intake names any active worker (assigned in the same step, both events by the
/// admin), a worker's intake is its own and may not name another, a bad worker stores
/// nothing, and the device, priority and due date are kept and validated.
pub async fn staff_intake_roles_device_and_events<S: Store + Clone>(store: S) {
    let f = Fixture::new(store).await;
    f.tick();
    let now = f.clock.now();
    let mut req = intake("Cracked back", "walkin@example.com");
    req.due_at = Some(now + TimeDelta::days(2));
    req.worker_id = Some(f.worker.id);
    let t = f.crm.intake(&f.admin, req).await.unwrap();
    assert_eq!(t.worker_id, Some(f.worker.id));
    assert_eq!(t.assigned_at, Some(now));
    assert_eq!(t.priority, Priority::High);
    assert_eq!(t.due_at, Some(now + TimeDelta::days(2)));
    let d = t.device.clone().unwrap();
    assert_eq!(d.kind, Some(DeviceKind::Phone));
    assert_eq!(d.brand.as_deref(), Some("Fairphone"));
    assert_eq!(d.serial.as_deref(), Some("35 209 911 0001 x"));
    assert_eq!(d.accessories.as_deref(), Some("Case, SIM"));
    let read = f.crm.get_ticket(&f.admin, t.id).await.unwrap();
    assert_eq!(
        (read.device, read.priority, read.due_at, read.worker_id),
        (t.device.clone(), t.priority, t.due_at, t.worker_id)
    );
    let h = f.crm.history(&f.admin, t.id).await.unwrap();
    let kinds: Vec<_> = h.iter().map(|e| (e.kind, e.actor_id)).collect();
    assert_eq!(
        kinds[..2],
        [
            (EventKind::Submitted, Some(f.admin.id)),
            (EventKind::Assigned, Some(f.admin.id))
        ]
    );
    assert_eq!(h[1].worker_id, Some(f.worker.id));

    // A worker's intake is its own; naming another worker is refused.
    f.tick();
    let own = f
        .crm
        .intake(&f.worker, intake("Dead battery", "walkin2@example.com"))
        .await
        .unwrap();
    assert_eq!(own.worker_id, Some(f.worker.id));
    assert_eq!(own.priority, Priority::High);
    let mut other = intake("Loose port", "walkin3@example.com");
    other.worker_id = Some(f.other.id);
    assert_eq!(
        f.crm.intake(&f.worker, other).await.unwrap_err().code(),
        "forbidden"
    );
    // Naming an admin, an unknown id or a deleted worker stores nothing.
    let before = f
        .crm
        .list_tickets(&f.admin, list(None, None, None))
        .await
        .unwrap()
        .total;
    for bad in [f.admin.id, UserId(9999)] {
        let mut r = intake("Nobody's job", "walkin4@example.com");
        r.worker_id = Some(bad);
        assert_eq!(
            f.crm.intake(&f.admin, r).await.unwrap_err().code(),
            "invalid_worker"
        );
    }
    f.crm.delete_user(&f.admin, f.other.id).await.unwrap();
    let mut r = intake("Nobody's job", "walkin4@example.com");
    r.worker_id = Some(f.other.id);
    assert_eq!(
        f.crm.intake(&f.admin, r).await.unwrap_err().code(),
        "invalid_worker"
    );
    let after = f
        .crm
        .list_tickets(&f.admin, list(None, None, None))
        .await
        .unwrap()
        .total;
    assert_eq!(before, after, "a refused intake stores nothing");

    // The duplicate rule is the public one.
    f.tick();
    let dup = f
        .crm
        .intake(&f.admin, intake("Cracked back", "WALKIN@example.com"))
        .await
        .unwrap_err();
    assert_eq!(dup.code(), "duplicate_ticket");

    // Without a worker, an admin's intake waits for one; priority defaults to normal.
    let mut plain = intake("Plain", "walkin5@example.com");
    plain.priority = None;
    plain.request.device = None;
    let p = f.crm.intake(&f.admin, plain).await.unwrap();
    assert_eq!(
        (p.worker_id, p.priority, p.device),
        (None, Priority::Normal, None)
    );

    // Device limits, field by field, and nothing stored.
    let mut bad = intake("Bad device", "walkin6@example.com");
    bad.request.device = Some(DeviceInput {
        brand: Some("b".repeat(65)),
        serial: Some("IMEI#1".into()),
        condition: Some("c".repeat(1001)),
        accessories: Some("a".repeat(501)),
        ..Default::default()
    });
    let e = f.crm.intake(&f.admin, bad).await.unwrap_err();
    assert_eq!(
        fields(&e),
        [
            "device.brand",
            "device.serial",
            "device.condition",
            "device.accessories"
        ]
    );
    // A public submission takes the device too, with the customer as the actor.
    let mut public = request("Public with device", "pub@example.com");
    public.device = Some(device());
    let t = f.crm.submit(public).await.unwrap();
    assert_eq!(t.device.unwrap().model.as_deref(), Some("5"));
    assert_eq!(
        (t.priority, t.due_at, t.worker_id),
        (Priority::Normal, None, None)
    );
    let h = f.crm.history(&f.admin, t.id).await.unwrap();
    assert_eq!(h[0].actor_id, None);
}

/// The progress view names the device (kind, brand, model) and the due date, never the
/// serial, the condition or the accessories.
pub async fn public_view_hides_serial_condition_and_accessories<S: Store + Clone>(store: S) {
    let f = Fixture::new(store).await;
    let mut req = intake("Hidden fields", "hide@example.com");
    req.due_at = Some(f.clock.now() + TimeDelta::days(1));
    let t = f.crm.intake(&f.admin, req).await.unwrap();
    let p = f.crm.track(t.tracking_code.as_str()).await.unwrap();
    let d = p.device.clone().unwrap();
    assert_eq!(d.kind, Some(DeviceKind::Phone));
    assert_eq!(d.brand.as_deref(), Some("Fairphone"));
    assert_eq!(d.model.as_deref(), Some("5"));
    assert_eq!(p.due_at, t.due_at);
    let text = format!("{p:?}");
    for secret in ["35 209", "Cracked back glass", "Case, SIM"] {
        assert!(!text.contains(secret), "{secret} leaked into {text}");
    }
}

/// The counter search finds a ticket by number, code, name, e-mail, phone digits (with or
/// without the trunk zero) and serial; it combines with the other filters and with a
/// worker's scope. The priority, customer, serial and overdue filters agree with the rules.
pub async fn counter_search_and_filters<S: Store + Clone>(store: S) {
    let f = Fixture::new(store).await;
    let mut a = intake("Screen", "anna.kowalska@example.com");
    a.request.client_name = "Anna Kowalska".into();
    a.request.client_phone = Some("+49 171 2345678".into());
    a.worker_id = Some(f.worker.id);
    a.due_at = Some(f.clock.now() + TimeDelta::hours(1));
    let a = f.crm.intake(&f.admin, a).await.unwrap();
    f.tick();
    let mut b = intake("Battery", "bob@example.org");
    b.request.client_name = "Bob Stone".into();
    b.request.client_phone = Some("(020) 7946 0958".into());
    b.request.device = Some(DeviceInput {
        serial: Some("SN-777".into()),
        ..Default::default()
    });
    b.priority = Some(Priority::Urgent);
    let b = f.crm.intake(&f.admin, b).await.unwrap();
    f.tick();
    let c = f.submit("Kettle").await;

    let find = |q: &str| {
        let mut l = list(None, None, None);
        l.q = Some(q.into());
        l
    };
    let cases: Vec<(String, Vec<i64>)> = vec![
        (format!("#{}", a.id.0), vec![a.id.0]),
        (
            a.tracking_code.as_str().to_lowercase().replace('-', ""),
            vec![a.id.0],
        ),
        ("kowal".into(), vec![a.id.0]),
        ("ANNA.K".into(), vec![a.id.0]),
        ("example.org".into(), vec![b.id.0]),
        ("0171 234".into(), vec![a.id.0]),
        ("171-234".into(), vec![a.id.0]),
        ("7946 09".into(), vec![b.id.0]),
        ("sn-777".into(), vec![b.id.0]),
        ("352099110001x".into(), vec![a.id.0]),
        ("nobody at all".into(), vec![]),
    ];
    for (q, want) in cases {
        let got = f.crm.list_tickets(&f.admin, find(&q)).await.unwrap();
        let mut got_ids = ids(&got.items);
        got_ids.sort_unstable();
        // The fixture's own client (John Doe) may match broad fragments; these do not.
        assert_eq!(got_ids, want, "q={q}");
        assert_eq!(got.total, want.len() as u64, "q={q}");
    }
    // Combined with a worker's scope and other filters.
    let mine = f
        .crm
        .list_tickets(&f.worker, find("example"))
        .await
        .unwrap();
    assert_eq!(ids(&mine.items), [a.id.0]);
    let mut urgent = find("example");
    urgent.priority = Some(Priority::Urgent);
    assert_eq!(
        ids(&f.crm.list_tickets(&f.admin, urgent).await.unwrap().items),
        [b.id.0]
    );
    let mut by_client = list(None, None, None);
    by_client.client_id = Some(c.client.id);
    assert_eq!(
        ids(&f.crm.list_tickets(&f.admin, by_client).await.unwrap().items),
        [c.id.0]
    );
    let mut by_serial = list(None, None, None);
    by_serial.serial = Some(" sn-777 ".into());
    assert_eq!(
        ids(&f.crm.list_tickets(&f.admin, by_serial).await.unwrap().items),
        [b.id.0]
    );
    // Overdue: open and promised for a time now past; a done ticket never is.
    let overdue = || {
        let mut l = list(None, None, None);
        l.overdue = true;
        l
    };
    assert!(
        f.crm
            .list_tickets(&f.admin, overdue())
            .await
            .unwrap()
            .items
            .is_empty()
    );
    f.clock.advance(TimeDelta::hours(2));
    assert_eq!(
        ids(&f.crm.list_tickets(&f.admin, overdue()).await.unwrap().items),
        [a.id.0]
    );
    f.set(&f.worker, a.id, InProgress).await.unwrap();
    f.set(&f.worker, a.id, Done).await.unwrap();
    assert_eq!(
        f.crm.list_tickets(&f.admin, overdue()).await.unwrap().total,
        0
    );
    // A bad value is a field error.
    let mut bad = find(&"x".repeat(201));
    bad.client_id = Some(crm_core::ClientId(0));
    assert_eq!(
        fields(&f.crm.list_tickets(&f.admin, bad).await.unwrap_err()),
        ["q", "client_id"]
    );
}

/// `sort=due` is soonest due first, undated last, then newest; walked by cursor it returns
/// every ticket once, also while tickets (dated and undated) are added between the steps.
pub async fn due_order_walks_every_ticket_once<S: Store + Clone>(store: S) {
    let f = Fixture::new(store).await;
    let start = f.clock.now();
    let add = |i: u32, due: Option<i64>| {
        let mut r = intake(&format!("Due {i}"), &format!("due{i}@example.com"));
        r.request.device = None;
        r.due_at = due.map(|h| start + TimeDelta::hours(h));
        r
    };
    let mut made = Vec::new();
    for i in 0..23u32 {
        f.tick();
        let due = (i % 3 != 0).then_some(i64::from(i % 5) + 1);
        made.push(f.crm.intake(&f.admin, add(i, due)).await.unwrap());
    }
    let sorted = {
        let mut l = list(None, None, None);
        l.sort = Some(TicketSort::Due);
        f.crm.list_tickets(&f.admin, l).await.unwrap().items
    };
    let key = |t: &Ticket| (t.due_at.map_or(i64::MAX, |d| d.timestamp()), -t.id.0);
    let mut want = made.clone();
    want.sort_by_key(key);
    assert_eq!(ids(&sorted), ids(&want));

    // A title search lists and counts the same tickets in every order ("Due 1", "Due 1x").
    let matching: HashSet<i64> = made
        .iter()
        .filter(|t| t.title.starts_with("Due 1"))
        .map(|t| t.id.0)
        .collect();
    for sort in [TicketSort::Newest, TicketSort::Oldest, TicketSort::Due] {
        let mut l = list(None, None, Some("due 1"));
        l.sort = Some(sort);
        l.size = Some(3);
        let page = f.crm.list_tickets(&f.admin, l).await.unwrap();
        assert_eq!(page.total, matching.len() as u64, "{sort:?}: total");
        assert!(page.items.iter().all(|t| matching.contains(&t.id.0)));
    }

    let mut seen = Vec::new();
    let mut cursor: Option<Cursor> = None;
    let mut extra = 100u32;
    loop {
        let mut l = list(None, None, None);
        l.size = Some(4);
        l.sort = Some(TicketSort::Due);
        l.cursor = cursor.map(Cursor::encode);
        let page = f.crm.list_tickets(&f.admin, l).await.unwrap();
        seen.extend(ids(&page.items));
        // Added meanwhile: one due long after everything, one undated (newest of all).
        f.tick();
        f.crm
            .intake(&f.admin, add(extra, Some(1000)))
            .await
            .unwrap();
        extra += 1;
        f.crm.intake(&f.admin, add(extra, None)).await.unwrap();
        extra += 1;
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    let unique: HashSet<i64> = seen.iter().copied().collect();
    assert_eq!(unique.len(), seen.len(), "no ticket twice");
    for t in &made {
        assert!(
            unique.contains(&t.id.0),
            "#{} missing from the walk",
            t.id.0
        );
    }
}

/// A correction is a merge patch: left out stays, `null` clears, a value replaces; one
/// `edited` event lists each changed field with its old and new value; nothing changed writes
/// nothing; a duplicate by edit is refused; a done ticket can still be corrected; a worker
/// corrects only its own; searches and filters see the new title and serial at once.
pub async fn edits_are_merge_patches_with_one_event<S: Store + Clone>(store: S) {
    use crm_core::{DevicePatch, EditTicket, Patch};
    let f = Fixture::new(store).await;
    let mut req = intake("Cracked screen", "edit@example.com");
    req.worker_id = Some(f.worker.id);
    let t = f.crm.intake(&f.admin, req).await.unwrap();
    f.tick();
    let due = f.clock.now() + TimeDelta::days(3);
    let edit = EditTicket {
        title: Some("  Cracked screen and back ".into()),
        device: Patch::Set(DevicePatch {
            serial: Patch::Set("SN-NEW-1".into()),
            condition: Patch::Clear,
            ..Default::default()
        }),
        priority: Patch::Set(Priority::Low),
        due_at: Patch::Set(due),
        ..Default::default()
    };
    let e = f.crm.edit_ticket(&f.worker, t.id, edit).await.unwrap();
    assert_eq!(e.title, "Cracked screen and back");
    assert_eq!(e.description, t.description, "left out: unchanged");
    let d = e.device.clone().unwrap();
    assert_eq!(d.serial.as_deref(), Some("SN-NEW-1"));
    assert_eq!(d.condition, None, "null clears");
    assert_eq!(d.brand.as_deref(), Some("Fairphone"), "left out: unchanged");
    assert_eq!((e.priority, e.due_at), (Priority::Low, Some(due)));
    assert_eq!(e.updated_at, f.clock.now());
    let h = f.crm.history(&f.admin, t.id).await.unwrap();
    let last = h.last().unwrap();
    assert_eq!(
        (last.kind, last.actor_id),
        (EventKind::Edited, Some(f.worker.id))
    );
    let changed: Vec<&str> = last.changes.iter().map(|c| c.field.as_str()).collect();
    assert_eq!(changed, ["title", "device", "priority", "due_at"]);
    assert_eq!(last.changes[0].from, serde_json::json!("Cracked screen"));
    assert_eq!(
        last.changes[0].to,
        serde_json::json!("Cracked screen and back")
    );
    assert_eq!(last.changes[2].to, serde_json::json!("low"));
    // The same patch again changes nothing and writes nothing.
    let again = EditTicket {
        title: Some("Cracked screen and back".into()),
        priority: Patch::Set(Priority::Low),
        ..Default::default()
    };
    f.crm.edit_ticket(&f.admin, t.id, again).await.unwrap();
    assert_eq!(f.crm.history(&f.admin, t.id).await.unwrap().len(), h.len());
    // Searches and filters see the edit.
    let mut by_serial = list(None, None, None);
    by_serial.serial = Some("sn-new-1".into());
    assert_eq!(
        ids(&f.crm.list_tickets(&f.admin, by_serial).await.unwrap().items),
        [t.id.0]
    );
    let found = f
        .crm
        .list_tickets(&f.admin, list(None, None, Some("and back")))
        .await
        .unwrap();
    assert_eq!(ids(&found.items), [t.id.0]);
    // The public view follows what it may show.
    let p = f.crm.track(t.tracking_code.as_str()).await.unwrap();
    assert_eq!(p.due_at, Some(due));
    // Another worker cannot see it; the admin clears the device and the due date.
    let other = f
        .crm
        .edit_ticket(
            &f.other,
            t.id,
            EditTicket {
                title: Some("x".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(other.code(), "not_found");
    let cleared = f
        .crm
        .edit_ticket(
            &f.admin,
            t.id,
            EditTicket {
                device: Patch::Clear,
                due_at: Patch::Clear,
                priority: Patch::Clear,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        (cleared.device, cleared.due_at, cleared.priority),
        (None, None, Priority::Normal)
    );
    // Bad values are field errors; nothing changes.
    let bad = EditTicket {
        title: Some(" ".into()),
        device: Patch::Set(DevicePatch {
            serial: Patch::Set("#!".into()),
            ..Default::default()
        }),
        ..Default::default()
    };
    let err = f.crm.edit_ticket(&f.admin, t.id, bad).await.unwrap_err();
    assert_eq!(fields(&err), ["title", "device.serial"]);
    // A duplicate by edit is refused while the other is open; a done ticket is corrected.
    f.tick();
    let twin = f
        .crm
        .intake(&f.admin, intake("Twin", "edit@example.com"))
        .await
        .unwrap();
    let dup = EditTicket {
        title: Some("Cracked screen and back".into()),
        description: Some(t.description.clone()),
        ..Default::default()
    };
    assert_eq!(
        f.crm
            .edit_ticket(&f.admin, twin.id, dup)
            .await
            .unwrap_err()
            .code(),
        "duplicate_ticket"
    );
    f.set(&f.worker, t.id, InProgress).await.unwrap();
    f.set(&f.worker, t.id, Done).await.unwrap();
    let fixed = f
        .crm
        .edit_ticket(
            &f.admin,
            t.id,
            EditTicket {
                title: Some("Screen replaced".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        (fixed.title.as_str(), fixed.status),
        ("Screen replaced", Done)
    );
    // Now the first is done, the twin may take its old title.
    let dup = EditTicket {
        title: Some("Cracked screen and back".into()),
        description: Some(t.description.clone()),
        ..Default::default()
    };
    f.crm.edit_ticket(&f.admin, twin.id, dup).await.unwrap();
}

/// Edits racing each other and a status change all apply, each on what the one before it
/// left: no edit is lost, and every one is in the history once.
pub async fn racing_edits_apply_each_once<S: Store + Clone>(store: S) {
    use crm_core::{EditTicket, Patch};
    let f = Fixture::new(store).await;
    let mut req = intake("Racing edits", "race.edit@example.com");
    req.worker_id = Some(f.worker.id);
    let t = f.crm.intake(&f.admin, req).await.unwrap();
    let edits = (0..8).map(|i| {
        let crm = f.crm.clone();
        let admin = f.admin;
        async move {
            let edit = if i % 2 == 0 {
                EditTicket {
                    description: Some(format!("Version {i}")),
                    ..Default::default()
                }
            } else {
                EditTicket {
                    due_at: Patch::Set(
                        chrono::DateTime::from_timestamp(1_900_000_000 + i, 0).unwrap(),
                    ),
                    ..Default::default()
                }
            };
            crm.edit_ticket(&admin, t.id, edit).await
        }
    });
    let start = f.crm.change_status(&f.worker, t.id, InProgress);
    let (results, started) = futures::join!(join_all(edits), start);
    started.unwrap();
    for r in &results {
        assert!(r.is_ok(), "{r:?}");
    }
    let h = f.crm.history(&f.admin, t.id).await.unwrap();
    assert_eq!(h.iter().filter(|e| e.kind == EventKind::Edited).count(), 8);
    let now = f.crm.get_ticket(&f.admin, t.id).await.unwrap();
    assert_eq!(now.status, InProgress, "the status change was not lost");
}

/// Customers: listed newest first with their counts, found by name, e-mail or phone digits,
/// read by a worker only through one of its tickets, corrected by admins with the e-mail kept
/// unique, each correction in their history; tickets show the corrected customer.
pub async fn customers_are_found_corrected_and_recorded<S: Store + Clone>(store: S) {
    use crm_core::{ClientId, EditClient, ListClients, Patch};
    let f = Fixture::new(store).await;
    let mut a = intake("Screen", "anna@example.com");
    a.request.client_name = "Anna Kowalska".into();
    a.request.client_phone = Some("+49 171 2345678".into());
    a.worker_id = Some(f.worker.id);
    let t = f.crm.intake(&f.admin, a).await.unwrap();
    f.tick();
    let b = f.submit("Kettle").await;
    f.set(&f.worker, t.id, InProgress).await.unwrap();
    let search = |s: &str| ListClients {
        search: Some(s.into()),
        size: Some(100),
        ..Default::default()
    };
    let all = f
        .crm
        .list_clients(&f.admin, ListClients::default())
        .await
        .unwrap();
    let names: Vec<&str> = all.items.iter().map(|c| c.client.name.as_str()).collect();
    assert_eq!(names, ["John Doe", "Anna Kowalska"], "newest first");
    let anna = &all.items[1];
    assert_eq!((anna.ticket_count, anna.open_ticket_count), (1, 1));
    for (q, want) in [
        ("kowal", 1),
        ("0171 234", 1),
        ("171-234", 1),
        ("EXAMPLE.COM", 2),
        ("nobody", 0),
    ] {
        assert_eq!(
            f.crm.list_clients(&f.admin, search(q)).await.unwrap().total,
            want,
            "{q}"
        );
    }
    assert_eq!(
        f.crm
            .list_clients(&f.worker, ListClients::default())
            .await
            .unwrap_err()
            .code(),
        "forbidden"
    );
    // A worker reads the customer of its ticket, not another.
    assert_eq!(
        f.crm
            .get_client(&f.worker, t.client.id)
            .await
            .unwrap()
            .client
            .name,
        "Anna Kowalska"
    );
    assert_eq!(
        f.crm
            .get_client(&f.worker, b.client.id)
            .await
            .unwrap_err()
            .code(),
        "not_found"
    );
    assert_eq!(
        f.crm
            .get_client(&f.admin, ClientId(999))
            .await
            .unwrap_err()
            .code(),
        "not_found"
    );
    // Corrections: the e-mail stays unique, each one recorded, tickets show the new data.
    f.tick();
    let taken = EditClient {
        email: Some("CLIENT@example.com".into()),
        ..Default::default()
    };
    assert_eq!(
        f.crm
            .edit_client(&f.admin, t.client.id, taken)
            .await
            .unwrap_err()
            .code(),
        "email_taken"
    );
    let fix = EditClient {
        name: Some("Anna Kowalska-Nowak".into()),
        email: Some("anna.kn@example.com".into()),
        phone: Patch::Clear,
    };
    let c = f
        .crm
        .edit_client(&f.admin, t.client.id, fix.clone())
        .await
        .unwrap();
    assert_eq!(
        (c.name.as_str(), c.email.as_str(), c.phone),
        ("Anna Kowalska-Nowak", "anna.kn@example.com", None)
    );
    f.crm.edit_client(&f.admin, t.client.id, fix).await.unwrap();
    let h = f.crm.client_history(&f.admin, t.client.id).await.unwrap();
    assert_eq!(
        h.len(),
        2,
        "created, then one edit (the repeat changed nothing)"
    );
    assert_eq!(
        (h[0].kind, h[0].actor_id),
        (crm_core::ClientEventKind::Created, Some(f.admin.id))
    );
    assert_eq!(h[1].actor_id, Some(f.admin.id));
    let changed: Vec<&str> = h[1].changes.iter().map(|c| c.field.as_str()).collect();
    assert_eq!(changed, ["name", "email", "phone"]);
    assert_eq!(
        f.crm.get_ticket(&f.admin, t.id).await.unwrap().client.email,
        "anna.kn@example.com"
    );
    // The old e-mail is free again; a new request under the new one is the same customer.
    let mut again = request("Another", "ANNA.KN@example.com");
    again.client_name = "Someone typing".into();
    let t2 = f.crm.submit(again).await.unwrap();
    assert_eq!(
        (t2.client.id, t2.client.name.as_str()),
        (t.client.id, "Anna Kowalska-Nowak")
    );
    let bad = EditClient {
        name: Some(" ".into()),
        phone: Patch::Set("12ab".into()),
        ..Default::default()
    };
    assert_eq!(
        fields(
            &f.crm
                .edit_client(&f.admin, t.client.id, bad)
                .await
                .unwrap_err()
        ),
        ["name", "phone"]
    );
    assert_eq!(
        f.crm
            .edit_client(&f.worker, t.client.id, EditClient::default())
            .await
            .unwrap_err()
            .code(),
        "forbidden"
    );
}
