/**
 * The methods the official Control UI calls, replayed with the exact params it sent to the
 * original (test/fixture/transcripts/control-ui/official-ui-calls.json, captured from the
 * 2026.9.6 UI against the 2026.9.6 gateway), against a real gateway with the control-UI part:
 * every one this gateway serves answers, with the original's top-level fields except the ones
 * of features this gateway does not have (listed below, each with why); results parse against
 * the contract; the session subscriptions deliver `sessions.changed` and `session.message` to
 * the sockets that asked and to no other; bad params and missing scopes are refused.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { gatewayParts } from "../../src/gateway/parts.ts";
import { MAX_MESSAGE_SUBSCRIPTIONS } from "../../src/gateway/methods/sessions-ui.ts";
import { CONTRACT_UI } from "../../src/protocol/contract-ui.ts";
import { CONTRACT, isContractMethod } from "../../src/protocol/contract.ts";
import type { GatewayClient } from "../../src/protocol/client.ts";
import type { EventFrame } from "../../src/protocol/frames.ts";
import { FakeUpstream } from "../fixture/fake-upstream.ts";
import { aiConfig } from "../helpers/ai.ts";
import { startTestRuntime, type TestRuntime } from "../helpers/runtime.ts";
import { tempDir } from "../helpers/state-dir.ts";

const FIXTURE = join(import.meta.dir, "../fixture/transcripts/control-ui/official-ui-calls.json");
type Call = { page: string; method: string; params: Record<string, unknown>; ok: boolean; result?: unknown };
const calls = (JSON.parse(await Bun.file(FIXTURE).text()) as { calls: Call[] }).calls;

/** Methods other parts of the gateway bring (device pairing, the scheduler). */
const OWNED_ELSEWHERE = new Set(["device.pair.list", "cron.list", "cron.status", "cron.runs"]);

/**
 * Methods the UI calls on the original only because the original advertises them; this gateway
 * has none of these features and does not advertise them, so the UI does not call them.
 */
const NOT_ADVERTISED = [
  "plugins.controlUi.list", "plugin.surface.refresh", "board.get", "sessions.viewers.set", "controlUi.sessionPullRequests.subscribe",
  "projects.list", "taskSuggestions.list", "session.discussion.info", "sessions.groups.list", "sessions.groups.defaults",
  "mentions.list", "sessions.catalog.list", "sessions.github.options", "session.members.listEvidence", "sessions.patch",
];

/** Top-level fields of the original's answers that belong to features this gateway does not have. */
const ABSENT_FIELDS: Record<string, string[]> = {
  // Update channels and schedules: this gateway does not update itself.
  "update.status": ["effectiveChannel", "schedule"],
  // Agent roster and binding ownership (multi-user profiles).
  "config.get": ["agentRosterIncludeOwned", "bindingsIncludeOwned"],
  // Swarms, provider accounts, agent runtimes.
  "chat.metadata": ["swarmEnabled", "accountSelection", "runtimeSelectionLocked"],
  "models.list": ["accountSelection", "defaultModels"],
  // No durable user identity: the original answers `no_durable_identity` without entries then.
  "users.prefs.get": ["entries"],
  // Event-loop health sampling is not reported.
  "system.info": ["eventLoop"],
  // Thinking levels, delta cursors and in-flight run snapshots are not kept.
  "chat.history": ["thinkingLevel", "inFlightRun", "deltaCursor"],
  // Channel presentation metadata (the channels part answers channels.status).
  "channels.status": ["channelDetailLabels", "channelSystemImages", "channelMeta", "eventLoop", "statusIssues"],
};

let fake: FakeUpstream;
let t: TestRuntime;
let c: GatewayClient;

beforeAll(async () => {
  fake = new FakeUpstream().start();
  const cfg = aiConfig(fake) as Record<string, any>;
  cfg.agents.list.push({ id: "slowpoke", model: "oai/slow", identity: { name: "Slow Poke", avatar: "🐢" } });
  const logDir = tempDir("openclaw-ui-methods-log-");
  const logFile = join(logDir, "gateway.log");
  writeFileSync(logFile, `${JSON.stringify({ time: new Date().toISOString(), level: "info", subsystem: "gateway", message: "ready" })}\n`);
  t = await startTestRuntime({ config: cfg, subsystems: gatewayParts(), logFile });
  c = await t.connect({ scopes: ["operator.admin"] });
});

afterAll(async () => {
  await c?.close();
  await t?.stop();
  await fake?.stop();
});

