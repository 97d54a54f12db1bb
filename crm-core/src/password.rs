//! argon2id hashing, always off the async runtime, with a constant-shape check for unknown users.

use argon2::{
    Algorithm, Argon2, Params, PasswordHash, PasswordHasher, PasswordVerifier, Version,
    password_hash::{SaltString, rand_core::OsRng},
};

/// How expensive each hash is. Production uses [`PasswordCost::Default`]; tests may pick
/// [`PasswordCost::Fast`] to keep suites quick. Both are argon2id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PasswordCost {
    /// OWASP's argon2id baseline: 19 MiB, 2 passes, 1 lane.
    #[default]
    Default,
    /// 1 MiB, 1 pass: for tests only.
    Fast,
}

/// Hashes and verifies passwords with one fixed parameter set.
#[derive(Clone)]
pub struct Passwords {
    argon: Argon2<'static>,
    dummy_hash: String,
}

impl std::fmt::Debug for Passwords {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Passwords").finish_non_exhaustive()
    }
}

impl Passwords {
    /// Prepares a hasher and the dummy hash unknown usernames are checked against.
    pub fn new(cost: PasswordCost) -> Self {
        let params = match cost {
            PasswordCost::Default => Params::new(19 * 1024, 2, 1, None),
            PasswordCost::Fast => Params::new(1024, 1, 1, None),
        }
        .expect("constant argon2 parameters are valid");
        let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
        let dummy_hash = hash_with(&argon, "not a real password, only spends time");
        Self { argon, dummy_hash }
    }

    /// Hashes on a blocking thread; the result is a PHC string with its own salt.
    pub async fn hash(&self, password: String) -> String {
        let argon = self.argon.clone();
        run_blocking(move || hash_with(&argon, &password)).await
    }

    /// Verifies on a blocking thread. With no stored hash (unknown user) the dummy hash is
    /// checked instead, so the answer takes the same time either way, and is always false.
    pub async fn verify(&self, stored: Option<String>, password: String) -> bool {
        let known = stored.is_some();
        let hash = stored.unwrap_or_else(|| self.dummy_hash.clone());
        let argon = self.argon.clone();
        let ok = run_blocking(move || {
            PasswordHash::new(&hash)
                .map(|parsed| argon.verify_password(password.as_bytes(), &parsed).is_ok())
                .unwrap_or(false)
        })
        .await;
        known && ok
    }
}

fn hash_with(argon: &Argon2<'_>, password: &str) -> String {
    let salt = SaltString::generate(&mut OsRng);
    argon
        .hash_password(password.as_bytes(), &salt)
        .expect("argon2 hashing of a bounded password cannot fail")
        .to_string()
}

async fn run_blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    match tokio::runtime::Handle::try_current() {
        Ok(handle) => match handle.spawn_blocking(f).await {
            Ok(v) => v,
            Err(e) => std::panic::resume_unwind(e.into_panic()),
        },
        // Outside a Tokio runtime (an embedder on another executor) there is no blocking
        // pool to borrow; run inline.
        Err(_) => f(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_are_argon2id_and_verify() {
        let p = Passwords::new(PasswordCost::Fast);
        let h = p.hash("correct horse".into()).await;
        assert!(h.starts_with("$argon2id$"), "{h}");
        assert!(p.verify(Some(h.clone()), "correct horse".into()).await);
        assert!(!p.verify(Some(h.clone()), "wrong horse".into()).await);
        assert!(!p.verify(None, "anything".into()).await);
        assert!(!p.verify(Some("garbage".into()), "x".into()).await);
        assert_ne!(h, p.hash("correct horse".into()).await, "salted");
    }
}
