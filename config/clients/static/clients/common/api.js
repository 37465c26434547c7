/* vienphi reference clients: the one way the kiosk and the desk talk to the REST API.
 *
 * Every call goes to /api/v1 with the caller's credential in the Authorization header
 * (never in the address). A POST that moves money or sends a message carries an
 * Idempotency-Key made once per intent: a retry of that intent (a double tap, a lost
 * answer, a busy server) sends the same key, so the server answers it once. */
(function (global) {
  "use strict";

  class ApiError extends Error {
    constructor(status, code, message, param, detail, retryAfter) {
      super(message || code);
      this.status = status;
      this.code = code;
      this.param = param || null;
      this.detail = detail || null;
      this.retryAfter = retryAfter;
    }
  }

  /* A random key for one intent (crypto.getRandomValues works outside secure contexts). */
  function newKey(prefix) {
    const bytes = new Uint8Array(16);
    global.crypto.getRandomValues(bytes);
    const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
    return (prefix || "intent") + "-" + hex;
  }

  function sleep(ms) {
    return new Promise((resolve) => global.setTimeout(resolve, ms));
  }

  /* Answers worth sending again with the same key: nothing was decided yet. */
  function retryable(error) {
    if (!(error instanceof ApiError) || error.status === 0) return true; // the answer was lost
    return (
      error.code === "request_in_progress" ||
      error.code === "database_contention" ||
      error.status === 502 ||
      error.status === 503 ||
      error.status === 504
    );
  }

  class Api {
    /* credential(): the Authorization header value, or null. */
    constructor(credential, base) {
      this.credential = credential;
      this.base = base || "/api/v1";
    }

    async raw(method, path, options) {
      const opts = options || {};
      const headers = { Accept: opts.accept || "application/json" };
      const credential = opts.credential || this.credential();
      if (credential) headers.Authorization = credential;
      if (opts.key) headers["Idempotency-Key"] = opts.key;
      let body;
      if (opts.body !== undefined) {
        headers["Content-Type"] = "application/json";
        body = JSON.stringify(opts.body);
      }
      let response;
      try {
        response = await global.fetch(this.base + path, {
          method,
          headers,
          body,
          cache: "no-store",
          credentials: "omit",
          referrerPolicy: "no-referrer",
        });
      } catch (networkError) {
        throw new ApiError(0, "network_error", String(networkError));
      }
      if (!response.ok) {
        let error = {};
        try {
          error = (await response.json()).error || {};
        } catch (notJson) {
          error = {};
        }
        const retryAfter = Number(response.headers.get("Retry-After")) || null;
        throw new ApiError(
          response.status,
          error.code || "http_" + response.status,
          error.message,
          error.param,
          error.detail,
          retryAfter,
        );
      }
      return response;
    }

    async json(method, path, options) {
      const response = await this.raw(method, path, options);
      if (response.status === 204) return null;
      return response.json();
    }

    get(path) {
      return this.json("GET", path);
    }

    post(path, body, options) {
      return this.json("POST", path, Object.assign({ body }, options || {}));
    }

    /* A POST of one intent: the key is the intent's, and every retry reuses it. */
    async send(path, body, key, options) {
      const opts = Object.assign({ attempts: 4 }, options || {});
      let lastError = null;
      for (let attempt = 0; attempt < opts.attempts; attempt += 1) {
        try {
          return await this.post(path, body, Object.assign({}, opts, { key }));
        } catch (error) {
          lastError = error;
          if (!retryable(error) || attempt === opts.attempts - 1) throw error;
          const wait = (error.retryAfter ? error.retryAfter * 1000 : 500) * (attempt + 1);
          await sleep(Math.min(wait, 4000));
        }
      }
      throw lastError;
    }

    /* A file (QR image, PDF) fetched with the credential, as an object URL the caller
     * revokes when the screen is cleared. */
    async objectUrl(path, accept) {
      const response = await this.raw("GET", path, { accept: accept || "*/*" });
      const blob = await response.blob();
      return global.URL.createObjectURL(blob);
    }
  }

  /* The path of an absolute URL the API handed back (same origin). */
  function pathOf(url) {
    const parsed = new global.URL(url, global.location.href);
    return parsed.pathname.replace(/^\/api\/v1/, "") + parsed.search;
  }

  global.Vienphi = Object.assign(global.Vienphi || {}, { Api, ApiError, newKey, sleep, pathOf });
})(window);
