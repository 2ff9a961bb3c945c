/**
 * `serveUi` without a socket: our embedded dashboard (headers, caching, compression, SPA
 * fallback, base path, hostile paths, control-ui-config.json) and `gateway.controlUi.root`
 * (a real folder; the official Control UI's own folder when the reference package is there).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, linkSync, mkdirSync, readFileSync, rmSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { brotliDecompressSync, gunzipSync } from "node:zlib";
import { uiAssets, UI_BUILD_ID } from "../../src/ui/assets.ts";
import { acceptedEncodings, acceptsHtml, DASHBOARD_CSP, inlineScriptHashes, normalizeBasePath, officialCsp, safeRelativePath } from "../../src/ui/http.ts";
import { bootstrapConfig, classifyUiRequest, renderIndexHtml, serveUi } from "../../src/ui/serve.ts";
import { tempDir } from "../helpers/state-dir.ts";

const BASE = "http://127.0.0.1:18789";
const req = (path: string, init: RequestInit & { headers?: Record<string, string> } = {}) => new Request(`${BASE}${path}`, init);

async function assetPaths(): Promise<{ js: string; css: string }> {
  const all = [...(await uiAssets()).keys()];
  return { js: all.find((p) => p.endsWith(".js"))!, css: all.find((p) => p.endsWith(".css"))! };
}

function expectDashboardHeaders(res: Response): void {
  expect(res.headers.get("x-frame-options")).toBe("DENY");
  expect(res.headers.get("x-content-type-options")).toBe("nosniff");
  expect(res.headers.get("referrer-policy")).toBe("no-referrer");
  expect(res.headers.get("content-security-policy")).toBe(DASHBOARD_CSP);
}

describe("our dashboard", () => {
  test("index.html at / with the base path stamped, no-cache, strict CSP", async () => {
    const res = (await serveUi(req("/")))!;
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/html; charset=utf-8");
    expect(res.headers.get("cache-control")).toBe("no-cache");
    expectDashboardHeaders(res);
    const html = await res.text();
    expect(html).toContain('<html data-openclaw-control-ui-base-path="" lang="en">');
    const { js, css } = await assetPaths();
    expect(html).toContain(`src="/${js}"`);
    expect(html).toContain(`href="/${css}"`);
    // Nothing inline: the CSP has no 'unsafe-inline' and no hashes.
    expect(html).not.toMatch(/<script(?![^>]*\ssrc=)[^>]*>/);
    expect(html).not.toMatch(/<style|\sstyle=/);
    expect(DASHBOARD_CSP).toContain("script-src 'self';");
    expect(DASHBOARD_CSP).not.toContain("unsafe");
  });

  test("hashed assets are immutable and served precompressed by Accept-Encoding", async () => {
    const { js, css } = await assetPaths();
    const plain = (await serveUi(req(`/${js}`)))!;
    expect(plain.status).toBe(200);
    expect(plain.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
    expect(plain.headers.get("content-type")).toBe("application/javascript; charset=utf-8");
    expect(plain.headers.get("content-encoding")).toBeNull();
    expect(plain.headers.get("vary")).toBe("Accept-Encoding");
    expectDashboardHeaders(plain);
    const body = new Uint8Array(await plain.arrayBuffer());

    const br = (await serveUi(req(`/${js}`, { headers: { "Accept-Encoding": "gzip, deflate, br" } })))!;
    expect(br.headers.get("content-encoding")).toBe("br");
    expect(Number(br.headers.get("content-length"))).toBeLessThan(body.length);
    expect(new Uint8Array(brotliDecompressSync(new Uint8Array(await br.arrayBuffer())))).toEqual(body);

    const gz = (await serveUi(req(`/${css}`, { headers: { "Accept-Encoding": "gzip" } })))!;
    expect(gz.headers.get("content-encoding")).toBe("gzip");
    expect(gz.headers.get("content-type")).toBe("text/css; charset=utf-8");
    expect(gunzipSync(new Uint8Array(await gz.arrayBuffer())).toString()).toContain("--accent");

    const preferGzip = (await serveUi(req(`/${js}`, { headers: { "Accept-Encoding": "br;q=0.5, gzip;q=0.9, identity;q=0.1" } })))!;
    expect(preferGzip.headers.get("content-encoding")).toBe("gzip");

    const none = (await serveUi(req(`/${js}`, { headers: { "Accept-Encoding": "identity;q=0, compress" } })))!;
    expect(none.status).toBe(406);

    const head = (await serveUi(req(`/${js}`, { method: "HEAD" })))!;
    expect(head.status).toBe(200);
    expect(head.headers.get("content-length")).toBe(String(body.length));
    expect((await head.arrayBuffer()).byteLength).toBe(0);

    const etag = plain.headers.get("etag")!;
    const cached = (await serveUi(req(`/${js}`, { headers: { "If-None-Match": etag } })))!;
    expect(cached.status).toBe(304);
  });

  test("page routes fall back to index.html when HTML is acceptable; missing assets are 404", async () => {
    for (const path of ["/chat", "/sessions/abc", "/config?x=1", "/logs/"]) {
      const res = (await serveUi(req(path, { headers: { Accept: "text/html,application/xhtml+xml,*/*;q=0.8" } })))!;
      expect(res.status).toBe(200);
      expect(await res.text()).toContain('id="app"');
    }
    expect((await serveUi(req("/assets/main-nope.js")))!.status).toBe(404);
    expect((await serveUi(req("/favicon.svg")))!.status).toBe(404);
    expect((await serveUi(req("/index.html.gz")))!.status).toBe(404);
    // An explicit refusal of HTML declines (the gateway's own 404 applies).
    expect(await serveUi(req("/chat", { headers: { Accept: "text/html;q=0, */*" } }))).toBeUndefined();
    expect(await serveUi(req("/chat", { headers: { Accept: "application/json" } }))).toBeUndefined();
  });

  test("API paths, /ui and other methods are not the UI's", async () => {
    expect(await serveUi(req("/v1/models"))).toBeUndefined();
    expect(await serveUi(req("/api/x"))).toBeUndefined();
    expect(await serveUi(req("/j/abc"))).toBeUndefined();
    expect(await serveUi(req("/", { method: "POST" }))).toBeUndefined();
    expect(await serveUi(req("/chat", { method: "DELETE" }))).toBeUndefined();
    const ui = (await serveUi(req("/ui/anything")))!;
    expect(ui.status).toBe(404);
    expect(await ui.text()).toBe("Not Found");
  });

  test("hostile paths never leave the asset table", async () => {
    // Each is a 404, or (a page-like path) the SPA's own index.html: never another file.
    for (const path of ["/assets/..%2F..%2Fpackage.json", "/%2e%2e/%2e%2e/etc/passwd", "/assets/%00.js", "/assets/%E0%A4%A.js", "/..%5c..%5cwindows.ini", "/assets/../../../../etc/hostname"]) {
      const res = (await serveUi(req(path)))!;
      if (res.status === 200) expect(await res.text()).toContain('<div id="app">');
      else expect(res.status).toBe(404);
    }
    expect(safeRelativePath("a/../../b")).toBeUndefined();
    expect(safeRelativePath("%2e%2e/x")).toBeUndefined();
    expect(safeRelativePath("/etc/passwd")).toBeUndefined();
    expect(safeRelativePath("C:%5cx")).toBeUndefined();
    expect(safeRelativePath("assets//./main.js")).toBe("assets/main.js");
  });

  test("a base path: assets and pages under it, a redirect from the bare prefix, nothing outside", async () => {
    const opts = { basePath: "/openclaw/" };
    const redirect = (await serveUi(req("/openclaw?x=1"), opts))!;
    expect(redirect.status).toBe(302);
    expect(redirect.headers.get("location")).toBe("/openclaw/?x=1");
    const index = (await serveUi(req("/openclaw/"), opts))!;
    const html = await index.text();
    expect(html).toContain('data-openclaw-control-ui-base-path="/openclaw"');
    const { js } = await assetPaths();
    expect(html).toContain(`src="/openclaw/${js}"`);
    expect((await serveUi(req(`/openclaw/${js}`), opts))!.status).toBe(200);
    // Deep routes still find the hashed assets.
    expect((await serveUi(req(`/openclaw/chat/${js}`), opts))!.status).toBe(200);
    expect(await serveUi(req("/"), opts)).toBeUndefined();
    expect(await serveUi(req("/chat"), opts)).toBeUndefined();
    expect(await serveUi(req("/openclawx"), opts)).toBeUndefined();
    expect(renderIndexHtml('<html data-openclaw-control-ui-base-path="x"><a href="./assets/a.css">', '/a"b')).toBe(
      '<html data-openclaw-control-ui-base-path="/a&quot;b"><a href="/a"b/assets/a.css">',
    );
  });

  test("control-ui-config.json (and upstream's aliases) behind the caller's auth", async () => {
    const deny = () => new Response("Unauthorized", { status: 401 });
    expect((await serveUi(req("/control-ui-config.json"), { authorize: deny }))!.status).toBe(401);
    for (const path of ["/control-ui-config.json", "/__openclaw/control-ui-config.json", "/__openclaw__/control-ui-config.json"]) {
      const res = (await serveUi(req(path), { authorize: () => undefined }))!;
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toBe("application/json; charset=utf-8");
      expect(res.headers.get("cache-control")).toBe("no-cache");
      const body = await res.json();
      expect(body).toMatchObject({ basePath: "", assistantName: "Assistant", serverVersion: "2026.9.6", serverBuildId: UI_BUILD_ID, embedSandbox: "scripts" });
    }
    const based = (await serveUi(req("/x/control-ui-config.json"), { basePath: "/x" }))!;
    expect(((await based.json()) as any).basePath).toBe("/x");
    expect(await serveUi(req("/__openclaw__/control-ui-config.json"), { basePath: "/x" })).toBeUndefined();
    const head = (await serveUi(req("/control-ui-config.json", { method: "HEAD" })))!;
    expect(head.status).toBe(200);
    expect((await head.arrayBuffer()).byteLength).toBe(0);
    // With a configured root upstream leaves the build id out.
    expect(bootstrapConfig({ root: "/srv/ui", buildId: "b" }).serverBuildId).toBeUndefined();
    const custom = (await serveUi(req("/control-ui-config.json"), { bootstrapConfig: () => ({ assistantName: "Molty" }) }))!;
    expect(await custom.json()).toEqual({ assistantName: "Molty" });
  });
});

