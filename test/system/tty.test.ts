/**
 * isTerminal (src/system/tty.ts) answers like node:tty's isatty for every kind of stdout a
 * gateway meets: a pipe, /dev/null (a character device that is not a terminal), a regular file,
 * a closed descriptor, and a real pseudo-terminal (util-linux `script`).
 */
import { describe, expect, test } from "bun:test";
import { closeSync, openSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { isatty } from "node:tty";
import { isTerminal } from "../../src/system/tty.ts";
import { useTempDirs } from "../helpers/state-dir.ts";

const tempDir = useTempDirs("openclaw-tty-");
const MODULE = join(import.meta.dir, "../../src/system/tty.ts");
const SCRIPT = Bun.which("script");
/** A child that prints `<isTerminal(1)> <isatty(1)>`. */
const PROBE = `import { isTerminal } from ${JSON.stringify(MODULE)}; import { isatty } from "node:tty"; process.stderr.write(\`\${isTerminal(1)} \${isatty(1)}\\n\`);`;

function probe(stdout: "pipe" | "ignore" | number): string {
  const r = Bun.spawnSync([process.execPath, "-e", PROBE], { stdout, stderr: "pipe", env: { ...process.env, NO_COLOR: "1" } });
  expect(r.exitCode).toBe(0);
  return r.stderr.toString().trim();
}

describe("isTerminal", () => {
  test("a pipe is not a terminal", () => {
    expect(probe("pipe")).toBe("false false");
  });

  test("/dev/null is a character device but not a terminal", () => {
    expect(probe("ignore")).toBe("false false");
  });

  test("a regular file is not a terminal", () => {
    const fd = openSync(join(tempDir(), "out.txt"), "w");
    try {
      expect(probe(fd)).toBe("false false");
    } finally {
      closeSync(fd);
    }
  });

  test("a closed descriptor is not a terminal, as node:tty says", () => {
    const fd = openSync(join(tempDir(), "x"), "w");
    closeSync(fd);
    expect(isTerminal(fd)).toBe(false);
    expect(isatty(fd)).toBe(false);
  });

  test.skipIf(!SCRIPT)("a pseudo-terminal is a terminal (util-linux script)", () => {
    const out = join(tempDir(), "probe.txt");
    const quote = (s: string) => `'${s.replaceAll("'", "'\\''")}'`;
    const command = `${quote(process.execPath)} -e ${quote(PROBE)} 2>${quote(out)}`;
    const r = Bun.spawnSync([SCRIPT!, "-qec", command, "/dev/null"], { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
    expect(r.exitCode).toBe(0);
    expect(readFileSync(out, "utf8").trim()).toBe("true true");
  });
});
