//! Throwaway PostgreSQL databases for tests: one uniquely named database per test, dropped
//! afterwards.
//!
//! Reads `TEST_DATABASE_URL` (else `DATABASE_URL`, else `postgres://postgres@127.0.0.1:5432/postgres`):
//! a server where the user may create databases. `scripts/test.sh` always provides one. A
//! server that cannot be reached fails the test with that message; it never skips.

/// The server URL tests create their databases on.
pub fn server_url() -> String {
    std::env::var("TEST_DATABASE_URL")
        .or_else(|_| std::env::var("DATABASE_URL"))
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// Creates a uniquely named database (`{prefix}_<random>`) on the test server. Returns its URL
/// and the guard that drops it.
pub async fn create_database(prefix: &str) -> (String, DropDatabase) {
    use sqlx::Connection;
    let name = format!("{prefix}_{:016x}", rand::random::<u64>());
    let mut conn = sqlx::PgConnection::connect(&server_url())
        .await
        .unwrap_or_else(|e| {
            panic!(
                "PostgreSQL tests need a server: set TEST_DATABASE_URL or run scripts/test.sh ({e})"
            )
        });
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .await
        .expect("create the test database");
    (with_database(&server_url(), &name), DropDatabase(name))
}

/// `url` with its database name replaced.
pub fn with_database(url: &str, db: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let base = match base[scheme_end..].rfind('/') {
        Some(i) => &base[..scheme_end + i],
        None => base,
    };
    match query {
        Some(q) => format!("{base}/{db}?{q}"),
        None => format!("{base}/{db}"),
    }
}

/// Drops a test database when dropped, even when the test panicked before its own clean-up.
/// The drop runs on a thread of its own with a private runtime, so it works from inside or
/// outside an async context.
#[derive(Debug)]
pub struct DropDatabase(pub String);

impl Drop for DropDatabase {
    fn drop(&mut self) {
        let name = std::mem::take(&mut self.0);
        if name.is_empty() {
            return;
        }
        let url = server_url();
        let _ = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async move {
                use sqlx::Connection;
                if let Ok(mut conn) = sqlx::PgConnection::connect(&url).await {
                    let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .execute(&mut conn)
                        .await;
                }
            });
        })
        .join();
    }
}

/// A PostgreSQL cluster of a test's own, for tests that stop and start the database: never
/// the machine's. Built with the newest `initdb` and `pg_ctl` under `/usr/lib/postgresql`
/// (Debian's `postgresql` package, which `scripts/test.sh` installs when missing); as root,
/// the cluster runs as the `postgres` system user. Stopped and deleted when dropped.
pub struct Cluster {
    dir: std::path::PathBuf,
    bindir: std::path::PathBuf,
    port: u16,
    as_postgres: bool,
}

impl Cluster {
    /// Initialises and starts a cluster on a free loopback port.
    pub fn start() -> Self {
        let bindir = std::fs::read_dir("/usr/lib/postgresql")
            .ok()
            .into_iter()
            .flatten()
            .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
            .filter(|b| b.join("initdb").exists())
            .max()
            .expect("PostgreSQL server binaries under /usr/lib/postgresql (scripts/test.sh installs them)");
        let as_postgres = std::process::Command::new("id")
            .arg("-u")
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
            .unwrap_or(false);
        let dir = std::env::temp_dir().join(format!("crm-cluster-{:016x}", rand::random::<u64>()));
        std::fs::create_dir_all(&dir).expect("create the cluster directory");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free port");
        let c = Self {
            dir,
            bindir,
            port,
            as_postgres,
        };
        if as_postgres {
            let ok = std::process::Command::new("chown")
                .args(["postgres", c.dir.to_str().unwrap()])
                .status()
                .is_ok_and(|s| s.success());
            assert!(ok, "chown the cluster directory to postgres");
        }
        let data = c.dir.join("data");
        c.run(
            "initdb",
            &[
                "-D",
                data.to_str().unwrap(),
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
            ],
        );
        c.start_again();
        c
    }

    fn run(&self, tool: &str, args: &[&str]) {
        let bin = self.bindir.join(tool);
        let mut cmd = if self.as_postgres {
            let mut c = std::process::Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&bin);
            c
        } else {
            std::process::Command::new(&bin)
        };
        let out = cmd.args(args).output().expect("run a PostgreSQL tool");
        assert!(
            out.status.success(),
            "{tool} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Starts the (stopped) cluster and waits until it accepts connections.
    pub fn start_again(&self) {
        let data = self.dir.join("data");
        let opts = format!(
            "-c listen_addresses=127.0.0.1 -c port={} -c unix_socket_directories={} -c fsync=off",
            self.port,
            self.dir.display()
        );
        let log = self.dir.join("log");
        self.run(
            "pg_ctl",
            &[
                "-D",
                data.to_str().unwrap(),
                "-l",
                log.to_str().unwrap(),
                "-w",
                "-o",
                &opts,
                "start",
            ],
        );
    }

    /// Stops the cluster, terminating every connection (`pg_ctl -m fast stop`).
    pub fn stop(&self) {
        let data = self.dir.join("data");
        self.run(
            "pg_ctl",
            &["-D", data.to_str().unwrap(), "-m", "fast", "-w", "stop"],
        );
    }

    /// The URL of its `postgres` database.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let data = self.dir.join("data");
        let bin = self.bindir.join("pg_ctl");
        let mut cmd = if self.as_postgres {
            let mut c = std::process::Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&bin);
            c
        } else {
            std::process::Command::new(&bin)
        };
        let _ = cmd
            .args([
                "-D",
                data.to_str().unwrap_or_default(),
                "-m",
                "immediate",
                "stop",
            ])
            .output();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
