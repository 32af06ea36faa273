//! Integers of request bodies read as JSON Schema reads them: `type: integer` is any
//! number with a zero fractional part, so `5.0` is the integer 5 (JSON itself has one
//! number type). serde reads `5.0` into an `i32` as a type error; a client that holds
//! every number as a double (JavaScript, or a generator following the OpenAPI document)
//! would get a 400 for a value the document allows. A fraction, or a number outside the
//! field's range, is still refused, naming the field.
//!
//! Use with `#[serde(default, deserialize_with = "whole::option")]` on an `Option<i32>` /
//! `Option<i64>` field, or `whole::present` on a PATCH field (`Option<Option<_>>`); query
//! and path parameters, which arrive as text, go through [`parse`] (`?page=2.0` is page 2).

use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, Deserializer, Unexpected, Visitor};

/// An integer type a body field can hold.
pub trait WholeNumber: Sized {
    /// The smallest and largest value, for the error message.
    const RANGE: (i64, i64);
    /// `value` as `Self`, `None` when out of range.
    fn from_i64(value: i64) -> Option<Self>;
}

impl WholeNumber for i32 {
    const RANGE: (i64, i64) = (i32::MIN as i64, i32::MAX as i64);

    fn from_i64(value: i64) -> Option<Self> {
        i32::try_from(value).ok()
    }
}

impl WholeNumber for u32 {
    const RANGE: (i64, i64) = (0, u32::MAX as i64);

    fn from_i64(value: i64) -> Option<Self> {
        u32::try_from(value).ok()
    }
}

impl WholeNumber for i64 {
    const RANGE: (i64, i64) = (i64::MIN, i64::MAX);

    fn from_i64(value: i64) -> Option<Self> {
        Some(value)
    }
}

/// Reads a whole number written as text: digits (`42`, `-3`), or any decimal number with
/// a zero fraction (`42.0`, `4.2e1`). `None` for anything else, a fraction, or a number
/// outside `T`'s range.
pub fn parse<T: WholeNumber>(text: &str) -> Option<T> {
    if let Ok(value) = text.parse::<i64>() {
        return T::from_i64(value);
    }
    let looks_decimal = text
        .bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b'+' | b'-' | b'.' | b'e' | b'E'));
    let value = text.parse::<f64>().ok().filter(|_| looks_decimal)?;
    whole(value).and_then(T::from_i64)
}

/// `value` as an `i64` when it is whole and in range.
fn whole(value: f64) -> Option<i64> {
    // Exactly representable bounds: -2^63 is an f64, and every whole f64 below 2^63 fits
    // an i64. NaN and the infinities fail the comparisons.
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_precision_loss,
        reason = "checked: whole and within the i64 range before the cast"
    )]
    let whole = (value.fract() == 0.0 && value >= i64::MIN as f64 && value < -(i64::MIN as f64))
        .then_some(value as i64);
    whole
}

/// Reads an optional whole number; `null` and a left-out field are `None`.
///
/// # Errors
/// A value that is not a number, has a fraction, or is out of `T`'s range.
pub fn option<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: WholeNumber,
{
    deserializer.deserialize_option(OptionVisitor(PhantomData))
}

/// Like [`option`], keeping `null` apart from a left-out field: `Some(None)` is `null`.
///
/// # Errors
/// As [`option`].
#[allow(
    clippy::option_option,
    reason = "absent, null and a value are three cases"
)]
pub fn present<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: WholeNumber,
{
    option(deserializer).map(Some)
}

struct OptionVisitor<T>(PhantomData<T>);

impl<'de, T: WholeNumber> Visitor<'de> for OptionVisitor<T> {
    type Value = Option<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        expecting::<T>(f)
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer
            .deserialize_any(WholeVisitor(PhantomData))
            .map(Some)
    }
}

struct WholeVisitor<T>(PhantomData<T>);

