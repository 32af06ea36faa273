//! The API key string itself (SPEC §2): generation, parsing, checksum and hashing.
//!
//! Format: `<prefix>_<body><checksum>` where `body` is 32 CSPRNG bytes in base62
//! (43 characters, left-padded with `0`) and `checksum` is CRC32 of `<prefix>_<body>`
//! in base62 (6 characters). The checksum lets a typo be refused before any storage
//! lookup. Only the SHA-256 of the whole string is ever stored.

use std::fmt;

use sha2::{Digest, Sha256};

/// Length of the base62 body.
pub const BODY_LEN: usize = 43;
/// Length of the base62 checksum.
pub const CHECKSUM_LEN: usize = 6;
/// Length of the display prefix shown in listings.
pub const DISPLAY_PREFIX_LEN: usize = 7;
/// Longest allowed key prefix.
pub const MAX_PREFIX_LEN: usize = 16;

const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// Encodes `bytes` (big-endian) in base62, left-padded with `0` to `width`. Also the
/// body of dashboard sign-in link tokens (`services::sign_in_links`).
pub(crate) fn base62_encode(bytes: &[u8], width: usize) -> String {
    let mut number: Vec<u8> = bytes.to_vec();
    let mut digits: Vec<u8> = Vec::with_capacity(width);
    while number.iter().any(|&b| b != 0) {
        let mut remainder: u32 = 0;
        for byte in &mut number {
            let acc = (remainder << 8) | u32::from(*byte);
            // acc < 62 * 256, so the quotient fits in a byte.
            *byte = u8::try_from(acc / 62).unwrap_or(u8::MAX);
            remainder = acc % 62;
        }
        digits.push(BASE62[remainder as usize]);
    }
    while digits.len() < width {
        digits.push(b'0');
    }
    digits.reverse();
    digits.into_iter().map(char::from).collect()
}

fn is_base62(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_alphanumeric())
}

fn checksum(prefix: &str, body: &str) -> String {
    checksum_digits(prefix, body)
        .into_iter()
        .map(char::from)
        .collect()
}

/// The checksum's base62 digits without allocating: the CRC-32 of `prefix_body` as a
/// 6-digit base62 number (62^6 > 2^32, so it always fits). The same digits as
/// `base62_encode(&crc.to_be_bytes(), CHECKSUM_LEN)`; verification compares these on
/// every request.
fn checksum_digits(prefix: &str, body: &str) -> [u8; CHECKSUM_LEN] {
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(prefix.as_bytes());
    hasher.update(b"_");
    hasher.update(body.as_bytes());
    let mut number = hasher.finalize();
    let mut digits = [b'0'; CHECKSUM_LEN];
    for digit in digits.iter_mut().rev() {
        *digit = BASE62[(number % 62) as usize];
        number /= 62;
    }
    digits
}

/// The configured key prefix (`keys.prefix`, default `kw`): 1..=16 ASCII letters or
/// digits, so the `_` separator is unambiguous.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyPrefix(String);

/// A key prefix that breaks the rules above.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("key prefix must be 1 to {MAX_PREFIX_LEN} ASCII letters or digits")]
pub struct InvalidKeyPrefix;

impl KeyPrefix {
    pub fn new(prefix: impl Into<String>) -> Result<Self, InvalidKeyPrefix> {
        let prefix = prefix.into();
        if prefix.is_empty() || prefix.len() > MAX_PREFIX_LEN || !is_base62(&prefix) {
            return Err(InvalidKeyPrefix);
        }
        Ok(Self(prefix))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for KeyPrefix {
    fn default() -> Self {
        Self("kw".to_owned())
    }
}

/// Why a presented key string was refused without a lookup. Deliberately carries no
/// part of the string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum MalformedKey {
    #[error("key does not start with the expected prefix")]
    WrongPrefix,
    #[error("key has the wrong length")]
    WrongLength,
    #[error("key contains characters outside base62")]
    BadAlphabet,
    #[error("key checksum does not match")]
    BadChecksum,
}

/// A full API key string. Its `Debug` and `Display` never show the secret: it is
/// revealed only through [`PlainKey::expose`], used to hand the key to its owner once.
#[derive(Clone, PartialEq, Eq)]
pub struct PlainKey {
    full: String,
    body_start: usize,
}

impl PlainKey {
    /// Builds a key from 32 random bytes (supplied by a `SecretGenerator`).
    pub fn from_random(prefix: &KeyPrefix, random: &[u8; 32]) -> Self {
        let body = base62_encode(random, BODY_LEN);
        let check = checksum(prefix.as_str(), &body);
        let full = format!("{}_{body}{check}", prefix.as_str());
        Self {
            full,
            body_start: prefix.as_str().len() + 1,
        }
    }

