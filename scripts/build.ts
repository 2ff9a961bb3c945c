#!/usr/bin/env bun
/**
 * Build standalone `openclaw` executables with `Bun.build({ compile })`.
 *
 *   bun scripts/build.ts                         host only: dist/openclaw-<os>-<arch> + dist/openclaw
 *   bun scripts/build.ts --target bun-linux-arm64 [--target …]   host + the named targets
 *   bun scripts/build.ts --all                   host + every release target
 *   bun scripts/build.ts --outdir /tmp/x         write somewhere else (tests use this)
 *
 * Stdout gets one JSON line per artifact (`{"target","path","bytes"}`); progress and errors go
 * to stderr. The host artifact is always built and smoke-run with `--version` from a scratch
 * directory holding a hostile `bunfig.toml` (a preload) and `.env`, which the binary must ignore
 * (autoloading is turned off, see notes §0.1). Cross targets download the Bun runtime for that
 * target from the npm registry (cached under ~/.bun/install/cache); they are only checked for the
 * right executable format, since they cannot run here.
 *
 * Exit code: 0 when every artifact was built (and the host one passed its smoke run), 1 otherwise.
 */
import {
  chmodSync,
  closeSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { isAbsolute, join, resolve } from "node:path";
import { parseArgs } from "node:util";

export const ROOT = resolve(import.meta.dir, "..");
export const ENTRY = join(ROOT, "src", "main.ts");

/** Release targets besides the host (`--all`). x64 is a single build since Bun 1.4 (notes §8). */
export const RELEASE_TARGETS = [
  "bun-linux-x64",
  "bun-linux-arm64",
  "bun-linux-x64-musl",
  "bun-linux-arm64-musl",
  "bun-darwin-arm64",
  "bun-darwin-x64",
  "bun-windows-x64",
] as const;

export type Target = Bun.Build.CompileTarget;

export interface Artifact {
  target: string;
  path: string;
  bytes: number;
}

function log(message: string): void {
  process.stderr.write(`[build] ${message}\n`);
}

/** True when the host C library is musl (Alpine and friends). */
function hostIsMusl(): boolean {
  if (process.platform !== "linux") return false;
  const report = (process as unknown as { report?: { getReport?: () => { header?: { glibcVersionRuntime?: string } } } }).report;
  try {
    const header = report?.getReport?.()?.header;
    if (header && typeof header.glibcVersionRuntime === "string") return false;
  } catch {}
  return ["/lib/ld-musl-x86_64.so.1", "/lib/ld-musl-aarch64.so.1"].some((p) => existsSync(p));
}

/** The compile target of the machine running this script, e.g. `bun-linux-x64`. */
export function hostTarget(): Target {
  const os = process.platform === "win32" ? "windows" : process.platform;
  return `bun-${os}-${process.arch}${hostIsMusl() ? "-musl" : ""}` as Target;
}

/** `bun-linux-x64-musl` → `openclaw-linux-x64-musl` (`.exe` on Windows). */
export function artifactName(target: string): string {
  const name = `openclaw-${target.replace(/^bun-/, "")}`;
  return target.includes("windows") ? `${name}.exe` : name;
}

export function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version?: string };
  if (!pkg.version) throw new Error("package.json has no version");
  return pkg.version;
}

/** `<version>-<short sha>`, or `<version>-nogit` outside a git checkout. */
export function buildId(version = packageVersion()): string {
  try {
    const r = Bun.spawnSync(["git", "rev-parse", "--short", "HEAD"], { cwd: ROOT, stdout: "pipe", stderr: "ignore", timeout: 10_000 });
    const sha = r.exitCode === 0 ? r.stdout.toString().trim() : "";
    return `${version}-${/^[0-9a-f]{4,40}$/.test(sha) ? sha : "nogit"}`;
  } catch {
    return `${version}-nogit`;
  }
}

