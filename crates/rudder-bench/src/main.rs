//! `rudder-bench`: the figures we publish, measured on this machine in one run.
//!
//! `cargo run --release -p rudder-bench` builds `rudder` with the same profile, then measures
//! the store (embedded and a real etcd), starts a real `rudder server` in a temporary directory
//! on a free loopback port, measures start time, memory, and API latency and throughput over
//! HTTPS with the admin client certificate, and prints a Markdown report. Every process and
//! directory it makes is removed when it ends, also on Ctrl-C or an error.
//!
//! `--engines` instead compares store engines on one workload: the embedded store against redb
//! and SQLite with kine's schema (`engines`).

mod api;
mod client;
mod control_plane;
mod engines;
mod memory;
mod report;
mod server;
mod store;

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use http::Method;

use report::{mib, rate, Headline, Report, Run, Stats};
use server::Server;

/// Concurrency levels of the store and API runs.
const LEVELS: [usize; 3] = [1, 16, 64];
/// How much each figure measures.
#[derive(Debug, Clone, Copy)]
struct Plan {
    /// ConfigMaps created per client level; they add up to the 10,000 the memory figure needs,
    /// and the 64-client namespace holds the 6,000 the list figure reads.
    creates: [usize; 3],
    /// Gets per client level.
    gets: [usize; 3],
    /// Creates per watch fan-out level.
    watch_creates: [usize; 3],
    /// Full lists measured, without and with gzip.
    lists: (usize, usize),
}

impl Plan {
    const FULL: Plan = Plan {
        creates: [1_000, 3_000, 6_000],
        gets: [3_000, 20_000, 20_000],
        watch_creates: [1_000, 300, 200],
        lists: (20, 10),
    };

    /// A tenth of everything: a smoke test of the benchmark itself, not figures to publish.
    fn quick() -> Plan {
        let tenth = |a: [usize; 3]| a.map(|n| n / 10);
        Plan {
            creates: tenth(Self::FULL.creates),
            gets: tenth(Self::FULL.gets),
            watch_creates: tenth(Self::FULL.watch_creates),
            lists: (3, 2),
        }
    }

    /// Objects in the listed namespace (the 64-client creates).
    fn listed(&self) -> usize {
        self.creates[2]
    }
}

/// Measures Rudder on this machine and prints a Markdown report.
#[derive(Parser, Debug)]
#[command(name = "rudder-bench", about)]
struct Args {
    /// The `rudder` binary (default: the one next to this binary, built first under `cargo run`).
    #[arg(long)]
    rudder: Option<PathBuf>,
    /// Skip the store figures (embedded and etcd).
    #[arg(long)]
    skip_store: bool,
    /// Run only the engine comparison behind the embedded store's design: the same workload on
    /// the embedded store, redb and SQLite (kine's schema); no etcd, no server.
    #[arg(long)]
    engines: bool,
    /// Run only the control plane's end-to-end figures: a 1,000-replica Deployment to Running,
    /// and 10,000 pods scheduled onto 5,000 simulated nodes.
    #[arg(long)]
    control_plane: bool,
    /// Measure a tenth of everything (a smoke test of the benchmark, not figures to publish).
    #[arg(long)]
    quick: bool,
    /// Also write the report to this file.
    #[arg(long)]
    output: Option<PathBuf>,
    /// Measure only these API figures, comma-separated (the creates always run: they make the
    /// objects the others read, and the memory figure).
    #[arg(long, value_delimiter = ',', value_enum)]
    only: Option<Vec<Figure>>,
}

/// API figures that `--only` can select.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Figure {
    /// Gets at 1, 16 and 64 clients.
    Get,
    /// Full lists, without and with gzip.
    List,
    /// Watch fan-out.
    Watch,
}

