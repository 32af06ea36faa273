//! Unit tests of the AES-256-GCM cipher: round trips, and every way a sealed secret can
//! be wrong ending in a clear error, never in a wrong plaintext.

use super::*;
use crate::ids::{CredentialId, CustomerId};
use crate::ports::MockSecretGenerator;
use crate::vault::{CredentialOwner, Provider};

fn key(byte: u8) -> MasterKey {
    MasterKey::from_bytes(&[byte; MASTER_KEY_LEN]).unwrap()
}

fn ad(id: CredentialId, provider: &str) -> AssociatedData {
    AssociatedData::for_credential(
        id,
        CredentialOwner::Platform,
        &Provider::new(provider).unwrap(),
    )
}

fn secret(text: &str) -> SecretText {
    SecretText::new(text).unwrap()
}

#[test]
fn sealed_secret_opens_to_the_same_plaintext() {
    let cipher = AesGcmCipher::new(key(1));
    let ad = ad(CredentialId::generate(), "openai");

    let sealed = cipher
        .seal(&secret("sk-live-1234567890abcdef"), &ad)
        .unwrap();

    assert_eq!(sealed.key_version(), cipher.current_version());
    assert_eq!(
        cipher.open(&sealed, &ad).unwrap().expose(),
        "sk-live-1234567890abcdef"
    );
}

#[test]
fn ciphertext_does_not_contain_the_plaintext() {
    let cipher = AesGcmCipher::new(key(1));
    let plaintext = "sk-live-1234567890abcdef";

    let sealed = cipher
        .seal(&secret(plaintext), &ad(CredentialId::generate(), "openai"))
        .unwrap();

    assert_eq!(
        sealed.ciphertext().len(),
        plaintext.len() + aead::MAX_TAG_LEN
    );
    assert!(
        !sealed
            .ciphertext()
            .windows(8)
            .any(|w| plaintext.as_bytes().windows(8).any(|p| p == w))
    );
}

#[test]
fn every_seal_uses_a_fresh_nonce() {
    let cipher = AesGcmCipher::new(key(1));
    let ad = ad(CredentialId::generate(), "openai");

    let first = cipher.seal(&secret("same secret text"), &ad).unwrap();
    let second = cipher.seal(&secret("same secret text"), &ad).unwrap();

    assert_ne!(first.nonce(), second.nonce());
    assert_ne!(first.ciphertext(), second.ciphertext());
}

#[test]
fn tampered_ciphertext_is_undecryptable() {
    let cipher = AesGcmCipher::new(key(1));
    let ad = ad(CredentialId::generate(), "openai");
    let sealed = cipher
        .seal(&secret("sk-live-1234567890abcdef"), &ad)
        .unwrap();

    for position in [0, sealed.ciphertext().len() - 1] {
        let mut bytes = sealed.ciphertext().to_vec();
        bytes[position] ^= 0x01;
        let tampered = SealedSecret::new(sealed.key_version(), *sealed.nonce(), bytes);

        assert_eq!(
            cipher.open(&tampered, &ad).unwrap_err(),
            CipherError::Undecryptable
        );
    }
}

#[test]
fn tampered_nonce_is_undecryptable() {
    let cipher = AesGcmCipher::new(key(1));
    let ad = ad(CredentialId::generate(), "openai");
    let sealed = cipher
        .seal(&secret("sk-live-1234567890abcdef"), &ad)
        .unwrap();
    let mut nonce = *sealed.nonce();
    nonce[0] ^= 0x80;

    let tampered = SealedSecret::new(sealed.key_version(), nonce, sealed.ciphertext().to_vec());

    assert_eq!(
        cipher.open(&tampered, &ad).unwrap_err(),
        CipherError::Undecryptable
    );
}

#[test]
fn truncated_ciphertext_is_undecryptable() {
    let cipher = AesGcmCipher::new(key(1));
    let ad = ad(CredentialId::generate(), "openai");
    let sealed = cipher
        .seal(&secret("sk-live-1234567890abcdef"), &ad)
        .unwrap();

    for len in [0, 5, sealed.ciphertext().len() - 1] {
        let cut = SealedSecret::new(
            sealed.key_version(),
            *sealed.nonce(),
            sealed.ciphertext()[..len].to_vec(),
        );
        assert_eq!(
            cipher.open(&cut, &ad).unwrap_err(),
            CipherError::Undecryptable
        );
    }
}

#[test]
fn ciphertext_swapped_between_records_is_undecryptable() {
    let cipher = AesGcmCipher::new(key(1));
    let (first_id, second_id) = (CredentialId::generate(), CredentialId::generate());
    let first = cipher
        .seal(&secret("first-secret-value"), &ad(first_id, "openai"))
        .unwrap();
    let second = cipher
        .seal(&secret("second-secret-value"), &ad(second_id, "openai"))
        .unwrap();

    assert_eq!(
        cipher.open(&first, &ad(second_id, "openai")).unwrap_err(),
        CipherError::Undecryptable
    );
    assert_eq!(
        cipher.open(&second, &ad(first_id, "openai")).unwrap_err(),
        CipherError::Undecryptable
    );
}

