//! Runs every packetdrill script in the repository's `tests/conformance/` against the engine;
//! fails listing each script that did not pass, with its first mismatch.

use std::path::{Path, PathBuf};

/// The scripts, sorted by name.
fn scripts() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/conformance");
    let entries =
        std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()));
    let mut scripts: Vec<PathBuf> = entries
        .map(|entry| entry.expect("directory entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "pkt"))
        .collect();
    scripts.sort();
    scripts
}

#[test]
fn every_conformance_script_passes() {
    let scripts = scripts();
    assert!(!scripts.is_empty(), "no scripts in tests/conformance");
    let failures: Vec<String> = scripts
        .iter()
        .filter_map(|path| {
            let name = path.file_name()?.to_string_lossy().into_owned();
            let error = tcpdrill::run_file(path).err()?;
            Some(match error.line() {
                Some(line) => format!("{name}:{line}: {error}"),
                None => format!("{name}: {error}"),
            })
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} scripts failed:\n{}",
        failures.len(),
        scripts.len(),
        failures.join("\n")
    );
}

#[test]
fn every_script_cites_its_rfc_on_the_first_line() {
    for path in scripts() {
        let text = std::fs::read_to_string(&path).expect("readable script");
        let first = text.lines().next().unwrap_or_default();
        assert!(
            first.starts_with("// RFC "),
            "{} should start with `// RFC <number> §<section>: ...`",
            path.display()
        );
    }
}
