import { afterEach, describe, expect, test } from "bun:test";
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { tailFile } from "../../src/log/tail.ts";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function file(text: string): string {
  const dir = mkdtempSync(join(tmpdir(), "openclaw-tail-"));
  dirs.push(dir);
  const p = join(dir, "gateway.log");
  writeFileSync(p, text);
  return p;
}
const lines = (n: number) => Array.from({ length: n }, (_, i) => `line-${i}`).join("\n") + "\n";

describe("tailFile", () => {
  test("without a cursor: the last `limit` lines and a cursor at the end", async () => {
    const p = file(lines(10));
    const r = await tailFile(p, { limit: 3 });
    expect(r.lines).toEqual(["line-7", "line-8", "line-9"]);
    expect(r.truncated).toBe(true);
    expect(r.cursor).toBe(r.size);
  });

  test("with a cursor: only what was appended since", async () => {
    const p = file(lines(2));
    const first = await tailFile(p);
    appendFileSync(p, "new-a\nnew-b\n");
    const next = await tailFile(p, { cursor: first.cursor });
    expect(next.lines).toEqual(["new-a", "new-b"]);
    expect((await tailFile(p, { cursor: next.cursor })).lines).toEqual([]);
  });

  test("a half-written last line waits for its newline", async () => {
    const p = file("done\npart");
    const r = await tailFile(p, { cursor: 0 });
    expect(r.lines).toEqual(["done"]);
    appendFileSync(p, "ial\n");
    expect((await tailFile(p, { cursor: r.cursor })).lines).toEqual(["partial"]);
  });

  test("maxBytes bounds each read and reports truncation; the cursor resumes", async () => {
    const p = file(lines(100));
    const r = await tailFile(p, { cursor: 0, maxBytes: 50 });
    expect(r.truncated).toBe(true);
    expect(r.lines.length).toBeGreaterThan(0);
    const rest = await tailFile(p, { cursor: r.cursor, maxBytes: 1_000_000 });
    expect([...r.lines, ...rest.lines]).toEqual(lines(100).trim().split("\n"));
  });

  test("a cursor past the end (rotated file) resets to the start", async () => {
    const p = file(lines(3));
    const r = await tailFile(p, { cursor: 10_000 });
    expect(r.reset).toBe(true);
    expect(r.lines).toEqual(["line-0", "line-1", "line-2"]);
  });

  test("a missing file is empty, not an error", async () => {
    const r = await tailFile(join(tmpdir(), "nope-openclaw.log"));
    expect(r).toMatchObject({ lines: [], size: 0, cursor: 0 });
  });
});
