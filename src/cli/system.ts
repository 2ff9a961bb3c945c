/**
 * `openclaw system event --text … [--mode now|next-heartbeat] [--session-key K]` (RPC `wake`,
 * write scope) and `openclaw system heartbeat last|enable|disable` (RPC `last-heartbeat`, read;
 * `set-heartbeats`, admin). `event` prints `ok` (`--json`: the result); the heartbeat commands
 * print the gateway's JSON.
 */
import { defineCommand } from "citty";
import { CronFlagError } from "../operator/cron.ts";
import { gatewayArgs, withCron } from "./cron.ts";
import { printJson } from "./output.ts";

const event = defineCommand({
  meta: { name: "event", description: "Enqueue a system event and optionally trigger a heartbeat" },
  args: {
    ...gatewayArgs,
    text: { type: "string", description: "System event text" },
    mode: { type: "string", description: 'Wake mode (now|next-heartbeat) (default: "next-heartbeat")' },
    "session-key": { type: "string", description: "Target a specific session for the event (defaults to the agent's main session)" },
    json: { type: "boolean", description: "Output JSON" },
  },
  run: ({ args }) =>
    withCron(args, { scopes: ["operator.write"], jsonOutput: Boolean(args.json) }, async (client) => {
      const text = typeof args.text === "string" ? args.text.trim() : "";
      if (!text) throw new CronFlagError("--text is required");
      const mode = typeof args.mode === "string" ? args.mode.trim() : "next-heartbeat";
      if (mode !== "now" && mode !== "next-heartbeat") throw new CronFlagError("--mode must be now or next-heartbeat");
      const sessionKey = typeof args["session-key"] === "string" ? args["session-key"].trim() : "";
      const res = await (await client()).call("wake", { mode, text, ...(sessionKey ? { sessionKey } : {}) });
      if (args.json) printJson(res);
      else console.log("ok");
    }),
});

const last = defineCommand({
  meta: { name: "last", description: "Show the last heartbeat event" },
  args: { ...gatewayArgs, json: { type: "boolean", description: "Output JSON" } },
  run: ({ args }) => withCron(args, { scopes: ["operator.read"], jsonOutput: Boolean(args.json) }, async (client) => printJson(await (await client()).call("last-heartbeat", {}))),
});

function setHeartbeats(name: "enable" | "disable", enabled: boolean) {
  return defineCommand({
    meta: { name, description: `${enabled ? "Enable" : "Disable"} heartbeats` },
    args: { ...gatewayArgs, json: { type: "boolean", description: "Output JSON" } },
    run: ({ args }) => withCron(args, { scopes: ["operator.admin"], jsonOutput: Boolean(args.json) }, async (client) => printJson(await (await client()).call("set-heartbeats", { enabled }))),
  });
}

const heartbeat = defineCommand({
  meta: { name: "heartbeat", description: "Heartbeat controls" },
  subCommands: { last, enable: setHeartbeats("enable", true), disable: setHeartbeats("disable", false) },
});

export default defineCommand({
  meta: { name: "system", description: "System tools (events, heartbeat)" },
  subCommands: { event, heartbeat },
});