    /// Checks the shape and checksum of a presented key. Nothing is looked up.
    ///
    /// # Errors
    /// [`MalformedKey`]: which rule of the key format `raw` breaks.
    pub fn parse(raw: &str, prefix: &KeyPrefix) -> Result<Self, MalformedKey> {
        check_format(raw, prefix)?;
        Ok(Self {
            full: raw.to_owned(),
            body_start: prefix.as_str().len() + 1,
        })
    }

    /// The hash a presented key is stored under, after the checks of [`Self::parse`],
    /// without copying the key (verification needs nothing else of it).
    ///
    /// # Errors
    /// As [`Self::parse`].
    pub fn hash_presented(raw: &str, prefix: &KeyPrefix) -> Result<KeyHash, MalformedKey> {
        check_format(raw, prefix)?;
        Ok(KeyHash::of(raw))
    }

    /// The whole secret string. Call only to give the key to its owner.
    pub fn expose(&self) -> &str {
        &self.full
    }

    /// The public display prefix: the first characters of the body.
    pub fn display_prefix(&self) -> DisplayPrefix {
        DisplayPrefix(self.full[self.body_start..self.body_start + DISPLAY_PREFIX_LEN].to_owned())
    }

    /// The SHA-256 under which the key is stored.
    pub fn hash(&self) -> KeyHash {
        KeyHash::of(&self.full)
    }
}

/// The shape and checksum rules of a presented key: `<prefix>_`, then
/// `BODY_LEN + CHECKSUM_LEN` base62 characters whose last six are the checksum of the rest.
fn check_format(raw: &str, prefix: &KeyPrefix) -> Result<(), MalformedKey> {
    let rest = raw
        .strip_prefix(prefix.as_str())
        .and_then(|r| r.strip_prefix('_'))
        .ok_or(MalformedKey::WrongPrefix)?;
    if rest.len() != BODY_LEN + CHECKSUM_LEN {
        return Err(MalformedKey::WrongLength);
    }
    if !is_base62(rest) {
        return Err(MalformedKey::BadAlphabet);
    }
    let (body, check) = rest.split_at(BODY_LEN);
    if checksum_digits(prefix.as_str(), body) != check.as_bytes() {
        return Err(MalformedKey::BadChecksum);
    }
    Ok(())
}

impl fmt::Debug for PlainKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PlainKey({}…)", self.display_prefix().as_str())
    }
}

impl fmt::Display for PlainKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// The first characters of a key's body, safe to show in listings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisplayPrefix(String);

