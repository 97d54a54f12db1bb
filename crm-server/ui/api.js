// The JSON API client: one function for every call, the token from the session, and one
// error type carrying the documented error body.

const TOKEN_KEY = "crm.token";

export class ApiError extends Error {
  constructor(status, body, retryAfter) {
    super((body && body.detail) || `Request failed (${status}).`);
    this.status = status;
    this.code = body && body.code;
    this.fields = (body && body.fields) || [];
    // Seconds to wait, for 429 and 503 answers.
    this.retryAfter = retryAfter ? Number(retryAfter) : null;
  }
}

let onExpired = () => {};

/** Registers what happens when the server refuses the stored token (sign the user out). */
export function whenSessionExpires(fn) {
  onExpired = fn;
}

export const token = {
  get: () => sessionStorage.getItem(TOKEN_KEY),
  set: (t) => sessionStorage.setItem(TOKEN_KEY, t),
  clear: () => sessionStorage.removeItem(TOKEN_KEY),
};

export async function api(method, path, body) {
  const headers = { Accept: "application/json" };
  const t = token.get();
  if (t) headers.Authorization = `Bearer ${t}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let resp;
  try {
    resp = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (e) {
    throw new ApiError(0, { detail: "The server cannot be reached. Check your connection and try again." });
  }
  const data = resp.status === 204 ? null : await resp.json().catch(() => null);
  if (resp.status === 401 && t && path !== "/auth/login") {
    onExpired("Your session has expired. Please sign in again.");
    throw new ApiError(401, data);
  }
  if (!resp.ok) throw new ApiError(resp.status, data, resp.headers.get("Retry-After"));
  return data;
}
