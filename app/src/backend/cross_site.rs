//! Cross-site request protection for state-changing requests.
//!
//! A browser says where a request came from: `Origin` on every cross-origin request and on
//! same-origin POSTs, and `Sec-Fetch-Site` in every modern browser. A request is refused when
//! either names another site. A request with neither header comes from something other than a
//! browser (curl, the benchmark, a test client), which cannot carry a victim's cookie across
//! sites, so it is allowed.

use http::HeaderMap;

/// Why a request was refused, for the log line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CrossSite {
    #[error("Origin {found:?} does not match the public origin {expected:?}")]
    ForeignOrigin { found: String, expected: String },
    #[error("Sec-Fetch-Site is {0:?}, not same-origin")]
    FetchSite(String),
}

/// Checks a request's headers against the configured public origin.
pub fn check(headers: &HeaderMap, public_origin: &str) -> Result<(), CrossSite> {
    if let Some(origin) = headers.get(http::header::ORIGIN) {
        let found = origin.to_str().unwrap_or("(not text)");
        if found
            .trim_end_matches('/')
            .eq_ignore_ascii_case(public_origin)
        {
            return Ok(());
        }
        return Err(CrossSite::ForeignOrigin {
            found: found.to_owned(),
            expected: public_origin.to_owned(),
        });
    }
    if let Some(site) = headers.get("sec-fetch-site") {
        let site = site.to_str().unwrap_or("(not text)");
        // "none": the user typed the address or used a bookmark; no other site was involved.
        if site == "same-origin" || site == "none" {
            return Ok(());
        }
        return Err(CrossSite::FetchSite(site.to_owned()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const ORIGIN: &str = "http://127.0.0.1:3000";

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.insert(*name, value.parse().unwrap());
        }
        headers
    }

    #[test]
    fn the_public_origin_passes() {
        assert_eq!(check(&headers(&[("origin", ORIGIN)]), ORIGIN), Ok(()));
    }

    #[test]
    fn another_origin_is_refused_with_both_named() {
        let error = check(&headers(&[("origin", "https://evil.example")]), ORIGIN).unwrap_err();
        let message = error.to_string();
        assert!(message.contains("https://evil.example") && message.contains(ORIGIN));
    }

    #[test]
    fn a_null_origin_is_refused() {
        assert!(check(&headers(&[("origin", "null")]), ORIGIN).is_err());
    }

    #[test]
    fn without_origin_sec_fetch_site_decides() {
        assert!(check(&headers(&[("sec-fetch-site", "same-origin")]), ORIGIN).is_ok());
        assert!(check(&headers(&[("sec-fetch-site", "cross-site")]), ORIGIN).is_err());
        assert!(check(&headers(&[("sec-fetch-site", "same-site")]), ORIGIN).is_err());
    }

    #[test]
    fn a_request_with_neither_header_is_not_from_a_browser_and_passes() {
        assert_eq!(check(&HeaderMap::new(), ORIGIN), Ok(()));
    }
}
