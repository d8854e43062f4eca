//! The doctor's report: findings in the order they were made, printed one line each as
//! they come (so the lines before a long check are readable meanwhile), or as one JSON
//! array at the end with `--json`. The format is documented in `docs/doctor.md`.

use std::collections::BTreeSet;
use std::io::Write;

use super::CHECKS;
use super::checks::{Finding, Status};

pub struct Report {
    pub json: bool,
    findings: Vec<Finding>,
}

impl Report {
    pub fn new(json: bool) -> Self {
        Self {
            json,
            findings: Vec::new(),
        }
    }

    pub fn add(&mut self, finding: Finding) {
        if !self.json {
            // The report is the doctor's output (stdout, not the log). Flushed per check:
            // the idle check takes over a minute, and the lines before it should be
            // readable meanwhile. A closed stdout leaves nobody to tell.
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "{}", line(&finding));
            let _ = out.flush();
        }
        self.findings.push(finding);
    }

    /// Skips every check not reported yet, naming the one that stopped them.
    pub fn skip_rest(&mut self, because: &str) {
        let done: BTreeSet<&str> = self.findings.iter().map(|finding| finding.check).collect();
        for check in CHECKS.iter().filter(|check| !done.contains(*check)) {
            self.add(Finding::skip(check, format!("not run: {because}")));
        }
    }

    pub fn finish(self) -> bool {
        if self.json {
            // Findings are strings and unit enums: serialising cannot fail.
            let json = serde_json::to_string_pretty(&self.findings).unwrap_or_default();
            let _ = writeln!(std::io::stdout().lock(), "{json}");
        }
        !self
            .findings
            .iter()
            .any(|finding| finding.status == Status::Fail)
    }
}

/// One finding as printed: the status padded to 4, the check to 16, then the detail; a
/// `fix:` line under it, indented to the check's column.
///
/// Details quote what the server sent (headers, close reasons, frames); their control
/// characters are escaped, so a hostile server can neither move the terminal's cursor nor
/// forge a line of its own.
pub fn line(finding: &Finding) -> String {
    let mut line = format!(
        "{:<4}  {:<16} {}",
        finding.status.word(),
        finding.check,
        printable(&finding.detail)
    );
    if let Some(fix) = &finding.fix {
        line.push_str(&format!("\n      fix: {}", printable(fix)));
    }
    line
}

fn printable(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.chars().any(char::is_control) {
        return text.into();
    }
    text.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect::<String>()
        .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_servers_control_characters_cannot_forge_a_line_or_move_the_cursor() {
        let finding = Finding::fail(
            "wss",
            "closed: \u{1b}[2K\rok    wss\nok    origin",
            "see \u{7}",
        );
        let printed = line(&finding);
        assert_eq!(printed.lines().count(), 2, "{printed}");
        assert!(
            !printed.contains('\u{1b}') && !printed.contains('\r'),
            "{printed}"
        );
        assert!(
            printed.contains("\\u{1b}[2K\\rok    wss\\nok    origin"),
            "{printed}"
        );
        assert!(printed.ends_with("fix: see \\u{7}"), "{printed}");
    }
}
