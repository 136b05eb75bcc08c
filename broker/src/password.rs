//! Password hashing with argon2id (the crate's defaults: m=19 MiB, t=2, p=1).

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};

pub fn hash(password: &str) -> String {
    let salt = SaltString::encode_b64(&crate::credential::random_bytes::<16>())
        .expect("16 bytes make a valid salt");
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .expect("argon2 hashes any password with default parameters")
        .to_string()
}

/// Whether `password` matches the PHC string `stored`. A malformed hash never matches,
/// and takes as long to say so as a real one (accounts with no password, such as those an
/// identity provider signs in, are not told apart by the time a refusal takes).
pub fn verify(password: &str, stored: &str) -> bool {
    match PasswordHash::new(stored) {
        Ok(h) => Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok(),
        Err(_) => {
            verify(password, decoy());
            false
        }
    }
}

/// A hash no password matches, verified against for unknown usernames so that a failed
/// login takes as long whether or not the user exists.
pub fn decoy() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| {
        hash(&String::from_utf8_lossy(
            &crate::credential::random_bytes::<24>(),
        ))
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn hashes_are_argon2id_salted_and_verify() {
        let a = super::hash("stint-demo");
        let b = super::hash("stint-demo");
        assert!(a.starts_with("$argon2id$"));
        assert_ne!(a, b, "each hash has its own salt");
        assert!(super::verify("stint-demo", &a));
        assert!(!super::verify("stint-demo ", &a));
        assert!(!super::verify("stint-demo", "not a hash"));
    }
}
