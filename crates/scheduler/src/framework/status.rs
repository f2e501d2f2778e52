//! What a plugin answers: success, or why a pod cannot go to a node.

/// The outcome class of a plugin call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Code {
    /// The pod may go on.
    Success,
    /// The pod does not fit now; preempting other pods might help.
    Unschedulable,
    /// The pod does not fit, and preemption would not help.
    UnschedulableAndUnresolvable,
    /// The plugin has nothing to do for this pod (pre-filter, pre-score).
    Skip,
    /// Something went wrong; the pod is retried with backoff.
    Error,
}

/// A plugin's answer with its reasons, as upstream's `framework.Status`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    /// The class of outcome.
    pub code: Code,
    /// Human-readable reasons (the phrases a FailedScheduling message counts).
    pub reasons: Vec<String>,
    /// The plugin that answered ("" for success).
    pub plugin: &'static str,
}

impl Status {
    /// Success.
    pub fn success() -> Self {
        Self {
            code: Code::Success,
            reasons: Vec::new(),
            plugin: "",
        }
    }

    /// Skip (the plugin does not apply to this pod).
    pub fn skip() -> Self {
        Self {
            code: Code::Skip,
            ..Self::success()
        }
    }

    /// A failure of class `code` from `plugin` for `reason`.
    pub fn new(code: Code, plugin: &'static str, reason: impl Into<String>) -> Self {
        Self {
            code,
            reasons: vec![reason.into()],
            plugin,
        }
    }

    /// Unschedulable (preemption may help).
    pub fn unschedulable(plugin: &'static str, reason: impl Into<String>) -> Self {
        Self::new(Code::Unschedulable, plugin, reason)
    }

    /// Unschedulable and unresolvable (preemption cannot help).
    pub fn unresolvable(plugin: &'static str, reason: impl Into<String>) -> Self {
        Self::new(Code::UnschedulableAndUnresolvable, plugin, reason)
    }

    /// Whether this is success.
    pub fn is_success(&self) -> bool {
        self.code == Code::Success
    }

    /// Whether this is skip.
    pub fn is_skip(&self) -> bool {
        self.code == Code::Skip
    }

    /// Whether the pod was rejected (either unschedulable class).
    pub fn is_rejected(&self) -> bool {
        matches!(
            self.code,
            Code::Unschedulable | Code::UnschedulableAndUnresolvable
        )
    }
}
