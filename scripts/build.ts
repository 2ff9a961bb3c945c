#!/usr/bin/env bun
/**
 * Build the standalone `openclaw` executables with `Bun.build({ compile })`.
 *
 *   bun run build                                every release target (the seven files below)
 *   bun scripts/build.ts --host                  the host target only (fast; tests and benches)
 *   bun scripts/build.ts --target bun-linux-arm64 [--target …]   host + the named targets
 *   bun scripts/build.ts --outdir /tmp/x         write somewhere else (default dist/)
 *   bun scripts/build.ts --json                  stdout: one JSON line per artifact, no table
 *
 * Release files: openclaw-linux-x64, -linux-arm64, -linux-x64-musl, -linux-arm64-musl,
 * -darwin-x64, -darwin-arm64, -windows-x64.exe, plus `openclaw` (a copy of the host artifact),
 * `SHA256SUMS` (`sha256sum -c` format, release files only) and `THIRD-PARTY-NOTICES.txt`.
 *
 * Every artifact is compiled in production mode with bunfig.toml/.env autoloading off, bytecode
 * as ESM, the version and build id injected, and the licence notices embedded as an asset
 * (`licenses/THIRD-PARTY-NOTICES.txt`, printed by `openclaw licenses`). Startup is tuned with a
 * raised JIT policy until the gateway listens and a bytecode layout profile recorded by running
 * a first host build as a gateway (start, `health`, SIGTERM; a failure there fails the build).
 * Then each artifact is checked, and the build fails (exit 1) on the first broken one:
 *   - the executable header matches the target (ELF machine + glibc/musl interpreter, Mach-O
 *     CPU type, PE machine + console subsystem);
 *   - the file carries Bun's standalone payload with this build id and the embedded notices
 *     (a bare runtime, a truncated file or a stale bundle fails);
 *   - where it can run here, `--version` is run from a scratch directory holding a preloading
 *     bunfig.toml and a .env, and must print `OpenClaw <version> (<build id>)` and load neither:
 *     natively for the host target, under `qemu-aarch64-static` for linux-arm64 when installed.
 *
 * Cross targets download the Bun runtime for that target from the npm registry at build time
 * (cached under ~/.bun/install/cache); nothing is fetched when the binary runs.
 * Progress and errors go to stderr; stdout gets the size table (or JSON lines with --json).
 * Exit code: 0 ok, 1 build or check failed, 2 usage error.
 */
