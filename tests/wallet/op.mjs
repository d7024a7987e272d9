#!/usr/bin/env node
// A small upstream OpenID Provider for Sigil's authorization code flow tests,
// built on `oidc-provider` (panva) so that Sigil logs users in against a real,
// independent OP. Nothing here comes from Sigil.
//
//   node tests/wallet/op.mjs < config.json
//
// Config (one JSON object on stdin):
//   {"port": 0,                                      // 0 = any free port; always 127.0.0.1
//    "clients": [{"client_id": "sigil", "client_secret": "sigil-secret",
//                 "redirect_uris": ["http://127.0.0.1:8099/login/callback"],
//                 ...any other oidc-provider client metadata}],
//    "accounts": [{"sub": "user-42", "claims": {"given_name": "Katherine", "email": "kj@example.org", ...},
//                  "password": "optional: when set, the login form must carry it"}],
//    "idTokenAlg": "RS256" | "ES256",                 // default RS256
//    "accessTokenFormat": "opaque" | "jwt",           // default opaque; jwt needs "resource"
//    "resource": "http://127.0.0.1:8099",             // resource indicator of RFC 9068 JWT access tokens
//    "resourceScope": "openid profile email",         // scopes the resource server accepts (default: that)
//    "otherResources": ["https://other.example"],     // more resource indicators, served like "resource"
//                                                     // (e.g. for tokens meant for another audience)
//    "ttl": {"AccessToken": 3600, "IdToken": 3600, "AuthorizationCode": 60, ...},  // seconds
//    "tamper": "signature" | "nonce" | "audience" | "expired"}  // optional: a misbehaving provider whose
//                                                  // token responses carry a broken ID token (negative tests)
//
// When it listens it prints exactly one line to stdout, {"issuer": "http://127.0.0.1:<port>"}; everything
// else (oidc-provider notices, errors) goes to stderr. It runs until SIGTERM/SIGINT, or until stdin reaches
// its end when stdin is a pipe (a test that spawns it keeps the pipe open and drops it to stop the OP;
// with `< config.json` stdin is a file and only a signal stops it).
//
// Clients may be public wallets ("token_endpoint_auth_method": "none"; PAR, PKCE and DPoP work as for
// any client) or have "grant_types": ["client_credentials"] (the client credentials grant is enabled; with
// "resource" or "otherResources" its tokens are JWT access tokens for that audience too).
//
// Besides the OP's own endpoints (discovery at /.well-known/openid-configuration, /jwks, /auth, /token,
// /me, the dev-interaction login and consent pages under /interaction/:uid) it serves a test-only
// `GET /test/last-authorization`: the query parameters of the most recent GET /auth that did not come
// back from an interaction, so a test can assert that login_hint/prompt/nonce reached the provider
// ({} before any).
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { fstatSync } from 'node:fs';
import { createServer } from 'node:http';
import { CompactSign, calculateJwkThumbprint, decodeProtectedHeader, importJWK } from 'jose';
import Provider, { errors } from 'oidc-provider';

// oidc-provider prints its "you SHOULD change ..." notices with console.info/log: keep stdout for
// the one issuer line the caller parses.
console.info = console.error;
console.log = console.error;

const STANDARD_CLAIMS = {
  openid: ['sub'],
  profile: [
    'name', 'family_name', 'given_name', 'middle_name', 'nickname', 'preferred_username', 'profile',
    'picture', 'website', 'gender', 'birthdate', 'zoneinfo', 'locale', 'updated_at',
  ],
  email: ['email', 'email_verified'],
  address: ['address'],
  phone: ['phone_number', 'phone_number_verified'],
};

const DEFAULT_TTL = {
  AccessToken: 3600,
  AuthorizationCode: 60,
  IdToken: 3600,
  Interaction: 600,
  Session: 3600,
  Grant: 3600,
  RefreshToken: 86400,
};

/** Reads stdin until it holds one complete JSON value; `ended` resolves when stdin closes. */
function readConfig() {
  let text = '';
  let settled = false;
  let ended;
  const endedPromise = new Promise((resolve) => (ended = resolve));
  const config = new Promise((resolve, reject) => {
    process.stdin.setEncoding('utf8');
    process.stdin.on('data', (chunk) => {
      text += chunk;
      if (settled) return;
      try {
        const value = JSON.parse(text);
        settled = true;
        resolve(value);
      } catch {
        // not complete yet
      }
    });
    process.stdin.on('end', () => {
      ended();
      if (settled) return;
      settled = true;
      try {
        resolve(JSON.parse(text));
      } catch (e) {
        reject(new Error(`stdin is not one JSON object: ${e.message}`));
      }
    });
  });
  return { config, ended: endedPromise };
}

/** An RSA 2048 and a P-256 signing key, private JWKs with RFC 7638 thumbprints as `kid`. */
async function signingKeys() {
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' });
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' });
  const keys = [];
  for (const [jwk, alg] of [[rsa, 'RS256'], [ec, 'ES256']]) {
    const { d, p, q, dp, dq, qi, ...publicJwk } = jwk;
    keys.push({ ...jwk, kid: await calculateJwkThumbprint(publicJwk), alg, use: 'sig' });
  }
  return keys;
}

