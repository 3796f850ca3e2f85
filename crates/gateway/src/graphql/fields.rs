//! One field list per GraphQL object type, from which both resolvers are generated: the
//! async-graphql `#[Object]` resolvers and the synchronous walk's [`Plain`](super::walk::Plain) impl. A field added to
//! the list exists in both, with the same name and the same value, by construction.
//!
//! ```text
//! model_object! {
//!     JobExecutionStats<'_> as "JobExecutionStats", m;
//!     /// Cancelled tasks.
//!     cancelled "cancelled": int = m.cancelled;
//! }
//! ```
//!
//! Each entry is `rust_name "graphqlName": kind = getter;`, where `m` (named by the invocation)
//! is the model behind the object ([`HasModel::model`]) and the kind says how the getter's value
//! is served:
//!
//! | kind | getter gives | GraphQL type |
//! |---|---|---|
//! | `int` | `Option<i64>` | `Int` (32-bit: a larger value is null with an error, see [`int32`]) |
//! | `str` | `Option<&str>` | `String` |
//! | `time` | `Option<&str>` (upstream text) | `DateTime` (normalised; an unreadable value is a field error) |
//! | `object(W)` | `&M` | `W!` where `W<'_>(&M)` |
//! | `optional(W)` | `Option<&M>` | `W` |
//! | `list(W)` | `&[M]` | `[W!]!` |
//! | `status(E)` | `Option<&S>` with `E: From<&S>` | enum `E` |
//! | `env` | `Option<&EnvOverride>` | `JSON` object |
//! | `tasks` | `&JobExecution` | `[JobExecutionTask!]!`: inline, else from the tasks listing |
//! | `id(KIND)` | `(Option<&str>, [&str; N])`: the object's workspace and key | `ID!` (global id; the caller's workspace when the object names none) |
//!
//! Fields with arguments or that load more data are written by hand in an `@extra { ... }` block
//! at the end of the invocation (the `@` tells it from a field name): the walk does not know them and hands such selections to the resolvers.

use async_graphql::{Context, Json, Result};
use blaxel_models::EnvOverride;

use super::error::to_graphql;
use crate::error::{Code, Error};

/// An object type of the schema that shows one upstream model.
pub trait HasModel {
    /// The upstream model type.
    type Model;
    /// The model this object shows.
    fn model(&self) -> &Self::Model;
}

/// A count served as GraphQL's `Int`, which is 32-bit: a value beyond it is `null` with an
/// `UPSTREAM_ERROR` that names it (added at this field's path), never a wrong number nor one
/// that typed clients cannot read.
pub fn int32(ctx: &Context<'_>, value: Option<i64>) -> Option<i32> {
    value.and_then(|v| {
        i32::try_from(v)
            .map_err(|_| {
                let err = to_graphql(out_of_range(v)).into_server_error(ctx.item.pos);
                ctx.add_error(ctx.set_error_path(err));
            })
            .ok()
    })
}

/// [`int32`] for a non-null field: a value beyond 32 bits is a field error (its parent is
/// nulled, as GraphQL prescribes for a failed non-null field).
pub fn strict_int32(value: i64) -> Result<i32> {
    i32::try_from(value).map_err(|_| to_graphql(out_of_range(value)))
}

fn out_of_range(value: i64) -> Error {
    Error::new(
        Code::UpstreamError,
        format!("the upstream sent {value}, beyond GraphQL's 32-bit Int: served as null"),
    )
}

/// The `envOverride` value: the upstream sends an object or a string holding one; both are
/// served as an object. An unreadable value is an `UPSTREAM_ERROR` on the field.
pub fn env_override(
    env: Option<&EnvOverride>,
) -> Result<Option<Json<serde_json::Map<String, serde_json::Value>>>> {
    match env {
        None => Ok(None),
        Some(env) => env.vars().map(|vars| Some(Json(vars))).map_err(|e| {
            to_graphql(Error::new(
                Code::UpstreamError,
                format!("upstream sent an unreadable envOverride: {e}"),
            ))
        }),
    }
}

