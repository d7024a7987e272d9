// A scripted "browser" for the authorization code flow: follows redirects by
// hand with a cookie jar, fills in the upstream OP's login and consent pages
// (oidc-provider's dev interactions, see op.mjs) and stops where a real browser
// would hand control back to the wallet. No browser engine, no Sigil code.

const MAX_HOPS = 30;

/**
 * Runs a front-channel login starting at `startUrl` (e.g. Sigil's
 * `/authorize?client_id=…&request_uri=…`, which redirects to the OP).
 *
 * Stops at the first redirect whose target is the wallet's redirect URI, or at any
 * response that is neither a redirect nor a login/consent page it knows. The wallet's
 * redirect URI is `redirectUri` when given (matched on origin and path); otherwise the
 * first redirect that carries `code` or `error` to an origin other than `startUrl`'s,
 * or to a non-http(s) URL.
 *
 * With `cancel: true` it follows the OP's "[ Cancel ]" (abort) link on the first
 * interaction page instead of signing in, so the OP answers `error=access_denied`.
 *
 * `rewrite: {from, to}` sends a redirect whose URL starts with `from` to `to` instead
 * (a load balancer routing the login callback to another instance of the same issuer).
 *
 * @returns {Promise<{location: string|null, status: number, body: string, hops: string[]}>}
 *   `location`: the wallet redirect it stopped at (null when it stopped on a page);
 *   `hops`: every URL requested, in order (`POST ` prefixed for form posts).
 */
export async function login(startUrl, { username, password = 'any-password', cancel = false, fetchFn = fetch, redirectUri, rewrite } = {}) {
  const jar = new CookieJar();
  const start = new URL(startUrl);
  const hops = [];
  const submitted = new Set(); // prompts already answered: the same page again means it failed
  let request = { method: 'GET', url: start.href };

  for (let i = 0; i < MAX_HOPS; i++) {
    hops.push(request.method === 'GET' ? request.url : `${request.method} ${request.url}`);
    const headers = { accept: 'text/html,application/xhtml+xml,*/*;q=0.8', 'user-agent': 'sigil-test-wallet-browser' };
    const cookie = jar.header(request.url);
    if (cookie) headers.cookie = cookie;
    if (request.body) headers['content-type'] = 'application/x-www-form-urlencoded';
    const response = await fetchFn(request.url, { method: request.method, headers, body: request.body, redirect: 'manual' });
    jar.store(request.url, response.headers.getSetCookie?.() ?? []);

    const location = response.headers.get('location');
    if (response.status >= 300 && response.status < 400 && location) {
      const target = new URL(location, request.url);
      await response.arrayBuffer(); // drain
      if (isWalletRedirect(target, start, redirectUri)) {
        return { location: target.href, status: response.status, body: '', hops };
      }
      const next = rewrite && target.href.startsWith(rewrite.from) ? rewrite.to + target.href.slice(rewrite.from.length) : target.href;
      request = { method: 'GET', url: next };
      continue;
    }

    const body = await response.text();
    const page = response.status === 200 ? interactionPage(body, request.url) : undefined;
    if (!page || submitted.has(page.prompt)) {
      return { location: null, status: response.status, body, hops };
    }
    submitted.add(page.prompt);
    if (cancel) {
      if (!page.abortUrl) return { location: null, status: response.status, body, hops };
      request = { method: 'GET', url: page.abortUrl };
      continue;
    }
    const form = new URLSearchParams({ prompt: page.prompt });
    if (page.prompt === 'login') {
      form.set('login', username ?? '');
      form.set('password', password);
    }
    request = { method: 'POST', url: page.action, body: form.toString() };
  }
  throw new Error(`login: more than ${MAX_HOPS} hops (${hops.slice(-4).join(' -> ')})`);
}

function isWalletRedirect(target, start, redirectUri) {
  if (target.protocol !== 'http:' && target.protocol !== 'https:') return true;
  if (redirectUri) {
    const expected = new URL(redirectUri);
    return target.origin === expected.origin && target.pathname === expected.pathname;
  }
  const params = target.searchParams;
  return target.origin !== start.origin && (params.has('code') || params.has('error'));
}

/**
 * oidc-provider's dev-interaction pages: a form posting `prompt=login` (fields `login`,
 * `password`) or `prompt=consent`, and an "[ Cancel ]" link to `/interaction/:uid/abort`.
 */
function interactionPage(html, pageUrl) {
  for (const [, attrs, inner] of html.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/gi)) {
    const prompt = /<input\b[^>]*\bname="prompt"[^>]*\bvalue="([^"]*)"/i.exec(inner)?.[1];
    if (prompt !== 'login' && prompt !== 'consent') continue;
    const action = /\baction="([^"]*)"/i.exec(attrs)?.[1];
    const abort = /<a\b[^>]*\bhref="([^"]*\/abort)"/i.exec(html)?.[1];
    return {
      prompt,
      action: new URL(unescapeHtml(action ?? ''), pageUrl).href,
      abortUrl: abort ? new URL(unescapeHtml(abort), pageUrl).href : undefined,
    };
  }
  return undefined;
}

function unescapeHtml(s) {
  return s
    .replace(/&#x([0-9a-f]+);/gi, (_, h) => String.fromCodePoint(parseInt(h, 16)))
    .replace(/&#(\d+);/g, (_, d) => String.fromCodePoint(Number(d)))
    .replace(/&quot;/g, '"')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}

/**
 * Enough of RFC 6265 for the OP's session cookies: host-only cookies keyed by host name
 * (like a browser, not by port: Sigil and the OP share 127.0.0.1), Path prefix match,
 * Max-Age/Expires deletion.
 */
class CookieJar {
  #cookies = []; // {host, path, name, value, expires}

  store(url, setCookies) {
    const { hostname, pathname } = new URL(url);
    for (const line of setCookies) {
      const [pair, ...attributes] = line.split(';');
      const eq = pair.indexOf('=');
      if (eq < 1) continue;
      const cookie = { host: hostname, path: defaultPath(pathname), name: pair.slice(0, eq).trim(), value: pair.slice(eq + 1).trim(), expires: Infinity };
      for (const attribute of attributes) {
        const [key, ...rest] = attribute.split('=');
        const value = rest.join('=').trim();
        switch (key.trim().toLowerCase()) {
          case 'path':
            if (value.startsWith('/')) cookie.path = value;
            break;
          case 'max-age':
            cookie.expires = Date.now() + Number(value) * 1000;
            break;
          case 'expires':
            if (cookie.expires === Infinity) cookie.expires = Date.parse(value);
            break;
          default:
        }
      }
      this.#cookies = this.#cookies.filter((c) => !(c.host === cookie.host && c.path === cookie.path && c.name === cookie.name));
      if (!(cookie.expires <= Date.now())) this.#cookies.push(cookie);
    }
  }

  header(url) {
    const { hostname, pathname } = new URL(url);
    const now = Date.now();
    return this.#cookies
      .filter((c) => c.host === hostname && c.expires > now && pathMatches(pathname, c.path))
      .sort((a, b) => b.path.length - a.path.length)
      .map((c) => `${c.name}=${c.value}`)
      .join('; ');
  }
}

function defaultPath(pathname) {
  const i = pathname.lastIndexOf('/');
  return i <= 0 ? '/' : pathname.slice(0, i);
}

function pathMatches(requestPath, cookiePath) {
  if (requestPath === cookiePath) return true;
  if (!requestPath.startsWith(cookiePath)) return false;
  return cookiePath.endsWith('/') || requestPath[cookiePath.length] === '/';
}
