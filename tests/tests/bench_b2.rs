//! A smoke run of benchmark B2 (`exodus-b2`): a few samples through the real Synapse, so that
//! the benchmark itself is known to work (its figures come from `deploy/bench.sh b2` on a
//! release build). It fails when the benchmark fails: a reply missing, an error reply, or no
//! figures printed.
#![allow(clippy::unwrap_used)]

use std::process::Command;

#[test]
fn b2_measures_both_bots_through_synapse() {
    let output = Command::new(env!("CARGO_BIN_EXE_exodus-b2"))
        .args(["--samples", "5", "--warmup", "1"])
        .output()
        .expect("running exodus-b2");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "exodus-b2 failed:\n{stdout}\n{stderr}");
    for row in ["echo bot", "exodus `intend`", "exodus `circle`"] {
        let line = stdout
            .lines()
            .find(|l| l.trim_start().starts_with(row))
            .unwrap_or_else(|| panic!("no {row} row in:\n{stdout}"));
        let figures: Vec<&str> =
            line.trim_start().trim_start_matches(row).split_whitespace().take(3).collect();
        assert_eq!(figures.len(), 3, "{line}");
        for f in figures {
            let ms: f64 =
                f.parse().unwrap_or_else(|_| panic!("{f:?} in {line:?} is not a latency"));
            assert!(ms > 0.0 && ms < 45_000.0, "{line}");
        }
    }
    assert!(stdout.contains("B2 target"), "{stdout}");
}
