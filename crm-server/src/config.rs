//! Configuration from the environment, read once at start and passed on as values.

use crate::request_meta::Networks;
use crm_core::{DefaultAccount, Role};

/// Which backend the server runs on.
#[derive(Clone, PartialEq, Eq)]
pub enum StoreConfig {
    /// The embedded in-memory store: nothing survives a restart.
    Memory,
    /// PostgreSQL at this URL (kept out of `Debug`: it may hold a password).
    Postgres(String),
}

impl std::fmt::Debug for StoreConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Memory => f.write_str("Memory"),
            Self::Postgres(_) => f.write_str("Postgres(***)"),
        }
    }
}

/// Every setting of the server. Build it with [`Config::from_env`] or directly in tests.
#[derive(Clone)]
pub struct Config {
    /// `DATABASE_URL`: unset means the in-memory store.
    pub store: StoreConfig,
    /// `SECRET_KEY`: the HS256 signing key.
    pub secret_key: Vec<u8>,
    /// True when no `SECRET_KEY` was given and a random one was drawn (memory store only).
    pub secret_generated: bool,
    /// `ACCESS_TOKEN_EXPIRE_MINUTES`: token lifetime, in minutes.
    pub token_minutes: i64,
    /// `ADMIN_USERNAME` / `ADMIN_PASSWORD`: created when the store has no users at all.
    pub admin: DefaultAccount,
    /// `WORKER_USERNAME` / `WORKER_PASSWORD`: created at the same moment.
    pub worker: DefaultAccount,
    /// `HOST`.
    pub host: String,
    /// `PORT`.
    pub port: u16,
    /// `TRUSTED_PROXIES`: peers (addresses or CIDR ranges) whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Networks,
    /// `METRICS_ALLOW`: clients (addresses or CIDR ranges) that `GET /metrics` answers;
    /// loopback by default.
    pub metrics_allow: Networks,
    /// `LOGIN_RATE_PER_MINUTE`: sign-in attempts one address may make per minute on this
    /// replica (0: no limit).
    pub login_rate_per_minute: u32,
    /// `SUBMIT_RATE_PER_MINUTE`: public submissions one address may make per minute on this
    /// replica, in bursts of at most [`SUBMIT_BURST`] (0: no limit).
    pub submit_rate_per_minute: u32,
    /// `PUBLIC_STREAMS_PER_ADDRESS`: public progress streams one address may hold open at
    /// once on this replica (0: no limit).
    pub public_streams_per_address: u32,
    /// `STATEMENT_TIMEOUT_MS`: the longest a database statement may run.
    pub statement_timeout_ms: u64,
    /// `CORS_ORIGINS`: origins allowed to call the API from a browser.
    pub cors_origins: Vec<String>,
    /// `WEBHOOK_ALLOW_HOSTS`: webhook hosts that may resolve to loopback, private or
    /// link-local addresses.
    pub webhook_allow_hosts: Vec<String>,
    /// `SMTP_URL`, `MAIL_FROM`, `PUBLIC_BASE_URL`: customer e-mail, when a mail server is set.
    pub mail: Option<MailConfig>,
    /// `SHOP_NAME`, `SHOP_ADDRESS`, `SHOP_PHONE`, `RECEIPT_TERMS`, `PUBLIC_BASE_URL`: what
    /// the printed receipt says of the shop, and where its tracking link starts.
    pub shop: crate::receipt::ShopConfig,
    /// `ATTACHMENT_STORE`, `ATTACHMENT_MAX_BYTES`, `ATTACHMENT_MAX_PER_TICKET`: where files
    /// are kept and how large and many they may be.
    pub files: crate::files::FileConfig,
    /// `CURRENCY`: the ISO 4217 code new quotes are written in (default `EUR`).
    pub currency: crm_core::money::Currency,
    /// `REQUIRE_TOTP_FOR_ADMINS`: admins without two-factor sign-in may only set it up.
    pub require_totp_for_admins: bool,
    /// `RUST_LOG`.
    pub log_filter: String,
}

