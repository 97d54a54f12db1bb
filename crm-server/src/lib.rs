//! # crm-server
//!
//! The reference HTTP service of repair-crm: every endpoint of the product contract as a thin
//! poem-openapi layer over the `crm-core` facade, on either store, plus Swagger UI at `/docs`
//! and the OpenAPI document at `/openapi.json`.
//!
//! [`app`] builds the endpoint for any store (tests bind it in-process); [`run`] reads a
//! [`Config`], picks the backend once, seeds the default accounts and serves until SIGTERM or
//! Ctrl-C, finishing in-flight requests.

pub mod api;
pub mod auth;
pub mod config;
pub mod error;
pub mod explain;
pub mod export;
pub mod files;
pub mod http;
pub mod limits;
pub mod live;
pub mod metrics;
mod middleware;
pub mod notify;
pub mod openapi;
pub mod receipt;
pub mod request_meta;
pub mod ui;

pub use api::AppState;
pub use config::{Config, ConfigError, StoreConfig};

use api::{
    auth::AuthApi, clients::ClientsApi, events::EventsApi, health::HealthApi, public::PublicApi,
    settings::SettingsApi, tickets::TicketsApi, users::UsersApi, webhooks::WebhooksApi,
};
use auth::{SessionGate, Tokens};
use crm_core::{Crm, Store};
use crm_store_memory::MemoryStore;
use crm_store_postgres::{PgSettings, PgStore};
use limits::{AddressLimit, Limits};
use poem::{Endpoint, EndpointExt, Route, web::Html};
use poem_openapi::OpenApiService;
use std::{sync::Arc, time::Duration};

/// Largest request body accepted (64 KiB); larger ones get 413.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// The whole HTTP service over `state`'s store.
pub fn app<S: Store>(state: AppState<S>, cors_origins: &[String]) -> impl Endpoint + 'static {
    let service = OpenApiService::new(
        (
            AuthApi(state.clone()),
            PublicApi(state.clone()),
            TicketsApi(state.clone()),
            UsersApi(state.clone()),
            EventsApi(state.clone()),
            SettingsApi(state.clone()),
            WebhooksApi(state.clone()),
            ClientsApi(state.clone()),
            api::messages::MessagesApi(state.clone()),
            api::attachments::AttachmentsApi(state.clone()),
            api::stages::StagesApi(state.clone()),
            api::quotes::QuotesApi(state.clone()),
            api::credentials::CredentialsApi(state.clone()),
            HealthApi(state.clone()),
        ),
        "repair-crm",
        env!("CARGO_PKG_VERSION"),
    )
    .description(
        "Repair-request management: customers submit requests, admins assign them, workers \
         move them new -> in_progress -> done. Sign in with POST /auth/login, then press \
         Authorize and paste the access_token.",
    );
    let doc = Arc::new(openapi::document(&service));
    let (spec, docs) = (doc.json.clone(), doc.html.clone());
    let cors = Arc::new(middleware::CorsPolicy::new(cors_origins));
    let access_log = middleware::AccessLog {
        metrics: state.metrics.clone(),
        doc: doc.clone(),
    };
    let gate = SessionGate {
        require_totp_for_admins: state.require_totp_for_admins,
        check: Arc::new(state),
    };
    Route::new()
        .at(
            "/docs",
            poem::get(poem::endpoint::make_sync(move |_| Html(docs.clone()))),
        )
        .at(
            "/openapi.json",
            poem::get(poem::endpoint::make_sync(move |_| {
                poem::Response::builder()
                    .content_type("application/json; charset=utf-8")
                    .body(spec.clone())
            })),
        )
        .nest("/", service)
        .at("/ui/*path", poem::get(ui::asset))
        .at("/track/:code", poem::get(ui::track_link))
        // The API is nested at "/", which also takes the root path: answer it first.
        .around(|ep, req| async move {
            if req.uri().path() == "/" && req.method() == poem::http::Method::GET {
                return Ok(ui::page());
            }
            ep.call(req).await.map(poem::IntoResponse::into_response)
        })
        .with(middleware::TrimTrailingSlash)
        .around({
            let doc = doc.clone();
            move |ep, req| explain::rejections(doc.clone(), ep, req)
        })
        .with(middleware::BodyLimit(MAX_BODY_BYTES))
        .data(gate)
        .around(move |ep, req| middleware::method_check(doc.clone(), ep, req))
        .catch_all_error(|e| async move { error::render_any(e) })
        .around(move |ep, req| middleware::cors(cors.clone(), ep, req))
        .with(access_log)
}

/// Builds the state for `crm` from the configuration.
pub fn state<S: Store>(crm: Crm<S>, config: &Config) -> AppState<S> {
    AppState {
        crm,
        tokens: Tokens::new(&config.secret_key, config.token_minutes),
        trusted_proxies: Arc::new(config.trusted_proxies.clone()),
        limits: Arc::new(Limits {
            login: AddressLimit::per_minute(config.login_rate_per_minute, None),
            submit: AddressLimit::per_minute(
                config.submit_rate_per_minute,
                Some(config::SUBMIT_BURST),
            ),
            public_messages: AddressLimit::per_minute(
                config.submit_rate_per_minute,
                Some(config::SUBMIT_BURST),
            ),
            public_uploads: AddressLimit::per_minute(
                config.submit_rate_per_minute,
                Some(config::SUBMIT_BURST),
            ),
            public_decisions: AddressLimit::per_minute(
                config.submit_rate_per_minute,
                Some(config::SUBMIT_BURST),
            ),
            public_streams: limits::StreamLimit::new(config.public_streams_per_address),
            throttled_sign_ins: Default::default(),
        }),
        hub: Arc::new(live::Hub::default()),
        webhooks: notify::webhook::WebhookClient::new(Arc::new(
            notify::webhook::TargetPolicy::new(&config.webhook_allow_hosts),
        )),
        deliveries: Arc::default(),
        metrics: Arc::default(),
        metrics_allow: Arc::new(config.metrics_allow.clone()),
        shop: Arc::new(config.shop.clone()),
        require_totp_for_admins: config.require_totp_for_admins,
    }
}

