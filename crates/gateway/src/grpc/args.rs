//! Request arguments of the gRPC face, read into the core's terms: resource names (AIP-122),
//! `order_by` (AIP-132) and `page_size`/`page_token` (AIP-158) into [`PageArgs`].

use blaxel_models::PaginationSort;

use super::status::{Failure, invalid};
use crate::{
    graphql::query::MAX_NAME_CHARS,
    pagination::{DEFAULT_FIRST, PageArgs},
};

/// Largest page served: a `page_size` above it is served as this (AIP-158 coerces, not refuses).
pub const MAX_PAGE_SIZE: i32 = 100;

/// The ids in resource name `name` of the shape `pattern` (`jobs/{job}/executions/{id}`); the
/// error names request field `field` and the expected shape.
pub fn parse_name<'a, const N: usize>(
    field: &'static str,
    name: &'a str,
    pattern: &str,
) -> Result<[&'a str; N], Failure> {
    let wrong = || {
        invalid(
            field,
            format!("`{field}` must be `{pattern}`, got {name:?}"),
        )
    };
    let mut parts = name.split('/');
    let mut ids = [""; N];
    let mut i = 0;
    for literal in pattern.split('/') {
        let part = parts.next().ok_or_else(wrong)?;
        if literal.starts_with('{') {
            if part.is_empty() || part.chars().count() > MAX_NAME_CHARS || i == N {
                return Err(wrong());
            }
            ids[i] = part;
            i += 1;
        } else if part != literal {
            return Err(wrong());
        }
    }
    if parts.next().is_some() || i != N {
        return Err(wrong());
    }
    Ok(ids)
}

/// `order_by` (AIP-132) as the upstream sort: `create_time desc` (default, also for empty),
/// `create_time` / `create_time asc`, `name` / `name asc`, `name desc`. Spaces are free.
pub fn order_by(raw: &str) -> Result<PaginationSort, Failure> {
    let words: Vec<&str> = raw.split_whitespace().collect();
    Ok(match words.as_slice() {
        [] | ["create_time", "desc"] => PaginationSort::CreatedAtDesc,
        ["create_time"] | ["create_time", "asc"] => PaginationSort::CreatedAtAsc,
        ["name"] | ["name", "asc"] => PaginationSort::NameAsc,
        ["name", "desc"] => PaginationSort::NameDesc,
        _ => {
            return Err(invalid(
                "order_by",
                format!(
                    "`order_by` must be one of `create_time desc` (default), `create_time`, `name`, `name desc`; got {raw:?}"
                ),
            ));
        }
    })
}

/// `page_size`, `page_token` and `query` as the core's [`PageArgs`]: 0 means 20, above
/// [`MAX_PAGE_SIZE`] is served as it, negative is INVALID_ARGUMENT.
pub fn page_args(
    page_size: i32,
    page_token: &str,
    query: &str,
    max_first: u32,
) -> Result<PageArgs, Failure> {
    let size = match page_size {
        0 => i64::from(DEFAULT_FIRST),
        n => i64::from(n.min(MAX_PAGE_SIZE)),
    };
    let token = (!page_token.is_empty()).then(|| page_token.to_owned());
    PageArgs::new("page_size", Some(size), token, Some(query), max_first).map_err(|e| {
        let field = match e {
            crate::pagination::ArgsError::QueryTooLong(_) => "query",
            _ => "page_size",
        };
        Failure::from(crate::error::Error::from(e)).field(field)
    })
}

/// `total_size` (AIP-158 `int32`) from the upstream's `meta.total`: 0 when unknown.
pub fn total_size(total: Option<i64>) -> i32 {
    total.map_or(0, |t| i32::try_from(t.max(0)).unwrap_or(i32::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_or_name_the_field() {
        let [job] = parse_name::<1>("parent", "jobs/a", "jobs/{job}").unwrap();
        assert_eq!(job, "a");
        let [job, id] =
            parse_name::<2>("name", "jobs/a/executions/b", "jobs/{job}/executions/{id}").unwrap();
        assert_eq!((job, id), ("a", "b"));
        for bad in [
            "",
            "jobs",
            "jobs/",
            "job/a",
            "jobs/a/b",
            "jobs//executions/b",
        ] {
            let err = parse_name::<1>("parent", bad, "jobs/{job}").unwrap_err();
            assert_eq!(err.field, Some("parent"), "{bad}");
        }
        let long = format!("jobs/{}", "a".repeat(MAX_NAME_CHARS + 1));
        assert!(parse_name::<1>("parent", &long, "jobs/{job}").is_err());
    }

    #[test]
    fn order_by_follows_aip_132() {
        assert_eq!(order_by("").unwrap(), PaginationSort::CreatedAtDesc);
        assert_eq!(
            order_by(" create_time  desc ").unwrap(),
            PaginationSort::CreatedAtDesc
        );
        assert_eq!(
            order_by("create_time").unwrap(),
            PaginationSort::CreatedAtAsc
        );
        assert_eq!(order_by("name").unwrap(), PaginationSort::NameAsc);
        assert_eq!(order_by("name desc").unwrap(), PaginationSort::NameDesc);
        assert_eq!(order_by("id").unwrap_err().field, Some("order_by"));
    }

    #[test]
    fn page_size_follows_aip_158() {
        assert_eq!(page_args(0, "", "", 500).unwrap().first, 20);
        assert_eq!(page_args(1000, "", "", 500).unwrap().first, 100);
        assert_eq!(page_args(7, "", "", 500).unwrap().first, 7);
        assert_eq!(
            page_args(-1, "", "", 500).unwrap_err().field,
            Some("page_size")
        );
        assert_eq!(
            page_args(5, "", &"a".repeat(201), 500).unwrap_err().field,
            Some("query")
        );
        assert_eq!(
            page_args(5, "tok", "", 500).unwrap().after.as_deref(),
            Some("tok")
        );
    }
}
