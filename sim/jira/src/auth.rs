//! Who a request comes from: `Basic base64(email:api_token)` (Jira Cloud) or `Bearer PAT`
//! (Jira Data Center's personal access tokens).

use base64::Engine;

use crate::model::User;

/// The index of the user whose credentials `authorization` carries, if any.
pub fn account(users: &[User], authorization: Option<&str>) -> Option<usize> {
    let header = authorization?.trim();
    let (scheme, value) = header.split_once(' ')?;
    let value = value.trim();
    if scheme.eq_ignore_ascii_case("basic") {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(value)
            .ok()?;
        let decoded = String::from_utf8(decoded).ok()?;
        let (email, token) = decoded.split_once(':')?;
        users.iter().position(|u| {
            u.email.eq_ignore_ascii_case(email) && u.api_token.as_deref() == Some(token)
        })
    } else if scheme.eq_ignore_ascii_case("bearer") {
        users.iter().position(|u| u.pat.as_deref() == Some(value))
    } else {
        None
    }
}
