/**
 * The scopes catalogue (src/protocol/method-scopes.ts): its rules, the registry held to it, every
 * method family of the tree checked against it, and (when the official package is installed)
 * the whole table and the authorization rule compared with the original 2026.9.6's own policy
 * module, method by method and scope set by scope set.
 */
import { describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { automationMethods } from "../../src/automation/rpc.ts";
import { gatewayParts } from "../../src/gateway/parts.ts";
import { buildRegistry, checkAgainstCatalogue } from "../../src/gateway/methods/index.ts";
import { defineMethod } from "../../src/gateway/methods/types.ts";
import { authorizeMethod, METHOD_SCOPES, registryScope, requiredScopes } from "../../src/protocol/method-scopes.ts";
import { SCOPES } from "../../src/protocol/scopes.ts";
import { startTestGateway } from "../helpers/gateway.ts";

const op = (scopes: string[]) => ({ role: "operator", scopes });

describe("the rule", () => {
  test("unknown methods: non-admins are told admin is missing, admins pass (and learn it is unknown)", () => {
    const r = authorizeMethod("no.such.method", op(["operator.read", "operator.write", "operator.pairing"]));
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.error.toShape()).toEqual({
        code: "FORBIDDEN",
        message: "missing scope: operator.admin",
        details: { code: "MISSING_SCOPE", missingScope: "operator.admin", requiredScopes: ["operator.admin"] },
      });
    }
    expect(authorizeMethod("no.such.method", op(["operator.admin"])).ok).toBe(true);
    expect(authorizeMethod("config.someday", op(["operator.read"])).ok).toBe(false);
  });

  test("health: any role, no scope; role separation both ways", () => {
    expect(authorizeMethod("health", { role: "node", scopes: [] }).ok).toBe(true);
    expect(authorizeMethod("health", op([])).ok).toBe(true);
    const nodeCallsOperator = authorizeMethod("status", { role: "node", scopes: [] });
    expect(nodeCallsOperator.ok ? "" : nodeCallsOperator.error.message).toBe("unauthorized role: node");
    const operatorCallsNode = authorizeMethod("node.event", op(["operator.admin"]));
    expect(operatorCallsNode.ok ? "" : operatorCallsNode.error.message).toBe("unauthorized role: operator");
    expect(authorizeMethod("node.event", { role: "node", scopes: [] }).ok).toBe(true);
    const unknownRole = authorizeMethod("status", { role: "robot", scopes: [] });
    expect(unknownRole.ok ? "" : unknownRole.error.message).toBe("unauthorized role: robot");
  });

  test("implications: write covers read; admin covers everything; pairing is its own", () => {
    expect(authorizeMethod("status", op(["operator.write"])).ok).toBe(true);
    expect(authorizeMethod("device.pair.list", op(["operator.write"])).ok).toBe(false);
    expect(authorizeMethod("device.pair.list", op(["operator.pairing"])).ok).toBe(true);
    expect(authorizeMethod("cron.add", op(["operator.write"])).ok).toBe(false);
    expect(authorizeMethod("cron.add", op(["operator.admin"])).ok).toBe(true);
    // A device asking for more scopes needs none.
    expect(authorizeMethod("device.scopes.requestUpgrade", op([])).ok).toBe(true);
  });

  test("dynamic methods take their scopes from the params", () => {
    expect(requiredScopes("agent", { message: "hello" })).toEqual(["operator.write"]);
    expect(requiredScopes("agent", { message: "/new" })).toEqual(["operator.admin"]);
    expect(requiredScopes("agent", { message: "/reset now" })).toEqual(["operator.admin"]);
    expect(authorizeMethod("agent", op(["operator.write"]), { message: "/new" }).ok).toBe(false);
    expect(requiredScopes("channels.pairing.approve", {})).toEqual(["operator.pairing"]);
    expect(requiredScopes("channels.pairing.approve", { bootstrapCommandOwner: true })).toEqual(["operator.pairing", "operator.admin"]);
    const owner = authorizeMethod("channels.pairing.approve", op(["operator.pairing"]), { bootstrapCommandOwner: true });
    expect(owner.ok ? "" : owner.error.message).toBe("missing scope: operator.admin");
    expect(requiredScopes("talk.config", { includeSecrets: true })).toEqual(["operator.read", "operator.talk.secrets"]);
    expect(requiredScopes("sessions.delete", { key: "k" })).toEqual(["operator.admin"]);
    expect(requiredScopes("sessions.delete", { key: "k", archivedOnly: true })).toEqual(["operator.write"]);
    expect(requiredScopes("sessions.patch", { key: "k", label: "x" })).toEqual(["operator.write"]);
    expect(requiredScopes("sessions.patch", { key: "k", sandboxMode: "off" })).toEqual(["operator.admin"]);
    expect(requiredScopes("node.invoke", { command: "fs.listDir" })).toEqual(["operator.admin"]);
    expect(requiredScopes("node.invoke", { command: "canvas.navigate" })).toEqual(["operator.write"]);
  });

  test("a call allowed only by a session scope gets the original's answer for a caller without a user profile", () => {
    const r = authorizeMethod("chat.history", op(["operator.sessions.read"]), { sessionKey: "main" });
    expect(r.ok ? undefined : r.error.toShape()).toEqual({ code: "FORBIDDEN", message: "Session-scoped access requires a verified user profile." });
    const status = authorizeMethod("status", op(["operator.sessions.read"]));
    expect(status.ok ? "" : status.error.message).toBe("missing scope: operator.read");
  });
});

