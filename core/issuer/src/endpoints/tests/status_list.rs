//! Token Status Lists on fakes: entries for issued credentials (random,
//! distinct, switchable), the signed list in both forms, its cache, and
//! the operator's status changes.

use std::collections::BTreeSet;
use std::io::Read as _;
use std::sync::atomic::Ordering;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use p256::ecdsa::signature::Verifier as _;
use p256::ecdsa::{Signature, VerifyingKey};
use serde_json::{Value, json};

use super::fakes::{Holder, ISSUER, NOW, World, lock, status_list_key};
use crate::endpoints::credential::{CredentialCause, CredentialRequest};
use crate::errors::CredentialErrorCode as Code;
use crate::model::{CredentialRecord, CredentialStatus, EventKind, Offer, StatusEntry};
use crate::ports::LifecycleStore;
use crate::status_list::allocate::REFILL;
use crate::status_list::{StatusAction, StatusChangeCause, StatusListCause, TokenForm, encoding};

fn inline_badge(o: &mut Offer) {
    World::inline(o, "badge", json!({ "given_name": "Ada" }));
}

/// Issue `holders` credentials of `badge` for a new offer `id` (edited
/// by `edit`) and return their records.
async fn issue(
    w: &World,
    id: &str,
    holders: usize,
    edit: impl FnOnce(&mut Offer),
) -> Vec<CredentialRecord> {
    let token = w
        .token_for(id, &["badge"], |o| {
            inline_badge(o);
            edit(o);
        })
        .await;
    let nonce = w.issuer.nonce(&w.tenant).c_nonce;
    let proofs: Vec<String> = (0..holders)
        .map(|_| Holder::new().proof(&nonce, NOW))
        .collect();
    let body = json!({ "credential_configuration_id": "badge", "proofs": { "jwt": proofs } });
    w.issuer
        .credential(
            &w.tenant,
            Some(&format!("Bearer {token}")),
            CredentialRequest::from_json(body.to_string().as_bytes()),
        )
        .await
        .unwrap()
        .into_issued()
        .unwrap();
    lock(&w.store().credentials)
        .iter()
        .filter(|c| c.offer_id == id)
        .cloned()
        .collect()
}

#[tokio::test]
async fn each_credential_of_a_batch_gets_its_own_entry_in_the_open_list() {
    let w = World::new();
    let records = issue(&w, "o1", 5, |_| {}).await;
    assert_eq!(records.len(), 5);
    let entries: Vec<StatusEntry> = records.iter().map(|r| r.status_entry.unwrap()).collect();
    assert!(entries.iter().all(|e| e.list == 1 && e.index < 131_072));
    let distinct: BTreeSet<u64> = entries.iter().map(|e| e.index).collect();
    assert_eq!(distinct.len(), 5, "{entries:?}");
    // The format plugin got the same entries as references to the list URI.
    let issued = lock(&w.plugins().issued);
    let references: Vec<(String, u64)> = issued[0]
        .1
        .slots
        .iter()
        .map(|s| {
            let r = s.status.clone().unwrap();
            (r.uri, r.index)
        })
        .collect();
    let expected: Vec<(String, u64)> = entries
        .iter()
        .map(|e| (format!("{ISSUER}/statuslists/1"), e.index))
        .collect();
    assert_eq!(references, expected);
    // Every entry handed out was reserved in the store; the rest of the
    // refill stays in this instance's pool.
    let reserved = lock(&w.store().reserved);
    assert!(
        entries
            .iter()
            .all(|e| reserved.contains(&("default".to_owned(), 1, e.index)))
    );
    assert_eq!(reserved.len(), REFILL);
    assert_eq!(w.issuer.status_lists.pooled("default"), REFILL - 5);
}

