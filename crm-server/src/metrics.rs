//! What operators watch, for `GET /metrics` in the OpenMetrics text format that Prometheus
//! scrapes: requests by route and status with their latency, the database pool, sign-in
//! throttling, rate limiting, live streams, the notification backlog and delivery results.
//!
//! Built on `prometheus-client` (the Prometheus project's own Rust client): its registry is a
//! value owned by the server's state, not a process-wide recorder, so an embedder running two
//! servers (or a test running many) gets separate figures, and nothing is global.
//! Request figures are kept as they happen; the rest is read from its owner at scrape time.

use crate::{api::AppState, openapi::Document};
use crm_core::Store;
use poem::http::Method;
use prometheus_client::{
    encoding::{EncodeLabelSet, text},
    metrics::{
        counter::{ConstCounter, Counter},
        family::Family,
        gauge::ConstGauge,
        histogram::{Histogram, exponential_buckets},
    },
    registry::Registry,
};
use std::sync::atomic::Ordering;

/// The labels of one request: its method, the documented route that served it (never the raw
/// path, so ids and tracking codes neither leak nor multiply the series) and its status.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    method: String,
    route: String,
    status: u16,
}

fn latency_histogram() -> Histogram {
    // 0.5 ms to about 4 s, doubling.
    Histogram::new(exponential_buckets(0.0005, 2.0, 14))
}

/// The request figures of one server, kept as requests finish.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<RequestLabels, Histogram, fn() -> Histogram>,
}

impl Default for Metrics {
    fn default() -> Self {
        let requests = Family::<RequestLabels, Counter>::default();
        let latency = Family::<RequestLabels, Histogram, fn() -> Histogram>::new_with_constructor(
            latency_histogram as fn() -> Histogram,
        );
        let mut registry = Registry::with_prefix("crm");
        registry.register(
            "http_requests",
            "HTTP requests answered, by method, route and status",
            requests.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "Time from a request's arrival to its response, by method, route and status",
            latency.clone(),
        );
        Self {
            registry,
            requests,
            latency,
        }
    }
}

impl Metrics {
    /// Counts one answered request. Methods outside the standard set are one label value,
    /// so a client cannot multiply the series by inventing methods.
    pub fn observe(&self, method: &Method, route: String, status: u16, seconds: f64) {
        let method = match *method {
            Method::GET
            | Method::HEAD
            | Method::POST
            | Method::PUT
            | Method::DELETE
            | Method::PATCH
            | Method::OPTIONS => method.as_str(),
            _ => "other",
        };
        let labels = RequestLabels {
            method: method.to_owned(),
            route,
            status,
        };
        self.requests.get_or_create(&labels).inc();
        self.latency.get_or_create(&labels).observe(seconds);
    }

    /// Everything, as the scrape's body: the request figures and, read now, the rest.
    pub async fn render<S: Store>(&self, state: &AppState<S>) -> String {
        let mut now = Registry::with_prefix("crm");
        if let Some(pool) = state.crm.store().pool_status() {
            register_pool(now.sub_registry_with_prefix("db_pool"), pool);
        }
        register_limits(&mut now, &state.limits);
        now.register(
            "live_streams",
            "Event streams open on this server",
            ConstGauge::new(i64::try_from(state.hub.streams()).unwrap_or(i64::MAX)),
        );
        let deliveries = Family::<OutcomeLabels, Counter>::default();
        for (outcome, n) in [
            ("delivered", &state.deliveries.delivered),
            ("failed", &state.deliveries.failed),
        ] {
            deliveries
                .get_or_create(&OutcomeLabels { outcome })
                .inc_by(n.load(Ordering::Relaxed));
        }
        now.register(
            "notification_attempts",
            "Webhook and e-mail delivery attempts made by this server, by outcome",
            deliveries,
        );
        // The backlog is the store's: shared by every replica. A store that does not answer
        // leaves it out of this scrape rather than failing the rest.
        if let Ok(backlog) = state.crm.notification_backlog().await {
            let sub = now.sub_registry_with_prefix("outbox");
            sub.register(
                "pending",
                "Notifications still to be delivered (all replicas)",
                ConstGauge::new(i64::try_from(backlog.pending).unwrap_or(i64::MAX)),
            );
            sub.register(
                "failed",
                "Notifications whose every attempt failed (all replicas)",
                ConstGauge::new(i64::try_from(backlog.failed).unwrap_or(i64::MAX)),
            );
        }
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = text::encode_registry(&mut out, &self.registry);
        let _ = text::encode_registry(&mut out, &now);
        let _ = text::encode_eof(&mut out);
        out
    }
}

/// The connection pool's figures.
fn register_pool(sub: &mut Registry, pool: crm_core::PoolStatus) {
    sub.register(
        "max_connections",
        "Most connections the pool opens",
        ConstGauge::new(i64::from(pool.max)),
    );
    sub.register(
        "open_connections",
        "Connections open now, idle or in use",
        ConstGauge::new(i64::from(pool.open)),
    );
    sub.register(
        "idle_connections",
        "Open connections not in use",
        ConstGauge::new(i64::from(pool.idle)),
    );
    sub.register(
        "waiting",
        "Calls waiting for a connection",
        ConstGauge::new(i64::try_from(pool.waiting).unwrap_or(i64::MAX)),
    );
}

/// What the throttle and the per-address limits refused.
fn register_limits(now: &mut Registry, limits: &crate::limits::Limits) {
    now.register(
        "sign_in_throttled",
        "Sign-ins refused by the per-username throttle (too_many_attempts)",
        ConstCounter::new(limits.throttled_sign_ins.load(Ordering::Relaxed)),
    );
    let limited = Family::<LimitLabels, Counter>::default();
    for (limit, refused) in [
        ("sign_in", limits.login.refused()),
        ("submit", limits.submit.refused()),
        ("public_message", limits.public_messages.refused()),
        ("public_upload", limits.public_uploads.refused()),
        ("public_stream", limits.public_streams.refused()),
    ] {
        limited
            .get_or_create(&LimitLabels { limit })
            .inc_by(refused);
    }
    now.register(
        "rate_limited",
        "Requests refused by a per-address limit (rate_limited), by limit",
        limited,
    );
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LimitLabels {
    limit: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: &'static str,
}

/// The route label of a request: the documented template, or what the UI and the documents
/// are served at, or `unmatched` (a 404 for a path nobody serves).
pub fn route_of(doc: &Document, path: &str) -> String {
    let path = if path.len() > 1 {
        path.trim_end_matches('/')
    } else {
        path
    };
    match path {
        "/" | "/docs" | "/openapi.json" => path.to_owned(),
        p if p.starts_with("/ui/") => "/ui/{asset}".to_owned(),
        p => doc.route(p).unwrap_or_else(|| "unmatched".to_owned()),
    }
}
