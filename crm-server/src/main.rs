//! `crm-server`: configuration from the environment (see README), then serve.

use mimalloc::MiMalloc;

#[global_allocator]
static GLOBAL: MiMalloc = MiMalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let config = match crm_server::Config::from_env() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("crm-server: configuration: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    tracing_subscriber::fmt()
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_new(&config.log_filter)
                .unwrap_or_else(|_| "info".into()),
        )
        .init();
    match crm_server::run(config).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e}");
            eprintln!("crm-server: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
