//! What the runtime reports about a pod: container states shaped like Kubernetes' so the node
//! agent can copy them into `status.containerStatuses` without interpretation.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Exit code reported for a container the runtime killed (as a shell reports SIGKILL).
pub const KILLED_EXIT_CODE: i32 = 137;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ContainerState {
    Waiting {
        reason: String,
    },
    Running {
        started_at: DateTime<Utc>,
    },
    Terminated {
        exit_code: i32,
        /// `Completed`, `Error`, `OOMKilled`, as Kubernetes spells them.
        reason: String,
        message: Option<String>,
        started_at: DateTime<Utc>,
        finished_at: DateTime<Utc>,
    },
}

impl ContainerState {
    pub fn is_terminated(&self) -> bool {
        matches!(self, ContainerState::Terminated { .. })
    }

    /// The exit code when terminated.
    pub fn exit_code(&self) -> Option<i32> {
        match self {
            ContainerState::Terminated { exit_code, .. } => Some(*exit_code),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerStatus {
    pub name: String,
    pub init: bool,
    pub state: ContainerState,
    /// CPU time spent running guest code (approximate: measured between epoch ticks).
    pub cpu_nanos: u64,
    /// How many times the container was started again after it ended.
    #[serde(default)]
    pub restart_count: u32,
    /// The state the container was in before its latest restart.
    #[serde(default)]
    pub last_state: Option<ContainerState>,
    /// A native sidecar (restartable init container): it never blocks or fails the pod's phase.
    #[serde(default)]
    pub sidecar: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum PodPhase {
    Pending,
    Running,
    Succeeded,
    Failed,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PodStatus {
    pub phase: PodPhase,
    pub init_containers: Vec<ContainerStatus>,
    pub containers: Vec<ContainerStatus>,
    /// Why the pod failed before its containers could run (e.g. a volume could not be set up).
    pub message: Option<String>,
    /// Every container has ended and nothing of the pod runs any more (sidecars included).
    #[serde(default)]
    pub ended: bool,
}

impl PodStatus {
    pub(crate) fn pending(init: &[(String, bool)], main: &[String]) -> Self {
        let waiting = |name: &String, init: bool, sidecar: bool| ContainerStatus {
            name: name.clone(),
            init,
            state: ContainerState::Waiting { reason: "PodInitializing".into() },
            cpu_nanos: 0,
            restart_count: 0,
            last_state: None,
            sidecar,
        };
        PodStatus {
            phase: PodPhase::Pending,
            init_containers: init.iter().map(|(n, sidecar)| waiting(n, true, *sidecar)).collect(),
            containers: main.iter().map(|n| waiting(n, false, false)).collect(),
            message: None,
            ended: false,
        }
    }

    /// Every container (init first) for callers that do not care which kind it is.
    pub fn all(&self) -> impl Iterator<Item = &ContainerStatus> {
        self.init_containers.iter().chain(&self.containers)
    }

    pub fn container(&self, name: &str) -> Option<&ContainerStatus> {
        self.all().find(|c| c.name == name)
    }

    pub fn is_finished(&self) -> bool {
        matches!(self.phase, PodPhase::Succeeded | PodPhase::Failed)
    }

    pub(crate) fn slot(&mut self, init: bool, index: usize) -> &mut ContainerStatus {
        if init { &mut self.init_containers[index] } else { &mut self.containers[index] }
    }

    /// Recompute the phase from the containers, as the kubelet does. A container whose state
    /// is `Terminated` has ended for good (one that will restart is shown `Waiting` with its
    /// end in `last_state`), so the pod is Running while anything runs or will run again.
    pub(crate) fn update_phase(&mut self) {
        let main_done = self.containers.iter().all(|c| c.state.is_terminated());
        let failed = |c: &ContainerStatus| c.state.exit_code().is_some_and(|code| code != 0);
        let init_failed = self.init_containers.iter().filter(|c| !c.sidecar).any(failed);
        let started =
            |c: &ContainerStatus| !matches!(c.state, ContainerState::Waiting { .. }) || c.restart_count > 0;
        self.phase = if self.message.is_some() || init_failed {
            PodPhase::Failed
        } else if main_done && !self.containers.is_empty() {
            if self.containers.iter().any(failed) { PodPhase::Failed } else { PodPhase::Succeeded }
        } else if self.containers.iter().any(started) {
            PodPhase::Running
        } else {
            PodPhase::Pending
        };
    }
}
