// The JSON API as the pages call it: one place for what a failed call looks like. Every failure is an
// ApiError: `status` (0 when the server could not be reached), `error` (the server's {code, message, field…}
// when it sent one, else {code: 'http' | 'network'}) and `retryAfter` (the Retry-After header of a refusal).

export class ApiError extends Error {
  constructor(status, error, retryAfter = null) {
    super(error.message);
    this.status = status;
    this.error = error;
    this.retryAfter = retryAfter;
  }
}

/** The ApiError for a response that is not ok. */
export async function failure(response) {
  let j = null;
  try { j = await response.json(); } catch { /* not JSON */ }
  return new ApiError(response.status, (j && j.error) || { code: 'http', message: `HTTP ${response.status}` },
    response.headers.get('retry-after'));
}

/** fetch(path, init) for the API: the answer's JSON (null when it has none), or an ApiError thrown. */
export async function fetchJson(path, init = {}) {
  let r;
  try {
    r = await fetch(path, init);
  } catch {
    throw new ApiError(0, { code: 'network', message: 'network error' });
  }
  if (!r.ok) throw await failure(r);
  try { return await r.json(); } catch { return null; }
}
