/**
 * scripts/build.ts without compiling: the executable-header checks (synthetic ELF, Mach-O and PE
 * headers), the payload check, SHA256SUMS (verified with `sha256sum -c` when available), the
 * notices, the size table and the command-line errors. The compiled artifact itself is checked
 * in test/e2e/gateway-binary.test.ts.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  artifactName,
  BuildError,
  checkExecutableFormat,
  checkPayload,
  collectNotices,
  elfInterpreter,
  formatChecksums,
  main,
  NOTICES_TITLE,
  RELEASE_TARGETS,
  ROOT,
  runnerFor,
  sha256File,
  sizeTable,
  smokeVersion,
} from "../../scripts/build.ts";

const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), "openclaw-build-test-"));
  dirs.push(d);
  return d;
}
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A minimal 64-bit little-endian ELF header with one PT_INTERP program header. */
function elf(machine: number, interp: string | undefined): Buffer {
  const buf = Buffer.alloc(4096);
  buf.write("\x7fELF", 0, "latin1");
  buf[4] = 2; // ELFCLASS64
  buf[5] = 1; // little-endian
  buf[6] = 1;
  buf.writeUInt16LE(2, 16); // ET_EXEC
  buf.writeUInt16LE(machine, 18);
  buf.writeBigUInt64LE(64n, 0x20); // e_phoff
  buf.writeUInt16LE(56, 0x36); // e_phentsize
  buf.writeUInt16LE(interp === undefined ? 0 : 1, 0x38); // e_phnum
  if (interp !== undefined) {
    const at = 64;
    const strAt = 512;
    buf.writeUInt32LE(3, at); // PT_INTERP
    buf.writeBigUInt64LE(BigInt(strAt), at + 8);
    buf.writeBigUInt64LE(BigInt(interp.length + 1), at + 32);
    buf.write(`${interp}\0`, strAt, "latin1");
  }
  return buf;
}

function macho(cpu: number): Buffer {
  const buf = Buffer.alloc(4096);
  buf.writeUInt32LE(0xfeedfacf, 0);
  buf.writeUInt32LE(cpu, 4);
  return buf;
}

function pe(machine: number, subsystem = 3): Buffer {
  const buf = Buffer.alloc(4096);
  buf.write("MZ", 0, "latin1");
  const peAt = 0x80;
  buf.writeUInt32LE(peAt, 0x3c);
  buf.write("PE\0\0", peAt, "latin1");
  buf.writeUInt16LE(machine, peAt + 4);
  buf.writeUInt16LE(0x20b, peAt + 24); // PE32+
  buf.writeUInt16LE(subsystem, peAt + 24 + 68);
  return buf;
}

function file(content: Buffer | string, name = "bin"): string {
  const p = join(tempDir(), name);
  writeFileSync(p, content);
  return p;
}

const GOOD: Record<string, Buffer> = {
  "bun-linux-x64": elf(0x3e, "/lib64/ld-linux-x86-64.so.2"),
  "bun-linux-arm64": elf(0xb7, "/lib/ld-linux-aarch64.so.1"),
  "bun-linux-x64-musl": elf(0x3e, "/lib/ld-musl-x86_64.so.1"),
  "bun-linux-arm64-musl": elf(0xb7, "/lib/ld-musl-aarch64.so.1"),
  "bun-darwin-x64": macho(0x01000007),
  "bun-darwin-arm64": macho(0x0100000c),
  "bun-windows-x64": pe(0x8664),
};

