// Deferred issuance (OpenID4VCI 1.0 §9) with the OWF oid4vc-ts client's
// retrieveDeferredCredentials: poll a transaction, verify what it yields with
// the same verifier as the credential endpoint's, and carry a session (access
// token, DPoP key, the holder keys proven in the credential request) from one
// run of this script to the next, so a test can act at the issuer in between
// (complete or deny the transaction). Polls are sent at once: the test sets
// the pace, not `interval`.
import { Openid4vciClient, Openid4vciRetrieveCredentialsError } from '@openid4vc/openid4vci';
import { step, WalletError } from './errors.mjs';
import { IssuerKeys } from './issuer-keys.mjs';
import { KeyRing } from './keys.mjs';
import { notify, verifyResponse, walletCallbacks } from './wallet.mjs';

/**
 * After a credential request answered 202: `input.deferred.polls` polls of each transaction
 * (default 0), and the session a later `{"mode": "deferred-poll"}` run resumes.
 */
export async function deferredSession({ client, fetchFn, issuerMetadata, credentialIssuer, input, keys, accessToken, dpop, deferred }) {
  const ctx = { client, issuerMetadata, credentialIssuer, issuerKeys: new IssuerKeys(fetchFn), input, accessToken, dpop };
  for (const t of deferred) t.polls = await pollTimes(ctx, t, input.deferred.polls ?? 0);
  return { deferred, session: await exportSession(ctx, keys, deferred) };
}

/**
 * `{"mode": "deferred-poll", "session": <from the earlier run>, "transactionId"?, "polls"?: 1,
 *   "notify"?: [...], "after"?: 0}`: up to `polls` polls of each transaction of the session
 * (stopping at the first answer that is not 202), the credentials verified, then the
 * notifications (as in the claim run), then `after` more polls (to see the id spent).
 */
export async function resumeDeferred(input, fetchFn) {
  const s = input.session;
  if (typeof s?.accessToken !== 'string' || !Array.isArray(s.transactions)) {
    throw new WalletError('input', 'mode deferred-poll needs the "session" of a claim run with "deferred"');
  }
  const keys = new KeyRing();
  const dpop = s.dpop ? { signer: { method: 'jwk', alg: 'ES256', publicJwk: await keys.importPrivate(s.dpop.privateJwk) }, nonce: s.dpop.nonce ?? undefined } : undefined;
  const client = new Openid4vciClient({ callbacks: walletCallbacks(fetchFn, keys) });
  const issuerMetadata = await step('metadata', () => client.resolveIssuerMetadata(s.credentialIssuer));
  const ctx = { client, issuerMetadata, credentialIssuer: s.credentialIssuer, issuerKeys: new IssuerKeys(fetchFn), input, accessToken: s.accessToken, dpop };
  const transactions = s.transactions.filter((t) => input.transactionId === undefined || t.transactionId === input.transactionId);
  const polls = [];
  for (const t of transactions) polls.push(...(await pollTimes(ctx, t, input.polls ?? 1)));
  const credentials = polls.flatMap((p) => p.credentials ?? []);
  const notifications = await notify({ client, issuerMetadata, input, credentials, accessToken: s.accessToken, dpop: ctx.dpop });
  const after = [];
  for (const t of transactions) after.push(...(await pollTimes(ctx, t, input.after ?? 0)));
  return {
    ok: true,
    credentialIssuer: s.credentialIssuer,
    polls,
    credentials,
    ...(notifications ? { notifications } : {}),
    after,
    session: await exportSession(ctx, keys, s.transactions),
  };
}

/** Up to `times` polls of `t`, stopping at the first answer that is not 202. */
async function pollTimes(ctx, t, times) {
  const results = [];
  for (let i = 0; i < times; i++) {
    const r = await pollOnce(ctx, t);
    results.push(r);
    if (r.status !== 202) break;
  }
  return results;
}

/** One deferred credential request: 202 (same id), 200 (credentials verified), or the error. */
async function pollOnce(ctx, t) {
  const { client, issuerMetadata, accessToken } = ctx;
  const base = { transactionId: t.transactionId, configurationId: t.configurationId };
  let response;
  let body;
  let workaround;
  try {
    response = await client.retrieveDeferredCredentials({ issuerMetadata, accessToken, transactionId: t.transactionId, dpop: ctx.dpop });
    body = response.deferredCredentialResponse;
  } catch (e) {
    response = e.response;
    body = e instanceof Openid4vciRetrieveCredentialsError ? await notificationIdBug(e.response) : undefined;
    if (!body) {
      keepNonce(ctx, response);
      const w = await step('deferred', async () => {
        throw e;
      }).catch((x) => x);
      return { ...base, status: w.status ?? null, error: w.error ?? null, errorDescription: w.description ?? null, message: w.message };
    }
    workaround = { libraryWorkaround: 'oid4vc-ts#245: notification_id with credentials is valid (OpenID4VCI 1.0 §8.3); checked here instead' };
  }
  keepNonce(ctx, response);
  const status = response.response.status;
  if (body.transaction_id !== undefined) {
    // The library checked that it is the same id and that an interval came with it.
    return { ...base, status, interval: body.interval, sameTransactionId: body.transaction_id === t.transactionId };
  }
  const credentials = await verifyResponse({
    body,
    configurationId: t.configurationId,
    which: t.credentialIdentifier === undefined ? {} : { credentialIdentifier: t.credentialIdentifier },
    configuration: issuerMetadata.credentialIssuer.credential_configurations_supported[t.configurationId],
    credentialIssuer: ctx.credentialIssuer,
    issuerKeys: ctx.issuerKeys,
    holderKeys: t.holderKeys,
    input: ctx.input,
  });
  return { ...base, status, notificationId: body.notification_id ?? null, credentials, ...workaround };
}

/**
 * oid4vc-ts 0.4.6 refuses a deferred credential response that carries `notification_id` with
 * `credentials` (an inverted condition in zDeferredCredentialResponse, upstream issue #245),
 * though OpenID4VCI 1.0 allows it. When that is the only complaint about a 200, the body, checked
 * here against §8.3 instead, is used; anything else stays an error.
 */
async function notificationIdBug(response) {
  const issues = response?.deferredCredentialResponseResult?.error?.issues;
  if (response?.response?.status !== 200 || !Array.isArray(issues) || issues.length === 0) return undefined;
  if (!issues.every((i) => String(i.message).startsWith("'notification_id' MUST NOT be defined"))) return undefined;
  const body = await response.response.clone().json();
  const wellFormed =
    Array.isArray(body.credentials) &&
    body.credentials.length > 0 &&
    body.credentials.every((c) => typeof c?.credential === 'string') &&
    typeof body.notification_id === 'string' &&
    body.transaction_id === undefined &&
    body.interval === undefined;
  return wellFormed ? body : undefined;
}

function keepNonce(ctx, response) {
  if (ctx.dpop && response?.dpop?.nonce) ctx.dpop = { ...ctx.dpop, nonce: response.dpop.nonce };
}

async function exportSession(ctx, keys, transactions) {
  return {
    credentialIssuer: ctx.credentialIssuer,
    accessToken: ctx.accessToken,
    dpop: ctx.dpop ? { privateJwk: await keys.exportPrivate(ctx.dpop.signer.publicJwk), nonce: ctx.dpop.nonce ?? null } : null,
    transactions: transactions.map(({ configurationId, credentialIdentifier, transactionId, holderKeys }) => ({ configurationId, credentialIdentifier, transactionId, holderKeys })),
  };
}
