//! Resource amounts as the scheduler counts them: integers parsed once per object, so a
//! decision never re-reads JSON. cpu in millicores, everything else in whole units (bytes,
//! pods, devices), rounded up as upstream's `MilliValue()` / `Value()` do.

use crate::model::at;
use serde_json::{Map, Value};
use wasmkube_api::quantity::Quantity;

/// What a pod without a cpu request counts as when spreading load (upstream's
/// `DefaultMilliCPURequest`); used by scores only, never by the fit filter.
pub const DEFAULT_MILLI_CPU_REQUEST: i64 = 100;
/// Likewise for memory (`DefaultMemoryRequest`, 200 MiB).
pub const DEFAULT_MEMORY_REQUEST: i64 = 200 * 1024 * 1024;

/// A resource list: the four native resources plus extended ones (hugepages, devices).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Resources {
    pub milli_cpu: i64,
    pub memory: i64,
    pub ephemeral_storage: i64,
    pub pods: i64,
    /// Extended resources sorted by name; few per object, so a vector beats a map.
    pub scalar: Vec<(String, i64)>,
}

impl Resources {
    /// A `ResourceList` (`{"cpu": "500m", "memory": "1Gi", ...}`); unparseable values count 0.
    pub fn from_list(list: Option<&Value>) -> Resources {
        let mut out = Resources::default();
        for (name, q) in list.and_then(Value::as_object).into_iter().flatten() {
            match name.as_str() {
                "cpu" => out.milli_cpu = milli_value(q).unwrap_or(0),
                "memory" => out.memory = value(q).unwrap_or(0),
                "ephemeral-storage" => out.ephemeral_storage = value(q).unwrap_or(0),
                "pods" => out.pods = value(q).unwrap_or(0),
                other => out.set_scalar(other, value(q).unwrap_or(0)),
            }
        }
        out
    }

    pub fn scalar(&self, name: &str) -> i64 {
        self.scalar.iter().find(|(n, _)| n == name).map_or(0, |(_, v)| *v)
    }

    fn set_scalar(&mut self, name: &str, v: i64) {
        match self.scalar.binary_search_by(|(n, _)| n.as_str().cmp(name)) {
            Ok(i) => self.scalar[i].1 = v,
            Err(i) => self.scalar.insert(i, (name.to_string(), v)),
        }
    }

    /// Combine with `other` resource by resource.
    fn zip_with(&mut self, other: &Resources, f: impl Fn(i64, i64) -> i64) {
        self.milli_cpu = f(self.milli_cpu, other.milli_cpu);
        self.memory = f(self.memory, other.memory);
        self.ephemeral_storage = f(self.ephemeral_storage, other.ephemeral_storage);
        self.pods = f(self.pods, other.pods);
        for (name, v) in &other.scalar {
            let mine = self.scalar(name);
            self.set_scalar(name, f(mine, *v));
        }
    }

    pub fn add(&mut self, other: &Resources) {
        self.zip_with(other, |a, b| a.saturating_add(b));
    }

    pub fn sub(&mut self, other: &Resources) {
        self.zip_with(other, |a, b| a.saturating_sub(b));
        self.scalar.retain(|(_, v)| *v != 0);
    }

    pub fn max_with(&mut self, other: &Resources) {
        self.zip_with(other, i64::max);
    }
}

/// A quantity in thousandths of a unit, rounded up.
pub fn milli_value(q: &Value) -> Option<i64> {
    nanos(q).map(|n| ceil_div(n, 1_000_000))
}

/// A quantity in whole units, rounded up.
pub fn value(q: &Value) -> Option<i64> {
    nanos(q).map(|n| ceil_div(n, 1_000_000_000))
}

fn ceil_div(n: i128, d: i128) -> i64 {
    let q = n.div_euclid(d) + i128::from(n.rem_euclid(d) != 0);
    i64::try_from(q).unwrap_or(if q < 0 { i64::MIN } else { i64::MAX })
}

/// The exact value in nano-units. `Quantity` validates and canonicalises; its canonical text
/// is always an integer mantissa with one suffix or exponent, which is simple to read back.
/// What the API stores is canonical already, so such text is read directly.
fn nanos(q: &Value) -> Option<i128> {
    if let Some(n) = q.as_str().and_then(canonical_nanos) {
        return Some(n);
    }
    canonical_nanos(&Quantity::from_json(q)?.to_string())
}

fn canonical_nanos(canonical: &str) -> Option<i128> {
    let split = canonical.find(|c: char| !(c.is_ascii_digit() || c == '-')).unwrap_or(canonical.len());
    let (mantissa, suffix) = canonical.split_at(split);
    if mantissa.is_empty() || mantissa.len() > 20 {
        return None;
    }
    let mantissa: i128 = mantissa.parse().ok()?;
    let scale: i128 = match suffix {
        "n" => 1,
        "u" => 1_000,
        "m" => 1_000_000,
        "" => 1_000_000_000,
        "Ki" | "Mi" | "Gi" | "Ti" | "Pi" | "Ei" => {
            let power = ["Ki", "Mi", "Gi", "Ti", "Pi", "Ei"].iter().position(|s| *s == suffix)? + 1;
            1_000_000_000 * 1024i128.pow(u32::try_from(power).ok()?)
        }
        _ => {
            let exponent: i32 = match suffix {
                "k" => 3,
                "M" => 6,
                "G" => 9,
                "T" => 12,
                "P" => 15,
                "E" => 18,
                e => e.strip_prefix('e')?.parse().ok()?,
            };
            // The canonical form never goes below a nano, so the shift is never negative.
            10i128.checked_pow(u32::try_from(exponent.checked_add(9)?).ok()?)?
        }
    };
    mantissa.checked_mul(scale)
}

