//! The authorization code flow's storage, on both databases.

use std::sync::Arc;

use serde_json::json;
use sigil_store::{
    AccessToken, Authorization, AuthorizationStatus, CodeIssue, EventKind, Flow, GrantRefusal,
    GrantTokens, LoginState, NewEvent, Offer, OfferStatus, Store, StoreError,
};

use super::{Db, RACERS, TENANT, event_kinds, now, offer};

on_both!(
    push_then_lookup_by_request,
    begin_login_twice_then_lookup_by_login,
    issue_code_creates_the_offer_once,
    fail_login_revokes,
    redeem_code_once,
    redeem_code_refuses_an_unavailable_offer,
    concurrent_redeem_code_has_one_winner,
    refresh_rotates_once,
    revoke_grant_revokes_the_offer,
    spend_once_is_single_use,
    access_tokens_carry_authorization_and_key,
    offer_by_issuer_state_finds_the_offer,
    purge_removes_spent_authorizations,
);

/// A pushed authorization `id` (request URI hash `req-<id>`), bound to `offer_id`.
fn pushed(id: &str, offer_id: Option<&str>) -> Authorization {
    let t = now();
    Authorization {
        id: id.to_owned(),
        tenant: TENANT.to_owned(),
        offer_id: offer_id.map(str::to_owned),
        client_id: "wallet".to_owned(),
        redirect_uri: "https://wallet.example/cb".to_owned(),
        code_challenge: "challenge".to_owned(),
        state: Some("wallet-state".to_owned()),
        credential_configuration_ids: vec!["pid_sd_jwt".to_owned()],
        details: true,
        dpop_jkt: None,
        request_uri_hash: format!("req-{id}"),
        request_expires_at: t + 60,
        login: None,
        subject: None,
        claims: None,
        code_hash: None,
        code_expires_at: None,
        refresh_hash: None,
        previous_refresh_hash: None,
        refresh_expires_at: None,
        status: AuthorizationStatus::Pushed,
        created_at: t,
        updated_at: t,
    }
}

/// An offer for the authorization code flow, named by `issuer_state`.
fn code_offer(id: &str, issuer_state: &str) -> Offer {
    let mut o = offer(id, "unused", None);
    o.flow = Flow::AuthorizationCode;
    o.pre_authorized_code_hash = None;
    o.issuer_state = Some(issuer_state.to_owned());
    o.credential_configuration_ids = vec!["pid_sd_jwt".to_owned()];
    o
}

fn event(offer_id: &str, kind: EventKind) -> NewEvent {
    NewEvent::bare(TENANT, offer_id, kind, now())
}

fn login(state_hash: &str) -> LoginState {
    LoginState {
        state_hash: state_hash.to_owned(),
        nonce: format!("nonce-{state_hash}"),
        verifier: format!("verifier-{state_hash}"),
        expires_at: now() + 300,
    }
}

fn code(code_hash: &str, new_offer: Option<Offer>) -> CodeIssue {
    CodeIssue {
        code_hash: code_hash.to_owned(),
        expires_at: now() + 60,
        subject: Some("sub-1".to_owned()),
        claims: json!({"sub": "sub-1", "given_name": "Erika"})
            .as_object()
            .cloned(),
        new_offer,
    }
}

fn tokens(token_hash: &str, jkt: Option<&str>, refresh: Option<&str>) -> GrantTokens {
    GrantTokens {
        token_hash: token_hash.to_owned(),
        expires_at: now() + 300,
        dpop_jkt: jkt.map(str::to_owned),
        refresh: refresh.map(|r| (r.to_owned(), now() + 3600)),
    }
}

/// Authorization `id` with code `code-<id>` issued under a new offer `offer-<id>`.
async fn with_code(s: &Store, id: &str) {
    s.push_authorization(&pushed(id, None), None).await.unwrap();
    let new_offer = code_offer(&format!("offer-{id}"), &format!("state-{id}"));
    let issued = s
        .issue_code(
            id,
            code(&format!("code-{id}"), Some(new_offer)),
            now(),
            event(&format!("offer-{id}"), EventKind::CodeIssued),
        )
        .await
        .unwrap();
    assert!(issued);
}

async fn status_of(s: &Store, id: &str) -> AuthorizationStatus {
    s.authorization(id).await.unwrap().unwrap().status
}

