/**
 * Discovery must never take the gateway down. In namespaces this test creates: no multicast
 * interface at all, an interface without the multicast flag, interfaces that appear, change and
 * vanish, UDP 5353 held exclusively by another program, and a hostile peer sending malformed
 * packets and query floods. Every time the gateway keeps serving its port (a real `health` RPC),
 * logs the problem once, and advertises again once it can.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { cleanEnv } from "../../scripts/lib/proc.ts";
import { createLab, createLoopbackOnly, netnsSupport, type Lab, type Netns, type NsProcess } from "../helpers/netns.ts";

const ROOT = resolve(import.meta.dir, "../..");
const BUN = process.execPath;
const MAIN = join(ROOT, "src", "main.ts");
const FIXTURE = join(ROOT, "test", "fixture", "discovery");
const TOKEN = "fault-test-token-0123456789abcdef";
const PY = "/usr/bin/python3";

const support = netnsSupport();
const skipNote = support.ok ? "" : ` [skipped: ${support.reason}]`;

const dirs: string[] = [];
const cleanups: Array<() => Promise<void>> = [];
afterAll(async () => {
  await Promise.all(cleanups.map((c) => c()));
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function lab(opts?: Parameters<typeof createLab>[0]): Lab {
  const l = createLab(opts);
  cleanups.push(() => l.destroy());
  return l;
}

function spawnGateway(ns: Netns, opts: { bind?: string; env?: Record<string, string> } = {}): NsProcess {
  const state = mkdtempSync(join(tmpdir(), "openclaw-fault-"));
  dirs.push(state);
  writeFileSync(join(state, "openclaw.json"), JSON.stringify({ gateway: { mode: "local", auth: { mode: "token", token: TOKEN } } }), { mode: 0o600 });
  return ns.spawn([BUN, MAIN, "gateway", "--port", "18789", "--bind", opts.bind ?? "lan"], {
    cwd: ROOT,
    env: cleanEnv({ OPENCLAW_STATE_DIR: state, OPENCLAW_DISABLE_BONJOUR: "0", OPENCLAW_MDNS_INTERFACE_CHECK_MS: "1000", ...opts.env }),
  });
}

async function listening(gw: NsProcess): Promise<void> {
  try {
    await gw.out.waitFor(/listening on ws:\/\//, 15_000);
  } catch (err) {
    throw new Error(`${(err as Error).message}\n--- gateway output ---\n${gw.output()}`);
  }
}

async function health(ns: Netns, url: string): Promise<boolean> {
  const r = await ns.run([BUN, join(FIXTURE, "health.ts"), url, TOKEN], { cwd: ROOT, env: cleanEnv() });
  return r.exitCode === 0 && JSON.parse(r.stdout).ok === true;
}

async function discoverCount(l: Lab, timeoutMs = 1200): Promise<{ count: number; beacons: any[] }> {
  const state = mkdtempSync(join(tmpdir(), "openclaw-fault-b-"));
  dirs.push(state);
  const r = await l.b.run([BUN, MAIN, "gateway", "discover", "--json", "--timeout", String(timeoutMs)], { cwd: ROOT, env: cleanEnv({ OPENCLAW_STATE_DIR: state }) });
  expect(r.exitCode).toBe(0);
  return JSON.parse(r.stdout);
}

function messages(gw: NsProcess, level?: string): string[] {
  return gw.out.text
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as { level: string; message: string })
    .filter((r) => !level || r.level === level)
    .map((r) => r.message);
}

function healthy(gw: NsProcess): void {
  expect(gw.proc.exitCode).toBeNull();
  expect(gw.output()).not.toMatch(/unhandled|uncaught|internal error/i);
}

describe.concurrent.skipIf(!support.ok)(`discovery faults never take the gateway down${skipNote}`, () => {
  test("no multicast interface at all (loopback only): logged once, the gateway serves", async () => {
    const box = createLoopbackOnly();
    const gw = spawnGateway(box.ns, { bind: "loopback" });
    cleanups.push(() => box.destroy([gw]));
    await listening(gw);
    await gw.out.waitFor(/no multicast-capable network interface/, 5_000);
    await Bun.sleep(2_500); // two more interface checks
    expect(await health(box.ns, "ws://127.0.0.1:18789")).toBe(true);
    expect(messages(gw).filter((m) => /no multicast-capable network interface/.test(m)).length).toBe(1);
    healthy(gw);
    expect(await gw.stop()).toBe(0);
  }, 30_000);

  test("an interface without the multicast flag: not used, logged once; the gateway serves across the link", async () => {
    const l = lab({ multicast: false });
    const gw = l.track(spawnGateway(l.a));
    await listening(gw);
    await gw.out.waitFor(/no multicast-capable network interface/, 5_000);
    expect(await health(l.b, `ws://${l.addrA}:18789`)).toBe(true);
    expect((await discoverCount(l)).count).toBe(0);
    expect(messages(gw).filter((m) => /no multicast-capable/.test(m)).length).toBe(1);
    healthy(gw);
  }, 30_000);

  test("interfaces that appear, change and vanish: advertising follows them", async () => {
    const l = lab({ addressA: false });
    const gw = l.track(spawnGateway(l.a));
    await listening(gw);
    await gw.out.waitFor(/no multicast-capable network interface/, 5_000);
    // An address appears: the beacon starts on the next interface check.
    l.a.ip(["addr", "add", `${l.addrA}/24`, "dev", l.vethA]);
    await gw.out.waitFor(/advertised gateway/, 8_000);
    expect((await discoverCount(l)).beacons[0]?.addresses).toContain(l.addrA);
    // A new address on the interface: probe and announce again, with it.
    l.a.ip(["addr", "add", "fd00:77::1/64", "dev", l.vethA, "nodad"]);
    await gw.out.waitFor(/network interfaces changed/, 8_000);
    const after = await discoverCount(l);
    expect(after.beacons[0]?.addresses).toContain("fd00:77::1");
    // The interface goes down: nothing to advertise on; up again: advertised again.
    l.a.ip(["link", "set", l.vethA, "down"]);
    await Bun.sleep(2_500);
    l.a.ip(["link", "set", l.vethA, "up"]);
    await Bun.sleep(3_500);
    expect((await discoverCount(l)).count).toBe(1);
    expect(await health(l.b, `ws://${l.addrA}:18789`)).toBe(true);
    healthy(gw);
  }, 60_000);

  test("UDP 5353 held exclusively: one warning, bounded retries, the gateway serves; advertised once the port frees", async () => {
    const l = lab();
    const blocker = l.track(l.a.spawn([PY, join(FIXTURE, "blocker.py"), "60"], { env: cleanEnv() }));
    await blocker.out.waitFor(/bound/, 10_000);
    const gw = l.track(spawnGateway(l.a));
    await listening(gw);
    await gw.out.waitFor(/advertise failed \(EADDRINUSE/, 5_000);
    expect(await health(l.b, `ws://${l.addrA}:18789`)).toBe(true);
    await blocker.stop(); // the port frees; the next bounded retry gets it
    await gw.out.waitFor(/advertised gateway/, 20_000);
    expect(messages(gw, "warn").filter((m) => /advertise failed/.test(m))).toEqual([
      expect.stringMatching(/^advertise failed \(EADDRINUSE: .*\); retrying in 1000 ms \(attempt 1\/6\)$/),
    ]);
    expect((await discoverCount(l)).count).toBe(1);
    healthy(gw);
  }, 40_000);

  test("malformed packets and a query flood from a hostile peer: logged once, still serving and advertising", async () => {
    const l = lab();
    const gw = l.track(spawnGateway(l.a));
    await listening(gw);
    await gw.out.waitFor(/advertised gateway/, 10_000);
    const attack = await l.b.run([BUN, join(FIXTURE, "hostile.ts"), l.addrB, l.addrA], { cwd: ROOT, env: cleanEnv() });
    expect(attack.exitCode).toBe(0);
    expect(JSON.parse(attack.stdout).sent).toBeGreaterThan(700);
    await Bun.sleep(300);
    expect(await health(l.b, `ws://${l.addrA}:18789`)).toBe(true);
    expect((await discoverCount(l)).count).toBe(1);
    const warns = messages(gw, "warn");
    expect(warns.filter((m) => /^ignoring malformed mDNS packet/.test(m)).length).toBe(1);
    expect(warns.filter((m) => /^mDNS query flood/.test(m)).length).toBeLessThanOrEqual(1);
    healthy(gw);
    expect(await gw.stop()).toBe(0);
  }, 40_000);
});
