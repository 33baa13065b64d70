//! Whether a key or variable name says its value is a credential: `DB_PASSWORD`,
//! `clientSecret`, `x-api-key`, `tls.key`, `STRIPE_KEY`, `--token`. One function, used by
//! the JSON rules (object keys, env entries) and the text rules (`KEY=value`, `KEY: value`).
//!
//! A name is split into lowercase words (at `_ - . /` and spaces, and between camelCase
//! humps), then:
//! - a name whose last word qualifies it as *about* a credential and not the credential
//!   itself (`SECRET_NAME`, `secretKeyRef`, `PASSWORD_FILE`, `token_ttl`, `AWS_ACCESS_KEY_ID`)
//!   is not credential-like;
//! - a word that is a credential (`password`, `secret`, `token`, `credentials`, ...), or
//!   contains one (`dbpassword`, `clientsecret`, `authtoken`), makes it credential-like;
//! - so does a last word `key` after another word (`SECRET_KEY`, `SIGNING_KEY`, `api_key`,
//!   `tls.key`), unless that word names a harmless kind of key (`PUBLIC_KEY`, `SORT_KEY`,
//!   `PARTITION_KEY`, `CACHE_KEY`).
//!
//! `tokens` (plural, as in `max_tokens`, `tokens_used`) and a bare `key` are not credentials.

/// Words that are credentials by themselves.
const CREDENTIAL_WORDS: &[&str] = &[
    "password",
    "passwords",
    "passwd",
    "pwd",
    "pass",
    "passphrase",
    "secret",
    "secrets",
    "token",
    "credential",
    "credentials",
    "creds",
    "apikey",
    "privkey",
    "auth",
    "authorization",
    "cookie",
    "signature",
    "sig",
];

/// Pieces of a run-together word that make it a credential (`dbpassword`, `clientsecret`).
const CREDENTIAL_PARTS: &[&str] = &[
    "password",
    "passwd",
    "passphrase",
    "secret",
    "credential",
    "apikey",
    "accesskey",
    "secretkey",
    "privatekey",
    "signingkey",
    "sessionkey",
    "masterkey",
    "authtoken",
    "accesstoken",
    "refreshtoken",
    "apitoken",
    "bearertoken",
    "idtoken",
];

/// Last words that make a name about a credential rather than the credential.
const QUALIFIERS: &[&str] = &[
    "name",
    "names",
    "ref",
    "reference",
    "file",
    "path",
    "dir",
    "id",
    "ids",
    "arn",
    "url",
    "uri",
    "endpoint",
    "length",
    "len",
    "count",
    "size",
    "ttl",
    "expiry",
    "expires",
    "expiration",
    "timeout",
    "type",
    "kind",
    "version",
    "enabled",
    "disabled",
    "required",
    "policy",
    "rotation",
    "header",
    "prefix",
    "suffix",
    "format",
    "mode",
    "method",
    "provider",
    "source",
    "used",
    "limit",
    "max",
    "min",
    "remaining",
    "total",
    "at",
    "time",
    "timestamp",
    "age",
    "set",
    "exists",
    "present",
    "configured",
    "changed",
    "updated",
    "created",
    "location",
    "manager",
    "backend",
    "template",
    "pattern",
    "mount",
    "volume",
    "hint",
    "issuer",
    "audience",
    "algorithm",
    "alg",
    "scope",
    "scopes",
    "label",
    "field",
    "selector",
    "env",
];

/// Words before `key` that name a kind of key that is not a secret.
const HARMLESS_KEYS: &[&str] = &[
    "public",
    "pub",
    "partition",
    "sort",
    "primary",
    "foreign",
    "cache",
    "hash",
    "range",
    "shard",
    "sharding",
    "idempotency",
    "dedup",
    "dedupe",
    "deduplication",
    "object",
    "s3",
    "row",
    "lookup",
    "map",
    "group",
    "index",
    "unique",
    "composite",
    "natural",
    "surrogate",
    "message",
    "event",
    "metric",
    "dimension",
    "tag",
    "label",
    "annotation",
    "selector",
    "field",
    "json",
    "yaml",
    "config",
    "kms",
    "column",
    "table",
    "sequence",
    "kafka",
];

/// Words before a last word `token` that make it a cursor, not a credential (`NextToken`,
/// `nextPageToken`, `ContinuationToken` in AWS and Kubernetes list responses).
const CURSOR_TOKENS: &[&str] = &[
    "next",
    "page",
    "continuation",
    "pagination",
    "cursor",
    "sync",
];

/// Whether `name` (a key, a variable, a flag) names a credential. See the module docs.
pub fn is_credential_name(name: &str) -> bool {
    let words = words(name);
    let Some(last) = words.last() else {
        return false;
    };
    if QUALIFIERS.contains(&last.as_str()) || is_cursor(&words) {
        return false;
    }
    let credential_word = words.iter().any(|w| {
        CREDENTIAL_WORDS.contains(&w.as_str()) || CREDENTIAL_PARTS.iter().any(|p| w.contains(p))
    });
    credential_word || is_secret_key(&words) || is_ssh_key_file(&words)
}