import {
  chmodSync,
  closeSync,
  copyFileSync,
  existsSync,
  fstatSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, isAbsolute, join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { STARTUP_JIT_POLICY } from "../src/gateway/jit-policy.ts";

export const ROOT = resolve(import.meta.dir, "..");
export const ENTRY = join(ROOT, "src", "main.ts");

/** The seven release targets. x64 is a single build since Bun 1.4 (notes §8). */
export const RELEASE_TARGETS = [
  "bun-linux-x64",
  "bun-linux-arm64",
  "bun-linux-x64-musl",
  "bun-linux-arm64-musl",
  "bun-darwin-x64",
  "bun-darwin-arm64",
  "bun-windows-x64",
] as const;

/**
 * Tier-up thresholds × this until the gateway listens (then `INTERACTIVE_JIT_POLICY` in
 * src/gateway/jit-policy.ts): run-once startup code (module init, building ~650 zod schemas, config
 * loading) stays in the interpreter, so a started gateway has JIT-compiled nothing and the
 * baseline JIT's code and memory are never paged in until real load arrives. Short CLI commands
 * keep it all along. With ×8 here (and ×1 after listening) a few zod constructors still reached
 * the baseline tier during startup; `bun run bench` measured idle RSS 47.1 MB then, 44.1 MB with
 * ×1000 and ×8 (scripts/bench/results/bench-2026-11-22-fb6b961.json, -658b9fb.json).
 */
export const JIT_POLICY = STARTUP_JIT_POLICY;

/** Name of the embedded notices asset, as `Bun.embeddedFiles` reports it. */
export const NOTICES_ASSET = "licenses/THIRD-PARTY-NOTICES.txt";
/** First line of the notices file; also how the payload check recognises the embedded copy. */
export const NOTICES_TITLE = "Third-party software in the openclaw executable";

export type Target = Bun.Build.CompileTarget;

export interface Artifact {
  target: string;
  path: string;
  bytes: number;
  /** Hex SHA-256 of the file (release files; not computed for the `openclaw` alias). */
  sha256?: string;
  /** How the artifact was checked, e.g. "ran --version natively". */
  checked: string;
}

export class BuildError extends Error {
  override name = "BuildError";
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
  if (!pkg.version) throw new BuildError("package.json has no version");
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

// --- licence notices ------------------------------------------------------------------------------

const LICENSE_FILES = /^(licen[sc]e|copying|notice)(\.(md|txt|markdown))?$/i;

interface PackageJson {
  name?: string;
  version?: string;
  license?: string | { type?: string };
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
}

/** Where `name` resolves from `fromDir` (node_modules lookup up the tree), or undefined. */
function packageDir(name: string, fromDir: string): string | undefined {
  for (let dir = fromDir; ; dir = dirname(dir)) {
    const candidate = join(dir, "node_modules", name);
    if (existsSync(join(candidate, "package.json"))) return candidate;
    if (dirname(dir) === dir) return undefined;
  }
}

/**
 * The text of THIRD-PARTY-NOTICES.txt: the Bun runtime's licence (MIT; JavaScriptCore/WebKit
 * LGPL-2 with the relink instructions; the statically linked libraries), then every production
 * dependency of package.json, transitively, with its licence file. Read from node_modules at
 * build time; throws if Bun's licence document or a dependency is missing.
 */
export function collectNotices(root = ROOT, id = "source"): string {
  const rootPkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as PackageJson;
  const bunLicense = join(root, "node_modules", "bun-types", "docs", "project", "license.mdx");
  if (!existsSync(bunLicense)) throw new BuildError(`${bunLicense} is missing (run \`bun install\`); the notices need Bun's licence`);
  const bunText = readFileSync(bunLicense, "utf8").replace(/^---\n[\s\S]*?\n---\n/, "").trim();

  const seen = new Map<string, { pkg: PackageJson; dir: string }>();
  const queue: Array<{ name: string; from: string }> = Object.keys(rootPkg.dependencies ?? {}).map((name) => ({ name, from: root }));
  for (let guard = 0; queue.length > 0 && guard < 10_000; guard++) {
    const { name, from } = queue.shift()!;
    const dir = packageDir(name, from);
    if (!dir) throw new BuildError(`dependency ${name} is not installed (run \`bun install\`)`);
    const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as PackageJson;
    const key = `${pkg.name ?? name}@${pkg.version ?? "?"}`;
    if (seen.has(key)) continue;
    seen.set(key, { pkg, dir });
    for (const dep of Object.keys(pkg.dependencies ?? {})) queue.push({ name: dep, from: dir });
    for (const dep of Object.keys(pkg.optionalDependencies ?? {})) if (packageDir(dep, dir)) queue.push({ name: dep, from: dir });
  }

  const rule = "=".repeat(78);
  const parts = [
    NOTICES_TITLE,
    `openclaw ${rootPkg.version ?? "?"} (build ${id}) bundles the Bun ${Bun.version} runtime and the JavaScript packages below.`,
    "",
    rule,
    `Bun ${Bun.version} (runtime)`,
    rule,
    bunText,
  ];
  for (const key of [...seen.keys()].sort()) {
    const { pkg, dir } = seen.get(key)!;
    const license = typeof pkg.license === "string" ? pkg.license : (pkg.license?.type ?? "unspecified");
    parts.push("", rule, `${key} (${license})`, rule);
    const files = readdirSync(dir).filter((f) => LICENSE_FILES.test(f)).sort();
    if (files.length === 0) parts.push(`(no licence file in the package; package.json says ${license})`);
    for (const f of files) parts.push(readFileSync(join(dir, f), "utf8").trim());
  }
  return `${parts.join("\n")}\n`;
}

// --- compile --------------------------------------------------------------------------------------

/** Compile one target. Throws with the bundler's messages on any failure. */
export async function compileTarget(opts: {
  target?: Target;
  outfile: string;
  buildId: string;
  /** Directories embedded under their base name (`compile.assets`). */
  assets?: string[];
  /** Profiles from `recordBytecodeOrder`, most important first (profile-guided bytecode layout). */
  bytecodeOrder?: string[];
}): Promise<Omit<Artifact, "checked">> {
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
        ...(opts.assets && opts.assets.length > 0 ? { assets: opts.assets } : {}),
        ...(opts.bytecodeOrder && opts.bytecodeOrder.length > 0 ? { bytecodeOrder: opts.bytecodeOrder } : {}),
        jitPolicy: JIT_POLICY,
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
    throw new BuildError(`Bun.build threw for ${opts.target ?? "host"}: ${(err as Error).message ?? err}`);
  }
  const messages = result.logs.map((m) => `${m.level}: ${m.message}`);
  // A failed bytecode pass is only a warning and leaves a binary that crashes (notes §0.4).
  const fatal = result.logs.filter((m) => m.level === "error" || /bytecode/i.test(m.message));
  if (!result.success || fatal.length > 0) {
    throw new BuildError(`build failed for ${opts.target ?? "host"}:\n  ${messages.join("\n  ") || "(no messages)"}`);
  }
  for (const m of messages) log(m);
  if (!existsSync(opts.outfile)) throw new BuildError(`build reported success but ${opts.outfile} does not exist`);
  const bytes = statSync(opts.outfile).size;
  if (bytes <= 0) throw new BuildError(`${opts.outfile} is empty`);
  log(`${opts.target ?? "host"} → ${opts.outfile} (${(bytes / 1e6).toFixed(1)} MB, ${Math.round(performance.now() - t0)} ms)`);
  return { target: opts.target ?? hostTarget(), path: opts.outfile, bytes };
}

// --- checks ---------------------------------------------------------------------------------------

function readHead(path: string, length: number): Buffer {
  const fd = openSync(path, "r");
  try {
    const size = fstatSync(fd).size;
    const head = Buffer.alloc(Math.min(length, size));
    readSync(fd, head, 0, head.length, 0);
    return head;
  } finally {
    closeSync(fd);
  }
}

/** The PT_INTERP string of a 64-bit little-endian ELF file, or undefined (static / not found). */
export function elfInterpreter(head: Buffer): string | undefined {
  if (head.length < 64) return undefined;
  const phoff = Number(head.readBigUInt64LE(0x20));
  const phentsize = head.readUInt16LE(0x36);
  const phnum = head.readUInt16LE(0x38);
  for (let i = 0; i < phnum && i < 64; i++) {
    const at = phoff + i * phentsize;
    if (at + 56 > head.length) return undefined;
    if (head.readUInt32LE(at) !== 3) continue; // PT_INTERP
    const offset = Number(head.readBigUInt64LE(at + 8));
    const size = Number(head.readBigUInt64LE(at + 32));
    if (offset + size > head.length || size === 0 || size > 4096) return undefined;
    return head.toString("latin1", offset, offset + size).replace(/\0+$/, "");
  }
  return undefined;
}

/** The program loader each Linux target must name (glibc vs musl, per CPU). */
const ELF_INTERPRETERS: Record<string, string> = {
  x64: "/lib64/ld-linux-x86-64.so.2",
  arm64: "/lib/ld-linux-aarch64.so.1",
  "x64-musl": "/lib/ld-musl-x86_64.so.1",
  "arm64-musl": "/lib/ld-musl-aarch64.so.1",
};

/**
 * The executable header must match the target: ELF class/machine and a glibc or musl loader,
 * Mach-O 64-bit CPU type, or PE machine with the console subsystem. Throws a BuildError naming
 * what was found.
 */
export function checkExecutableFormat(path: string, target: string): void {
  const head = readHead(path, 8192);
  const arm = target.includes("arm64");
  let found: string;
  let ok: boolean;
  if (head.length < 64) {
    found = `${head.length}-byte file`;
    ok = false;
  } else if (target.includes("windows")) {
    const peOffset = head.readUInt32LE(0x3c);
    const hasPe = peOffset + 0x5e <= head.length && head.toString("latin1", peOffset, peOffset + 4) === "PE\0\0";
    const machine = hasPe ? head.readUInt16LE(peOffset + 4) : 0;
    // Optional header starts at peOffset + 24; Subsystem is at +68 in PE32+ (3 = console).
    const subsystem = hasPe ? head.readUInt16LE(peOffset + 24 + 68) : 0;
    found = `MZ=${head.toString("latin1", 0, 2)} PE=${hasPe} machine 0x${machine.toString(16)} subsystem ${subsystem}`;
    ok = head.toString("latin1", 0, 2) === "MZ" && hasPe && machine === (arm ? 0xaa64 : 0x8664) && subsystem === 3;
  } else if (target.includes("darwin")) {
    const magic = head.readUInt32LE(0);
    const cpu = head.readUInt32LE(4);
    found = `Mach-O magic 0x${magic.toString(16)} cputype 0x${cpu.toString(16)}`;
    ok = magic === 0xfeedfacf && cpu === (arm ? 0x0100000c : 0x01000007);
  } else {
    const machine = head.readUInt16LE(18);
    const interp = elfInterpreter(head);
    const expectedInterp = ELF_INTERPRETERS[`${arm ? "arm64" : "x64"}${target.includes("musl") ? "-musl" : ""}`];
    found = `ELF magic ${head.toString("hex", 0, 4)} class ${head[4]} e_machine 0x${machine.toString(16)} interpreter ${interp ?? "none"}`;
    ok =
      head.toString("hex", 0, 4) === "7f454c46" &&
      head[4] === 2 && // 64-bit
      head[5] === 1 && // little-endian
      machine === (arm ? 0xb7 : 0x3e) &&
      interp === expectedInterp;
  }
  if (!ok) throw new BuildError(`${path}: ${found} does not match ${target}`);
}

/** Byte offset of `needle` in the file, scanning in 8 MiB windows; -1 if absent. */
function findInFile(path: string, needle: string): number {
  const pattern = Buffer.from(needle, "utf8");
  const fd = openSync(path, "r");
  try {
    const size = fstatSync(fd).size;
    const window = 8 * 2 ** 20;
    const buf = Buffer.alloc(window + pattern.length);
    for (let pos = 0; pos < size; pos += window) {
      const n = readSync(fd, buf, 0, buf.length, pos);
      const at = buf.subarray(0, n).indexOf(pattern);
      if (at >= 0) return pos + at;
    }
    return -1;
  } finally {
    closeSync(fd);
  }
}

/**
 * The file must carry Bun's standalone payload with our bundle: the build id injected by this
 * build, and the embedded notices. A bare Bun runtime, a truncated copy or a binary from another
 * build fails here.
 */
export function checkPayload(path: string, expectedBuildId: string, opts: { notices?: boolean } = {}): void {
  const missing: string[] = [];
  if (findInFile(path, "---- Bun! ----") < 0) missing.push("Bun's standalone payload marker");
  if (findInFile(path, expectedBuildId) < 0) missing.push(`the build id ${expectedBuildId}`);
  if (opts.notices !== false && findInFile(path, NOTICES_TITLE) < 0) missing.push(`the embedded ${NOTICES_ASSET}`);
  if (missing.length > 0) throw new BuildError(`${path} lacks ${missing.join(", ")}: not a complete openclaw build`);
}

/** How to run a binary of `target` on this machine: [] natively, a qemu prefix, or undefined. */
export function runnerFor(target: string, host: string = hostTarget()): string[] | undefined {
  if (target === host) return [];
  if (host === "bun-linux-x64" && target === "bun-linux-arm64") {
    const qemu = qemuAarch64();
    if (qemu) return qemu;
  }
  return undefined;
}

/** `qemu-aarch64-static -L <sysroot>` when qemu-user-static and an arm64 glibc sysroot exist. */
export function qemuAarch64(): string[] | undefined {
  const qemu = Bun.which("qemu-aarch64-static") ?? Bun.which("qemu-aarch64");
  if (!qemu) return undefined;
  const sysroot = ["/usr/aarch64-linux-gnu", "/"].find((d) => existsSync(join(d, "lib", "ld-linux-aarch64.so.1")));
  if (!sysroot) return undefined;
  return [qemu, "-L", sysroot];
}

/** Why `runnerFor` found no way to run `target` here (for the size table). */
export function notRunnableReason(target: string, host: string = hostTarget()): string {
  if (host === "bun-linux-x64" && target === "bun-linux-arm64") {
    return "not run: needs qemu-aarch64-static and libc6-arm64-cross (.ci/run installs both)";
  }
  return `not run: cannot execute ${target} on ${host}`;
}

/**
 * Run `<runner> <binary> --version` from a scratch cwd that holds a preloading bunfig.toml and a
 * .env. Returns the version line; throws if the output is wrong or anything from the cwd was
 * loaded.
 */
export function smokeVersion(binary: string, expectedBuildId: string, version = packageVersion(), runner: string[] = []): string {
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
    const r = Bun.spawnSync([...runner, binary, "--version"], { cwd, env, stdout: "pipe", stderr: "pipe", timeout: 30_000 });
    const out = r.stdout.toString();
    const err = r.stderr.toString();
    if (r.exitCode !== 0) throw new BuildError(`${binary} --version exited ${r.exitCode ?? r.signalCode}\n${out}${err}`);
    const expected = `OpenClaw ${version} (${expectedBuildId})`;
    if (out.trim() !== expected) throw new BuildError(`${binary} --version printed ${JSON.stringify(out)}, expected ${JSON.stringify(expected)}`);
    if (existsSync(marker) || out.includes("EVIL") || err.includes("EVIL")) {
      throw new BuildError(`${binary} loaded bunfig.toml from its working directory (autoloadBunfig must be false)`);
    }
    return out.trim();
  } finally {
    rmSync(cwd, { recursive: true, force: true });
  }
}

