/**
 * The hooks ingress as a Request → Response function: auth and its rate limit, body limits,
 * wake/agent/mapping actions, session and agent policy. Statuses, headers and bodies follow
 * the original's captures in test/fixture/transcripts/cron/http.
 */
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { OpenClawConfig } from "../../src/config/schema.ts";
import { createHooksHandler, hooksStatus, renderTemplate, type HookAgentRequest, type HookWakeRequest, type HooksConfigInput } from "../../src/automation/hooks.ts";
import { ManualClock, deferred } from "./helpers.ts";

const TOKEN = "hooktok-abcdef123456";
const BASE = "http://127.0.0.1:18789";

function make(hooks: HooksConfigInput | undefined, opts: { channels?: string[]; admit?: (req: HookAgentRequest) => Promise<any> } = {}) {
  const clock = new ManualClock(Date.parse("2026-12-06T00:00:00Z"));
  const wakes: HookWakeRequest[] = [];
  const agents: HookAgentRequest[] = [];
  let lastWakeText: string | undefined;
  let seq = 0;
  const handler = createHooksHandler({
    config: () => ({ hooks } as unknown as OpenClawConfig),
    clock,
    knownAgents: () => ["main", "ops"],
    defaultAgentId: () => "main",
    channels: () => opts.channels ?? [],
    dispatchWake: (req) => {
      wakes.push(req);
      const outcome = lastWakeText === req.text ? "coalesced" : "queued";
      lastWakeText = req.text;
      return { outcome };
    },
    dispatchAgent:
      opts.admit ??
      (async (req) => {
        agents.push(req);
        return { ok: true, runId: `run-${++seq}`, completion: Promise.resolve({ status: "ok", replyDisposition: "visible", delivered: false, deliveryAttempted: true }) };
      }),
  });
  const call = (path: string, init: RequestInit & { ip?: string } = {}) =>
    handler(new Request(`${BASE}${path}`, { method: "POST", ...init }), { clientIp: init.ip ?? "127.0.0.1" });
  const post = (path: string, body: unknown, headers: Record<string, string> = { Authorization: `Bearer ${TOKEN}` }, ip?: string) =>
    call(path, { body: typeof body === "string" ? body : JSON.stringify(body), headers, ip });
  return { handler, clock, wakes, agents, call, post };
}

const ON: HooksConfigInput = { enabled: true, token: TOKEN, path: "/hooks" };

async function parts(res: Response | undefined) {
  if (!res) return undefined;
  const body = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    json = undefined;
  }
  return { status: res.status, body, json: json as any, type: res.headers.get("content-type"), retryAfter: res.headers.get("retry-after"), allow: res.headers.get("allow") };
}

/** Status line and body of a curl capture from the original. */
function captured(name: string): { status: number; body: string } {
  const raw = readFileSync(join(import.meta.dir, "..", "fixture", "transcripts", "cron", "http", `${name}.txt`), "utf8");
  const status = Number(/^HTTP\/1\.1 (\d+)/.exec(raw)![1]);
  const body = raw.split(/\r?\n\r?\n/).slice(1).join("\n\n");
  return { status, body };
}

describe("routing and off by default", () => {
  test("disabled, tokenless or other paths fall through", async () => {
    expect(await make(undefined).post("/hooks/wake", { text: "x" })).toBeUndefined();
    expect(await make({ enabled: false, token: TOKEN }).post("/hooks/wake", { text: "x" })).toBeUndefined();
    expect(await make({ enabled: true }).post("/hooks/wake", { text: "x" })).toBeUndefined();
    expect(await make(ON).post("/v1/models", {})).toBeUndefined();
    expect(await make(ON).post("/hooksX/wake", {})).toBeUndefined();
  });
  test("a custom path is normalized", async () => {
    const h = make({ enabled: true, token: TOKEN, path: "in/" });
    expect((await parts(await h.post("/in/wake", { text: "x" })))!.status).toBe(200);
  });
});

