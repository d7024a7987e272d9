// A fetch wrapper handed to the wallet library: records every exchange so a
// failing run shows exactly what was sent and what the server answered.
export function tracingFetch(trace) {
  return async (input, init = {}) => {
    const url = typeof input === 'string' ? input : input.url ?? String(input);
    const headers = Object.fromEntries(new Headers(init.headers ?? {}).entries());
    if (headers.authorization) headers.authorization = headers.authorization.slice(0, 20) + '…';
    const entry = { method: init.method ?? 'GET', url, requestHeaders: headers };
    if (typeof init.body === 'string') entry.requestBody = init.body;
    trace.push(entry);
    const response = await fetch(input, init);
    entry.status = response.status;
    entry.responseHeaders = Object.fromEntries(response.headers.entries());
    entry.responseBody = truncate(await response.clone().text());
    return response;
  };
}

function truncate(s) {
  return s.length > 4000 ? `${s.slice(0, 4000)}…(${s.length} chars)` : s;
}
