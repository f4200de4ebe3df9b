//! What to do after a failed attempt: a small value type, decided once.

use crate::store::FailureKind;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Extra attempts after the first for `crashed`/`timeout`/`oom` failures.
    pub max_retries: u32,
    /// Stop starting new runs after the first failure that will not be retried.
    pub fail_fast: bool,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 1,
            fail_fast: false,
        }
    }
}

impl RetryPolicy {
    /// Whether attempt number `attempt` (1-based) that ended with `kind`
    /// deserves another try. Divergence, bad data and an unusable GPU are
    /// deterministic: retrying would only repeat them.
    pub fn should_retry(&self, kind: FailureKind, attempt: u32) -> bool {
        let transient = matches!(
            kind,
            FailureKind::Crashed | FailureKind::Oom | FailureKind::Timeout
        );
        transient && attempt <= self.max_retries
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_failures_are_not_retried() {
        let p = RetryPolicy {
            max_retries: 2,
            fail_fast: false,
        };
        assert!(p.should_retry(FailureKind::Crashed, 1));
        assert!(p.should_retry(FailureKind::Oom, 2));
        assert!(!p.should_retry(FailureKind::Crashed, 3));
        assert!(!p.should_retry(FailureKind::Diverged, 1));
        assert!(!p.should_retry(FailureKind::InvalidData, 1));
        assert!(!p.should_retry(FailureKind::NoDevice, 1));
    }
}
