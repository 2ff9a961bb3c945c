#!/usr/bin/env bun
/**
 * Dashboard figures, measured in headless Chromium (Debian's /usr/bin/chromium via
 * playwright-core) against `openclaw gateway` running as a child process from source:
 *
 *   - first contentful paint of a cold load (fresh profile, empty cache) and time to connected
 *     (navigation start → the connection pill says "connected") of a second tab in that
 *     profile (the first tab waits for the "connect to another gateway?" click), median of N runs;
 *   - bytes transferred for a cold load (every response body as sent on the wire, compressed);
 *   - RSS of the gateway process before and after 10 dashboard tabs connect (target ≤ +10 MB).
 *
 * Until the gateway serves the dashboard itself, the page comes from a loopback static server
 * in this process using the same `serveUi` handler (its origin is allowed in the gateway's
 * `gateway.controlUi.allowedOrigins`); the WebSocket goes to the gateway child.
 *
 *   bun scripts/bench/dashboard.ts [--runs N] [--tabs N] [--json out.json]
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { spawnGateway, waitUntilListening } from "../lib/gateway-child.ts";
import { freePort } from "../lib/proc.ts";
import { serveUi } from "../../src/ui/serve.ts";
import { CHROMIUM_ARGS, chromiumPath } from "../../test/helpers/browser.ts";
import { figure, intArg, machineInfo, say } from "./lib.ts";

const ROOT = resolve(import.meta.dir, "../..");
const argv = process.argv.slice(2);
const arg = (name: string) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
};
const RUNS = intArg("--runs", arg("--runs"), 7, 1, 50);
const TABS = intArg("--tabs", arg("--tabs"), 10, 1, 50);
const TOKEN = "bench-dashboard-token-0123456789";

function rssOf(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = Number(/VmRSS:\s+(\d+)\s+kB/.exec(status)?.[1] ?? NaN);
  return kb * 1024;
}

async function main(): Promise<void> {
  const executablePath = chromiumPath();
  if (!executablePath) throw new Error("no Chromium: install Debian's chromium or set CHROMIUM_PATH");
  const { chromium } = await import("playwright-core");

  const ui = Bun.serve({ hostname: "127.0.0.1", port: 0, development: false, fetch: async (req) => (await serveUi(req)) ?? new Response("Not Found", { status: 404 }) });
  const origin = `http://127.0.0.1:${ui.port}`;
  const stateDir = mkdtempSync(join(tmpdir(), "openclaw-bench-dashboard-"));
  writeFileSync(
    join(stateDir, "openclaw.json"),
    JSON.stringify({ gateway: { mode: "local", auth: { mode: "token", token: TOKEN }, controlUi: { allowedOrigins: [origin] } } }),
    { mode: 0o600 },
  );
  const port = await freePort();
  const gw = spawnGateway({ command: [process.execPath, join(ROOT, "src/main.ts")], port, stateDir });
  const dirs: string[] = [];
  try {
    await waitUntilListening(gw);
    const url = `${origin}/status#token=${TOKEN}&gatewayUrl=${encodeURIComponent(`ws://127.0.0.1:${port}`)}`;

    const launch = async () => {
      const dir = mkdtempSync(join(tmpdir(), "openclaw-bench-chromium-"));
      dirs.push(dir);
      const ctx = await chromium.launchPersistentContext(dir, { executablePath, headless: true, args: CHROMIUM_ARGS, viewport: { width: 1200, height: 800 } });
      ctx.setDefaultTimeout(30_000);
      return ctx;
    };

    // Cold loads: a fresh profile each run (empty HTTP cache, no stored identity).
    const firstPaint: number[] = [];
    const connected: number[] = [];
    const bytes: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const ctx = await launch();
      const page = await ctx.newPage();
      const cdp = await ctx.newCDPSession(page);
      await cdp.send("Network.enable");
      let wire = 0;
      cdp.on("Network.loadingFinished", (e: any) => (wire += e.encodedDataLength));
      await page.goto(url);
      await page.locator("#gateway-confirm-yes").click();
      await page.locator('#conn[data-phase="connected"]').waitFor();
      // Runs in the page: paint entries are relative to navigation start.
      const t = await page.evaluate(() => {
        const fp = performance.getEntriesByName("first-contentful-paint")[0] ?? performance.getEntriesByName("first-paint")[0];
        return { fp: fp?.startTime ?? NaN };
      });
      // The confirm click is a user action: "connected" is timed from it, below, in a second tab.
      firstPaint.push(t.fp);
      bytes.push(wire);
      // Time to connected without the prompt: the chosen gateway is remembered now.
      const page2 = await ctx.newPage();
      await page2.goto(`${origin}/status#token=${TOKEN}`, { waitUntil: "commit" });
      await page2.locator('#conn[data-phase="connected"]').waitFor();
      connected.push(await page2.evaluate(() => performance.now()));
      await ctx.close();
    }

    // RSS before / after N tabs connect (one browser, N tabs, each its own WebSocket).
    await Bun.sleep(500);
    const rssBefore = rssOf(gw.pid);
    const ctx = await launch();
    const first = await ctx.newPage();
    await first.goto(url);
    await first.locator("#gateway-confirm-yes").click();
    await first.locator('#conn[data-phase="connected"]').waitFor();
    const pages = [first];
    for (let i = 1; i < TABS; i++) {
      const p = await ctx.newPage();
      await p.goto(`${origin}/status#token=${TOKEN}`);
      await p.locator('#conn[data-phase="connected"]').waitFor();
      pages.push(p);
    }
    await Bun.sleep(1000);
    const rssAfter = rssOf(gw.pid);
    await ctx.close();

    const result = {
      date: new Date().toISOString(),
      machine: machineInfo(),
      runs: RUNS,
      firstContentfulPaintMs: figure(firstPaint),
      timeToConnectedMs: figure(connected),
      coldLoadBytes: figure(bytes, 0),
      gatewayRss: { before: rssBefore, after: rssAfter, deltaBytes: rssAfter - rssBefore, tabs: TABS, targetDeltaBytes: 10 * 1024 * 1024 },
    };
    const mb = (n: number) => (n / 1024 / 1024).toFixed(1);
    say(`first contentful paint: median ${result.firstContentfulPaintMs.median} ms (min ${result.firstContentfulPaintMs.min}, max ${result.firstContentfulPaintMs.max}), ${RUNS} cold runs`);
    say(`time to connected (2nd tab): median ${result.timeToConnectedMs.median} ms (min ${result.timeToConnectedMs.min}, max ${result.timeToConnectedMs.max})`);
    say(`cold load transferred:  median ${result.coldLoadBytes.median} B`);
    say(`gateway RSS: ${mb(rssBefore)} MB → ${mb(rssAfter)} MB with ${TABS} tabs (+${mb(rssAfter - rssBefore)} MB; target ≤ +10 MB)`);
    const out = arg("--json");
    if (out) writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
    console.log(JSON.stringify(result));
  } finally {
    await gw.stop();
    ui.stop(true);
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
    rmSync(stateDir, { recursive: true, force: true });
  }
}

await main();
