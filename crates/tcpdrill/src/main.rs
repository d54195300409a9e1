//! `tcpdrill FILE.pkt...`: runs packetdrill scripts against the tcpstk engine in virtual time,
//! prints PASS or FAIL for each (with the first mismatch: line, expected and actual packet),
//! and exits with 0 only if every script passed.

use std::path::Path;
use std::process::ExitCode;

fn main() -> ExitCode {
    let paths: Vec<String> = std::env::args().skip(1).collect();
    if paths.is_empty() || paths.iter().any(|p| p == "-h" || p == "--help") {
        eprintln!("usage: tcpdrill FILE.pkt...");
        eprintln!("Runs packetdrill scripts against the tcpstk engine in virtual time.");
        return ExitCode::from(2);
    }
    let mut failed = 0;
    for path in &paths {
        match tcpdrill::run_file(Path::new(path)) {
            Ok(()) => println!("PASS {path}"),
            Err(e) => {
                failed += 1;
                match e.line() {
                    Some(line) => println!("FAIL {path}:{line}: {e}"),
                    None => println!("FAIL {path}: {e}"),
                }
            }
        }
    }
    println!("{} passed, {failed} failed", paths.len() - failed);
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
