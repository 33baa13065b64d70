//! Shared-secret checks, in constant time.

use axum::http::HeaderMap;
use subtle::ConstantTimeEq;

/// Whether `given` equals `expected`, without leaking where they differ.
pub fn same(given: &[u8], expected: &[u8]) -> bool {
    given.len() == expected.len() && bool::from(given.ct_eq(expected))
}

/// The bearer token of the `Authorization` header.
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    let v = headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    v.strip_prefix("Bearer ")
        .or_else(|| v.strip_prefix("bearer "))
        .map(str::trim)
}

/// Whether the request carries `Authorization: Bearer <expected>`.
pub fn bearer_ok(headers: &HeaderMap, expected: &str) -> bool {
    bearer(headers).is_some_and(|t| same(t.as_bytes(), expected.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comparisons() {
        assert!(same(b"secret", b"secret"));
        assert!(!same(b"secret", b"secreT"));
        assert!(!same(b"secret", b"secret2"));
        let mut h = HeaderMap::new();
        h.insert("authorization", "Bearer abc".parse().unwrap());
        assert!(bearer_ok(&h, "abc"));
        assert!(!bearer_ok(&h, "abd"));
    }
}
