/**
 * The dashboard in a real headless Chromium against a real in-process gateway (fake model
 * provider behind it), served from its own origin by `serveUi`.
 *
 * A "remote" browser (its own Chromium profile, so its own device identity) reaches the gateway
 * through the stack's relay, which the gateway trusts as a proxy naming a LAN client: that is
 * how the pairing flow (approve and revoke from the Devices page) is seen without a second host.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import type { Page } from "playwright-core";
import { GatewayClient } from "../../src/protocol/client.ts";
import { TEST_TOKEN } from "../helpers/gateway.ts";
import { browserTest, chromiumPath, launchBrowser, saveArtifacts, SKIP_REASON, type TestBrowser } from "../helpers/browser.ts";
import { startDashboardStack, type DashboardStack } from "./harness.ts";

const chromium = chromiumPath();
if (!chromium) console.warn(`skipping dashboard browser tests: ${SKIP_REASON}`);

let stack: DashboardStack;
let browser: TestBrowser;
/** A second browser profile: another device identity, used through the relay as a remote client. */
let remoteBrowser: TestBrowser | undefined;
const remote = async () => (remoteBrowser ??= await launchBrowser());

/** Open the dashboard with a token link, accepting the other-gateway prompt when it shows. */
async function open(page: Page, path = "/", opts: { token?: string; gatewayUrl?: string } = {}): Promise<void> {
  await page.goto(stack.dashboardUrl(path, opts));
  const confirm = page.locator("#gateway-confirm-yes");
  const pill = page.locator("#conn");
  await Promise.race([confirm.waitFor(), pill.waitFor()]);
  if (await confirm.isVisible()) await confirm.click();
}

async function connected(page: Page): Promise<void> {
  await page.locator('#conn[data-phase="connected"]').waitFor();
}

