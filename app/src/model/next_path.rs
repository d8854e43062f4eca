//! Where to send someone after they sign in: the `next` parameter of `/login?next=…`.

/// `next` if it is a path on this site, else `/`. Anything else (another site, a
/// protocol-relative `//host`, a backslash trick, control characters) is ignored, so a link
/// cannot turn sign-in into a redirect to somewhere else.
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(path)
            if path.starts_with('/')
                && !path.starts_with("//")
                && !path.starts_with("/\\")
                && !path.chars().any(|c| c.is_control() || c == '\\') =>
        {
            path.to_owned()
        }
        _ => "/".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn local_paths_are_kept() {
        assert_eq!(safe_next(Some("/settings")), "/settings");
        assert_eq!(
            safe_next(Some("/rooms/7?tab=members")),
            "/rooms/7?tab=members"
        );
    }

    #[test]
    fn anything_else_becomes_home() {
        for bad in [
            "https://evil.example",
            "//evil.example",
            "/\\evil.example",
            "evil",
            "/x\n",
            "javascript:alert(1)",
            "",
        ] {
            assert_eq!(safe_next(Some(bad)), "/", "{bad:?}");
        }
        assert_eq!(safe_next(None), "/");
    }
}