/// `NextToken`, `nextPageToken`: a pagination cursor.
fn is_cursor(words: &[String]) -> bool {
    match words {
        [.., before, last] if last == "token" => CURSOR_TOKENS.contains(&before.as_str()),
        _ => false,
    }
}

/// `SECRET_KEY`, `SIGNING_KEY`, `tls.key`: a last word `key` after a word that does not name
/// a harmless kind of key.
fn is_secret_key(words: &[String]) -> bool {
    match words {
        [.., before, last] if last == "key" => !HARMLESS_KEYS.contains(&before.as_str()),
        _ => false,
    }
}

/// `id_rsa`, `id_ed25519`: private key file names used as ConfigMap or Secret keys.
fn is_ssh_key_file(words: &[String]) -> bool {
    matches!(words, [id, kind] if id == "id" && ["rsa", "dsa", "ecdsa", "ed25519"].contains(&kind.as_str()))
}

/// `name` split into lowercase ASCII words at punctuation and camelCase humps:
/// `XApiKey` → `x api key`, `DBPassword` → `db password`, `tls.key` → `tls key`.
fn words(name: &str) -> Vec<String> {
    let chars: Vec<char> = name.chars().collect();
    let mut words = Vec::new();
    let mut word = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if !c.is_ascii_alphanumeric() {
            flush(&mut word, &mut words);
            continue;
        }
        let prev = i.checked_sub(1).and_then(|p| chars.get(p)).copied();
        let next = chars.get(i + 1).copied();
        let hump = c.is_ascii_uppercase()
            && prev.is_some_and(|p| {
                p.is_ascii_lowercase()
                    || p.is_ascii_digit()
                    || (p.is_ascii_uppercase() && next.is_some_and(|n| n.is_ascii_lowercase()))
            });
        if hump {
            flush(&mut word, &mut words);
        }
        word.push(c.to_ascii_lowercase());
    }
    flush(&mut word, &mut words);
    words
}

fn flush(word: &mut String, words: &mut Vec<String>) {
    if !word.is_empty() {
        words.push(std::mem::take(word));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_names_into_words() {
        assert_eq!(words("XApiKey"), ["x", "api", "key"]);
        assert_eq!(words("DBPassword"), ["db", "password"]);
        assert_eq!(words("secretKeyRef"), ["secret", "key", "ref"]);
        assert_eq!(words("tls.key"), ["tls", "key"]);
        assert_eq!(words("--db-password"), ["db", "password"]);
        assert_eq!(
            words("AWS_SECRET_ACCESS_KEY"),
            ["aws", "secret", "access", "key"]
        );
        assert_eq!(words("oauth2Token"), ["oauth2", "token"]);
        assert_eq!(words("é"), Vec::<String>::new());
    }

    #[test]
    fn credential_names() {
        for n in [
            "password",
            "DB_PASSWORD",
            "MYSQL_ROOT_PASSWORD",
            "dbPassword",
            "dbpassword",
            "passwd",
            "Pwd",
            "SMTP_PASS",
            "secret",
            "clientSecret",
            "client_secret",
            "JWT_SECRET",
            "SECRET_KEY_BASE",
            "token",
            "GITHUB_TOKEN",
            "auth_token",
            "X-Auth-Token",
            "accessToken",
            "api_key",
            "apiKey",
            "apikey",
            "x-api-key",
            "access_key",
            "AWS_SECRET_ACCESS_KEY",
            "private_key",
            "privateKey",
            "session_key",
            "SECRET_KEY",
            "SIGNING_KEY",
            "ENCRYPTION_KEY",
            "STRIPE_KEY",
            "AccountKey",
            "tls.key",
            "id_rsa",
            "credentials",
            "Authorization",
            "auth",
            "--password",
            "spring.datasource.password",
            "X-Amz-Security-Token",
            "X-Amz-Signature",
        ] {
            assert!(is_credential_name(n), "{n} should be credential-like");
        }
    }

    #[test]
    fn harmless_names() {
        for n in [
            "",
            "key",
            "name",
            "value",
            "LOG_LEVEL",
            "DB_HOST",
            "DB_POOL_SIZE",
            "max_tokens",
            "tokens_used",
            "passed",
            "bypass_cache",
            "secretKeyRef",
            "secretName",
            "SECRET_NAME",
            "PASSWORD_FILE",
            "token_ttl",
            "tokenUrl",
            "AWS_ACCESS_KEY_ID",
            "private_key_id",
            "PUBLIC_KEY",
            "publicKey",
            "sort_key",
            "PARTITION_KEY",
            "cache_key",
            "kms_key",
            "monkey",
            "auth_type",
            "tls.crt",
            "ca.crt",
            "password_min_length",
            "NextToken",
            "nextPageToken",
            "ContinuationToken",
        ] {
            assert!(!is_credential_name(n), "{n} should not be credential-like");
        }
    }
}
