//! Forward-pagination arguments, validated once for every face: GraphQL's `first`/`after`/`query`
//! and gRPC's `page_size`/`page_token`/`query` become one [`PageArgs`].

use blaxel_transport::{MAX_QUERY_CHARS, normalise_query};

/// Items of a page when the caller does not say (GraphQL `first`, gRPC `page_size` 0).
pub const DEFAULT_FIRST: u32 = 20;

/// Validated forward-pagination arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageArgs {
    /// Items wanted, `0..=maxFirst`.
    pub first: u32,
    /// The cursor to resume after (not yet decoded: its binding is checked by [`super::paginate`]).
    pub after: Option<String>,
    /// The search query, normalised as the upstream does (the transport's `normalise_query`); empty = none.
    pub query: String,
}

/// Why pagination arguments were refused (`BAD_USER_INPUT` / `INVALID_ARGUMENT`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ArgsError {
    /// `first` below zero.
    #[error("`{arg}` must be 0 or more, got {value}")]
    Negative {
        /// The argument's name in the face (`first`, `page_size`).
        arg: &'static str,
        /// What was sent.
        value: i64,
    },
    /// `first` above the gateway's maximum.
    #[error("`{arg}` must be at most {max} (the gateway's maxFirst), got {value}")]
    TooLarge {
        /// The argument's name in the face.
        arg: &'static str,
        /// What was sent.
        value: i64,
        /// The configured maximum.
        max: u32,
    },
    /// `query` over the upstream's limit once normalised.
    #[error("`query` must be at most {MAX_QUERY_CHARS} characters, got {0}")]
    QueryTooLong(usize),
}

impl PageArgs {
    /// Validates `first` (`None`: [`DEFAULT_FIRST`]) against `max_first`, and `query` after
    /// normalisation (lowercasing may lengthen a string: the upstream checks the normalised form).
    ///
    /// # Errors
    /// [`ArgsError`] naming the argument `arg` (the face's name for `first`).
    pub fn new(
        arg: &'static str,
        first: Option<i64>,
        after: Option<String>,
        query: Option<&str>,
        max_first: u32,
    ) -> Result<PageArgs, ArgsError> {
        let value = first.unwrap_or(i64::from(DEFAULT_FIRST));
        if value < 0 {
            return Err(ArgsError::Negative { arg, value });
        }
        let first = u32::try_from(value)
            .ok()
            .filter(|&n| n <= max_first)
            .ok_or(ArgsError::TooLarge {
                arg,
                value,
                max: max_first,
            })?;
        let query = normalise_query(query);
        let chars = query.chars().count();
        if chars > MAX_QUERY_CHARS {
            return Err(ArgsError::QueryTooLong(chars));
        }
        Ok(PageArgs {
            first,
            after,
            query,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validates_first_and_the_normalised_query() {
        let ok = PageArgs::new("first", None, None, Some(" AB "), 500).unwrap();
        assert_eq!((ok.first, ok.query.as_str()), (DEFAULT_FIRST, "ab"));
        assert_eq!(
            PageArgs::new("first", Some(0), None, None, 500)
                .unwrap()
                .first,
            0
        );
        assert_eq!(
            PageArgs::new("first", Some(-1), None, None, 500),
            Err(ArgsError::Negative {
                arg: "first",
                value: -1
            })
        );
        assert!(matches!(
            PageArgs::new("page_size", Some(i64::MAX), None, None, 500),
            Err(ArgsError::TooLarge {
                arg: "page_size",
                ..
            })
        ));
        assert!(PageArgs::new("first", Some(501), None, None, 500).is_err());
        // 200 characters that grow when lowercased: 'İ' (2 bytes, 1 char) lowercases to 2 chars.
        let growing = "İ".repeat(200);
        assert_eq!(
            PageArgs::new("first", None, None, Some(&growing), 500),
            Err(ArgsError::QueryTooLong(400))
        );
        assert!(PageArgs::new("first", None, None, Some(&"a".repeat(200)), 500).is_ok());
    }
}
