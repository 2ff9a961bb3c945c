/** Auth, scopes, CORS, endpoint switches and body limits on the HTTP API routes. */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import OpenAI from "openai";
import { FakeUpstream } from "../fixture/fake-upstream.ts";
import { aiConfig, startAiGateway, type AiHarness } from "../helpers/ai.ts";
import { connectParams, connectRaw, TEST_TOKEN } from "../helpers/gateway.ts";

const fake = new FakeUpstream();
beforeAll(() => fake.start());
afterAll(() => fake.stop());

const UNAUTHORIZED = { error: { message: "Unauthorized", type: "unauthorized" } };
const chatBody = JSON.stringify({ model: "openclaw", messages: [{ role: "user", content: "hi" }] });

async function withGateway(config: Parameters<typeof aiConfig>[1], fn: (h: AiHarness) => Promise<void>): Promise<void> {
  const h = await startAiGateway({ fake, config: (f) => aiConfig(f, config) });
  try {
    await fn(h);
  } finally {
    await h.stop();
  }
}

describe("token auth", () => {
  let h: AiHarness;
  beforeAll(async () => {
    h = await startAiGateway({ fake });
  });
  afterAll(() => h.stop());

  test("no credential → 401 unauthorized (exact upstream body)", async () => {
    for (const path of ["/v1/models", "/v1/chat/completions", "/v1/responses", "/v1/embeddings", "/tools/invoke"]) {
      const res = await fetch(`${h.base}${path}`, { method: path === "/v1/models" ? "GET" : "POST", body: path === "/v1/models" ? undefined : "{}" });
      expect(res.status).toBe(401);
      expect((await res.json()) as any).toEqual(UNAUTHORIZED);
      expect(res.headers.get("content-type")).toBe("application/json; charset=utf-8");
      expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    }
  });

  test("a wrong token → 401, surfaced by the SDK as AuthenticationError", async () => {
    const bad = new OpenAI({ baseURL: `${h.base}/v1`, apiKey: "wrong-token", maxRetries: 0 });
    const err = await bad.models.list().catch((e) => e);
    expect(err).toBeInstanceOf(OpenAI.AuthenticationError);
    expect(err.status).toBe(401);
    expect(err.error).toEqual(UNAUTHORIZED.error);
  });

  test("the Bearer scheme is case-insensitive", async () => {
    const res = await fetch(`${h.base}/v1/models`, { headers: { Authorization: `bearer ${TEST_TOKEN}` } });
    expect(res.status).toBe(200);
  });

  test("forwarding headers from an untrusted peer → 403 proxy_attribution_required, before auth", async () => {
    const res = await fetch(`${h.base}/v1/models`, { headers: { Authorization: `Bearer ${TEST_TOKEN}`, "X-Forwarded-For": "203.0.113.9" } });
    expect(res.status).toBe(403);
    expect(((await res.json()) as any).error.type).toBe("proxy_attribution_required");
  });

  test("x-openclaw-scopes is ignored for shared-secret callers (they are owners)", async () => {
    const res = await fetch(`${h.base}/v1/chat/completions`, {
      method: "POST",
      headers: { ...h.headers, "x-openclaw-scopes": "operator.read", "x-openclaw-model": "oai/echo" },
      body: chatBody,
    });
    expect(res.status).toBe(200);
  });
});

test("password mode takes the password as the Bearer value", async () => {
  await withGateway({ gateway: { mode: "local", auth: { mode: "password", password: "pw-0123456789" } } }, async (h) => {
    expect((await fetch(`${h.base}/v1/models`, { headers: { Authorization: "Bearer pw-0123456789" } })).status).toBe(200);
    expect((await fetch(`${h.base}/v1/models`, { headers: { Authorization: `Bearer ${TEST_TOKEN}` } })).status).toBe(401);
  });
});

test("repeated wrong tokens lock the client out: 429 rate_limited with Retry-After; a success resets", async () => {
  await withGateway(
    { gateway: { mode: "local", auth: { mode: "token", token: TEST_TOKEN, rateLimit: { maxAttempts: 3, windowMs: 60_000, lockoutMs: 60_000, exemptLoopback: false } } } },
    async (h) => {
      const wrong = () => fetch(`${h.base}/v1/models`, { headers: { Authorization: "Bearer nope" } });
      // A missing credential is not a failure.
      for (let i = 0; i < 5; i++) expect((await fetch(`${h.base}/v1/models`)).status).toBe(401);
      expect((await wrong()).status).toBe(401);
      expect((await fetch(`${h.base}/v1/models`, { headers: { Authorization: `Bearer ${TEST_TOKEN}` } })).status).toBe(200);
      for (let i = 0; i < 3; i++) expect((await wrong()).status).toBe(401);
      const locked = await fetch(`${h.base}/v1/models`, { headers: { Authorization: `Bearer ${TEST_TOKEN}` } });
      expect(locked.status).toBe(429);
      expect(Number(locked.headers.get("retry-after"))).toBeGreaterThan(0);
      expect((await locked.json()) as any).toEqual({ error: { message: "Too many failed authentication attempts. Please try again later.", type: "rate_limited" } });
      const sdk = await h.client.models.list().catch((e) => e);
      expect(sdk).toBeInstanceOf(OpenAI.RateLimitError);
    },
  );
});

