/**
 * Shared pieces of the reliability suite: a real gateway child process per scenario (its own
 * state dir, port and config), RSS sampling from /proc, a lean WebSocket operator client, a raw
 * TCP WebSocket client that can stop reading (a slow consumer the kernel sees as such), a
 * provider that accepts connections and never answers (counting them), and the result shape
 * every scenario returns. Everything is bounded in count and time.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { connect as netConnect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { configPath, spawnGateway, waitUntilListening, type GatewayChild } from "../lib/gateway-child.ts";
import { freePort, readRssKiB, stopChild, within } from "../lib/proc.ts";

export const ROOT = resolve(import.meta.dir, "../..");
export const TOKEN = "reliability-token-0123456789abcdef";
export const VERSION = "2026.9.6";

// --- results --------------------------------------------------------------------------------

export type Figure = number | string | boolean;

export interface ScenarioResult {
  name: string;
  /** No crash and every invariant held. */
  ok: boolean;
  /** Measured values, in display order. */
  figures: Record<string, Figure>;
  /** Broken invariants (always fatal). */
  failures: string[];
  /** Missed targets (the figures; fatal unless the suite runs with --report-targets). */
  missed: string[];
  durationMs: number;
}

export class Recorder {
  readonly figures: Record<string, Figure> = {};
  readonly failures: string[] = [];
  readonly missed: string[] = [];
  private readonly started = performance.now();

  constructor(readonly name: string) {}

  set(key: string, value: Figure): void {
    this.figures[key] = typeof value === "number" ? Math.round(value * 100) / 100 : value;
  }

  /** An invariant: broken means the gateway misbehaved. */
  check(ok: boolean, what: string): void {
    if (!ok) this.failures.push(what);
  }

  /** A target from the issue: missed is reported (and fails the run unless targets are report-only). */
  target(ok: boolean, what: string): void {
    if (!ok) this.missed.push(what);
  }

  result(): ScenarioResult {
    return {
      name: this.name,
      ok: this.failures.length === 0,
      figures: this.figures,
      failures: this.failures,
      missed: this.missed,
      durationMs: Math.round(performance.now() - this.started),
    };
  }
}

export interface ScenarioOptions {
  quick: boolean;
  /** Command prefix that runs the gateway: `[bun, src/main.ts]` or `[dist/openclaw]`. */
  command: string[];
  log(message: string): void;
}

export type Scenario = (opts: ScenarioOptions) => Promise<ScenarioResult>;

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank];
}

export const sleep = (ms: number) => Bun.sleep(ms);

/** Poll `pred` every `everyMs` until true or `timeoutMs`; returns whether it held. */
export async function until(pred: () => boolean, timeoutMs: number, everyMs = 10): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    if (pred()) return true;
    await sleep(everyMs);
  }
  return pred();
}

// --- the gateway under test -----------------------------------------------------------------

export interface Gateway {
  child: GatewayChild;
  port: number;
  url: string;
  stateDir: string;
  alive(): boolean;
  /** Resident set size in MB (0 once gone). */
  rssMb(): number;
  /** `exit <code>` or `signal <name>` once it ended on its own; undefined while running. */
  crashed(): string | undefined;
  stop(): Promise<void>;
}

export async function startGateway(opts: ScenarioOptions, config: Record<string, unknown>, env: Record<string, string> = {}): Promise<Gateway> {
  const stateDir = mkdtempSync(join(tmpdir(), "openclaw-reliability-"));
  const full = { gateway: { mode: "local", auth: { mode: "token", token: TOKEN } }, ...config };
  writeFileSync(configPath(stateDir), JSON.stringify(full, null, 2), { mode: 0o600 });
  const port = await freePort();
  const child = spawnGateway({ command: opts.command, port, stateDir, cwd: ROOT, env: { HOME: stateDir, ...env } });
  let ended: string | undefined;
  let stopping = false;
  void child.proc.exited.then((code) => {
    if (!stopping) ended = child.proc.signalCode ? `signal ${child.proc.signalCode}` : `exit ${code}`;
  });
  try {
    await waitUntilListening(child, 20_000);
  } catch (err) {
    await child.stop(1_000);
    throw new Error(`gateway did not start: ${(err as Error).message}\n${child.output().slice(-2000)}`);
  }
  return {
    child,
    port,
    url: `ws://127.0.0.1:${port}`,
    stateDir,
    alive: () => child.proc.exitCode === null && !child.proc.signalCode,
    rssMb: () => (readRssKiB(child.pid) ?? 0) / 1024,
    crashed: () => ended,
    stop: async () => {
      stopping = true;
      await child.stop(5_000);
      rmSync(stateDir, { recursive: true, force: true });
    },
  };
}