/// What a pod asks of its node, as upstream's `PodRequests` computes it: the larger of the
/// long-running containers (plus sidecars) and the peak during init, plus the pod overhead.
/// A pod-level `spec.resources.requests` replaces the container sum for the resources it names.
pub fn pod_requests(spec: &Value) -> Resources {
    let containers = spec.get("containers").and_then(Value::as_array).map(Vec::as_slice).unwrap_or(&[]);
    let mut running = Resources::default();
    for c in containers {
        running.add(&container_requests(c));
    }
    let mut sidecars = Resources::default();
    let mut init_peak = Resources::default();
    for c in spec.get("initContainers").and_then(Value::as_array).into_iter().flatten() {
        let req = container_requests(c);
        if c.get("restartPolicy").and_then(Value::as_str) == Some("Always") {
            // A sidecar keeps running: it adds to everything that starts after it.
            sidecars.add(&req);
            init_peak.max_with(&sidecars);
        } else {
            let mut during = sidecars.clone();
            during.add(&req);
            init_peak.max_with(&during);
        }
    }
    running.add(&sidecars);
    running.max_with(&init_peak);
    if let Some(pod_level) = at(spec, &["resources", "requests"]) {
        let p = Resources::from_list(Some(pod_level));
        let names = pod_level.as_object().map(Map::keys).into_iter().flatten();
        for name in names {
            match name.as_str() {
                "cpu" => running.milli_cpu = p.milli_cpu,
                "memory" => running.memory = p.memory,
                _ => {}
            }
        }
    }
    running.add(&Resources::from_list(spec.get("overhead")));
    running.pods = 1;
    running
}

/// A container's requests; a resource with only a limit requests its limit (the API server
/// defaults it so, but objects written before that default still deserve it).
fn container_requests(c: &Value) -> Resources {
    let requests = at(c, &["resources", "requests"]);
    let limits = at(c, &["resources", "limits"]).and_then(Value::as_object);
    let Some(limits) = limits.filter(|l| !l.is_empty()) else {
        return Resources::from_list(requests);
    };
    let mut merged = requests.and_then(Value::as_object).cloned().unwrap_or_default();
    for (k, v) in limits {
        merged.entry(k.clone()).or_insert_with(|| v.clone());
    }
    Resources::from_list(Some(&Value::Object(merged)))
}

/// The cpu and memory a pod counts as for scoring: requests, or upstream's defaults for a
/// container that has none.
pub fn non_zero_requests(spec: &Value) -> (i64, i64) {
    let (mut cpu, mut mem) = (0, 0);
    for c in spec.get("containers").and_then(Value::as_array).into_iter().flatten() {
        let r = container_requests(c);
        cpu += if r.milli_cpu == 0 { DEFAULT_MILLI_CPU_REQUEST } else { r.milli_cpu };
        mem += if r.memory == 0 { DEFAULT_MEMORY_REQUEST } else { r.memory };
    }
    let overhead = Resources::from_list(spec.get("overhead"));
    (cpu + overhead.milli_cpu, mem + overhead.memory)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn quantities_round_up_like_upstream() {
        assert_eq!(milli_value(&json!("250m")), Some(250));
        assert_eq!(milli_value(&json!("2")), Some(2000));
        assert_eq!(milli_value(&json!(1)), Some(1000));
        assert_eq!(milli_value(&json!("1.5")), Some(1500));
        assert_eq!(milli_value(&json!("100u")), Some(1));
        assert_eq!(value(&json!("1Gi")), Some(1 << 30));
        assert_eq!(value(&json!("128Mi")), Some(128 << 20));
        assert_eq!(value(&json!("1k")), Some(1000));
        assert_eq!(value(&json!("1e3")), Some(1000));
        assert_eq!(value(&json!("500m")), Some(1));
        assert_eq!(value(&json!("nonsense")), None);
    }

    #[test]
    fn pod_requests_take_the_init_peak_sidecars_and_overhead() {
        let spec = json!({
            "containers": [
                {"resources": {"requests": {"cpu": "100m", "memory": "64Mi"}}},
                {"resources": {"limits": {"cpu": "200m", "example.com/gpu": "1"}}},
            ],
            "initContainers": [
                {"resources": {"requests": {"cpu": "1", "memory": "16Mi"}}},
                {"restartPolicy": "Always", "resources": {"requests": {"cpu": "50m", "memory": "32Mi"}}},
                {"resources": {"requests": {"cpu": "100m", "memory": "256Mi"}}},
            ],
            "overhead": {"cpu": "10m"},
        });
        let r = pod_requests(&spec);
        // cpu: max(100 + 200 + 50 sidecar, init peak 1000) + 10 overhead.
        assert_eq!(r.milli_cpu, 1010);
        // memory: max(64Mi + 32Mi, last init 256Mi + sidecar 32Mi).
        assert_eq!(r.memory, 288 << 20);
        assert_eq!(r.scalar("example.com/gpu"), 1);
        assert_eq!(r.pods, 1);
        let (cpu, mem) =
            non_zero_requests(&json!({"containers": [{}, {"resources": {"requests": {"cpu": "1"}}}]}));
        assert_eq!((cpu, mem), (1100, 2 * DEFAULT_MEMORY_REQUEST));
    }

    #[test]
    fn pod_level_requests_replace_the_container_sum() {
        let spec = json!({"resources": {"requests": {"cpu": "2"}},
            "containers": [{"resources": {"requests": {"cpu": "100m", "memory": "1Gi"}}}]});
        let r = pod_requests(&spec);
        assert_eq!((r.milli_cpu, r.memory), (2000, 1 << 30));
    }
}
