//! Latency statistics and the Markdown report: the headline figures against the design's
//! "figures to beat", then every measurement in detail.

use std::fmt::Write as _;
use std::time::Duration;

/// The latencies of one measured run and how long it took overall.
#[derive(Debug, Clone)]
pub struct Stats {
    /// Wall time of the run.
    pub elapsed: Duration,
    /// Per-operation latencies, sorted.
    latencies: Vec<Duration>,
}

impl Stats {
    /// Statistics of `latencies` over a run of `elapsed`.
    pub fn new(elapsed: Duration, mut latencies: Vec<Duration>) -> Self {
        latencies.sort_unstable();
        Self { elapsed, latencies }
    }

    /// How many operations were measured.
    pub fn count(&self) -> usize {
        self.latencies.len()
    }

    /// Operations per second over the run.
    pub fn rate(&self) -> f64 {
        self.count() as f64 / self.elapsed.as_secs_f64().max(f64::EPSILON)
    }

    /// The `p`th percentile latency (nearest rank), in milliseconds.
    pub fn percentile_ms(&self, p: f64) -> f64 {
        if self.latencies.is_empty() {
            return f64::NAN;
        }
        let rank = ((p / 100.0) * self.latencies.len() as f64).ceil() as usize;
        let index = rank.clamp(1, self.latencies.len()) - 1;
        self.latencies[index].as_secs_f64() * 1e3
    }

    /// Median latency in milliseconds.
    pub fn p50(&self) -> f64 {
        self.percentile_ms(50.0)
    }

    /// 99th percentile latency in milliseconds.
    pub fn p99(&self) -> f64 {
        self.percentile_ms(99.0)
    }
}

/// One row of a detail table: a labelled run.
#[derive(Debug, Clone)]
pub struct Run {
    /// What was measured (e.g. `create`).
    pub what: String,
    /// Concurrent clients, writers or watchers.
    pub concurrency: usize,
    /// The figures.
    pub stats: Stats,
    /// CPU time the server process used during the run (user + system, all threads).
    pub server_cpu: Option<Duration>,
}

/// One engine's history workload: sizes on disk and compaction.
#[derive(Debug, Clone)]
pub struct Disk {
    /// The engine.
    pub engine: String,
    /// Writes of the workload (creates and updates).
    pub writes: usize,
    /// How long they took.
    pub loaded: Duration,
    /// Bytes the engine wrote to storage for them.
    pub written: u64,
    /// Bytes on disk before compaction.
    pub before: u64,
    /// How long compaction took (until the engine took the next write).
    pub compaction: Duration,
    /// Bytes on disk after compaction.
    pub compacted: u64,
    /// Bytes on disk after the engine's separate space-reclaiming step and how long it took,
    /// where it has one.
    pub reclaimed: Option<(u64, Duration)>,
}

/// One headline figure, compared with the design's references.
#[derive(Debug, Clone)]
pub struct Headline {
    /// The figure's name, as in the design's table.
    pub figure: &'static str,
    /// What we measured, formatted.
    pub measured: String,
    /// The design's goal for us.
    pub goal: &'static str,
    /// Upstream v1.28 + etcd 3.4 on the same kind of machine.
    pub upstream: &'static str,
    /// rusternetes.
    pub rusternetes: &'static str,
    /// Whether we met the goal.
    pub met: bool,
}

/// Everything measured in one benchmark run.
#[derive(Debug, Default)]
pub struct Report {
    /// The headline figures.
    pub headlines: Vec<Headline>,
    /// Store runs.
    pub store: Vec<Run>,
    /// API request runs.
    pub api: Vec<Run>,
    /// Watch fan-out runs (latency from create sent to event received, per delivery).
    pub watch: Vec<Run>,
    /// Memory and start figures, as (what, value).
    pub process: Vec<(String, String)>,
    /// The control plane's end-to-end figures, as (what, value).
    pub control_plane: Vec<(String, String)>,
    /// The engine comparison's creates, reads and ranges.
    pub engines: Vec<Run>,
    /// The engine comparison's sizes on disk and compactions.
    pub engine_disk: Vec<Disk>,
}

/// Bytes as MiB with one decimal.
pub fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

