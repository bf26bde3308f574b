//! The B1 and B3 benchmarks run and pass their own checks, on both databases (small runs on the
//! dev profile; the figures come from `deploy/bench.sh` on a release build).
#![allow(clippy::unwrap_used)]

use std::process::Command;

#[test]
fn b1_runs_and_checks_itself_on_sqlite_and_postgres() {
    let output = Command::new(env!("CARGO_BIN_EXE_exodus-bench"))
        .args(["b1", "--db", "both", "--commands", "600", "--rooms", "25"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    // Without --require-targets the exit status reflects the checks only (a debug build may miss
    // the targets).
    for name in ["SQLite", "PostgreSQL"] {
        let line = stdout
            .lines()
            .find(|l| l.starts_with(&format!("B1 {name}")))
            .unwrap_or_else(|| panic!("no B1 line for {name}\nstdout:\n{stdout}\nstderr:\n{stderr}"));
        assert!(line.contains("600 commands in"), "{line}");
        assert!(line.contains("commands/s"), "{line}");
        // 25 rooms × 24 rounds: two full cycles of 12 per room, `pay` (two messages) twice in each.
        assert!(line.contains("650 replies queued"), "every command queued its replies: {line}");
    }
    assert!(output.status.success(), "B1 failed its checks\nstdout:\n{stdout}\nstderr:\n{stderr}");
}

#[test]
fn b3_runs_and_checks_itself_on_sqlite_and_postgres() {
    let output = Command::new(env!("CARGO_BIN_EXE_exodus-bench"))
        .args(["b3", "--db", "both", "--members", "200", "--records", "2000"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    for name in ["SQLite", "PostgreSQL"] {
        let line = stdout
            .lines()
            .find(|l| l.starts_with(&format!("B3 {name}")) && l.contains("rollover in"))
            .unwrap_or_else(|| panic!("no B3 line for {name}\nstdout:\n{stdout}\nstderr:\n{stderr}"));
        // Each of the 200 members has one record of each of the ten classes: three expire, the
        // two fulfilled last month renew for the 80 orange members, one is past due; every member
        // is concerned.
        assert!(line.contains("600 expired, 160 renewed, 200 overdue, 200 digests queued"), "{line}");
        assert!(line.contains("peak memory"), "{line}");
    }
    assert!(output.status.success(), "B3 failed its checks\nstdout:\n{stdout}\nstderr:\n{stderr}");
}