/** Samples a process's RSS at a fixed interval; `peak` / `last` in MB. */
export class RssSampler {
  readonly samples: Array<{ t: number; mb: number }> = [];
  private timer?: ReturnType<typeof setInterval>;
  private readonly t0 = performance.now();

  constructor(
    private readonly gw: Gateway,
    everyMs = 250,
  ) {
    this.sample();
    this.timer = setInterval(() => this.sample(), everyMs);
  }

  sample(): void {
    const mb = this.gw.rssMb();
    if (mb > 0) this.samples.push({ t: Math.round(performance.now() - this.t0), mb: Math.round(mb * 10) / 10 });
  }

  get peak(): number {
    return Math.max(0, ...this.samples.map((s) => s.mb));
  }

  get last(): number {
    return this.samples.at(-1)?.mb ?? 0;
  }

  stop(): void {
    this.sample();
    clearInterval(this.timer);
  }
}

// --- a lean operator client -----------------------------------------------------------------

export interface ClientIdentity {
  id: string;
  mode: string;
  displayName?: string;
  platform?: string;
  instanceId?: string;
}

export const CLI_CLIENT: ClientIdentity = { id: "cli", mode: "cli" };
/** A native app client: listed in presence (non-ephemeral), no browser origin rules. */
export const UI_CLIENT = (displayName: string, instanceId: string = crypto.randomUUID()): ClientIdentity => ({ id: "openclaw-macos", mode: "ui", displayName, platform: "macos", instanceId });

export function connectParams(scopes: string[], client: ClientIdentity = CLI_CLIENT): Record<string, unknown> {
  return {
    minProtocol: 4,
    maxProtocol: 4,
    client: { version: VERSION, platform: process.platform, instanceId: crypto.randomUUID(), ...client },
    caps: [],
    role: "operator",
    scopes,
    auth: { token: TOKEN },
  };
}

/**
 * One WebSocket operator: handshake, `request()` with a bounded wait, event counters, and what
 * closed it. Frames are read as they come (a healthy client).
 */
export class Operator {
  private pending = new Map<string, (frame: any) => void>();
  private seq = 0;
  events = 0;
  eventBytes = 0;
  readonly eventCounts = new Map<string, number>();
  closed?: { code: number; reason: string };
  onEvent?: (frame: any) => void;

  private constructor(readonly ws: WebSocket) {
    ws.addEventListener("message", (ev) => {
      const text = typeof ev.data === "string" ? ev.data : Buffer.from(ev.data as ArrayBuffer).toString("utf8");
      let frame: any;
      try {
        frame = JSON.parse(text);
      } catch {
        return;
      }
      if (frame?.type === "res") {
        const waiter = this.pending.get(frame.id);
        // Two-stage methods (`agent`) answer `accepted` first: the waiter takes the first.
        if (waiter) {
          this.pending.delete(frame.id);
          waiter(frame);
        }
      } else if (frame?.type === "event") {
        this.events++;
        this.eventBytes += text.length;
        this.eventCounts.set(frame.event, (this.eventCounts.get(frame.event) ?? 0) + 1);
        this.onEvent?.(frame);
      }
    });
    ws.addEventListener("close", (ev) => {
      this.closed = { code: ev.code, reason: ev.reason };
      for (const w of this.pending.values()) w({ type: "res", ok: false, error: { code: "CLOSED", message: `closed ${ev.code} ${ev.reason}` } });
      this.pending.clear();
    });
  }

