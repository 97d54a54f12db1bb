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
mod middleware;
pub mod request_meta;
pub mod ui;

pub use api::AppState;
pub use config::{Config, ConfigError, StoreConfig};

use api::{
    auth::AuthApi, health::HealthApi, public::PublicApi, tickets::TicketsApi, users::UsersApi,
};
use auth::Tokens;
use crm_core::{Crm, Store};
use crm_store_memory::MemoryStore;
use crm_store_postgres::PgStore;
use poem::{
    Endpoint, EndpointExt, Route, Server,
    listener::{Acceptor, Listener, TcpListener},
    middleware::Cors,
};
use poem_openapi::OpenApiService;
use std::{sync::Arc, time::Duration};

/// Largest request body accepted (64 KiB); larger ones get 413.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// The whole HTTP service over `state`'s store.
pub fn app<S: Store>(state: AppState<S>, cors_origins: &[String]) -> impl Endpoint + 'static {
    let api = OpenApiService::new(
        (
            AuthApi(state.clone()),
            PublicApi(state.clone()),
            TicketsApi(state.clone()),
            UsersApi(state.clone()),
            HealthApi(state),
        ),
        "repair-crm",
        env!("CARGO_PKG_VERSION"),
    )
    .description(
        "Repair-request management: customers submit requests, admins assign them, workers \
         move them new -> in_progress -> done. Sign in with POST /auth/login, then press \
         Authorize and paste the access_token.",
    );
    let docs = api.swagger_ui();
    let spec = api.spec_endpoint();
    let cors = (!cors_origins.is_empty()).then(|| {
        cors_origins
            .iter()
            .fold(Cors::new(), |c, o| c.allow_origin(o.as_str()))
            .allow_credentials(false)
    });
    Route::new()
        .nest("/docs", docs)
        .at("/openapi.json", spec)
        .nest("/", api)
        .at("/ui/*path", poem::get(ui::asset))
        // The API is nested at "/", which also takes the root path: answer it first.
        .around(|ep, req| async move {
            if req.uri().path() == "/" && req.method() == poem::http::Method::GET {
                return Ok(ui::page());
            }
            ep.call(req).await.map(poem::IntoResponse::into_response)
        })
        .with(middleware::TrimTrailingSlash)
        .with_if(cors.is_some(), cors.unwrap_or_default())
        .with(middleware::BodyLimit(MAX_BODY_BYTES))
        .catch_all_error(|e| async move { error::render_any(e) })
        .with(middleware::AccessLog)
}

/// Builds the state for `crm` from the configuration's key and lifetime.
pub fn state<S: Store>(crm: Crm<S>, config: &Config) -> AppState<S> {
    AppState {
        crm,
        tokens: Tokens::new(&config.secret_key, config.token_minutes),
        trusted_proxies: Arc::new(config.trusted_proxies.clone()),
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
    let listener = TcpListener::bind(addr.clone())
        .into_acceptor()
        .await
        .map_err(|source| StartError::Listen {
            addr: addr.clone(),
            source,
        })?;
    match &config.store {
        config::StoreConfig::Memory => {
            tracing::info!("store: in-memory (nothing survives a restart)");
            serve(
                Crm::new(MemoryStore::new()),
                &config,
                listener,
                shutdown_signal(),
            )
            .await
        }
        config::StoreConfig::Postgres(url) => {
            let store = PgStore::connect(url)
                .await
                .map_err(|e| StartError::Store(e.to_string()))?;
            tracing::info!(target_db = ?store, "store: PostgreSQL, migrations applied");
            let result = serve(
                Crm::new(store.clone()),
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
/// up to 30 seconds to finish.
pub async fn serve<S: Store>(
    crm: Crm<S>,
    config: &Config,
    listener: impl Acceptor + 'static,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), StartError> {
    let seeded = crm
        .ensure_default_accounts(&[config.admin.clone(), config.worker.clone()])
        .await
        .map_err(|e| StartError::Seed(e.to_string()))?;
    if seeded {
        tracing::info!(admin = %config.admin.username, worker = %config.worker.username, "created the default accounts");
        if config.admin.password == config::DEFAULT_ADMIN_PASSWORD
            || config.worker.password == config::DEFAULT_WORKER_PASSWORD
        {
            tracing::warn!("a default account uses its documented default password: change it");
        }
    }
    let local = listener
        .local_addr()
        .first()
        .map(|a| a.to_string())
        .unwrap_or_default();
    tracing::info!(address = %local, "listening (UI at /, API docs at /docs)");
    let endpoint = app(state(crm, config), &config.cors_origins);
    Server::new_with_acceptor(listener)
        .run_with_graceful_shutdown(endpoint, shutdown, Some(Duration::from_secs(30)))
        .await
        .map_err(|source| StartError::Listen {
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