/// The GraphQL type of a field of `kind`.
macro_rules! field_type {
    (int) => { Option<i32> };
    (str) => { Option<&str> };
    (time) => { async_graphql::Result<Option<$crate::graphql::scalars::DateTime>> };
    (object $w:ident) => { $w<'_> };
    (optional $w:ident) => { Option<$w<'_>> };
    (list $w:ident) => { Vec<$w<'_>> };
    (tasks) => { Vec<$crate::graphql::execution::JobExecutionTask<'_>> };
    (status $e:ident) => { Option<$e> };
    (env) => { async_graphql::Result<Option<async_graphql::Json<serde_json::Map<String, serde_json::Value>>>> };
    (id $k:ident) => { async_graphql::ID };
}

/// The async-graphql resolver's value of a field of `kind`, from the getter's value `$v`. A
/// failed nullable field is `null` in place with its error (see [`super::error::or_null`]).
macro_rules! field_resolve {
    (int, $v:expr, $ctx:ident) => {
        $crate::graphql::fields::int32($ctx, $v)
    };
    (str, $v:expr, $ctx:ident) => {
        $v
    };
    (time, $v:expr, $ctx:ident) => {
        $crate::graphql::error::or_null($ctx, $crate::graphql::scalars::timestamp($v))
    };
    (object $w:ident, $v:expr, $ctx:ident) => {
        $w::from($v)
    };
    (optional $w:ident, $v:expr, $ctx:ident) => {
        ($v).map($w::from)
    };
    (list $w:ident, $v:expr, $ctx:ident) => {
        ($v).iter().map($w::from).collect()
    };
    (tasks, $v:expr, $ctx:ident) => {
        $crate::graphql::execution::tasks_of($ctx, $v).await
    };
    (status $e:ident, $v:expr, $ctx:ident) => {
        ($v).map($e::from)
    };
    (env, $v:expr, $ctx:ident) => {
        $crate::graphql::error::or_null($ctx, $crate::graphql::fields::env_override($v))
    };
    (id $k:ident, $v:expr, $ctx:ident) => {{
        let (workspace, key) = $v;
        let caller = &$ctx.data_unchecked::<$crate::caller::Caller>().workspace;
        $crate::graphql::node::global_id(
            $k,
            $crate::graphql::node::id_workspace(workspace, caller),
            &key,
        )
    }};
}

/// The walk's value of a field of `kind`, from the getter's value `$v`; `?` gives up (the
/// resolvers then answer, with their errors and paths).
macro_rules! field_walk {
    (int, $v:expr, $walk:ident, $set:ident) => {
        $crate::graphql::walk::int($v)?
    };
    (str, $v:expr, $walk:ident, $set:ident) => {
        $crate::graphql::walk::string($v)
    };
    (time, $v:expr, $walk:ident, $set:ident) => {
        $crate::graphql::walk::time($v)?
    };
    (object $w:ident, $v:expr, $walk:ident, $set:ident) => {
        $walk.object(&$w::from($v), $set)?
    };
    (optional $w:ident, $v:expr, $walk:ident, $set:ident) => {
        $walk.optional(($v).map($w::from).as_ref(), $set)?
    };
    (list $w:ident, $v:expr, $walk:ident, $set:ident) => {
        $walk.list(($v).iter().map($w::from), $set)?
    };
    (tasks, $v:expr, $walk:ident, $set:ident) => {
        $walk.list($crate::graphql::execution::inline_tasks($v)?, $set)?
    };
    (status $e:ident, $v:expr, $walk:ident, $set:ident) => {{
        static NAMES: std::sync::OnceLock<Box<[($e, async_graphql::Name)]>> =
            std::sync::OnceLock::new();
        ($v).map_or(async_graphql::Value::Null, |s| {
            $crate::graphql::walk::enum_name($e::from(s), &NAMES)
        })
    }};
    (env, $v:expr, $walk:ident, $set:ident) => {
        match $v {
            None => async_graphql::Value::Null,
            Some(env) => async_graphql::to_value(env.vars().ok()?).ok()?,
        }
    };
    (id $k:ident, $v:expr, $walk:ident, $set:ident) => {{
        let (workspace, key) = $v;
        let workspace = $crate::graphql::node::id_workspace(workspace, $walk.workspace);
        async_graphql::Value::String($crate::graphql::node::global_id($k, workspace, &key).0)
    }};
}

/// Writes the walk's value of a field of `kind` as JSON to `$out`, from the getter's value `$v`
/// (the same value as [`field_walk`], without building it); `?` gives up.
macro_rules! field_write {
    (int, $v:expr, $walk:ident, $set:ident, $out:ident) => {
        $crate::graphql::walk::write_int($out, $v)?
    };
    (str, $v:expr, $walk:ident, $set:ident, $out:ident) => {
        $crate::graphql::walk::write_string($out, $v)
    };
    (time, $v:expr, $walk:ident, $set:ident, $out:ident) => {
        $crate::graphql::walk::write_time($out, $v)?
    };
    (object $w:ident, $v:expr, $walk:ident, $set:ident, $out:ident) => {
        $walk.write_object(&$w::from($v), $set, $out)?
    };
    (optional $w:ident, $v:expr, $walk:ident, $set:ident, $out:ident) => {
        $walk.write_optional(($v).map($w::from).as_ref(), $set, $out)?
    };
    (list $w:ident, $v:expr, $walk:ident, $set:ident, $out:ident) => {
        $walk.write_list(($v).iter().map($w::from), $set, $out)?
    };
    (tasks, $v:expr, $walk:ident, $set:ident, $out:ident) => {
        $walk.write_list($crate::graphql::execution::inline_tasks($v)?, $set, $out)?
    };
    (env, $v:expr, $walk:ident, $set:ident, $out:ident) => {
        $crate::graphql::walk::write_env($out, $v)?
    };
    ($($kind:ident)+, $v:expr, $walk:ident, $set:ident, $out:ident) => {
        // Enums and ids: built as the walk builds them, then written.
        $crate::graphql::json::write_value($out, &field_walk!($($kind)+, $v, $walk, $set)).ok()?
    };
}

/// Generates the `#[Object]` resolvers and the [`Plain`](super::walk::Plain) impl of an object
/// type from its one field list (see the module docs).
macro_rules! model_object {
    (
        $ty:ty as $type_name:literal $(: $($iface:literal),+)?, $m:ident;
        $(
            $(#[$doc:meta])*
            $field:ident $name:literal : $kind:ident $($arg:ident)? = $get:expr;
        )*
        $(@extra { $($extra:tt)* })?
    ) => {
        #[async_graphql::Object(name = $type_name)]
        impl $ty {
            $(
                $(#[$doc])*
                #[graphql(name = $name)]
                pub async fn $field(&self, ctx: &async_graphql::Context<'_>) -> field_type!($kind $($arg)?) {
                    let _ = ctx;
                    let $m = $crate::graphql::fields::HasModel::model(self);
                    field_resolve!($kind $($arg)?, $get, ctx)
                }
            )*
            $($($extra)*)?
        }

        impl $crate::graphql::walk::Plain for $ty {
            const TYPE: &'static str = $type_name;
            const INTERFACES: &'static [&'static str] = &[$($($iface),+)?];

            fn field(
                &self,
                walk: &$crate::graphql::walk::Walk<'_>,
                name: &str,
                set: &async_graphql::parser::types::SelectionSet,
            ) -> Option<async_graphql::Value> {
                let _ = (walk, set);
                let $m = $crate::graphql::fields::HasModel::model(self);
                Some(match name {
                    $($name => field_walk!($kind $($arg)?, $get, walk, set),)*
                    _ => return None,
                })
            }

            const FIELDS: &'static [&'static str] = &[$($name),*];

            fn write_field<'a>(
                &self,
                walk: &$crate::graphql::walk::Walk<'a>,
                index: usize,
                set: &'a async_graphql::parser::types::SelectionSet,
                out: &mut Vec<u8>,
            ) -> Option<()> {
                let _ = (walk, set);
                let $m = $crate::graphql::fields::HasModel::model(self);
                // `at` is a constant at each test: the tests fold into one jump on `index`.
                let mut at = 0usize;
                $(
                    if index == at {
                        field_write!($kind $($arg)?, $get, walk, set, out);
                        return Some(());
                    }
                    at += 1;
                )*
                let _ = at;
                None
            }
        }
    };
}

/// Declares a borrowed view `W<'a>(&'a M)` of an upstream model and its [`HasModel`] impl.
macro_rules! model_view {
    ($(#[$doc:meta])* $w:ident($model:ty)) => {
        $(#[$doc])*
        pub struct $w<'a>(pub &'a $model);

        impl $crate::graphql::fields::HasModel for $w<'_> {
            type Model = $model;
            fn model(&self) -> &$model {
                self.0
            }
        }

        impl<'a> From<&'a $model> for $w<'a> {
            fn from(model: &'a $model) -> Self {
                Self(model)
            }
        }
    };
}