/// Where customer e-mail goes out, as whom, and where its links point. Holds the mail
/// server's credentials: never logged.
#[derive(Clone, PartialEq, Eq)]
pub struct MailConfig {
    /// `SMTP_URL`: `smtp://host:port` or `smtps://user:pass@host`.
    pub smtp_url: String,
    /// `MAIL_FROM`: the sender, `Shop <shop@example.com>`.
    pub from: String,
    /// `PUBLIC_BASE_URL`: where customers open the site (the tracking link's start).
    pub public_base_url: String,
}

impl std::fmt::Debug for MailConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MailConfig")
            .field("from", &self.from)
            .field("public_base_url", &self.public_base_url)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("store", &self.store)
            .field("token_minutes", &self.token_minutes)
            .field("host", &self.host)
            .field("port", &self.port)
            .finish_non_exhaustive()
    }
}

/// A setting that stops the start, as one line for people.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);

/// How many public submissions one address may make at once before the per-minute rate
/// applies.
pub const SUBMIT_BURST: u32 = 5;

/// Signing keys printed as examples (in this repository's compose file and benchmark, and in
/// the README of the system this one replaces): a real deployment using one of them would
/// accept tokens anyone can forge, so a PostgreSQL server refuses to start with them.
pub const EXAMPLE_SECRET_KEYS: &[&str] = &[
    "change-me-to-a-long-random-string-of-32-bytes-or-more",
    "load-benchmark-secret-key-0123456789abcdef",
    "your-secret-key",
    "your-production-secret-key",
];

/// The shortest signing key a PostgreSQL server accepts, in bytes.
pub const MIN_SECRET_KEY_BYTES: usize = 32;

/// The documented default passwords, which start the server with a warning.
pub const DEFAULT_ADMIN_PASSWORD: &str = "admin123";
/// See [`DEFAULT_ADMIN_PASSWORD`].
pub const DEFAULT_WORKER_PASSWORD: &str = "worker123";

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_vars(|k| std::env::var(k).ok())
    }

    /// Reads settings through `var` (tests pass a map instead of touching the environment).
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let v = Vars(&var);
        let store = v.store()?;
        let (secret_key, secret_generated) = v.secret_key(&store)?;
        let statement_timeout_ms = v.number("STATEMENT_TIMEOUT_MS", 5000, 3_600_000)?;
        if statement_timeout_ms == 0 {
            return Err(ConfigError(
                "STATEMENT_TIMEOUT_MS must be at least 1".into(),
            ));
        }
        let cors_origins = v.list("CORS_ORIGINS");
        if cors_origins.iter().any(|o| o == "*") {
            return Err(ConfigError(
                "CORS_ORIGINS must list origins; \"*\" is not allowed".into(),
            ));
        }
        Ok(Self {
            secret_key,
            secret_generated,
            token_minutes: v.number("ACCESS_TOKEN_EXPIRE_MINUTES", 60, 525_600).and_then(|m| {
                if m == 0 {
                    Err(ConfigError(
                        "ACCESS_TOKEN_EXPIRE_MINUTES must be a whole number of minutes between 1 and 525600, not \"0\"".into(),
                    ))
                } else {
                    Ok(m as i64)
                }
            })?,
            admin: v.account("ADMIN", "admin", DEFAULT_ADMIN_PASSWORD, Role::Admin),
            worker: v.account("WORKER", "worker", DEFAULT_WORKER_PASSWORD, Role::Worker),
            host: v.get("HOST").unwrap_or_else(|| "127.0.0.1".into()),
            port: v.number("PORT", 8000, u64::from(u16::MAX))? as u16,
            trusted_proxies: v.networks("TRUSTED_PROXIES", "")?,
            metrics_allow: v.networks("METRICS_ALLOW", "127.0.0.0/8, ::1")?,
            login_rate_per_minute: v.number("LOGIN_RATE_PER_MINUTE", 30, 1_000_000)? as u32,
            submit_rate_per_minute: v.number("SUBMIT_RATE_PER_MINUTE", 10, 1_000_000)? as u32,
            public_streams_per_address: v.number("PUBLIC_STREAMS_PER_ADDRESS", 8, 100_000)?
                as u32,
            statement_timeout_ms,
            cors_origins,
            webhook_allow_hosts: v.list("WEBHOOK_ALLOW_HOSTS"),
            mail: v.mail()?,
            shop: v.shop()?,
            files: crate::files::FileConfig {
                store: crate::files::FileStore::parse(
                    v.get("ATTACHMENT_STORE").as_deref(),
                    store == StoreConfig::Memory,
                )?,
                max_bytes: v.number("ATTACHMENT_MAX_BYTES", crm_core::attachment::DEFAULT_MAX_BYTES, 1 << 30)
                    .and_then(|n| {
                        if n == 0 {
                            Err(ConfigError("ATTACHMENT_MAX_BYTES must be at least 1".into()))
                        } else {
                            Ok(n)
                        }
                    })?,
                max_per_ticket: v.number(
                    "ATTACHMENT_MAX_PER_TICKET",
                    u64::from(crm_core::attachment::DEFAULT_MAX_PER_TICKET),
                    10_000,
                )? as u32,
            },
            currency: match v.get("CURRENCY") {
                None => crm_core::money::Currency::EUR,
                Some(c) => crm_core::money::Currency::parse(c.trim()).ok_or_else(|| {
                    ConfigError(format!(
                        "CURRENCY must be an ISO 4217 code such as EUR, USD or JPY, not {c:?}"
                    ))
                })?,
            },
            require_totp_for_admins: v.flag("REQUIRE_TOTP_FOR_ADMINS", false)?,
            log_filter: v.get("RUST_LOG").unwrap_or_else(|| "info".into()),
            store,
        })
    }
}

