//! The `sori` binary reports bad configuration in one line and a non-zero exit, never a panic.

use std::process::{Command, Output};

pub fn sori(envs: &[(&str, &str)], args: &[&str]) -> Output {
    let data = tempfile::tempdir().unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_sori"));
    command
        .current_dir(data.path())
        .env_remove("DATABASE_URL")
        .env("SORI_ADDR", "127.0.0.1:0")
        .env("RUST_LOG", "warn")
        .args(args);
    for (key, value) in envs {
        command.env(key, value);
    }
    command.output().expect("the binary runs")
}

pub fn assert_one_line_failure(output: &Output, expected: &[&str]) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "stderr: {stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "one line: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    for needle in expected {
        assert!(stderr.contains(needle), "{needle:?} missing from: {stderr}");
    }
}

#[test]
fn a_malformed_database_url_exits_with_a_one_line_explanation() {
    let output = sori(&[("DATABASE_URL", "mysql//nope")], &[]);
    assert_one_line_failure(&output, &["DATABASE_URL", "mysql//nope", "sqlite://"]);
}

#[test]
fn a_database_url_with_a_bad_option_is_explained() {
    let output = sori(&[("DATABASE_URL", "sqlite://data/x.db?mode=sideways")], &[]);
    assert_one_line_failure(&output, &["DATABASE_URL", "not a valid database URL"]);
}

#[test]
fn an_unwritable_data_directory_is_explained() {
    // A regular file where the data directory should be: fails even for root.
    let data = tempfile::tempdir().unwrap();
    let blocker = data.path().join("data");
    std::fs::write(&blocker, b"not a directory").unwrap();
    let url = format!("sqlite://{}/sub/sori.db", blocker.display());
    let output = sori(&[("DATABASE_URL", &url)], &[]);
    assert_one_line_failure(&output, &["cannot create the data directory", "writable"]);
}

#[test]
fn a_flag_overrides_the_environment() {
    let output = sori(
        &[("DATABASE_URL", "sqlite://data/ok.db")],
        &["--database-url", "mysql//from-flag"],
    );
    assert_one_line_failure(&output, &["mysql//from-flag"]);
}

#[test]
fn help_lists_the_configuration() {
    let output = sori(&[], &["--help"]);
    assert!(output.status.success());
    let help = String::from_utf8_lossy(&output.stdout);
    for name in [
        "SORI_ADDR",
        "DATABASE_URL",
        "SORI_PUBLIC_ORIGIN",
        "RUST_LOG",
        "SORI_DURABILITY",
        "SORI_LISTEN_DATABASE_URL",
        "SORI_CATCH_UP_MS",
    ] {
        assert!(help.contains(name), "{name} missing from --help:\n{help}");
    }
}
