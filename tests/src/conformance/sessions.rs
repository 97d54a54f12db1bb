//! The account lifecycle: changing one's own password, an admin's reset, signing out, and the
//! account audit trail; a password change never leaves an older session working.

use super::*;
use crm_core::{AccountEventKind, DefaultAccount};

const NEW_PASSWORD: &str = "a-brand-new-passphrase";

/// Changing one's own password checks the current one and the rule, then ends every session
/// issued before; the old password no longer signs in.
pub async fn changing_ones_password_ends_older_sessions<S: Store + Clone>(store: S) {
    let f = Fixture::new(store).await;
    let before = f.crm.authenticate("worker", PASSWORD).await.unwrap();
    let e = f
        .crm
        .change_password(&f.worker, "not-the-password", NEW_PASSWORD)
        .await
        .unwrap_err();
    assert_eq!(fields(&e), ["current_password"]);
    for (bad, why) in [
        (PASSWORD, "same as the current one"),
        ("WORKER", "the username"),
        ("short", "too short"),
        ("bad\u{0}password", "a control character"),
    ] {
        let e = f
            .crm
            .change_password(&f.worker, PASSWORD, bad)
            .await
            .unwrap_err();
        assert_eq!(fields(&e), ["new_password"], "{why}");
    }
    let changed = f
        .crm
        .change_password(&f.worker, PASSWORD, NEW_PASSWORD)
        .await
        .unwrap();
    assert_ne!(changed.session_key, before.session_key);
    assert!(!changed.must_change_password);
    assert!(matches!(
        f.crm.session(before.id, before.session_key, "old").await,
        Err(CoreError::Unauthenticated)
    ));
    f.crm
        .session(changed.id, changed.session_key, "new")
        .await
        .unwrap();
    assert!(matches!(
        f.crm.authenticate("worker", PASSWORD).await,
        Err(CoreError::InvalidCredentials)
    ));
    let again = f.crm.authenticate("worker", NEW_PASSWORD).await.unwrap();
    assert_eq!(again.session_key, changed.session_key);
}

/// An admin's reset ends the account's sessions and makes its owner change the password; an
/// admin cannot reset its own, a worker cannot reset anyone's.
pub async fn an_admin_reset_ends_sessions_and_forces_a_change<S: Store + Clone>(store: S) {
    let f = Fixture::new(store).await;
    let before = f.crm.authenticate("worker", PASSWORD).await.unwrap();
    f.crm
        .reset_password(&f.admin, f.worker.id, "temporary-123")
        .await
        .unwrap();
    assert!(matches!(
        f.crm.session(before.id, before.session_key, "t").await,
        Err(CoreError::Unauthenticated)
    ));
    let after = f.crm.authenticate("worker", "temporary-123").await.unwrap();
    assert!(after.must_change_password);
    let changed = f
        .crm
        .change_password(&f.worker, "temporary-123", NEW_PASSWORD)
        .await
        .unwrap();
    assert!(!changed.must_change_password);
    let e = f
        .crm
        .reset_password(&f.admin, f.admin.id, NEW_PASSWORD)
        .await
        .unwrap_err();
    assert!(matches!(e, CoreError::CannotResetSelf), "{e:?}");
    assert_eq!(e.code(), "cannot_reset_self");
    let e = f
        .crm
        .reset_password(&f.worker, f.other.id, NEW_PASSWORD)
        .await
        .unwrap_err();
    assert_eq!(e.code(), "forbidden");
    let e = f
        .crm
        .reset_password(&f.admin, UserId(4242), NEW_PASSWORD)
        .await
        .unwrap_err();
    assert_eq!(e.code(), "not_found");
    let e = f
        .crm
        .reset_password(&f.admin, f.other.id, "other")
        .await
        .unwrap_err();
    assert_eq!(fields(&e), ["new_password"], "too short and the username");
}

/// Signing out ends exactly the presented token; a revocation is forgotten once the token
/// has expired anyway.
pub async fn signing_out_ends_only_that_token<S: Store + Clone>(store: S) {
    let f = Fixture::new(store).await;
    let u = f.crm.authenticate("worker", PASSWORD).await.unwrap();
    let later = f.clock.now() + TimeDelta::hours(1);
    f.crm.sign_out(&f.worker, "token-a", later).await.unwrap();
    assert!(matches!(
        f.crm.session(u.id, u.session_key, "token-a").await,
        Err(CoreError::Unauthenticated)
    ));
    f.crm.session(u.id, u.session_key, "token-b").await.unwrap();
    // Another account's token with the same id is not touched.
    let o = f.crm.authenticate("other", PASSWORD).await.unwrap();
    f.crm.session(o.id, o.session_key, "token-a").await.unwrap();
    // A token already expired needs no revocation; an expired revocation is forgotten.
    let past = f.clock.now() - TimeDelta::seconds(1);
    f.crm.sign_out(&f.worker, "token-c", past).await.unwrap();
    f.clock.advance(TimeDelta::hours(2));
    f.crm
        .sign_out(&f.worker, "token-d", f.clock.now() + TimeDelta::hours(1))
        .await
        .unwrap();
    let rec = f.crm.store().find_session(u.id, "token-a").await.unwrap();
    assert!(!rec.revoked, "forgotten once the token itself has expired");
}