function claimsConfig(accounts) {
  const claims = structuredClone(STANDARD_CLAIMS);
  const known = new Set(Object.values(claims).flat());
  // Any other claim an account carries is released with the `profile` scope.
  for (const account of accounts) {
    for (const name of Object.keys(account.claims ?? {})) {
      if (!known.has(name)) {
        claims.profile.push(name);
        known.add(name);
      }
    }
  }
  return claims;
}

function validate(config) {
  if (config === null || typeof config !== 'object' || Array.isArray(config)) throw new Error('config must be a JSON object');
  if (!Array.isArray(config.clients) || config.clients.length === 0) throw new Error('config.clients must be a non-empty array');
  if (!Array.isArray(config.accounts)) throw new Error('config.accounts must be an array');
  for (const account of config.accounts) {
    if (typeof account?.sub !== 'string' || !account.sub) throw new Error('every account needs a "sub" string');
  }
  const idTokenAlg = config.idTokenAlg ?? 'RS256';
  if (!['RS256', 'ES256'].includes(idTokenAlg)) throw new Error(`idTokenAlg must be RS256 or ES256, not ${idTokenAlg}`);
  const accessTokenFormat = config.accessTokenFormat ?? 'opaque';
  if (!['opaque', 'jwt'].includes(accessTokenFormat)) throw new Error(`accessTokenFormat must be opaque or jwt, not ${accessTokenFormat}`);
  if (accessTokenFormat === 'jwt' && typeof config.resource !== 'string') {
    throw new Error('accessTokenFormat "jwt" needs "resource" (the audience of the JWT access tokens)');
  }
  const others = config.otherResources ?? [];
  if (!Array.isArray(others) || others.some((r) => typeof r !== 'string')) throw new Error('otherResources must be an array of strings');
  if (others.length && typeof config.resource !== 'string') throw new Error('otherResources needs "resource" as well');
  return { idTokenAlg, accessTokenFormat };
}

function configuration(config, { idTokenAlg, accessTokenFormat }, jwks) {
  const accounts = new Map(config.accounts.map((a) => [a.sub, a]));
  const { resource } = config;
  const resourceServerFor = (audience) => ({
    audience,
    scope: config.resourceScope ?? 'openid profile email',
    accessTokenFormat,
    ...(accessTokenFormat === 'jwt' ? { jwt: { sign: { alg: idTokenAlg } } } : {}),
  });
  const resourceServers = new Map(
    resource ? [resource, ...(config.otherResources ?? [])].map((r) => [r, resourceServerFor(r)]) : [],
  );

  return {
    clients: config.clients.map((client) => ({
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic', // (client_secret_post is accepted as well)
      id_token_signed_response_alg: idTokenAlg,
      ...(resource ? { authorization_details_types: ['openid_credential'] } : {}),
      ...client,
    })),
    clientDefaults: {
      grant_types: ['authorization_code', 'refresh_token'],
      id_token_signed_response_alg: idTokenAlg,
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
    },
    jwks: { keys: jwks },
    cookies: { keys: [randomBytes(32).toString('base64url')] },
    // Release the scope's claims in the ID token too, not only at userinfo (an RP like Sigil reads
    // the ID token and need not call userinfo).
    conformIdTokenClaims: false,
    claims: claimsConfig(config.accounts),
    scopes: ['openid', 'offline_access', 'profile', 'email', 'address', 'phone'],
    pkce: { required: () => true }, // and oidc-provider only implements S256
    ttl: { ...DEFAULT_TTL, ...config.ttl },
    clientBasedCORS: () => true,
    async findAccount(_ctx, sub) {
      const account = accounts.get(sub);
      if (!account) return undefined;
      return {
        accountId: sub,
        async claims() {
          return { ...account.claims, sub };
        },
      };
    },
    features: {
      devInteractions: { enabled: true }, // the login and consent pages lib/browser.mjs fills in
      userinfo: { enabled: true },
      revocation: { enabled: true },
      introspection: { enabled: true },
      resourceIndicators: {
        enabled: true,
        // With "jwt" (or authorization_details, which oidc-provider ties to a resource) a request
        // naming no resource gets the configured one, and so does the token request for its code.
        defaultResource: async (ctx, _client, oneOf) =>
          oneOf ?? (accessTokenFormat === 'jwt' || ctx.oidc.params.authorization_details ? resource : undefined),
        useGrantedResource: async () => true,
        getResourceServerInfo: async (_ctx, indicator) => {
          const server = resourceServers.get(indicator);
          if (server) return server;
          throw new errors.InvalidTarget(`unknown resource indicator ${indicator}`);
        },
      },
      clientCredentials: { enabled: true },
      // authorization_details (RFC 9396) pass through into the grant, the token response and the JWT
      // access token; oidc-provider needs a resource for them, so only when one is configured.
      richAuthorizationRequests: resource
        ? {
            enabled: true,
            types: {
              openid_credential: {
                validate(_ctx, detail) {
                  if (typeof detail.credential_configuration_id !== 'string' && typeof detail.format !== 'string') {
                    throw new errors.InvalidAuthorizationDetails('openid_credential needs credential_configuration_id or format');
                  }
                },
              },
            },
            authorizationDetailsForGrantSource: (ctx) => ctx.oidc.grant?.rar ?? JSON.parse(ctx.oidc.params.authorization_details ?? '[]'),
            authorizationDetailsForAccessToken: (_ctx, _token, source) => source?.rar,
            authorizationDetailsForIntrospection: (_ctx, token) => token.rar,
          }
        : { enabled: false },
    },
  };
}

