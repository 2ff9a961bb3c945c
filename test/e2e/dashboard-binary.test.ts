/**
 * Our dashboard from the compiled binary, end to end: `openclaw gateway` serves it on its own
 * port (embedded assets, compressed, immutable, strict headers), `openclaw dashboard --no-open`
 * prints the link, and a fresh headless Chromium opened on that link connects with no typing,
 * chats with an agent on the fake provider (the reply streams in), shows a line the gateway
 * just logged, and shows a config edit's validation error without changing the file.
 * Screenshots and console go to test-artifacts/ when a browser test fails.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Page } from "playwright-core";
import { runToExit, spawnGateway, type GatewayChild } from "../../scripts/lib/gateway-child.ts";
import { freePort } from "../../scripts/lib/proc.ts";
import { UI_BUILD_ID } from "../../src/ui/assets.ts";
import { DASHBOARD_CSP } from "../../src/ui/http.ts";
import { FakeUpstream } from "../fixture/fake-upstream.ts";
import { compiledBinary } from "../helpers/binary.ts";
import { browserTest, chromiumPath, launchBrowser, SKIP_REASON, type TestBrowser } from "../helpers/browser.ts";
import { waitListening } from "../helpers/children.ts";
import { tempDir } from "../helpers/state-dir.ts";

const TOKEN = "e2e-dashboard-token-0123456789abcdef";
const fake = new FakeUpstream();
let binary = "";
let stateDir = "";
let configPath = "";
let child: GatewayChild;
let links: { url: string; httpUrl: string; wsUrl: string; port: number; tokenIncluded: boolean };
let printed = "";

beforeAll(async () => {
  fake.start();
  binary = await compiledBinary();
  stateDir = tempDir("openclaw-e2e-dashboard-");
  configPath = join(stateDir, "openclaw.json");
  writeFileSync(
    configPath,
    JSON.stringify(
      {
        gateway: { mode: "local", auth: { mode: "token", token: TOKEN } },
        models: { providers: { fake: { api: "openai-completions", baseUrl: `${fake.url}/v1`, models: [{ id: "echo", name: "Echo" }, { id: "slow" }] } } },
        agents: { defaults: { model: "fake/echo" }, list: [{ id: "main", default: true }, { id: "slowpoke", model: "fake/slow" }] },
      },
      null,
      2,
    ),
    { mode: 0o600 },
  );
  const port = await freePort();
  child = spawnGateway({ command: [binary], port, stateDir, cwd: stateDir });
  await waitListening(child);
  const env = { OPENCLAW_STATE_DIR: stateDir, OPENCLAW_GATEWAY_PORT: String(port) };
  const json = await runToExit({ command: [binary], args: ["dashboard", "--no-open", "--json"], env, cwd: stateDir, timeoutMs: 20_000 });
  expect(json.exitCode).toBe(0);
  links = JSON.parse(json.stdout);
  const text = await runToExit({ command: [binary], args: ["dashboard", "--no-open"], env, cwd: stateDir, timeoutMs: 20_000 });
  expect(text.exitCode).toBe(0);
  printed = text.stdout;
}, 180_000);

afterAll(async () => {
  await child?.stop(3_000);
  await fake.stop();
  rmSync(stateDir, { recursive: true, force: true });
});

describe("the binary serves the dashboard", () => {
  test("`dashboard --no-open` prints the URL the gateway serves; --json adds the #token= link", () => {
    expect(links).toEqual({
      ok: true,
      url: `http://127.0.0.1:${child.port}/#token=${TOKEN}`,
      httpUrl: `http://127.0.0.1:${child.port}/`,
      wsUrl: `ws://127.0.0.1:${child.port}`,
      port: child.port,
      tokenIncluded: true,
    } as typeof links);
    expect(printed.split("\n")[0]).toBe(`Dashboard URL: ${links.httpUrl}`);
    expect(printed).toContain("URL fragment with key `token`");
  });

  test("index.html and the embedded, precompressed, immutable assets with the strict headers", async () => {
    const page = await fetch(links.httpUrl, { headers: { Accept: "text/html" } });
    expect(page.status).toBe(200);
    expect(page.headers.get("content-security-policy")).toBe(DASHBOARD_CSP);
    expect(page.headers.get("x-frame-options")).toBe("DENY");
    expect(page.headers.get("x-content-type-options")).toBe("nosniff");
    expect(page.headers.get("referrer-policy")).toBe("no-referrer");
    const html = await page.text();
    const js = /src="\/(assets\/main-[a-z0-9]+\.js)"/.exec(html)?.[1];
    expect(js).toBeDefined();
    const asset = await fetch(`${links.httpUrl}${js}`, { headers: { "Accept-Encoding": "br" }, decompress: false } as RequestInit);
    expect(asset.status).toBe(200);
    expect(asset.headers.get("content-encoding")).toBe("br");
    expect(asset.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
    // The binary carries the build this checkout embeds.
    const cfg = await (await fetch(`${links.httpUrl}control-ui-config.json`, { headers: { Authorization: `Bearer ${TOKEN}` } })).json();
    expect(cfg).toMatchObject({ serverBuildId: UI_BUILD_ID, assistantAgentId: "main" });
  });
});

const chromium = chromiumPath();
if (!chromium) console.warn(`skipping the binary's dashboard in Chromium: ${SKIP_REASON}`);

describe.skipIf(!chromium)("the binary's dashboard in Chromium, from the printed link", () => {
  let browser: TestBrowser;
  beforeAll(async () => {
    browser = await launchBrowser();
  }, 90_000);
  afterAll(async () => {
    await browser?.close();
  });

  async function open(page: Page, path = ""): Promise<void> {
    // The link as printed, with a page route in front of the fragment when one is asked for.
    await page.goto(links.url.replace("/#", `/${path}#`));
    await page.locator('#conn[data-phase="connected"]').waitFor({ timeout: 30_000 });
  }

  browserTest("a fresh browser on url#token= connects with no typing; the token leaves the address bar", () => browser, async ({ page }) => {
    await open(page, "status");
    expect(new URL(page.url()).hash).toBe("");
    await page.locator("#server-version", { hasText: "2026.9.6" }).waitFor();
  });

  browserTest("chat with an agent on the fake provider: the reply streams in", () => browser, async ({ page }) => {
    await open(page, "chat");
    await page.locator("#agent").selectOption("slowpoke");
    await page.locator("#session-key", { hasText: "agent:slowpoke:main" }).waitFor();
    await page.locator("#composer").fill("hello from the binary");
    await page.locator("#send").click();
    await page.locator(".msg.assistant.streaming .text", { hasText: "s0" }).waitFor();
    await page.locator(".msg.assistant:not(.streaming) .text", { hasText: "s19" }).waitFor({ timeout: 30_000 });
    expect(await page.locator(".msg.assistant .text").last().textContent()).toBe("s0 s1 s2 s3 s4 s5 s6 s7 s8 s9 s10 s11 s12 s13 s14 s15 s16 s17 s18 s19 ");
  });

  browserTest("a line the gateway logs appears on the logs page", () => browser, async ({ page }) => {
    await open(page, "logs");
    await page.locator("#log-stream .log-line").first().waitFor();
    // A refused connect is a line the gateway logs: count them, cause one, see it arrive.
    const rejected = page.locator("#log-stream .log-line", { hasText: "connect rejected: token_mismatch" });
    const before = await rejected.count();
    const ws = new WebSocket(links.wsUrl);
    await new Promise<void>((resolve, reject) => {
      ws.onmessage = (ev) => {
        const f = JSON.parse(String(ev.data));
        if (f.event !== "connect.challenge") return;
        const params = { minProtocol: 4, maxProtocol: 4, client: { id: "cli", version: "1", platform: "test", mode: "cli" }, auth: { token: "wrong" }, role: "operator", scopes: [] };
        ws.send(JSON.stringify({ type: "req", id: "c", method: "connect", params }));
      };
      ws.onclose = () => resolve();
      ws.onerror = () => reject(new Error("socket error"));
    });
    await rejected.nth(before).waitFor({ timeout: 20_000 });
  });

  browserTest("a config edit with an error shows the error and changes nothing", () => browser, async ({ page }) => {
    const before = readFileSync(configPath, "utf8");
    await open(page, "config");
    await page.locator("#config-hash").waitFor();
    const doc = JSON.parse(await page.locator("#config-editor").inputValue());
    doc.gateway.port = "not-a-port";
    await page.locator("#config-editor").fill(JSON.stringify(doc, null, 2));
    await page.locator("#config-apply").click();
    await page.locator("#config-result .error-msg", { hasText: "invalid config: gateway.port:" }).waitFor();
    expect(readFileSync(configPath, "utf8")).toBe(before);
  });
});
