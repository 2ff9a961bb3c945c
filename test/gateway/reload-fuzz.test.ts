/**
 * Randomized hot reload: 200 edit sequences (valid hot-safe edits, restart-requiring edits,
 * token rotations, schema-invalid and unparseable files, configs the runtime refuses,
 * editor-style rename-over, rapid bursts). After every burst the gateway must have processed
 * the final file, restarted at most once, never crashed, and hold exactly the config of the
 * last valid final file; after every sequence it must answer `health`.
 *
 * Seeded (printed on failure), so a failing run can be replayed with OPENCLAW_FUZZ_SEED.
 */
import { afterAll, expect, test } from "bun:test";
import { loadConfig, type LoadedConfig } from "../../src/config/snapshot.ts";
import { resolvePaths } from "../../src/config/paths.ts";
import { resolveGatewaySettings } from "../../src/config/runtime.ts";
import { GatewayClient } from "../../src/protocol/client.ts";
import { freePort } from "../../scripts/lib/proc.ts";
import { TEST_TOKEN } from "../helpers/gateway.ts";
import { startTestRuntime, textOf, hashOf, type TestRuntime } from "../helpers/runtime.ts";

const SEQUENCES = 200;
const WORKERS = 4;
const DEBOUNCE_MS = 25;
const SEED = Number(process.env.OPENCLAW_FUZZ_SEED ?? Date.now() % 2 ** 31);

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Edit = { kind: string; text: string; rename: boolean };

const runtimes: TestRuntime[] = [];
afterAll(async () => {
  for (const t of runtimes) await t.stop();
});

class Worker {
  private nonce = 0;
  private token = TEST_TOKEN;
  private port?: number;
  expected!: LoadedConfig["config"];
  restartsPerBurst: number[] = [];
  bursts = 0;

  constructor(
    readonly t: TestRuntime,
    readonly rnd: () => number,
    readonly id: number,
  ) {}

