/**
 * Replays wire captures of the real OpenClaw 2026.9.6 gateway (test/fixture/transcripts)
 * against our server over a real WebSocket: same frames in, same codes, messages, details,
 * close codes and payload shapes out.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { RawPeer, startTestGateway, type TestGateway } from "../helpers/gateway.ts";

const DIR = join(import.meta.dir, "..", "fixture", "transcripts");

interface Line {
  conn?: number;
  dir: "meta" | "s2c" | "c2s";
  kind?: string;
  data?: any;
  text?: string;
  code?: number;
  reason?: string;
}

function load(name: string): Line[] {
  return readFileSync(join(DIR, name), "utf8")
    .split("\n")
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as Line);
}

function typeOf(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  return typeof v;
}

function at(value: unknown, path: string): unknown {
  let cur: any = value;
  for (const seg of path.split(".")) {
    if (cur === undefined || cur === null) return undefined;
    cur = cur[seg];
  }
  return cur;
}

/** Paths a client dereferences, per method; ours must exist with the upstream JSON type. */
const REQUIRED: Record<string, string[]> = {
  health: [
    "ok", "ts", "durationMs", "plugins.loaded", "plugins.errors", "configReload.hotReloadStatus", "channels",
    "channelOrder", "channelLabels", "heartbeatSeconds", "defaultAgentId", "agents", "agents.0.agentId",
    "agents.0.isDefault", "agents.0.heartbeat.enabled", "agents.0.heartbeat.every", "agents.0.heartbeat.everyMs",
    "agents.0.heartbeat.target", "agents.0.heartbeat.ackMaxChars", "agents.0.sessions.path",
    "agents.0.sessions.count", "agents.0.sessions.recent", "sessions.path", "sessions.count", "sessions.recent",
  ],
  status: [
    "runtimeVersion", "heartbeat.defaultAgentId", "heartbeat.agents.0.agentId", "heartbeat.agents.0.enabled",
    "heartbeat.agents.0.every", "heartbeat.agents.0.everyMs", "channelSummary", "queuedSystemEvents",
    "degradedSecretOwners", "degradedPlugins", "sessions.paths", "sessions.count", "sessions.defaults.model",
    "sessions.recent", "sessions.byAgent.0.agentId", "sessions.byAgent.0.path", "processMemory.rssBytes", "pid",
  ],
  "system-presence": ["0.host", "0.ip", "0.version", "0.platform", "0.deviceFamily", "0.mode", "0.reason", "0.instanceId", "0.text", "0.ts"],
  "config.get": ["path", "exists", "raw", "parsed", "valid", "config", "hash", "issues", "legacyIssues"],
  "models.list": ["models"],
};

function checkShape(method: string, ours: unknown, theirs: unknown): void {
  for (const path of REQUIRED[method] ?? []) {
    const want = at(theirs, path);
    const got = at(ours, path);
    expect({ path, type: typeOf(got) }).toEqual({ path, type: typeOf(want) });
  }
}

function checkHello(ours: any, theirs: any): void {
  expect(ours.type).toBe("hello-ok");
  expect(ours.protocol).toBe(4);
  expect(typeof ours.server.version).toBe("string");
  expect(typeof ours.server.connId).toBe("string");
  expect(Array.isArray(ours.features.methods)).toBe(true);
  expect(ours.features.methods).toContain("health");
  expect(ours.features.events).toContain("tick");
  expect(Array.isArray(ours.snapshot.presence)).toBe(true);
  // Scope-less sockets (probes) get no presence, as upstream; readers get the self entry first.
  expect(ours.snapshot.presence.length === 0).toBe(theirs.snapshot.presence.length === 0);
  if (theirs.snapshot.presence.length) expect(ours.snapshot.presence[0]).toMatchObject({ mode: "gateway", reason: "self" });
  expect(typeof ours.snapshot.health).toBe("object");
  expect(ours.snapshot.stateVersion).toEqual({ presence: expect.any(Number), health: expect.any(Number) });
  expect(typeof ours.snapshot.uptimeMs).toBe("number");
  expect(ours.snapshot.sessionDefaults).toMatchObject({ defaultAgentId: "main", mainKey: "main", mainSessionKey: "agent:main:main" });
  expect(ours.snapshot.suspension).toEqual({ phase: "accepting" });
  // configPath/stateDir/authMode only for admin sockets, exactly as upstream.
  expect("configPath" in ours.snapshot).toBe("configPath" in theirs.snapshot);
  expect(ours.auth.role).toBe(theirs.auth.role);
  expect(ours.auth.scopes).toEqual(theirs.auth.scopes);
  expect(ours.auth.method).toBe(theirs.auth.method);
  for (const k of ["maxPayload", "maxBufferedBytes", "tickIntervalMs"] as const) expect(ours.policy[k]).toBe(theirs.policy[k]);
}

/**
 * Drive every connection of a transcript in order. Server events other than the challenge
 * (health refreshes, ticks) are timing-dependent upstream and are skipped.
 */
