//! Portable column types: one Diesel SQL type per kind of value, stored natively on
//! PostgreSQL and in a documented, order-preserving form on SQLite (ADR 0010).
//!
//! | SQL type             | Rust value                      | PostgreSQL    | SQLite                        |
//! |----------------------|---------------------------------|---------------|-------------------------------|
//! | [`PortableUuid`]     | [`DbUuid`] (`uuid::Uuid`)       | `uuid`        | `TEXT`, lower-case hyphenated |
//! | [`PortableInstant`]  | [`DbInstant`] (`OffsetDateTime`) | `timestamptz` | `INTEGER` µs since Unix epoch |
//! | [`PortableJson`]     | [`DbJson`] (JSON text)          | `jsonb`       | `TEXT`                        |
//!
//! Both keep microseconds exactly, so a value reads back equal on either backend.
//! Calendar days (usage counts) need no type of their own: Diesel's `Date` is `date` on
//! PostgreSQL and fixed-width TEXT `YYYY-MM-DD` on SQLite, whose text order is date order.
//! Sub-microsecond digits are dropped (floored) on write, as PostgreSQL would; the
//! domain's clock never produces them. Booleans and text use Diesel's own `Bool`/`Text`,
//! which are portable already.

use std::io::Write;

use diesel::deserialize::FromSqlRow;
use diesel::deserialize::{self, FromSql};
use diesel::expression::AsExpression;
use diesel::pg::{Pg, PgValue};
use diesel::query_builder::QueryId;
use diesel::serialize::{self, Output, ToSql};
use diesel::sql_types::SqlType;
use diesel::sql_types::{BigInt, Text, Timestamptz};
use diesel::sqlite::{Sqlite, SqliteValue};
use keyward_domain::ports::truncate_to_micros;
use time::OffsetDateTime;
use uuid::Uuid;

/// A UUID: native `uuid` on PostgreSQL, 36-character lower-case TEXT on SQLite (whose
/// byte-wise order equals the UUID's, so `ORDER BY id` agrees across backends).
#[derive(Debug, Clone, Copy, Default, SqlType, QueryId)]
#[diesel(postgres_type(oid = 2950, array_oid = 2951))]
#[diesel(sqlite_type(name = "Text"))]
pub struct PortableUuid;

/// An instant in UTC with microsecond precision: `timestamptz` on PostgreSQL, INTEGER
/// microseconds since 1970-01-01T00:00:00Z on SQLite (exact, and ordered numerically).
#[derive(Debug, Clone, Copy, Default, SqlType, QueryId)]
#[diesel(postgres_type(oid = 1184, array_oid = 1185))]
#[diesel(sqlite_type(name = "Long"))]
pub struct PortableInstant;

/// A JSON document: `jsonb` on PostgreSQL (parsed and checked by the server, its object
/// keys reordered), TEXT on SQLite (kept byte for byte). Handled as JSON text either way;
/// what it must hold is the caller's to check.
#[derive(Debug, Clone, Copy, Default, SqlType, QueryId)]
#[diesel(postgres_type(oid = 3802, array_oid = 3807))]
#[diesel(sqlite_type(name = "Text"))]
pub struct PortableJson;

/// A UUID as bound to or read from a [`PortableUuid`] column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, AsExpression, FromSqlRow)]
#[diesel(sql_type = PortableUuid)]
pub struct DbUuid(pub Uuid);

/// An instant as bound to or read from a [`PortableInstant`] column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, AsExpression, FromSqlRow)]
#[diesel(sql_type = PortableInstant)]
pub struct DbInstant(pub OffsetDateTime);

/// JSON text as bound to or read from a [`PortableJson`] column.
#[derive(Debug, Clone, PartialEq, Eq, AsExpression, FromSqlRow)]
#[diesel(sql_type = PortableJson)]
pub struct DbJson(pub String);

/// The only version of PostgreSQL's binary `jsonb` format: this byte, then the text.
const JSONB_VERSION: u8 = 1;

impl ToSql<PortableUuid, Pg> for DbUuid {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> serialize::Result {
        ToSql::<diesel::sql_types::Uuid, Pg>::to_sql(&self.0, out)
    }
}

impl FromSql<PortableUuid, Pg> for DbUuid {
    fn from_sql(bytes: PgValue<'_>) -> deserialize::Result<Self> {
        FromSql::<diesel::sql_types::Uuid, Pg>::from_sql(bytes).map(Self)
    }
}

