use std::path::PathBuf;

use clap::Parser;
use tokio::signal::unix::{SignalKind, signal};
use tracing_subscriber::EnvFilter;

/// Exodus bot: a Matrix bot for mutual aid.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// TOML configuration file; every key can also be set as EXODUS_<KEY>.
    #[arg(long, env = "EXODUS_CONFIG")]
    config: Option<PathBuf>,
    /// Validate the configuration and exit.
    #[arg(long)]
    check_config: bool,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,matrix_sdk=warn,matrix_sdk_crypto=warn,matrix_sdk_crypto::backups=error,matrix_sdk_base=warn")))
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let config = match exodus_bot::config::Config::load(args.config.as_deref(), std::env::vars()) {
        Ok(config) => config,
        Err(e) => {
            // A configuration mistake is the operator's to fix: the message, not a backtrace.
            eprintln!("exodus-bot: {e}");
            std::process::exit(2);
        }
    };
    if args.check_config {
        println!("configuration is valid");
        return Ok(());
    }
    let (stop, shutdown) = tokio::sync::watch::channel(false);
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    tokio::spawn(async move {
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
        tracing::info!("stopping");
        let _ = stop.send(true);
    });
    if let Err(e) = exodus_bot::run(config, shutdown).await {
        tracing::error!(error = %e, "exodus-bot stops");
        eprintln!("exodus-bot: {e}");
        std::process::exit(e.exit_code());
    }
    Ok(())
}