impl Args {
    fn wants(&self, figure: Figure) -> bool {
        self.only.as_ref().is_none_or(|only| only.contains(&figure))
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let report = tokio::select! {
        report = run(&args) => report?,
        _ = tokio::signal::ctrl_c() => anyhow::bail!("interrupted; everything started was stopped"),
    };
    let text = report.markdown();
    println!("{text}");
    if let Some(path) = &args.output {
        std::fs::write(path, &text).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

async fn run(args: &Args) -> anyhow::Result<Report> {
    let mut report = Report::default();
    if args.engines {
        eprintln!("engines: embedded store, redb, SQLite");
        engines::run(&LEVELS, args.quick, &mut report).await?;
        return Ok(report);
    }
    let binary = &server::locate_binary(args.rudder.clone())?;
    if args.control_plane {
        let sizes = if args.quick {
            control_plane::Sizes::quick()
        } else {
            control_plane::Sizes::FULL
        };
        report.control_plane = control_plane::run(binary, sizes).await?;
        return Ok(report);
    }
    if !args.skip_store {
        eprintln!("store: 1 KiB creates, embedded then etcd");
        report.store = store::run(&LEVELS).await?;
    }
    eprintln!("api: starting {}", binary.display());
    let plan = if args.quick {
        Plan::quick()
    } else {
        Plan::FULL
    };
    let figures = api_figures(args, binary, plan, &mut report).await?;
    report.headlines = headlines(&report, &figures);
    Ok(report)
}

/// The figures the headline table needs beyond the detail runs.
struct ProcessFigures {
    first_start: Duration,
    restart: Duration,
    idle: u64,
    ten_thousand: u64,
}

async fn api_figures(
    args: &Args,
    binary: &std::path::Path,
    plan: Plan,
    report: &mut Report,
) -> anyhow::Result<ProcessFigures> {
    let first = Server::start(binary).await?;
    let first_start = first.ready_after;
    let first_idle = first.rss()?;
    let server = first.restart(binary).await?;
    let restart = server.ready_after;
    let idle = server.rss()?;
    let endpoint = server.endpoint().clone();
    let documents = memory::discovery_and_openapi(&endpoint).await?;
    let after_openapi = server.rss()?;
    let p = &mut report.process;
    p.push((
        "start → /readyz, first start (makes CA and certificates)".into(),
        ms(first_start),
    ));
    p.push(("start → /readyz, restart".into(), ms(restart)));
    p.push(("RSS idle after first start".into(), mib(first_idle)));
    p.push(("RSS idle after restart".into(), mib(idle)));
    p.push((
        format!("RSS after discovery + {documents} OpenAPI v3 documents"),
        mib(after_openapi),
    ));

    for (i, &clients) in LEVELS.iter().enumerate() {
        let ns = format!("bench-c{clients}");
        api::create_namespace(&endpoint, &ns).await?;
        let cpu = server.cpu_time()?;
        let stats = api::creates(&endpoint, &ns, clients, plan.creates[i]).await?;
        eprintln!("  create, {clients} clients: {:.0}/s", stats.rate());
        push(
            &mut report.api,
            "create",
            clients,
            stats,
            server.cpu_time()? - cpu,
        );
    }
    let ten_thousand = server.rss()?;
    let created: usize = plan.creates.iter().sum();
    report
        .process
        .push((format!("RSS with {created} ConfigMaps"), mib(ten_thousand)));

    let listed = format!("bench-c{}", LEVELS[2]);
    let count = plan.listed();
    if args.wants(Figure::Get) {
        for (i, &clients) in LEVELS.iter().enumerate() {
            let cpu = server.cpu_time()?;
            let stats = api::gets(&endpoint, &listed, count, clients, plan.gets[i]).await?;
            eprintln!("  get, {clients} clients: {:.0}/s", stats.rate());
            push(
                &mut report.api,
                "get",
                clients,
                stats,
                server.cpu_time()? - cpu,
            );
        }
    }
    if args.wants(Figure::List) {
        for (gzip, times) in [(false, plan.lists.0), (true, plan.lists.1)] {
            let cpu = server.cpu_time()?;
            let stats = api::lists(&endpoint, &listed, count, times, gzip).await?;
            eprintln!("  list of {count} (gzip: {gzip}): {:.1}/s", stats.rate());
            let what = if gzip { "gzip" } else { "no limit" };
            let what = format!("list of {count} ({what})");
            push(&mut report.api, &what, 1, stats, server.cpu_time()? - cpu);
        }
    }

    if args.wants(Figure::Watch) {
        for (i, &watchers) in LEVELS.iter().enumerate() {
            let ns = format!("bench-w{watchers}");
            api::create_namespace(&endpoint, &ns).await?;
            let cpu = server.cpu_time()?;
            let stats = api::watch_fan_out(&endpoint, &ns, watchers, plan.watch_creates[i]).await?;
            eprintln!("  watch, {watchers} watchers: p99 {:.2} ms", stats.p99());
            let what = format!("{} creates", plan.watch_creates[i]);
            push(
                &mut report.watch,
                &what,
                watchers,
                stats,
                server.cpu_time()? - cpu,
            );
        }
    }
    let metrics = endpoint
        .connect()
        .await?
        .call(Method::GET, "/metrics", None)
        .await?;
    anyhow::ensure!(
        String::from_utf8_lossy(&metrics).contains("apiserver_request_total{verb=\"POST\""),
        "/metrics does not count the creates"
    );
    report
        .process
        .push(("RSS at the end of the run".into(), mib(server.rss()?)));
    server.stop();
    Ok(ProcessFigures {
        first_start,
        restart,
        idle,
        ten_thousand,
    })
}

fn push(runs: &mut Vec<Run>, what: &str, concurrency: usize, stats: Stats, cpu: Duration) {
    runs.push(Run {
        what: what.to_owned(),
        concurrency,
        stats,
        server_cpu: Some(cpu),
    });
}

fn ms(d: Duration) -> String {
    format!("{:.0} ms", d.as_secs_f64() * 1e3)
}

fn find<'a>(runs: &'a [Run], what: &str, concurrency: usize) -> Option<&'a Stats> {
    runs.iter()
        .find(|r| r.what.starts_with(what) && r.concurrency == concurrency)
        .map(|r| &r.stats)
}

fn headlines(report: &Report, p: &ProcessFigures) -> Vec<Headline> {
    const MIB: u64 = 1024 * 1024;
    let mut out = vec![
        Headline {
            figure: "start → /readyz",
            measured: format!("{} (first start {})", ms(p.restart), ms(p.first_start)),
            goal: "< 0.1 s",
            upstream: "2.3–3.0 s",
            rusternetes: "0.23 s",
            met: p.restart.max(p.first_start) < Duration::from_millis(100),
        },
        Headline {
            figure: "RSS idle (API server + store; no node agent yet)",
            measured: mib(p.idle),
            goal: "< 25 MiB with the node agent",
            upstream: "440 MiB",
            rusternetes: "33 MB (no node)",
            met: p.idle < 25 * MIB,
        },
        Headline {
            figure: "RSS with 10k ConfigMaps",
            measured: mib(p.ten_thousand),
            goal: "< 80 MiB",
            upstream: "490 MiB",
            rusternetes: "320 MB",
            met: p.ten_thousand < 80 * MIB,
        },
    ];
    let creates: Vec<Option<&Stats>> = LEVELS
        .iter()
        .map(|&c| find(&report.api, "create", c))
        .collect();
    if let [Some(c1), Some(c16), Some(c64)] = creates[..] {
        out.push(Headline {
            figure: "creates/s at 1 / 16 / 64 clients",
            measured: format!(
                "{} / {} / {} (p99 at 64: {:.1} ms)",
                rate(c1.rate()),
                rate(c16.rate()),
                rate(c64.rate()),
                c64.p99()
            ),
            goal: "≥ 1,000 / 3,000 / 4,000, p99 ≤ 10 ms",
            upstream: "330 / 696 / 839 (p99 at 64: 174 ms)",
            rusternetes: "359 / 503 / 384",
            met: c1.rate() >= 1000.0
                && c16.rate() >= 3000.0
                && c64.rate() >= 4000.0
                && c64.p99() <= 10.0,
        });
    }
    if let Some(g16) = find(&report.api, "get", 16) {
        out.push(Headline {
            figure: "gets/s at 16 clients",
            measured: format!("{} (p99 {:.1} ms)", rate(g16.rate()), g16.p99()),
            goal: "≥ 15,000",
            upstream: "1,887",
            rusternetes: "1,122",
            met: g16.rate() >= 15_000.0,
        });
    }
    if let Some(list) = find(&report.api, "list of", 1) {
        out.push(Headline {
            figure: "list of 6,000 objects",
            measured: format!("{}/s (p50 {:.0} ms)", rate(list.rate()), list.p50()),
            goal: "≥ 60/s",
            upstream: "6–12/s",
            rusternetes: "6–12/s (ignores `limit`)",
            met: list.rate() >= 60.0,
        });
    }
    if let Some(watch) = find(&report.watch, "", 1) {
        out.push(Headline {
            figure: "create → watch event",
            measured: format!("p50 {:.2} ms, p99 {:.2} ms", watch.p50(), watch.p99()),
            goal: "p99 < 5 ms",
            upstream: "ms",
            rusternetes: "p50 675 ms (polls every 1 s)",
            met: watch.p99() < 5.0,
        });
    }
    let store_beats_etcd = LEVELS.iter().all(|&w| {
        match (
            find(&report.store, "embedded", w),
            find(&report.store, "etcd", w),
        ) {
            (Some(e), Some(d)) => e.rate() > d.rate(),
            _ => false,
        }
    });
    if !report.store.is_empty() {
        let figure = |what| {
            LEVELS
                .iter()
                .filter_map(|&w| find(&report.store, what, w))
                .map(|s| rate(s.rate()))
                .collect::<Vec<_>>()
                .join(" / ")
        };
        out.push(Headline {
            figure: "store writes/s at 1 / 16 / 64 writers",
            measured: format!("embedded {}; etcd {}", figure("embedded"), figure("etcd")),
            goal: "embedded beats etcd",
            upstream: "(etcd is upstream's store)",
            rusternetes: "—",
            met: store_beats_etcd,
        });
    }
    out
}
