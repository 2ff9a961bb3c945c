import { describe, expect, test } from "bun:test";
import { defaultAgentId, listAgents } from "../../src/agents/registry.ts";
import { planTurn, systemPrompt, trailingTurn } from "../../src/agents/turn.ts";
import type { Message } from "../../src/providers/types.ts";

describe("agents from config", () => {
  test("no agents configured → the implicit main agent with the defaults", () => {
    expect(listAgents({ agents: { defaults: { model: "p/m", systemPrompt: "hi" } } })).toEqual([
      { id: "main", name: undefined, isDefault: true, model: "p/m", fallbacks: [], systemPrompt: "hi" },
    ]);
    expect(defaultAgentId({})).toBe("main");
  });

  test("agents.list[]: own model, fallbacks and prompt win; the rest is inherited", () => {
    const agents = listAgents({
      agents: {
        defaults: { model: { primary: "a/x", fallbacks: ["b/y"] }, systemPrompt: "default prompt" },
        list: [{ id: "one" }, { id: "two", default: true, model: "c/z", systemPrompt: "two's prompt" }, { id: "three", model: { primary: "d/w", fallbacks: ["e/v"] } }],
      },
    });
    expect(agents.map((a) => [a.id, a.isDefault, a.model, a.fallbacks, a.systemPrompt])).toEqual([
      ["one", false, "a/x", ["b/y"], "default prompt"],
      ["two", true, "c/z", ["b/y"], "two's prompt"],
      ["three", false, "d/w", ["e/v"], "default prompt"],
    ]);
  });

  test("without an explicit default the first agent is the default", () => {
    expect(defaultAgentId({ agents: { list: [{ id: "first" }, { id: "second" }] } })).toBe("first");
  });
});

describe("turn planning", () => {
  const u = (content: string): Message => ({ role: "user", content });
  const a = (content: string): Message => ({ role: "assistant", content });

  test("trailing turn = messages after the last assistant message", () => {
    expect(trailingTurn([u("1"), a("2"), u("3"), u("4")])).toEqual([u("3"), u("4")]);
    expect(trailingTurn([u("1"), a("2")])).toEqual([]);
  });

  test("a stored transcript keeps its history; a new session adopts the client's", () => {
    expect(planTurn([u("s1"), a("s2")], [u("c1"), a("c2"), u("c3")])).toEqual({ context: [u("s1"), a("s2"), u("c3")], append: [u("c3")] });
    expect(planTurn([], [u("c1"), a("c2"), u("c3")])).toEqual({ context: [u("c1"), a("c2"), u("c3")], append: [u("c1"), a("c2"), u("c3")] });
    expect(planTurn([], [u("c1"), a("c2")])).toBeUndefined();
  });

  test("system prompt: agent first, then the client's", () => {
    const agent = { id: "x", isDefault: true, fallbacks: [], systemPrompt: "agent" };
    expect(systemPrompt(agent, "client")).toBe("agent\n\nclient");
    expect(systemPrompt({ ...agent, systemPrompt: undefined }, undefined)).toBeUndefined();
  });
});
