/**
 * The dashboard's build: the committed output matches its sources (no drift), stays within
 * budget with no inline code, and its files are embedded in a `bun build --compile` binary.
 */
import { describe, expect, test } from "bun:test";
import { readFileSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { BUDGET_BYTES, checkUi } from "../../scripts/build-ui.ts";
import { UI_FILES } from "../../src/ui/assets.generated.ts";
import { uiAssets } from "../../src/ui/assets.ts";
import { tempDir } from "../helpers/state-dir.ts";

const ROOT = resolve(import.meta.dir, "../..");

describe("dashboard build", () => {
  test("src/ui/dist and assets.generated.ts are what scripts/build-ui.ts makes from src/ui/app", async () => {
    expect(await checkUi()).toEqual([]);
  }, 60_000);

  test("a few hashed files within the budget, index.html without inline code", async () => {
    const assets = await uiAssets();
    const paths = [...assets.keys()].sort();
    expect(paths).toHaveLength(3);
    expect(paths[0]).toMatch(/^assets\/main-[a-z0-9]+\.js$/);
    expect(paths[1]).toMatch(/^assets\/styles-[a-z0-9]+\.css$/);
    expect(paths[2]).toBe("index.html");
    const total = [...assets.values()].reduce((n, a) => n + a.body.length, 0);
    expect(total).toBeLessThanOrEqual(BUDGET_BYTES);
    for (const a of assets.values()) {
      expect(a.gzip!.length).toBeLessThan(a.body.length);
      expect(a.br!.length).toBeLessThan(a.body.length);
      expect(a.immutable).toBe(a.path.startsWith("assets/"));
    }
    const html = new TextDecoder().decode(assets.get("index.html")!.body);
    expect(html).not.toMatch(/<script(?![^>]*\ssrc=)[^>]*>/);
    const js = new TextDecoder().decode(assets.get(paths[0])!.body);
    // No eval-like constructs: the CSP has no 'unsafe-eval'.
    expect(js).not.toMatch(/\beval\(|new Function\(|innerHTML|insertAdjacentHTML|document\.write/);
  });

  test("the files are embedded in a compiled binary", async () => {
    const dir = tempDir("openclaw-ui-compile-");
    try {
      const probe = join(dir, "probe.ts");
      await Bun.write(
        probe,
        `import { uiAssets } from ${JSON.stringify(join(ROOT, "src/ui/assets.ts"))};\n` +
          `import { UI_FILES } from ${JSON.stringify(join(ROOT, "src/ui/assets.generated.ts"))};\n` +
          "const m = await uiAssets();\n" +
          "const out = {};\n" +
          "for (const [p, a] of m) out[p] = { sha: new Bun.CryptoHasher('sha256').update(a.body).digest('hex'), gz: a.gzip.length, br: a.br.length };\n" +
          "console.log(JSON.stringify({ out, files: UI_FILES.map((f) => f.file) }));\n",
      );
      const bin = join(dir, "probe-bin");
      const build = Bun.spawnSync([process.execPath, "build", "--compile", probe, "--outfile", bin], { cwd: dir, stderr: "pipe", stdout: "pipe" });
      expect(build.exitCode).toBe(0);
      rmSync(probe);
      // Run from an empty directory: nothing can come from the source tree's relative paths.
      const run = Bun.spawnSync([bin], { cwd: dir, stdout: "pipe", stderr: "pipe", env: { PATH: process.env.PATH ?? "" } });
      expect(run.stderr.toString()).toBe("");
      const { out, files } = JSON.parse(run.stdout.toString());
      for (const f of files as string[]) expect(f.startsWith("/$bunfs/") || f.startsWith("B:/~BUN/")).toBe(true);
      for (const f of UI_FILES) {
        const disk = readFileSync(join(ROOT, "src/ui/dist", f.path));
        expect(out[f.path].sha).toBe(new Bun.CryptoHasher("sha256").update(disk).digest("hex"));
        expect(out[f.path].gz).toBe(readFileSync(join(ROOT, "src/ui/dist", `${f.path}.gz`)).length);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
