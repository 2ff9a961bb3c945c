/**
 * `openclaw gateway call <method>`, `openclaw gateway health`, `openclaw health`.
 */
import { defineCommand } from "citty";
import type { ResultOf } from "../protocol/contract.ts";
import { exitWithFailure, printJson } from "./output.ts";
import { IDENTITY, scopesForMethod, withGateway } from "../operator/connect.ts";
import { resolveTarget, type Env, type GatewayTarget, type ResolvedTarget } from "../operator/target.ts";
import { CliError, portFlag, timeoutFlag } from "./command.ts";
import { globals } from "./globals.ts";

export const connectionArgs = {
  url: { type: "string", description: "Gateway WebSocket URL (needs --token or --password)" },
  port: { type: "string", description: "Port of the local gateway" },
  token: { type: "string", description: "Gateway token" },
  password: { type: "string", description: "Gateway password" },
  timeout: { type: "string", description: "Timeout in ms (default 10000)" },
  json: { type: "boolean", description: "Print JSON" },
} as const;

/** Connection flags → the target (the port parsed by the scaffold, the profile from the root options). */
export function targetOf(
  args: { url?: unknown; token?: unknown; password?: unknown; port?: unknown },
  opts: { needConfig?: boolean; env?: Env } = {},
): Promise<ResolvedTarget> {
  const str = (v: unknown) => (typeof v === "string" ? v : undefined);
  return resolveTarget(
    { url: str(args.url), token: str(args.token), password: str(args.password), port: portFlag(args.port) },
    { ...opts, profile: globals().profile },
  );
}

export function timeoutArg(raw: unknown, fallback = 10_000): number {
  return timeoutFlag(raw, fallback);
}

function parseParams(raw: unknown): Record<string, unknown> {
  if (raw === undefined) return {};
  let value: unknown;
  try {
    value = JSON.parse(String(raw));
  } catch (err) {
    throw new CliError([`Invalid --params: ${(err as Error).message}`]);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw new CliError(["Invalid --params: expected a JSON object"]);
  return value as Record<string, unknown>;
}

export const callCommand = defineCommand({
  meta: { name: "call", description: "Call a gateway RPC method and print the result" },
  args: {
    method: { type: "positional", description: "Method name, e.g. health", required: true },
    params: { type: "string", description: "Params as a JSON object (default {})" },
    "expect-final": { type: "boolean", description: "Wait for the final response of two-stage methods (agent)" },
    ...connectionArgs,
  },
  async run({ args }) {
    const json = Boolean(args.json);
    let target: GatewayTarget | undefined;
    try {
      const method = String(args.method);
      const params = parseParams(args.params);
      const timeoutMs = timeoutArg(args.timeout);
      target = (await targetOf(args)).target;
      const payload = await withGateway(target, { identity: IDENTITY.cli, scopes: scopesForMethod(method, params), timeoutMs }, (client) =>
        client.request(method, params, { timeoutMs, expectFinal: Boolean(args["expect-final"]) }),
      );
      if (json) printJson(payload);
      else {
        console.log(`Gateway call: ${method}`);
        printJson(payload);
      }
    } catch (err) {
      await exitWithFailure(err, { json, target, what: "Gateway call" });
    }
  },
});

/** What `health` answers (the wire contract's result type). */
type HealthPayload = ResultOf<"health">;

export const gatewayHealthCommand = defineCommand({
  meta: { name: "health", description: "Check the gateway's health over RPC" },
  args: connectionArgs,
  async run({ args }) {
    const json = Boolean(args.json);
    let target: GatewayTarget | undefined;
    try {
      const timeoutMs = timeoutArg(args.timeout);
      target = (await targetOf(args)).target;
      const health = await withGateway(target, { identity: IDENTITY.cli, timeoutMs }, (c) => c.call("health"));
      if (json) printJson(health);
      else {
        console.log("Gateway Health");
        console.log(`${health.ok ? "OK" : "DEGRADED"} (${health.durationMs ?? 0}ms)`);
      }
      if (!health.ok) process.exit(1);
    } catch (err) {
      await exitWithFailure(err, { json, target, what: "Gateway health" });
    }
  },
});

export function healthLines(h: HealthPayload): string[] {
  const agents = h.agents ?? [];
  const lines = [`Gateway probe duration: ${h.durationMs ?? 0}ms`];
  if (agents.length) {
    lines.push(`Agents: ${agents.map((a) => `${a.agentId}${a.isDefault ? " (default)" : ""}`).join(", ")}`);
    lines.push(
      `Heartbeat interval: ${agents.map((a) => `${a.heartbeat?.enabled ? a.heartbeat.every : "disabled"} (${a.agentId})`).join(", ")}`,
    );
    for (const a of agents) {
      if (a.sessions) lines.push(`Session store (${a.agentId}): ${a.sessions.path} (${a.sessions.count} entries)`);
    }
  } else if (h.sessions) {
    lines.push(`Session store: ${h.sessions.path} (${h.sessions.count} entries)`);
  }
  return lines;
}

export const healthCommand = defineCommand({
  meta: { name: "health", description: "Gateway health (RPC health)" },
  args: {
    json: { type: "boolean", description: "Print JSON" },
    timeout: { type: "string", description: "Timeout in ms (default 10000)" },
    verbose: { type: "boolean", description: "Ask the gateway for a fresh probe instead of its cached snapshot" },
    debug: { type: "boolean", description: "Same as --verbose" },
  },
  async run({ args }) {
    const json = Boolean(args.json);
    let target: GatewayTarget | undefined;
    try {
      const timeoutMs = timeoutArg(args.timeout);
      target = (await targetOf({})).target;
      const fresh = Boolean(args.verbose || args.debug);
      const health = await withGateway(target, { identity: IDENTITY.backend("gateway:health"), timeoutMs }, (c) =>
        c.call("health", fresh ? { probe: true } : undefined),
      );
      if (json) printJson(health);
      else for (const line of healthLines(health)) console.log(line);
      if (!health.ok) process.exit(1);
    } catch (err) {
      await exitWithFailure(err, { json, target, what: "Health check" });
    }
  },
});
