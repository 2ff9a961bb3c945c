/**
 * `openclaw channels status|list|start|stop|logout`: flags → one library call
 * (src/channels/commands.ts, or an RPC of the running gateway) → render.
 *
 *   status   RPC `channels.status` (`--probe` runs live checks on the gateway); when the gateway
 *            cannot be reached (or refuses our credentials) it prints the config-only summary,
 *            as the original does, and still exits 0
 *   list     the configured chat accounts, from the config alone
 *   start    RPC `channels.start` / `channels.stop` (operator.admin)
 *   stop
 *   logout   RPC `channels.logout`; with the gateway down, the token is removed from the config
 *            file directly (the same edit the gateway makes)
 */
import { defineCommand } from "citty";
import type { CliContext } from "../channels/commands.ts";
import { readConfigFile } from "../config/load.ts";
import { resolvePaths } from "../config/paths.ts";
import { loadSnapshot, type ConfigSnapshot } from "../config/snapshot.ts";
import { writeConfigDocument } from "../config/write.ts";
import { IDENTITY, withGateway } from "../operator/connect.ts";
import type { GatewayTarget } from "../operator/target.ts";
import { GatewayConnectError, GatewayRequestError } from "../protocol/client.ts";
import type { ResultOf } from "../protocol/contract.ts";
import { ADMIN, READ } from "../protocol/scopes.ts";
import { targetOf, timeoutArg } from "./call.ts";
import { CliError, writeStderr } from "./command.ts";
import { globals } from "./globals.ts";
import { describeFailure, exitWithFailure, printJson } from "./output.ts";

export const STATUS_TIP = "Tip: https://docs.openclaw.ai/cli/status adds gateway health probes to status output (requires a reachable gateway).";
const LIST_TAIL = [
  "",
  "Model provider usage moved out of `channels list` — see `openclaw status` or `openclaw models list`.",
  "Docs: https://docs.openclaw.ai/gateway/configuration",
];

const connection = {
  url: { type: "string", description: "Gateway WebSocket URL (needs --token or --password)" },
  token: { type: "string", description: "Gateway token" },
  password: { type: "string", description: "Gateway password" },
} as const;

/** The effective config and where the state lives, for the commands that work without a gateway. */
export async function channelCliContext(snapshot?: ConfigSnapshot): Promise<CliContext> {
  const snap = snapshot ?? (await loadSnapshot({ paths: resolvePaths({ profile: globals().profile }) }));
  if (snap.problem?.kind === "parse" || snap.problem?.kind === "read") throw snap.problem.error;
  const { builtinChannelPlugins } = await import("../channels/index.ts");
  return { stateDir: snap.paths.stateDir, configPath: snap.paths.configPath, config: snap.config, env: snap.env, plugins: builtinChannelPlugins() };
}

/** `--account`: absent → undefined; blank → refused (an unset shell variable must not pick the default). */
function accountArg(raw: unknown): string | undefined {
  if (raw === undefined) return undefined;
  const v = String(raw).trim();
  if (!v) throw new CliError(["--account must not be blank"]);
  return v;
}

function channelArg(raw: unknown, what: string): string {
  const v = String(raw ?? "").trim().toLowerCase();
  if (!v) throw new CliError([`Missing channel. Use openclaw channels ${what} <channel>.`]);
  return v;
}

/** A failure to reach (or be let into) the gateway, as opposed to an answer from it. */
function unreachable(err: unknown): boolean {
  return !(err instanceof GatewayRequestError) && !(err instanceof CliError) && !(err instanceof Error && Array.isArray((err as { lines?: unknown }).lines));
}

