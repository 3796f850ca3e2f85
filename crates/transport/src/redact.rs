//! What of an upstream answer may be quoted to a caller: a bounded prefix, with anything that
//! looks like a credential masked.
//!
//! An upstream (or a proxy in front of it) may answer with a huge body, or echo the request's
//! headers back; either would otherwise reach logs and GraphQL errors through [`Error`]'s
//! messages. Every upstream text kept in an [`Error`] goes through [`quote_upstream`] or
//! [`snippet`].
//!
//! [`Error`]: crate::Error

/// Longest upstream text (an error body's `error` or `message`, a cursor) quoted in an
/// [`Error`](crate::Error), in characters; longer text is cut and ends with `…`.
pub const MAX_QUOTE_CHARS: usize = 300;

/// Longest caller value (a job name, a workspace) quoted back in an
/// [`Error::InvalidRequest`](crate::Error::InvalidRequest) message, in characters.
pub(crate) const MAX_INPUT_CHARS: usize = 64;

/// What a masked credential is replaced with.
const MASK: &str = "***";

/// A credential is looked for in this much text past the cut, so that one that starts before
/// the cut is masked whole rather than quoted in part (JWTs run to about 1 KiB).
const LOOKAHEAD: usize = 4096;

/// The caller's own token is masked wherever it appears when it is at least this long; shorter
/// values would mask ordinary words.
const MIN_SECRET_LEN: usize = 6;

/// Keys whose value is a credential in `key: value`, `key=value` and `"key": "value"` forms.
const SECRET_KEYS: [&str; 6] = [
    "authorization",
    "token",
    "api_key",
    "apikey",
    "secret",
    "password",
];

/// Auth schemes whose next word is a credential (`Bearer abc`).
const SCHEMES: [&str; 2] = ["bearer ", "basic "];

/// `text` cut to [`MAX_QUOTE_CHARS`] characters, credentials masked (including `secret`, the
/// token the request was sent with).
pub(crate) fn quote_upstream(text: &str, secret: Option<&str>) -> String {
    let window = prefix_chars(text, MAX_QUOTE_CHARS + LOOKAHEAD);
    let scrubbed = scrub(window, secret);
    match scrubbed.char_indices().nth(MAX_QUOTE_CHARS) {
        Some((cut, _)) => format!("{}…", &scrubbed[..cut]),
        None => scrubbed,
    }
}

/// The first `max_bytes` of `bytes` as lossy UTF-8, credentials masked, cut on a character
/// boundary.
pub(crate) fn snippet(bytes: &[u8], max_bytes: usize, secret: Option<&str>) -> String {
    let window = &bytes[..bytes.len().min(max_bytes + LOOKAHEAD)];
    let mut text = scrub(&String::from_utf8_lossy(window), secret);
    if text.len() > max_bytes {
        let mut cut = max_bytes;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
    }
    text
}

/// A caller's value for an error message: debug-quoted, cut to [`MAX_INPUT_CHARS`].
pub(crate) fn quote_input(value: &str) -> String {
    match value.char_indices().nth(MAX_INPUT_CHARS) {
        Some((cut, _)) => format!("{:?}…", &value[..cut]),
        None => format!("{value:?}"),
    }
}

fn prefix_chars(text: &str, chars: usize) -> &str {
    match text.char_indices().nth(chars) {
        Some((cut, _)) => &text[..cut],
        None => text,
    }
}