describe("the registry is held to the catalogue", () => {
  test("a method outside the catalogue, or with another scope, does not load", () => {
    expect(() => buildRegistry([{ name: "my.private.method", scope: "operator.read", handler: () => null }])).toThrow(/not in the scopes catalogue/);
    expect(() => buildRegistry([{ name: "tts.status", scope: "operator.write", handler: () => null }])).toThrow(/declares scope operator.write; the scopes catalogue says operator.read/);
    expect(() => checkAgainstCatalogue({ name: "node.event", scope: "operator.read" })).toThrow(/role node only/);
    // defineMethod takes the scope from the catalogue when none is named.
    expect(defineMethod("device.pair.list", { handler: () => ({ pending: [], paired: [] }) }).scope).toBe("operator.pairing");
    expect(defineMethod("health", { handler: () => ({}) as never }).scope).toBe("bypass");
  });

  test("every method the gateway serves (with every hosted part) matches the catalogue", async () => {
    const gw = await startTestGateway();
    try {
      const served = [...gw.handle.methods.values(), ...gatewayParts().flatMap((p) => p.methods ?? [])];
      expect(served.length).toBeGreaterThan(20);
      for (const def of served) {
        expect({ name: def.name, scope: def.scope }).toEqual({ name: def.name, scope: registryScope(def.name) as never });
      }
    } finally {
      await gw.stop();
    }
  });

  test("method families not wired yet declare the catalogue's scopes too", () => {
    const none = {} as never;
    for (const def of automationMethods({ cron: none, heartbeat: none, hooksStatus: () => null })) {
      expect({ name: def.name, scope: def.scope }).toEqual({ name: def.name, scope: registryScope(def.name) as never });
    }
  });

  test("the table is well formed: known scopes only, no duplicates, the device methods as the original", () => {
    expect(METHOD_SCOPES.size).toBe(482);
    for (const [name, entry] of METHOD_SCOPES) {
      expect(name).toMatch(/^[A-Za-z][\w.-]*$/);
      expect(["node", "dynamic", ...SCOPES]).toContain(entry);
    }
    for (const m of ["device.pair.list", "device.pair.approve", "device.pair.reject", "device.pair.remove", "device.pair.rename", "device.token.rotate", "device.token.revoke"]) {
      expect(METHOD_SCOPES.get(m)).toBe("operator.pairing");
    }
  });
});

/** The official package's `dist/`, found from OPENCLAW_REF_CLI (a wrapper next to its node_modules). */
function referenceDist(): { dir?: string; reason?: string } {
  const cli = process.env.OPENCLAW_REF_CLI;
  if (!cli) return { reason: "OPENCLAW_REF_CLI is not set" };
  const candidates = [join(dirname(cli), "node_modules", "openclaw", "dist")];
  try {
    const m = /(\S+)\/openclaw\.mjs/.exec(readFileSync(cli, "utf8"));
    if (m) candidates.push(join(m[1], "dist"));
  } catch {
    // not a readable script
  }
  const dir = candidates.find((d) => existsSync(d));
  return dir ? { dir } : { reason: `no openclaw/dist next to ${cli}` };
}