#[tokio::test]
async fn indices_are_random_not_sequential_and_never_repeat() {
    let w = World::new();
    let mut all = Vec::new();
    for _ in 0..10 {
        all.extend(w.issuer.allocate("default", 30).await.unwrap());
    }
    let indices: Vec<u64> = all.iter().map(|e| e.index).collect();
    let distinct: BTreeSet<u64> = indices.iter().copied().collect();
    assert_eq!(distinct.len(), 300);
    // Handed out in no order and spread over the list: 300 random indices
    // of 131,072 are neither sorted nor within a small window (each
    // failing by chance is far below 1e-100).
    let ascending = indices.windows(2).filter(|w| w[1] == w[0] + 1).count();
    assert!(ascending < 10, "{ascending} consecutive pairs");
    assert!(indices.windows(2).any(|w| w[1] < w[0]));
    let span = distinct.last().unwrap() - distinct.first().unwrap();
    assert!(span > 100_000, "span {span}");
    // Everything reserved was handed out or is still pooled; at most five
    // refills of 64 (a later refill may draw a candidate reserved before).
    let reserved = lock(&w.store().reserved).len();
    assert_eq!(reserved, 300 + w.issuer.status_lists.pooled("default"));
    assert!(reserved <= 5 * REFILL);
}

#[test]
fn concurrent_allocations_in_one_instance_never_share_an_index() {
    let w = World::new();
    let per_thread: Vec<Vec<StatusEntry>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..8)
            .map(|_| {
                s.spawn(|| {
                    let rt = tokio::runtime::Builder::new_current_thread()
                        .build()
                        .unwrap();
                    let mut got = Vec::new();
                    for _ in 0..40 {
                        got.extend(rt.block_on(w.issuer.allocate("default", 3)).unwrap());
                    }
                    got
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let all: Vec<StatusEntry> = per_thread.into_iter().flatten().collect();
    let distinct: BTreeSet<(u32, u64)> = all.iter().map(|e| (e.list, e.index)).collect();
    assert_eq!(all.len(), 8 * 40 * 3);
    assert_eq!(distinct.len(), all.len());
}

#[tokio::test]
async fn a_list_too_full_for_random_allocation_is_closed_and_the_next_opened() {
    let w = World::with_settings(|s| s.status_lists.size = 1024);
    let list = w
        .store()
        .open_status_list("default", 1024, 2, NOW)
        .await
        .unwrap();
    assert_eq!(list.number, 1);
    // Another instance reserved 90 % of list 1.
    lock(&w.store().reserved).extend((0..922).map(|i| ("default".to_owned(), 1, i)));
    let first = w.issuer.allocate("default", 1).await.unwrap();
    let lists = lock(&w.store().status_lists).clone();
    assert!(!lists[0].open, "list 1 is closed");
    // The few it got of list 1 are still handed out, then list 2.
    let more = w.issuer.allocate("default", 100).await.unwrap();
    let all: Vec<StatusEntry> = first.into_iter().chain(more).collect();
    assert!(all.iter().any(|e| e.list == 2));
    assert!(all.iter().all(|e| e.list == 2 || e.index >= 922));
    let distinct: BTreeSet<(u32, u64)> = all.iter().map(|e| (e.list, e.index)).collect();
    assert_eq!(distinct.len(), 101);
    let lists = lock(&w.store().status_lists).clone();
    assert_eq!(
        lists.iter().map(|l| (l.number, l.open)).collect::<Vec<_>>(),
        [(1, false), (2, true)]
    );
}

#[tokio::test]
async fn the_offer_then_the_configuration_then_the_setting_decide_whether_to_get_an_entry() {
    let config = |on: Option<bool>| {
        let mut c = super::fakes::settings().credential_configurations["badge"].clone();
        c.status_list = on;
        c
    };
    let offer = |on: Option<bool>| {
        let mut o = None;
        let w = World::new();
        w.offer("x", &["badge"], |x| {
            x.runtime_overrides.status_list = on;
            o = Some(x.clone());
        });
        o.unwrap()
    };
    for enabled in [true, false] {
        let w = World::with_settings(|s| s.status_lists.enabled = enabled);
        for c in [None, Some(true), Some(false)] {
            for o in [None, Some(true), Some(false)] {
                let want = o.or(c).unwrap_or(enabled);
                assert_eq!(
                    w.issuer.wants_status_entry(&offer(o), &config(c)),
                    want,
                    "enabled {enabled}, configuration {c:?}, offer {o:?}"
                );
            }
        }
    }
    // Through the credential endpoint: an offer that opts out gets no
    // entry, and nothing is reserved for it.
    let w = World::new();
    let records = issue(&w, "off", 2, |o| {
        o.runtime_overrides.status_list = Some(false)
    })
    .await;
    assert!(records.iter().all(|r| r.status_entry.is_none()));
    assert!(
        lock(&w.plugins().issued)[0]
            .1
            .slots
            .iter()
            .all(|s| s.status.is_none())
    );
    assert!(lock(&w.store().reserved).is_empty());
    // The setting off and the configuration on.
    let w = World::with_settings(|s| {
        s.status_lists.enabled = false;
        if let Some(c) = s.credential_configurations.get_mut("badge") {
            c.status_list = Some(true);
        }
    });
    let records = issue(&w, "on", 1, |_| {}).await;
    assert!(records[0].status_entry.is_some());
}

#[tokio::test]
async fn a_store_failure_while_allocating_is_a_server_error_and_issues_nothing() {
    let w = World::new();
    let token = w.token_for("o1", &["badge"], inline_badge).await;
    let nonce = w.issuer.nonce(&w.tenant).c_nonce;
    let config = w.issuer.settings.credential_configurations["badge"].clone();
    let offer = lock(&w.store().offers)["o1"].clone();
    w.store().broken.store(true, Ordering::Relaxed);
    let e = w
        .issuer
        .status_entries(&w.tenant, &offer, &config, 2)
        .await
        .unwrap_err();
    assert!(matches!(e, CredentialCause::Record(_)), "{e:?}");
    assert_eq!(e.code(), Code::ServerError);
    w.store().broken.store(false, Ordering::Relaxed);
    // The request still works once the store is back.
    let body = json!({ "credential_configuration_id": "badge",
        "proofs": { "jwt": [Holder::new().proof(&nonce, NOW)] } });
    w.issuer
        .credential(
            &w.tenant,
            Some(&format!("Bearer {token}")),
            CredentialRequest::from_json(body.to_string().as_bytes()),
        )
        .await
        .unwrap();
}

/// A decoded JWT status list token: header, claims, and the list bytes.
fn decode_jwt(token: &[u8]) -> (Value, Value, Vec<u8>) {
    let token = std::str::from_utf8(token).unwrap();
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3);
    let jwk = status_list_key().public_jwk();
    let point = |c: &str| URL_SAFE_NO_PAD.decode(jwk[c].as_str().unwrap()).unwrap();
    let mut sec1 = vec![4u8];
    sec1.extend(point("x"));
    sec1.extend(point("y"));
    let key = VerifyingKey::from_sec1_bytes(&sec1).unwrap();
    let signature = Signature::from_slice(&URL_SAFE_NO_PAD.decode(parts[2]).unwrap()).unwrap();
    key.verify(format!("{}.{}", parts[0], parts[1]).as_bytes(), &signature)
        .expect("signature verifies");
    let json =
        |p: &str| -> Value { serde_json::from_slice(&URL_SAFE_NO_PAD.decode(p).unwrap()).unwrap() };
    let claims = json(parts[1]);
    let lst = URL_SAFE_NO_PAD
        .decode(claims["status_list"]["lst"].as_str().unwrap())
        .unwrap();
    (json(parts[0]), claims, inflate(&lst))
}

fn inflate(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::ZlibDecoder::new(data)
        .read_to_end(&mut out)
        .unwrap();
    out
}

async fn change(
    w: &World,
    record: &CredentialRecord,
    action: StatusAction,
) -> Result<CredentialRecord, StatusChangeCause> {
    w.issuer
        .change_credential_status(&w.tenant, &record.id, action)
        .await
}

#[tokio::test]
async fn the_jwt_verifies_and_shows_each_credentials_status() {
    let w = World::new();
    let records = issue(&w, "o1", 3, |_| {}).await;
    change(&w, &records[0], StatusAction::Revoke).await.unwrap();
    change(&w, &records[1], StatusAction::Suspend)
        .await
        .unwrap();
    let token = w
        .issuer
        .status_list_token(&w.tenant, 1, TokenForm::Jwt)
        .await
        .unwrap();
    assert_eq!(token.content_type, "application/statuslist+jwt");
    assert_eq!(token.ttl, 300);
    let (header, claims, bytes) = decode_jwt(&token.body);
    assert_eq!(header["typ"], "statuslist+jwt");
    assert_eq!(header["alg"], "ES256");
    assert_eq!(header["kid"], status_list_key().key_id());
    assert!(header.get("x5c").is_none(), "the fake key has no chain");
    assert_eq!(claims["sub"], format!("{ISSUER}/statuslists/1"));
    assert_eq!(claims["iat"], NOW);
    assert_eq!(claims["exp"], NOW + 86_400);
    assert_eq!(claims["ttl"], 300);
    assert_eq!(claims["status_list"]["bits"], 2);
    assert_eq!(bytes.len(), 131_072 / 4);
    let value = |r: &CredentialRecord| {
        encoding::value_at(&bytes, 2, r.status_entry.unwrap().index).unwrap()
    };
    assert_eq!(
        records.iter().map(value).collect::<Vec<_>>(),
        [1, 2, 0],
        "revoked, suspended, valid"
    );
    assert_eq!(bytes.iter().filter(|b| **b != 0).count(), 2);
}

#[tokio::test]
async fn the_cwt_is_a_cose_sign1_that_verifies() {
    use ciborium::Value as Cbor;
    let w = World::new();
    let records = issue(&w, "o1", 1, |_| {}).await;
    change(&w, &records[0], StatusAction::Revoke).await.unwrap();
    let token = w
        .issuer
        .status_list_token(&w.tenant, 1, TokenForm::Cwt)
        .await
        .unwrap();
    assert_eq!(token.content_type, "application/statuslist+cwt");
    let Cbor::Tag(18, sign1) = ciborium::from_reader::<Cbor, _>(&token.body[..]).unwrap() else {
        panic!("not a tagged COSE_Sign1")
    };
    let Cbor::Array(parts) = *sign1 else {
        panic!("not an array")
    };
    let [
        Cbor::Bytes(protected),
        Cbor::Map(unprotected),
        Cbor::Bytes(payload),
        Cbor::Bytes(signature),
    ] = &parts[..]
    else {
        panic!("not a COSE_Sign1: {parts:?}")
    };
    assert!(unprotected.is_empty());
    let int = |i: i64| Cbor::Integer(i.into());
    let get =
        |m: &[(Cbor, Cbor)], k: &Cbor| m.iter().find(|(key, _)| key == k).map(|(_, v)| v.clone());
    let Cbor::Map(header) = ciborium::from_reader::<Cbor, _>(&protected[..]).unwrap() else {
        panic!("protected header is not a map")
    };
    assert_eq!(get(&header, &int(1)), Some(int(-7)));
    assert_eq!(
        get(&header, &int(16)),
        Some(Cbor::Text("application/statuslist+cwt".into()))
    );
    assert_eq!(
        get(&header, &int(4)),
        Some(Cbor::Bytes(status_list_key().key_id().as_bytes().to_vec()))
    );
    // The signature over the Sig_structure, built by the other library.
    let mut to_sign = Vec::new();
    ciborium::into_writer(
        &Cbor::Array(vec![
            Cbor::Text("Signature1".into()),
            Cbor::Bytes(protected.clone()),
            Cbor::Bytes(vec![]),
            Cbor::Bytes(payload.clone()),
        ]),
        &mut to_sign,
    )
    .unwrap();
    let jwk = status_list_key().public_jwk();
    let point = |c: &str| URL_SAFE_NO_PAD.decode(jwk[c].as_str().unwrap()).unwrap();
    let sec1: Vec<u8> = [vec![4u8], point("x"), point("y")].concat();
    VerifyingKey::from_sec1_bytes(&sec1)
        .unwrap()
        .verify(&to_sign, &Signature::from_slice(signature).unwrap())
        .expect("signature verifies");
    let Cbor::Map(claims) = ciborium::from_reader::<Cbor, _>(&payload[..]).unwrap() else {
        panic!("payload is not a map")
    };
    assert_eq!(
        get(&claims, &int(2)),
        Some(Cbor::Text(format!("{ISSUER}/statuslists/1")))
    );
    assert_eq!(get(&claims, &int(6)), Some(int(NOW)));
    assert_eq!(get(&claims, &int(4)), Some(int(NOW + 86_400)));
    assert_eq!(get(&claims, &int(65_534)), Some(int(300)));
    let Some(Cbor::Map(list)) = get(&claims, &int(65_533)) else {
        panic!("no status list")
    };
    assert_eq!(get(&list, &Cbor::Text("bits".into())), Some(int(2)));
    let Some(Cbor::Bytes(lst)) = get(&list, &Cbor::Text("lst".into())) else {
        panic!("lst is not a byte string")
    };
    let bytes = inflate(&lst);
    let index = records[0].status_entry.unwrap().index;
    assert_eq!(encoding::value_at(&bytes, 2, index), Some(1));
}

#[tokio::test]
async fn the_token_is_cached_until_the_list_changes_or_nears_expiry() {
    let w = World::new();
    let records = issue(&w, "o1", 2, |_| {}).await;
    let get = || w.issuer.status_list_token(&w.tenant, 1, TokenForm::Jwt);
    let first = get().await.unwrap();
    w.advance(60);
    assert_eq!(get().await.unwrap(), first, "cached: same iat");
    // A change raises the version: the next fetch is signed again and shows it.
    change(&w, &records[0], StatusAction::Suspend)
        .await
        .unwrap();
    let changed = get().await.unwrap();
    assert_ne!(changed, first);
    let (_, claims, bytes) = decode_jwt(&changed.body);
    assert_eq!(claims["iat"], NOW + 60);
    let index = records[0].status_entry.unwrap().index;
    assert_eq!(encoding::value_at(&bytes, 2, index), Some(2));
    // The CWT form is cached on its own.
    let cwt = w
        .issuer
        .status_list_token(&w.tenant, 1, TokenForm::Cwt)
        .await
        .unwrap();
    assert_ne!(cwt.body, changed.body);
    // A repeated (idempotent) change changes nothing: still cached.
    change(&w, &records[0], StatusAction::Suspend)
        .await
        .unwrap();
    assert_eq!(get().await.unwrap(), changed);
    // Within ttl of exp it is signed again.
    w.advance(86_400 - 300);
    let renewed = get().await.unwrap();
    let (_, claims, _) = decode_jwt(&renewed.body);
    assert_eq!(claims["iat"], NOW + 60 + 86_400 - 300);
}

#[tokio::test]
async fn unknown_and_other_tenants_lists_are_not_found() {
    let w = World::new();
    issue(&w, "o1", 1, |_| {}).await;
    for (tenant, number) in [(&w.tenant, 2), (&w.acme, 1)] {
        let e = w
            .issuer
            .status_list_token(tenant, number, TokenForm::Jwt)
            .await
            .unwrap_err();
        assert!(matches!(e, StatusListCause::UnknownList), "{e:?}");
    }
    w.store().broken.store(true, Ordering::Relaxed);
    let e = w
        .issuer
        .status_list_token(&w.tenant, 1, TokenForm::Jwt)
        .await
        .unwrap_err();
    assert!(matches!(e, StatusListCause::Store(_)), "{e:?}");
}

/// Put credential `id` in `status` directly in the fake store.
fn set_status(w: &World, id: &str, status: CredentialStatus) {
    for c in lock(&w.store().credentials).iter_mut() {
        if c.id == id {
            c.status = status;
        }
    }
}

#[tokio::test]
async fn the_rules_of_revoke_suspend_and_reinstate() {
    use CredentialStatus::{Revoked, Suspended, Valid};
    use StatusAction::{Reinstate, Revoke, Suspend};
    enum Want {
        To(CredentialStatus, EventKind),
        Unchanged,
        Refused(&'static str),
    }
    use Want::{Refused, To, Unchanged};
    let table = [
        (Valid, Revoke, 2, To(Revoked, EventKind::CredentialRevoked)),
        (
            Valid,
            Suspend,
            2,
            To(Suspended, EventKind::CredentialSuspended),
        ),
        (Valid, Suspend, 1, Refused("bits")),
        (Valid, Reinstate, 2, Unchanged),
        (
            Suspended,
            Revoke,
            2,
            To(Revoked, EventKind::CredentialRevoked),
        ),
        (Suspended, Suspend, 2, Unchanged),
        (
            Suspended,
            Reinstate,
            2,
            To(Valid, EventKind::CredentialReinstated),
        ),
        (Revoked, Revoke, 2, Unchanged),
        (Revoked, Revoke, 1, Unchanged),
        (Revoked, Suspend, 2, Refused("final")),
        (Revoked, Reinstate, 2, Refused("final")),
    ];
    for (from, action, bits, want) in table {
        let w = World::with_settings(|s| s.status_lists.bits = bits);
        let record = issue(&w, "o1", 1, |_| {}).await.remove(0);
        set_status(&w, &record.id, from);
        let events = w.store().event_kinds().len();
        let case = format!("{from} {} ({bits} bits)", action.as_str());
        let got = change(&w, &record, action).await;
        let stored = lock(&w.store().credentials)[0].status;
        let new_events = w.store().event_kinds()[events..].to_vec();
        match want {
            To(to, kind) => {
                assert_eq!(got.unwrap().status, to, "{case}");
                assert_eq!(stored, to, "{case}");
                assert_eq!(new_events, [kind], "{case}");
            }
            Unchanged => {
                assert_eq!(got.unwrap().status, from, "{case}");
                assert_eq!(stored, from, "{case}");
                assert!(new_events.is_empty(), "{case}");
            }
            Refused(why) => {
                let e = got.unwrap_err();
                let ok = match why {
                    "bits" => matches!(e, StatusChangeCause::SuspendNeedsTwoBits),
                    _ => matches!(e, StatusChangeCause::RevokedIsFinal),
                };
                assert!(ok, "{case}: {e:?}");
                assert_eq!(stored, from, "{case}");
                assert!(new_events.is_empty(), "{case}");
            }
        }
    }
}

#[tokio::test]
async fn a_change_records_its_event_and_unknown_or_entryless_credentials_are_refused() {
    let w = World::new();
    let record = issue(&w, "o1", 1, |_| {}).await.remove(0);
    change(&w, &record, StatusAction::Revoke).await.unwrap();
    let event = lock(&w.store().events).last().cloned().unwrap();
    let entry = record.status_entry.unwrap();
    assert_eq!(
        (event.kind, event.offer_id.as_str(), event.detail),
        (
            EventKind::CredentialRevoked,
            "o1",
            json!({
                "credentialId": record.id,
                "credentialConfigurationId": "badge",
                "statusList": { "uri": format!("{ISSUER}/statuslists/1"), "idx": entry.index },
            })
        )
    );
    let e = w
        .issuer
        .change_credential_status(&w.tenant, "nope", StatusAction::Revoke)
        .await
        .unwrap_err();
    assert!(matches!(e, StatusChangeCause::UnknownCredential), "{e:?}");
    // Another tenant's credential is unknown to this one.
    let e = w
        .issuer
        .change_credential_status(&w.acme, &record.id, StatusAction::Revoke)
        .await
        .unwrap_err();
    assert!(matches!(e, StatusChangeCause::UnknownCredential), "{e:?}");
    let plain = issue(&w, "o2", 1, |o| {
        o.runtime_overrides.status_list = Some(false)
    })
    .await
    .remove(0);
    let e = change(&w, &plain, StatusAction::Revoke).await.unwrap_err();
    assert!(matches!(e, StatusChangeCause::NoStatusEntry), "{e:?}");
    w.store().broken.store(true, Ordering::Relaxed);
    let e = change(&w, &record, StatusAction::Revoke).await.unwrap_err();
    assert!(matches!(e, StatusChangeCause::Store(_)), "{e:?}");
}

#[tokio::test]
async fn an_offer_wide_change_applies_to_every_credential_it_can() {
    let w = World::new();
    let records = issue(&w, "o1", 3, |_| {}).await;
    change(&w, &records[0], StatusAction::Revoke).await.unwrap();
    let statuses = |rs: Vec<CredentialRecord>| -> Vec<CredentialStatus> {
        let mut by_id: Vec<(String, CredentialStatus)> =
            rs.into_iter().map(|r| (r.id, r.status)).collect();
        by_id.sort_by_key(|(id, _)| records.iter().position(|r| &r.id == id));
        by_id.into_iter().map(|(_, s)| s).collect()
    };
    use CredentialStatus::{Revoked, Suspended, Valid};
    let events = w.store().event_kinds().len();
    let all = |action| w.issuer.change_offer_status(&w.tenant, "o1", action);
    assert_eq!(
        statuses(all(StatusAction::Suspend).await.unwrap()),
        [Revoked, Suspended, Suspended]
    );
    assert_eq!(
        statuses(all(StatusAction::Suspend).await.unwrap()),
        [Revoked, Suspended, Suspended],
        "idempotent"
    );
    assert_eq!(
        statuses(all(StatusAction::Reinstate).await.unwrap()),
        [Revoked, Valid, Valid]
    );
    assert_eq!(
        statuses(all(StatusAction::Revoke).await.unwrap()),
        [Revoked, Revoked, Revoked]
    );
    // 2 suspended, 2 reinstated, 2 revoked.
    assert_eq!(w.store().event_kinds().len() - events, 6);
    let e = w
        .issuer
        .change_offer_status(&w.acme, "o1", StatusAction::Revoke)
        .await
        .unwrap_err();
    assert!(matches!(e, StatusChangeCause::UnknownOffer), "{e:?}");
    issue(&w, "plain", 2, |o| {
        o.runtime_overrides.status_list = Some(false)
    })
    .await;
    let e = w
        .issuer
        .change_offer_status(&w.tenant, "plain", StatusAction::Revoke)
        .await
        .unwrap_err();
    assert!(matches!(e, StatusChangeCause::NoStatusEntry), "{e:?}");
    // An offer with no credentials yet: nothing to change.
    w.offer("fresh", &["badge"], |_| {});
    assert!(
        w.issuer
            .change_offer_status(&w.tenant, "fresh", StatusAction::Revoke)
            .await
            .unwrap()
            .is_empty()
    );
    // Suspending on 1-bit lists is refused as a whole.
    let w = World::with_settings(|s| s.status_lists.bits = 1);
    issue(&w, "o1", 2, |_| {}).await;
    let e = w
        .issuer
        .change_offer_status(&w.tenant, "o1", StatusAction::Suspend)
        .await
        .unwrap_err();
    assert!(matches!(e, StatusChangeCause::SuspendNeedsTwoBits), "{e:?}");
    assert!(
        lock(&w.store().credentials)
            .iter()
            .all(|c| c.status == Valid)
    );
}
