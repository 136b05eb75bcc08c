//! A workload-token issuer for the tests, as GitHub Actions or a Kubernetes API server
//! would be: RS256 and ES256 keys made fresh, its JWK Set served on 127.0.0.1, keys it can
//! rotate, and tokens it signs.

use super::helpers::{StopOnDrop, serve_router};
use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

struct Key {
    kid: String,
    alg: Algorithm,
    signing: EncodingKey,
    public: Jwk,
}

#[derive(Default)]
struct Published {
    keys: Mutex<Vec<Key>>,
    fetches: AtomicUsize,
}

pub struct TestIssuer {
    /// Its `iss`.
    pub url: String,
    published: Arc<Published>,
    _stop: StopOnDrop,
}

pub fn rsa_key(kid: &str) -> (EncodingKey, Jwk) {
    use rsa::pkcs1::EncodeRsaPrivateKey;
    let private = rsa::RsaPrivateKey::new(&mut rand::rngs::OsRng, 2048).unwrap();
    let signing = EncodingKey::from_rsa_der(private.to_pkcs1_der().unwrap().as_bytes());
    let mut public = Jwk::from_encoding_key(&signing, Algorithm::RS256).unwrap();
    public.common.key_id = Some(kid.into());
    (signing, public)
}

fn ec_key(kid: &str) -> (EncodingKey, Jwk) {
    use p256::pkcs8::EncodePrivateKey;
    let private = p256::SecretKey::random(&mut rand::rngs::OsRng);
    let signing = EncodingKey::from_ec_der(private.to_pkcs8_der().unwrap().as_bytes());
    let mut public = Jwk::from_encoding_key(&signing, Algorithm::ES256).unwrap();
    public.common.key_id = Some(kid.into());
    (signing, public)
}

impl TestIssuer {
    /// An issuer with the RSA key `rsa-1` and the EC key `ec-1`, serving `/jwks`.
    pub async fn start() -> TestIssuer {
        let published = Arc::new(Published::default());
        published.add("rsa-1", Algorithm::RS256);
        published.add("ec-1", Algorithm::ES256);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let served = published.clone();
        let app = axum::Router::new().route(
            "/jwks",
            axum::routing::get(move || {
                let served = served.clone();
                async move {
                    served.fetches.fetch_add(1, Ordering::SeqCst);
                    axum::Json(served.jwks())
                }
            }),
        );
        TestIssuer {
            url,
            published,
            _stop: serve_router(listener, app),
        }
    }

    pub fn jwks_url(&self) -> String {
        format!("{}/jwks", self.url)
    }

    pub fn jwks(&self) -> Value {
        self.published.jwks()
    }

    /// How many times its keys were fetched.
    pub fn fetches(&self) -> usize {
        self.published.fetches.load(Ordering::SeqCst)
    }

    /// Signs `claims` with the key `kid`.
    pub fn sign(&self, kid: &str, claims: &Value) -> String {
        let keys = self.published.keys.lock().unwrap();
        let key = keys.iter().find(|k| k.kid == kid).expect("a key it has");
        let mut header = Header::new(key.alg);
        header.kid = Some(kid.into());
        jsonwebtoken::encode(&header, claims, &key.signing).unwrap()
    }

    /// Publishes a new RSA key and withdraws `old`, as issuers rotate.
    pub fn rotate(&self, old: &str, new: &str) {
        self.published.add(new, Algorithm::RS256);
        self.published.keys.lock().unwrap().retain(|k| k.kid != old);
    }

    /// The public half of `kid`, as its JWK Set publishes it.
    pub fn public_key(&self, kid: &str) -> Jwk {
        let keys = self.published.keys.lock().unwrap();
        keys.iter().find(|k| k.kid == kid).unwrap().public.clone()
    }
}

impl Published {
    fn add(&self, kid: &str, alg: Algorithm) {
        let (signing, public) = match alg {
            Algorithm::ES256 => ec_key(kid),
            _ => rsa_key(kid),
        };
        self.keys.lock().unwrap().push(Key {
            kid: kid.into(),
            alg,
            signing,
            public,
        });
    }

    fn jwks(&self) -> Value {
        let keys = self.keys.lock().unwrap();
        let set = JwkSet {
            keys: keys.iter().map(|k| k.public.clone()).collect(),
        };
        json!(set)
    }
}