function keysOf(v: unknown): string[] {
  return v && typeof v === "object" && !Array.isArray(v) ? Object.keys(v) : [];
}

describe("the official Control UI's calls, with its exact params", () => {
  test("the capture covers the chat, sessions, logs, devices, systems and automations pages", () => {
    expect(new Set(calls.map((x) => x.page))).toEqual(new Set(["chat", "sessions", "logs", "devices", "systems", "automations"]));
  });

  for (const call of calls) {
    if (call.method === "chat.send" || OWNED_ELSEWHERE.has(call.method) || NOT_ADVERTISED.includes(call.method)) continue;
    test(`${call.page}: ${call.method} ${JSON.stringify(call.params).slice(0, 80)}`, async () => {
      const params = { ...call.params };
      // The capture's session belonged to the original's own default agent `main`, as ours.
      const result = await c.request<unknown>(call.method, params);
      expect(call.ok).toBe(true);
      const missing = keysOf(call.result).filter((k) => !keysOf(result).includes(k) && !(ABSENT_FIELDS[call.method] ?? []).includes(k));
      // A `cursor` from another gateway's history is one this gateway cannot continue: reset.
      if (call.params.cursor !== undefined && call.method.startsWith("chat.")) expect(result).toEqual({ kind: "reset" });
      else expect(missing).toEqual([]);
      if (isContractMethod(call.method)) {
        const parsed = CONTRACT[call.method].result().safeParse(result);
        if (!parsed.success) throw new Error(`${call.method}: ${JSON.stringify(parsed.error.issues)}`);
      }
    });
  }

  test("what the UI calls only when advertised is not advertised; everything advertised answers", async () => {
    const advertised = c.hello.features.methods;
    for (const m of NOT_ADVERTISED) expect(advertised).not.toContain(m);
    for (const m of Object.keys(CONTRACT_UI)) expect(advertised).toContain(m);
    // hello-ok lists exactly the registry: each advertised method answers something other than "unknown method".
    for (const m of advertised) {
      const err = await c.request(m, {}).then(() => undefined, (e: Error) => e.message);
      expect(err ?? "").not.toStartWith("unknown method");
    }
  });
});

