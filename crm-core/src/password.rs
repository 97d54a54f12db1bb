//! argon2id hashing on a small pool of threads of its own, with a constant-shape check for
//! unknown users.
//!
//! The pool's threads belong to the library (created with the [`Passwords`] that uses them,
//! gone with it), so lowering their scheduling priority touches nothing of the embedder's:
//! not Tokio's blocking pool, not any other thread of the process.

use std::{
    sync::{Arc, Mutex, mpsc},
    time::Duration,
};
use tokio::sync::{Semaphore, oneshot};

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

type Job = Box<dyn FnOnce() + Send>;

/// The threads that hash: as many as the machine has cores, each at the lowest scheduling
/// priority (niceness 19 on Linux), so a flood of sign-ins slows sign-ins and not the
/// requests that need no hash. They end when the last [`Passwords`] using them is dropped.
struct HashPool {
    jobs: Mutex<mpsc::Sender<Job>>,
}

impl HashPool {
    fn new(threads: usize) -> Self {
        let (tx, rx) = mpsc::channel::<Job>();
        let rx = Arc::new(Mutex::new(rx));
        for i in 0..threads.max(1) {
            let rx = rx.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("crm-hash-{i}"))
                .spawn(move || {
                    // Our own thread: a platform that refuses keeps the normal priority.
                    let _ = thread_priority::set_current_thread_priority(
                        thread_priority::ThreadPriority::Min,
                    );
                    loop {
                        let job = rx.lock().unwrap_or_else(|p| p.into_inner()).recv();
                        match job {
                            Ok(job) => job(),
                            Err(_) => return, // every sender is gone
                        }
                    }
                });
            // A thread the system cannot give us leaves the others to do the work.
            drop(spawned);
        }
        Self {
            jobs: Mutex::new(tx),
        }
    }

    /// Runs `f` on a pool thread and waits for its result on any executor.
    async fn run<T: Send + 'static>(&self, f: impl FnOnce() -> T + Send + 'static) -> T {
        let (tx, rx) = oneshot::channel();
        let job: Job = Box::new(move || {
            let _ = tx.send(std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)));
        });
        let sent = self
            .jobs
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .send(job);
        if let Err(mpsc::SendError(job)) = sent {
            // No thread could be started: do the work here.
            job();
        }
        match rx.await {
            Ok(Ok(v)) => v,
            Ok(Err(panic)) => std::panic::resume_unwind(panic),
            Err(_) => unreachable!("a job is dropped only after it ran"),
        }
    }
}

/// Hashes and verifies passwords with one fixed parameter set, at most `permits` at once: each
/// hash holds its memory cost and a core for tens of milliseconds, so a flood of sign-ins must
/// queue here rather than starve every other request of CPU and memory.
#[derive(Clone)]
pub struct Passwords {
    argon: Argon2<'static>,
    dummy_hash: String,
    permits: Arc<Semaphore>,
    wait: Duration,
    pool: Arc<HashPool>,
}

impl std::fmt::Debug for Passwords {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Passwords").finish_non_exhaustive()
    }
}

impl Passwords {
    /// Prepares a hasher, its threads, and the dummy hash unknown usernames are checked
    /// against.
    pub fn new(cost: PasswordCost) -> Self {
        let params = match cost {
            PasswordCost::Default => Params::new(19 * 1024, 2, 1, None),
            PasswordCost::Fast => Params::new(1024, 1, 1, None),
        }
        .expect("constant argon2 parameters are valid");
        let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
        let dummy_hash = hash_with(&argon, "not a real password, only spends time");
        // As many hashes at once as there are cores: each is one core's work.
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        Self {
            argon,
            dummy_hash,
            permits: Arc::new(Semaphore::new(cores)),
            wait: Duration::from_secs(1),
            pool: Arc::new(HashPool::new(cores)),
        }
    }

    /// Allows at most `permits` hashes at once, each caller waiting at most `wait` to start.
    pub fn with_limit(mut self, permits: usize, wait: Duration) -> Self {
        self.permits = Arc::new(Semaphore::new(permits.max(1)));
        self.wait = wait;
        self
    }

    /// Takes a hasher for one hash, waiting at most the configured time. Taken before
    /// anything else about a sign-in happens, so one that cannot start in time has cost
    /// nothing (not even a counted attempt).
    pub async fn hasher(&self) -> Result<Hasher<'_>, HashersBusy> {
        let permit = if tokio::runtime::Handle::try_current().is_ok() {
            tokio::time::timeout(self.wait, self.permits.acquire())
                .await
                .map_err(|_| HashersBusy)?
        } else {
            // Not on Tokio: no timer to bound the wait with; queue without one.
            self.permits.acquire().await
        };
        Ok(Hasher {
            _permit: permit.map_err(|_| HashersBusy)?,
            passwords: self,
        })
    }

    /// Hashes once a hasher is free; the result is a PHC string with its own salt.
    pub async fn hash(&self, password: String) -> Result<String, HashersBusy> {
        Ok(self.hasher().await?.hash(password).await)
    }

    /// Verifies once a hasher is free (see [`Hasher::verify`]).
    pub async fn verify(
        &self,
        stored: Option<String>,
        password: String,
    ) -> Result<bool, HashersBusy> {
        Ok(self.hasher().await?.verify(stored, password).await)
    }
}

/// One hasher, held for one hash or check.
pub struct Hasher<'a> {
    _permit: tokio::sync::SemaphorePermit<'a>,
    passwords: &'a Passwords,
}

impl Hasher<'_> {
    /// Hashes on a hashing thread; the result is a PHC string with its own salt.
    pub async fn hash(self, password: String) -> String {
        let argon = self.passwords.argon.clone();
        self.passwords
            .pool
            .run(move || hash_with(&argon, &password))
            .await
    }

    /// Verifies on a hashing thread. With no stored hash (unknown user) the dummy hash is
    /// checked instead, so the answer takes the same time either way, and is always false.
    pub async fn verify(self, stored: Option<String>, password: String) -> bool {
        let known = stored.is_some();
        let hash = stored.unwrap_or_else(|| self.passwords.dummy_hash.clone());
        let argon = self.passwords.argon.clone();
        let ok = self
            .passwords
            .pool
            .run(move || {
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

    #[tokio::test]
    async fn hashing_runs_on_threads_of_its_own_and_leaves_the_callers_alone() {
        let p = Passwords::new(PasswordCost::Fast);
        let name = p
            .pool
            .run(|| std::thread::current().name().map(str::to_owned))
            .await;
        assert!(name.is_some_and(|n| n.starts_with("crm-hash-")));
        // Tokio's blocking threads (which hashing used to borrow) keep the priority a new
        // thread of the embedder's process gets.
        p.hash("password1".into()).await.unwrap();
        let blocking = tokio::task::spawn_blocking(thread_priority::get_current_thread_priority)
            .await
            .unwrap()
            .ok();
        let fresh = std::thread::spawn(thread_priority::get_current_thread_priority)
            .join()
            .unwrap()
            .ok();
        assert_eq!(blocking, fresh);
    }
}
