/**
 * The reliability suite as CI runs it (`--quick --binary … --json …`), on its shortest scenario:
 * a real gateway child, the JSON report CI reads, and the runner's argument errors. The
 * scenarios' figures are never judged here (they are the suite's job, not a test's).
 */
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { runToExit } from "../../scripts/lib/gateway-child.ts";

const ROOT = resolve(import.meta.dir, "../..");
const RUNNER = [process.execPath, join(ROOT, "scripts", "reliability", "index.ts")];
const dir = mkdtempSync(join(tmpdir(), "openclaw-reliability-test-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test("one quick scenario end to end: exit 0 and a JSON report with its figures, invariants and targets", async () => {
  const json = join(dir, "out.json");
  const r = await runToExit({ command: RUNNER, args: ["--quick", "--only", "agent-flood", "--json", json], cwd: ROOT, timeoutMs: 90_000 });
  expect(r.exitCode).toBe(0);
  expect(r.stdout).toContain("## agent-flood: PASS");
  const report = JSON.parse(readFileSync(json, "utf8"));
  expect(report.quick).toBe(true);
  expect(report.results).toHaveLength(1);
  const [flood] = report.results;
  expect(flood).toMatchObject({ name: "agent-flood", ok: true, failures: [], missed: [] });
  expect(flood.figures.maxConcurrent).toBe(8);
  expect(flood.figures["runs ended after abort"]).toBe(100);
}, 120_000);

test("bad arguments: exit 2 with the usage; an unknown scenario is named", async () => {
  const unknown = await runToExit({ command: RUNNER, args: ["--only", "nope"], cwd: ROOT });
  expect(unknown.exitCode).toBe(2);
  expect(unknown.stderr).toContain('unknown scenario "nope"');
  const flag = await runToExit({ command: RUNNER, args: ["--bogus"], cwd: ROOT });
  expect(flag.exitCode).toBe(2);
  expect(flag.stderr).toContain("usage: bun scripts/reliability/index.ts");
});
