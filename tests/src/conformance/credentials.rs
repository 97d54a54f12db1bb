//! API keys and two-factor sign-in: keys act as their account until they expire, are revoked
//! or the account goes; a code is accepted once, whatever races; recovery codes once each.

use super::*;
use crm_core::{
    AccountEventKind, KeyScope, credential,
    service::{MakeApiKey, TotpSetup},
    throttle,
};

fn make(name: &str, scope: KeyScope) -> MakeApiKey {
    MakeApiKey {
        name: name.into(),
        scope,
        expires_at: None,
    }
}

async fn kinds<S: Store + Clone>(f: &Fixture<S>, id: UserId) -> Vec<AccountEventKind> {
    f.crm
        .account_history(&f.admin, id)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.kind)
        .collect()
}

/// A key made by an admin acts as its account, is listed without its secret, notes its use
/// at most once a minute, and stops working when it expires, is revoked, or its account is
/// deleted. Workers may not make keys; names and expiries are checked by field.
pub async fn api_keys_act_as_their_account_until_revoked<S: Store + Clone>(store: S) {
    let f = Fixture::new(store).await;
    let e = f
        .crm
        .create_api_key(&f.worker, f.worker.id, make("mine", KeyScope::Write))
        .await
        .unwrap_err();
    assert!(matches!(e, CoreError::Forbidden(_)), "{e:?}");
    let bad = MakeApiKey {
        name: "   ".into(),
        scope: KeyScope::Read,
        expires_at: Some(f.clock.now() - TimeDelta::seconds(1)),
    };
    let e = f
        .crm
        .create_api_key(&f.admin, f.worker.id, bad)
        .await
        .unwrap_err();
    assert_eq!(fields(&e), ["name", "expires_at"]);
    assert!(
        f.crm
            .list_api_keys(&f.admin, f.worker.id)
            .await
            .unwrap()
            .is_empty()
    );
    let e = f
        .crm
        .create_api_key(&f.admin, UserId(9999), make("nobody", KeyScope::Read))
        .await
        .unwrap_err();
    assert!(matches!(e, CoreError::NotFound(_)), "{e:?}");

    let expiring = MakeApiKey {
        expires_at: Some(f.clock.now() + TimeDelta::hours(1)),
        ..make("  Accounting export  ", KeyScope::Read)
    };
    let (key, secret) = f
        .crm
        .create_api_key(&f.admin, f.worker.id, expiring)
        .await
        .unwrap();
    assert_eq!(key.name, "Accounting export");
    assert!(credential::looks_like_key(secret.expose()));
    assert!(!format!("{key:?}{secret:?}").contains(&secret.expose()[4..]));
    let (actor, user, k) = f.crm.key_session(secret.expose()).await.unwrap();
    assert_eq!(
        (actor, user.id, k.scope),
        (f.worker, f.worker.id, KeyScope::Read)
    );
    let first_use = f.clock.now();
    f.tick();
    f.crm.key_session(secret.expose()).await.unwrap();
    let listed = f.crm.list_api_keys(&f.admin, f.worker.id).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(
        listed[0].last_used_at,
        Some(first_use),
        "a use within the minute is not written"
    );
    f.clock.advance(credential::KEY_USE_RESOLUTION);
    f.crm.key_session(secret.expose()).await.unwrap();
    let listed = f.crm.list_api_keys(&f.admin, f.worker.id).await.unwrap();
    assert_eq!(listed[0].last_used_at, Some(f.clock.now()));

    // Unknown and malformed keys are refused alike.
    for bogus in [
        credential::KeySecret::generate().expose().to_owned(),
        "crm_nothex".into(),
        String::new(),
    ] {
        assert!(matches!(
            f.crm.key_session(&bogus).await,
            Err(CoreError::Unauthenticated)
        ));
    }
    // Expiry.
    f.clock.advance(TimeDelta::hours(1));
    assert!(matches!(
        f.crm.key_session(secret.expose()).await,
        Err(CoreError::Unauthenticated)
    ));

    // Revocation: only the account's own key, only once.
    let (w, w_secret) = f
        .crm
        .create_api_key(&f.admin, f.worker.id, make("write", KeyScope::Write))
        .await
        .unwrap();
    let e = f
        .crm
        .revoke_api_key(&f.admin, f.other.id, w.id)
        .await
        .unwrap_err();
    assert!(matches!(e, CoreError::NotFound(_)), "{e:?}");
    f.crm.key_session(w_secret.expose()).await.unwrap();
    f.crm
        .revoke_api_key(&f.admin, f.worker.id, w.id)
        .await
        .unwrap();
    assert!(matches!(
        f.crm.key_session(w_secret.expose()).await,
        Err(CoreError::Unauthenticated)
    ));
    assert!(matches!(
        f.crm.revoke_api_key(&f.admin, f.worker.id, w.id).await,
        Err(CoreError::NotFound(_))
    ));
    let ids: Vec<i64> = f
        .crm
        .list_api_keys(&f.admin, f.worker.id)
        .await
        .unwrap()
        .iter()
        .map(|k| k.id)
        .collect();
    assert_eq!(ids, [key.id]);

    // The account's deletion ends its keys.
    let (_, o_secret) = f
        .crm
        .create_api_key(&f.admin, f.other.id, make("other", KeyScope::Write))
        .await
        .unwrap();
    f.crm.key_session(o_secret.expose()).await.unwrap();
    f.crm.delete_user(&f.admin, f.other.id).await.unwrap();
    assert!(matches!(
        f.crm.key_session(o_secret.expose()).await,
        Err(CoreError::Unauthenticated)
    ));
    let history = kinds(&f, f.worker.id).await;
    assert_eq!(
        history
            .iter()
            .filter(|k| matches!(k, AccountEventKind::ApiKeyCreated))
            .count(),
        2
    );
    assert!(history.contains(&AccountEventKind::ApiKeyRevoked));
}

