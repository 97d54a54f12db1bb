//! Per-address limits of this replica: sign-in attempts and public submissions (governor's
//! keyed GCRA limiters), and public progress streams open at once. The per-username sign-in
//! throttle is in the store (shared by every replica); these only stop one address from
//! flooding one replica.

use crate::error::ApiError;
use governor::{DefaultKeyedRateLimiter, Quota, clock::Clock};
use std::{
    collections::HashMap,
    net::IpAddr,
    num::NonZeroU32,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
};

/// How many streams one client address may hold open at once (0: no limit).
pub struct StreamLimit {
    max: u32,
    open: Arc<Mutex<HashMap<IpAddr, u32>>>,
    refused: AtomicU64,
}

/// One open stream of an address, counted until dropped.
pub struct StreamSlot {
    ip: Option<IpAddr>,
    open: Arc<Mutex<HashMap<IpAddr, u32>>>,
}

impl Drop for StreamSlot {
    fn drop(&mut self) {
        let Some(ip) = self.ip else { return };
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = open.get_mut(&ip) {
            *n -= 1;
            if *n == 0 {
                open.remove(&ip);
            }
        }
    }
}

impl StreamLimit {
    /// At most `max` streams per address at once; 0 disables the limit.
    pub fn new(max: u32) -> Self {
        Self {
            max,
            open: Arc::default(),
            refused: AtomicU64::new(0),
        }
    }

    /// Takes a slot for a stream from `ip`, or 429 `rate_limited` when it holds its limit
    /// already (retry once one of them is closed). A request without a known address is not
    /// limited here.
    pub fn open(&self, ip: Option<IpAddr>) -> Result<StreamSlot, ApiError> {
        let counted = ip.filter(|_| self.max > 0);
        if let Some(ip) = counted {
            let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
            let n = open.entry(ip).or_insert(0);
            if *n >= self.max {
                self.refused.fetch_add(1, Ordering::Relaxed);
                return Err(ApiError::rate_limited(1));
            }
            *n += 1;
        }
        Ok(StreamSlot {
            ip: counted,
            open: self.open.clone(),
        })
    }

    /// Streams refused so far.
    pub fn refused(&self) -> u64 {
        self.refused.load(Ordering::Relaxed)
    }
}

/// One limit, keyed by client address (`None` when disabled, a rate of 0), and how many
/// requests it refused.
pub struct AddressLimit(Option<DefaultKeyedRateLimiter<IpAddr>>, AtomicU64);

impl AddressLimit {
    /// `per_minute` requests a minute (0 disables), in bursts of at most `burst` (default: the
    /// minute's allowance at once).
    pub fn per_minute(per_minute: u32, burst: Option<u32>) -> Self {
        Self(
            NonZeroU32::new(per_minute).map(|rate| {
                let quota = Quota::per_minute(rate);
                let quota = match burst.and_then(NonZeroU32::new) {
                    Some(b) => quota.allow_burst(b),
                    None => quota,
                };
                DefaultKeyedRateLimiter::keyed(quota)
            }),
            AtomicU64::new(0),
        )
    }

    /// Requests refused so far.
    pub fn refused(&self) -> u64 {
        self.1.load(Ordering::Relaxed)
    }

    /// Counts one request from `ip`; 429 `rate_limited` with the wait when over the limit.
    /// A request without a known address is not limited here.
    pub fn check(&self, ip: Option<IpAddr>) -> Result<(), ApiError> {
        let (Some(limiter), Some(ip)) = (&self.0, ip) else {
            return Ok(());
        };
        limiter.check_key(&ip).map_err(|not_until| {
            self.1.fetch_add(1, Ordering::Relaxed);
            let wait = not_until.wait_time_from(governor::clock::DefaultClock::default().now());
            ApiError::rate_limited(wait.as_millis().div_ceil(1000) as u64)
        })
    }

    /// Forgets addresses whose allowance is full again, so the table stays as small as the
    /// set of recently active addresses.
    pub fn sweep(&self) {
        if let Some(l) = &self.0 {
            l.retain_recent();
            l.shrink_to_fit();
        }
    }
}

/// The limits the server applies.
pub struct Limits {
    /// `POST /auth/login` per address.
    pub login: AddressLimit,
    /// `POST /public/tickets` per address.
    pub submit: AddressLimit,
    /// `POST /public/tickets/{code}/messages` per address (as submissions, a budget of its
    /// own).
    pub public_messages: AddressLimit,
    /// `POST /public/tickets/{code}/attachments` per address (a budget of its own).
    pub public_uploads: AddressLimit,
    /// `POST /public/tickets/{code}/quote/decision` per address (a budget of its own).
    pub public_decisions: AddressLimit,
    /// `GET /public/tickets/{code}/events` open at once per address.
    pub public_streams: StreamLimit,
    /// Sign-ins the per-username throttle (in the store) refused on this server.
    pub throttled_sign_ins: AtomicU64,
}

impl Limits {
    /// See [`AddressLimit::sweep`].
    pub fn sweep(&self) {
        self.login.sweep();
        self.submit.sweep();
        self.public_messages.sweep();
        self.public_uploads.sweep();
        self.public_decisions.sweep();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_then_refusal_with_a_wait_and_other_addresses_unaffected() {
        let l = AddressLimit::per_minute(10, Some(5));
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        for _ in 0..5 {
            l.check(Some(a)).unwrap();
        }
        let e = l.check(Some(a)).unwrap_err();
        match e {
            ApiError::TooManyRequests(body, retry) => {
                assert_eq!(body.code, "rate_limited");
                assert!(retry.parse::<u64>().unwrap() >= 1);
            }
            other => panic!("{other:?}"),
        }
        l.check(Some(b)).unwrap();
        let off = AddressLimit::per_minute(0, None);
        for _ in 0..100 {
            off.check(Some(a)).unwrap();
        }
    }

    #[test]
    fn streams_per_address_are_counted_while_open() {
        let l = StreamLimit::new(2);
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        let first = l.open(Some(a)).unwrap();
        let _second = l.open(Some(a)).unwrap();
        assert!(l.open(Some(a)).is_err());
        let _other = l.open(Some(b)).unwrap();
        drop(first);
        let _third = l.open(Some(a)).unwrap();
        assert_eq!(l.refused(), 1);
        let off = StreamLimit::new(0);
        let _many: Vec<_> = (0..50).map(|_| off.open(Some(a)).unwrap()).collect();
    }
}
