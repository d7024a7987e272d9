//! Several instances on one PostgreSQL behave as one: a pre-authorized code
//! is redeemed exactly once, however many requests race for it.

use futures::future::join_all;
use serde_json::Value;
use sigil_tests::{Killable, Spawn, TestApp};

use crate::offers::{badge_offer, create, pre_authorized_code};

/// Two instances of the example issuer on a fresh PostgreSQL database (its
/// URL, to drop it after), with the same keys.
pub async fn two_instances() -> (String, TestApp, TestApp) {
    let url = sigil_store::testing::fresh_postgres_url()
        .await
        .expect("PostgreSQL on 127.0.0.1:5432");
    let a = Spawn::default().issuer().database(&url).start().await;
    let b = Spawn::default()
        .issuer()
        .database(&url)
        .share_keys_with(&a)
        .start()
        .await;
    (url, a, b)
}

/// [`two_instances`] configured by `with`, the first one killable.
pub async fn two_instances_with(with: impl Fn(Spawn) -> Spawn) -> (String, Killable, TestApp) {
    let url = sigil_store::testing::fresh_postgres_url()
        .await
        .expect("PostgreSQL on 127.0.0.1:5432");
    let a = with(Spawn::default().issuer().database(&url))
        .start_killable()
        .await;
    let b = with(Spawn::default().issuer().database(&url))
        .share_keys_with(&a.app)
        .start()
        .await;
    (url, a, b)
}

#[tokio::test]
async fn fifty_token_requests_over_two_instances_yield_one_token() {
    let (url, a, b) = two_instances().await;
    let created = create(&a, &badge_offer()).await;
    let code = pre_authorized_code(&a, &created).await;
    let form = [
        (
            "grant_type",
            "urn:ietf:params:oauth:grant-type:pre-authorized_code",
        ),
        ("pre-authorized_code", code.as_str()),
    ];
    let responses = join_all((0..50).map(|i| {
        let app = if i % 2 == 0 { &a } else { &b };
        app.post_form("/token", &form)
    }))
    .await;
    let mut tokens = 0;
    for r in responses {
        match r.status().as_u16() {
            200 => tokens += 1,
            400 => assert_eq!(r.json::<Value>().await.unwrap()["error"], "invalid_grant"),
            other => panic!("unexpected status {other}"),
        }
    }
    assert_eq!(tokens, 1);
    let _ = sigil_store::testing::drop_postgres_schema(&url).await;
}
