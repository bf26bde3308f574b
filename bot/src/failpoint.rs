//! Test hooks, named by `EXODUS_TEST_FAILPOINT`, that make the process fail at a chosen point
//! (the end-to-end tests of crashes and poison messages). They exist only in builds with the
//! cargo feature `failpoints`, which the end-to-end test crate turns on for the workspace's test
//! builds (`cargo test --workspace`) and release builds do not: there `EXODUS_TEST_FAILPOINT` is
//! ignored, with a warning at start.
//!
//! - `rollover-before-commit`: the process aborts (as a `SIGKILL` would end it) after the
//!   rollover's statements, before its commit.
//! - `command-panic`: a command whose text contains `failpoint-panic` panics inside its
//!   transaction, every time.
//! - `outbox-panic`: the outbox task panics before its first round.

/// The environment variable that names the failpoint to arm.
pub const VARIABLE: &str = "EXODUS_TEST_FAILPOINT";

/// Whether the failpoint `name` is armed in this process.
#[cfg(feature = "failpoints")]
pub fn armed(name: &str) -> bool {
    static ARMED: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    ARMED.get_or_init(|| std::env::var(VARIABLE).ok()).as_deref() == Some(name)
}

/// Whether the failpoint `name` is armed in this process: never, in a build without them.
#[cfg(not(feature = "failpoints"))]
#[inline(always)]
pub fn armed(_name: &str) -> bool {
    false
}

/// Says at start which failpoint is armed, or that the variable is ignored in this build.
pub fn log_at_start() {
    let Ok(name) = std::env::var(VARIABLE) else { return };
    if cfg!(feature = "failpoints") {
        tracing::warn!(failpoint = %name, "test failpoint armed");
    } else {
        tracing::warn!(failpoint = %name, "{VARIABLE} is ignored: this build has no failpoints");
    }
}