  static connect(url: string, scopes: string[] = ["operator.read"], client: ClientIdentity = CLI_CLIENT, timeoutMs = 10_000): Promise<Operator> {
    return new Promise((resolvePromise, reject) => {
      const ws = new WebSocket(url, { perMessageDeflate: false } as unknown as string[]);
      let done = false;
      const timer = setTimeout(() => fail(new Error("handshake timed out")), timeoutMs);
      const fail = (err: Error) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        try {
          ws.close();
        } catch {}
        reject(err);
      };
      ws.onmessage = (ev) => {
        const text = String(ev.data);
        if (text.includes('"event":"connect.challenge"')) {
          ws.send(JSON.stringify({ type: "req", id: "connect", method: "connect", params: connectParams(scopes, client) }));
          return;
        }
        const frame = JSON.parse(text);
        if (frame.type === "res" && frame.id === "connect") {
          if (!frame.ok) return fail(new Error(`connect refused: ${JSON.stringify(frame.error)}`));
          done = true;
          clearTimeout(timer);
          ws.onmessage = null;
          ws.onclose = null;
          ws.onerror = null;
          resolvePromise(new Operator(ws));
        }
      };
      ws.onerror = () => fail(new Error("websocket error during handshake"));
      ws.onclose = (ev) => fail(new Error(`closed during handshake (${ev.code} ${ev.reason})`));
    });
  }

  /** Send a request; resolves with its (first) `res` frame, or a synthetic timeout frame. */
  request(method: string, params: unknown = {}, timeoutMs = 10_000): Promise<any> {
    const id = `q${++this.seq}`;
    return new Promise((resolvePromise) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        resolvePromise({ type: "res", id, ok: false, error: { code: "TIMEOUT", message: `no answer within ${timeoutMs} ms` } });
      }, timeoutMs);
      this.pending.set(id, (f) => {
        clearTimeout(timer);
        resolvePromise(f);
      });
      try {
        this.ws.send(JSON.stringify({ type: "req", id, method, params }));
      } catch (err) {
        clearTimeout(timer);
        this.pending.delete(id);
        resolvePromise({ type: "res", id, ok: false, error: { code: "SEND", message: String(err) } });
      }
    });
  }

  send(text: string | Uint8Array): void {
    try {
      this.ws.send(text);
    } catch {
      // closed: the caller sees `closed`
    }
  }

  get open(): boolean {
    return this.ws.readyState === WebSocket.OPEN;
  }

  close(): Promise<void> {
    if (this.ws.readyState === WebSocket.CLOSED) return Promise.resolve();
    const done = new Promise<void>((r) => this.ws.addEventListener("close", () => r(), { once: true }));
    try {
      this.ws.close();
    } catch {}
    return within(done, 2_000, undefined);
  }
}

// --- a client that stops reading ------------------------------------------------------------

/** A masked client text frame (RFC 6455 §5.2). */
export function clientFrame(text: string): Buffer {
  const payload = Buffer.from(text, "utf8");
  const mask = crypto.getRandomValues(new Uint8Array(4));
  const len = payload.length;
  const head = len < 126 ? Buffer.from([0x81, 0x80 | len]) : len < 65536 ? Buffer.from([0x81, 0x80 | 126, len >> 8, len & 0xff]) : Buffer.concat([Buffer.from([0x81, 0x80 | 127]), bigLength(len)]);
  const body = Buffer.alloc(len);
  for (let i = 0; i < len; i++) body[i] = payload[i] ^ mask[i & 3];
  return Buffer.concat([head, Buffer.from(mask), body]);
}

function bigLength(n: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(n));
  return b;
}

/** Unmasked server frames from a byte stream; returns the text payloads and the unparsed rest. */
export function parseServerFrames(buf: Buffer): { texts: string[]; rest: Buffer } {
  const texts: string[] = [];
  let at = 0;
  for (;;) {
    if (buf.length - at < 2) break;
    const opcode = buf[at] & 0x0f;
    let len = buf[at + 1] & 0x7f;
    let off = 2;
    if (len === 126) {
      if (buf.length - at < 4) break;
      len = buf.readUInt16BE(at + 2);
      off = 4;
    } else if (len === 127) {
      if (buf.length - at < 10) break;
      len = Number(buf.readBigUInt64BE(at + 2));
      off = 10;
    }
    if (buf.length - at < off + len) break;
    if (opcode === 1) texts.push(buf.subarray(at + off, at + off + len).toString("utf8"));
    at += off + len;
  }
  return { texts, rest: buf.subarray(at) };
}

