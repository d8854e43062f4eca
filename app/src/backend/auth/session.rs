//! Session tokens and the cookie that carries them.
//!
//! A token is 256 random bits, sent to the browser once in an `HttpOnly`, `SameSite=Lax`
//! cookie (`Secure` with the `__Host-` prefix on a request that is https, as
//! [`crate::backend::ingress`] judges it). Only its
//! SHA-256 is stored, so a leaked database signs nobody in.

use argon2::password_hash::rand_core::{OsRng, RngCore};
use base64ct::{Base64UrlUnpadded, Encoding};
use http::HeaderMap;
use sha2::{Digest, Sha256};

use crate::backend::store::TokenHash;

/// A session token as the browser holds it. `Debug` hides it.
pub struct SessionToken(String);

impl SessionToken {
    pub fn generate() -> Self {
        let mut bytes = [0u8; 32];
        OsRng.fill_bytes(&mut bytes);
        Self(Base64UrlUnpadded::encode_string(&bytes))
    }

    pub fn hash(&self) -> TokenHash {
        hash_token(&self.0)
    }
}

impl std::fmt::Debug for SessionToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionToken(…)")
    }
}

pub fn hash_token(token: &str) -> TokenHash {
    Sha256::digest(token.as_bytes()).into()
}

/// How the session cookie is named and flagged on one request: an https request gets the
/// `Secure`, `__Host-` cookie, and reads only that one, so a cookie set over plain http (by a
/// network attacker, say) is never taken for it.
#[derive(Debug, Clone, Copy)]
pub struct SessionCookie {
    name: &'static str,
    secure: bool,
    max_age_secs: u64,
}

impl SessionCookie {
    pub fn new(secure: bool, max_age_secs: u64) -> Self {
        Self {
            // The `__Host-` prefix makes browsers insist on Secure, Path=/ and no Domain, so a
            // sibling subdomain cannot plant or overwrite the cookie.
            name: if secure {
                "__Host-sori_session"
            } else {
                "sori_session"
            },
            secure,
            max_age_secs,
        }
    }

    pub fn name(&self) -> &'static str {
        self.name
    }

    /// The `Set-Cookie` value that hands `token` to the browser.
    pub fn issue(&self, token: &SessionToken) -> String {
        self.header(&token.0, self.max_age_secs)
    }

    /// The `Set-Cookie` value that renews the lifetime of a token the browser already holds.
    pub fn reissue(&self, token: &str) -> String {
        self.header(token, self.max_age_secs)
    }

    /// The `Set-Cookie` value that makes the browser forget the session.
    pub fn clear(&self) -> String {
        self.header("", 0)
    }

    fn header(&self, value: &str, max_age: u64) -> String {
        let secure = if self.secure { "; Secure" } else { "" };
        format!(
            "{}={value}; Path=/; Max-Age={max_age}; HttpOnly; SameSite=Lax{secure}",
            self.name
        )
    }

    /// The token in a request's `Cookie` headers, if any.
    pub fn read<'h>(&self, headers: &'h HeaderMap) -> Option<&'h str> {
        headers
            .get_all(http::header::COOKIE)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(name, value)| *name == self.name && !value.is_empty())
            .map(|(_, value)| value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_256_bits_and_unique() {
        let a = SessionToken::generate();
        let b = SessionToken::generate();
        assert_eq!(a.0.len(), 43, "32 bytes in unpadded base64url");
        assert_ne!(a.0, b.0);
        assert_ne!(a.hash(), b.hash());
        assert!(!format!("{a:?}").contains(&a.0));
    }

    #[test]
    fn over_http_the_cookie_is_httponly_and_lax() {
        let cookie = SessionCookie::new(false, 60);
        let token = SessionToken::generate();
        let header = cookie.issue(&token);
        assert!(header.starts_with("sori_session="), "{header}");
        assert!(header.contains("; HttpOnly") && header.contains("; SameSite=Lax"));
        assert!(header.contains("; Path=/") && header.contains("; Max-Age=60"));
        assert!(!header.contains("Secure"));
    }

    #[test]
    fn over_https_the_cookie_is_secure_with_the_host_prefix() {
        let cookie = SessionCookie::new(true, 60);
        let header = cookie.issue(&SessionToken::generate());
        assert!(header.starts_with("__Host-sori_session="), "{header}");
        assert!(header.contains("; Secure"));
        assert!(!header.contains("Domain"));
    }

    #[test]
    fn the_token_is_read_back_from_a_cookie_header() {
        let cookie = SessionCookie::new(false, 60);
        let mut headers = HeaderMap::new();
        headers.insert(
            http::header::COOKIE,
            "a=1; sori_session=abc; b=2".parse().unwrap(),
        );
        assert_eq!(cookie.read(&headers), Some("abc"));
        headers.insert(http::header::COOKIE, "sori_session=".parse().unwrap());
        assert_eq!(cookie.read(&headers), None);
    }

    #[test]
    fn an_https_request_reads_only_the_secure_cookie() {
        let mut headers = HeaderMap::new();
        headers.insert(
            http::header::COOKIE,
            "sori_session=plain; __Host-sori_session=secure"
                .parse()
                .unwrap(),
        );
        assert_eq!(SessionCookie::new(true, 60).read(&headers), Some("secure"));
        assert_eq!(SessionCookie::new(false, 60).read(&headers), Some("plain"));
        headers.insert(http::header::COOKIE, "sori_session=plain".parse().unwrap());
        assert_eq!(SessionCookie::new(true, 60).read(&headers), None);
    }

    #[test]
    fn clearing_expires_the_cookie_at_once() {
        let cookie = SessionCookie::new(false, 60);
        assert!(cookie.clear().contains("Max-Age=0"));
    }
}
