/**
 * The OFFICIAL Control UI (2026.9.6, the `dist/control-ui` folder of the `openclaw` package,
 * given as OPENCLAW_REF_UI) served by this gateway through `gateway.controlUi.root`, in headless
 * Chromium, against a real in-process gateway hosting the parts `openclaw gateway` hosts, with
 * the fake model provider behind it:
 *
 *   - chat: no `unknown method` text anywhere, no "Server updated" refresh card, a model in the
 *     picker, a sent message gets the fake provider's reply;
 *   - sessions: the chat's session is listed;
 *   - logs: a line the gateway logs appears, no error;
 *   - devices: the paired-devices and exec-approvals sections load, no `unknown method` text;
 *   - automations: the jobs and the scheduler status load, no `unknown method` text.
 *
 * Skipped with the reason when OPENCLAW_REF_UI or Chromium is missing. Screenshots and the
 * console of failing tests go to test-artifacts/.
 */
import { afterAll, beforeAll, describe, expect } from "bun:test";
import { existsSync, rmSync } from "node:fs";
import { join } from "node:path";
import type { Page } from "playwright-core";
import { resolvePaths } from "../../src/config/paths.ts";
import { resolveGatewaySettings } from "../../src/config/runtime.ts";
import { loadConfig } from "../../src/config/snapshot.ts";
import { Gateway } from "../../src/gateway/gateway.ts";
import { gatewayParts } from "../../src/gateway/parts.ts";
import { RotatingFileSink } from "../../src/log/file.ts";
import { createLogger, memorySink, type Logger } from "../../src/log/logger.ts";
import { FakeUpstream } from "../fixture/fake-upstream.ts";
import { browserTest, chromiumPath, launchBrowser, SKIP_REASON, type TestBrowser } from "../helpers/browser.ts";
import { TEST_TOKEN } from "../helpers/gateway.ts";
import { tempDir, writeStateConfig } from "../helpers/state-dir.ts";

const REF_UI = process.env.OPENCLAW_REF_UI;
const chromium = chromiumPath();
const skipReason = !REF_UI
  ? "OPENCLAW_REF_UI is not set (the dist/control-ui folder of the official openclaw package)"
  : !existsSync(join(REF_UI, "index.html"))
    ? `OPENCLAW_REF_UI=${REF_UI} has no index.html`
    : !chromium
      ? SKIP_REASON
      : undefined;
if (skipReason) console.warn(`skipping the official Control UI against this gateway: ${skipReason}`);

let fake: FakeUpstream;
let gateway: Gateway;
let log: Logger;
let stateDir: string;
let browser: TestBrowser;
let base = "";

/** Text the official UI shows anywhere on the page (shadow DOM included, as innerText sees it). */
async function pageText(page: Page): Promise<string> {
  return page.evaluate(() => (globalThis as any).document.body.innerText as string);
}

async function expectNoUnknownMethod(page: Page): Promise<void> {
  const text = await pageText(page);
  expect(text).not.toContain("unknown method");
}

describe.skipIf(Boolean(skipReason))("the official Control UI served by this gateway (gateway.controlUi.root)", () => {
  beforeAll(async () => {
    fake = new FakeUpstream().start();
    stateDir = tempDir("openclaw-official-ui-");
    const logFile = join(stateDir, "logs", "gateway.log");
    writeStateConfig(stateDir, {
      gateway: { mode: "local", auth: { mode: "token", token: TEST_TOKEN }, controlUi: { root: REF_UI } },
      models: { providers: { fake: { api: "openai-completions", baseUrl: `${fake.url}/v1`, models: [{ id: "echo", name: "Echo" }] } } },
      agents: { defaults: { model: "fake/echo" } },
    });
    const env = { OPENCLAW_STATE_DIR: stateDir };
    const snapshot = await loadConfig({ paths: resolvePaths({ env }), env });
    const settings = { ...resolveGatewaySettings(snapshot, { container: false }), port: 0 };
    const sink = new RotatingFileSink({ path: logFile });
    log = createLogger({ level: "debug", sinks: [memorySink(), { write: (r) => sink.write(r) }] });
    gateway = await Gateway.start({ snapshot, settings, log, logFile, env, reload: false, subsystems: gatewayParts() });
    base = `http://127.0.0.1:${gateway.port}`;
    browser = await launchBrowser();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await gateway?.stop();
    await fake?.stop();
    if (stateDir) rmSync(stateDir, { recursive: true, force: true });
  });

  browserTest(
    "chat: no unknown method, no refresh card, a model in the picker, the fake provider's reply",
    () => browser,
    async ({ page }) => {
      await page.goto(`${base}/chat#token=${TEST_TOKEN}`);
      const composer = page.getByPlaceholder(/^Message /).first();
      await composer.waitFor({ timeout: 60_000 });
      // The model picker shows the configured model (not "Models unavailable").
      await page.getByText("Echo", { exact: true }).first().waitFor({ timeout: 30_000 });
      const message = `hello official ui ${crypto.randomUUID().slice(0, 8)}`;
      await composer.fill(message);
      await composer.press("Enter");
      await page.getByText(`echo: ${message}`).first().waitFor({ timeout: 30_000 });
      const text = await pageText(page);
      expect(text).not.toContain("unknown method");
      expect(text).not.toContain("Models unavailable");
      expect(text).not.toContain("Server updated");
      expect(text).not.toContain("Refresh for full capabilities");
      // The user's message shows once: the transcript settled the copy the UI showed while sending.
      expect(await page.getByText(message, { exact: true }).count()).toBe(1);
    },
    150_000,
  );

  browserTest(
    "sessions: the chat's session is listed (no unknown method)",
    () => browser,
    async ({ page }) => {
      await page.goto(`${base}/sessions#token=${TEST_TOKEN}`);
      await page.getByText("agent:main:main").first().waitFor({ timeout: 60_000 });
      await expectNoUnknownMethod(page);
    },
    120_000,
  );

  browserTest(
    "logs: a line the gateway logs appears",
    () => browser,
    async ({ page }) => {
      const marker = `official-ui-log-marker-${crypto.randomUUID()}`;
      log.child("ui-test").info(marker);
      await page.goto(`${base}/logs#token=${TEST_TOKEN}`);
      await page.getByText(marker).first().waitFor({ timeout: 60_000 });
      await expectNoUnknownMethod(page);
    },
    120_000,
  );

  browserTest(
    "devices: the pairing lists load (no unknown method)",
    () => browser,
    async ({ page }) => {
      await page.goto(`${base}/settings/devices#token=${TEST_TOKEN}`);
      await page.getByText("Paired devices", { exact: false }).first().waitFor({ timeout: 60_000 });
      await page.getByText("Exec approvals", { exact: false }).first().waitFor({ timeout: 30_000 });
      await expectNoUnknownMethod(page);
    },
    120_000,
  );

  browserTest(
    "automations: the jobs and scheduler status load (no unknown method)",
    () => browser,
    async ({ page }) => {
      await page.goto(`${base}/automations#token=${TEST_TOKEN}`);
      await page.getByText("Scheduled tasks and recurring agent runs.").first().waitFor({ timeout: 60_000 });
      await page.getByText("New automation").first().waitFor({ timeout: 30_000 });
      await expectNoUnknownMethod(page);
    },
    120_000,
  );
});