/** All checks for one artifact; returns how it was checked. Throws BuildError when broken. */
export function verifyArtifact(path: string, target: string, expectedBuildId: string, opts: { notices?: boolean } = {}): string {
  checkExecutableFormat(path, target);
  checkPayload(path, expectedBuildId, opts);
  const runner = runnerFor(target);
  if (!runner) return `header + payload; ${notRunnableReason(target)}`;
  const line = smokeVersion(path, expectedBuildId, packageVersion(), runner);
  log(`smoke ${artifactName(target)}: ${line}`);
  return runner.length === 0 ? "ran --version natively" : `ran --version under ${basename(runner[0])}`;
}

// --- profile-guided bytecode layout ---------------------------------------------------------------

/**
 * Run the freshly compiled host binary the way the gateway is used and record which functions it
 * loads (`BUN_BYTECODE_ORDER_OUT`): a start with a config present and a first run that writes
 * one, each answering one `health` RPC and stopping on SIGTERM. The profiles let Bun lay that
 * bytecode out together at the front, so the binary reads and keeps less of itself (notes on
 * `--bytecode-order` in Bun's executables docs). Any failure here means the binary cannot run the
 * gateway, which fails the build. Returns the profile paths, most important first.
 */
export async function recordBytecodeOrder(binary: string, workDir: string): Promise<string[]> {
  const { GatewayClient } = await import("../src/protocol/client.ts");
  const { readConfig, spawnGateway, writeTokenConfig } = await import("./lib/gateway-child.ts");
  const { freePort, waitForPort, within } = await import("./lib/proc.ts");
  const profiles: string[] = [];
  for (const scenario of ["warm", "first-run"] as const) {
    const stateDir = mkdtempSync(join(workDir, `profile-${scenario}-`));
    const profile = join(workDir, `${scenario}.order`);
    const token = "build-profile-token-0123456789abcdef";
    if (scenario === "warm") writeTokenConfig(stateDir, token);
    const port = await freePort();
    const child = spawnGateway({ command: [binary], port, stateDir, cwd: stateDir, env: { HOME: stateDir, BUN_BYTECODE_ORDER_OUT: profile } });
    try {
      await waitForPort(port, { timeoutMs: 20_000, exited: child.proc.exited });
      const useToken = scenario === "warm" ? token : readConfig(stateDir).gateway?.auth?.token;
      const client = await GatewayClient.connect({ url: `ws://127.0.0.1:${port}`, token: useToken, connectTimeoutMs: 10_000, requestTimeoutMs: 10_000 });
      const health = await client.request<{ ok?: boolean }>("health");
      await within(client.close(), 2_000, undefined);
      if (health.ok !== true) throw new BuildError(`health answered ${JSON.stringify(health).slice(0, 200)}`);
      const code = await child.stop(10_000);
      if (code !== 0) throw new BuildError(`exit ${code ?? "by SIGKILL"} after SIGTERM`);
      if (!existsSync(profile) || statSync(profile).size === 0) throw new BuildError(`no bytecode-order profile written to ${profile}`);
      profiles.push(profile);
    } catch (e) {
      await child.stop(2_000);
      await within(Promise.all([child.stdout.done, child.stderr.done]), 1_000, undefined);
      const tail = child.output().trim().split("\n").slice(-8).join("\n");
      throw new BuildError(`${binary}: the ${scenario} gateway profile run failed: ${(e as Error).message}${tail ? `\n${tail}` : ""}`);
    } finally {
      rmSync(stateDir, { recursive: true, force: true });
    }
  }
  return profiles;
}