/// A rate with thousands separators and no decimals (one decimal under 100).
pub fn rate(value: f64) -> String {
    if value < 100.0 {
        return format!("{value:.1}");
    }
    let digits = format!("{:.0}", value);
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn runs_table(out: &mut String, title: &str, unit: &str, runs: &[Run]) {
    if runs.is_empty() {
        return;
    }
    let _ = writeln!(out, "\n### {title}\n");
    let _ = writeln!(
        out,
        "| what | {unit} | operations | ops/s | p50 ms | p99 ms | server CPU µs/op |\n|---|---:|---:|---:|---:|---:|---:|"
    );
    for run in runs {
        let s = &run.stats;
        let cpu = run.server_cpu.map_or_else(
            || "—".to_owned(),
            |cpu| format!("{:.0}", cpu.as_secs_f64() * 1e6 / s.count().max(1) as f64),
        );
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {:.2} | {:.2} | {cpu} |",
            run.what,
            run.concurrency,
            s.count(),
            rate(s.rate()),
            s.p50(),
            s.p99()
        );
    }
}

fn disk_table(out: &mut String, rows: &[Disk]) {
    if rows.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "\n### Engines: on disk, before and after compaction\n\n\
         | engine | writes (s, writes/s) | written to disk | on disk before | compaction | after | reclaim step | after it |\n\
         |---|---:|---:|---:|---:|---:|---:|---:|"
    );
    for d in rows {
        let (after, reclaim) = match d.reclaimed {
            Some((bytes, took)) => (mib(bytes), format!("{:.0} ms", took.as_secs_f64() * 1e3)),
            None => ("—".to_owned(), "none".to_owned()),
        };
        let secs = d.loaded.as_secs_f64();
        let _ = writeln!(
            out,
            "| {} | {} ({secs:.1} s, {}) | {} | {} | {:.0} ms | {} | {reclaim} | {after} |",
            d.engine,
            d.writes,
            rate(d.writes as f64 / secs.max(f64::EPSILON)),
            mib(d.written),
            mib(d.before),
            d.compaction.as_secs_f64() * 1e3,
            mib(d.compacted),
        );
    }
}

fn pairs_table(out: &mut String, title: &str, rows: &[(String, String)]) {
    if rows.is_empty() {
        return;
    }
    let _ = writeln!(out, "\n### {title}\n\n| what | value |\n|---|---:|");
    for (what, value) in rows {
        let _ = writeln!(out, "| {what} | {value} |");
    }
}

impl Report {
    /// The report as Markdown.
    pub fn markdown(&self) -> String {
        let mut out = String::new();
        self.headline_table(&mut out);
        runs_table(&mut out, "Store: 1 KiB creates", "writers", &self.store);
        runs_table(
            &mut out,
            "Engines: 1 KiB creates, point reads, ranges",
            "writers/readers",
            &self.engines,
        );
        disk_table(&mut out, &self.engine_disk);
        runs_table(
            &mut out,
            "API: requests over HTTPS (one kept-alive connection per client)",
            "clients",
            &self.api,
        );
        runs_table(
            &mut out,
            "Watch: create sent → event received, per delivery",
            "watchers",
            &self.watch,
        );
        pairs_table(&mut out, "Server process", &self.process);
        pairs_table(
            &mut out,
            "Control plane, simulated nodes",
            &self.control_plane,
        );
        out
    }

    fn headline_table(&self, out: &mut String) {
        if self.headlines.is_empty() {
            return;
        }
        let _ = writeln!(out, "### Headline figures\n");
        let _ = writeln!(
            out,
            "| figure | Rudder (measured) | goal | upstream v1.28 + etcd 3.4 | rusternetes | goal met |\n|---|---|---|---|---|---|"
        );
        for h in &self.headlines {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} |",
                h.figure,
                h.measured,
                h.goal,
                h.upstream,
                h.rusternetes,
                if h.met { "yes" } else { "**no**" }
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_use_the_nearest_rank() {
        let stats = Stats::new(
            Duration::from_secs(1),
            (1..=100).rev().map(Duration::from_millis).collect(),
        );
        assert_eq!(stats.p50(), 50.0);
        assert_eq!(stats.p99(), 99.0);
        assert_eq!(stats.percentile_ms(100.0), 100.0);
        assert_eq!(stats.rate(), 100.0);
    }

    #[test]
    fn rates_get_thousands_separators() {
        assert_eq!(rate(15_234.4), "15,234");
        assert_eq!(rate(999.6), "1,000");
        assert_eq!(rate(61.25), "61.2");
    }
}
