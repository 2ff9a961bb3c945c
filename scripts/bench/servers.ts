/**
 * The processes the benchmarks measure: the openclaw binary (`gateway --port N` with its own
 * state dir and a pre-written token config) and the compiled reference (scripts/bench/reference.ts,
 * built with the same options as openclaw). Both run as children on 127.0.0.1; only they are
 * stopped, by PID.
 */
import { closeSync, existsSync, fsyncSync, mkdtempSync, openSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawnGateway, writeTokenConfig } from "../lib/gateway-child.ts";
import { freePort, readRssAnonKiB, readRssKiB, waitForPort, within } from "../lib/proc.ts";

export const BENCH_TOKEN = "bench-token-0123456789abcdef0123";

export interface Server {
  kind: "openclaw" | "reference";
  /** The executable. */
  binary: string;
  port: number;
  pid: number;
  url: string;
  /** The pre-written gateway token (undefined for the reference and for a first run). */
  token: string | undefined;
  /** The child's state dir, HOME and cwd (removed by stop()). */
  stateDir: string;
  /** performance.now() when spawned. */
  spawnedAt: number;
  /** ms from spawn until the port accepted a TCP connection. */
  portOpenMs: number;
  rssKiB(): number | undefined;
  /** The anonymous part of the RSS (RssAnon). */
  rssAnonKiB(): number | undefined;
  output(): string;
  /** SIGTERM (SIGKILL after 5 s); exit code or null; removes the state dir. */
  stop(): Promise<number | null>;
}

/**
 * Drop the file's pages from the page cache (GNU dd `iflag=nocache`), so the next process maps it
 * cold, as after a reboot. Without this, RSS depends on how recently the binary was written or
 * read: the kernel maps cached neighbours of every page a process touches ("fault-around"), and
 * the same binary measured 41–47 MB idle depending on cache age. The file is fsynced first: the
 * kernel drops only clean pages, and a binary compiled moments ago (the reference is compiled by
 * every run) is still dirty, which left it fully cached and measured it up to 6 MB higher.
 * Returns false if dd refused.
 */
export function dropPageCache(path: string): boolean {
  const dd = Bun.which("dd");
  if (!dd || process.platform !== "linux") return false;
  try {
    const fd = openSync(path, "r");
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    return false;
  }
  return Bun.spawnSync([dd, `if=${path}`, "iflag=nocache", "count=0", "status=none"], { stdout: "ignore", stderr: "ignore", timeout: 10_000 }).exitCode === 0;
}

/** Compile scripts/bench/reference.ts like scripts/build.ts compiles openclaw. */
export function buildReference(outdir: string): Promise<string> {
  return compileReference(join(import.meta.dir, "reference.ts"), join(outdir, "openclaw-bench-reference"));
}

/** Compile a reference program `entry` to the executable `outfile` with openclaw's build options. */
export async function compileReference(entry: string, outfile: string): Promise<string> {
  const result = await Bun.build({
    entrypoints: [entry],
    compile: { outfile, autoloadBunfig: false, autoloadDotenv: false },
    minify: true,
    bytecode: true,
    format: "esm",
    define: { "process.env.NODE_ENV": JSON.stringify("production") },
    throw: false,
  });
  if (!result.success || !existsSync(outfile)) {
    throw new Error(`reference build failed: ${result.logs.map((l) => l.message).join("; ") || "no executable"}`);
  }
  return outfile;
}

export interface StartOptions {
  /** Write a token config first (the "warm" start); otherwise the first run writes one. */
  writeConfig?: boolean;
  /** Reference reply sizes (bytes): connect reply, later replies and events. */
  sizes?: { hello: number; reply: number };
  portTimeoutMs?: number;
  env?: Record<string, string>;
  /** Run the server pinned to these CPUs (`taskset -c`), e.g. "1". */
  cpus?: string;
}

/**
 * CPU split for the throughput phases on a machine with ≥ 2 CPUs and `taskset`: the server gets
 * the last CPU, this process (the load generator, all threads) the others, so the two do not
 * take turns on one core. Returns a restore function; undefined (no pinning) otherwise.
 */
export function pinCpus(): { serverCpus: string; restore: () => void } | undefined {
  const taskset = Bun.which("taskset");
  const n = navigator.hardwareConcurrency;
  if (!taskset || process.platform !== "linux" || n < 2) return undefined;
  const set = (cpus: string) =>
    Bun.spawnSync([taskset, "-a", "-p", "-c", cpus, String(process.pid)], { stdout: "ignore", stderr: "ignore", timeout: 5_000 }).exitCode === 0;
  if (!set(n === 2 ? "0" : `0-${n - 2}`)) return undefined;
  return { serverCpus: String(n - 1), restore: () => void set(`0-${n - 1}`) };
}

export async function startServer(kind: Server["kind"], binary: string, opts: StartOptions = {}): Promise<Server> {
  const port = await freePort();
  const stateDir = mkdtempSync(join(tmpdir(), "openclaw-bench-"));
  if (kind === "openclaw" && opts.writeConfig !== false) writeTokenConfig(stateDir, BENCH_TOKEN);
  const sizes = opts.sizes ?? { hello: 0, reply: 0 };
  const taskset = opts.cpus ? Bun.which("taskset") : null;
  const spawnedAt = performance.now();
  const child = spawnGateway({
    command: [...(taskset && opts.cpus ? [taskset, "-c", opts.cpus] : []), binary],
    args: kind === "openclaw" ? ["gateway", "--port", String(port)] : ["server", String(port), String(sizes.hello), String(sizes.reply)],
    port,
    stateDir,
    cwd: stateDir,
    env: { HOME: stateDir, ...opts.env },
  });
  const stop = async () => {
    const code = await child.stop(5_000);
    await within(Promise.all([child.stdout.done, child.stderr.done]), 1_000, undefined);
    rmSync(stateDir, { recursive: true, force: true });
    return code;
  };
  try {
    await waitForPort(port, { timeoutMs: opts.portTimeoutMs ?? 15_000, intervalMs: 1, exited: child.proc.exited });
  } catch (e) {
    await stop();
    const tail = child.output().trim().split("\n").slice(-5).join("\n");
    throw new Error(`${kind}: ${(e as Error).message}${tail ? `\n${tail}` : ""}`);
  }
  const portOpenMs = performance.now() - spawnedAt;
  return {
    kind,
    binary,
    port,
    pid: child.pid,
    url: `ws://127.0.0.1:${port}`,
    token: kind === "openclaw" && opts.writeConfig !== false ? BENCH_TOKEN : undefined,
    stateDir,
    spawnedAt,
    portOpenMs,
    rssKiB: () => readRssKiB(child.pid),
    rssAnonKiB: () => readRssAnonKiB(child.pid),
    output: child.output,
    stop,
  };
}
