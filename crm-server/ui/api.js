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
let onSecondFactorMissing = () => {};

/** Registers what happens when the server wants this admin to set up two-factor sign-in
 * first (`REQUIRE_TOTP_FOR_ADMINS`): take them to their account page. */
export function whenSecondFactorMissing(fn) {
  onSecondFactorMissing = fn;
}

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
  if (resp.status === 403 && data && data.code === "totp_setup_required") onSecondFactorMissing();
  if (!resp.ok) throw new ApiError(resp.status, data, resp.headers.get("Retry-After"));
  return data;
}

/**
 * Uploads `file` as multipart/form-data to `path` (with the extra text `fields`), calling
 * `onProgress(sent, total)` as the bytes go: XMLHttpRequest, because fetch reports no
 * upload progress. Resolves to the answer's JSON; rejects with an ApiError.
 */
export function upload(path, file, fields, onProgress) {
  return new Promise((resolve, reject) => {
    const form = new FormData();
    for (const [k, v] of Object.entries(fields || {})) form.append(k, v);
    form.append("file", file, file.name);
    const xhr = new XMLHttpRequest();
    xhr.open("POST", path);
    xhr.setRequestHeader("Accept", "application/json");
    const t = token.get();
    if (t) xhr.setRequestHeader("Authorization", `Bearer ${t}`);
    xhr.upload.onprogress = (e) => onProgress && onProgress(e.loaded, e.total || file.size);
    xhr.onerror = () => reject(new ApiError(0, { detail: "The upload was cut off. Check your connection and try again." }));
    xhr.onload = () => {
      let data = null;
      try { data = JSON.parse(xhr.responseText); } catch (e) { /* no body */ }
      if (xhr.status === 401 && t) onExpired("Your session has expired. Please sign in again.");
      if (xhr.status >= 200 && xhr.status < 300) resolve(data);
      else reject(new ApiError(xhr.status, data, xhr.getResponseHeader("Retry-After")));
    };
    xhr.send(form);
  });
}

/** Reads a file the signed-in user may download as a blob URL (for an img or a new tab). */
export async function blobUrl(path) {
  const headers = {};
  const t = token.get();
  if (t) headers.Authorization = `Bearer ${t}`;
  const resp = await fetch(path, { headers });
  if (!resp.ok) throw new ApiError(resp.status, await resp.json().catch(() => null));
  return URL.createObjectURL(await resp.blob());
}