describe("release targets and names", () => {
  test("seven targets with the file names the issue gives", () => {
    expect(RELEASE_TARGETS.map(artifactName)).toEqual([
      "openclaw-linux-x64",
      "openclaw-linux-arm64",
      "openclaw-linux-x64-musl",
      "openclaw-linux-arm64-musl",
      "openclaw-darwin-x64",
      "openclaw-darwin-arm64",
      "openclaw-windows-x64.exe",
    ]);
  });

  test("the host runs natively; other targets have no runner except arm64 under qemu", () => {
    expect(runnerFor("bun-linux-x64", "bun-linux-x64")).toEqual([]);
    expect(runnerFor("bun-darwin-arm64", "bun-linux-x64")).toBeUndefined();
    expect(runnerFor("bun-windows-x64", "bun-linux-x64")).toBeUndefined();
    const arm = runnerFor("bun-linux-arm64", "bun-linux-x64");
    if (arm !== undefined) expect(arm[0]).toMatch(/qemu-aarch64/);
  });
});

describe("executable header check", () => {
  for (const [target, header] of Object.entries(GOOD)) {
    test(`${target}: the right header passes, every other target's header fails`, () => {
      expect(() => checkExecutableFormat(file(header), target)).not.toThrow();
      for (const [other, otherHeader] of Object.entries(GOOD)) {
        if (other === target) continue;
        expect(() => checkExecutableFormat(file(otherHeader), target)).toThrow(BuildError);
      }
    });
  }

  test("reads the ELF interpreter", () => {
    expect(elfInterpreter(elf(0x3e, "/lib/ld-musl-x86_64.so.1"))).toBe("/lib/ld-musl-x86_64.so.1");
    expect(elfInterpreter(elf(0x3e, undefined))).toBeUndefined();
    expect(elfInterpreter(Buffer.alloc(10))).toBeUndefined();
  });

  test("a glibc binary labelled musl (and the reverse) fails, naming what was found", () => {
    expect(() => checkExecutableFormat(file(GOOD["bun-linux-x64"]), "bun-linux-x64-musl")).toThrow(/interpreter \/lib64\/ld-linux-x86-64\.so\.2 does not match bun-linux-x64-musl/);
    expect(() => checkExecutableFormat(file(GOOD["bun-linux-arm64-musl"]), "bun-linux-arm64")).toThrow(/does not match bun-linux-arm64$/);
  });

  test("a static ELF, a truncated file, an empty file and text all fail", () => {
    expect(() => checkExecutableFormat(file(elf(0x3e, undefined)), "bun-linux-x64")).toThrow(/interpreter none/);
    expect(() => checkExecutableFormat(file(GOOD["bun-linux-x64"].subarray(0, 40)), "bun-linux-x64")).toThrow(/40-byte file/);
    expect(() => checkExecutableFormat(file(Buffer.alloc(0)), "bun-linux-x64")).toThrow(/0-byte file/);
    expect(() => checkExecutableFormat(file("#!/bin/sh\necho hello\n".repeat(10)), "bun-linux-x64")).toThrow(BuildError);
  });

  test("a Windows GUI-subsystem or arm64 PE fails for bun-windows-x64", () => {
    expect(() => checkExecutableFormat(file(pe(0x8664, 2)), "bun-windows-x64")).toThrow(/subsystem 2/);
    expect(() => checkExecutableFormat(file(pe(0xaa64)), "bun-windows-x64")).toThrow(/machine 0xaa64/);
  });

  test("a missing file is an error, not a pass", () => {
    expect(() => checkExecutableFormat(join(tempDir(), "nope"), "bun-linux-x64")).toThrow(/ENOENT/);
  });
});

