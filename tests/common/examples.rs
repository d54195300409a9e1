//! The example binaries, for the tests that run them end to end.
//!
//! Cargo gives integration tests the path of the package's binaries (`CARGO_BIN_EXE_<name>`)
//! but not of its examples, and `cargo test` does not build examples as binaries (`test = true`
//! examples are built as test harnesses; `--test NAME` builds none). So a test builds what it
//! runs: [`build`] runs `cargo build --example NAME` with the cargo and the profile that built
//! the test (dev, or release under `cargo test --release`), reads the binary's path from cargo's
//! JSON messages (so `CARGO_TARGET_DIR` and `--target-dir` are honoured), and returns it. The
//! dependencies are already compiled for the test itself, so it costs the examples' own
//! compilation the first time and well under a second after that. `--offline`: the build never
//! touches the network; everything it needs was fetched to build the test.
//!
//! Run the binaries from the namespace's thread (a child process inherits that thread's
//! network namespace), with `kill_on_drop` so that a failing test leaves no process behind.
//!
//! Include it with `#[path = "common/examples.rs"] mod examples;`.

use std::path::PathBuf;
use std::process::Command;
use std::sync::Mutex;

/// Builds the example `name` and returns the path of its binary.
///
/// # Panics
///
/// When the build fails (its errors are in the message).
pub fn build(name: &str) -> PathBuf {
    // Tests of one binary run in parallel: one build at a time (cargo would serialize them on
    // its lock anyway, printing "Blocking waiting for file lock").
    static BUILDING: Mutex<()> = Mutex::new(());
    let _one_at_a_time = BUILDING
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| env!("CARGO").into());
    let mut command = Command::new(cargo);
    command
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["build", "--offline", "--example", name])
        .arg("--message-format=json-render-diagnostics");
    if !cfg!(debug_assertions) {
        command.arg("--release");
    }
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("running cargo to build the example {name}: {e}"));
    assert!(
        output.status.success(),
        "cargo build --example {name} failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let messages = String::from_utf8_lossy(&output.stdout);
    messages
        .lines()
        .filter(|line| line.contains(r#""reason":"compiler-artifact""#))
        .filter(|line| line.contains(&format!(r#""name":"{name}""#)))
        .find_map(|line| json_string(line, "executable"))
        .map(PathBuf::from)
        .unwrap_or_else(|| panic!("cargo built no executable for the example {name}"))
}

/// The value of the string field `key` in one line of JSON (no escapes expected in paths).
fn json_string(line: &str, key: &str) -> Option<String> {
    let start = line.find(&format!(r#""{key}":""#))? + key.len() + 4;
    let len = line[start..].find('"')?;
    let value = &line[start..start + len];
    (!value.contains('\\')).then(|| value.to_owned())
}