/// Sign-ins racing a password change: every session issued is either refused (it predates
/// the change) or carries the new key; none issued with the old key keeps working.
pub async fn a_password_change_racing_sign_ins_leaves_no_older_token_working<S: Store + Clone>(
    store: S,
) {
    let f = Fixture::new(store).await;
    let signins = (0..16).map(|i| {
        let crm = f.crm.clone();
        tokio::spawn(async move {
            let pw = if i % 2 == 0 { PASSWORD } else { NEW_PASSWORD };
            crm.authenticate("worker", pw).await
        })
    });
    let change = {
        let (crm, clock) = (f.crm.clone(), f.clock.clone());
        let worker = f.worker;
        tokio::spawn(async move {
            // The racing wrong guesses may lock the username for a moment: wait it out.
            loop {
                match crm.change_password(&worker, PASSWORD, NEW_PASSWORD).await {
                    Err(CoreError::TooManyAttempts { retry_after_secs }) => {
                        clock.advance(TimeDelta::seconds(retry_after_secs as i64));
                    }
                    other => return other,
                }
            }
        })
    };
    let results: Vec<_> = join_all(signins).await;
    let changed = change.await.unwrap().unwrap();
    for r in results {
        if let Ok(user) = r.unwrap() {
            let works = f.crm.session(user.id, user.session_key, "x").await.is_ok();
            assert_eq!(
                works,
                user.session_key == changed.session_key,
                "only sessions under the new key work"
            );
        }
    }
}

/// Default accounts seeded with a documented password must change it; the audit trail shows
/// every account change, oldest first, with its actor.
pub async fn account_history_and_default_passwords<S: Store + Clone>(store: S) {
    let crm = crm_core::Crm::new(store)
        .with_password_cost(crm_core::PasswordCost::Fast)
        .with_clock(crm_core::ManualClock::new(chrono::Utc::now()));
    crm.ensure_default_accounts(&[DefaultAccount {
        username: "admin".into(),
        password: "admin123".into(),
        role: Role::Admin,
        must_change_password: true,
    }])
    .await
    .unwrap();
    let admin_user = crm.authenticate("admin", "admin123").await.unwrap();
    assert!(admin_user.must_change_password);
    let (admin, me) = crm.actor(admin_user.id).await.unwrap();
    assert!(me.must_change_password);
    let w = crm
        .create_user(&admin, "historic", PASSWORD, Role::Worker)
        .await
        .unwrap();
    assert!(!w.must_change_password);
    let (wa, _) = crm.actor(w.id).await.unwrap();
    crm.change_password(&wa, PASSWORD, NEW_PASSWORD)
        .await
        .unwrap();
    crm.reset_password(&admin, w.id, "temporary-321")
        .await
        .unwrap();
    crm.delete_user(&admin, w.id).await.unwrap();
    let h = crm.account_history(&admin, w.id).await.unwrap();
    let kinds: Vec<_> = h.iter().map(|e| (e.kind, e.actor_id)).collect();
    assert_eq!(
        kinds,
        [
            (AccountEventKind::Created, Some(admin.id)),
            (AccountEventKind::PasswordChanged, Some(w.id)),
            (AccountEventKind::PasswordReset, Some(admin.id)),
            (AccountEventKind::Deleted, Some(admin.id)),
        ]
    );
    assert!(h.windows(2).all(|p| p[0].id < p[1].id));
    let seeded = crm.account_history(&admin, admin.id).await.unwrap();
    assert_eq!(
        seeded
            .iter()
            .map(|e| (e.kind, e.actor_id))
            .collect::<Vec<_>>(),
        [(AccountEventKind::Created, None)]
    );
    assert_eq!(
        crm.account_history(&admin, UserId(999))
            .await
            .unwrap_err()
            .code(),
        "not_found"
    );
    assert_eq!(
        crm.account_history(&wa, admin.id).await.unwrap_err().code(),
        "forbidden"
    );
}