impl DisplayPrefix {
    /// Rebuilds a stored display prefix.
    pub fn from_stored(prefix: String) -> Self {
        Self(prefix)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// SHA-256 of a full key string. Not secret by itself, but never logged either:
/// its `Debug` is redacted.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeyHash([u8; 32]);

/// A stored hash that is not 64 hex characters.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("stored key hash is not 64 hex characters")]
pub struct InvalidKeyHash;

impl KeyHash {
    fn of(full: &str) -> Self {
        Self(Sha256::digest(full.as_bytes()).into())
    }

    /// Lower-case hex, as stored.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// Parses the stored hex form.
    pub fn from_hex(s: &str) -> Result<Self, InvalidKeyHash> {
        let mut out = [0u8; 32];
        hex::decode_to_slice(s, &mut out).map_err(|_| InvalidKeyHash)?;
        Ok(Self(out))
    }
}

impl fmt::Debug for KeyHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("KeyHash(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn prefix() -> KeyPrefix {
        KeyPrefix::default()
    }

    #[test]
    fn generated_key_has_the_documented_shape() {
        let key = PlainKey::from_random(&prefix(), &[7u8; 32]);
        let s = key.expose();
        assert!(s.starts_with("kw_"));
        assert_eq!(s.len(), 3 + BODY_LEN + CHECKSUM_LEN);
        assert!(is_base62(&s[3..]));
    }

    #[test]
    fn all_zero_bytes_encode_as_left_padded_zeros() {
        let key = PlainKey::from_random(&prefix(), &[0u8; 32]);
        assert_eq!(&key.expose()[3..3 + BODY_LEN], "0".repeat(BODY_LEN));
    }

    #[test]
    fn base62_of_known_numbers() {
        assert_eq!(base62_encode(&[0, 61], 2), "0z");
        assert_eq!(base62_encode(&[0, 62], 2), "10");
        assert_eq!(base62_encode(&u32::MAX.to_be_bytes(), 6), "4gfFC3");
    }

    #[test]
    fn largest_body_fits_in_43_characters() {
        let key = PlainKey::from_random(&prefix(), &[0xFF; 32]);
        assert_eq!(key.expose().len(), 3 + BODY_LEN + CHECKSUM_LEN);
        assert_ne!(&key.expose()[3..4], "0");
    }

    #[test]
    fn checksum_is_crc32_of_prefix_and_body() {
        let key = PlainKey::from_random(&prefix(), &[1u8; 32]);
        let s = key.expose();
        let crc = crc32fast::hash(&s.as_bytes()[..3 + BODY_LEN]);
        assert_eq!(&s[3 + BODY_LEN..], base62_encode(&crc.to_be_bytes(), 6));
    }

    #[test]
    fn checksum_digits_are_the_base62_encoding_of_the_crc() {
        for body in [
            "",
            "a",
            "0000000000",
            "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz",
        ] {
            let crc = crc32fast::hash(format!("kw_{body}").as_bytes());
            let digits = checksum_digits("kw", body);
            assert_eq!(
                std::str::from_utf8(&digits).unwrap(),
                base62_encode(&crc.to_be_bytes(), CHECKSUM_LEN),
                "{body}"
            );
        }
    }

    #[test]
    fn a_presented_key_hashes_as_the_issued_one_and_is_checked_the_same_way() {
        let key = PlainKey::from_random(&prefix(), &[3u8; 32]);
        let expected = KeyHash::of(key.expose());

        assert_eq!(
            PlainKey::hash_presented(key.expose(), &prefix()),
            Ok(expected)
        );
        let mut tampered = key.expose().to_owned();
        tampered.replace_range(5..6, if &tampered[5..6] == "a" { "b" } else { "a" });
        assert_eq!(
            PlainKey::hash_presented(&tampered, &prefix()),
            Err(MalformedKey::BadChecksum)
        );
        assert_eq!(
            PlainKey::hash_presented("xx_abc", &prefix()),
            Err(MalformedKey::WrongPrefix)
        );
    }

    #[test]
    fn debug_and_display_never_print_the_secret() {
        let key = PlainKey::from_random(&prefix(), &[9u8; 32]);
        let secret_tail = &key.expose()[10..];
        assert!(!format!("{key:?}").contains(secret_tail));
        assert!(!format!("{key}").contains(secret_tail));
        assert!(!format!("{:?}", key.hash()).contains(&key.hash().to_hex()));
    }

    #[test]
    fn wrong_prefix_is_refused() {
        let key = PlainKey::from_random(&KeyPrefix::new("other").unwrap(), &[3u8; 32]);
        assert_eq!(
            PlainKey::parse(key.expose(), &prefix()),
            Err(MalformedKey::WrongPrefix)
        );
    }

    #[test]
    fn truncated_key_is_refused() {
        let key = PlainKey::from_random(&prefix(), &[3u8; 32]);
        let s = &key.expose()[..key.expose().len() - 1];
        assert_eq!(
            PlainKey::parse(s, &prefix()),
            Err(MalformedKey::WrongLength)
        );
    }

    #[test]
    fn non_base62_character_is_refused() {
        let key = PlainKey::from_random(&prefix(), &[3u8; 32]);
        let mut s = key.expose().to_owned();
        s.replace_range(5..6, "-");
        assert_eq!(
            PlainKey::parse(&s, &prefix()),
            Err(MalformedKey::BadAlphabet)
        );
    }

    #[test]
    fn prefix_rules_are_enforced() {
        assert!(KeyPrefix::new("").is_err());
        assert!(KeyPrefix::new("a_b").is_err());
        assert!(KeyPrefix::new("x".repeat(17)).is_err());
        assert!(KeyPrefix::new("Kw2").is_ok());
    }

    #[test]
    fn hash_round_trips_through_hex() {
        let hash = PlainKey::from_random(&prefix(), &[5u8; 32]).hash();
        assert_eq!(KeyHash::from_hex(&hash.to_hex()), Ok(hash));
        assert!(KeyHash::from_hex("zz").is_err());
    }

    proptest! {
        #[test]
        fn every_generated_key_parses(bytes in any::<[u8; 32]>()) {
            let key = PlainKey::from_random(&prefix(), &bytes);
            let parsed = PlainKey::parse(key.expose(), &prefix()).unwrap();
            prop_assert_eq!(parsed.hash(), key.hash());
            prop_assert_eq!(parsed.display_prefix(), key.display_prefix());
        }

        #[test]
        fn any_single_character_change_is_refused(
            bytes in any::<[u8; 32]>(),
            position in 0usize..(3 + BODY_LEN + CHECKSUM_LEN),
            replacement in proptest::sample::select(BASE62.to_vec()),
        ) {
            let key = PlainKey::from_random(&prefix(), &bytes);
            let mut chars: Vec<u8> = key.expose().as_bytes().to_vec();
            prop_assume!(chars[position] != replacement);
            chars[position] = replacement;
            let tampered = String::from_utf8(chars).unwrap();
            prop_assert!(PlainKey::parse(&tampered, &prefix()).is_err());
        }
    }
}
