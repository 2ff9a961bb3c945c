/**
 * The config keys automation reads: `cron`, `hooks`, `agents.defaults.heartbeat` and per-agent
 * heartbeats validate as strictly as the original's schema, with its messages.
 */
import { describe, expect, test } from "bun:test";
import { validateConfig } from "../../src/config/schema.ts";
import { cronRuntimeConfig } from "../../src/automation/index.ts";
import { resolveHooks } from "../../src/automation/hooks.ts";

function issues(value: unknown) {
  const r = validateConfig(value);
  return r.ok ? [] : r.issues;
}

describe("agents.*.heartbeat", () => {
  test("the documented examples load", () => {
    expect(
      issues({
        agents: {
          defaults: {
            heartbeat: {
              every: "30m",
              model: "anthropic/claude-opus-4-6",
              lightContext: false,
              isolatedSession: false,
              target: "owner",
              accountId: "ops-bot",
              directPolicy: "allow",
              prompt: "If nothing needs attention, reply NO_REPLY.",
              activeHours: { start: "09:00", end: "24:00", timezone: "America/New_York" },
              agentId: "main",
            },
          },
          entries: { main: { default: true }, ops: { heartbeat: { every: "1h", target: "whatsapp", to: "+15551234567", timeoutSeconds: 45 } } },
        },
      }),
    ).toEqual([]);
    expect(issues({ agents: { defaults: { heartbeat: { every: "0m" } } } })).toEqual([]);
    expect(issues({ agents: { defaults: { heartbeat: { every: "45" } } } })).toEqual([]);
  });
  test("bad values and unknown keys", () => {
    expect(issues({ agents: { defaults: { heartbeat: { every: "soon" } } } })).toEqual([
      { path: "agents.defaults.heartbeat.every", message: "invalid duration (use ms, s, m, h)" },
    ]);
    expect(issues({ agents: { defaults: { heartbeat: { activeHours: { start: "9am" } } } } })).toEqual([
      { path: "agents.defaults.heartbeat.activeHours.start", message: 'invalid time (use "HH:MM" 24h format)' },
    ]);
    expect(issues({ agents: { defaults: { heartbeat: { activeHours: { start: "24:00" } } } } })[0].message).toBe("invalid time (start cannot be 24:00)");
    expect(issues({ agents: { defaults: { heartbeat: { activeHours: { end: "24:30" } } } } })[0].message).toBe("invalid time (24:00 is the only allowed 24:xx value)");
    expect(issues({ agents: { entries: { ops: { heartbeat: { showOk: true } } } } })).toEqual([{ path: "agents.entries.ops.heartbeat.showOk", message: "Unknown key" }]);
    expect(issues({ agents: { entries: { ops: { heartbeat: { agentId: "x" } } } } })).toEqual([{ path: "agents.entries.ops.heartbeat.agentId", message: "Unknown key" }]);
  });
});

describe("cron", () => {
  test("the documented block; strict keys; retention duration", () => {
    expect(
      issues({
        cron: {
          enabled: true,
          skipMissedJobs: false,
          triggers: { enabled: false },
          webhookToken: "replace-with-dedicated-webhook-token",
          webhookSsrfPolicy: { allowedHostnames: ["127.0.0.1"] },
          sessionRetention: "24h",
          failureAlert: { enabled: false, after: 2, cooldownMs: 3600000, includeSkipped: false, mode: "announce", channel: "last", to: "channel:C1", accountId: "main" },
        },
      }),
    ).toEqual([]);
    expect(issues({ cron: { sessionRetention: false } })).toEqual([]);
    expect(issues({ cron: { webhook: "https://x" } })).toEqual([{ path: "cron.webhook", message: "Unknown key" }]);
    expect(issues({ cron: { sessionRetention: "a day" } })).toEqual([{ path: "cron.sessionRetention", message: "invalid duration (use ms, s, m, h, d)" }]);
    expect(issues({ cron: { failureAlert: { after: 0 } } })[0].path).toBe("cron.failureAlert.after");
  });
  test("runtime view: enabled unless cron.enabled:false or OPENCLAW_SKIP_CRON=1", () => {
    expect(cronRuntimeConfig({}, {})).toEqual({ enabled: true, skipMissedJobs: false });
    expect(cronRuntimeConfig({ cron: { enabled: false } } as never, {}).enabled).toBe(false);
    expect(cronRuntimeConfig({}, { OPENCLAW_SKIP_CRON: "1" }).enabled).toBe(false);
    expect(cronRuntimeConfig({ cron: { skipMissedJobs: true } } as never, {}).skipMissedJobs).toBe(true);
  });
});

describe("hooks", () => {
  test("the documented block loads; mappings are strict", () => {
    expect(
      issues({
        hooks: {
          enabled: true,
          token: "<long-random-hook-token>",
          path: "/hooks",
          allowedAgentIds: ["main"],
          allowRequestSessionKey: false,
          presets: ["gmail"],
          mappings: [{ match: { path: "gmail" }, action: "agent", messageTemplate: "New mail {{messages[0].subject}}", forEach: "messages" }],
          gmail: { account: "reader@example.com", serve: { bind: "127.0.0.1", port: 8788, path: "/" } },
          internal: { enabled: true },
        },
      }),
    ).toEqual([]);
    expect(issues({ hooks: { mappings: [{ forEach: "a.b" }] } })).toEqual([{ path: "hooks.mappings[0].forEach", message: "forEach must be a top-level payload key" }]);
    expect(issues({ hooks: { mappings: [{ sessionMode: "persistent" }] } })).toEqual([
      { path: "hooks.mappings[0].sessionKey", message: "persistent hook mappings require sessionKey, hooks.defaultSessionKey, or a transform" },
    ]);
    expect(issues({ hooks: { tokn: "x" } })).toEqual([{ path: "hooks.tokn", message: "Unknown key" }]);
    expect(issues({ hooks: { token: { source: "env", id: "X" } } })[0].path).toBe("hooks.token");
  });
  test("off by default; a token is required; path normalized", () => {
    expect(resolveHooks({})).toBeUndefined();
    expect(resolveHooks({ hooks: { enabled: true } } as never)).toBeUndefined();
    expect(resolveHooks({ hooks: { enabled: true, token: " t ", path: "in//" } } as never)).toMatchObject({ basePath: "/in", token: "t" });
    expect(resolveHooks({ hooks: { enabled: true, token: "t", path: "/" } } as never)).toBeUndefined();
    expect(resolveHooks({ hooks: { enabled: true, token: "t", allowedAgentIds: ["*"] } } as never)!.allowedAgentIds).toBeUndefined();
  });
});
