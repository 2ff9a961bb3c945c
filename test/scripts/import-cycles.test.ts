/** No import cycles among src/gateway/, src/gateway/methods/, src/gateway/http/ (and ws/): the walk of scripts/check-imports.ts. */
import { describe, expect, test } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { findCycles, importGraph } from "../../scripts/check-imports.ts";
import { useTempDirs } from "../helpers/state-dir.ts";

const ROOT = resolve(import.meta.dir, "../..");
const tempDir = useTempDirs("openclaw-imports-test-");

describe("import graph", () => {
  test("no cycle touches src/gateway (type-only imports count)", () => {
    const graph = importGraph(join(ROOT, "src"));
    const gatewayFiles = [...graph.keys()].filter((f) => f.includes("/src/gateway/"));
    // The walk sees the composition root's imports of its parts.
    const root = graph.get(join(ROOT, "src/gateway/gateway.ts"))!;
    expect(root.has(join(ROOT, "src/gateway/methods/index.ts"))).toBe(true);
    expect(root.has(join(ROOT, "src/gateway/http/app.ts"))).toBe(true);
    expect(gatewayFiles.length).toBeGreaterThan(30);
    const cycles = findCycles(graph).filter((c) => c.some((f) => f.includes("/src/gateway/")));
    expect(cycles.map((c) => c.map((f) => relative(ROOT, f)))).toEqual([]);
  });

  test("nothing under methods/, http/ or ws/ imports the gateway object", () => {
    const graph = importGraph(join(ROOT, "src"));
    const gatewayObject = join(ROOT, "src/gateway/gateway.ts");
    const offenders = [...graph.entries()]
      .filter(([file, edges]) => /\/src\/gateway\/(methods|http|ws)\//.test(file) && edges.has(gatewayObject))
      .map(([file]) => relative(ROOT, file));
    expect(offenders).toEqual([]);
  });

  test("the walk finds a planted cycle, through `import type` and dynamic import()", () => {
    const dir = tempDir();
    mkdirSync(join(dir, "sub"));
    writeFileSync(join(dir, "a.ts"), 'import type { B } from "./sub/b.ts";\nexport type A = B;\n');
    writeFileSync(join(dir, "sub", "b.ts"), 'export type B = string;\nexport const load = () => import("../c.ts");\n');
    writeFileSync(join(dir, "c.ts"), '// import { x } from "./d.ts";\nexport { a } from "./a.ts";\n');
    writeFileSync(join(dir, "d.ts"), 'import { y } from "./c.ts";\nexport const x = y;\n');
    const cycles = findCycles(importGraph(dir)).map((c) => c.map((f) => relative(dir, f)));
    expect(cycles).toEqual([["a.ts", "c.ts", "sub/b.ts"]]);
  });
});
