// Turns whatever the wallet library (or our own checks) threw into the
// `{ok:false, stage, status, error, message}` object the Rust tests assert on.
import { InvalidFetchResponseError, Oauth2ClientErrorResponseError } from '@openid4vc/oauth2';
import { Openid4vciRetrieveCredentialsError } from '@openid4vc/openid4vci';

export class WalletError extends Error {
  constructor(stage, message, { status, error, description } = {}) {
    super(message);
    Object.assign(this, { stage, status, error, description });
  }
}

/** Runs `fn`; anything it throws becomes a WalletError tagged with `stage`. */
export async function step(stage, fn) {
  try {
    return await fn();
  } catch (e) {
    throw e instanceof WalletError ? e : await fromLibraryError(stage, e);
  }
}

async function fromLibraryError(stage, e) {
  let status;
  let body;
  if (e instanceof Oauth2ClientErrorResponseError) {
    // token endpoint answered with an RFC 6749 §5.2 error object
    status = e.response?.status;
    body = e.errorResponse;
  } else if (e instanceof Openid4vciRetrieveCredentialsError) {
    // credential endpoint: JSON error body, or WWW-Authenticate for 401/403
    status = e.response?.response?.status;
    // (the library only parses bodies labelled application/json; fall back to the raw body)
    const raw = await e.response?.response?.clone().json().catch(() => undefined);
    body = [e.response?.credentialErrorResponseResult?.data, ...(e.response?.wwwAuthenticate ?? []), raw].find((b) => typeof b?.error === 'string');
  } else if (e instanceof InvalidFetchResponseError) {
    status = e.response?.status;
    try {
      body = JSON.parse(e.textResponse);
    } catch {
      body = undefined;
    }
  }
  return new WalletError(stage, e?.message ?? String(e), {
    status,
    error: typeof body?.error === 'string' ? body.error : undefined,
    description: body?.error_description,
  });
}

export function failure(e, trace) {
  const w = e instanceof WalletError ? e : new WalletError('internal', e?.stack ?? String(e));
  return {
    ok: false,
    stage: w.stage,
    status: w.status ?? null,
    error: w.error ?? null,
    errorDescription: w.description ?? null,
    message: w.message,
    ...(trace ? { trace } : {}),
  };
}