async fn push_then_lookup_by_request(db: &Db) {
    let s = &db.store;
    s.insert_offer(&code_offer("o1", "issuer-state-1"))
        .await
        .unwrap();
    let a = pushed("a1", Some("o1"));
    s.push_authorization(&a, Some(event("o1", EventKind::AuthorizationRequested)))
        .await
        .unwrap();
    let found = s
        .authorization_by_request(TENANT, "req-a1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found, a);
    assert!(
        s.authorization_by_request("other", "req-a1")
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        s.authorization_by_request(TENANT, "req-x")
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(event_kinds(s, "o1").await, ["authorization_requested"]);
    // Not bound to an offer: an event naming none is skipped.
    s.push_authorization(
        &pushed("a2", None),
        Some(event("", EventKind::AuthorizationRequested)),
    )
    .await
    .unwrap();
    assert!(s.events("").await.unwrap().is_empty());
    // The request URI hash names one authorization.
    let mut again = pushed("a3", None);
    again.request_uri_hash = "req-a1".to_owned();
    let e = s.push_authorization(&again, None).await.unwrap_err();
    assert!(matches!(e, StoreError::Duplicate(_)), "{e:?}");
    assert!(s.authorization("a3").await.unwrap().is_none());
}

async fn begin_login_twice_then_lookup_by_login(db: &Db) {
    let s = &db.store;
    s.insert_offer(&code_offer("o1", "st")).await.unwrap();
    s.push_authorization(&pushed("a1", Some("o1")), None)
        .await
        .unwrap();
    let t = now();
    // Made once: `login` reads the clock, and a second may pass before the
    // comparison below.
    let second = login("login-2");
    for state in ["login-1", "login-2"] {
        let state = if state == second.state_hash {
            second.clone()
        } else {
            login(state)
        };
        let started = s
            .begin_login("a1", &state, t, Some(event("o1", EventKind::LoginStarted)))
            .await
            .unwrap();
        assert!(started, "{}", state.state_hash);
    }
    // The revisit replaced the first login.
    assert!(
        s.authorization_by_login(TENANT, "login-1")
            .await
            .unwrap()
            .is_none()
    );
    let a = s
        .authorization_by_login(TENANT, "login-2")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(a.status, AuthorizationStatus::Login);
    assert_eq!(a.login, Some(second));
    assert!(
        s.authorization_by_login("other", "login-2")
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        event_kinds(s, "o1").await,
        ["login_started", "login_started"]
    );
    // Once the code is issued, no login starts again and the state is gone.
    assert!(
        s.issue_code(
            "a1",
            code("c1", None),
            t,
            event("o1", EventKind::CodeIssued)
        )
        .await
        .unwrap()
    );
    assert!(
        !s.begin_login("a1", &login("login-3"), t, None)
            .await
            .unwrap()
    );
    assert!(
        s.authorization_by_login(TENANT, "login-2")
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        !s.begin_login("nope", &login("login-4"), t, None)
            .await
            .unwrap()
    );
}

async fn issue_code_creates_the_offer_once(db: &Db) {
    let s = &db.store;
    s.push_authorization(&pushed("a1", None), None)
        .await
        .unwrap();
    s.begin_login("a1", &login("l1"), now(), None)
        .await
        .unwrap();
    let first = code_offer("new-1", "s1");
    let issued = s
        .issue_code(
            "a1",
            code("c1", Some(first)),
            now(),
            event("new-1", EventKind::CodeIssued),
        )
        .await
        .unwrap();
    assert!(issued);
    let a = s
        .authorization_by_code(TENANT, "c1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(a.id, "a1");
    assert_eq!(a.status, AuthorizationStatus::Code);
    assert_eq!(a.offer_id.as_deref(), Some("new-1"));
    assert_eq!(a.subject.as_deref(), Some("sub-1"));
    assert_eq!(a.claims, code("c1", None).claims);
    assert!(a.login.is_none());
    assert!(a.code_expires_at.is_some_and(|e| e > now()));
    let o = s.get_offer(TENANT, "new-1").await.unwrap().unwrap();
    assert_eq!(o.progress.status, OfferStatus::Created);
    assert_eq!(event_kinds(s, "new-1").await, ["code_issued"]);
    // A second code is refused, and its offer is not stored.
    let again = s
        .issue_code(
            "a1",
            code("c2", Some(code_offer("new-2", "s2"))),
            now(),
            event("new-2", EventKind::CodeIssued),
        )
        .await
        .unwrap();
    assert!(!again);
    assert!(s.get_offer(TENANT, "new-2").await.unwrap().is_none());
    assert!(s.events("new-2").await.unwrap().is_empty());
    assert!(
        s.authorization_by_code(TENANT, "c2")
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        s.authorization_by_code("other", "c1")
            .await
            .unwrap()
            .is_none()
    );
}

async fn fail_login_revokes(db: &Db) {
    let s = &db.store;
    s.insert_offer(&code_offer("o1", "st")).await.unwrap();
    s.push_authorization(&pushed("a1", Some("o1")), None)
        .await
        .unwrap();
    s.begin_login("a1", &login("l1"), now(), None)
        .await
        .unwrap();
    s.fail_login("a1", now(), Some(event("o1", EventKind::LoginFailed)))
        .await
        .unwrap();
    let a = s.authorization("a1").await.unwrap().unwrap();
    assert_eq!(a.status, AuthorizationStatus::Revoked);
    assert!(a.login.is_none());
    assert_eq!(event_kinds(s, "o1").await, ["login_failed"]);
    // The offer stays usable; the authorization cannot get a code.
    let o = s.get_offer(TENANT, "o1").await.unwrap().unwrap();
    assert_eq!(o.progress.status, OfferStatus::Created);
    assert!(
        !s.issue_code(
            "a1",
            code("c1", None),
            now(),
            event("o1", EventKind::CodeIssued)
        )
        .await
        .unwrap()
    );
}

async fn redeem_code_once(db: &Db) {
    let s = &db.store;
    with_code(s, "a1").await;
    let done = s
        .redeem_code(
            "a1",
            tokens("at-1", Some("jkt-1"), Some("rt-1")),
            now(),
            event("offer-a1", EventKind::TokenIssued),
        )
        .await
        .unwrap();
    assert_eq!(done, Ok(()));
    let a = s.authorization("a1").await.unwrap().unwrap();
    assert_eq!(a.status, AuthorizationStatus::Redeemed);
    assert_eq!(a.dpop_jkt.as_deref(), Some("jkt-1"));
    assert_eq!(a.refresh_hash.as_deref(), Some("rt-1"));
    assert!(a.refresh_expires_at.is_some_and(|e| e > now()));
    let (token, o) = s
        .find_access_token_and_offer("at-1", now())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(token.offer_id, "offer-a1");
    assert_eq!(token.authorization_id.as_deref(), Some("a1"));
    assert_eq!(token.dpop_jkt.as_deref(), Some("jkt-1"));
    assert_eq!(token.credential_configuration_ids, ["pid_sd_jwt"]);
    assert_eq!(o.progress.status, OfferStatus::TokenIssued);
    assert!(o.progress.token_issued_at.is_some());
    assert_eq!(
        event_kinds(s, "offer-a1").await,
        ["code_issued", "token_issued"]
    );
    // The code is spent: a second redemption stores nothing.
    let again = s
        .redeem_code(
            "a1",
            tokens("at-2", None, None),
            now(),
            event("offer-a1", EventKind::TokenIssued),
        )
        .await
        .unwrap();
    assert_eq!(again, Err(GrantRefusal::Unknown));
    assert!(s.find_access_token("at-2", now()).await.unwrap().is_none());
    // The redeemed code still finds its authorization (a replay is told).
    let a = s
        .authorization_by_code(TENANT, "code-a1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(a.status, AuthorizationStatus::Redeemed);

    // An expired code is refused; an unknown id too.
    with_code(s, "a2").await;
    let late = s
        .redeem_code(
            "a2",
            tokens("at-3", None, None),
            now() + 61,
            event("offer-a2", EventKind::TokenIssued),
        )
        .await
        .unwrap();
    assert_eq!(late, Err(GrantRefusal::Unknown));
    assert_eq!(status_of(s, "a2").await, AuthorizationStatus::Code);
    let unknown = s
        .redeem_code(
            "nope",
            tokens("at-4", None, None),
            now(),
            event("", EventKind::TokenIssued),
        )
        .await
        .unwrap();
    assert_eq!(unknown, Err(GrantRefusal::Unknown));

    // A key bound at the push stays: the tokens' key does not replace it.
    let mut bound = pushed("a3", None);
    bound.dpop_jkt = Some("jkt-push".to_owned());
    s.push_authorization(&bound, None).await.unwrap();
    s.issue_code(
        "a3",
        code("code-a3", Some(code_offer("offer-a3", "s3"))),
        now(),
        event("offer-a3", EventKind::CodeIssued),
    )
    .await
    .unwrap();
    s.redeem_code(
        "a3",
        tokens("at-5", Some("jkt-other"), None),
        now(),
        event("offer-a3", EventKind::TokenIssued),
    )
    .await
    .unwrap()
    .unwrap();
    let a = s.authorization("a3").await.unwrap().unwrap();
    assert_eq!(a.dpop_jkt.as_deref(), Some("jkt-push"));
    assert_eq!(a.refresh_hash, None);
}

async fn redeem_code_refuses_an_unavailable_offer(db: &Db) {
    let s = &db.store;
    // Two authorizations bound to one offer: the first redemption takes it.
    s.insert_offer(&code_offer("o1", "st")).await.unwrap();
    for id in ["a1", "a2"] {
        s.push_authorization(&pushed(id, Some("o1")), None)
            .await
            .unwrap();
        let c = format!("code-{id}");
        assert!(
            s.issue_code(
                id,
                code(&c, None),
                now(),
                event("o1", EventKind::CodeIssued)
            )
            .await
            .unwrap()
        );
    }
    s.redeem_code(
        "a1",
        tokens("at-1", None, None),
        now(),
        event("o1", EventKind::TokenIssued),
    )
    .await
    .unwrap()
    .unwrap();
    let second = s
        .redeem_code(
            "a2",
            tokens("at-2", None, None),
            now(),
            event("o1", EventKind::TokenIssued),
        )
        .await
        .unwrap();
    assert_eq!(second, Err(GrantRefusal::OfferUnavailable));
    // Rolled back: the code is still unredeemed and no token was stored.
    assert_eq!(status_of(s, "a2").await, AuthorizationStatus::Code);
    assert!(s.find_access_token("at-2", now()).await.unwrap().is_none());

    // A revoked offer.
    s.insert_offer(&code_offer("o2", "st2")).await.unwrap();
    s.push_authorization(&pushed("a3", Some("o2")), None)
        .await
        .unwrap();
    s.issue_code(
        "a3",
        code("code-a3", None),
        now(),
        event("o2", EventKind::CodeIssued),
    )
    .await
    .unwrap();
    assert!(s.revoke_offer(TENANT, "o2", now()).await.unwrap());
    let revoked = s
        .redeem_code(
            "a3",
            tokens("at-3", None, None),
            now(),
            event("o2", EventKind::TokenIssued),
        )
        .await
        .unwrap();
    assert_eq!(revoked, Err(GrantRefusal::OfferUnavailable));
    assert_eq!(status_of(s, "a3").await, AuthorizationStatus::Code);
    assert_eq!(event_kinds(s, "o2").await, ["code_issued"]);
}

async fn concurrent_redeem_code_has_one_winner(db: &Db) {
    let stores = [db.store.clone(), db.second().await];
    with_code(&stores[0], "a1").await;
    let start = Arc::new(tokio::sync::Barrier::new(RACERS));
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..RACERS {
        let store = stores[i % 2].clone();
        let start = start.clone();
        tasks.spawn(async move {
            start.wait().await;
            let hash = format!("at-{i}");
            let refresh = format!("rt-{i}");
            let done = store
                .redeem_code(
                    "a1",
                    tokens(&hash, None, Some(&refresh)),
                    now(),
                    event("offer-a1", EventKind::TokenIssued),
                )
                .await
                .unwrap();
            (i, done)
        });
    }
    let mut winners = Vec::new();
    while let Some(result) = tasks.join_next().await {
        match result.unwrap() {
            (i, Ok(())) => winners.push(i),
            (_, Err(GrantRefusal::Unknown)) => {}
            (_, other) => panic!("unexpected outcome: {other:?}"),
        }
    }
    assert_eq!(winners.len(), 1, "{winners:?}");
    let winner = winners[0];
    for i in 0..RACERS {
        let found = stores[0]
            .find_access_token(&format!("at-{i}"), now())
            .await
            .unwrap();
        assert_eq!(found.is_some(), i == winner, "at-{i}");
    }
    let a = stores[0].authorization("a1").await.unwrap().unwrap();
    assert_eq!(a.refresh_hash, Some(format!("rt-{winner}")));
    assert_eq!(
        event_kinds(&stores[0], "offer-a1").await,
        ["code_issued", "token_issued"]
    );
}

async fn refresh_rotates_once(db: &Db) {
    let s = &db.store;
    with_code(s, "a1").await;
    s.redeem_code(
        "a1",
        tokens("at-1", Some("jkt"), Some("rt-1")),
        now(),
        event("offer-a1", EventKind::TokenIssued),
    )
    .await
    .unwrap()
    .unwrap();
    let rotated = s
        .refresh(
            "a1",
            "rt-1",
            tokens("at-2", Some("jkt"), Some("rt-2")),
            now(),
            event("offer-a1", EventKind::TokenRefreshed),
        )
        .await
        .unwrap();
    assert_eq!(rotated, Ok(()));
    // The old hash finds the authorization as its previous one.
    let a = s
        .authorization_by_refresh(TENANT, "rt-1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(a.id, "a1");
    assert_eq!(a.previous_refresh_hash.as_deref(), Some("rt-1"));
    assert_eq!(a.refresh_hash.as_deref(), Some("rt-2"));
    let current = s
        .authorization_by_refresh(TENANT, "rt-2")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(current, a);
    assert!(
        s.authorization_by_refresh("other", "rt-2")
            .await
            .unwrap()
            .is_none()
    );
    let token = s.find_access_token("at-2", now()).await.unwrap().unwrap();
    assert_eq!(token.authorization_id.as_deref(), Some("a1"));
    assert_eq!(token.dpop_jkt.as_deref(), Some("jkt"));
    assert_eq!(token.offer_id, "offer-a1");
    // The old one cannot rotate again.
    let replay = s
        .refresh(
            "a1",
            "rt-1",
            tokens("at-3", None, Some("rt-3")),
            now(),
            event("offer-a1", EventKind::TokenRefreshed),
        )
        .await
        .unwrap();
    assert_eq!(replay, Err(GrantRefusal::Unknown));
    assert!(s.find_access_token("at-3", now()).await.unwrap().is_none());
    // An expired refresh token neither.
    let late = s
        .refresh(
            "a1",
            "rt-2",
            tokens("at-4", None, Some("rt-4")),
            now() + 3601,
            event("offer-a1", EventKind::TokenRefreshed),
        )
        .await
        .unwrap();
    assert_eq!(late, Err(GrantRefusal::Unknown));
    assert_eq!(
        event_kinds(s, "offer-a1").await,
        ["code_issued", "token_issued", "token_refreshed"]
    );
    // A revoked offer stops the rotation and keeps the refresh token as it was.
    assert!(s.revoke_offer(TENANT, "offer-a1", now()).await.unwrap());
    let revoked = s
        .refresh(
            "a1",
            "rt-2",
            tokens("at-5", None, Some("rt-5")),
            now(),
            event("offer-a1", EventKind::TokenRefreshed),
        )
        .await
        .unwrap();
    assert_eq!(revoked, Err(GrantRefusal::OfferUnavailable));
    let a = s.authorization("a1").await.unwrap().unwrap();
    assert_eq!(a.refresh_hash.as_deref(), Some("rt-2"));
    assert!(s.find_access_token("at-5", now()).await.unwrap().is_none());
}

async fn revoke_grant_revokes_the_offer(db: &Db) {
    let s = &db.store;
    with_code(s, "a1").await;
    s.redeem_code(
        "a1",
        tokens("at-1", None, Some("rt-1")),
        now(),
        event("offer-a1", EventKind::TokenIssued),
    )
    .await
    .unwrap()
    .unwrap();
    assert!(s.find_access_token("at-1", now()).await.unwrap().is_some());
    for _ in 0..2 {
        s.revoke_grant(
            "a1",
            now(),
            Some(event("offer-a1", EventKind::GrantReplayed)),
        )
        .await
        .unwrap();
    }
    assert_eq!(status_of(s, "a1").await, AuthorizationStatus::Revoked);
    let o = s.get_offer(TENANT, "offer-a1").await.unwrap().unwrap();
    assert_eq!(o.progress.status, OfferStatus::Revoked);
    assert!(o.progress.revoked_at.is_some());
    assert!(s.find_access_token("at-1", now()).await.unwrap().is_none());
    // One event: the second revocation changed nothing.
    assert_eq!(
        event_kinds(s, "offer-a1").await,
        ["code_issued", "token_issued", "grant_replayed"]
    );
    // The hashes stay, so a replay is still recognised; the grant no longer rotates.
    let a = s
        .authorization_by_refresh(TENANT, "rt-1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(a.status, AuthorizationStatus::Revoked);
    let refused = s
        .refresh(
            "a1",
            "rt-1",
            tokens("at-2", None, Some("rt-2")),
            now(),
            event("offer-a1", EventKind::TokenRefreshed),
        )
        .await
        .unwrap();
    assert_eq!(refused, Err(GrantRefusal::Unknown));
    // An unknown id changes nothing.
    s.revoke_grant("nope", now(), None).await.unwrap();
}

async fn spend_once_is_single_use(db: &Db) {
    let s = &db.store;
    let t = now();
    assert!(s.spend_once(TENANT, "jti-1", t + 60, t).await.unwrap());
    assert!(!s.spend_once(TENANT, "jti-1", t + 60, t).await.unwrap());
    assert!(s.spend_once("other", "jti-1", t + 60, t).await.unwrap());
}

async fn access_tokens_carry_authorization_and_key(db: &Db) {
    let s = &db.store;
    s.insert_offer(&offer("o1", "code-1", None)).await.unwrap();
    let t = now();
    let token = AccessToken {
        token_hash: "at-1".to_owned(),
        tenant: TENANT.to_owned(),
        offer_id: "o1".to_owned(),
        credential_configuration_ids: vec!["pid_sd_jwt".to_owned()],
        created_at: t,
        expires_at: t + 300,
        authorization_id: Some("a1".to_owned()),
        dpop_jkt: Some("jkt-1".to_owned()),
    };
    s.insert_access_token(token.clone()).await.unwrap();
    let (found, _) = s
        .find_access_token_and_offer("at-1", t)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found, token);
}

async fn offer_by_issuer_state_finds_the_offer(db: &Db) {
    let s = &db.store;
    s.insert_offer(&code_offer("o1", "st-1")).await.unwrap();
    let mut expired = code_offer("o2", "st-2");
    expired.expires_at = Some(now() - 1);
    s.insert_offer(&expired).await.unwrap();
    let found = s
        .offer_by_issuer_state(TENANT, "st-1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.id, "o1");
    assert_eq!(found.progress.status, OfferStatus::Created);
    let found = s
        .offer_by_issuer_state(TENANT, "st-2")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.progress.status, OfferStatus::Expired);
    assert!(
        s.offer_by_issuer_state(TENANT, "st-x")
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        s.offer_by_issuer_state("other", "st-1")
            .await
            .unwrap()
            .is_none()
    );
}

async fn purge_removes_spent_authorizations(db: &Db) {
    let s = &db.store;
    let t = now();
    // Request expired, never logged in: purged.
    let mut stale = pushed("stale", None);
    stale.request_expires_at = t - 10;
    s.push_authorization(&stale, None).await.unwrap();
    // Request expired but a login is still running: kept.
    let mut logging_in = pushed("logging-in", None);
    logging_in.request_expires_at = t - 10;
    s.push_authorization(&logging_in, None).await.unwrap();
    s.begin_login("logging-in", &login("l1"), t, None)
        .await
        .unwrap();
    // Redeemed with a live refresh token: kept.
    with_code(s, "redeemed").await;
    s.redeem_code(
        "redeemed",
        tokens("at-1", None, Some("rt-1")),
        t,
        event("offer-redeemed", EventKind::TokenIssued),
    )
    .await
    .unwrap()
    .unwrap();
    // Live request: kept.
    s.push_authorization(&pushed("live", None), None)
        .await
        .unwrap();

    let counts = s.purge_expired(t, 3600).await.unwrap();
    assert_eq!(counts.authorizations, 1, "{counts:?}");
    assert!(s.authorization("stale").await.unwrap().is_none());
    for kept in ["logging-in", "redeemed", "live"] {
        assert!(s.authorization(kept).await.unwrap().is_some(), "{kept}");
    }
    // A day after its revocation, a grant goes too.
    s.revoke_grant("redeemed", t, None).await.unwrap();
    let later = s.purge_expired(t + 86_400, 3600).await.unwrap();
    assert!(s.authorization("redeemed").await.unwrap().is_none());
    // Everything else expired by then as well.
    assert_eq!(later.authorizations, 3, "{later:?}");
}
