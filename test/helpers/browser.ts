/**
 * Browser tests: headless Chromium driven by playwright-core. Debian's /usr/bin/chromium (or
 * $CHROMIUM_PATH) is used as installed; nothing is downloaded. Each launch gets a fresh
 * --user-data-dir, removed at close. `browserTest()` saves a full-page screenshot and the
 * page's console into test-artifacts/ (or $TEST_ARTIFACTS_DIR) when a test fails, for CI to
 * keep as artefacts.
 */
import { test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { BrowserContext, Page } from "playwright-core";

export const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--disable-dev-shm-usage",
];

/** The Chromium to drive, or undefined (browser tests then skip with the reason). */
export function chromiumPath(): string | undefined {
  const candidates = [process.env.CHROMIUM_PATH, "/usr/bin/chromium", "/usr/bin/chromium-browser"].filter(Boolean) as string[];
  return candidates.find((p) => existsSync(p));
}

export const SKIP_REASON = "no Chromium (install Debian's `chromium` or set CHROMIUM_PATH)";

export const ARTIFACTS_DIR = resolve(process.env.TEST_ARTIFACTS_DIR ?? join(import.meta.dir, "../../test-artifacts"));

export interface TestBrowser {
  context: BrowserContext;
  /** A new tab that records its console lines (for the failure artefact). */
  newPage(): Promise<Page>;
  close(): Promise<void>;
}

const consoles = new WeakMap<Page, string[]>();

export async function launchBrowser(opts: { javaScriptEnabled?: boolean } = {}): Promise<TestBrowser> {
  const executablePath = chromiumPath();
  if (!executablePath) throw new Error(SKIP_REASON);
  const { chromium } = await import("playwright-core");
  const userDataDir = mkdtempSync(join(tmpdir(), "openclaw-chromium-"));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath,
    headless: true,
    args: CHROMIUM_ARGS,
    javaScriptEnabled: opts.javaScriptEnabled ?? true,
    viewport: { width: 1200, height: 800 },
    timeout: 60_000,
  });
  context.setDefaultTimeout(20_000);
  return {
    context,
    async newPage() {
      const page = await context.newPage();
      const lines: string[] = [];
      consoles.set(page, lines);
      page.on("console", (m) => lines.push(`[${m.type()}] ${m.text()}`));
      page.on("pageerror", (e) => lines.push(`[pageerror] ${e.message}`));
      return page;
    },
    async close() {
      await context.close().catch(() => {});
      rmSync(userDataDir, { recursive: true, force: true });
    },
  };
}

/** The console lines a page has printed so far. */
export function consoleOf(page: Page): string[] {
  return consoles.get(page) ?? [];
}

function safeName(name: string): string {
  return name.replace(/[^a-z0-9._-]+/gi, "-").replace(/^-+|-+$/g, "").slice(0, 120);
}

/** Save a screenshot and the console of each page into the artefacts folder. */
export async function saveArtifacts(name: string, pages: Page[]): Promise<string[]> {
  mkdirSync(ARTIFACTS_DIR, { recursive: true });
  const saved: string[] = [];
  for (const [i, page] of pages.entries()) {
    const base = join(ARTIFACTS_DIR, `${safeName(name)}${pages.length > 1 ? `-${i}` : ""}`);
    try {
      await page.screenshot({ path: `${base}.png`, fullPage: true, timeout: 10_000 });
      saved.push(`${base}.png`);
    } catch {
      // a crashed page cannot be captured; the console may still say why
    }
    writeFileSync(`${base}.console.txt`, `${page.url()}\n${consoleOf(page).join("\n")}\n`);
    saved.push(`${base}.console.txt`);
  }
  return saved;
}

/**
 * A test that gets fresh tabs from `browser()`; on failure every tab it opened is captured
 * into the artefacts folder before the error is rethrown.
 */
export function browserTest(
  name: string,
  browser: () => TestBrowser,
  fn: (ctx: { page: Page; newPage(): Promise<Page> }) => Promise<void>,
  timeoutMs = 90_000,
): void {
  test(
    name,
    async () => {
      const pages: Page[] = [];
      const newPage = async () => {
        const p = await browser().newPage();
        pages.push(p);
        return p;
      };
      const page = await newPage();
      try {
        await fn({ page, newPage });
      } catch (err) {
        const files = await saveArtifacts(name, pages);
        if (err instanceof Error) err.message += `\n(artefacts: ${files.join(", ")})`;
        throw err;
      } finally {
        for (const p of pages) await p.close().catch(() => {});
      }
    },
    timeoutMs,
  );
}