async function replay(gw: TestGateway, name: string): Promise<number> {
  const lines = load(name);
  const methods = new Map<string, string>();
  const peers = new Map<number, RawPeer>();
  /** Responses that arrived before we looked for them (they may come out of order). */
  const stash = new Map<number, Map<string, any>>();
  /** Connections the capture tool itself ended (client close or replay timeout). */
  const endedByClient = new Set<number>();
  let compared = 0;
  const peerFor = async (conn: number) => {
    let peer = peers.get(conn);
    if (!peer) {
      peer = new RawPeer(gw.url);
      peers.set(conn, peer);
      stash.set(conn, new Map());
      await peer.opened;
    }
    return peer;
  };
  const nextFrame = async (conn: number, peer: RawPeer, wantId?: string) => {
    const held = wantId ? stash.get(conn)!.get(wantId) : undefined;
    if (held) {
      stash.get(conn)!.delete(wantId!);
      return held;
    }
    for (;;) {
      const r = await peer.next(8000);
      if (r.kind === "close") throw new Error(`closed ${r.code} ${r.reason} while waiting for ${wantId ?? "a frame"}`);
      const f = r.data;
      if (f?.type === "event" && f.event !== "connect.challenge") continue;
      if (wantId && f?.type === "res" && f.id !== wantId) {
        stash.get(conn)!.set(f.id, f);
        continue;
      }
      return f;
    }
  };
  try {
    for (const line of lines) {
      const conn = line.conn ?? 1;
      if (line.dir === "meta") {
        if (line.kind === "open") await peerFor(conn);
        if (line.kind === "timeout-still-open") endedByClient.add(conn);
        continue;
      }
      const peer = await peerFor(conn);
      if (line.dir === "c2s") {
        if (line.kind === "close") {
          // Closed at the end: upstream still answered requests in flight after the client's close.
          endedByClient.add(conn);
          continue;
        }
        const text = (line.text ?? JSON.stringify(line.data)).replaceAll("<TOKEN>", gw.token);
        try {
          const frame = JSON.parse(text);
          if (frame?.type === "req") methods.set(frame.id, frame.method);
        } catch {}
        peer.send(text);
        continue;
      }
      // s2c
      if (line.kind === "close") {
        if (endedByClient.has(conn)) continue;
        const r = await peer.closed(20_000);
        expect({ code: r.code, reason: r.reason }).toEqual({ code: line.code!, reason: line.reason ?? "" });
        compared++;
        continue;
      }
      const want = line.data;
      if (want.type === "event" && want.event !== "connect.challenge") continue;
      const got = await nextFrame(conn, peer, want.type === "res" ? want.id : undefined);
      if (want.type === "event") {
        expect(got.type).toBe("event");
        expect(got.event).toBe("connect.challenge");
        expect(got.payload.nonce).toMatch(/^[0-9a-f-]{36}$/);
        expect(Number.isInteger(got.payload.ts)).toBe(true);
        expect("seq" in got).toBe(false);
        compared++;
        continue;
      }
      expect(got.type).toBe("res");
      expect(got.id).toBe(want.id);
      expect(got.ok).toBe(want.ok);
      if (!want.ok) {
        expect(got.error).toEqual(want.error);
      } else if (want.payload?.type === "hello-ok") {
        checkHello(got.payload, want.payload);
      } else {
        checkShape(methods.get(want.id) ?? "", got.payload, want.payload);
      }
      compared++;
    }
  } finally {
    for (const p of peers.values()) p.close();
  }
  return compared;
}

let gw: TestGateway | undefined;
afterEach(async () => {
  await gw?.stop();
  gw = undefined;
});

describe("transcript replay (real OpenClaw 2026.9.6 captures)", () => {
  const cases = [
    "call-health.jsonl",
    "call-status.jsonl",
    "call-system-presence.jsonl",
    "call-config-get.jsonl",
    "call-models-list.jsonl",
    "call-unknown-method.jsonl",
    "call-health-badtoken.jsonl",
    "gateway-health.jsonl",
    "gateway-status.jsonl",
    "health-env.jsonl",
    "probe.jsonl",
    "status-remote.jsonl",
    "edge/bad-frame-type.jsonl",
    "edge/bad-protocol.jsonl",
    "edge/connect-before-challenge.jsonl",
    "edge/empty-token.jsonl",
    "edge/invalid-json.jsonl",
    "edge/missing-params.jsonl",
    "edge/no-token.jsonl",
    "edge/not-connect-first.jsonl",
    "edge/wrong-token.jsonl",
    "edge/wrong-token-after-3.jsonl",
  ];
  for (const name of cases) {
    test(name, async () => {
      gw = await startTestGateway();
      const compared = await replay(gw, name);
      expect(compared).toBeGreaterThan(0);
    });
  }

  test("edge/idle-no-connect.jsonl (handshake timeout closes 1000 with an empty reason)", async () => {
    gw = await startTestGateway({ limits: { handshakeTimeoutMs: 300 } });
    const compared = await replay(gw, "edge/idle-no-connect.jsonl");
    expect(compared).toBe(2);
  });

  test("shutdown-sigterm.jsonl: shutdown event, then close 1012 service restart", async () => {
    gw = await startTestGateway();
    const lines = load("shutdown-sigterm.jsonl");
    const peers: RawPeer[] = [];
    for (const conn of [1, 2]) {
      const connect = lines.find((l) => l.conn === conn && l.dir === "c2s" && l.data?.method === "connect")!;
      const peer = new RawPeer(gw.url);
      await peer.opened;
      expect((await peer.frame()).event).toBe("connect.challenge");
      peer.send(JSON.stringify(connect.data).replaceAll("<TOKEN>", gw.token));
      expect((await peer.frame()).ok).toBe(true);
      peers.push(peer);
    }
    await gw.handle.stop();
    for (const [i, peer] of peers.entries()) {
      const { code, reason, frames } = await peer.closed();
      const want = lines.find((l) => l.conn === i + 1 && l.dir === "s2c" && l.data?.event === "shutdown")!.data;
      const shutdown = frames.find((f) => f.event === "shutdown");
      expect(shutdown.payload).toEqual(want.payload);
      expect(shutdown.seq).toBeGreaterThanOrEqual(1);
      const close = lines.find((l) => l.conn === i + 1 && l.dir === "s2c" && l.kind === "close")!;
      expect({ code, reason }).toEqual({ code: close.code!, reason: close.reason! });
    }
  });
});
