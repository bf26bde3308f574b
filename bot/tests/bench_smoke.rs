//! The B1 and B3 benchmarks run and pass their own checks, on both databases (small runs on the
//! dev profile; the figures come from `deploy/bench.sh` on a release build).
#![allow(clippy::unwrap_used)]

use std::process::Command;

/// Runs `exodus-bench` with `args` on both databases; returns its line starting with `prefix`
/// for each of them, after checking that it passed its checks. Without --require-targets the exit
/// status reflects the checks only (a debug build may miss the targets).
fn bench_lines(args: &[&str], prefix: &str) -> Vec<String> {
    let output = Command::new(env!("CARGO_BIN_EXE_exodus-bench"))
        .args(args)
        .args(["--db", "both"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "{args:?} failed its checks\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
    ["SQLite", "PostgreSQL"]
        .iter()
        .map(|name| {
            let start = format!("{prefix} {name}");
            let line = stdout.lines().find(|l| l.starts_with(&start) && !l.contains("loaded in"));
            line.unwrap_or_else(|| panic!("no {start} line\nstdout:\n{stdout}\nstderr:\n{stderr}"))
                .to_owned()
        })
        .collect()
}

#[test]
fn b1_runs_and_checks_itself_on_sqlite_and_postgres() {
    for line in bench_lines(&["b1", "--commands", "600", "--rooms", "25"], "B1") {
        assert!(line.contains("600 commands in"), "{line}");
        assert!(line.contains("commands/s"), "{line}");
        // 25 rooms × 24 rounds: two full cycles of 12 per room, `pay` (two messages) twice in each.
        assert!(line.contains("650 replies queued"), "every command queued its replies: {line}");
    }
}

#[test]
fn b3_runs_and_checks_itself_on_sqlite_and_postgres() {
    for line in bench_lines(&["b3", "--members", "200", "--records", "2000"], "B3") {
        // Each of the 200 members has one record of each of the ten classes: three expire, the
        // two fulfilled last month renew for the 80 orange members, one is past due; every member
        // is concerned.
        assert!(line.contains("rollover in"), "{line}");
        assert!(
            line.contains("600 expired, 160 renewed, 200 overdue, 200 digests queued"),
            "{line}"
        );
        assert!(line.contains("peak memory"), "{line}");
    }
}
