//! argon2id hashing, always off the async runtime, with a constant-shape check for unknown users.

use std::{sync::Arc, time::Duration};
use tokio::sync::Semaphore;

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

/// Every hasher was busy for longer than the caller may wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HashersBusy;

/// Hashes and verifies passwords with one fixed parameter set, at most `permits` at once: each
/// hash holds its memory cost and a core for tens of milliseconds, so a flood of sign-ins must
/// queue here rather than starve every other request of CPU and memory.
#[derive(Clone)]
pub struct Passwords {
    argon: Argon2<'static>,
    dummy_hash: String,
    permits: Arc<Semaphore>,
    wait: Duration,
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
        // As many hashes at once as there are cores: each is one core's work, at the lowest
        // scheduling priority (see `lower_priority_once`).
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        Self {
            argon,
            dummy_hash,
            permits: Arc::new(Semaphore::new(cores)),
            wait: Duration::from_secs(1),
        }
    }

    /// Allows at most `permits` hashes at once, each caller waiting at most `wait` to start.
    pub fn with_limit(mut self, permits: usize, wait: Duration) -> Self {
        self.permits = Arc::new(Semaphore::new(permits.max(1)));
        self.wait = wait;
        self
    }

    /// Runs `f` on a blocking thread once a hasher is free.
    async fn bounded<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, HashersBusy> {
        if tokio::runtime::Handle::try_current().is_err() {
            // Not on Tokio (no timer, no blocking pool): the embedder runs it inline.
            return Ok(f());
        }
        let _permit = tokio::time::timeout(self.wait, self.permits.acquire())
            .await
            .map_err(|_| HashersBusy)?
            .map_err(|_| HashersBusy)?;
        Ok(run_blocking(f).await)
    }

    /// Hashes on a blocking thread; the result is a PHC string with its own salt.
    pub async fn hash(&self, password: String) -> Result<String, HashersBusy> {
        let argon = self.argon.clone();
        self.bounded(move || hash_with(&argon, &password)).await
    }

    /// Verifies on a blocking thread. With no stored hash (unknown user) the dummy hash is
    /// checked instead, so the answer takes the same time either way, and is always false.
    pub async fn verify(
        &self,
        stored: Option<String>,
        password: String,
    ) -> Result<bool, HashersBusy> {
        let known = stored.is_some();
        let hash = stored.unwrap_or_else(|| self.dummy_hash.clone());
        let argon = self.argon.clone();
        let ok = self
            .bounded(move || {
                PasswordHash::new(&hash)
                    .map(|parsed| argon.verify_password(password.as_bytes(), &parsed).is_ok())
                    .unwrap_or(false)
            })
            .await?;
        Ok(known && ok)
    }
}

fn hash_with(argon: &Argon2<'_>, password: &str) -> String {
    let salt = SaltString::generate(&mut OsRng);
    argon
        .hash_password(password.as_bytes(), &salt)
        .expect("argon2 hashing of a bounded password cannot fail")
        .to_string()
}

thread_local! {
    static LOWERED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Hashing is batch work: the thread that does it yields the CPU to every other thread of the
/// machine (lowest scheduling priority, niceness 19 on Linux), so a flood of sign-ins slows
/// sign-ins, not the requests that need no hash. Done once per blocking-pool thread; a
/// platform that refuses simply keeps the normal priority.
fn lower_priority_once() {
    LOWERED.with(|done| {
        if !done.get() {
            done.set(true);
            let _ =
                thread_priority::set_current_thread_priority(thread_priority::ThreadPriority::Min);
        }
    });
}

async fn run_blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    let f = move || {
        lower_priority_once();
        f()
    };
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
        let h = p.hash("correct horse".into()).await.unwrap();
        assert!(h.starts_with("$argon2id$"), "{h}");
        assert_eq!(
            p.verify(Some(h.clone()), "correct horse".into()).await,
            Ok(true)
        );
        assert_eq!(
            p.verify(Some(h.clone()), "wrong horse".into()).await,
            Ok(false)
        );
        assert_eq!(p.verify(None, "anything".into()).await, Ok(false));
        assert_eq!(
            p.verify(Some("garbage".into()), "x".into()).await,
            Ok(false)
        );
        assert_ne!(h, p.hash("correct horse".into()).await.unwrap(), "salted");
    }

    #[tokio::test]
    async fn a_caller_that_cannot_start_hashing_in_time_is_told_so() {
        let p = Passwords::new(PasswordCost::Fast).with_limit(1, Duration::from_millis(20));
        let held = p.permits.clone().acquire_owned().await.unwrap();
        assert_eq!(p.hash("password1".into()).await, Err(HashersBusy));
        drop(held);
        assert!(p.hash("password1".into()).await.is_ok());
    }
}
