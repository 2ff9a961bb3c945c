/**
 * The bridge from channel turns to the agent runtime (src/channels/agent-turn.ts): every turn
 * goes through the lanes (one run at a time per session), the transcript is the session's, and
 * a turn the lanes refuse (queue full) is deferred (TurnDeferredError), not failed.
 */
import { afterAll, afterEach, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { AgentRuntime } from "../../src/agents/runtime.ts";
import { agentRunTurn } from "../../src/channels/agent-turn.ts";
import { TurnDeferredError, type TurnRequest } from "../../src/channels/types.ts";
import type { OpenClawConfig } from "../../src/config/schema.ts";
import { createLogger } from "../../src/log/logger.ts";
import { FakeUpstream } from "../fixture/fake-upstream.ts";
import { tempDir } from "../helpers/state-dir.ts";

const fake = new FakeUpstream().start();
afterAll(() => fake.stop());
const cleanup: Array<() => void> = [];
afterEach(() => {
  for (const f of cleanup.splice(0)) f();
});

function runtime(model: string, extra: Record<string, unknown> = {}): AgentRuntime {
  const dir = tempDir("openclaw-agent-turn-");
  const config = {
    models: { providers: { oai: { baseUrl: `${fake.url}/v1`, api: "openai-completions", timeoutSeconds: 5, models: [{ id: model }] } } },
    agents: { defaults: { model: `oai/${model}`, maxConcurrent: 1 }, list: [{ id: "main", default: true }] },
    ...extra,
  } as unknown as OpenClawConfig;
  const rt = new AgentRuntime({ stateDir: dir, config: () => config, log: createLogger({ level: "silent", sinks: [] }), emit: () => {} });
  cleanup.push(() => {
    rt.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return rt;
}

function request(text: string, over: Partial<TurnRequest> = {}): TurnRequest {
  return {
    agentId: "main",
    sessionKey: "agent:main:main",
    channel: "telegram",
    accountId: "default",
    peer: { kind: "direct", id: "1" },
    chat: { id: "1", kind: "direct" },
    sender: { id: "1" },
    messageId: "1",
    text,
    history: [],
    wasMentioned: false,
    signal: new AbortController().signal,
    ...over,
  };
}

test("turns of one session run one at a time and build one transcript; group turns carry their context", async () => {
  const rt = runtime("echo");
  const run = agentRunTurn(rt, createLogger({ level: "silent", sinks: [] }));
  const [a, b] = await Promise.all([run(request("one")), run(request("two"))]);
  expect([a?.text, b?.text]).toEqual(["echo: one", "echo: two"]);
  expect(rt.store.history("agent:main:main").map((m) => m.content)).toEqual(["one", "echo: one", "two", "echo: two"]);
  // The second turn waited and was planned on the transcript as the first left it.
  const second = fake.to("/v1/chat/completions").at(-1)!.body.messages.map((m: any) => m.content);
  expect(second).toEqual(["one", "echo: one", "two"]);
  const group = await run(
    request("now you", {
      sessionKey: "agent:main:telegram:group:-1",
      chat: { id: "-1", kind: "group" },
      sender: { id: "2", name: "Bob" },
      history: [{ senderId: "3", sender: "Eve", text: "earlier", messageId: "9", timestamp: 0 }],
    }),
  );
  expect(group?.text).toContain("now you");
  expect(rt.store.history("agent:main:telegram:group:-1")[0].content).toBe(
    "[Chat messages since your last reply - for context]\nEve (3): earlier\n\n[Current message - respond to this]\nBob (2): now you",
  );
});

test("a full session queue defers the turn instead of failing it; nothing reaches the transcript", async () => {
  const rt = runtime("held", { messages: { queue: { cap: 1 } } });
  const run = agentRunTurn(rt, createLogger({ level: "silent", sinks: [] }));
  const first = run(request("first"));
  const second = run(request("second"));
  await fake.waitFor(() => fake.to("/v1/chat/completions").some((r) => r.body.model === "held"));
  let deferred: unknown;
  try {
    await run(request("third"));
  } catch (err) {
    deferred = err;
  }
  expect(deferred).toBeInstanceOf(TurnDeferredError);
  fake.release();
  await Promise.all([first, second]);
  expect(rt.store.history("agent:main:main").filter((m) => m.role === "user").map((m) => m.content)).toEqual(["first", "second"]);
});