/**
 * A misbehaving provider for negative tests: the ID token of every token response is broken as
 * `mode` says: its signature, or (signed again with the provider's own key) its nonce, audience
 * or expiry.
 */
function tamperIdTokens(mode, jwks) {
  return async (ctx, next) => {
    await next();
    if (!mode || ctx.path !== '/token' || ctx.status !== 200 || typeof ctx.body?.id_token !== 'string') return;
    const [h, p, sig] = ctx.body.id_token.split('.');
    if (mode === 'signature') {
      const bytes = Buffer.from(sig, 'base64url');
      bytes[0] ^= 0x01;
      ctx.body = { ...ctx.body, id_token: `${h}.${p}.${bytes.toString('base64url')}` };
      return;
    }
    const claims = JSON.parse(Buffer.from(p, 'base64url').toString('utf8'));
    if (mode === 'nonce') claims.nonce = 'not-the-nonce-of-this-login';
    else if (mode === 'audience') claims.aud = 'another-client';
    else if (mode === 'expired') {
      claims.iat -= 7200;
      claims.exp = Math.floor(Date.now() / 1000) - 3600;
    } else throw new Error(`tamper: unknown mode ${mode}`);
    const header = decodeProtectedHeader(ctx.body.id_token);
    const jwk = jwks.find((k) => k.kid === header.kid);
    const key = await importJWK(jwk, header.alg);
    const token = await new CompactSign(Buffer.from(JSON.stringify(claims))).setProtectedHeader(header).sign(key);
    ctx.body = { ...ctx.body, id_token: token };
  };
}

/** An unknown account, or a wrong password for one that has one: the login stops on a 401 page. */
function checkPassword(accounts) {
  return async (ctx, next) => {
    if (ctx.method !== 'POST' || !/^\/interaction\/[^/]+$/.test(ctx.path) || !ctx.is('application/x-www-form-urlencoded')) return next();
    const chunks = [];
    for await (const chunk of ctx.req) chunks.push(chunk);
    const body = Object.fromEntries(new URLSearchParams(Buffer.concat(chunks).toString('utf8')));
    // oidc-provider reads an already consumed form from ctx.request.body
    ctx.request.body = body;
    if (body.prompt === 'login') {
      const account = accounts.get(body.login);
      if (!account || (account.password !== undefined && body.password !== account.password)) {
        ctx.status = 401;
        ctx.type = 'html';
        ctx.body = `<!DOCTYPE html><title>Sign-in failed</title><p class="error">unknown account or wrong password</p>`;
        return undefined;
      }
    }
    return next();
  };
}

async function main() {
  const { config: configPromise, ended } = readConfig();
  const config = await configPromise;
  const checked = validate(config);
  const jwks = await signingKeys();

  const server = createServer();
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port ?? 0, '127.0.0.1', resolve);
  });
  const issuer = `http://127.0.0.1:${server.address().port}`;

  const provider = new Provider(issuer, configuration(config, checked, jwks));
  provider.use(checkPassword(new Map(config.accounts.map((a) => [a.sub, a]))));
  provider.use(tamperIdTokens(config.tamper, jwks));
  provider.on('server_error', (_ctx, err) => console.error('op server_error:', err));
  const handle = provider.callback();

  let lastAuthorization = {};
  server.on('request', (req, res) => {
    const url = new URL(req.url, issuer);
    if (req.method === 'GET' && url.pathname === '/test/last-authorization') {
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      res.end(JSON.stringify(lastAuthorization));
      return;
    }
    if (req.method === 'GET' && url.pathname === '/auth') lastAuthorization = Object.fromEntries(url.searchParams);
    handle(req, res);
  });

  const stop = () => {
    server.closeAllConnections();
    server.close();
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  let stdinIsPipe = false;
  try {
    stdinIsPipe = fstatSync(0).isFIFO() || fstatSync(0).isSocket();
  } catch {
    // no stdin
  }
  if (stdinIsPipe) ended.then(stop);

  process.stdout.write(`${JSON.stringify({ issuer })}\n`);
}

main().catch((e) => {
  console.error(`op.mjs: ${e?.stack ?? e}`);
  process.exit(1);
});
