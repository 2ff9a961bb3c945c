/** scripts/ci.ts runs the suite one area per step, so a failure names its area. */
import { expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { testAreas } from "../../scripts/ci.ts";

const ROOT = resolve(import.meta.dir, "../..");

test("slow suites get their own step; every file is in exactly one", () => {
  const files = [
    "test/config/write-crash.test.ts",
    "test/config/load.test.ts",
    "test/discovery/beacon.test.ts",
    "test/e2e/discovery-netns.test.ts",
    "test/e2e/cli.test.ts",
    "test/gateway/auth.test.ts",
  ];
  expect(testAreas(files)).toEqual([
    { name: "main", files: ["test/config/load.test.ts", "test/gateway/auth.test.ts"] },
    { name: "config crash", files: ["test/config/write-crash.test.ts"] },
    { name: "discovery", files: ["test/discovery/beacon.test.ts", "test/e2e/discovery-netns.test.ts"] },
    { name: "e2e", files: ["test/e2e/cli.test.ts"] },
  ]);
  // The slow suites named by the areas exist in this checkout.
  for (const f of ["test/config/write-crash.test.ts", "test/e2e/discovery-netns.test.ts", "test/e2e/discovery-faults.test.ts"]) {
    expect(existsSync(join(ROOT, f))).toBe(true);
  }
});
