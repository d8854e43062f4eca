//! Log lines quote what clients send: a username, an origin or a path with a newline in it
//! is written escaped on its one line, so nobody can forge a line of the server's log.

use std::io::Write;
use std::sync::{Arc, Mutex};

use app::backend::clock::Clock;

use crate::support::TestApp;

/// Everything the subscriber writes, kept for the test to read.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

// A current-thread runtime (the default): the server's tasks run on this thread, where the
// capturing subscriber is the default.
#[tokio::test]
async fn a_username_with_a_newline_is_logged_escaped_on_one_line() {
    let captured = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer({
            let captured = captured.clone();
            move || captured.clone()
        })
        .with_ansi(false)
        .with_max_level(tracing::Level::INFO)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let app = TestApp::spawn_with_clock(Clock::manual(1_700_000_000_000), |_| {}).await;
    let forged = "mallory\nERROR forged line";
    for _ in 0..11 {
        app.browser().sign_in(forged, "wrong password").await;
    }
    app.shutdown().await;

    let log = captured.text();
    let limited: Vec<&str> = log
        .lines()
        .filter(|line| line.contains("sign-in rate limit reached"))
        .collect();
    assert_eq!(limited.len(), 1, "{log}");
    assert!(
        limited[0].contains(r#"username="mallory\nerror forged line""#),
        "the name is quoted and escaped: {}",
        limited[0]
    );
    assert!(
        !log.lines()
            .any(|line| line.to_ascii_lowercase().starts_with("error forged line")),
        "no line was forged:\n{log}"
    );
}