describe("params official clients send", () => {
  test("models.list {view:'configured', sessionKey, agentId} (the model picker) lists the agent's models", async () => {
    const r = await c.request<any>("models.list", { view: "configured", sessionKey: "agent:slowpoke:main", agentId: "slowpoke" });
    expect(r.models.find((m: any) => m.provider === "oai" && m.id === "slow")).toMatchObject({ tags: ["default"], available: true });
    expect(r.models.length).toBeGreaterThan(1);
    await expect(c.request("models.list", { view: "configured", agentId: "ghost" })).rejects.toThrow('unknown agent id "ghost"');
  });

  test("sessions.list {limit:10000, spawnedBy} (the UI's poll) and the UI's page params", async () => {
    const poll = await c.request<any>("sessions.list", { includeGlobal: false, includeUnknown: false, configuredAgentsOnly: true, limit: 10000, spawnedBy: "agent:main:main" });
    expect(poll).toMatchObject({ sessions: [], count: 0, totalCount: 0, limitApplied: 10000, hasMore: false, nextOffset: null });
    const plain = await c.request<any>("sessions.list", { limit: 10000 });
    expect(plain.limitApplied).toBe(10000);
    await expect(c.request("sessions.list", { limit: 0 })).rejects.toThrow("invalid sessions.list params: at /limit: must be >= 1");
  });

  test("sessions.list filters: configuredAgentsOnly, search, paging with nextOffset", async () => {
    const store = t.runtime.agents.store;
    const tag = crypto.randomUUID().slice(0, 8);
    store.append({ key: `agent:retired:${tag}`, agentId: "retired", messages: [{ role: "user", content: `retired ${tag}` }] });
    store.append({ key: `agent:main:find-${tag}`, agentId: "main", messages: [{ role: "user", content: `needle ${tag}` }] });
    store.append({ key: `agent:main:other-${tag}`, agentId: "main", messages: [{ role: "user", content: `hay ${tag}` }] });
    const all = await c.request<any>("sessions.list", { limit: 10000 });
    expect(all.sessions.some((r: any) => r.agentId === "retired")).toBe(true);
    const configured = await c.request<any>("sessions.list", { limit: 10000, configuredAgentsOnly: true });
    expect(configured.sessions.some((r: any) => r.agentId === "retired")).toBe(false);
    expect(configured.totalCount).toBe(all.totalCount - 1);
    const found = await c.request<any>("sessions.list", { search: `needle ${tag}`, includeDerivedTitles: true, includeLastMessage: true });
    expect(found.sessions.map((r: any) => [r.key, r.derivedTitle, r.lastMessagePreview])).toEqual([[`agent:main:find-${tag}`, `needle ${tag}`, `needle ${tag}`]]);
    const first = await c.request<any>("sessions.list", { limit: 1, configuredAgentsOnly: true });
    expect(first).toMatchObject({ count: 1, offset: 0, nextOffset: 1, hasMore: true });
    const second = await c.request<any>("sessions.list", { limit: 1, offset: first.nextOffset, configuredAgentsOnly: true });
    expect(second.sessions[0].key).not.toBe(first.sessions[0].key);
  });

  test("chat.send with the UI's fields (deliver, expectedLeafEntryId) runs; blank text is refused as the original refuses it", async () => {
    const key = `agent:main:ui-${crypto.randomUUID().slice(0, 8)}`;
    const final = c.waitForEvent("chat", 10_000);
    const ack = await c.request<any>("chat.send", { sessionKey: key, message: "from the ui", deliver: false, expectedLeafEntryId: null, idempotencyKey: crypto.randomUUID() });
    expect(ack.status).toBe("started");
    await final;
    await expect(c.request("chat.send", { sessionKey: key, message: "   ", idempotencyKey: crypto.randomUUID() })).rejects.toThrow("message or attachment required");
    await expect(c.request("chat.send", { sessionKey: key, message: "", idempotencyKey: crypto.randomUUID() })).rejects.toThrow("message or attachment required");
    await expect(c.request("chat.send", { sessionKey: key, message: "see file", attachments: [{ type: "image" }], idempotencyKey: crypto.randomUUID() })).rejects.toThrow(
      "attachments are not supported by this gateway",
    );
    // The UI's follow-up read with inputRunIds and the history page's own fields.
    const h = await c.request<any>("chat.history", { sessionKey: key, inputRunIds: [ack.runId], limit: 1000 });
    expect(h).toMatchObject({ pendingInputs: { items: [], total: 0 }, inputReceipts: [], inputConsumptions: [] });
  });

  test("health accepts any probe value as the original does; only true probes", async () => {
    expect((await c.request<any>("health", { probe: "yes" })).ok).toBe(true);
  });
});