/**
 * A WebSocket operator over a raw TCP socket: it completes the handshake (`operator.read`, so it
 * receives every broadcast), then `stopReading()` pauses the socket: the kernel buffers fill and
 * the gateway sees a consumer that never drains. (A paused socket does not see the gateway's
 * close either; count drops from the gateway's log.)
 */
export class SlowConsumer {
  private constructor(readonly socket: Socket) {}

  static async connect(port: number, timeoutMs = 10_000): Promise<SlowConsumer> {
    const socket = netConnect({ host: "127.0.0.1", port });
    socket.setNoDelay(true);
    const key = Buffer.from(crypto.getRandomValues(new Uint8Array(16))).toString("base64");
    let buf: Buffer = Buffer.alloc(0);
    let upgraded = false;
    let sentConnect = false;
    const done = new Promise<void>((resolvePromise, reject) => {
      const timer = setTimeout(() => reject(new Error("slow consumer handshake timed out")), timeoutMs);
      socket.on("error", (e) => reject(e));
      socket.on("data", (chunk: Buffer) => {
        buf = Buffer.concat([buf, chunk]);
        if (!upgraded) {
          const end = buf.indexOf("\r\n\r\n");
          if (end < 0) return;
          if (!buf.subarray(0, 12).toString().includes("101")) return reject(new Error(`upgrade refused: ${buf.subarray(0, end).toString()}`));
          upgraded = true;
          buf = buf.subarray(end + 4);
        }
        const { texts, rest } = parseServerFrames(buf);
        buf = rest;
        for (const t of texts) {
          if (!sentConnect && t.includes('"connect.challenge"')) {
            sentConnect = true;
            socket.write(clientFrame(JSON.stringify({ type: "req", id: "connect", method: "connect", params: connectParams(["operator.read"]) })));
          } else if (t.includes('"id":"connect"')) {
            clearTimeout(timer);
            if (t.includes('"ok":true')) resolvePromise();
            else reject(new Error(`connect refused: ${t.slice(0, 200)}`));
          }
        }
      });
    });
    socket.on("connect", () => {
      socket.write(`GET / HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`);
    });
    await done;
    socket.removeAllListeners("data");
    socket.on("error", () => {});
    return new SlowConsumer(socket);
  }

  /** From now on nothing is read: TCP backpressure reaches the gateway. */
  stopReading(): void {
    this.socket.pause();
    // Keep the receive window small so the gateway's side fills up rather than ours.
    this.socket.setNoDelay(true);
  }

  destroy(): void {
    this.socket.destroy();
  }
}

// --- a provider that never answers ----------------------------------------------------------

/** Accepts TCP connections, reads the request, never writes a byte; counts open connections. */
export class SilentUpstream {
  open = 0;
  peak = 0;
  total = 0;
  private server?: Bun.TCPSocketListener<undefined>;

  start(): this {
    this.server = Bun.listen<undefined>({
      hostname: "127.0.0.1",
      port: 0,
      socket: {
        open: () => {
          this.open++;
          this.total++;
          this.peak = Math.max(this.peak, this.open);
        },
        data: () => {},
        close: () => {
          this.open--;
        },
        error: () => {},
      },
    });
    return this;
  }

  get port(): number {
    return this.server!.port;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}/v1`;
  }

  stop(): void {
    this.server?.stop(true);
  }
}

/** The fake provider of the test suite as its own process (echo, slow, kib-N, …). */
export async function startFakeUpstream(): Promise<{ url: string; stop(): Promise<void> }> {
  const port = await freePort();
  const proc = Bun.spawn([process.execPath, join(ROOT, "test/fixture/fake-upstream-main.ts"), String(port)], { stdout: "pipe", stderr: "pipe", stdin: "ignore" });
  const reader = proc.stdout.getReader();
  const decoder = new TextDecoder();
  let text = "";
  const ready = (async () => {
    while (!text.includes("listening")) {
      const { value, done } = await reader.read();
      if (done) throw new Error("fake upstream exited");
      text += decoder.decode(value);
    }
  })();
  if ((await within(ready, 10_000, "timeout" as const)) === "timeout") {
    await stopChild(proc, 0, "SIGKILL");
    throw new Error("fake upstream did not start");
  }
  reader.releaseLock();
  return { url: `http://127.0.0.1:${port}`, stop: async () => void (await stopChild(proc, 2_000)) };
}