impl ToSql<PortableUuid, Sqlite> for DbUuid {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Sqlite>) -> serialize::Result {
        out.set_value(self.0.hyphenated().to_string());
        Ok(serialize::IsNull::No)
    }
}

impl FromSql<PortableUuid, Sqlite> for DbUuid {
    fn from_sql(value: SqliteValue<'_, '_, '_>) -> deserialize::Result<Self> {
        let text = <String as FromSql<Text, Sqlite>>::from_sql(value)?;
        Ok(Self(Uuid::parse_str(&text)?))
    }
}

impl ToSql<PortableInstant, Pg> for DbInstant {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> serialize::Result {
        let exact = truncate_to_micros(self.0);
        ToSql::<Timestamptz, Pg>::to_sql(&exact, &mut out.reborrow())
    }
}

impl FromSql<PortableInstant, Pg> for DbInstant {
    fn from_sql(bytes: PgValue<'_>) -> deserialize::Result<Self> {
        FromSql::<Timestamptz, Pg>::from_sql(bytes).map(Self)
    }
}

impl ToSql<PortableInstant, Sqlite> for DbInstant {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Sqlite>) -> serialize::Result {
        out.set_value(unix_micros(self.0)?);
        Ok(serialize::IsNull::No)
    }
}

impl FromSql<PortableInstant, Sqlite> for DbInstant {
    fn from_sql(value: SqliteValue<'_, '_, '_>) -> deserialize::Result<Self> {
        let micros = <i64 as FromSql<BigInt, Sqlite>>::from_sql(value)?;
        from_unix_micros(micros).map(Self)
    }
}

impl ToSql<PortableJson, Pg> for DbJson {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> serialize::Result {
        out.write_all(&[JSONB_VERSION])?;
        out.write_all(self.0.as_bytes())?;
        Ok(serialize::IsNull::No)
    }
}

impl FromSql<PortableJson, Pg> for DbJson {
    fn from_sql(value: PgValue<'_>) -> deserialize::Result<Self> {
        match value.as_bytes().split_first() {
            Some((&JSONB_VERSION, text)) => Ok(Self(std::str::from_utf8(text)?.to_owned())),
            _ => Err("unsupported jsonb encoding version".into()),
        }
    }
}

impl ToSql<PortableJson, Sqlite> for DbJson {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Sqlite>) -> serialize::Result {
        out.set_value(self.0.as_str());
        Ok(serialize::IsNull::No)
    }
}

impl FromSql<PortableJson, Sqlite> for DbJson {
    fn from_sql(value: SqliteValue<'_, '_, '_>) -> deserialize::Result<Self> {
        <String as FromSql<Text, Sqlite>>::from_sql(value).map(Self)
    }
}

/// Microseconds since the Unix epoch, floored (sub-microsecond digits dropped).
pub(crate) fn unix_micros(
    at: OffsetDateTime,
) -> Result<i64, Box<dyn std::error::Error + Send + Sync>> {
    let nanos = truncate_to_micros(at).unix_timestamp_nanos();
    Ok(i64::try_from(nanos.div_euclid(1_000))?)
}

fn from_unix_micros(micros: i64) -> deserialize::Result<OffsetDateTime> {
    Ok(OffsetDateTime::from_unix_timestamp_nanos(
        i128::from(micros) * 1_000,
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn unix_micros_round_trip_keeps_microseconds_exactly() {
        for at in [
            datetime!(2026-06-01 12:00:00.123456 UTC),
            datetime!(1969-12-31 23:59:59.999999 UTC),
            datetime!(1970-01-01 00:00:00 UTC),
        ] {
            let micros = unix_micros(at).unwrap();
            assert_eq!(from_unix_micros(micros).unwrap(), at);
        }
    }

    #[test]
    fn unix_micros_drops_sub_microsecond_digits_downward() {
        let at = datetime!(1969-12-31 23:59:59.999999999 UTC);
        assert_eq!(
            from_unix_micros(unix_micros(at).unwrap()).unwrap(),
            datetime!(1969-12-31 23:59:59.999999 UTC)
        );
    }

    #[test]
    fn unix_micros_order_follows_time_order() {
        let earlier = datetime!(1969-06-01 00:00:00 UTC);
        let later = datetime!(2026-06-01 00:00:00.000001 UTC);
        assert!(unix_micros(earlier).unwrap() < unix_micros(later).unwrap());
    }
}