describe("chat.startup, sessions.describe, agents", () => {
  test("chat.startup before and after the first message; the user message carries its submission identity", async () => {
    const key = `agent:slowpoke:start-${crypto.randomUUID().slice(0, 8)}`;
    const empty = await c.request<any>("chat.startup", { sessionKey: key, limit: 80, maxBytes: 262144 });
    expect(empty).toMatchObject({ sessionKey: key, sessionId: null, messages: [], hasMore: false, totalMessages: 0, defaults: { modelProvider: "oai", model: "slow" } });
    expect(empty.sessionInfo).toMatchObject({ key, agentId: "slowpoke", kind: "direct", updatedAt: null, hasActiveRun: false, activeRunIds: [] });
    expect((await c.request<any>("sessions.describe", { key })).session).toBeNull();

    const runId = crypto.randomUUID();
    // A long question: the page below with maxBytes 1024 has room for the reply only.
    await c.request("chat.send", { sessionKey: key, message: `hi there ${"x".repeat(1100)}`, idempotencyKey: runId });
    await c.request("agent.wait", { runId, timeoutMs: 10_000 }, { timeoutMs: 15_000 });
    const page = await c.request<any>("chat.startup", { sessionKey: key, limit: 80, maxBytes: 262144 });
    expect(page.totalMessages).toBe(2);
    const [user, assistant] = page.messages;
    expect(user).toMatchObject({ role: "user", idempotencyKey: `${runId}:user`, __openclaw: { id: `${page.sessionId}:1`, seq: 1, idempotencyKey: `${runId}:user` } });
    expect(assistant).toMatchObject({ role: "assistant", __openclaw: { id: `${page.sessionId}:2`, seq: 2, runId } });
    expect(assistant.content[0].text).toContain("s19");
    const described = (await c.request<any>("sessions.describe", { key })).session;
    expect(described).toMatchObject({ key, sessionId: page.sessionId, agentId: "slowpoke", messageCount: 2, modelProvider: "oai", model: "slow" });

    // maxBytes keeps the newest messages that fit.
    const small = await c.request<any>("chat.startup", { sessionKey: key, maxBytes: 1024 });
    expect(small.messages.map((m: any) => m.role)).toEqual(["assistant"]);
    expect(small.hasMore).toBe(true);
  }, 30_000);

  test("agents.list and agent.identity.get read the configured agents and identities", async () => {
    const list = await c.request<any>("agents.list", {});
    expect(list).toMatchObject({ defaultId: "main", mainKey: "main", scope: "per-sender" });
    expect(list.agents.map((a: any) => a.id)).toEqual(["main", "ops", "fb", "resp", "oll", "slowpoke"]);
    expect(list.agents.find((a: any) => a.id === "slowpoke")).toMatchObject({ kind: "agent", identity: { name: "Slow Poke", avatar: "🐢" }, model: { primary: "oai/slow" } });
    expect(await c.request("agent.identity.get", { agentId: "slowpoke" })).toEqual({ agentId: "slowpoke", name: "Slow Poke", nameSource: "agent", avatar: "🐢", emoji: "🐢" });
    expect(await c.request("agent.identity.get", { agentId: "main" })).toEqual({ agentId: "main", name: "Assistant", nameSource: "default", avatar: "A" });
    expect(await c.request("agent.identity.get", {})).toMatchObject({ agentId: "main" });
  });

  test("models.authStatus says how each provider authenticates, without secrets", async () => {
    const r = await c.request<any>("models.authStatus", { agentId: "main" });
    expect(r.providers.find((p: any) => p.provider === "anth")).toEqual({ provider: "anth", authProvider: "anth", displayName: "anth", status: "static", profiles: [], apiKey: { source: "config" } });
    expect(r.providers.find((p: any) => p.provider === "oai")).toEqual({ provider: "oai", authProvider: "oai", displayName: "oai", status: "none", profiles: [] });
    expect(JSON.stringify(r)).not.toContain("sk-anth");
  });

  test("system.info describes this host and process", async () => {
    const r = await c.request<any>("system.info", {});
    expect(r).toMatchObject({ platform: process.platform, arch: process.arch, pid: process.pid, port: t.runtime.port, diskPath: t.stateDir, defaultAgentUtilityModel: { status: "unavailable" } });
    expect(r.processMemory.rssBytes).toBeGreaterThan(0);
    expect(r.diskAvailableBytes).toBeGreaterThan(0);
  });
});

