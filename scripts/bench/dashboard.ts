#!/usr/bin/env bun
/**
 * Dashboard figures, measured in headless Chromium (Debian's /usr/bin/chromium via
 * playwright-core) against `openclaw gateway` running as a child process (from source, or the
 * compiled binary with `--binary <path>`), which serves the dashboard on its own port. The link
 * is the one `openclaw dashboard --no-open --json` prints (`url`, with the `#token=` fragment).
 *
 *   - first contentful paint and time to connected (navigation start → the connection pill
 *     says "connected") of a cold load: a fresh profile, empty cache, no stored identity;
 *     median of N runs; and time to connected of a second tab of that profile (warm cache);
 *   - bytes transferred for a cold load (every response body as sent on the wire, compressed);
 *   - RSS of the gateway process: idle before any dashboard request, after the cold loads, and
 *     before and after 10 dashboard tabs connect (target ≤ +10 MB).
 *
 *   bun scripts/bench/dashboard.ts [--runs N] [--tabs N] [--binary path] [--json out.json]
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { runToExit, spawnGateway, waitUntilListening } from "../lib/gateway-child.ts";
import { freePort } from "../lib/proc.ts";
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
const BINARY = arg("--binary");
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
  const command = BINARY ? [resolve(BINARY)] : [process.execPath, join(ROOT, "src/main.ts")];

  const stateDir = mkdtempSync(join(tmpdir(), "openclaw-bench-dashboard-"));
  writeFileSync(join(stateDir, "openclaw.json"), JSON.stringify({ gateway: { mode: "local", auth: { mode: "token", token: TOKEN } } }), { mode: 0o600 });
  const port = await freePort();
  const gw = spawnGateway({ command, port, stateDir });
  const dirs: string[] = [];
  try {
    await waitUntilListening(gw);
    const printed = await runToExit({ command, args: ["dashboard", "--no-open", "--json"], env: { OPENCLAW_STATE_DIR: stateDir, OPENCLAW_GATEWAY_PORT: String(port) }, timeoutMs: 20_000 });
    const link = JSON.parse(printed.stdout) as { ok: boolean; url: string; httpUrl: string };
    if (!link.ok) throw new Error(`openclaw dashboard: ${printed.stdout}${printed.stderr}`);
    const url = link.url.replace("/#", "/status#");
    await Bun.sleep(1000);
    const rssIdle = rssOf(gw.pid);

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
    const warmConnected: number[] = [];
    const bytes: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const ctx = await launch();
      const page = await ctx.newPage();
      const cdp = await ctx.newCDPSession(page);
      await cdp.send("Network.enable");
      let wire = 0;
      cdp.on("Network.loadingFinished", (e: any) => (wire += e.encodedDataLength));
      await page.goto(url);
      await page.locator('#conn[data-phase="connected"]').waitFor();
      // Runs in the page: paint entries and now() are relative to navigation start.
      const t = await page.evaluate(() => {
        const fp = performance.getEntriesByName("first-contentful-paint")[0] ?? performance.getEntriesByName("first-paint")[0];
        return { fp: fp?.startTime ?? NaN, now: performance.now() };
      });
      firstPaint.push(t.fp);
      connected.push(t.now);
      bytes.push(wire);
      // A second tab of the same profile: cached assets, stored device identity.
      const page2 = await ctx.newPage();
      await page2.goto(url, { waitUntil: "commit" });
      await page2.locator('#conn[data-phase="connected"]').waitFor();
      warmConnected.push(await page2.evaluate(() => performance.now()));
      await ctx.close();
    }

    // RSS before / after N tabs connect (one browser, N tabs, each its own WebSocket).
    await Bun.sleep(1000);
    const rssBefore = rssOf(gw.pid);
    const ctx = await launch();
    const pages = [];
    for (let i = 0; i < TABS; i++) {
      const p = await ctx.newPage();
      await p.goto(url);
      await p.locator('#conn[data-phase="connected"]').waitFor();
      pages.push(p);
    }
    await Bun.sleep(1000);
    const rssAfter = rssOf(gw.pid);
    await ctx.close();

    const result = {
      date: new Date().toISOString(),
      machine: machineInfo(),
      served: BINARY ? "compiled binary" : "source (bun src/main.ts)",
      runs: RUNS,
      firstContentfulPaintMs: figure(firstPaint),
      timeToConnectedMs: figure(connected),
      warmTimeToConnectedMs: figure(warmConnected),
      coldLoadBytes: figure(bytes, 0),
      gatewayRss: { idle: rssIdle, before: rssBefore, after: rssAfter, deltaBytes: rssAfter - rssBefore, tabs: TABS, targetDeltaBytes: 10 * 1024 * 1024 },
    };
    const mb = (n: number) => (n / 1024 / 1024).toFixed(1);
    say(`served by the gateway (${result.served}) at ${link.httpUrl}`);
    say(`first contentful paint: median ${result.firstContentfulPaintMs.median} ms (min ${result.firstContentfulPaintMs.min}, max ${result.firstContentfulPaintMs.max}), ${RUNS} cold runs`);
    say(`time to connected, cold: median ${result.timeToConnectedMs.median} ms (min ${result.timeToConnectedMs.min}, max ${result.timeToConnectedMs.max})`);
    say(`time to connected, 2nd tab: median ${result.warmTimeToConnectedMs.median} ms`);
    say(`cold load transferred:  median ${result.coldLoadBytes.median} B`);
    say(`gateway RSS: idle ${mb(rssIdle)} MB; ${mb(rssBefore)} MB → ${mb(rssAfter)} MB with ${TABS} tabs (+${mb(rssAfter - rssBefore)} MB; target ≤ +10 MB)`);
    const out = arg("--json");
    if (out) writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
    console.log(JSON.stringify(result));
  } finally {
    await gw.stop();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
    rmSync(stateDir, { recursive: true, force: true });
  }
}

await main();