/// An account holds at most [`credential::MAX_KEYS_PER_USER`] keys, racing creations
/// included.
pub async fn racing_key_creations_stop_at_the_limit<S: Store + Clone>(store: S) {
    let f = Fixture::new(store).await;
    let max = credential::MAX_KEYS_PER_USER as usize;
    for i in 0..max - 3 {
        f.crm
            .create_api_key(
                &f.admin,
                f.worker.id,
                make(&format!("k{i}"), KeyScope::Read),
            )
            .await
            .unwrap();
    }
    let tasks: Vec<_> = (0..10)
        .map(|i| {
            let crm = f.crm.clone();
            let (admin, worker) = (f.admin, f.worker.id);
            tokio::spawn(async move {
                crm.create_api_key(&admin, worker, make(&format!("race{i}"), KeyScope::Read))
                    .await
            })
        })
        .collect();
    let mut made = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(_) => made += 1,
            Err(CoreError::TooManyKeys) => {}
            Err(e) => panic!("{e:?}"),
        }
    }
    assert_eq!(made, 3);
    let keys = f.crm.list_api_keys(&f.admin, f.worker.id).await.unwrap();
    assert_eq!(keys.len(), max);
    // Revoking one makes room for one.
    f.crm
        .revoke_api_key(&f.admin, f.worker.id, keys[0].id)
        .await
        .unwrap();
    f.crm
        .create_api_key(&f.admin, f.worker.id, make("again", KeyScope::Read))
        .await
        .unwrap();
}

async fn turn_on<S: Store + Clone>(f: &Fixture<S>, who: &Actor) -> (TotpSetup, Vec<String>) {
    let setup = f.crm.setup_totp(who, "Fix & Go").await.unwrap();
    let code = credential::code_at(&setup.secret, f.clock.now()).unwrap();
    let codes = f.crm.enable_totp(who, &code).await.unwrap();
    (setup, codes)
}

