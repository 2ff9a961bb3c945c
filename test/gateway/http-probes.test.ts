import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { connectRaw, RawPeer, startTestGateway, TEST_TOKEN, type TestGateway } from "../helpers/gateway.ts";

const HTTP_DIR = join(import.meta.dir, "..", "fixture", "transcripts", "http");
const upstreamBody = (name: string) => readFileSync(join(HTTP_DIR, `${name}.body`), "utf8");

let gw: TestGateway;
let base: string;
beforeAll(async () => {
  gw = await startTestGateway();
  base = `http://127.0.0.1:${gw.port}`;
});
afterAll(async () => {
  await gw.stop();
});

const SECURITY = {
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "permissions-policy": "camera=(), microphone=(self), geolocation=()",
};

function expectSecurityHeaders(res: Response) {
  for (const [k, v] of Object.entries(SECURITY)) expect(res.headers.get(k)).toBe(v);
  expect(res.headers.get("access-control-allow-origin")).toBeNull();
}

describe("liveness", () => {
  for (const path of ["/health", "/healthz"]) {
    test(`${path} matches upstream byte for byte`, async () => {
      const res = await fetch(base + path);
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toBe("application/json; charset=utf-8");
      expect(res.headers.get("cache-control")).toBe("no-store");
      expectSecurityHeaders(res);
      expect(await res.text()).toBe(upstreamBody(path.slice(1)));
    });
  }
});

describe("readiness and startup", () => {
  test("/ready and /readyz give local callers the upstream detail keys", async () => {
    for (const path of ["/ready", "/readyz"]) {
      const res = await fetch(base + path);
      expect(res.status).toBe(200);
      const body = (await res.json()) as Record<string, unknown>;
      const upstream = JSON.parse(upstreamBody(path.slice(1)));
      expect(body).toEqual({ ready: true, failing: [], uptimeMs: expect.any(Number) });
      for (const key of Object.keys(body)) expect(key in upstream).toBe(true);
    }
  });

  test("/startupz reports started, version and uptime to local callers", async () => {
    const res = await fetch(`${base}/startupz`);
    const body = (await res.json()) as Record<string, unknown>;
    const upstream = JSON.parse(upstreamBody("startupz"));
    expect(Object.keys(body).sort()).toEqual(Object.keys(upstream).sort());
    expect(body).toMatchObject({ ok: true, status: "started", version: "2026.9.6" });
  });

  test("callers behind a proxy get no details unless they present the gateway secret", async () => {
    const fwd = { "X-Forwarded-For": "203.0.113.5" };
    expect(await (await fetch(`${base}/readyz`, { headers: fwd })).json()).toEqual({ ready: true });
    expect(await (await fetch(`${base}/startupz`, { headers: fwd })).json()).toEqual({ ok: true, status: "started" });
    const withToken = await fetch(`${base}/readyz`, { headers: { ...fwd, Authorization: `Bearer ${TEST_TOKEN}` } });
    expect(Object.keys((await withToken.json()) as object).sort()).toEqual(["failing", "ready", "uptimeMs"]);
    const wrong = await fetch(`${base}/readyz`, { headers: { ...fwd, Authorization: "Bearer nope" } });
    expect(await wrong.json()).toEqual({ ready: true });
  });

  test("HEAD is allowed and has no body; other methods are 405 with Allow", async () => {
    const head = await fetch(`${base}/healthz`, { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe("");
    const post = await fetch(`${base}/healthz`, { method: "POST" });
    expect(post.status).toBe(405);
    expect(post.headers.get("allow")).toBe("GET, HEAD");
    expect(await post.text()).toBe("Method Not Allowed");
    expectSecurityHeaders(post);
  });
});

describe("everything else", () => {
  test("unknown paths are a plain-text 404 (like upstream's /api/diagnostics/prometheus without the plugin)", async () => {
    const res = await fetch(`${base}/api/diagnostics/prometheus`);
    expect(res.status).toBe(404);
    expect(res.headers.get("content-type")).toBe("text/plain; charset=utf-8");
    expect(await res.text()).toBe(upstreamBody("prom"));
    expectSecurityHeaders(res);
  });

  test("OPTIONS gets no CORS headers", async () => {
    const res = await fetch(`${base}/healthz`, { method: "OPTIONS", headers: { Origin: "https://x.example" } });
    expect(res.headers.get("access-control-allow-origin")).toBeNull();
  });

  test("HTTP and WebSocket share the port", async () => {
    const { peer, res } = await connectRaw(gw.url.replace(/\/?$/, "/any/path"));
    expect(res.ok).toBe(true);
    peer.close();
  });
});

describe("shutdown", () => {
  test("stop(): shutdown event to authenticated sockets, close 1012 for all, probes and upgrades refused", async () => {
    const own = await startTestGateway();
    const { peer: ready } = await connectRaw(own.url);
    const pending = new RawPeer(own.url);
    await pending.opened;
    await pending.frame(); // challenge only, no connect
    await own.handle.stop();
    const a = await ready.closed();
    expect(a.frames.find((f) => f.event === "shutdown")?.payload).toEqual({ reason: "gateway stopping" });
    expect({ code: a.code, reason: a.reason }).toEqual({ code: 1012, reason: "service restart" });
    const b = await pending.closed();
    expect(b.frames).toEqual([]);
    expect({ code: b.code, reason: b.reason }).toEqual({ code: 1012, reason: "service restart" });
    let refused = false;
    try {
      await fetch(`http://127.0.0.1:${own.port}/healthz`);
    } catch {
      refused = true;
    }
    expect(refused).toBe(true);
    await own.stop();
  });
});
