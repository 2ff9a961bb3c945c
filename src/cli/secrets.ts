/**
 * `openclaw secrets reload`: ask the running gateway to re-resolve `${ENV}` references
 * (process env, `<stateDir>/.env`, the config's `env` block) and apply the result without a
 * restart (RPC `secrets.reload`, admin).
 */
import { defineCommand } from "citty";
import { targetOf } from "./call.ts";
import { GatewayConnectError, GatewayRequestError } from "../protocol/client.ts";
import { timeoutFlag } from "./command.ts";
import { connectTo } from "../operator/connect.ts";
import type { GatewayTarget } from "../operator/target.ts";

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
    let target: GatewayTarget;
    let timeout: number;
    try {
      timeout = timeoutFlag(args.timeout, 10_000);
      target = (await targetOf({ url: args.url, token: args.token, password: args.password })).target;
    } catch (err) {
      return fail((err as Error).message);
    }
    try {
      const client = await connectTo(target, { identity: { id: "cli", mode: "cli" }, scopes: ["operator.admin"], timeoutMs: timeout });
      try {
        const r = await client.call("secrets.reload", {});
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
      } finally {
        await client.close().catch(() => {});
      }
    } catch (err) {
      if (err instanceof GatewayConnectError) return fail(`Gateway not reachable at ${target.url}: ${err.message}`);
      if (err instanceof GatewayRequestError) return fail(`secrets.reload failed: ${err.message}`);
      return fail(`secrets.reload failed: ${(err as Error).message ?? err}`);
    }
  },
});

export default defineCommand({
  meta: { name: "secrets", description: "Secrets of the running gateway" },
  subCommands: { reload },
});