/// Why the server did not start or stopped with an error: one line for people.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// A setting is wrong.
    #[error("configuration: {0}")]
    Config(#[from] ConfigError),
    /// The database cannot be reached, or refused the migrations.
    #[error("database: {0}")]
    Store(String),
    /// The default accounts could not be created.
    #[error("default accounts: {0}")]
    Seed(String),
    /// The address cannot be listened on.
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        /// `host:port`.
        addr: String,
        /// Why.
        source: std::io::Error,
    },
}

/// Runs the server described by `config` until SIGTERM or Ctrl-C.
pub async fn run(config: Config) -> Result<(), StartError> {
    if config.secret_generated {
        tracing::warn!("SECRET_KEY is not set: using a random key; tokens stop working at restart");
    } else if config.secret_key.len() < 32 {
        tracing::warn!("SECRET_KEY is shorter than 32 bytes; use a long random key in production");
    }
    let addr = format!("{}:{}", config.host, config.port);
    let listener = tokio::net::TcpListener::bind(addr.clone())
        .await
        .map_err(|source| StartError::Listen {
            addr: addr.clone(),
            source,
        })?;
    match &config.store {
        config::StoreConfig::Memory => {
            tracing::info!("store: in-memory (nothing survives a restart)");
            let (objects, files) = config.files.open()?;
            serve(
                Crm::new(MemoryStore::new())
                    .with_files(objects, files)
                    .with_currency(config.currency),
                &config,
                listener,
                shutdown_signal(),
            )
            .await
        }
        config::StoreConfig::Postgres(url) => {
            let options =
                crm_store_postgres::parse_url(url).map_err(|e| StartError::Store(e.to_string()))?;
            let settings = PgSettings {
                statement_timeout: Some(Duration::from_millis(config.statement_timeout_ms)),
                ..PgSettings::default()
            };
            let store = PgStore::connect_with(options, settings)
                .await
                .map_err(|e| StartError::Store(e.to_string()))?;
            tracing::info!(target_db = ?store, "store: PostgreSQL, migrations applied");
            let (objects, files) = config.files.open()?;
            tracing::info!(files = ?config.files.store, "attachments: object store opened");
            let result = serve(
                Crm::new(store.clone())
                    .with_files(objects, files)
                    .with_currency(config.currency),
                &config,
                listener,
                shutdown_signal(),
            )
            .await;
            store.close().await;
            result
        }
    }
}

/// Seeds the default accounts if the store is empty, then serves `crm` (with the password
/// cost it was built with) on `listener` until `shutdown` completes, giving in-flight requests
/// up to 30 seconds to finish. Starts the background work (sweeping the rate limiters) and
/// stops it on the way out.
pub async fn serve<S: Store>(
    crm: Crm<S>,
    config: &Config,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), StartError> {
    let seeded = crm
        .ensure_default_accounts(&[config.admin.clone(), config.worker.clone()])
        .await
        .map_err(|e| StartError::Seed(e.to_string()))?;
    if seeded {
        tracing::info!(admin = %config.admin.username, worker = %config.worker.username, "created the default accounts");
        if config.admin.password.expose() == config::DEFAULT_ADMIN_PASSWORD
            || config.worker.password.expose() == config::DEFAULT_WORKER_PASSWORD
        {
            tracing::warn!("a default account uses its documented default password: change it");
        }
    }
    let local = listener
        .local_addr()
        .map(|a| format!("socket://{a}"))
        .unwrap_or_default();
    tracing::info!(address = %local, "listening (UI at /, API docs at /docs)");
    let mailer = match &config.mail {
        None => None,
        Some(m) => Some(
            notify::mail::Mailer::new(&m.smtp_url, &m.from, &m.public_base_url)
                .map_err(ConfigError)?,
        ),
    };
    if let Err(e) = crm.set_mail_enabled(mailer.is_some()).await {
        tracing::warn!(error = %e, "customer e-mail: cannot record the setting");
    }
    if mailer.is_none() {
        tracing::info!("customer e-mail: off (no SMTP_URL)");
    }
    let state = state(crm.clone(), config);
    let hub = state.hub.clone();
    let notifier = notify::Notifier::new(
        crm.clone(),
        state.webhooks.clone(),
        mailer,
        state.deliveries.clone(),
    );
    let deliveries = tokio::spawn(notifier.run(hub.clone()));
    let orphans = tokio::spawn(files::sweep_loop(crm.clone()));
    let live = tokio::spawn(live::run(crm, hub.clone()));
    let limits = state.limits.clone();
    let sweeper = tokio::spawn(async move {
        let mut every = tokio::time::interval(Duration::from_secs(60));
        loop {
            every.tick().await;
            limits.sweep();
        }
    });
    let endpoint = app(state, &config.cors_origins);
    // Streams never end by themselves: close them as soon as shutdown begins.
    let shutdown = {
        let hub = hub.clone();
        async move {
            shutdown.await;
            hub.close();
        }
    };
    let served = http::serve(listener, endpoint, shutdown, Duration::from_secs(30)).await;
    hub.close();
    let _ = live.await;
    let _ = deliveries.await;
    sweeper.abort();
    orphans.abort();
    served.map_err(|source| StartError::Listen {
        addr: local,
        source,
    })?;
    tracing::info!("stopped");
    Ok(())
}

/// Completes on SIGTERM or Ctrl-C.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutting down: finishing in-flight requests");
}
