//! Staff accounts, deletion and its releases, seeding and sign-in.

use super::*;

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
        session_key: crm_core::SessionKey::generate(),
        must_change_password: false,
        created_by: None,
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