const ref = referenceDist();

describe.skipIf(!ref.dir)(`against the original's own policy module${ref.reason ? ` (skipped: ${ref.reason})` : ""}`, () => {
  /** Load the original's method-scopes module and name its minified exports by their export clause. */
  async function original() {
    const file = readdirSync(ref.dir!).find((f) => /^method-scopes-[\w-]+\.mjs$/.test(f) && readFileSync(join(ref.dir!, f), "utf8").includes("listCoreGatewayMethodNames as"));
    if (!file) throw new Error("the original's method-scopes module was not found");
    const text = readFileSync(join(ref.dir!, file), "utf8");
    const exported = (name: string) => {
      const m = new RegExp(`${name} as (\\w+)`).exec(text);
      if (!m) throw new Error(`${name} is not exported`);
      return m[1];
    };
    const mod = (await import(join(ref.dir!, file))) as Record<string, (...a: unknown[]) => any>;
    return {
      names: mod[exported("listCoreGatewayMethodNames")] as () => string[],
      leastPrivilege: mod[exported("resolveLeastPrivilegeOperatorScopesForMethod")] as (m: string, p?: unknown) => string[],
      isNode: mod[exported("isNodeRoleMethod")] as (m: string) => boolean,
      authorize: mod[exported("authorizeOperatorScopesForMethod")] as (m: string, s: string[], p?: unknown) => { allowed: boolean; missingScope?: string; sessionScope?: string },
    };
  }

  test("the same methods with the same scopes", async () => {
    const o = await original();
    const theirs = o.names();
    expect([...METHOD_SCOPES.keys()].sort()).toEqual([...theirs].sort());
    for (const name of theirs) {
      const want = o.isNode(name) ? [] : o.leastPrivilege(name, {});
      expect({ name, scopes: requiredScopes(name, {}) as string[] }).toEqual({ name, scopes: want });
      expect({ name, node: METHOD_SCOPES.get(name) === "node" }).toEqual({ name, node: o.isNode(name) });
    }
  });

  test("the same verdict for every method under every single-scope grant and a few param variants", async () => {
    const o = await original();
    const grants: string[][] = [[], ...SCOPES.map((s) => [s as string]), ["operator.read", "operator.pairing"], ["operator.write", "operator.talk.secrets"]];
    const params: unknown[] = [
      {},
      { message: "/new" },
      { bootstrapCommandOwner: true },
      { includeSecrets: true },
      { runtimeId: "r1" },
      { nodeId: "n1" },
      { command: "browser.proxy" },
      { key: "k", archivedOnly: true },
      { key: "k", sandboxMode: "x" },
      { patch: { label: "x" } },
      { incognito: true },
      { deviceId: "d" },
      { target: { kind: "profile" } },
    ];
    const mismatches: string[] = [];
    for (const name of [...METHOD_SCOPES.keys(), "no.such.method", "config.someday"]) {
      if (METHOD_SCOPES.get(name) === "node" || name === "health" || name.startsWith("device.scopes.")) continue;
      const variants = METHOD_SCOPES.get(name) === "dynamic" ? params : [{}];
      for (const scopes of grants) {
        for (const p of variants) {
          const theirs = o.authorize(name, scopes as string[], p);
          const ours = authorizeMethod(name, op(scopes as string[]), p);
          // Ours refuses what the original lets through only on a session scope (no user profiles here).
          const want = theirs.allowed && !theirs.sessionScope ? "ok" : theirs.allowed ? "session-scope" : `missing ${theirs.missingScope}`;
          const got = ours.ok
            ? "ok"
            : ours.error.message === "Session-scoped access requires a verified user profile."
              ? "session-scope"
              : ours.error.message.replace("missing scope: ", "missing ");
          if (want !== got) mismatches.push(`${name} ${JSON.stringify(scopes)} ${JSON.stringify(p)}: original ${want}, ours ${got}`);
        }
      }
    }
    expect(mismatches).toEqual([]);
  });
});