  private pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.rnd() * items.length)];
  }

  private base(): Record<string, any> {
    const gateway: Record<string, unknown> = {
      mode: "local",
      auth: { mode: "token", token: this.token },
      reload: { debounceMs: DEBOUNCE_MS },
    };
    if (this.port !== undefined) gateway.port = this.port;
    return { gateway, wizard: { nonce: `${this.id}-${++this.nonce}` } };
  }

  /** A random edit; valid edits that change state update the worker's idea of "current". */
  async edit(): Promise<Edit> {
    const r = this.rnd();
    const doc = this.base();
    const rename = this.rnd() < 0.3;
    if (r < 0.3) {
      doc.models = { providers: { p: { baseUrl: "http://127.0.0.1:9/v1", models: [{ id: `m${Math.floor(this.rnd() * 5)}` }] } } };
      doc.agents = { defaults: { model: `p/m${Math.floor(this.rnd() * 5)}` } };
      doc.gateway.trustedProxies = this.rnd() < 0.5 ? ["10.0.0.1"] : [];
      return { kind: "hot", text: textOf(doc), rename };
    }
    if (r < 0.42) {
      doc.discovery = { wideArea: { domain: `d${Math.floor(this.rnd() * 3)}.example` } };
      return { kind: "restart", text: textOf(doc), rename };
    }
    if (r < 0.48) {
      // A real port change (pending until the file is known to be the burst's last word).
      doc.gateway.port = await freePort();
      return { kind: "port", text: textOf(doc), rename };
    }
    if (r < 0.55) {
      doc.gateway.auth.token = `rotated-${this.id}-${this.nonce}-0123456789`;
      return { kind: "token", text: textOf(doc), rename };
    }
    if (r < 0.7) {
      doc.gateway[this.pick(["port", "bogusKey", "bind"])] = this.pick(["x", -1, { a: 1 }]);
      return { kind: "invalid-schema", text: textOf(doc), rename };
    }
    if (r < 0.8) return { kind: "invalid-parse", text: `{ gateway: { mode: "local", // ${this.nonce++}\n`, rename };
    if (r < 0.88) {
      doc.gateway.bind = "lan";
      doc.gateway.auth = { mode: "token" };
      return { kind: "refused", text: textOf(doc), rename };
    }
    return { kind: "same", text: textOf(doc), rename };
  }

  /** Is this text a config the runtime would apply? If so, its effective config. */
  async verdict(text: string): Promise<LoadedConfig | undefined> {
    const { writeFileSync, mkdtempSync, rmSync } = await import("node:fs");
    const { join } = await import("node:path");
    const { tmpdir } = await import("node:os");
    const dir = mkdtempSync(join(tmpdir(), "openclaw-fuzz-verdict-"));
    try {
      writeFileSync(join(dir, "openclaw.json"), text);
      const env = { OPENCLAW_STATE_DIR: dir };
      const loaded = await loadConfig({ paths: resolvePaths({ env }), env });
      resolveGatewaySettings(loaded, { container: false });
      return loaded;
    } catch {
      return undefined;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  async burst(): Promise<void> {
    const edits: Edit[] = [];
    const n = 1 + Math.floor(this.rnd() * 4);
    for (let i = 0; i < n; i++) edits.push(await this.edit());
    const restartsBefore = this.t.runtime.restarts;
    // Written back to back: one burst inside the debounce window.
    for (const e of edits) (e.rename ? this.t.renameOver(e.text) : this.t.write(e.text));
    const final = edits[edits.length - 1];
    const outcome = await this.t.processed(hashOf(final.text), 10_000);
    this.bursts++;
    this.restartsPerBurst.push(this.t.runtime.restarts - restartsBefore);
    const valid = await this.verdict(final.text);
    if (valid) {
      // The running gateway holds exactly the config of the final file.
      this.expected = valid.config;
      this.token = (valid.config.gateway?.auth?.token as string) ?? this.token;
      this.port = valid.config.gateway?.port === resolvePaths({ env: this.t.env }).defaultPort ? this.port : valid.config.gateway?.port;
      if (final.kind === "port") expect(this.t.runtime.port).toBe(valid.config.gateway?.port as number);
    } else {
      expect(outcome.status).toBe("rejected");
    }
    expect(this.t.runtime.snapshot.config).toEqual(this.expected);
  }

  async sequence(): Promise<void> {
    const bursts = 1 + Math.floor(this.rnd() * 3);
    for (let i = 0; i < bursts; i++) await this.burst();
    const c = await GatewayClient.connect({ url: this.t.url(), token: this.token, connectTimeoutMs: 5_000, requestTimeoutMs: 5_000 });
    try {
      expect((await c.request<{ ok: boolean }>("health")).ok).toBe(true);
    } finally {
      await c.close();
    }
  }
}

test(
  `${SEQUENCES} random edit sequences: at most one restart per burst, no crash, final state = final valid file (seed ${SEED})`,
  async () => {
    const workers: Worker[] = [];
    for (let i = 0; i < WORKERS; i++) {
      const t = await startTestRuntime({
        config: { gateway: { mode: "local", auth: { mode: "token", token: TEST_TOKEN }, reload: { debounceMs: DEBOUNCE_MS } } },
      });
      runtimes.push(t);
      const w = new Worker(t, mulberry32(SEED + i), i);
      w.expected = t.runtime.snapshot.config;
      workers.push(w);
    }
    try {
      await Promise.all(
        workers.map(async (w) => {
          for (let s = 0; s < SEQUENCES / WORKERS; s++) await w.sequence();
        }),
      );
    } catch (err) {
      throw new Error(`fuzz failed with OPENCLAW_FUZZ_SEED=${SEED}: ${(err as Error).stack ?? err}`);
    }
    const restarts = workers.flatMap((w) => w.restartsPerBurst);
    expect(Math.max(...restarts)).toBeLessThanOrEqual(1);
    expect(workers.reduce((n, w) => n + w.bursts, 0)).toBeGreaterThanOrEqual(SEQUENCES);
    // The mix really exercised restarts and rejections.
    expect(restarts.filter((r) => r === 1).length).toBeGreaterThan(0);
    const statuses = new Set(workers.flatMap((w) => w.t.runtime.lifecycle!.history.map((o) => o.status)));
    for (const s of ["applied", "restarted", "rejected"]) expect(statuses.has(s as never)).toBe(true);
    for (const w of workers) expect(w.t.messages().filter((m) => m.startsWith("config reload failed"))).toEqual([]);
  },
  120_000,
);
