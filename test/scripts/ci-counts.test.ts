/**
 * scripts/ci.ts counts bun test results from JUnit and from the console summary. This runs a real
 * `bun test` on a scratch suite (pass, fail, skip, todo, failing hook, file that throws on load)
 * and checks the counts, so a change in Bun's output formats shows up here.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { combineTestCounts, parseJunit, parseSummary } from "../../scripts/ci.ts";
import { cleanEnv, within } from "../../scripts/lib/proc.ts";

let dir = "";
let run: { exitCode: number | null; stderr: string; junit: string };

async function bunTest(cwd: string): Promise<{ exitCode: number | null; stderr: string; junit: string }> {
  const junitPath = join(cwd, "junit.xml");
  const proc = Bun.spawn([process.execPath, "test", "--reporter=junit", `--reporter-outfile=${junitPath}`], {
    cwd,
    env: cleanEnv(),
    stdin: "ignore",
    stdout: "ignore",
    stderr: "pipe",
  });
  const stderr = new Response(proc.stderr).text();
  const code = await within(proc.exited, 15_000, null);
  if (code === null) proc.kill("SIGKILL");
  return { exitCode: code, stderr: await within(stderr, 2_000, ""), junit: readFileSync(junitPath, "utf8") };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "openclaw-ci-counts-"));
  writeFileSync(
    join(dir, "a.test.ts"),
    [
      'import { expect, test } from "bun:test";',
      'test("passes > with <xml> & \\"quotes\\"", () => expect(1).toBe(1));',
      'test("passes too", () => expect(2).toBe(2));',
      'test("fails", () => expect(1).toBe(2));',
      'test.skip("skipped", () => {});',
      'test.todo("todo");',
    ].join("\n"),
  );
  writeFileSync(
    join(dir, "b.test.ts"),
    ['import { beforeAll, expect, test } from "bun:test";', 'beforeAll(() => { throw new Error("hook"); });', 'test("never runs", () => expect(1).toBe(1));'].join("\n"),
  );
  writeFileSync(join(dir, "c.test.ts"), 'throw new Error("load error");\n');
  run = await bunTest(dir);
}, 30_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("ci result counting", () => {
  test("JUnit: passes, failures (incl. a failing hook) and skips are counted", () => {
    const j = parseJunit(run.junit);
    expect(j).toBeDefined();
    expect(j!.pass).toBe(2);
    expect(j!.fail).toBe(2);
    expect(j!.skip).toBe(2);
    expect(j!.failures.some((f) => f.endsWith("a.test.ts > fails"))).toBe(true);
  });

  test("console summary: the file that throws on load is counted as a failure", () => {
    const s = parseSummary(run.stderr);
    expect(s).toEqual({ pass: 2, fail: 3, skip: 2 });
  });

  test("combined: the larger failure count wins and bun's exit code is respected", () => {
    const c = combineTestCounts(parseJunit(run.junit), parseSummary(run.stderr), run.exitCode);
    expect(run.exitCode).toBe(1);
    expect(c.pass).toBe(2);
    expect(c.fail).toBe(3);
  });

  test("a non-zero exit with no failing test counts as one failure; no results at all too", () => {
    expect(combineTestCounts({ pass: 5, fail: 0, skip: 0 }, { pass: 5, fail: 0, skip: 0 }, 1).fail).toBe(1);
    expect(combineTestCounts(undefined, undefined, 0).fail).toBe(1);
    expect(combineTestCounts(undefined, { pass: 0, fail: 0, skip: 0 }, 0).fail).toBe(1);
    expect(combineTestCounts({ pass: 7, fail: 0, skip: 1 }, undefined, 0)).toMatchObject({ pass: 7, fail: 0 });
  });

  test("ANSI colours around the summary are ignored", () => {
    expect(parseSummary("\x1b[32m 4 pass\x1b[0m\n\x1b[31m 1 fail\x1b[0m\n")).toEqual({ pass: 4, fail: 1, skip: 0 });
  });
});