describe("the original's answers", () => {
  const cases: Array<[string, (h: ReturnType<typeof make>) => Promise<Response | undefined>]> = [
    ["wake-ok", (h) => h.post("/hooks/wake", { text: "hook wake", mode: "next-heartbeat" })],
    ["wake-xtoken", (h) => h.post("/hooks/wake", { text: "hook wake 2", mode: "next-heartbeat" }, { "x-openclaw-token": TOKEN })],
    ["wake-empty", (h) => h.post("/hooks/wake", { text: "" })],
    ["wake-array", (h) => h.post("/hooks/wake", [1, 2])],
    ["wake-badmode", (h) => h.post("/hooks/wake", { text: "x", mode: "later" })],
    ["query-token", (h) => h.call(`/hooks/wake?token=${TOKEN}`, { body: "{}", headers: { Authorization: `Bearer ${TOKEN}` } })],
    ["get-method", (h) => h.call("/hooks/wake", { method: "GET", headers: { Authorization: `Bearer ${TOKEN}` } })],
    ["root", (h) => h.post("/hooks", {})],
    ["unknown-map", (h) => h.post("/hooks/nothing", {})],
    ["agent-nomsg", (h) => h.post("/hooks/agent", { name: "x" })],
    ["agent-partial-dest", (h) => h.post("/hooks/agent", { message: "x", channel: "telegram" })],
    ["agent-bad-agent", (h) => h.post("/hooks/agent", { message: "x", agentId: "ghost" })],
    ["agent-sessionkey", (h) => h.post("/hooks/agent", { message: "x", sessionKey: "hook:abc" })],
    ["too-big", (h) => h.post("/hooks/wake", JSON.stringify({ text: "a".repeat(300_000) }))],
    ["no-auth", (h) => h.post("/hooks/wake", { text: "x" }, {})],
  ];
  for (const [name, run] of cases) {
    test(name, async () => {
      const want = captured(name);
      const got = (await parts(await run(make(ON))))!;
      expect(got.status).toBe(want.status);
      expect(got.body).toBe(want.body.replace("<HOOK_TOKEN>", TOKEN));
    });
  }
  test("405 names the allowed method; 413/400 are JSON, auth failures plain text", async () => {
    const h = make(ON);
    expect((await parts(await h.call("/hooks/wake", { method: "GET" })))!.allow).toBe("POST");
    expect((await parts(await h.post("/hooks/wake", "{\"text\":")))!).toMatchObject({ status: 400, json: { ok: false, error: expect.any(String) } });
    expect((await parts(await h.post("/hooks/wake", { text: "x" }, { Authorization: "Bearer nope" })))!).toMatchObject({ status: 401, body: "Unauthorized", type: "text/plain; charset=utf-8" });
  });
  test("coalesced wake", async () => {
    const h = make(ON);
    await h.post("/hooks/wake", { text: "same", mode: "next-heartbeat" });
    const second = (await parts(await h.post("/hooks/wake", { text: "same", mode: "next-heartbeat" })))!;
    expect(second.body).toBe(captured("wake-coalesce2").body);
  });
});

describe("failed-auth rate limit", () => {
  test("20 failures → 401, the 21st → 429 with Retry-After; a valid token still passes and resets", async () => {
    const h = make(ON);
    const bad = () => h.post("/hooks/wake", { text: "x" }, { Authorization: "Bearer bad" });
    for (let i = 1; i <= 20; i++) expect((await bad())!.status).toBe(401);
    const limited = (await parts(await bad()))!;
    expect(limited).toMatchObject({ status: 429, body: "Too Many Requests", retryAfter: "60" });
    // Missing credentials count too, and the lockout is per client.
    expect((await h.post("/hooks/wake", { text: "x" }, {}))!.status).toBe(429);
    expect((await h.post("/hooks/wake", { text: "x" }, { Authorization: "Bearer bad" }, "10.0.0.9"))!.status).toBe(401);
    await h.clock.advance(10_000);
    expect((await parts(await bad()))!.retryAfter).toBe("50");
    expect((await h.post("/hooks/wake", { text: "ok", mode: "next-heartbeat" }))!.status).toBe(200);
    expect((await bad())!.status).toBe(401);
  });
  test("the lockout ends after the window", async () => {
    const h = make(ON);
    for (let i = 0; i < 21; i++) await h.post("/hooks/wake", {}, { Authorization: "Bearer bad" });
    await h.clock.advance(60_000);
    expect((await h.post("/hooks/wake", {}, { Authorization: "Bearer bad" }))!.status).toBe(401);
  });
});

describe("body limits", () => {
  test("a declared oversize body is refused before reading; an undeclared one while reading", async () => {
    const h = make(ON);
    const big = "x".repeat(256 * 1024 + 1);
    const declared = await h.call("/hooks/wake", { body: big, headers: { Authorization: `Bearer ${TOKEN}`, "Content-Length": String(big.length) } });
    expect((await parts(declared))!).toMatchObject({ status: 413, json: { ok: false, error: "payload too large" } });
    const stream = new ReadableStream({
      start(c) {
        for (let i = 0; i < 5; i++) c.enqueue(new TextEncoder().encode("y".repeat(60 * 1024)));
        c.close();
      },
    });
    const streamed = await h.handler(new Request(`${BASE}/hooks/wake`, { method: "POST", body: stream, headers: { Authorization: `Bearer ${TOKEN}` } }), { clientIp: "127.0.0.1" });
    expect(streamed!.status).toBe(413);
    // Exactly at the limit is fine (it then fails as JSON).
    const edge = await h.post("/hooks/wake", "z".repeat(256 * 1024));
    expect(edge!.status).toBe(400);
  });
  test("a body that never finishes times out with 408", async () => {
    const h = make(ON);
    const stream = new ReadableStream({
      start(c) {
        c.enqueue(new TextEncoder().encode('{"text":'));
      },
    });
    const pending = h.handler(new Request(`${BASE}/hooks/wake`, { method: "POST", body: stream, headers: { Authorization: `Bearer ${TOKEN}` } }), { clientIp: "127.0.0.1" });
    await h.clock.advance(30_000);
    expect((await parts(await pending))!).toMatchObject({ status: 408, json: { ok: false, error: "request body timeout" } });
  });
});

