//! Submissions, clients, duplicates and the public progress view.

use super::*;

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
    assert_eq!(t.tracking_code.as_str().len(), crm_core::TrackingCode::LEN);
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
    // As a customer reads it out: lower case, spaces for dashes.
    let heard = code.replace('-', " ").to_lowercase();
    assert_eq!(f.crm.track(&heard).await.unwrap().id, t.id);
    for bad in [
        "",
        "short",
        "AAAAAAAAAAAAAAAAAAAAAA",
        "0000-0000-0000-0000",
        "../../etc/passwd/xxxxx",
    ] {
        let e = f.crm.track(bad).await.unwrap_err();
        assert_eq!(e.code(), "not_found", "{bad:?}");
    }
}
