//! `sori`: with no subcommand, reads the configuration, sets up logging, and runs the
//! server until SIGINT or SIGTERM (start-up failures print one line saying what to fix and
//! exit with status 1). `sori doctor URL` checks a deployment from outside instead, and
//! exits 1 when a check failed.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use server::doctor::DoctorArgs;
use server::{Application, Config};
use tracing_subscriber::EnvFilter;

/// See the server's Cargo.toml for why not the system's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The command line: the server's flags, or a subcommand (never both).
#[derive(Debug, Parser)]
#[command(
    name = "sori",
    version,
    about = "Sori: real-time room chat.",
    args_conflicts_with_subcommands = true
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,

    #[command(flatten)]
    serve: Config,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Checks a deployment from wherever this runs: DNS, TCP, TLS, the proxy's routing and
    /// WebSocket upgrade, scheme and origin, idle timeouts, latency, instances, clock.
    Doctor(DoctorArgs),
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Some(Command::Doctor(args)) => {
            if server::doctor::run(&args).await {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        None => serve(cli.serve).await,
    }
}

async fn serve(config: Config) -> ExitCode {
    let filter = EnvFilter::try_new(&config.log_filter).unwrap_or_else(|error| {
        eprintln!(
            "sori: RUST_LOG {:?} is not a valid filter ({error}); using \"info\"",
            config.log_filter
        );
        EnvFilter::new("info")
    });
    tracing_subscriber::fmt().with_env_filter(filter).init();

    let application = match Application::build(config).await {
        Ok(application) => application,
        Err(error) => {
            eprintln!("sori: {error}");
            return ExitCode::FAILURE;
        }
    };
    tracing::info!(
        "listening on http://{} (public origin {})",
        application.local_addr(),
        application.public_origin()
    );
    application.run_until(server::shutdown::signal()).await;
    ExitCode::SUCCESS
}