/// The settings as a source of named, checked values: one reader per kind of value, so each
/// variable is read and refused the same way.
struct Vars<'a>(&'a dyn Fn(&str) -> Option<String>);

impl Vars<'_> {
    /// The variable, unless unset or blank.
    fn get(&self, name: &str) -> Option<String> {
        (self.0)(name).filter(|v| !v.trim().is_empty())
    }

    /// `true` or `false` (also `1`/`0`, `yes`/`no`, any case).
    fn flag(&self, name: &str, default: bool) -> Result<bool, ConfigError> {
        match self.get(name) {
            None => Ok(default),
            Some(v) => match v.trim().to_ascii_lowercase().as_str() {
                "true" | "1" | "yes" => Ok(true),
                "false" | "0" | "no" => Ok(false),
                _ => Err(ConfigError(format!(
                    "{name} must be true or false, not {v:?}"
                ))),
            },
        }
    }

    /// A whole number from 0 to `max`.
    fn number(&self, name: &str, default: u64, max: u64) -> Result<u64, ConfigError> {
        match self.get(name) {
            None => Ok(default),
            Some(v) => v
                .trim()
                .parse::<u64>()
                .ok()
                .filter(|n| *n <= max)
                .ok_or_else(|| {
                    ConfigError(format!(
                        "{name} must be a whole number from 0 to {max}, not {v:?}"
                    ))
                }),
        }
    }

    /// A comma-separated list of text.
    fn list(&self, name: &str) -> Vec<String> {
        self.get(name)
            .map(|v| comma_list(&v).map(str::to_owned).collect())
            .unwrap_or_default()
    }

    /// A comma-separated list of addresses or CIDR ranges.
    fn networks(&self, name: &str, default: &str) -> Result<Networks, ConfigError> {
        comma_list(&self.get(name).unwrap_or_else(|| default.to_owned()))
            .map(|s| {
                Networks::parse_entry(s).ok_or_else(|| {
                    ConfigError(format!(
                        "{name} must list IP addresses or CIDR ranges; {s:?} is neither"
                    ))
                })
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Networks)
    }

    fn store(&self) -> Result<StoreConfig, ConfigError> {
        let Some(url) = self.get("DATABASE_URL") else {
            return Ok(StoreConfig::Memory);
        };
        let url = url.trim().to_owned();
        if !(url.starts_with("postgres://")
            || url.starts_with("postgresql://")
            || url.starts_with("postgresql+asyncpg://"))
        {
            return Err(ConfigError(
                "DATABASE_URL must start with postgres://, postgresql:// or postgresql+asyncpg://"
                    .into(),
            ));
        }
        Ok(StoreConfig::Postgres(url))
    }

    /// The signing key, and whether it was drawn at random (memory store only).
    fn secret_key(&self, store: &StoreConfig) -> Result<(Vec<u8>, bool), ConfigError> {
        let memory = *store == StoreConfig::Memory;
        match self.get("SECRET_KEY") {
            Some(k) if !memory && EXAMPLE_SECRET_KEYS.contains(&k.as_str()) => Err(ConfigError(
                "SECRET_KEY is an example value printed in the documentation: use a long random key".into(),
            )),
            Some(k) if !memory && k.len() < MIN_SECRET_KEY_BYTES => Err(ConfigError(format!(
                "SECRET_KEY must be at least {MIN_SECRET_KEY_BYTES} bytes with DATABASE_URL (it has {})",
                k.len()
            ))),
            Some(k) => Ok((k.into_bytes(), false)),
            None if memory => {
                let mut key = vec![0u8; 32];
                rand::RngCore::fill_bytes(&mut rand::rng(), &mut key);
                Ok((key, true))
            }
            None => Err(ConfigError(
                "SECRET_KEY is required with DATABASE_URL: replicas must share one signing key"
                    .into(),
            )),
        }
    }

    /// `{prefix}_USERNAME` / `{prefix}_PASSWORD`; an account seeded with its documented
    /// default password must choose a new one.
    fn account(&self, prefix: &str, user: &str, pass: &str, role: Role) -> DefaultAccount {
        let password = self
            .get(&format!("{prefix}_PASSWORD"))
            .unwrap_or_else(|| pass.to_owned());
        DefaultAccount {
            username: self
                .get(&format!("{prefix}_USERNAME"))
                .unwrap_or_else(|| user.to_owned()),
            must_change_password: password == pass,
            password: password.into(),
            role,
        }
    }

    fn shop(&self) -> Result<crate::receipt::ShopConfig, ConfigError> {
        let defaults = crate::receipt::ShopConfig::default();
        let public_base_url = match self.get("PUBLIC_BASE_URL") {
            None => None,
            Some(u) => {
                let u = u.trim().trim_end_matches('/').to_owned();
                if !(u.starts_with("http://") || u.starts_with("https://")) {
                    return Err(ConfigError(
                        "PUBLIC_BASE_URL must start with http:// or https://".into(),
                    ));
                }
                Some(u)
            }
        };
        Ok(crate::receipt::ShopConfig {
            name: self
                .get("SHOP_NAME")
                .map_or(defaults.name, |n| n.trim().to_owned()),
            address: self.get("SHOP_ADDRESS").map(|a| a.trim().to_owned()),
            phone: self.get("SHOP_PHONE").map(|p| p.trim().to_owned()),
            terms: self
                .get("RECEIPT_TERMS")
                .map_or(defaults.terms, |t| t.trim().to_owned()),
            public_base_url,
        })
    }

    fn mail(&self) -> Result<Option<MailConfig>, ConfigError> {
        let Some(smtp_url) = self.get("SMTP_URL") else {
            return Ok(None);
        };
        let smtp_url = smtp_url.trim().to_owned();
        if !(smtp_url.starts_with("smtp://") || smtp_url.starts_with("smtps://")) {
            return Err(ConfigError(
                "SMTP_URL must start with smtp:// or smtps://".into(),
            ));
        }
        let from = self.get("MAIL_FROM").ok_or_else(|| {
            ConfigError("MAIL_FROM is required with SMTP_URL: the sender customers see, e.g. \"Shop <shop@example.com>\"".into())
        })?;
        let public_base_url = self
            .get("PUBLIC_BASE_URL")
            .map(|u| u.trim().trim_end_matches('/').to_owned())
            .ok_or_else(|| {
                ConfigError("PUBLIC_BASE_URL is required with SMTP_URL: customers' tracking links start there".into())
            })?;
        if !(public_base_url.starts_with("http://") || public_base_url.starts_with("https://")) {
            return Err(ConfigError(
                "PUBLIC_BASE_URL must start with http:// or https://".into(),
            ));
        }
        crate::notify::mail::Mailer::new(&smtp_url, &from, &public_base_url)
            .map_err(ConfigError)?;
        Ok(Some(MailConfig {
            smtp_url,
            from,
            public_base_url,
        }))
    }
}