// --- checksums and the table ----------------------------------------------------------------------

export async function sha256File(path: string): Promise<string> {
  const hasher = new Bun.CryptoHasher("sha256");
  for await (const chunk of Bun.file(path).stream()) hasher.update(chunk);
  return hasher.digest("hex");
}

/** `sha256sum -c` format: `<64 hex>  <file name>`, one line per file, sorted by name. */
export function formatChecksums(entries: Array<{ name: string; sha256: string }>): string {
  for (const e of entries) {
    if (!/^[0-9a-f]{64}$/.test(e.sha256)) throw new BuildError(`bad sha256 for ${e.name}: ${e.sha256}`);
    if (e.name.includes("\n") || e.name.includes("\\")) throw new BuildError(`file name not allowed in SHA256SUMS: ${JSON.stringify(e.name)}`);
  }
  return [...entries]
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .map((e) => `${e.sha256}  ${e.name}\n`)
    .join("");
}

/** Write atomically (temp + rename) so a failed build never leaves a half-written file. */
function writeAtomic(path: string, text: string): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}

export function sizeTable(artifacts: Artifact[]): string {
  const rows = artifacts.map((a) => [basename(a.path), a.bytes.toLocaleString("en-US"), (a.bytes / 2 ** 20).toFixed(1), a.checked]);
  const head = ["file", "bytes", "MiB", "checked"];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => (i === 1 || i === 2 ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join(" | ")} |`;
  const sep = `|${widths.map((w, i) => (i === 1 || i === 2 ? `${"-".repeat(w + 1)}:` : "-".repeat(w + 2))).join("|")}|`;
  const total = artifacts.reduce((s, a) => s + a.bytes, 0);
  return [line(head), sep, ...rows.map(line), `total ${artifacts.length} files, ${(total / 2 ** 20).toFixed(1)} MiB`].join("\n");
}

// --- the build ------------------------------------------------------------------------------------

export interface BuildOptions {
  outdir: string;
  /** Targets to build; the host target is always built (first) and smoke-run. */
  targets: string[];
  /** Also write `<outdir>/openclaw` (a copy of the host artifact). Default true. */
  alias?: boolean;
  /** Remove old openclaw-* artifacts and SHA256SUMS from outdir first. Default false. */
  clean?: boolean;
  onArtifact?: (a: Artifact) => void;
}

export interface BuildResult {
  artifacts: Artifact[];
  buildId: string;
  host: Artifact;
  checksumsPath: string;
  noticesPath: string;
}

/** Build the host artifact plus `targets`, check each, write SHA256SUMS and the notices. */
export async function build(opts: BuildOptions): Promise<BuildResult> {
  const id = buildId();
  const host = hostTarget();
  mkdirSync(opts.outdir, { recursive: true });
  if (opts.clean) {
    for (const f of readdirSync(opts.outdir)) {
      if (/^openclaw(-[a-z0-9-]+)?(\.exe)?$/.test(f) || f === "SHA256SUMS" || f === "THIRD-PARTY-NOTICES.txt") {
        rmSync(join(opts.outdir, f), { force: true });
      }
    }
  }
  const staging = mkdtempSync(join(tmpdir(), "openclaw-build-assets-"));
  const artifacts: Artifact[] = [];
  const emit = (a: Artifact) => {
    artifacts.push(a);
    opts.onArtifact?.(a);
  };
  try {
    const notices = collectNotices(ROOT, id);
    mkdirSync(join(staging, "licenses"));
    writeFileSync(join(staging, NOTICES_ASSET), notices);
    const assets = [join(staging, "licenses")];

    // Profile-guided layout: compile the host once, record how the gateway runs, then compile
    // every target (the host again) with that profile.
    let bytecodeOrder: string[] = [];
    if (process.platform === "win32") {
      log("no bytecode-order profile on a Windows build host (the profile run stops the gateway with SIGTERM)");
    } else {
      const profileBinary = join(staging, artifactName(host));
      await compileTarget({ outfile: profileBinary, buildId: id, assets });
      bytecodeOrder = await recordBytecodeOrder(profileBinary, staging);
      log(`recorded bytecode-order profiles: ${bytecodeOrder.map((p) => `${basename(p)} ${statSync(p).size} B`).join(", ")}`);
    }

    const order = [host, ...new Set(opts.targets.filter((t) => t !== host))];
    let hostArtifact: Artifact | undefined;
    for (const target of order) {
      const outfile = join(opts.outdir, artifactName(target));
      // The host is compiled without `target`, so Bun embeds the running runtime (no download).
      const built = await compileTarget({ ...(target === host ? {} : { target: target as Target }), outfile, buildId: id, assets, bytecodeOrder });
      const checked = verifyArtifact(outfile, target, id);
      const a: Artifact = { ...built, target, sha256: await sha256File(outfile), checked };
      emit(a);
      if (target === host) {
        hostArtifact = a;
        if (opts.alias !== false) {
          const alias = join(opts.outdir, process.platform === "win32" ? "openclaw.exe" : "openclaw");
          rmSync(alias, { force: true });
          copyFileSync(outfile, alias);
          chmodSync(alias, 0o755);
          emit({ target, path: alias, bytes: statSync(alias).size, checked: `copy of ${basename(outfile)}` });
        }
      }
    }
    const checksumsPath = join(opts.outdir, "SHA256SUMS");
    writeAtomic(checksumsPath, formatChecksums(artifacts.filter((a) => a.sha256).map((a) => ({ name: basename(a.path), sha256: a.sha256! }))));
    const noticesPath = join(opts.outdir, "THIRD-PARTY-NOTICES.txt");
    writeAtomic(noticesPath, notices);
    return { artifacts, buildId: id, host: hostArtifact!, checksumsPath, noticesPath };
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

export const USAGE =
  "usage: bun scripts/build.ts [--host | --target bun-<os>-<arch>[-musl]]... [--outdir dir] [--json]\n" +
  `  no target flags: every release target (${RELEASE_TARGETS.join(", ")})\n`;

export async function main(argv: string[]): Promise<number> {
  let values: { target?: string[]; all?: boolean; host?: boolean; outdir?: string; json?: boolean; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        target: { type: "string", multiple: true },
        all: { type: "boolean" },
        host: { type: "boolean" },
        outdir: { type: "string" },
        json: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    log(`${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    process.stderr.write(USAGE);
    return 0;
  }
  if (values.host && (values.all || values.target)) {
    log(`--host cannot be combined with --all or --target\n${USAGE}`);
    return 2;
  }
  const known = new Set<string>([...RELEASE_TARGETS, hostTarget()]);
  const unknown = (values.target ?? []).filter((t) => !known.has(t));
  if (unknown.length > 0) {
    log(`unknown target(s): ${unknown.join(", ")} (known: ${[...known].join(", ")})`);
    return 2;
  }
  const full = !values.host && (values.all || !values.target);
  const targets = values.host ? [] : full ? [...RELEASE_TARGETS] : values.target!;
  const outdir = values.outdir ? (isAbsolute(values.outdir) ? values.outdir : resolve(process.cwd(), values.outdir)) : join(ROOT, "dist");
  const t0 = performance.now();
  try {
    const result = await build({
      outdir,
      targets,
      clean: full,
      onArtifact: values.json ? (a) => process.stdout.write(`${JSON.stringify(a)}\n`) : undefined,
    });
    if (!values.json) {
      process.stdout.write(`${sizeTable(result.artifacts)}\n`);
      process.stdout.write(`build ${result.buildId}; checksums in ${result.checksumsPath}; notices in ${result.noticesPath}\n`);
    }
    log(`done in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    return 0;
  } catch (err) {
    log(`FAILED: ${(err as Error).message ?? err}`);
    return 1;
  }
}

if (import.meta.main) process.exit(await main(process.argv.slice(2)));