describe("auth mode none: scopes from x-openclaw-scopes", () => {
  test("missing scope → 403 forbidden envelope; x-openclaw-model needs admin", async () => {
    await withGateway({ gateway: { mode: "local", auth: { mode: "none" } } }, async (h) => {
      const readOnly = { "Content-Type": "application/json", "x-openclaw-scopes": "operator.read" };
      expect((await fetch(`${h.base}/v1/models`, { headers: readOnly })).status).toBe(200);
      const chat = await fetch(`${h.base}/v1/chat/completions`, { method: "POST", headers: readOnly, body: chatBody });
      expect(chat.status).toBe(403);
      expect((await chat.json()) as any).toEqual({
        ok: false,
        error: {
          type: "forbidden",
          message: "missing scope: operator.write",
          details: { code: "MISSING_SCOPE", missingScope: "operator.write", requiredScopes: ["operator.write"] },
        },
      });
      const writer = { "Content-Type": "application/json", "x-openclaw-scopes": "operator.write" };
      expect((await fetch(`${h.base}/v1/chat/completions`, { method: "POST", headers: writer, body: chatBody })).status).toBe(200);
      const override = await fetch(`${h.base}/v1/chat/completions`, { method: "POST", headers: { ...writer, "x-openclaw-model": "oai/echo" }, body: chatBody });
      expect(override.status).toBe(403);
      expect(((await override.json()) as any).error.message).toBe("missing scope: operator.admin");
      const none = await fetch(`${h.base}/v1/models`, { headers: { "x-openclaw-scopes": "" } });
      expect(none.status).toBe(403);
      // No header: the default (full) set.
      expect((await fetch(`${h.base}/v1/chat/completions`, { method: "POST", headers: { "Content-Type": "application/json", "x-openclaw-model": "oai/echo" }, body: chatBody })).status).toBe(200);
    });
  });

  test("a foreign Origin is refused (401) unless allowed", async () => {
    await withGateway({ gateway: { mode: "local", auth: { mode: "none" }, http: { cors: { allowedOrigins: ["https://app.example"] } } } }, async (h) => {
      const foreign = await fetch(`${h.base}/v1/models`, { headers: { Origin: "https://evil.example" } });
      expect(foreign.status).toBe(401);
      expect((await foreign.json()) as any).toEqual(UNAUTHORIZED);
      const allowed = await fetch(`${h.base}/v1/models`, { headers: { Origin: "https://app.example" } });
      expect(allowed.status).toBe(200);
    });
  });
});

test("trusted-proxy: untrusted source and missing user are 401; a proxied user is let in", async () => {
  await withGateway(
    {
      gateway: {
        mode: "local",
        auth: { mode: "trusted-proxy", trustedProxy: { userHeader: "x-auth-user", allowLoopback: true } },
        trustedProxies: ["127.0.0.1", "::1"],
      },
    },
    async (h) => {
      const noUser = await fetch(`${h.base}/v1/models`, { headers: { "X-Forwarded-For": "198.51.100.7" } });
      expect(noUser.status).toBe(401);
      const ok = await fetch(`${h.base}/v1/models`, { headers: { "X-Forwarded-For": "198.51.100.7", "x-auth-user": "ada" } });
      expect(ok.status).toBe(200);
      const onlyProxies = await fetch(`${h.base}/v1/models`, { headers: { "X-Forwarded-For": "127.0.0.1", "x-auth-user": "ada" } });
      expect(onlyProxies.status).toBe(403);
    },
  );
});