describe("session subscriptions", () => {
  test("sessions.subscribe gets sessions.changed (run start, send, end); sessions.messages.subscribe gets session.message for its key only", async () => {
    const watcher = await t.connect({ scopes: ["operator.read"] });
    const bystander = await t.connect({ scopes: ["operator.read"] });
    const seen: EventFrame[] = [];
    const bystanderSeen: EventFrame[] = [];
    watcher.onEvent((e) => seen.push(e));
    bystander.onEvent((e) => bystanderSeen.push(e));
    expect(await watcher.request("sessions.subscribe", {})).toEqual({ subscribed: true });
    const key = `agent:main:sub-${crypto.randomUUID().slice(0, 8)}`;
    expect(await watcher.request("sessions.messages.subscribe", { key, includeApprovals: true })).toMatchObject({ subscribed: true, key, approvalReplay: { sessionKey: key, approvals: [], truncated: false } });
    await bystander.request("sessions.messages.subscribe", { key: "agent:main:elsewhere" });

    const runId = crypto.randomUUID();
    const ended = new Promise<void>((resolve) => watcher.onEvent((e) => e.event === "sessions.changed" && (e.payload as any).phase === "end" && resolve()));
    await c.request("chat.send", { sessionKey: key, message: "watch this", idempotencyKey: runId });
    await ended;

    const changed = seen.filter((e) => e.event === "sessions.changed").map((e) => e.payload as any);
    expect(changed.map((p) => p.phase ?? p.reason)).toEqual(["start", "send", "end"]);
    expect(changed[0]).toMatchObject({ sessionKey: key, runId, session: { hasActiveRun: true, activeRunIds: [runId] } });
    expect(changed[2]).toMatchObject({ sessionKey: key, runId, session: { hasActiveRun: false, activeRunIds: [], messageCount: 2 } });
    const messages = seen.filter((e) => e.event === "session.message").map((e) => e.payload as any);
    expect(messages.map((m) => [m.message.role, m.messageSeq])).toEqual([["user", 1], ["assistant", 2]]);
    expect(messages[0]).toMatchObject({ sessionKey: key, messageId: `${messages[0].session.sessionId}:1`, message: { idempotencyKey: `${runId}:user` } });
    // The bystander follows another session and not the list: nothing of this one reaches it.
    expect(bystanderSeen.filter((e) => e.event === "sessions.changed" || e.event === "session.message")).toEqual([]);

    // Unsubscribed: the next turn's messages do not come.
    expect(await watcher.request("sessions.messages.unsubscribe", { key })).toEqual({ subscribed: false, key });
    seen.length = 0;
    const again = crypto.randomUUID();
    await c.request("chat.send", { sessionKey: key, message: "again", idempotencyKey: again });
    await c.request("agent.wait", { runId: again, timeoutMs: 10_000 });
    await watcher.request("health", {});
    expect(seen.filter((e) => e.event === "session.message")).toEqual([]);
    expect(seen.some((e) => e.event === "sessions.changed")).toBe(true);
    await watcher.close();
    await bystander.close();
  }, 30_000);

  test("sessions.subscribe with list params also returns the snapshot", async () => {
    const r = await c.request<any>("sessions.subscribe", { limit: 5, includeLastMessage: true });
    expect(r.subscribed).toBe(true);
    expect(r.list).toMatchObject({ limitApplied: 5, owners: [] });
    expect(r.list.sessions.length).toBeLessThanOrEqual(5);
  });

  test("one socket follows at most MAX_MESSAGE_SUBSCRIPTIONS sessions (the oldest goes)", async () => {
    const w = await t.connect({ scopes: ["operator.read"] });
    const seen: EventFrame[] = [];
    w.onEvent((e) => seen.push(e));
    const first = `agent:main:cap-first-${crypto.randomUUID().slice(0, 8)}`;
    await w.request("sessions.messages.subscribe", { key: first });
    for (let i = 0; i < MAX_MESSAGE_SUBSCRIPTIONS; i++) await w.request("sessions.messages.subscribe", { key: `agent:main:cap-${i}` });
    const runId = crypto.randomUUID();
    await c.request("chat.send", { sessionKey: first, message: "evicted?", idempotencyKey: runId });
    await c.request("agent.wait", { runId, timeoutMs: 10_000 });
    await w.request("health", {});
    expect(seen.filter((e) => e.event === "session.message")).toEqual([]);
    await w.close();
  }, 30_000);
});

describe("bad input and scopes", () => {
  test("required params are required, with the original's messages", async () => {
    await expect(c.request("sessions.describe", {})).rejects.toThrow("invalid sessions.describe params: must have required property 'key'");
    await expect(c.request("sessions.messages.subscribe", {})).rejects.toThrow("invalid sessions.messages.subscribe params: must have required property 'key'");
    await expect(c.request("sessions.observer.visibility", {})).rejects.toThrow("invalid sessions.observer.visibility params: must have required property 'visible'");
    await expect(c.request("sessions.branches.list", {})).rejects.toThrow("invalid sessions.branches.list params: must have required property 'sessionKey'");
    await expect(c.request("sessions.companion.state", {})).rejects.toThrow("invalid sessions.companion.state params: must have required property 'sessionKey'");
    await expect(c.request("chat.startup", { sessionKey: "main", maxBytes: 100 })).rejects.toThrow("at /maxBytes: must be >= 1024");
    await expect(c.request("chat.startup", { sessionKey: "main", limit: 5000 })).rejects.toThrow("at /limit: must be <= 1000");
    await expect(c.request("sessions.messages.subscribe", { key: 42 })).rejects.toThrow("at /key: must be string");
    await expect(c.request("chat.metadata", { agentId: "ghost" })).rejects.toThrow('unknown agent id "ghost"');
  });

  test("each method needs the original's scope", async () => {
    const reader = await t.connect({ scopes: ["operator.read"] });
    for (const m of ["update.status", "exec.approvals.get"]) await expect(reader.request(m, {})).rejects.toThrow("missing scope: operator.admin");
    await expect(reader.request("question.list", {})).rejects.toThrow("missing scope: operator.questions");
    for (const m of ["exec.approval.list", "plugin.approval.list", "openclaw.approval.list"]) await expect(reader.request(m, {})).rejects.toThrow("missing scope: operator.approvals");
    expect(await reader.request("sessions.subscribe", {})).toEqual({ subscribed: true });
    await reader.close();
  });
});
