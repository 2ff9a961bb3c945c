/**
 * `openclaw pairing list|approve`: chat DM pairing requests. Like the original's, both work on
 * the state files of this host directly (the same SQLite rows and lock the gateway and the
 * official CLI use), whether the gateway runs or not; the running gateway sees an approval on
 * the sender's next message. Logic in src/channels/commands.ts.
 */
import { defineCommand } from "citty";
import { CliError } from "./command.ts";
import { channelCliContext } from "./channels.ts";
import { exitWithFailure, printJson } from "./output.ts";

/** Library refusals (ChannelCliError) become CLI errors with the same text. */
async function run<T>(fn: () => Promise<T> | T): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof Error && err.name === "ChannelCliError") throw new CliError([err.message]);
    throw err;
  }
}

const list = defineCommand({
  meta: { name: "list", description: "List pending DM pairing requests" },
  args: {
    channelArg: { type: "positional", required: false, description: "Channel (e.g. telegram)" },
    channel: { type: "string", description: "Channel" },
    account: { type: "string", description: "Account id (for multi-account channels)" },
    json: { type: "boolean", description: "Print JSON" },
  },
  async run({ args }) {
    const json = Boolean(args.json);
    try {
      const ctx = await channelCliContext();
      const { pairingListCommand } = await import("../channels/commands.ts");
      const out = await run(() =>
        pairingListCommand(ctx, {
          channel: args.channel === undefined ? undefined : String(args.channel),
          positional: args.channelArg === undefined ? undefined : String(args.channelArg),
          account: args.account === undefined ? undefined : String(args.account),
          json,
          width: process.stdout.columns || 120,
        }),
      );
      if (out.json) return printJson(out.json);
      process.stdout.write(out.text);
    } catch (err) {
      await exitWithFailure(err, { json, what: "Pairing list" });
    }
  },
});

const approve = defineCommand({
  meta: { name: "approve", description: "Approve a pairing code and allow that sender" },
  args: {
    codeOrChannel: { type: "positional", required: true, description: "Pairing code (or the channel when a code follows)" },
    code: { type: "positional", required: false, description: "Pairing code (when the channel comes first)" },
    channel: { type: "string", description: "Channel" },
    account: { type: "string", description: "Account id (for multi-account channels)" },
    notify: { type: "boolean", description: "Tell the requester on the same channel" },
  },
  async run({ args }) {
    try {
      const ctx = await channelCliContext();
      const { pairingApproveCommand } = await import("../channels/commands.ts");
      const lines = await run(() =>
        pairingApproveCommand(ctx, {
          channel: args.channel === undefined ? undefined : String(args.channel),
          codeOrChannel: String(args.codeOrChannel),
          code: args.code === undefined ? undefined : String(args.code),
          account: args.account === undefined ? undefined : String(args.account),
          notify: Boolean(args.notify),
        }),
      );
      for (const line of lines) console.log(line);
    } catch (err) {
      await exitWithFailure(err, { what: "Pairing approve" });
    }
  },
});

export default defineCommand({
  meta: { name: "pairing", description: "Approve or list chat DM pairing requests (devices: openclaw devices)" },
  subCommands: { list, approve },
});