/// The entries of a comma-separated setting, trimmed, blanks left out.
fn comma_list(v: &str) -> impl Iterator<Item = &str> {
    v.split(',').map(str::trim).filter(|s| !s.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn cfg(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let m: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_vars(|k| m.get(k).cloned())
    }

    #[test]
    fn defaults_run_the_memory_store_with_a_random_key() {
        let c = cfg(&[]).unwrap();
        assert_eq!(c.store, StoreConfig::Memory);
        assert!(c.secret_generated && c.secret_key.len() == 32);
        assert_eq!(
            (c.host.as_str(), c.port, c.token_minutes),
            ("127.0.0.1", 8000, 60)
        );
        assert_eq!(
            (c.admin.username.as_str(), c.admin.password.expose()),
            ("admin", "admin123")
        );
        assert_eq!(
            (c.worker.username.as_str(), c.worker.password.expose()),
            ("worker", "worker123")
        );
        assert_ne!(
            cfg(&[]).unwrap().secret_key,
            c.secret_key,
            "random per start"
        );
    }

    #[test]
    fn postgres_requires_a_secret_key() {
        let e = cfg(&[("DATABASE_URL", "postgres://u:p@h/db")]).unwrap_err();
        assert!(e.0.contains("SECRET_KEY"));
        let strong = "a-long-random-key-0123456789abcdef";
        let c = cfg(&[
            ("DATABASE_URL", "postgresql+asyncpg://u:p@h/db"),
            ("SECRET_KEY", strong),
        ])
        .unwrap();
        assert!(matches!(c.store, StoreConfig::Postgres(_)));
        assert!(
            !format!("{c:?}").contains("u:p"),
            "the URL never reaches logs"
        );
    }

    #[test]
    fn postgres_refuses_short_and_example_keys() {
        let pg = ("DATABASE_URL", "postgres://u:p@h/db");
        let e = cfg(&[pg, ("SECRET_KEY", "a")]).unwrap_err();
        assert!(e.0.contains("at least 32 bytes"), "{e}");
        for k in EXAMPLE_SECRET_KEYS {
            let e = cfg(&[pg, ("SECRET_KEY", k)]).unwrap_err();
            assert!(e.0.contains("example"), "{e}");
        }
        // The memory store starts with any key (tokens die with the process anyway).
        assert!(cfg(&[("SECRET_KEY", "a")]).is_ok());
    }

    #[test]
    fn every_secret_key_printed_in_the_repository_is_an_example_refused() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        for file in [
            "docker-compose.yml",
            "README.md",
            "benches/load/run.sh",
            "benches/load/pg.sh",
        ] {
            let text = std::fs::read_to_string(root.join(file)).unwrap();
            for line in text.lines() {
                let Some(rest) = line.split("SECRET_KEY").nth(1) else {
                    continue;
                };
                let value = rest
                    .trim_start_matches([':', '=', ' ', '"'])
                    .split([' ', '"', '\\'])
                    .next()
                    .unwrap_or_default();
                if value.len() < 8 || value.starts_with('$') || value.starts_with('`') {
                    continue;
                }
                assert!(
                    EXAMPLE_SECRET_KEYS.contains(&value),
                    "{file}: {value:?} is printed but not refused"
                );
            }
        }
    }

    #[test]
    fn bad_settings_are_one_clear_line() {
        for (k, v) in [
            ("PORT", "eighty"),
            ("ACCESS_TOKEN_EXPIRE_MINUTES", "0"),
            ("TRUSTED_PROXIES", "10.0.0.1, nonsense"),
            ("METRICS_ALLOW", "localhost"),
            ("CORS_ORIGINS", "*"),
            ("DATABASE_URL", "mysql://x"),
            ("SUBMIT_RATE_PER_MINUTE", "-1"),
            ("LOGIN_RATE_PER_MINUTE", "lots"),
            ("STATEMENT_TIMEOUT_MS", "0"),
        ] {
            let e = cfg(&[(k, v)]).unwrap_err();
            assert!(e.0.contains(k) || e.0.contains("DATABASE_URL"), "{e}");
            assert!(!e.0.contains('\n'));
        }
        let c = cfg(&[
            ("TRUSTED_PROXIES", "10.0.0.1, 10.1.0.0/16"),
            ("CORS_ORIGINS", "https://a.example, https://b.example"),
        ])
        .unwrap();
        assert_eq!(c.trusted_proxies.0.len(), 2);
        assert_eq!(c.cors_origins.len(), 2);
        let loopback = |c: &Config| {
            ["127.0.0.1", "127.5.5.5", "::1", "10.0.0.1"]
                .map(|ip| c.metrics_allow.contains(&ip.parse().unwrap()))
        };
        assert_eq!(
            loopback(&c),
            [true, true, true, false],
            "loopback by default"
        );
        let c = cfg(&[("METRICS_ALLOW", "10.0.0.0/8")]).unwrap();
        assert_eq!(loopback(&c), [false, false, false, true]);
        let c = cfg(&[("METRICS_ALLOW", " ")]).unwrap();
        assert_eq!(
            loopback(&c),
            [true, true, true, false],
            "blank: the default"
        );
    }

    #[test]
    fn mail_needs_a_sender_and_a_public_address() {
        let smtp = ("SMTP_URL", "smtp://127.0.0.1:2525");
        let from = ("MAIL_FROM", "Shop <shop@example.com>");
        let base = ("PUBLIC_BASE_URL", "https://shop.example.com/");
        assert_eq!(cfg(&[]).unwrap().mail, None);
        for (vars, named) in [
            (vec![smtp, base], "MAIL_FROM"),
            (vec![smtp, from], "PUBLIC_BASE_URL"),
            (vec![("SMTP_URL", "http://x"), from, base], "SMTP_URL"),
            (vec![smtp, ("MAIL_FROM", "nobody"), base], "MAIL_FROM"),
            (
                vec![smtp, from, ("PUBLIC_BASE_URL", "shop.example.com")],
                "PUBLIC_BASE_URL",
            ),
        ] {
            let e = cfg(&vars).unwrap_err();
            assert!(e.0.contains(named), "{e}");
        }
        let c = cfg(&[
            smtp,
            from,
            base,
            ("WEBHOOK_ALLOW_HOSTS", "127.0.0.1, hooks.lan"),
        ])
        .unwrap();
        let m = c.mail.unwrap();
        assert_eq!(m.public_base_url, "https://shop.example.com");
        assert_eq!(c.webhook_allow_hosts, ["127.0.0.1", "hooks.lan"]);
        let secret = cfg(&[
            ("SMTP_URL", "smtps://u:hunter2@mail.example.com"),
            from,
            base,
        ])
        .unwrap();
        assert!(!format!("{secret:?}").contains("hunter2"));
        assert!(!format!("{:?}", secret.mail).contains("hunter2"));
    }
}