describe("CORS", () => {
  test("an allowed origin gets a preflight answer and Access-Control-Allow-Origin", async () => {
    await withGateway({ gateway: { mode: "local", auth: { mode: "token", token: TEST_TOKEN }, http: { cors: { allowedOrigins: ["https://chat.example"] } } } }, async (h) => {
      const pre = await fetch(`${h.base}/v1/chat/completions`, {
        method: "OPTIONS",
        headers: { Origin: "https://chat.example", "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization, content-type" },
      });
      expect(pre.status).toBe(204);
      expect(pre.headers.get("access-control-allow-origin")).toBe("https://chat.example");
      expect(pre.headers.get("access-control-allow-methods")).toBe("POST, OPTIONS");
      expect(pre.headers.get("access-control-allow-headers")).toBe("authorization, content-type");
      expect(pre.headers.get("vary")).toBe("Origin");
      const get = await fetch(`${h.base}/v1/models`, { headers: { Origin: "https://chat.example", Authorization: `Bearer ${TEST_TOKEN}` } });
      expect(get.status).toBe(200);
      expect(get.headers.get("access-control-allow-origin")).toBe("https://chat.example");
      // Errors carry it too, so the browser can read them.
      const denied = await fetch(`${h.base}/v1/models`, { headers: { Origin: "https://chat.example" } });
      expect(denied.status).toBe(401);
      expect(denied.headers.get("access-control-allow-origin")).toBe("https://chat.example");
      // Other origins get nothing.
      const other = await fetch(`${h.base}/v1/chat/completions`, { method: "OPTIONS", headers: { Origin: "https://other.example", "Access-Control-Request-Method": "POST" } });
      expect(other.status).toBe(405);
      expect(other.headers.get("access-control-allow-origin")).toBeNull();
    });
  });

  test("without configuration: no CORS headers, OPTIONS → 405", async () => {
    await withGateway({}, async (h) => {
      const pre = await fetch(`${h.base}/v1/models`, { method: "OPTIONS", headers: { Origin: "https://chat.example", "Access-Control-Request-Method": "GET" } });
      expect(pre.status).toBe(405);
      expect(pre.headers.get("allow")).toBe("GET");
      for (const [k] of pre.headers) expect(k.startsWith("access-control-")).toBe(false);
    });
  });
});

test("each endpoint switches off with gateway.http.endpoints.<name>.enabled: false (plain 404)", async () => {
  const off = { enabled: false };
  await withGateway(
    { gateway: { mode: "local", auth: { mode: "token", token: TEST_TOKEN }, http: { endpoints: { models: off, chatCompletions: off, responses: off, embeddings: off, toolsInvoke: off } } } },
    async (h) => {
      for (const [method, path] of [["GET", "/v1/models"], ["GET", "/v1/models/openclaw"], ["POST", "/v1/chat/completions"], ["POST", "/v1/responses"], ["POST", "/v1/embeddings"], ["POST", "/tools/invoke"]]) {
        const res = await fetch(`${h.base}${path}`, { method, headers: h.headers, body: method === "POST" ? "{}" : undefined });
        expect(res.status).toBe(404);
        expect(res.headers.get("content-type")).toBe("text/plain; charset=utf-8");
        expect(await res.text()).toBe("Not Found");
      }
    },
  );
});

test("bodies over the endpoint limit → 413 Payload too large", async () => {
  await withGateway({}, async (h) => {
    const big = JSON.stringify({ tool: "x", args: { blob: "x".repeat(2 * 1024 * 1024 + 10) } });
    const res = await fetch(`${h.base}/tools/invoke`, { method: "POST", headers: h.headers, body: big });
    expect(res.status).toBe(413);
    expect((await res.json()) as any).toEqual({ error: { message: "Payload too large", type: "invalid_request_error" } });
  });
});

test("with no provider configured, chat answers 503 naming the config key; /v1/models still works", async () => {
  await withGateway({ models: {}, agents: {} }, async (h) => {
    expect((await h.client.models.list()).data.map((m) => m.id)).toEqual(["openclaw", "openclaw/default", "openclaw/main"]);
    const err = await h.client.chat.completions.create({ model: "openclaw", messages: [{ role: "user", content: "x" }] }).catch((e) => e);
    expect(err).toBeInstanceOf(OpenAI.InternalServerError);
    expect(err.status).toBe(503);
    expect(err.error.code).toBe("provider_not_configured");
    expect(err.error.message).toContain("models.providers.<name>");
    const stream = await h.client.chat.completions.create({ model: "openclaw", stream: true, messages: [{ role: "user", content: "x" }] }).catch((e) => e);
    expect(stream.status).toBe(503);
    // Over WebSocket the run is accepted and ends in an error naming the key.
    const { peer } = await connectRaw(h.gw.url, connectParams({ scopes: ["operator.write"] }));
    peer.send({ type: "req", id: "a", method: "agent", params: { message: "x", idempotencyKey: "np-1" } });
    let final: any;
    for (let i = 0; i < 20 && !final; i++) {
      const f = await peer.frame();
      if (f.type === "res" && f.payload?.status !== "accepted") final = f;
    }
    // A failed run's final res is ok:false UNAVAILABLE (as the original answers).
    expect(final).toMatchObject({ ok: false, error: { code: "UNAVAILABLE" } });
    expect(final.error.message).toContain("models.providers");
    peer.close();
  });
});
