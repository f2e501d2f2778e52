//! `rudder`: Kubernetes in one binary.
//!
//! `rudder server` runs the control plane over the embedded store and writes an admin
//! kubeconfig, so that `kubectl` works with no other step. `rudder agent` joins node agents to
//! it with the server's node token.

mod agent;
mod controllers;
mod duration;
mod scheduler;
mod server;

use clap::{Parser, Subcommand};

/// Kubernetes in one binary.
#[derive(Parser, Debug)]
#[command(name = "rudder", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run a cluster: the API server over the embedded store.
    Server(server::ServerArgs),
    /// Run node agents joined to a server (for now simulated nodes: `--simulate N`).
    Agent(agent::AgentArgs),
}

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("RUDDER_LOG")
                .unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    match cli.command {
        Command::Server(args) => runtime.block_on(server::run(args)),
        Command::Agent(args) => runtime.block_on(agent::run(args)),
    }
}
