/**
 * /health and /healthz are served by native Bun routes (src/gateway/http/fast-probes.ts) for
 * throughput; everything about them must stay what the Hono probe routes answered: headers, HSTS
 * from config, HEAD, 405 for other methods, 404 for near misses, and a WebSocket upgrade on
 * these paths still reaching the gateway's handshake.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { fastProbeRoutes, LIVE_BODY } from "../../src/gateway/http/fast-probes.ts";
import { startTestGateway, type TestGateway } from "../helpers/gateway.ts";

let gw: TestGateway;
let base: string;
const HSTS = "max-age=63072000";

beforeAll(async () => {
  gw = await startTestGateway({ config: { gateway: { http: { securityHeaders: { strictTransportSecurity: HSTS } } } } as never });
  base = `http://127.0.0.1:${gw.port}`;
});
afterAll(async () => {
  await gw.stop();
});

const EXPECTED_HEADERS = {
  "content-type": "application/json; charset=utf-8",
  "cache-control": "no-store",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "permissions-policy": "camera=(), microphone=(self), geolocation=()",
  "strict-transport-security": HSTS,
};

describe("fast liveness routes", () => {
  for (const path of ["/health", "/healthz", "/health?probe=1", "//health"]) {
    test(`GET ${path}: upstream body and every header`, async () => {
      const res = await fetch(base + path);
      expect(res.status).toBe(200);
      for (const [k, v] of Object.entries(EXPECTED_HEADERS)) expect(res.headers.get(k)).toBe(v);
      expect(await res.text()).toBe(LIVE_BODY);
    });
  }

  test("HEAD: same headers, no body", async () => {
    const res = await fetch(`${base}/health`, { method: "HEAD" });
    expect(res.status).toBe(200);
    expect(res.headers.get("strict-transport-security")).toBe(HSTS);
    expect(await res.text()).toBe("");
  });

  test("other methods fall through to the app: 405 with Allow and the security headers", async () => {
    for (const method of ["POST", "PUT", "DELETE", "OPTIONS"]) {
      const res = await fetch(`${base}/health`, { method });
      expect(res.status).toBe(405);
      expect(res.headers.get("allow")).toBe("GET, HEAD");
      expect(res.headers.get("x-content-type-options")).toBe("nosniff");
      expect(res.headers.get("strict-transport-security")).toBe(HSTS);
    }
  });

  test("near misses are the app's plain-text 404", async () => {
    for (const path of ["/health/", "/HEALTH", "/healthzz"]) {
      const res = await fetch(base + path);
      expect(res.status).toBe(404);
      expect(await res.text()).toBe("Not Found");
      expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    }
  });

  test("a WebSocket upgrade on /health still gets the connect challenge", async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${gw.port}/health`);
    const first = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("no frame within 5 s")), 5_000);
      ws.onmessage = (e) => {
        clearTimeout(timer);
        resolve(String(e.data));
      };
      ws.onerror = () => {
        clearTimeout(timer);
        reject(new Error("upgrade failed"));
      };
    });
    ws.close();
    expect(JSON.parse(first)).toMatchObject({ type: "event", event: "connect.challenge" });
  });

  test("HSTS is read per request, so a changed config applies without a restart", async () => {
    const config = gw.handle.snapshot.config as { gateway?: { http?: { securityHeaders?: { strictTransportSecurity?: string } } } };
    const before = config.gateway!.http!.securityHeaders!.strictTransportSecurity;
    try {
      config.gateway!.http!.securityHeaders!.strictTransportSecurity = "max-age=1";
      expect((await fetch(`${base}/health`)).headers.get("strict-transport-security")).toBe("max-age=1");
      config.gateway!.http!.securityHeaders!.strictTransportSecurity = "max-age=2";
      const changed = await fetch(`${base}/healthz`);
      expect(changed.headers.get("strict-transport-security")).toBe("max-age=2");
      expect(changed.headers.get("x-content-type-options")).toBe("nosniff");
      delete config.gateway!.http!.securityHeaders!.strictTransportSecurity;
      expect((await fetch(`${base}/health`)).headers.get("strict-transport-security")).toBeNull();
    } finally {
      config.gateway!.http!.securityHeaders!.strictTransportSecurity = before;
    }
  });

  test("the handler delegates upgrades to the fallback and answers everything else itself", () => {
    let delegated = 0;
    const routes = fastProbeRoutes(gw.handle, () => {
      delegated++;
      return new Response("fallback");
    });
    const server = {} as never;
    const res = routes["/health"].GET(new Request("http://x/health"), server) as Response;
    expect(res.status).toBe(200);
    routes["/healthz"].GET(new Request("http://x/healthz", { headers: { upgrade: "websocket" } }), server);
    expect(delegated).toBe(1);
  });
});