describe("payload check", () => {
  const id = "2026.9.6-abc1234";
  test("passes with the Bun payload marker, the build id and the notices", () => {
    const p = file(Buffer.concat([GOOD["bun-linux-x64"], Buffer.from(`xx${id}xx\n---- Bun! ----\n${NOTICES_TITLE}\n`)]));
    expect(() => checkPayload(p, id)).not.toThrow();
  });

  test("a bare runtime (no build id, no notices) fails and names what is missing", () => {
    const p = file(Buffer.concat([GOOD["bun-linux-x64"], Buffer.from("\n---- Bun! ----\n")]));
    expect(() => checkPayload(p, id)).toThrow(`lacks the build id ${id}, the embedded licenses/THIRD-PARTY-NOTICES.txt: not a complete openclaw build`);
  });

  test("a binary from another build fails", () => {
    const p = file(Buffer.from(`2026.9.6-0000000\n---- Bun! ----\n${NOTICES_TITLE}`));
    expect(() => checkPayload(p, id)).toThrow(/lacks the build id/);
  });

  test("finds strings that straddle the 8 MiB read window", () => {
    const big = Buffer.alloc(8 * 2 ** 20 + 100, 0x20);
    const marker = "---- Bun! ----";
    big.write(marker, 8 * 2 ** 20 - 5, "latin1");
    big.write(id, 10, "latin1");
    const p = file(big);
    expect(() => checkPayload(p, id, { notices: false })).not.toThrow();
  });

  test("the bun executable running this test is not an openclaw build", () => {
    expect(() => checkPayload(process.execPath, id)).toThrow(/lacks the build id/);
  });
});

describe("SHA256SUMS", () => {
  test("matches sha256sum -c", async () => {
    const dir = tempDir();
    const names = ["openclaw-linux-x64", "openclaw-windows-x64.exe", "openclaw-darwin-arm64"];
    for (const [i, n] of names.entries()) writeFileSync(join(dir, n), `artifact ${i}\n`.repeat(1000 * (i + 1)));
    const entries = await Promise.all(names.map(async (name) => ({ name, sha256: await sha256File(join(dir, name)) })));
    const text = formatChecksums(entries);
    expect(text.split("\n").filter(Boolean).map((l) => l.split("  ")[1])).toEqual([...names].sort());
    expect(text).toMatch(/^([0-9a-f]{64} {2}openclaw-[a-z0-9.-]+\n){3}$/);
    writeFileSync(join(dir, "SHA256SUMS"), text);
    const tool = Bun.which("sha256sum");
    if (!tool) {
      console.warn("skip: sha256sum not installed; checked the format only");
      return;
    }
    const ok = Bun.spawnSync([tool, "-c", "SHA256SUMS"], { cwd: dir, stdout: "pipe", stderr: "pipe", timeout: 10_000 });
    expect(ok.exitCode).toBe(0);
    expect(ok.stdout.toString()).toContain("openclaw-linux-x64: OK");
    // A changed file is caught.
    writeFileSync(join(dir, "openclaw-linux-x64"), "tampered\n");
    const bad = Bun.spawnSync([tool, "-c", "SHA256SUMS"], { cwd: dir, stdout: "pipe", stderr: "pipe", timeout: 10_000 });
    expect(bad.exitCode).not.toBe(0);
    expect(bad.stdout.toString()).toContain("openclaw-linux-x64: FAILED");
  });

  test("a malformed hash or a name with a newline is refused", () => {
    expect(() => formatChecksums([{ name: "a", sha256: "xyz" }])).toThrow(/bad sha256 for a/);
    expect(() => formatChecksums([{ name: "a\nb", sha256: "0".repeat(64) }])).toThrow(/file name not allowed/);
  });
});