describe.skipIf(!chromium)("dashboard in Chromium", () => {
  beforeAll(async () => {
    stack = await startDashboardStack();
    browser = await launchBrowser();
  }, 120_000);

  afterAll(async () => {
    await remoteBrowser?.close();
    await browser?.close();
    await stack?.stop();
  });

  browserTest("token from the fragment connects, leaves the address bar, and is kept as upstream keeps it", () => browser, async ({ page }) => {
    await open(page, "/status");
    await connected(page);
    const url = new URL(page.url());
    expect(url.hash).toBe("");
    expect(url.pathname).toBe("/status");
    const stored = await page.evaluate(() => ({
      token: sessionStorage.getItem(Object.keys(sessionStorage).find((k) => k.startsWith("openclaw.control.token.v1:")) ?? ""),
      tokenKey: Object.keys(sessionStorage).find((k) => k.startsWith("openclaw.control.token.v1:")),
      identity: JSON.parse(localStorage.getItem("openclaw-device-identity-v1") ?? "null"),
    }));
    expect(stored.tokenKey).toBe(`openclaw.control.token.v1:${stack.gatewayUrl}`);
    expect(stored.token).toBe(TEST_TOKEN);
    expect(stored.identity.version).toBe(1);
    const pub = Buffer.from(stored.identity.publicKey.replaceAll("-", "+").replaceAll("_", "/"), "base64");
    expect(pub.length).toBe(32);
    expect(stored.identity.deviceId).toBe(new Bun.CryptoHasher("sha256").update(pub).digest("hex"));
    // The gateway saw an openclaw-control-ui/webchat client with that device.
    const presence = stack.gateway.presence.list() as any[];
    expect(presence.some((p) => p.clientId === "openclaw-control-ui" && p.mode === "webchat" && p.deviceId === stored.identity.deviceId)).toBe(true);
  });

  browserTest("without WebCrypto the bundled Ed25519 signs and the gateway accepts it", () => browser, async ({ page }) => {
    // Plain HTTP from another machine is not a secure context: browsers hide crypto.subtle.
    await page.addInitScript(() => Object.defineProperty(globalThis.crypto, "subtle", { get: () => undefined }));
    await open(page, "/status");
    await connected(page);
    await page.locator("#gateway-kv", { hasText: "signing: fallback" }).waitFor();
    // A new identity made entirely by the fallback (key, id and signature) connects too.
    const before = await page.evaluate(() => JSON.parse(localStorage.getItem("openclaw-device-identity-v1")!).deviceId);
    await page.evaluate(() => localStorage.removeItem("openclaw-device-identity-v1"));
    await page.reload();
    await connected(page);
    const after = await page.evaluate(() => JSON.parse(localStorage.getItem("openclaw-device-identity-v1")!));
    expect(after.deviceId).not.toBe(before);
    const pub = Buffer.from(after.publicKey.replaceAll("-", "+").replaceAll("_", "/"), "base64");
    expect(after.deviceId).toBe(new Bun.CryptoHasher("sha256").update(pub).digest("hex"));
    const presence = stack.gateway.presence.list() as any[];
    expect(presence.some((p) => p.deviceId === after.deviceId)).toBe(true);
  });

  browserTest("status page shows the gateway version and health", () => browser, async ({ page }) => {
    await open(page, "/status");
    await connected(page);
    await expect(page.locator("#server-version").textContent()).resolves.toBe("2026.9.6");
    await page.locator("#health-ok.ok").waitFor();
    await page.locator("#channels-none").waitFor();
    const gatewayKv = await page.locator("#gateway-kv").textContent();
    expect(gatewayKv).toContain("Memory (RSS)");
    expect(gatewayKv).toContain("signing: webcrypto");
  });

  browserTest("chat streams the agent's reply and keeps it in the history", () => browser, async ({ page }) => {
    await open(page, "/chat");
    await connected(page);
    await page.locator("#agent").selectOption("slowpoke");
    await page.locator("#session-key", { hasText: "agent:slowpoke:main" }).waitFor();
    await page.locator("#composer").fill("hello slow agent");
    await page.locator("#send").click();
    // Mid-stream: part of the reply is on screen while the run is still going.
    await page.locator(".msg.assistant.streaming .text", { hasText: "s0" }).waitFor();
    const partial = await page.locator(".msg.assistant.streaming .text").textContent();
    expect(partial).not.toContain("s19");
    await page.locator(".msg.assistant:not(.streaming) .text", { hasText: "s19" }).waitFor();
    await expect(page.locator(".msg.assistant .text").last().textContent()).resolves.toBe("s0 s1 s2 s3 s4 s5 s6 s7 s8 s9 s10 s11 s12 s13 s14 s15 s16 s17 s18 s19 ");

    // The echo agent answers with the text; a reload shows both turns from chat.history.
    await page.locator("#agent").selectOption("main");
    await page.locator("#session-key", { hasText: "agent:main:main" }).waitFor();
    await page.locator("#composer").fill("ping from the dashboard");
    await page.locator("#composer").press("Enter");
    await page.locator(".msg.assistant:not(.streaming) .text", { hasText: "echo: ping from the dashboard" }).waitFor();
    await page.reload();
    await connected(page);
    await page.locator(".msg.user .text", { hasText: "ping from the dashboard" }).waitFor();
    await page.locator(".msg.assistant .text", { hasText: "echo: ping from the dashboard" }).waitFor();
  });

  browserTest("new session starts an empty transcript under a new key", () => browser, async ({ page }) => {
    await open(page, "/chat");
    await connected(page);
    await page.locator("#new-session").click();
    const key = await page.locator("#session-key").textContent();
    expect(key).toMatch(/^agent:main:dashboard-[0-9a-f]{8}$/);
    await page.locator("#composer").fill("first words");
    await page.locator("#send").click();
    await page.locator(".msg.assistant:not(.streaming) .text", { hasText: "echo: first words" }).waitFor();
    const history = await stack.gateway.agents.store.transcript(key!, 10);
    expect(history.map((h: any) => h.message.role)).toEqual(["user", "assistant"]);
  });

  browserTest("Stop sends chat.abort and the reply ends as stopped", () => browser, async ({ page }) => {
    await open(page, "/chat");
    await connected(page);
    await page.locator("#agent").selectOption("slowpoke");
    await page.locator("#session-key", { hasText: "agent:slowpoke:main" }).waitFor();
    await page.locator("#composer").fill("a long one");
    await page.locator("#send").click();
    await page.locator("#stop:not(.hidden)").waitFor();
    await page.locator("#stop").click();
    // The gateway aborts the run: the reply ends as stopped, before the provider's last chunk.
    const stopped = page.locator(".msg.assistant.aborted");
    await stopped.locator(".note", { hasText: "Stopped." }).waitFor();
    expect(await stopped.locator(".text").textContent()).not.toContain("s19");
    await page.locator("#stop.hidden").waitFor({ state: "attached" });
  });

  browserTest("sessions page lists sessions and opens one in chat", () => browser, async ({ page }) => {
    await open(page, "/sessions");
    await connected(page);
    const row = page.locator('tr[data-key="agent:main:main"]');
    await row.waitFor();
    await row.click();
    await page.waitForURL(/\/chat\?session=agent%3Amain%3Amain$/);
    await page.locator("#session-key", { hasText: "agent:main:main" }).waitFor();
  });

  browserTest("the sessions page follows sessions.changed: a session started elsewhere appears", () => browser, async ({ page }) => {
    await open(page, "/sessions");
    await connected(page);
    await page.locator("#sessions-table, #sessions-body p").first().waitFor();
    const key = `agent:main:elsewhere-${crypto.randomUUID().slice(0, 8)}`;
    const c = await GatewayClient.connect({ url: stack.gatewayUrl, token: TEST_TOKEN, scopes: ["operator.write"], connectTimeoutMs: 5_000, requestTimeoutMs: 10_000 });
    try {
      // An `agent` run sends no `chat` events: only sessions.changed can tell the page.
      await c.request("agent", { sessionKey: key, message: "from another client", idempotencyKey: crypto.randomUUID() }, { expectFinal: true });
      await page.locator(`tr[data-key="${key}"]`).waitFor();
    } finally {
      await c.close();
    }
  });

  browserTest("a gateway log line appears on the logs page", () => browser, async ({ page }) => {
    const earlier = `dashboard-log-before-${crypto.randomUUID()}`;
    stack.log.child("ui-test").info(earlier);
    await open(page, "/logs");
    await connected(page);
    // The first read shows the tail of the file; later lines arrive by cursor.
    await page.locator("#log-stream .log-line", { hasText: earlier }).waitFor();
    const marker = `dashboard-log-marker-${crypto.randomUUID()}`;
    stack.log.child("ui-test").info(marker);
    await page.locator("#log-stream .log-line", { hasText: marker }).waitFor();
    await expect(page.locator("#logs-file").textContent()).resolves.toBe(stack.logFile);
  });

  browserTest("a config edit with an error shows the error and changes nothing", () => browser, async ({ page }) => {
    const before = readFileSync(stack.configPath, "utf8");
    await open(page, "/config");
    await connected(page);
    await page.locator("#config-hash").waitFor();
    const text = await page.locator("#config-editor").inputValue();
    const doc = JSON.parse(text);
    expect(doc.gateway.auth.token).toBe("__OPENCLAW_REDACTED__");
    doc.gateway.port = "not-a-port";
    await page.locator("#config-editor").fill(JSON.stringify(doc, null, 2));
    await page.locator("#config-apply").click();
    const error = page.locator("#config-result .error-msg");
    await error.waitFor();
    expect(await error.textContent()).toMatch(/^invalid config: gateway\.port: /);
    await page.locator("#config-errors li", { hasText: "gateway.port" }).waitFor();
    expect(readFileSync(stack.configPath, "utf8")).toBe(before);

    // Broken JSON never reaches the gateway.
    await page.locator("#config-editor").fill("{ not json");
    await page.locator("#config-apply").click();
    await page.locator("#config-result .error", { hasText: "Not valid JSON" }).waitFor();
    expect(readFileSync(stack.configPath, "utf8")).toBe(before);
  });

  browserTest("a valid config edit is applied through config.patch and keeps redacted secrets", () => browser, async ({ page }) => {
    await open(page, "/config");
    await connected(page);
    await page.locator("#config-hash").waitFor();
    const doc = JSON.parse(await page.locator("#config-editor").inputValue());
    doc.agents.list.find((a: any) => a.id === "main").systemPrompt = "You are edited.";
    await page.locator("#config-editor").fill(JSON.stringify(doc, null, 2));
    await page.locator("#config-apply").click();
    await page.locator("#config-saved").waitFor();
    const written = JSON.parse(readFileSync(stack.configPath, "utf8"));
    expect(written.agents.list.find((a: any) => a.id === "main").systemPrompt).toBe("You are edited.");
    expect(written.gateway.auth.token).toBe(TEST_TOKEN);
  });

  browserTest("devices page lists this browser as a paired device", () => browser, async ({ page }) => {
    await open(page, "/devices");
    await connected(page);
    const deviceId = await page.evaluate(() => JSON.parse(localStorage.getItem("openclaw-device-identity-v1")!).deviceId);
    // Connected locally with the shared secret: approved silently, as on the original.
    await page.locator(`#paired-table tr[data-device="${deviceId}"] .tag`, { hasText: "this browser" }).waitFor();
    expect(stack.gateway.devices.store.getPaired(deviceId)?.approvedVia).toBe("silent");
  });

  browserTest("a wrong token shows the sign-in card; the right secret connects", () => browser, async ({ page }) => {
    await page.evaluate(() => sessionStorage.clear()).catch(() => {});
    await open(page, "/status", { token: "wrong-token" });
    await page.locator("#login").waitFor();
    expect(await page.locator("#login-error").textContent()).toStartWith("unauthorized: gateway token mismatch");
    await expect(page.locator("#conn").getAttribute("data-phase")).resolves.toBe("auth-required");
    await page.locator("#secret").fill(TEST_TOKEN);
    await page.locator("#login button[type=submit]").click();
    await connected(page);
    await expect(page.locator("#overlay").getAttribute("class")).resolves.toContain("hidden");
  });

  // Through a trusted proxy the browser is the remote client the proxy names (192.168.77.20):
  // with the shared secret but no approved device it is asked for approval, as on the original.
  test("through a trusted proxy a remote browser is asked to get its device approved", async () => {
    const page = await (await remote()).newPage();
    try {
      const before = stack.relayConnects;
      await open(page, "/status", { gatewayUrl: stack.relayUrl });
      await page.locator('#conn[data-phase="pairing-required"]').waitFor();
      expect(stack.relayConnects).toBeGreaterThan(before);
      const requestId = (await page.locator("#pairing-request-id").textContent())!;
      expect(stack.gateway.devices.store.getPending(requestId)).toMatchObject({ clientId: "openclaw-control-ui", remoteIp: "192.168.77.20" });
      await page.locator("#pairing-command", { hasText: `openclaw devices approve ${requestId}` }).waitFor();
    } finally {
      await page.close();
    }
  });

  test("pairing required → approve from the Devices page → the remote browser connects; revoke from it → asked again", async () => {
    const far = await (await remote()).newPage();
    const pages: Page[] = [far];
    try {
      await open(far, "/status", { gatewayUrl: stack.relayUrl });
      await far.locator('#conn[data-phase="pairing-required"]').waitFor();
      const requestId = (await far.locator("#pairing-request-id").textContent())!;
      const farDevice = await far.evaluate(() => JSON.parse(localStorage.getItem("openclaw-device-identity-v1")!).deviceId as string);

      // The operator's own (local) dashboard: the request is on the Devices page; approve it.
      const admin = await browser.newPage();
      pages.push(admin);
      await open(admin, "/devices");
      await connected(admin);
      const row = admin.locator(`#pending-table tr[data-request="${requestId}"]`);
      await row.waitFor();
      await row.locator("button.approve").click();
      await admin.locator("#devices-message .ok", { hasText: `Approved ${requestId}.` }).waitFor();
      expect(stack.gateway.devices.store.getPaired(farDevice)?.approvedVia).toBe("owner");

      // The remote browser connects (it keeps checking; "Check now" does not wait for the backoff).
      await far.locator("#pairing-check").click();
      await connected(far);
      await far.locator("#conn", { hasText: "connected" }).waitFor();
      expect((stack.gateway.presence.list() as any[]).some((p) => p.deviceId === farDevice && p.ip === "192.168.77.20")).toBe(true);

      // Revoke its token from the Devices page: its socket closes and it is asked for approval again.
      const paired = admin.locator(`#paired-table tr[data-device="${farDevice}"]`);
      await paired.waitFor();
      await paired.locator("button.revoke").click();
      await admin.locator("#devices-message .ok", { hasText: "Revoked the operator token" }).waitFor();
      await far.locator('#conn[data-phase="pairing-required"]').waitFor();
      expect(stack.gateway.devices.store.getPaired(farDevice)?.tokens.operator?.revokedAtMs).toEqual(expect.any(Number));
      await admin.locator(`#paired-table tr[data-device="${farDevice}"] .tag`, { hasText: "operator revoked" }).waitFor();
    } catch (err) {
      const files = await saveArtifacts("pairing-approve-revoke", pages);
      if (err instanceof Error) err.message += `\n(artefacts: ${files.join(", ")})`;
      throw err;
    } finally {
      for (const p of pages) await p.close().catch(() => {});
    }
  }, 120_000);

  browserTest("a gateway restart shows as restarting, then the page reconnects by itself", () => browser, async ({ page }) => {
    await open(page, "/status");
    await connected(page);
    await stack.stopGateway();
    await page.locator('#conn[data-phase="restarting"]').waitFor();
    await page.locator("#banner", { hasText: "Gateway is restarting" }).waitFor();
    await stack.startGatewayAgain();
    await page.locator('#conn[data-phase="connected"]').waitFor({ timeout: 40_000 });
    await expect(page.locator("#banner").getAttribute("class")).resolves.toContain("hidden");
  }, 120_000);
});
