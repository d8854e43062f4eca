//! `sori`: reads the configuration, sets up logging, and runs the server until SIGINT or
//! SIGTERM. Start-up failures print one line saying what to fix and exit with status 1.

use std::process::ExitCode;

use clap::Parser;
use server::{Application, Config};
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> ExitCode {
    let config = Config::parse();
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