const status = defineCommand({
  meta: { name: "status", description: "Show channel status (--probe runs live credential checks on the gateway)" },
  args: {
    channel: { type: "string", description: "Only show one channel" },
    probe: { type: "boolean", description: "Probe channel credentials" },
    timeout: { type: "string", description: "Timeout in ms (default 60000)" },
    json: { type: "boolean", description: "Output JSON" },
    ...connection,
  },
  async run({ args }) {
    const json = Boolean(args.json);
    const probe = Boolean(args.probe);
    let target: GatewayTarget | undefined;
    try {
      const timeoutMs = timeoutArg(args.timeout, 60_000);
      const channel = args.channel === undefined ? undefined : channelArg(args.channel, "status --channel");
      if (!json) console.log(probe ? "Checking channel status (probe)…" : "Checking channel status…");
      const resolved = await targetOf(args, { needConfig: true });
      target = resolved.target;
      let result: ResultOf<"channels.status">;
      try {
        result = await withGateway(target, { identity: IDENTITY.cli, scopes: [READ], timeoutMs: Math.min(timeoutMs, 15_000) }, (c) =>
          c.request<ResultOf<"channels.status">>("channels.status", { probe, timeoutMs, ...(channel ? { channel } : {}) }, { timeoutMs: timeoutMs + 5_000 }),
        );
      } catch (err) {
        if (!unreachable(err)) throw err;
        const failure = await describeFailure(err, target, "Channel status");
        const ctx = await channelCliContext(resolved.snapshot);
        if (channel) ctx.plugins = ctx.plugins.filter((p) => p.meta.id === channel);
        const { configOnlyStatus } = await import("../channels/commands.ts");
        const summary = configOnlyStatus(ctx, failure.human.join("\n"));
        if (err instanceof GatewayConnectError && err.kind === "rejected") summary.json.gatewayAuthUnavailable = true;
        if (json) return printJson(summary.json);
        writeStderr(failure.human);
        process.stdout.write(`${summary.text}\n${STATUS_TIP}\n`);
        return;
      }
      if (json) return printJson(result);
      const { channelsStatusText } = await import("../channels/commands.ts");
      process.stdout.write(`Gateway reachable.\n${channelsStatusText(result)}\n${STATUS_TIP}\n`);
    } catch (err) {
      await exitWithFailure(err, { json, target, what: "Channel status" });
    }
  },
});

const list = defineCommand({
  meta: { name: "list", description: "List the configured chat channel accounts (from the config)" },
  args: { json: { type: "boolean", description: "Output JSON" } },
  async run({ args }) {
    const json = Boolean(args.json);
    try {
      const { channelsList } = await import("../channels/commands.ts");
      const out = channelsList(await channelCliContext());
      if (json) return printJson(out.json);
      process.stdout.write(`${out.text}${LIST_TAIL.join("\n")}\n`);
    } catch (err) {
      await exitWithFailure(err, { json, what: "Channel list" });
    }
  },
});

/** One admin RPC about one account (`channels start|stop|logout`). */
async function accountCall<M extends "channels.start" | "channels.stop" | "channels.logout">(
  method: M,
  args: { url?: unknown; token?: unknown; password?: unknown; timeout?: unknown },
  params: { channel: string; accountId?: string },
): Promise<{ result: ResultOf<M>; target: GatewayTarget }> {
  const timeoutMs = timeoutArg(args.timeout, 10_000);
  const target = (await targetOf(args)).target;
  const result = await withGateway(target, { identity: IDENTITY.cli, scopes: [ADMIN], timeoutMs }, (c) => c.request<ResultOf<M>>(method, params, { timeoutMs: timeoutMs + 10_000 }));
  return { result, target };
}

const accountArgs = {
  channel: { type: "positional", required: true, description: "Channel id, e.g. telegram" },
  account: { type: "string", description: "Account id (default: the channel's default account)" },
  timeout: { type: "string", description: "Timeout in ms (default 10000)" },
  json: { type: "boolean", description: "Output JSON" },
  ...connection,
} as const;

