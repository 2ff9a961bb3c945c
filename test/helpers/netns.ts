/**
 * Network namespaces for the discovery tests: isolated links the tests create (and delete) so
 * multicast never leaves the machine. Needs root and `ip` (iproute2); when either is missing,
 * `netnsSupport()` says why and the tests skip with that reason.
 *
 * Every namespace is named `oc7t-<pid>-<n>`; leftovers of a crashed run (a dead pid) are removed
 * before new ones are made. Processes are started with `ip netns exec`, which execs the command
 * in place, so the PID we hold is the command's and stopping it by PID is exact.
 */
import { existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { OutputTap, stopChild, within } from "../../scripts/lib/proc.ts";
import { alive } from "../../src/system/force.ts";

const PREFIX = "oc7t-";
/** Absolute, so a test may give the command inside the namespace any PATH it likes. */
const IP = Bun.which("ip", { PATH: `${process.env.PATH ?? ""}:/usr/sbin:/sbin:/usr/bin:/bin` }) ?? "ip";
let counter = 0;
let cached: { ok: boolean; reason?: string } | undefined;

function ip(args: string[]): { code: number; out: string } {
  const r = Bun.spawnSync([IP, ...args], { stdout: "pipe", stderr: "pipe", timeout: 10_000 });
  return { code: r.exitCode ?? 1, out: `${r.stdout.toString()}${r.stderr.toString()}`.trim() };
}

function mustIp(args: string[]): void {
  const r = ip(args);
  if (r.code !== 0) throw new Error(`ip ${args.join(" ")} failed: ${r.out}`);
}

/** Remove namespaces left behind by earlier runs whose process is gone. */
function reapStale(): void {
  const list = ip(["netns", "list"]);
  if (list.code !== 0) return;
  for (const line of list.out.split("\n")) {
    const name = line.trim().split(/\s+/)[0] ?? "";
    const m = new RegExp(`^${PREFIX}(\\d+)-`).exec(name);
    if (m && Number(m[1]) !== process.pid && !alive(Number(m[1]))) {
      ip(["netns", "del", name]);
      rmSync(`/etc/netns/${name}`, { recursive: true, force: true });
    }
  }
}

/** Can this machine run the namespace tests? Cached; the reason is shown in skipped test names. */
export function netnsSupport(): { ok: boolean; reason?: string } {
  if (cached) return cached;
  if (process.platform !== "linux") return (cached = { ok: false, reason: "network namespaces need Linux" });
  if (process.getuid?.() !== 0) return (cached = { ok: false, reason: "network namespaces need root" });
  if (IP === "ip") return (cached = { ok: false, reason: "`ip` (iproute2) is not installed" });
  reapStale();
  const probe = `${PREFIX}${process.pid}-probe`;
  const add = ip(["netns", "add", probe]);
  if (add.code !== 0) return (cached = { ok: false, reason: `ip netns add is not allowed here (${add.out})` });
  const veth = ip(["link", "add", "oc7p0", "type", "veth", "peer", "name", "oc7p1"]);
  ip(["link", "del", "oc7p0"]);
  ip(["netns", "del", probe]);
  if (veth.code !== 0) return (cached = { ok: false, reason: `veth links are not allowed here (${veth.out})` });
  return (cached = { ok: true });
}

export interface RunResult {
  exitCode: number | null;
  stdout: string;
  stderr: string;
}

export class Netns {
  constructor(readonly name: string) {}

  /** Start a long-running command inside the namespace (`stdin: "pipe"` to talk to it). */
  spawn(cmd: string[], opts: { env?: Record<string, string>; cwd?: string; stdin?: "pipe" | "ignore" } = {}): NsProcess {
    const proc = Bun.spawn([IP, "netns", "exec", this.name, ...cmd], {
      cwd: opts.cwd,
      env: opts.env,
      stdin: opts.stdin ?? "ignore",
      stdout: "pipe",
      stderr: "pipe",
    });
    return new NsProcess(proc);
  }

  /** Run a command to completion inside the namespace (bounded). */
  async run(cmd: string[], opts: { env?: Record<string, string>; cwd?: string; timeoutMs?: number } = {}): Promise<RunResult> {
    const p = this.spawn(cmd, opts);
    const code = await within(p.proc.exited, opts.timeoutMs ?? 20_000, "timeout" as const);
    if (code === "timeout") await p.stop(0);
    await within(Promise.all([p.out.done, p.err.done]), 2_000, undefined);
    return { exitCode: code === "timeout" ? null : code, stdout: p.out.text, stderr: p.err.text };
  }

  /** Run `ip` against this namespace. */
  ip(args: string[]): void {
    mustIp(["-n", this.name, ...args]);
  }

  /** `/etc/netns/<name>/<file>`, bind-mounted over `/etc/<file>` by `ip netns exec`. */
  etcFile(file: string, content: string): void {
    mkdirSync(`/etc/netns/${this.name}`, { recursive: true });
    writeFileSync(`/etc/netns/${this.name}/${file}`, content);
  }
}

export class NsProcess {
  readonly out: OutputTap;
  readonly err: OutputTap;
  constructor(readonly proc: Bun.Subprocess<"ignore" | "pipe", "pipe", "pipe">) {
    this.out = new OutputTap(proc.stdout);
    this.err = new OutputTap(proc.stderr);
  }
  get pid(): number {
    return this.proc.pid;
  }
  output(): string {
    return this.out.text + this.err.text;
  }
  /** SIGTERM (SIGKILL after `graceMs`), by PID. */
  async stop(graceMs = 5_000): Promise<number | null> {
    const code = await stopChild(this.proc, graceMs);
    await within(Promise.all([this.out.done, this.err.done]), 2_000, undefined);
    return code;
  }
}

export interface Lab {
  a: Netns;
  b: Netns;
  /** Addresses on the veth pair (a: .1, b: .2). */
  addrA: string;
  addrB: string;
  vethA: string;
  vethB: string;
  /** Stop every process started through `track`, delete the namespaces. */
  destroy(): Promise<void>;
  track<T extends NsProcess>(p: T): T;
}

function names(tag = ""): { ns: string; veth: string } {
  const n = counter++;
  return { ns: `${PREFIX}${process.pid}-${tag}${n}`, veth: `o7${tag.slice(0, 2)}${(process.pid % 100_000).toString(36)}${n}` };
}

/**
 * Two namespaces joined by a veth pair (10.77.0.1/24 ↔ 10.77.0.2/24 unless `subnet` names
 * another /24), loopback up. `multicast: false` leaves the multicast flag off; `addressA: false`
 * leaves side A without IPv4; `tag` (up to two letters) marks the names of a suite's own
 * namespaces and interfaces.
 */
export function createLab(opts: { multicast?: boolean; addressA?: boolean; tag?: string; subnet?: string } = {}): Lab {
  const first = names(opts.tag);
  const second = names(opts.tag);
  const net = opts.subnet ?? "10.77.0";
  const a = new Netns(first.ns);
  const b = new Netns(second.ns);
  const vethA = `${first.veth}a`;
  const vethB = `${second.veth}b`;
  const procs: NsProcess[] = [];
  const created: string[] = [];
  try {
    mustIp(["netns", "add", a.name]);
    created.push(a.name);
    mustIp(["netns", "add", b.name]);
    created.push(b.name);
    mustIp(["link", "add", vethA, "type", "veth", "peer", "name", vethB]);
    mustIp(["link", "set", vethA, "netns", a.name]);
    mustIp(["link", "set", vethB, "netns", b.name]);
    const mc = opts.multicast === false ? "off" : "on";
    if (opts.addressA !== false) a.ip(["addr", "add", `${net}.1/24`, "dev", vethA]);
    b.ip(["addr", "add", `${net}.2/24`, "dev", vethB]);
    for (const [ns, dev] of [
      [a, vethA],
      [b, vethB],
    ] as const) {
      ns.ip(["link", "set", "lo", "up"]);
      ns.ip(["link", "set", dev, "multicast", mc]);
      ns.ip(["link", "set", dev, "up"]);
    }
  } catch (err) {
    for (const n of created) ip(["netns", "del", n]);
    throw err;
  }
  return {
    a,
    b,
    addrA: `${net}.1`,
    addrB: `${net}.2`,
    vethA,
    vethB,
    track: (p) => {
      procs.push(p);
      return p;
    },
    destroy: async () => {
      await Promise.all(procs.map((p) => p.stop(2_000)));
      for (const n of [a.name, b.name]) {
        ip(["netns", "del", n]);
        if (existsSync(`/etc/netns/${n}`)) rmSync(`/etc/netns/${n}`, { recursive: true, force: true });
      }
    },
  };
}

/** One namespace with only loopback (no multicast-capable interface at all). */
export function createLoopbackOnly(): { ns: Netns; destroy(procs?: NsProcess[]): Promise<void> } {
  const { ns: name } = names();
  mustIp(["netns", "add", name]);
  const ns = new Netns(name);
  ns.ip(["link", "set", "lo", "up"]);
  return {
    ns,
    destroy: async (procs = []) => {
      await Promise.all(procs.map((p) => p.stop(2_000)));
      ip(["netns", "del", name]);
    },
  };
}