describe("notices", () => {
  test("cover the Bun runtime (LGPL relink note) and every production dependency", () => {
    const text = collectNotices(ROOT, "test-build");
    expect(text.startsWith(`${NOTICES_TITLE}\n`)).toBe(true);
    expect(text).toContain(`Bun ${Bun.version} (runtime)`);
    expect(text).toContain("LGPL");
    const pkg = (require(join(ROOT, "package.json")) as { dependencies: Record<string, string> }).dependencies;
    for (const name of Object.keys(pkg)) expect(text).toMatch(new RegExp(`^${name.replace(/[/.]/g, "\\$&")}@\\S+ \\(`, "m"));
    // A transitive dependency too (multicast-dns → thunky).
    expect(text).toMatch(/^thunky@\S+ \(MIT\)$/m);
  });

  test("a dependency that is not installed is a clear error", () => {
    const root = tempDir();
    writeFileSync(join(root, "package.json"), JSON.stringify({ name: "x", version: "1.0.0", dependencies: { "surely-not-installed-pkg": "1" } }));
    mkdirSync(join(root, "node_modules", "bun-types", "docs", "project"), { recursive: true });
    writeFileSync(join(root, "node_modules", "bun-types", "docs", "project", "license.mdx"), "Bun itself is MIT-licensed.\n");
    expect(() => collectNotices(root)).toThrow("dependency surely-not-installed-pkg is not installed (run `bun install`)");
  });

  test("without Bun's licence document the build refuses", () => {
    const root = tempDir();
    writeFileSync(join(root, "package.json"), JSON.stringify({ name: "x", version: "1.0.0" }));
    expect(() => collectNotices(root)).toThrow(/license\.mdx is missing/);
  });
});

describe("size table", () => {
  test("one row per file, right-aligned sizes, a total", () => {
    const t = sizeTable([
      { target: "bun-linux-x64", path: "/d/openclaw-linux-x64", bytes: 112_000_000, checked: "ran --version natively" },
      { target: "bun-darwin-arm64", path: "/d/openclaw-darwin-arm64", bytes: 92_000_000, checked: "header + payload" },
    ]);
    const lines = t.split("\n");
    expect(lines[0]).toMatch(/^\| file +\| +bytes \| +MiB \| checked +\|$/);
    expect(lines[2]).toContain("| openclaw-linux-x64 ");
    expect(lines[2]).toContain("| 112,000,000 | 106.8 |");
    expect(lines[3]).toContain("|  92,000,000 |  87.7 |");
    expect(lines.at(-1)).toBe("total 2 files, 194.5 MiB");
  });
});

describe("command line", () => {
  test("an unknown target, --host with --target and an unknown flag exit 2 without building", async () => {
    const out = tempDir();
    expect(await main(["--target", "bun-plan9-mips", "--outdir", out])).toBe(2);
    expect(await main(["--host", "--target", "bun-linux-arm64", "--outdir", out])).toBe(2);
    expect(await main(["--frobnicate"])).toBe(2);
    expect(require("node:fs").readdirSync(out)).toEqual([]);
  });
});

describe("the --version smoke catches an unsafe binary", () => {
  test("a binary compiled with bunfig.toml autoloading on is refused", async () => {
    const dir = tempDir();
    const src = join(dir, "fake.ts");
    writeFileSync(src, 'console.log("OpenClaw 1.0.0 (fake-build)");\n');
    const outfile = join(dir, "fake-openclaw");
    // Default compile options: autoloadBunfig and autoloadDotenv are on (notes §0.1).
    const r = await Bun.build({ entrypoints: [src], compile: { outfile }, throw: false });
    expect(r.success).toBe(true);
    expect(() => smokeVersion(outfile, "fake-build", "1.0.0")).toThrow(/EVIL PRELOAD|loaded bunfig\.toml/);
  }, 30_000);

  test("the same program with autoloading off passes, and a wrong version line fails", async () => {
    const dir = tempDir();
    const src = join(dir, "fake.ts");
    writeFileSync(src, 'console.log("OpenClaw 1.0.0 (fake-build)");\n');
    const outfile = join(dir, "fake-openclaw");
    const r = await Bun.build({ entrypoints: [src], compile: { outfile, autoloadBunfig: false, autoloadDotenv: false }, throw: false });
    expect(r.success).toBe(true);
    expect(smokeVersion(outfile, "fake-build", "1.0.0")).toBe("OpenClaw 1.0.0 (fake-build)");
    expect(() => smokeVersion(outfile, "other-build", "1.0.0")).toThrow(/expected "OpenClaw 1\.0\.0 \(other-build\)"/);
  }, 30_000);
});
