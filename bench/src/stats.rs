//! Latency percentiles and the report a scenario prints: readable lines, then one JSON line
//! (`RESULT {...}`) that `bench/report.py` gathers into `bench/RESULTS.md`.

use std::time::Duration;

use serde_json::{Map, Value, json};

use crate::process::{MachineCpu, Target};

/// Send-to-receipt times in microseconds.
#[derive(Debug, Default)]
pub struct Latencies(Vec<u64>);

impl Latencies {
    pub fn record(&mut self, micros: u64) {
        self.0.push(micros);
    }

    pub fn merge(&mut self, other: Latencies) {
        self.0.extend(other.0);
    }

    /// How many times were recorded.
    pub fn count(&self) -> u64 {
        self.0.len() as u64
    }

    /// The value at `fraction` (0.5 is the median) of the sorted samples, in ms.
    fn percentile_ms(sorted: &[u64], fraction: f64) -> f64 {
        if sorted.is_empty() {
            return 0.0;
        }
        let index = ((sorted.len() as f64 - 1.0) * fraction).round() as usize;
        sorted[index.min(sorted.len() - 1)] as f64 / 1000.0
    }
}

pub struct Report {
    fields: Map<String, Value>,
}

impl Report {
    pub fn new(scenario: &str, target: Target) -> Self {
        let mut fields = Map::new();
        fields.insert("scenario".into(), json!(scenario));
        fields.insert("target".into(), json!(target.name()));
        Self { fields }
    }

    pub fn with(mut self, key: &str, value: Value) -> Self {
        self.fields.insert(key.into(), value);
        self
    }

    pub fn with_latencies(self, latencies: &mut Latencies) -> Self {
        self.with_latencies_as("", latencies)
    }

    /// The percentiles as `{prefix}p50_ms` and so on, for a report with more than one set.
    pub fn with_latencies_as(self, prefix: &str, latencies: &mut Latencies) -> Self {
        latencies.0.sort_unstable();
        let sorted = &latencies.0;
        let at = |fraction| json!(Latencies::percentile_ms(sorted, fraction));
        self.with(&format!("{prefix}p50_ms"), at(0.50))
            .with(&format!("{prefix}p95_ms"), at(0.95))
            .with(&format!("{prefix}p99_ms"), at(0.99))
            .with(&format!("{prefix}max_ms"), at(1.0))
    }

    /// The server's CPU over the run, per delivery, and the generator's own share of a core
    /// (near 100 % means the generator, not the server, was the limit).
    pub fn with_cpu(
        self,
        server: Duration,
        generator: Duration,
        window: Duration,
        deliveries: u64,
    ) -> Self {
        let window = window.as_secs_f64().max(1e-9);
        self.with("server_cpu_s", json!(server.as_secs_f64()))
            .with(
                "server_core_pct",
                json!(server.as_secs_f64() * 100.0 / window),
            )
            .with(
                "server_us_per_delivery",
                json!(server.as_secs_f64() * 1e6 / deliveries.max(1) as f64),
            )
            .with(
                "generator_core_pct",
                json!(generator.as_secs_f64() * 100.0 / window),
            )
    }

    /// What else used the machine over `window`: its busy time (all cores) less `ours` (the
    /// servers', PostgreSQL's and the generator's), as a share of one core, and the time the
    /// hypervisor took away. Another build during a run shows here, not in the run's own CPU.
    pub fn with_others(self, machine: MachineCpu, ours: Duration, window: Duration) -> Self {
        let window = window.as_secs_f64().max(1e-9);
        let others = machine.busy.saturating_sub(ours);
        self.with(
            "others_core_pct",
            json!(others.as_secs_f64() * 100.0 / window),
        )
        .with(
            "stolen_core_pct",
            json!(machine.stolen.as_secs_f64() * 100.0 / window),
        )
    }

    /// A field set before, or null.
    pub fn field(&self, key: &str) -> Value {
        self.fields.get(key).cloned().unwrap_or(Value::Null)
    }

    pub fn print(&self) {
        for (key, value) in &self.fields {
            match value {
                Value::Number(number) if number.is_f64() => {
                    println!("{key:>24}  {:.2}", number.as_f64().unwrap_or_default());
                }
                other => println!("{key:>24}  {other}"),
            }
        }
        println!("RESULT {}", Value::Object(self.fields.clone()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_pick_the_nearest_rank() {
        let sorted: Vec<u64> = (1..=100).map(|n| n * 1000).collect();
        assert_eq!(Latencies::percentile_ms(&sorted, 0.5), 51.0);
        assert_eq!(Latencies::percentile_ms(&sorted, 0.99), 99.0);
        assert_eq!(Latencies::percentile_ms(&sorted, 1.0), 100.0);
        assert_eq!(Latencies::percentile_ms(&[], 0.5), 0.0);
    }
}
