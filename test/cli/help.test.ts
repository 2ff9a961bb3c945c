/**
 * `openclaw --help` lists every command (nested and lazily imported ones too); `--version`
 * prints the same line with or without root options; `licenses` from source explains itself.
 */
import { describe, expect, test } from "bun:test";
import { defineCommand } from "citty";
import { join } from "node:path";
import { formatCommandTree, listCommands } from "../../src/cli/help.ts";
import { rootCommand } from "../../src/cli/root.ts";
import { VERSION } from "../../src/version.ts";
import { runToExit } from "../../scripts/lib/gateway-child.ts";

const MAIN = join(import.meta.dir, "..", "..", "src", "main.ts");
const cli = (args: string[]) => runToExit({ command: [process.execPath, MAIN], args, env: { NO_COLOR: "1" }, timeoutMs: 15_000 });

describe("command tree", () => {
  test("walks lazy, nested subcommands and skips hidden ones", async () => {
    const tree = defineCommand({
      meta: { name: "x" },
      subCommands: {
        a: () => Promise.resolve(defineCommand({ meta: { description: "A" }, subCommands: { b: defineCommand({ meta: { description: "B" } }) } })),
        secret: defineCommand({ meta: { description: "hidden", hidden: true } }),
        c: defineCommand({ meta: { description: "C" } }),
      },
    });
    const entries = await listCommands(tree);
    expect(entries).toEqual([
      { path: "a", description: "A" },
      { path: "a b", description: "B" },
      { path: "c", description: "C" },
    ]);
    expect(formatCommandTree("x", entries).split("\n")).toEqual(["ALL COMMANDS", "", "  x a      A", "  x a b    B", "  x c      C"]);
  });

  test("a cycle in the tree is cut at the depth bound", async () => {
    const loop: any = defineCommand({ meta: { description: "L" }, subCommands: { again: () => loop } });
    const entries = await listCommands(loop, [], 3);
    expect(entries.map((e) => e.path)).toEqual(["again", "again again", "again again again"]);
  });

  test("`openclaw --help` prints every command of the real tree", async () => {
    const r = await cli(["--help"]);
    expect(r.exitCode).toBe(0);
    const entries = await listCommands(rootCommand);
    expect(entries.length).toBeGreaterThanOrEqual(3);
    for (const e of entries) expect(r.stdout).toContain(`  openclaw ${e.path} `);
  });

  test("subcommand help stays citty's usage (no tree)", async () => {
    const r = await cli(["gateway", "--help"]);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toContain("--port");
    expect(r.stdout).not.toContain("ALL COMMANDS");
  });
});

describe("--version", () => {
  test("bare and after root options print the same CalVer line", async () => {
    for (const args of [["--version"], ["-v"], ["--dev", "--version"], ["--profile", "x", "-V"]]) {
      const r = await cli(args);
      expect(r.exitCode).toBe(0);
      expect(r.stdout.trim()).toBe(`OpenClaw ${VERSION} (source)`);
    }
  });
});

describe("licenses from source", () => {
  test("says nothing is embedded and where the built notices go (exit 1)", async () => {
    const r = await cli(["licenses"]);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain("No licence notices are embedded: running from source.");
  });
});