describe("agent runs", () => {
  test("admitted run id; defaults; deliver:false ignores destinations", async () => {
    const h = make(ON);
    const res = (await parts(await h.post("/hooks/agent", { message: "Summarize this test event.", name: "Webhook smoke test", agentId: "main", deliver: false, channel: "x" })))!;
    expect(res).toMatchObject({ status: 200, json: { ok: true, runId: "run-1" } });
    expect(h.agents[0]).toMatchObject({ message: "Summarize this test event.", name: "Webhook smoke test", agentId: "main", sessionMode: "isolated", deliver: false, wakeMode: "now" });
    expect(h.agents[0].channel).toBeUndefined();
    expect(h.agents[0].sessionKey).toMatch(/^hook:[0-9a-f-]{36}$/);
  });
  test("waitForCompletion returns the completion facts", async () => {
    const h = make(ON);
    const res = (await parts(await h.post("/hooks/agent", { message: "x", waitForCompletion: true })))!;
    expect(res.json).toEqual({ ok: true, runId: "run-1", completion: { status: "ok", replyDisposition: "visible", delivered: false, deliveryAttempted: true } });
  });
  test("an idempotency key replays the admitted run", async () => {
    const h = make(ON);
    const headers = { Authorization: `Bearer ${TOKEN}`, "Idempotency-Key": "webhook-smoke-001" };
    const a = (await parts(await h.post("/hooks/agent", { message: "x" }, headers)))!;
    const b = (await parts(await h.post("/hooks/agent", { message: "x" }, headers)))!;
    const c = (await parts(await h.post("/hooks/agent", { message: "different" }, headers)))!;
    expect(a.json.runId).toBe("run-1");
    expect(b.json.runId).toBe("run-1");
    expect(c.json.runId).toBe("run-2");
    expect(h.agents.length).toBe(2);
  });
  test("admission that does not happen within 15 s answers 503", async () => {
    const gate = deferred<any>();
    const h = make(ON, { admit: () => gate.promise });
    const pending = h.post("/hooks/agent", { message: "x" });
    await h.clock.advance(15_000);
    expect((await parts(await pending))!).toMatchObject({ status: 503, json: { ok: false, error: "hook admission timed out" } });
  });
  test("refused admission carries its status", async () => {
    const h = make(ON, { admit: async () => ({ ok: false, status: 409, error: "target session changed" }) });
    expect((await parts(await h.post("/hooks/agent", { message: "x" })))!).toMatchObject({ status: 409, json: { ok: false, error: "target session changed" } });
  });
  test("session and agent policy", async () => {
    const strict = make({ ...ON, allowedAgentIds: ["ops"] });
    expect((await parts(await strict.post("/hooks/agent", { message: "x" })))!.json.error).toMatch(/not allowed by hooks.allowedAgentIds/);
    expect((await strict.post("/hooks/agent", { message: "x", agentId: "ops" }))!.status).toBe(200);
    const keys = make({ ...ON, allowRequestSessionKey: true, allowedSessionKeyPrefixes: ["hook:"] });
    expect((await parts(await keys.post("/hooks/agent", { message: "x", sessionKey: "hook:abc" })))!.status).toBe(200);
    expect(keys.agents[0].sessionKey).toBe("hook:abc");
    expect((await parts(await keys.post("/hooks/agent", { message: "x", sessionKey: "agent:main:main" })))!.json.error).toMatch(/must start with one of: hook:/);
    expect((await parts(await keys.post("/hooks/agent", { message: "x", sessionKey: "hook:p", sessionMode: "persistent" })))!.status).toBe(200);
    expect((await parts(await make(ON).post("/hooks/agent", { message: "x", sessionMode: "persistent" })))!.status).toBe(400);
    const withChannel = make(ON, { channels: ["telegram"] });
    expect((await parts(await withChannel.post("/hooks/agent", { message: "x", channel: "telegram" })))!.json.error).toBe("direct delivery needs both channel and to");
    expect((await parts(await withChannel.post("/hooks/agent", { message: "x", channel: "telegram", to: "123" })))!.status).toBe(200);
    expect(withChannel.agents[0]).toMatchObject({ channel: "telegram", to: "123" });
    expect((await parts(await withChannel.post("/hooks/agent", { message: "x", channel: "last", to: "1" })))!.status).toBe(400);
    const wakeKey = make({ ...ON, allowRequestSessionKey: true });
    expect((await parts(await wakeKey.post("/hooks/wake", { text: "x", sessionKey: "agent:main:main", mode: "next-heartbeat" })))!.status).toBe(400);
    expect((await parts(await wakeKey.post("/hooks/wake", { text: "x", sessionKey: "agent:main:main" })))!.status).toBe(200);
  });
});