fn expecting<T: WholeNumber>(f: &mut fmt::Formatter<'_>) -> fmt::Result {
    let (min, max) = T::RANGE;
    write!(f, "a whole number from {min} to {max}")
}

impl<T: WholeNumber> Visitor<'_> for WholeVisitor<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        expecting::<T>(f)
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<T, E> {
        T::from_i64(value).ok_or_else(|| E::invalid_value(Unexpected::Signed(value), &self))
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<T, E> {
        i64::try_from(value)
            .ok()
            .and_then(T::from_i64)
            .ok_or_else(|| E::invalid_value(Unexpected::Unsigned(value), &self))
    }

    fn visit_f64<E: de::Error>(self, value: f64) -> Result<T, E> {
        whole(value)
            .and_then(T::from_i64)
            .ok_or_else(|| E::invalid_value(Unexpected::Float(value), &self))
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;

    #[derive(Debug, Deserialize)]
    #[allow(
        clippy::option_option,
        reason = "absent, null and a value are three cases"
    )]
    struct Body {
        #[serde(default, deserialize_with = "option")]
        small: Option<i32>,
        #[serde(default, deserialize_with = "option")]
        big: Option<i64>,
        #[serde(default, deserialize_with = "present")]
        patch: Option<Option<i32>>,
    }

    fn parse_body(json: &str) -> Result<Body, String> {
        serde_json::from_str(json).map_err(|err| err.to_string())
    }

    #[test]
    fn a_number_with_a_zero_fraction_is_the_integer() {
        let body = parse_body(r#"{"small": 5.0, "big": -12.0, "patch": 2147483647.0}"#).unwrap();

        assert_eq!(body.small, Some(5));
        assert_eq!(body.big, Some(-12));
        assert_eq!(body.patch, Some(Some(i32::MAX)));
    }

    #[test]
    fn null_and_absent_stay_apart_only_where_asked() {
        let null = parse_body(r#"{"small": null, "patch": null}"#).unwrap();
        let absent = parse_body("{}").unwrap();

        assert_eq!((null.small, null.patch), (None, Some(None)));
        assert_eq!((absent.small, absent.patch), (None, None));
    }

    #[test]
    fn fractions_strings_and_out_of_range_numbers_are_refused() {
        for json in [
            r#"{"small": 1.5}"#,
            r#"{"small": "5"}"#,
            r#"{"small": true}"#,
            r#"{"small": 2147483648}"#,
            r#"{"small": -2147483649.0}"#,
            r#"{"big": 1e300}"#,
            r#"{"big": 9223372036854775808}"#,
            r#"{"patch": 0.1}"#,
        ] {
            let err = parse_body(json).unwrap_err();
            assert!(
                err.contains("expected a whole number from"),
                "{json}: {err}"
            );
        }
    }

    #[test]
    fn text_is_read_as_the_number_it_spells() {
        assert_eq!(super::parse::<u32>("42"), Some(42));
        assert_eq!(super::parse::<u32>("42.0"), Some(42));
        assert_eq!(super::parse::<u32>("4.2e1"), Some(42));
        assert_eq!(super::parse::<i32>("-3"), Some(-3));
        assert_eq!(super::parse::<i32>("38775498.0"), Some(38_775_498));
        for text in [
            "4.5",
            "-1",
            "4294967296",
            "inf",
            "NaN",
            "infinity",
            "",
            "0x10",
            "1_000",
        ] {
            assert_eq!(super::parse::<u32>(text), None, "{text}");
        }
        assert_eq!(super::parse::<i32>("2147483648.0"), None);
    }

    #[test]
    fn the_extremes_of_i64_are_read_exactly() {
        let body = parse_body(r#"{"big": -9223372036854775808}"#).unwrap();
        assert_eq!(body.big, Some(i64::MIN));
        let body = parse_body(r#"{"big": 9223372036854775807}"#).unwrap();
        assert_eq!(body.big, Some(i64::MAX));
    }
}
