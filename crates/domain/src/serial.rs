//! The per-customer serial OpenKJ polls (`getSerial`) to notice that something changed.
//!
//! OpenKJ only compares serials for inequality, but it treats 0 (and anything that is not
//! a whole int32) as "invalid" and ignores the reply. So the serial is a counter in
//! `1..=2147483647` that wraps back to 1, never to 0.

use std::fmt;

/// A serial value: `1..=i32::MAX`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Serial(i32);

/// A serial outside `1..=i32::MAX`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a serial must be between 1 and 2147483647")]
pub struct InvalidSerial;

impl Serial {
    /// The serial of a customer that never changed anything.
    pub const INITIAL: Self = Self(1);
    /// The largest serial; the next one is [`Serial::INITIAL`].
    pub const MAX: Self = Self(i32::MAX);

    pub fn new(value: i32) -> Result<Self, InvalidSerial> {
        if value < 1 {
            return Err(InvalidSerial);
        }
        Ok(Self(value))
    }

    pub const fn get(self) -> i32 {
        self.0
    }

    /// The serial after one more change: +1, wrapping from `i32::MAX` to 1.
    #[must_use]
    pub const fn next(self) -> Self {
        if self.0 == i32::MAX {
            Self::INITIAL
        } else {
            Self(self.0 + 1)
        }
    }
}

impl Default for Serial {
    fn default() -> Self {
        Self::INITIAL
    }
}

impl fmt::Display for Serial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// The result of a write that OpenKJ may need to notice, with the customer's serial as it
/// stands after the write (bumped exactly when the write changed something).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WithSerial<T> {
    pub value: T,
    pub serial: Serial,
}

impl<T> WithSerial<T> {
    pub fn new(value: T, serial: Serial) -> Self {
        Self { value, serial }
    }

    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> WithSerial<U> {
        WithSerial {
            value: f(self.value),
            serial: self.serial,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn initial_serial_is_one_not_zero() {
        assert_eq!(Serial::INITIAL.get(), 1);
        assert_eq!(Serial::default(), Serial::INITIAL);
    }

    #[test]
    fn next_counts_up_by_one() {
        assert_eq!(Serial::new(41).unwrap().next().get(), 42);
    }

    #[test]
    fn next_wraps_from_int32_max_to_one() {
        assert_eq!(Serial::MAX.get(), 2_147_483_647);
        assert_eq!(Serial::MAX.next(), Serial::INITIAL);
    }

    #[test]
    fn zero_and_negative_serials_are_refused() {
        assert_eq!(Serial::new(0), Err(InvalidSerial));
        assert_eq!(Serial::new(-5), Err(InvalidSerial));
    }
}