/// `text` with credentials replaced by `***`: `secret` itself, the word after `Bearer`/`Basic`,
/// the value of `authorization`/`token`/`api_key`/`secret`/`password` keys (headers echoed as
/// text or JSON), and JWTs.
pub(crate) fn scrub(text: &str, secret: Option<&str>) -> String {
    let text = match secret {
        Some(secret) if secret.len() >= MIN_SECRET_LEN && text.contains(secret) => {
            std::borrow::Cow::Owned(text.replace(secret, MASK))
        }
        _ => std::borrow::Cow::Borrowed(text),
    };
    // ASCII lowercasing keeps byte offsets, so ranges found in `lower` apply to `text`.
    let lower = text.to_ascii_lowercase();
    let bytes = text.as_bytes();
    let mut ranges = Vec::new();
    for scheme in SCHEMES {
        for (at, _) in lower.match_indices(scheme) {
            let start = skip(bytes, at + scheme.len(), |b| b == b' ' || b == b'\t');
            let end = skip(bytes, start, is_token_byte);
            ranges.push(start..end);
        }
    }
    for key in SECRET_KEYS {
        for (at, _) in lower.match_indices(key) {
            let after_key = skip(bytes, at + key.len(), |b| matches!(b, b'"' | b'\'' | b' '));
            if !matches!(bytes.get(after_key), Some(b':' | b'=')) {
                continue;
            }
            let start = skip(bytes, after_key + 1, |b| {
                matches!(b, b'"' | b'\'' | b' ' | b'\t')
            });
            let end = skip(bytes, start, |b| {
                !matches!(b, b'"' | b'\'' | b',' | b';' | b'}' | b'&' | b'\r' | b'\n')
            });
            ranges.push(start..end);
        }
    }
    for (at, _) in text.match_indices("eyJ") {
        let end = skip(bytes, at, |b| is_token_byte(b) && b != b'+' && b != b'/');
        if text[at..end].matches('.').count() >= 2 {
            ranges.push(at..end);
        }
    }
    if ranges.iter().all(|r| r.is_empty()) {
        return text.into_owned();
    }
    ranges.sort_by_key(|r| r.start);
    let mut out = String::with_capacity(text.len());
    let mut done = 0;
    for range in ranges {
        if range.is_empty() || range.end <= done {
            continue;
        }
        let start = range.start.max(done);
        out.push_str(&text[done..start]);
        out.push_str(MASK);
        done = range.end;
    }
    out.push_str(&text[done..]);
    out
}

/// The first index from `from` whose byte does not satisfy `keep` (every range boundary falls
/// on an ASCII byte or the end, so it is a char boundary).
fn skip(bytes: &[u8], from: usize, keep: impl Fn(u8) -> bool) -> usize {
    let mut i = from.min(bytes.len());
    while i < bytes.len() && keep(bytes[i]) {
        i += 1;
    }
    i
}

fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'+' | b'/' | b'=')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_echoed_credentials() {
        let cases = [
            (
                "Authorization: Bearer abc.def-1\nHost: x",
                "Authorization: ***\nHost: x",
            ),
            (
                r#"{"headers":{"x-blaxel-authorization":"Bearer abc","accept":"*/*"}}"#,
                r#"{"headers":{"x-blaxel-authorization":"***","accept":"*/*"}}"#,
            ),
            ("bad bearer  zzz9 here", "bad bearer  *** here"),
            ("token=abc&x=1", "token=***&x=1"),
            ("jwt eyJhbGc.eyJzdWIi.sig_- end", "jwt *** end"),
            ("authorization failed", "authorization failed"),
            ("no secrets here", "no secrets here"),
        ];
        for (text, want) in cases {
            assert_eq!(scrub(text, None), want, "{text}");
        }
        assert_eq!(
            scrub(
                "you sent sk-12345678 twice: sk-12345678",
                Some("sk-12345678")
            ),
            "you sent *** twice: ***"
        );
        // Too short to mask safely: ordinary words would go.
        assert_eq!(scrub("a b", Some("a")), "a b");
    }

    #[test]
    fn quotes_are_bounded_and_masked_across_the_cut() {
        let long = "é".repeat(200_000);
        let quoted = quote_upstream(&long, None);
        assert_eq!(quoted.chars().count(), MAX_QUOTE_CHARS + 1);
        assert!(quoted.ends_with('…'));
        // A token that starts before the cut is masked whole, not quoted in part.
        let text = format!("{} Bearer {}", "x".repeat(290), "T".repeat(2000));
        let quoted = quote_upstream(&text, None);
        assert!(!quoted.contains('T'), "{quoted}");
        let s = snippet(text.as_bytes(), 296, None);
        assert!(s.len() <= 296 && !s.contains('T'), "{s}");
        // Cut on a character boundary.
        assert_eq!(snippet("éé".as_bytes(), 3, None), "é");
        assert_eq!(
            quote_input(&"n".repeat(100)).chars().count(),
            MAX_INPUT_CHARS + 3
        );
    }
}