#[test]
fn ciphertext_moved_to_another_provider_or_owner_is_undecryptable() {
    let cipher = AesGcmCipher::new(key(1));
    let id = CredentialId::generate();
    let sealed = cipher
        .seal(&secret("platform-openai-secret"), &ad(id, "openai"))
        .unwrap();
    let customer = CredentialOwner::Customer(CustomerId::generate());
    let openai = Provider::new("openai").unwrap();

    assert_eq!(
        cipher.open(&sealed, &ad(id, "anthropic")).unwrap_err(),
        CipherError::Undecryptable
    );
    assert_eq!(
        cipher
            .open(
                &sealed,
                &AssociatedData::for_credential(id, customer, &openai)
            )
            .unwrap_err(),
        CipherError::Undecryptable
    );
}

#[test]
fn secret_sealed_under_another_master_key_names_its_unknown_version() {
    let sealing = AesGcmCipher::new(key(1));
    let opening = AesGcmCipher::new(key(2));
    let ad = ad(CredentialId::generate(), "openai");
    let sealed = sealing
        .seal(&secret("sk-live-1234567890abcdef"), &ad)
        .unwrap();

    let err = opening.open(&sealed, &ad).unwrap_err();

    assert_eq!(err, CipherError::UnknownKeyVersion(key(1).version()));
    assert!(err.to_string().contains(&key(1).version().to_string()));
}

#[test]
fn wrong_key_claiming_the_right_version_is_undecryptable() {
    let genuine = AesGcmCipher::new(key(1));
    let impostor = AesGcmCipher::new(key(2));
    let ad = ad(CredentialId::generate(), "openai");
    let sealed = impostor
        .seal(&secret("sk-live-1234567890abcdef"), &ad)
        .unwrap();

    // The impostor's ciphertext relabelled with the genuine key's version.
    let relabelled = SealedSecret::new(
        genuine.current_version(),
        *sealed.nonce(),
        sealed.ciphertext().to_vec(),
    );

    assert_eq!(
        genuine.open(&relabelled, &ad).unwrap_err(),
        CipherError::Undecryptable
    );
}

#[test]
fn previous_key_opens_old_secrets_but_new_seals_use_the_current_key() {
    let old = AesGcmCipher::new(key(1));
    let ad = ad(CredentialId::generate(), "openai");
    let sealed_before = old.seal(&secret("sealed-before-rotation"), &ad).unwrap();

    let keyring = AesGcmCipher::new(key(2)).with_previous(key(1));

    assert_eq!(
        keyring.open(&sealed_before, &ad).unwrap().expose(),
        "sealed-before-rotation"
    );
    let sealed_after = keyring.seal(&secret("sealed-after-rotation"), &ad).unwrap();
    assert_eq!(sealed_after.key_version(), key(2).version());
    assert_eq!(keyring.versions(), vec![key(2).version(), key(1).version()]);
}

#[test]
fn adding_the_current_or_a_known_key_again_changes_nothing() {
    let keyring = AesGcmCipher::new(key(2))
        .with_previous(key(2))
        .with_previous(key(1))
        .with_previous(key(1));

    assert_eq!(keyring.versions(), vec![key(2).version(), key(1).version()]);
}

#[test]
fn master_key_version_is_a_stable_fingerprint_of_the_key() {
    assert_eq!(key(7).version(), key(7).version());
    assert_ne!(key(7).version(), key(8).version());
    let hex = "07".repeat(MASTER_KEY_LEN);
    assert_eq!(
        MasterKey::from_hex(&hex).unwrap().version(),
        key(7).version()
    );
}

#[test]
fn master_key_hex_must_be_exactly_64_hex_characters() {
    assert_eq!(
        MasterKey::from_hex("abc").unwrap_err(),
        InvalidMasterKey::Malformed
    );
    assert_eq!(
        MasterKey::from_hex(&"zz".repeat(32)).unwrap_err(),
        InvalidMasterKey::Malformed
    );
    assert_eq!(
        MasterKey::from_hex(&"ab".repeat(33)).unwrap_err(),
        InvalidMasterKey::Malformed
    );
    assert_eq!(
        MasterKey::from_hex(&"00".repeat(32)).unwrap_err(),
        InvalidMasterKey::AllZero
    );
    assert!(MasterKey::from_hex(&format!("  {}\n", "Ab".repeat(32))).is_ok());
}

#[test]
fn master_key_debug_shows_only_its_version() {
    let hex = "5a".repeat(MASTER_KEY_LEN);
    let key = MasterKey::from_hex(&hex).unwrap();

    let printed = format!("{key:?} {:?}", AesGcmCipher::new(key.clone()));

    assert!(!printed.contains("5a5a"), "{printed}");
    assert!(printed.contains(&key.version().to_string()), "{printed}");
}

#[test]
fn generated_master_key_round_trips_through_its_hex_form() {
    let mut random = MockSecretGenerator::new();
    random.expect_secret_bytes().return_const(Ok([42u8; 32]));

    let (key, hex) = MasterKey::generate(&random).unwrap();

    assert_eq!(hex.len(), 2 * MASTER_KEY_LEN);
    assert_eq!(MasterKey::from_hex(&hex).unwrap().version(), key.version());
}