const start = defineCommand({
  meta: { name: "start", description: "Start a channel account on the running gateway" },
  args: accountArgs,
  async run({ args }) {
    const json = Boolean(args.json);
    try {
      const channel = channelArg(args.channel, "start");
      const { result } = await accountCall("channels.start", args, { channel, accountId: accountArg(args.account) });
      if (json) return printJson(result);
      const who = `${result.channel} ${result.accountId}`;
      if (result.outcome.status === "handed-off") console.log(`Started ${who}.`);
      else if (result.outcome.status === "retry") console.log(`${who} was not started (${result.outcome.reason}); it is already running or still stopping.`);
      else {
        console.log(`${who} was not started (${result.outcome.reason}).`);
        process.exitCode = 1;
      }
    } catch (err) {
      await exitWithFailure(err, { json, what: "Channel start" });
    }
  },
});

const stop = defineCommand({
  meta: { name: "stop", description: "Stop a channel account on the running gateway (until channels start or a restart)" },
  args: accountArgs,
  async run({ args }) {
    const json = Boolean(args.json);
    try {
      const channel = channelArg(args.channel, "stop");
      const { result } = await accountCall("channels.stop", args, { channel, accountId: accountArg(args.account) });
      if (json) return printJson(result);
      console.log(result.stopped ? `Stopped ${result.channel} ${result.accountId}.` : `${result.channel} ${result.accountId} is still stopping.`);
    } catch (err) {
      await exitWithFailure(err, { json, what: "Channel stop" });
    }
  },
});

const logout = defineCommand({
  meta: { name: "logout", description: "Log a channel account out (remove its token from the config)" },
  args: {
    channel: { type: "string", description: "Channel id (automatic when only one channel is configured)" },
    account: { type: "string", description: "Account id (default: the channel's default account)" },
    timeout: { type: "string", description: "Timeout in ms (default 10000)" },
    json: { type: "boolean", description: "Output JSON" },
    ...connection,
  },
  async run({ args }) {
    const json = Boolean(args.json);
    try {
      const ctx = await channelCliContext();
      const accountId = accountArg(args.account);
      let channel: string;
      if (args.channel !== undefined) {
        channel = String(args.channel).trim().toLowerCase();
        if (!channel) throw new CliError(["--channel must not be blank"]);
      } else {
        const { pairingChannels } = await import("../channels/commands.ts");
        const configured = pairingChannels(ctx);
        if (configured.length !== 1) throw new CliError([configured.length ? `Channel required (expected one of: ${configured.join(", ")}).` : "No chat channels are configured."]);
        channel = configured[0];
      }
      let result: ResultOf<"channels.logout">;
      try {
        result = (await accountCall("channels.logout", args, { channel, ...(accountId ? { accountId } : {}) })).result;
      } catch (err) {
        if (!unreachable(err)) throw err;
        result = await localLogout(ctx, channel, accountId);
      }
      if (json) return printJson(result);
      const who = `${result.channel} ${result.accountId}`;
      if (result.loggedOut) console.log(`Logged out ${who}: its token was removed from the config.`);
      else if (result.envToken) console.log(`${who} takes its token from the environment; unset it to log out.`);
      else console.log(`${who} has no token in the config; nothing to log out.`);
    } catch (err) {
      await exitWithFailure(err, { json, what: "Channel logout" });
    }
  },
});

/** `channels logout` with the gateway down: the same config edit the gateway makes. */
async function localLogout(ctx: CliContext, channel: string, accountId: string | undefined): Promise<ResultOf<"channels.logout">> {
  const plugin = ctx.plugins.find((p) => p.meta.id === channel);
  if (!plugin?.logout) throw new CliError([`Channel ${channel} does not support logout.`]);
  const env = ctx.env ?? process.env;
  const id = (accountId ?? plugin.defaultAccountId(ctx.config, env)).toLowerCase();
  const file = await readConfigFile(ctx.configPath);
  const doc = structuredClone((file.parsed ?? {}) as Record<string, any>);
  const { cleared, envToken } = plugin.logout(doc, id, env);
  if (cleared) await writeConfigDocument(ctx.configPath, doc, { env });
  return { channel, accountId: id, cleared, envToken, loggedOut: cleared && !envToken };
}

export default defineCommand({
  meta: { name: "channels", description: "Chat channel accounts (Telegram, Discord) and their runtime status" },
  subCommands: { status, list, start, stop, logout },
});