describe("negotiation helpers", () => {
  test("Accept-Encoding", () => {
    const both = new Set(["br", "gzip"] as const);
    expect(acceptedEncodings(null, both)).toEqual(["identity"]);
    expect(acceptedEncodings("gzip, br", both)).toEqual(["br", "gzip", "identity"]);
    expect(acceptedEncodings("*", both)).toEqual(["br", "gzip", "identity"]);
    expect(acceptedEncodings("*;q=0", both)).toEqual([]);
    expect(acceptedEncodings("gzip;q=0.2, identity;q=0.5", both)).toEqual(["identity", "gzip"]);
    expect(acceptedEncodings("br;q=abc", both)).toEqual(["identity"]);
    expect(acceptedEncodings("gzip", new Set())).toEqual(["identity"]);
  });

  test("Accept for the SPA fallback", () => {
    expect(acceptsHtml(null)).toBe(true);
    expect(acceptsHtml("*/*")).toBe(true);
    expect(acceptsHtml("text/html")).toBe(true);
    expect(acceptsHtml("text/html;q=0, */*")).toBe(false);
    expect(acceptsHtml("application/json")).toBe(false);
    expect(acceptsHtml("text/*;q=0.1")).toBe(true);
  });

  test("base path normalisation", () => {
    expect(normalizeBasePath(undefined)).toBe("");
    expect(normalizeBasePath("/")).toBe("");
    expect(normalizeBasePath("ui/")).toBe("/ui");
    expect(normalizeBasePath("/a/b//")).toBe("/a/b");
    expect(classifyUiRequest("GET", "/a", "", "/a", null)).toEqual({ kind: "redirect", location: "/a/" });
  });
});