/// Setting up needs a confirming code; from then on signing in needs a current code, each
/// accepted once, one step of drift either way and no more, or a recovery code, each once.
/// Wrong codes count as failed sign-ins. Turning it off needs the password; an admin's reset
/// is recorded in the account's history.
pub async fn two_factor_sign_in_takes_each_code_once<S: Store + Clone>(store: S) {
    let f = Fixture::new(store).await;
    let e = f.crm.enable_totp(&f.worker, "123456").await.unwrap_err();
    assert!(matches!(e, CoreError::TotpNotSetUp), "{e:?}");
    let setup = f.crm.setup_totp(&f.worker, "Fix & Go").await.unwrap();
    assert!(
        setup
            .uri
            .starts_with("otpauth://totp/Fix%20%26%20Go:worker?secret=")
    );
    assert!(setup.uri.contains(&setup.secret));
    // Until confirmed, nothing changes at sign-in.
    f.crm.authenticate("worker", PASSWORD).await.unwrap();
    let wrong = credential::code_at(&setup.secret, f.clock.now() - TimeDelta::minutes(5)).unwrap();
    let e = f.crm.enable_totp(&f.worker, &wrong).await.unwrap_err();
    assert_eq!(fields(&e), ["code"]);
    // A second setup replaces the first: the first one's code no longer confirms.
    let setup2 = f.crm.setup_totp(&f.worker, "Fix & Go").await.unwrap();
    assert_ne!(setup.secret, setup2.secret);
    let stale = credential::code_at(&setup.secret, f.clock.now()).unwrap();
    let fresh = credential::code_at(&setup2.secret, f.clock.now()).unwrap();
    if stale != fresh {
        assert_eq!(
            fields(&f.crm.enable_totp(&f.worker, &stale).await.unwrap_err()),
            ["code"]
        );
    }
    let codes = f.crm.enable_totp(&f.worker, &fresh).await.unwrap();
    assert_eq!(codes.len(), credential::RECOVERY_CODES);
    let secret = setup2.secret;
    assert!(matches!(
        f.crm.setup_totp(&f.worker, "Fix & Go").await,
        Err(CoreError::TotpAlreadyOn)
    ));
    assert!(matches!(
        f.crm.enable_totp(&f.worker, &fresh).await,
        Err(CoreError::TotpAlreadyOn)
    ));
    assert!(f.crm.actor(f.worker.id).await.unwrap().1.totp_enabled);

    // Signing in.
    assert!(matches!(
        f.crm.authenticate("worker", PASSWORD).await,
        Err(CoreError::TotpRequired)
    ));
    // The code that confirmed the setup was used: the same step is not accepted again.
    assert!(matches!(
        f.crm.sign_in("worker", PASSWORD, Some(&fresh)).await,
        Err(CoreError::TotpInvalid)
    ));
    f.clock
        .advance(TimeDelta::seconds(credential::TOTP_STEP_SECONDS));
    let now = credential::code_at(&secret, f.clock.now()).unwrap();
    // A wrong password with the right code is the password's failure.
    assert!(matches!(
        f.crm.sign_in("worker", "wrong-password", Some(&now)).await,
        Err(CoreError::InvalidCredentials)
    ));
    f.crm
        .sign_in("worker", PASSWORD, Some(&format!(" {now} ")))
        .await
        .unwrap();
    assert!(
        matches!(
            f.crm.sign_in("worker", PASSWORD, Some(&now)).await,
            Err(CoreError::TotpInvalid)
        ),
        "a code is accepted once"
    );
    // One step of drift: the next step's code is accepted (a phone running ahead), and then
    // the current step's no longer is (steps only move forward).
    let step = TimeDelta::seconds(credential::TOTP_STEP_SECONDS);
    f.clock.advance(step * 2);
    let ahead = credential::code_at(&secret, f.clock.now() + step).unwrap();
    f.crm
        .sign_in("worker", PASSWORD, Some(&ahead))
        .await
        .unwrap();
    f.clock.advance(step * 3);
    let behind = credential::code_at(&secret, f.clock.now() - step).unwrap();
    f.crm
        .sign_in("worker", PASSWORD, Some(&behind))
        .await
        .unwrap();
    f.clock.advance(step * 3);
    for far in [f.clock.now() - step * 2, f.clock.now() + step * 2] {
        let code = credential::code_at(&secret, far).unwrap();
        if code != credential::code_at(&secret, f.clock.now()).unwrap() {
            assert!(matches!(
                f.crm.sign_in("worker", PASSWORD, Some(&code)).await,
                Err(CoreError::TotpInvalid)
            ));
        }
    }
    // Recovery codes: any case, with or without dashes, each once.
    let typed = codes[0].to_uppercase().replace('-', " ");
    f.crm
        .sign_in("worker", PASSWORD, Some(&typed))
        .await
        .unwrap();
    assert!(matches!(
        f.crm.sign_in("worker", PASSWORD, Some(&codes[0])).await,
        Err(CoreError::TotpInvalid)
    ));
    assert_eq!(
        f.crm
            .store()
            .totp_state(f.worker.id)
            .await
            .unwrap()
            .recovery_left,
        credential::RECOVERY_CODES as u32 - 1
    );
    f.crm
        .sign_in("worker", PASSWORD, Some(&codes[1]))
        .await
        .unwrap();

    // Wrong codes are failed sign-ins: the throttle locks the username.
    for _ in 0..throttle::FREE_FAILURES {
        let e = f
            .crm
            .sign_in("worker", PASSWORD, Some("000000x"))
            .await
            .unwrap_err();
        assert!(matches!(e, CoreError::TotpInvalid), "{e:?}");
    }
    let good = credential::code_at(&secret, f.clock.now()).unwrap();
    assert!(matches!(
        f.crm.sign_in("worker", PASSWORD, Some(&good)).await,
        Err(CoreError::TooManyAttempts { .. })
    ));
    f.clock.advance(throttle::MAX_DELAY);
    let good = credential::code_at(&secret, f.clock.now()).unwrap();
    f.crm
        .sign_in("worker", PASSWORD, Some(&good))
        .await
        .unwrap();

    // Turning it off needs the password.
    let e = f
        .crm
        .disable_totp(&f.worker, "wrong-password")
        .await
        .unwrap_err();
    assert_eq!(fields(&e), ["password"]);
    f.crm.disable_totp(&f.worker, PASSWORD).await.unwrap();
    f.crm.authenticate("worker", PASSWORD).await.unwrap();
    assert!(
        f.crm
            .sign_in("worker", PASSWORD, Some(&codes[2]))
            .await
            .is_ok(),
        "without a second factor a code is ignored"
    );

    // An admin's reset: recorded, not for oneself, not for workers to do.
    turn_on(&f, &f.other).await;
    assert!(matches!(
        f.crm.reset_totp(&f.worker, f.other.id).await,
        Err(CoreError::Forbidden(_))
    ));
    assert!(matches!(
        f.crm.reset_totp(&f.admin, f.admin.id).await,
        Err(CoreError::CannotClearOwnTotp)
    ));
    f.crm.reset_totp(&f.admin, f.other.id).await.unwrap();
    f.crm.authenticate("other", PASSWORD).await.unwrap();
    assert!(!f.crm.actor(f.other.id).await.unwrap().1.totp_enabled);
    assert!(matches!(
        f.crm.reset_totp(&f.admin, UserId(9999)).await,
        Err(CoreError::NotFound(_))
    ));
    let worker = kinds(&f, f.worker.id).await;
    assert!(worker.contains(&AccountEventKind::TotpEnabled));
    assert!(worker.contains(&AccountEventKind::TotpDisabled));
    let other = kinds(&f, f.other.id).await;
    assert_eq!(
        other
            .iter()
            .filter(|k| matches!(k, AccountEventKind::TotpReset))
            .count(),
        1
    );
}

/// Racing sign-ins with one code (an attacker replaying what it saw), and racing uses of one
/// recovery code: exactly one of each gets in.
pub async fn racing_sign_ins_accept_a_code_once<S: Store + Clone>(store: S) {
    let f = Fixture::new(store).await;
    let (setup, codes) = turn_on(&f, &f.worker).await;
    f.clock
        .advance(TimeDelta::seconds(credential::TOTP_STEP_SECONDS));
    let code = credential::code_at(&setup.secret, f.clock.now()).unwrap();
    for attempt in [code, codes[3].clone()] {
        let tasks: Vec<_> = (0..4)
            .map(|_| {
                let (crm, attempt) = (f.crm.clone(), attempt.clone());
                tokio::spawn(async move { crm.sign_in("worker", PASSWORD, Some(&attempt)).await })
            })
            .collect();
        let mut ok = 0;
        for t in tasks {
            match t.await.unwrap() {
                Ok(_) => ok += 1,
                Err(CoreError::TotpInvalid | CoreError::TooManyAttempts { .. }) => {}
                Err(e) => panic!("{e:?}"),
            }
        }
        assert_eq!(ok, 1, "{attempt}");
        f.clock.advance(throttle::MAX_DELAY);
    }
}
