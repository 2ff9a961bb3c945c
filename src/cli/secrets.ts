/**
 * `openclaw secrets reload`: ask the running gateway to re-resolve `${ENV}` references
 * (process env, `<stateDir>/.env`, the config's `env` block) and apply the result without a
 * restart (RPC `secrets.reload`, admin).
 */
import { defineCommand } from "citty";
import { loadConfig } from "../config/load.ts";
import { resolvePaths } from "../config/paths.ts";
import { GatewayClient, GatewayConnectError, GatewayRequestError } from "../protocol/client.ts";
import { globals } from "./globals.ts";
import { secret } from "./target.ts";

export interface CliTarget {
  url: string;
  token?: string;
  password?: string;
}

/**
 * Where to reach the gateway and with which secret. `--url` uses only the flags' credentials;
 * otherwise the local config's port (CLI > env > file > default) on loopback and its token or
 * password. One small function on purpose: the operator CLI's credential resolution replaces it.
 */
export async function resolveCliTarget(args: { url?: string; token?: string; password?: string }): Promise<CliTarget> {
  if (args.url) return { url: args.url, token: args.token, password: args.password };
  const paths = resolvePaths({ profile: globals().profile });
  const loaded = await loadConfig({ paths });
  const port = loaded.config.gateway?.port ?? paths.defaultPort;
  const auth = loaded.config.gateway?.auth;
  const env = loaded.env ?? process.env;
  return {
    url: `ws://127.0.0.1:${port}`,
    token: args.token ?? secret(auth?.token, "gateway.auth.token", env),
    password: args.password ?? secret(auth?.password, "gateway.auth.password", env),
  };
}

const reload = defineCommand({
  meta: { name: "reload", description: "Re-resolve ${ENV} references in the running gateway without a restart" },
  args: {
    url: { type: "string", description: "Gateway WebSocket URL (default: the local gateway)" },
    token: { type: "string", description: "Gateway token" },
    password: { type: "string", description: "Gateway password" },
    timeout: { type: "string", description: "Timeout in ms (default 10000)" },
    json: { type: "boolean", description: "Print JSON" },
  },
  run: async ({ args }) => {
    const json = Boolean(args.json);
    const fail = (message: string) => {
      if (json) console.log(JSON.stringify({ ok: false, error: { type: "cli_error", message } }));
      else console.error(message);
      process.exitCode = 1;
    };
    const timeout = args.timeout === undefined ? 10_000 : Number(args.timeout);
    if (!Number.isFinite(timeout) || timeout <= 0) return fail(`Invalid --timeout "${args.timeout}"`);
    let target: CliTarget;
    try {
      target = await resolveCliTarget({ url: args.url, token: args.token, password: args.password });
    } catch (err) {
      return fail((err as Error).message);
    }
    let client: GatewayClient | undefined;
    try {
      client = await GatewayClient.connect({
        url: target.url,
        token: target.token,
        password: target.password,
        scopes: ["operator.admin"],
        connectTimeoutMs: timeout,
        requestTimeoutMs: timeout,
      });
      const r = await client.request<{ ok: boolean; status: string; changed: string[]; issues: Array<{ path: string; message: string }> }>(
        "secrets.reload",
        {},
      );
      if (json) console.log(JSON.stringify(r));
      else if (r.status === "rejected") {
        console.error("Secrets reload rejected; the gateway keeps its running config:");
        for (const i of r.issues) console.error(`  × ${i.path}: ${i.message}`);
      } else if (r.changed.length === 0) console.log("Secrets reloaded: nothing changed.");
      else {
        console.log(`Secrets reloaded: ${r.changed.length} key(s) changed${r.status === "restart-scheduled" ? " (the gateway restarts in process to apply them)" : ""}.`);
        for (const key of r.changed) console.log(`  ${key}`);
      }
      if (!r.ok) process.exitCode = 1;
    } catch (err) {
      if (err instanceof GatewayConnectError) return fail(`Gateway not reachable at ${target.url}: ${err.message}`);
      if (err instanceof GatewayRequestError) return fail(`secrets.reload failed: ${err.message}`);
      return fail(`secrets.reload failed: ${(err as Error).message ?? err}`);
    } finally {
      await client?.close().catch(() => {});
    }
  },
});

export default defineCommand({
  meta: { name: "secrets", description: "Secrets of the running gateway" },
  subCommands: { reload },
});