describe("gateway.controlUi.root", () => {
  let root: string;
  let outside: string;

  beforeAll(() => {
    root = tempDir("openclaw-ui-root-");
    outside = tempDir("openclaw-ui-outside-");
    mkdirSync(join(root, "assets"));
    writeFileSync(
      join(root, "index.html"),
      '<!doctype html><html data-openclaw-control-ui-build-id="upstream-build" lang="en"><head><link rel="icon" href="./favicon.svg" /><link rel="manifest" href="./manifest.webmanifest" /><script>window.boot = 1;</script><script type="module" src="./assets/app.js"></script></head><body></body></html>',
    );
    writeFileSync(join(root, "assets/app.js"), "console.log('official')");
    writeFileSync(join(root, "favicon.svg"), "<svg/>");
    writeFileSync(join(root, "manifest.webmanifest"), "{}");
    writeFileSync(join(outside, "secret.txt"), "top secret");
    symlinkSync(join(outside, "secret.txt"), join(root, "assets/leak.txt"));
    writeFileSync(join(outside, "linked.js"), "linked");
    linkSync(join(outside, "linked.js"), join(root, "assets/hard.js"));
    utimesSync(join(root, "assets/app.js"), new Date("2026-01-01T00:00:00Z"), new Date("2026-01-01T00:00:00Z"));
  });

  afterAll(() => {
    rmSync(root, { recursive: true, force: true });
    rmSync(outside, { recursive: true, force: true });
  });

  test("files with upstream's headers, no-cache and Last-Modified; 304 when unchanged", async () => {
    const res = (await serveUi(req("/assets/app.js"), { root }))!;
    expect(res.status).toBe(200);
    expect(await res.text()).toBe("console.log('official')");
    expect(res.headers.get("cache-control")).toBe("no-cache");
    expect(res.headers.get("last-modified")).toBe("Thu, 01 Jan 2026 00:00:00 GMT");
    expect(res.headers.get("x-frame-options")).toBe("DENY");
    expect(res.headers.get("permissions-policy")).toBe("camera=(self), microphone=*, geolocation=*, clipboard-write=*");
    expect(res.headers.get("content-security-policy")).toBe(officialCsp());
    expect(res.headers.get("content-encoding")).toBeNull();
    const again = (await serveUi(req("/assets/app.js", { headers: { "If-Modified-Since": "Thu, 01 Jan 2026 00:00:00 GMT" } }), { root }))!;
    expect(again.status).toBe(304);
    const older = (await serveUi(req("/assets/app.js", { headers: { "If-Modified-Since": "Wed, 31 Dec 2025 00:00:00 GMT" } }), { root }))!;
    expect(older.status).toBe(200);
  });

  test("index.html rewritten for the base path, its inline script allowed by hash", async () => {
    const res = (await serveUi(req("/ui/chat", { headers: { Host: "gw.local:18789", "Accept-Encoding": "gzip" } }), { root, basePath: "/ui" }))!;
    expect(res.status).toBe(200);
    expect(res.headers.get("content-encoding")).toBe("gzip");
    const html = gunzipSync(new Uint8Array(await res.arrayBuffer())).toString();
    expect(html).toContain('<html data-openclaw-control-ui-base-path="/ui" data-openclaw-terminal-enabled="false" lang="en">');
    expect(html).not.toContain("upstream-build");
    expect(html).toContain('href="/ui/favicon.svg"');
    expect(html).toContain('href="/ui/manifest.webmanifest"');
    expect(html).toContain('src="/ui/assets/app.js"');
    const hash = `sha256-${new Bun.CryptoHasher("sha256").update("window.boot = 1;").digest("base64")}`;
    const csp = res.headers.get("content-security-policy")!;
    expect(csp).toContain(`script-src 'self' '${hash}'; `);
    expect(csp).toContain("connect-src 'self' ws: wss: data: https://api.openai.com https://tweakcn.com http://gw.local:* https://gw.local:*");
    expect(csp).not.toContain("wasm-unsafe-eval");
    const withTerminal = (await serveUi(req("/ui/"), { root, basePath: "/ui", terminalEnabled: true }))!;
    expect(withTerminal.headers.get("content-security-policy")).toContain("'wasm-unsafe-eval'");
  });

  test("symlinks out of the folder, hard links, traversal and missing files are 404", async () => {
    expect((await serveUi(req("/assets/leak.txt"), { root }))!.status).toBe(404);
    expect((await serveUi(req("/assets/hard.js"), { root }))!.status).toBe(404);
    expect((await serveUi(req("/assets/..%2F..%2Fetc%2Fpasswd"), { root }))!.status).toBe(404);
    expect((await serveUi(req("/assets/missing.js"), { root }))!.status).toBe(404);
    expect(await serveUi(req("/deep/page", { headers: { Accept: "application/json" } }), { root })).toBeUndefined();
    expect((await serveUi(req("/deep/page"), { root }))!.headers.get("content-type")).toBe("text/html; charset=utf-8");
  });

  test("a missing root answers 503 with upstream's message", async () => {
    const res = (await serveUi(req("/"), { root: join(root, "nope") }))!;
    expect(res.status).toBe(503);
    expect(await res.text()).toBe(`Control UI assets not found at ${join(root, "nope")}. Build them with \`pnpm ui:build\` (auto-installs UI deps), or update gateway.controlUi.root.`);
  });

  const official = "/work/ref/node_modules/openclaw/dist/control-ui";
  test.skipIf(!existsSync(join(official, "index.html")))("the official Control UI folder gets upstream's exact CSP (captured from 2026.9.6)", async () => {
    const res = (await serveUi(req("/", { headers: { Host: "127.0.0.1:18789" } }), { root: official, terminalEnabled: true }))!;
    const captured = readFileSync(join(import.meta.dir, "../fixture/transcripts/http/root.headers"), "utf8");
    const cspLine = captured.split("\n").find((l) => l.startsWith("Content-Security-Policy: "))!;
    expect(res.headers.get("content-security-policy")).toBe(cspLine.slice("Content-Security-Policy: ".length).trim());
    const html = await res.text();
    expect(html).toContain('<html data-openclaw-control-ui-base-path="" data-openclaw-terminal-enabled="true" lang="en">');
    expect(inlineScriptHashes(html)).toHaveLength(2);
  });
});