/** Compile one target. Throws with the bundler's messages on any failure. */
export async function compileTarget(opts: { target?: Target; outfile: string; buildId: string }): Promise<Artifact> {
  const t0 = performance.now();
  let result: Bun.BuildOutput;
  try {
    result = await Bun.build({
      entrypoints: [ENTRY],
      compile: {
        ...(opts.target ? { target: opts.target } : {}),
        outfile: opts.outfile,
        autoloadBunfig: false,
        autoloadDotenv: false,
      },
      minify: true,
      bytecode: true,
      format: "esm",
      // Lazy subcommands become separate chunks inside the binary; without splitting, every
      // node: builtin any of them imports is loaded at startup (`--version` 13 ms → 5 ms).
      splitting: true,
      define: {
        OPENCLAW_BUILD_ID: JSON.stringify(opts.buildId),
        "process.env.NODE_ENV": JSON.stringify("production"),
      },
      throw: false,
    });
  } catch (err) {
    throw new Error(`Bun.build threw for ${opts.target ?? "host"}: ${(err as Error).message ?? err}`);
  }
  const messages = result.logs.map((m) => `${m.level}: ${m.message}`);
  // A failed bytecode pass is only a warning and leaves a binary that crashes (notes §0.4).
  const fatal = result.logs.filter((m) => m.level === "error" || /bytecode/i.test(m.message));
  if (!result.success || fatal.length > 0) {
    throw new Error(`build failed for ${opts.target ?? "host"}:\n  ${messages.join("\n  ") || "(no messages)"}`);
  }
  for (const m of messages) log(m);
  if (!existsSync(opts.outfile)) throw new Error(`build reported success but ${opts.outfile} does not exist`);
  const bytes = statSync(opts.outfile).size;
  if (bytes <= 0) throw new Error(`${opts.outfile} is empty`);
  log(`${opts.target ?? "host"} → ${opts.outfile} (${(bytes / 1e6).toFixed(1)} MB, ${Math.round(performance.now() - t0)} ms)`);
  return { target: opts.target ?? hostTarget(), path: opts.outfile, bytes };
}

/** The executable header must match the target's OS and CPU (ELF / Mach-O / PE). */
export function checkExecutableFormat(path: string, target: string): void {
  const fd = openSync(path, "r");
  const head = Buffer.alloc(512);
  try {
    readSync(fd, head, 0, head.length, 0);
  } finally {
    closeSync(fd);
  }
  const arm = target.includes("arm64");
  let found: string;
  let ok: boolean;
  if (target.includes("windows")) {
    const peOffset = head.readUInt32LE(0x3c);
    const machine = peOffset + 6 <= head.length ? head.readUInt16LE(peOffset + 4) : 0;
    found = `MZ=${head.toString("latin1", 0, 2)} PE machine 0x${machine.toString(16)}`;
    ok = head.toString("latin1", 0, 2) === "MZ" && machine === (arm ? 0xaa64 : 0x8664);
  } else if (target.includes("darwin")) {
    const magic = head.readUInt32LE(0);
    const cpu = head.readUInt32LE(4);
    found = `Mach-O magic 0x${magic.toString(16)} cputype 0x${cpu.toString(16)}`;
    ok = magic === 0xfeedfacf && cpu === (arm ? 0x0100000c : 0x01000007);
  } else {
    const machine = head.readUInt16LE(18);
    found = `ELF magic ${head.toString("hex", 0, 4)} e_machine 0x${machine.toString(16)}`;
    ok = head.toString("hex", 0, 4) === "7f454c46" && machine === (arm ? 0xb7 : 0x3e);
  }
  if (!ok) throw new Error(`${path}: ${found} does not match ${target}`);
}

/**
 * Run `<binary> --version` from a scratch cwd that holds a preloading bunfig.toml and a .env.
 * Returns the version line; throws if the output is wrong or anything from the cwd was loaded.
 */
