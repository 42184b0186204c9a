//! NodeResourcesFit: the pod's requests must fit in what the node has left.

use super::Reason;
use crate::cache::NodeInfo;
use crate::resources::Resources;

/// Every resource that does not fit is a reason (upstream reports them all, e.g.
/// "Insufficient cpu, Insufficient memory").
pub fn filter(req: &Resources, node: &NodeInfo, allocatable: &Resources) -> Result<(), Vec<Reason>> {
    let used = &node.requested;
    let short = |want: i64, have: i64, used: i64| want > 0 && want > have - used;
    let mut reasons = Vec::new();
    if i64::try_from(node.pods.len()).unwrap_or(i64::MAX) + 1 > allocatable.pods {
        reasons.push(Reason::TooManyPods);
    }
    if short(req.milli_cpu, allocatable.milli_cpu, used.milli_cpu) {
        reasons.push(Reason::Insufficient("cpu".into()));
    }
    if short(req.memory, allocatable.memory, used.memory) {
        reasons.push(Reason::Insufficient("memory".into()));
    }
    if short(req.ephemeral_storage, allocatable.ephemeral_storage, used.ephemeral_storage) {
        reasons.push(Reason::Insufficient("ephemeral-storage".into()));
    }
    for (name, want) in &req.scalar {
        if short(*want, allocatable.scalar(name), used.scalar(name)) {
            reasons.push(Reason::Insufficient(name.clone()));
        }
    }
    if reasons.is_empty() { Ok(()) } else { Err(reasons) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn res(cpu: i64, mem: i64, pods: i64) -> Resources {
        Resources { milli_cpu: cpu, memory: mem, pods, ..Resources::default() }
    }

    #[test]
    fn reports_every_short_resource() {
        let node = NodeInfo { requested: res(1500, 1 << 30, 0), ..NodeInfo::default() };
        let alloc = res(2000, 2 << 30, 110);
        assert!(filter(&res(500, 1 << 30, 1), &node, &alloc).is_ok());
        let err = filter(&res(600, (1 << 30) + 1, 1), &node, &alloc).unwrap_err();
        assert_eq!(err, vec![Reason::Insufficient("cpu".into()), Reason::Insufficient("memory".into())]);
        let mut gpu = res(0, 0, 1);
        gpu.scalar = vec![("example.com/gpu".into(), 1)];
        assert_eq!(
            filter(&gpu, &node, &alloc).unwrap_err(),
            vec![Reason::Insufficient("example.com/gpu".into())]
        );
        assert_eq!(filter(&res(0, 0, 1), &node, &res(2000, 0, 0)).unwrap_err(), vec![Reason::TooManyPods]);
    }
}
