/**
 * The Control UI on the gateway's own port (the control-UI subsystem's router, over real
 * sockets): our dashboard at `gateway.controlUi.basePath` with its headers, compressed
 * immutable assets and control-ui-config.json behind the gateway's HTTP auth;
 * `gateway.controlUi.root` serving a folder with the original's headers; `enabled: false`;
 * the probes, the API and the WebSocket still answering first; hello-ok's build source.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { controlUiSubsystem } from "../../src/gateway/control-ui.ts";
import { uiAssets, UI_BUILD_ID } from "../../src/ui/assets.ts";
import { DASHBOARD_CSP } from "../../src/ui/http.ts";
import { TEST_TOKEN } from "../helpers/gateway.ts";
import { baseConfig, startTestRuntime, type TestRuntime } from "../helpers/runtime.ts";
import { tempDir } from "../helpers/state-dir.ts";

const running: TestRuntime[] = [];
afterEach(async () => {
  for (const t of running.splice(0)) await t.stop();
});

async function start(controlUi?: Record<string, unknown>, extra: Record<string, unknown> = {}): Promise<{ t: TestRuntime; base: string }> {
  const cfg = baseConfig(extra);
  if (controlUi) cfg.gateway.controlUi = controlUi;
  const t = await startTestRuntime({ config: cfg, subsystems: [controlUiSubsystem()] });
  running.push(t);
  return { t, base: `http://127.0.0.1:${t.runtime.port}` };
}

async function jsAsset(): Promise<string> {
  return [...(await uiAssets()).keys()].find((p) => p.endsWith(".js"))!;
}

describe("our dashboard on the gateway port", () => {
  test("/ is the dashboard with strict CSP, DENY framing, nosniff, no-referrer; page routes fall back to it", async () => {
    const { base } = await start();
    for (const path of ["/", "/chat", "/settings/devices?x=1"]) {
      const res = await fetch(`${base}${path}`, { headers: { Accept: "text/html" } });
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toBe("text/html; charset=utf-8");
      expect(res.headers.get("content-security-policy")).toBe(DASHBOARD_CSP);
      expect(res.headers.get("x-frame-options")).toBe("DENY");
      expect(res.headers.get("x-content-type-options")).toBe("nosniff");
      expect(res.headers.get("referrer-policy")).toBe("no-referrer");
      expect(res.headers.get("cache-control")).toBe("no-cache");
      expect(await res.text()).toContain('<html data-openclaw-control-ui-base-path=""');
    }
  });

  test("hashed assets: immutable, gzip or brotli by Accept-Encoding; a missing asset is a 404", async () => {
    const { base } = await start();
    const js = await jsAsset();
    const embedded = (await uiAssets()).get(js)!;
    // fetch() would decompress on its own: ask with explicit headers and read the raw body.
    const gz = await fetch(`${base}/${js}`, { headers: { "Accept-Encoding": "gzip" }, decompress: false } as RequestInit);
    expect(gz.status).toBe(200);
    expect(gz.headers.get("content-encoding")).toBe("gzip");
    expect(gz.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
    expect(gz.headers.get("content-security-policy")).toBe(DASHBOARD_CSP);
    expect(gunzipSync(new Uint8Array(await gz.arrayBuffer())).equals(Buffer.from(embedded.body))).toBe(true);
    const br = await fetch(`${base}/${js}`, { headers: { "Accept-Encoding": "br, gzip" }, decompress: false } as RequestInit);
    expect(br.headers.get("content-encoding")).toBe("br");
    expect((await br.arrayBuffer()).byteLength).toBe(embedded.br!.byteLength);
    expect((await fetch(`${base}/assets/main-00000000.js`)).status).toBe(404);
  });

  test("the probes, the API, the WebSocket and non-UI paths answer before the dashboard", async () => {
    const { t, base } = await start();
    expect((await (await fetch(`${base}/healthz`)).json()) as unknown).toMatchObject({ ok: true });
    const api = await fetch(`${base}/v1/models`);
    expect(api.status).toBe(401);
    expect(api.headers.get("content-type")).toContain("application/json");
    // API prefixes are never UI pages; non-GET methods are not either.
    expect((await fetch(`${base}/api/nothing`, { headers: { Accept: "text/html" } })).status).toBe(404);
    expect((await fetch(`${base}/chat`, { method: "POST", headers: { Accept: "text/html" } })).status).toBe(404);
    // The default API headers stay on API answers.
    expect(api.headers.get("permissions-policy")).toBe("camera=(), microphone=(self), geolocation=()");
    const c = await t.connect();
    expect((await c.request<any>("health", {})).ok).toBe(true);
    await c.close();
  });

  test("control-ui-config.json needs the gateway secret and names the default agent", async () => {
    const { base } = await start(undefined, { agents: { list: [{ id: "ops", default: true, identity: { name: "Ops Bot", avatar: "🛠" } }] } });
    const anonymous = await fetch(`${base}/control-ui-config.json`);
    expect(anonymous.status).toBe(401);
    expect(await anonymous.json()).toEqual({ error: { message: "Unauthorized", type: "unauthorized" } });
    expect(anonymous.headers.get("x-frame-options")).toBe("DENY");
    const wrong = await fetch(`${base}/control-ui-config.json`, { headers: { Authorization: "Bearer nope" } });
    expect(wrong.status).toBe(401);
    const ok = await fetch(`${base}/control-ui-config.json`, { headers: { Authorization: `Bearer ${TEST_TOKEN}` } });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toMatchObject({ basePath: "", assistantName: "Ops Bot", assistantAvatar: "🛠", assistantAgentId: "ops", serverVersion: "2026.9.6", serverBuildId: UI_BUILD_ID });
  });

  test("gateway.controlUi.basePath moves it; / is then the gateway's 404", async () => {
    const { base } = await start({ basePath: "/openclaw/" });
    const redirect = await fetch(`${base}/openclaw`, { redirect: "manual" });
    expect(redirect.status).toBe(302);
    expect(redirect.headers.get("location")).toBe("/openclaw/");
    const page = await fetch(`${base}/openclaw/chat`, { headers: { Accept: "text/html" } });
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('data-openclaw-control-ui-base-path="/openclaw"');
    expect(html).toContain(`src="/openclaw/${await jsAsset()}"`);
    const root = await fetch(`${base}/`, { headers: { Accept: "text/html" } });
    expect(root.status).toBe(404);
    expect(await root.text()).toBe("Not Found");
  });

  test("enabled: false serves nothing, and turning it back on needs no restart", async () => {
    const { t, base } = await start({ enabled: false });
    const off = await fetch(`${base}/`, { headers: { Accept: "text/html" } });
    expect(off.status).toBe(404);
    expect(off.headers.get("content-type")).toBe("text/plain; charset=utf-8");
    expect((await fetch(`${base}/control-ui-config.json`, { headers: { Authorization: `Bearer ${TEST_TOKEN}` } })).status).toBe(404);
    const cfg = baseConfig();
    cfg.gateway.controlUi = { enabled: true };
    await t.processed(t.write(cfg));
    expect((await fetch(`${base}/`, { headers: { Accept: "text/html" } })).status).toBe(200);
  });
});

describe("gateway.controlUi.root", () => {
  function uiFolder(): string {
    const dir = tempDir("openclaw-ui-root-");
    mkdirSync(join(dir, "assets"));
    writeFileSync(join(dir, "index.html"), '<!doctype html><html data-openclaw-control-ui-build-id="x" lang="en"><head><script>boot()</script><script type="module" src="./assets/app.js"></script></head><body></body></html>');
    writeFileSync(join(dir, "assets", "app.js"), "console.log('app')");
    return dir;
  }

  test("serves the folder with the original's headers, SPA fallback and base-path rewrite", async () => {
    const root = uiFolder();
    const { base } = await start({ root, basePath: "/ui-root" });
    const page = await fetch(`${base}/ui-root/chat`, { headers: { Accept: "text/html" } });
    expect(page.status).toBe(200);
    expect(page.headers.get("x-frame-options")).toBe("DENY");
    expect(page.headers.get("permissions-policy")).toBe("camera=(self), microphone=*, geolocation=*, clipboard-write=*");
    const csp = page.headers.get("content-security-policy")!;
    const hash = new Bun.CryptoHasher("sha256").update("boot()").digest("base64");
    expect(csp).toContain(`script-src 'self' 'sha256-${hash}'`);
    const html = await page.text();
    expect(html).toContain('src="/ui-root/assets/app.js"');
    expect(html).toContain('data-openclaw-control-ui-base-path="/ui-root"');
    expect(html).not.toContain("data-openclaw-control-ui-build-id");
    const asset = await fetch(`${base}/ui-root/assets/app.js`);
    expect(asset.headers.get("cache-control")).toBe("no-cache");
    expect(await asset.text()).toBe("console.log('app')");
    expect((await fetch(`${base}/ui-root/assets/missing.js`)).status).toBe(404);
    // The configured UI is not ours: no build id in its bootstrap config.
    const config = await (await fetch(`${base}/ui-root/control-ui-config.json`, { headers: { Authorization: `Bearer ${TEST_TOKEN}` } })).json();
    expect(config).toMatchObject({ basePath: "/ui-root" });
    expect(config).not.toHaveProperty("serverBuildId");
  });

  test("hello-ok says the UI is configured (no refresh card), bundled otherwise", async () => {
    const { t } = await start({ root: uiFolder() });
    const c = await t.connect();
    expect(c.hello?.server).toMatchObject({ controlUiBuildSource: "configured" });
    await c.close();
    const other = await start();
    const c2 = await other.t.connect();
    expect(c2.hello?.server).toMatchObject({ controlUiBuildSource: "bundled" });
    expect(c2.hello?.features.events).toEqual(expect.arrayContaining(["session.message", "sessions.changed"]));
    await c2.close();
  });

  test("a missing folder is the original's 503, not our dashboard", async () => {
    const { base } = await start({ root: join(tempDir("openclaw-ui-gone-"), "nope") });
    const res = await fetch(`${base}/`, { headers: { Accept: "text/html" } });
    expect(res.status).toBe(503);
    expect(await res.text()).toStartWith("Control UI assets not found at ");
  });
});