export function smokeVersion(binary: string, expectedBuildId: string, version = packageVersion()): string {
  const cwd = mkdtempSync(join(tmpdir(), "openclaw-build-smoke-"));
  try {
    const marker = join(cwd, "PRELOAD_RAN");
    writeFileSync(join(cwd, "bunfig.toml"), 'preload = ["./evil.ts"]\n');
    writeFileSync(
      join(cwd, "evil.ts"),
      `require("node:fs").writeFileSync(${JSON.stringify(marker)}, "1");\nconsole.log("EVIL PRELOAD");\n`,
    );
    writeFileSync(join(cwd, ".env"), "OPENCLAW_GATEWAY_TOKEN=from-dotenv-must-be-ignored\n");
    const env = { ...process.env };
    for (const k of ["BUN_OPTIONS", "BUN_BE_BUN", "NODE_OPTIONS"]) delete env[k];
    const r = Bun.spawnSync([binary, "--version"], { cwd, env, stdout: "pipe", stderr: "pipe", timeout: 20_000 });
    const out = r.stdout.toString();
    const err = r.stderr.toString();
    if (r.exitCode !== 0) throw new Error(`${binary} --version exited ${r.exitCode ?? r.signalCode}\n${out}${err}`);
    const expected = `OpenClaw ${version} (${expectedBuildId})`;
    if (out.trim() !== expected) throw new Error(`${binary} --version printed ${JSON.stringify(out)}, expected ${JSON.stringify(expected)}`);
    if (existsSync(marker) || out.includes("EVIL") || err.includes("EVIL")) {
      throw new Error(`${binary} loaded bunfig.toml from its working directory (autoloadBunfig must be false)`);
    }
    return out.trim();
  } finally {
    rmSync(cwd, { recursive: true, force: true });
  }
}

export interface BuildOptions {
  outdir: string;
  /** Extra targets besides the host. */
  targets: string[];
  /** Also write `<outdir>/openclaw` (a copy of the host artifact). Default true. */
  alias?: boolean;
  onArtifact?: (a: Artifact) => void;
}

/** Build the host artifact (always) plus `targets`; smoke-run the host one. */
export async function build(opts: BuildOptions): Promise<{ artifacts: Artifact[]; buildId: string; host: Artifact }> {
  const id = buildId();
  const host = hostTarget();
  mkdirSync(opts.outdir, { recursive: true });
  const emit = (a: Artifact) => {
    artifacts.push(a);
    opts.onArtifact?.(a);
  };
  const artifacts: Artifact[] = [];

  // Host: no `target`, so Bun embeds the running runtime (no download).
  const hostArtifact = await compileTarget({ outfile: join(opts.outdir, artifactName(host)), buildId: id });
  const line = smokeVersion(hostArtifact.path, id);
  log(`smoke: ${line}`);
  emit(hostArtifact);
  if (opts.alias !== false) {
    const alias = join(opts.outdir, process.platform === "win32" ? "openclaw.exe" : "openclaw");
    rmSync(alias, { force: true });
    copyFileSync(hostArtifact.path, alias);
    chmodSync(alias, 0o755);
    emit({ target: host, path: alias, bytes: statSync(alias).size });
  }

  const extra = [...new Set(opts.targets)].filter((t) => t !== host);
  for (const target of extra) {
    const outfile = join(opts.outdir, artifactName(target));
    const a = await compileTarget({ target: target as Target, outfile, buildId: id });
    checkExecutableFormat(a.path, target);
    emit(a);
  }
  return { artifacts, buildId: id, host: hostArtifact };
}

async function main(): Promise<number> {
  let values: { target?: string[]; all?: boolean; outdir?: string; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: process.argv.slice(2),
      options: {
        target: { type: "string", multiple: true },
        all: { type: "boolean" },
        outdir: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    log((err as Error).message);
    return 2;
  }
  if (values.help) {
    process.stderr.write(
      "usage: bun scripts/build.ts [--target bun-<os>-<arch>[-musl]]... [--all] [--outdir dir]\n" +
        `targets: ${RELEASE_TARGETS.join(", ")}\n`,
    );
    return 0;
  }
  const known = new Set<string>([...RELEASE_TARGETS, hostTarget(), "bun-windows-arm64", "bun-linux-x64-baseline-musl"]);
  const targets = [...(values.all ? RELEASE_TARGETS : []), ...(values.target ?? [])];
  const unknown = targets.filter((t) => !known.has(t));
  if (unknown.length > 0) {
    log(`unknown target(s): ${unknown.join(", ")} (known: ${[...known].join(", ")})`);
    return 2;
  }
  const outdir = values.outdir ? (isAbsolute(values.outdir) ? values.outdir : resolve(process.cwd(), values.outdir)) : join(ROOT, "dist");
  try {
    await build({ outdir, targets, onArtifact: (a) => process.stdout.write(`${JSON.stringify(a)}\n`) });
    return 0;
  } catch (err) {
    log(`FAILED: ${(err as Error).message ?? err}`);
    return 1;
  }
}

if (import.meta.main) process.exit(await main());