describe("mappings", () => {
  test("templates, match by path and source, first match wins, wake actions", async () => {
    const h = make({
      ...ON,
      mappings: [
        { match: { path: "github", source: "ci" }, action: "wake", textTemplate: "CI {{status}} on {{headers.x-repo}} ({{query.kind}})", wakeMode: "next-heartbeat" },
        { id: "gh", match: { path: "github" }, messageTemplate: "Event {{payload.action}} by {{sender.login}} at {{path}}", name: "GitHub {{action}}" },
      ],
    });
    const wake = (await parts(await h.post("/hooks/github?kind=push", { source: "ci", status: "failed" }, { Authorization: `Bearer ${TOKEN}`, "X-Repo": "oc/bun" })))!;
    expect(wake.json).toEqual({ ok: true, mode: "next-heartbeat", eventOutcome: "queued" });
    expect(h.wakes[0]).toEqual({ text: "CI failed on oc/bun (push)", mode: "next-heartbeat", agentId: undefined, sessionKey: undefined });
    const agent = (await parts(await h.post("/hooks/github", { action: "opened", sender: { login: "ana" } })))!;
    expect(agent.json).toEqual({ ok: true, runId: "run-1" });
    expect(h.agents[0]).toMatchObject({ message: "Event opened by ana at github", name: "GitHub opened", mappingId: "gh", channel: "last" });
  });
  test("forEach fans out, empty arrays give 204, transforms are refused", async () => {
    const h = make({
      ...ON,
      mappings: [
        { match: { path: "batch" }, forEach: "items", messageTemplate: "item {{items[0].n}}" },
        { match: { path: "t" }, transform: { module: "x.js" } },
      ],
    });
    const res = (await parts(await h.post("/hooks/batch", { items: [{ n: 1 }, { n: 2 }, { n: 3 }] })))!;
    expect(res.json).toEqual({ ok: true, runId: "run-1", runIds: ["run-1", "run-2", "run-3"], dispatched: 3 });
    expect(h.agents.map((a) => a.message)).toEqual(["item 1", "item 2", "item 3"]);
    expect((await h.post("/hooks/batch", { items: [] }))!.status).toBe(204);
    expect((await parts(await h.post("/hooks/t", {})))!).toMatchObject({ status: 500, json: { ok: false, error: "hook mapping failed" } });
  });
  test("a templated session key needs the prefix allowlist and caller-key opt-in", async () => {
    const mapping = { match: { path: "gmail" }, sessionKey: "hook:gmail:{{messages[0].id}}", messageTemplate: "mail {{messages[0].subject}}" };
    expect((await parts(await make({ ...ON, mappings: [mapping] }).post("/hooks/gmail", { messages: [{ id: "1" }] })))!.status).toBe(400);
    const h = make({ ...ON, allowRequestSessionKey: true, allowedSessionKeyPrefixes: ["hook:gmail:"], mappings: [mapping] });
    expect((await h.post("/hooks/gmail", { messages: [{ id: "m1", subject: "Hi" }] }))!.status).toBe(200);
    expect(h.agents[0]).toMatchObject({ sessionKey: "hook:gmail:m1", message: "mail Hi" });
  });
  test("template rendering", () => {
    const ctx = { payload: { a: { b: [1, { c: "x" }] }, n: null }, headers: { "x-e": "push" }, query: { k: "v" }, path: "p", now: 0 };
    expect(renderTemplate("{{a.b[1].c}}|{{payload.a.b[0]}}|{{n}}|{{missing.x}}|{{headers.X-E}}|{{query.k}}|{{path}}|{{now}}|{{a.b}}", ctx)).toBe(
      'x|1|||push|v|p|1970-01-01T00:00:00.000Z|[1,{"c":"x"}]',
    );
    expect(renderTemplate("{{__proto__.polluted}}{{constructor}}", ctx)).toBe("");
  });
});

test("hooks.status: no internal hooks loaded", () => {
  expect(hooksStatus({ workspaceDir: "/s/workspace", stateDir: "/s/" })).toEqual({ workspaceDir: "/s/workspace", managedHooksDir: "/s/hooks", hooks: [] });
});
