/**
 * `openclaw cron status|list|add|edit|rm|enable|disable|run|runs|get|scratch` (alias
 * `automations`): the scheduler over RPC, as the original's CLI drives it. `list` prints a table
 * (`--json` for the result); the others print the gateway's JSON. Every call connects with the
 * least scope it needs (`operator.read` to look, `operator.admin` to change).
 *
 * Failures: a refused command line or a gateway refusal prints the message on stderr, and for
 * the JSON-printing commands also `{"ok":false,"error":{"type":"cli_error",…}}` on stdout; exit 1.
 */
import { defineCommand } from "citty";
import { readFileSync } from "node:fs";
import { IDENTITY, connectTo } from "../operator/connect.ts";
import {
  addParams,
  CronFlagError,
  editPatch,
  jobTable,
  lookupMiss,
  NO_AGENT_NOTE,
  schedulerDisabledWarning,
  withLocalTimes,
  withStatus,
} from "../operator/cron.ts";
import type { GatewayTarget } from "../operator/target.ts";
import { GatewayClient, GatewayRequestError } from "../protocol/client.ts";
import { targetOf, timeoutArg } from "./call.ts";
import { writeStderr } from "./command.ts";
import { exitWithFailure, printJson } from "./output.ts";

const READ = ["operator.read"];
const ADMIN = ["operator.admin"];

export const gatewayArgs = {
  url: { type: "string", description: "Gateway WebSocket URL (defaults to gateway.remote.url when configured)" },
  port: { type: "string", description: "Local Gateway port" },
  token: { type: "string", description: "Gateway token (if required)" },
  password: { type: "string", description: "Gateway password (if required)" },
  timeout: { type: "string", description: 'Timeout in ms (default: "30000")' },
  "expect-final": { type: "boolean", description: "Wait for final response (agent)" },
} as const;

const outputArgs = { ...gatewayArgs, json: { type: "boolean", description: "Explicit machine-output spelling (command results are JSON by default)" } } as const;

/**
 * Run `fn` with a connection made on first use (so a bad command line is refused before any
 * connection), with `scopes`; close it; print failures as the original's cron CLI does.
 */
export async function withCron(
  args: Record<string, unknown>,
  opts: { scopes: string[]; jsonOutput: boolean },
  fn: (client: () => Promise<GatewayClient>) => Promise<void>,
): Promise<void> {
  let target: GatewayTarget | undefined;
  let connected: Promise<GatewayClient> | undefined;
  try {
    const timeoutMs = timeoutArg(args.timeout, 30_000);
    const client = () =>
      (connected ??= (async () => {
        target = (await targetOf(args)).target;
        return connectTo(target, { identity: IDENTITY.cli, scopes: opts.scopes, timeoutMs });
      })());
    try {
      await fn(client);
    } finally {
      if (connected) void connected.then((c) => c.close()).catch(() => {});
    }
  } catch (err) {
    const message = refusal(err);
    if (message === undefined) return exitWithFailure(err, { json: opts.jsonOutput, target, what: "Gateway call" });
    if (opts.jsonOutput) printJson({ ok: false, error: { type: "cli_error", message } });
    writeStderr([message]);
    process.exit(1);
  }
}

/** The message of a refusal (bad flags, a gateway answer), or undefined for a connection failure. */
function refusal(err: unknown): string | undefined {
  if (err instanceof CronFlagError) return err.message;
  if (err instanceof GatewayRequestError) {
    const d = err.details as { code?: string; jobId?: string } | undefined;
    return d?.code === "CRON_JOB_NOT_FOUND" && d.jobId ? lookupMiss(d.jobId) : err.message;
  }
  return undefined;
}

function requireId(raw: unknown, hint = ""): string {
  const id = typeof raw === "string" ? raw.trim() : "";
  if (!id) throw new CronFlagError(`Automation id is required.${hint ? ` ${hint}` : ""}`);
  return id;
}

/** After a write: the original warns when the scheduler will not run jobs. */
async function warnIfDisabled(client: GatewayClient): Promise<void> {
  try {
    const lines = schedulerDisabledWarning(await client.call("cron.status", {}));
    if (lines) writeStderr(lines);
  } catch {
    // The write already succeeded; the warning is best effort.
  }
}

/** A positive integer flag (`--limit`), or non-negative (`--offset`). */
function intArg(raw: unknown, flag: string, min: 0 | 1): number | undefined {
  if (raw === undefined) return undefined;
  const text = String(raw).trim();
  if (!/^\d+$/.test(text) || Number(text) < min || !Number.isSafeInteger(Number(text))) {
    throw new CronFlagError(`${flag} must be a ${min === 1 ? "positive" : "non-negative"} integer`);
  }
  return Number(text);
}

const status = defineCommand({
  meta: { name: "status", description: "Show automations scheduler status" },
  args: outputArgs,
  run: ({ args }) => withCron(args, { scopes: READ, jsonOutput: true }, async (client) => printJson(await (await client()).call("cron.status", {}))),
});

const list = defineCommand({
  meta: { name: "list", description: "List automations" },
  args: {
    ...gatewayArgs,
    all: { type: "boolean", description: "Include disabled jobs" },
    agent: { type: "string", description: "Filter by agent id" },
    json: { type: "boolean", description: "Output JSON" },
  },
  run: ({ args }) =>
    withCron(args, { scopes: READ, jsonOutput: Boolean(args.json) }, async (client) => {
      if (typeof args.agent === "string" && !args.agent.trim()) throw new CronFlagError("--agent must not be blank");
      const params = { includeDisabled: Boolean(args.all), ...(args.agent ? { agentId: args.agent.trim() } : {}), limit: 200 };
      const c = await client();
      // Pages of 200 until the gateway says there is no more (bounded by its total).
      const res = await c.call("cron.list", { ...params, offset: 0 });
      const jobs = [...res.jobs];
      const previews = { ...(res.deliveryPreviews ?? {}) };
      for (let next = res.nextOffset; res.hasMore && next !== null && jobs.length < res.total; ) {
        const page = await c.call("cron.list", { ...params, offset: next });
        if (page.jobs.length === 0) break;
        jobs.push(...page.jobs);
        Object.assign(previews, page.deliveryPreviews ?? {});
        next = page.hasMore ? page.nextOffset : null;
      }
      const all = { ...res, jobs, limit: jobs.length, hasMore: false, nextOffset: null, deliveryPreviews: previews };
      if (args.json) printJson(withStatus(all as Record<string, any>));
      else for (const line of jobTable(jobs as Array<Record<string, any>>, previews)) console.log(line);
    }),
});

const scheduleArgs = {
  at: { type: "string", description: "One-shot time (ISO, offset-less uses --tz) or duration like 20m" },
  every: { type: "string", description: "Interval duration (e.g. 10m, 1h)" },
  cron: { type: "string", description: "Cron expression (5-field or 6-field with seconds)" },
  tz: { type: "string", description: "Timezone for cron expressions (IANA; cron default: Gateway host local timezone)" },
  stagger: { type: "string", description: "Cron stagger window (e.g. 30s, 5m)" },
  exact: { type: "boolean", description: "Disable cron staggering (set stagger to 0)" },
} as const;

const jobArgs = {
  name: { type: "string", description: "Job name" },
  "display-name": { type: "string", description: "Human-readable job label" },
  description: { type: "string", description: "Job description" },
  agent: { type: "string", description: "Agent id for this job" },
  session: { type: "string", description: "Session target (main|isolated|current|session:<id>)" },
  "session-key": { type: "string", description: "Session key for job routing" },
  wake: { type: "string", description: "Wake mode (now|next-heartbeat)" },
  message: { type: "string", description: "Agent message payload" },
  "system-event": { type: "string", description: "System event payload (main session)" },
  model: { type: "string", description: "Model override for agent jobs (provider/model)" },
  fallbacks: { type: "string", description: "Fallback model list for agent jobs" },
  thinking: { type: "string", description: "Thinking level for agent jobs" },
  "timeout-seconds": { type: "string", description: "Timeout seconds for agent jobs (0 disables the scheduler timeout)" },
  "light-context": { type: "boolean", description: "Use lightweight bootstrap context for agent jobs" },
  tools: { type: "string", description: "Tool allow-list (e.g. exec,read)" },
  announce: { type: "boolean", description: "Fallback-deliver final text to a chat" },
  deliver: { type: "boolean", description: "Deprecated (use --announce); --no-deliver disables delivery" },
  channel: { type: "string", description: "Delivery channel (last|<channel id>)" },
  to: { type: "string", description: "Delivery destination" },
  account: { type: "string", description: "Channel account id for delivery" },
  "thread-id": { type: "string", description: "Telegram forum topic thread id" },
  "best-effort-deliver": { type: "boolean", description: "Do not fail the job if delivery fails" },
  "delete-after-run": { type: "boolean", description: "Delete one-shot after successful completion" },
  "keep-after-run": { type: "boolean", description: "Keep one-shot job after it succeeds" },
  ...scheduleArgs,
} as const;

function positionals(args: { _: string[] }): string[] {
  return args._ ?? [];
}

const add = defineCommand({
  meta: { name: "add", description: "Add an automation" },
  args: {
    scheduleOrName: { type: "positional", required: false, description: "Schedule string, or job name when using --at/--every/--cron" },
    prompt: { type: "positional", required: false, description: "Agent message when using a positional schedule" },
    ...outputArgs,
    ...jobArgs,
    "declaration-key": { type: "string", description: "Idempotent declaration identity key" },
    disabled: { type: "boolean", description: "Create job disabled" },
  },
  run: ({ args }) =>
    withCron(args, { scopes: ADMIN, jsonOutput: true }, async (client) => {
      const { params, warnNoAgent } = addParams(args, positionals(args), Date.now());
      if (warnNoAgent) writeStderr([NO_AGENT_NOTE]);
      printJson(await (await client()).request("cron.add", params));
      await warnIfDisabled(await client());
    }),
});

const edit = defineCommand({
  meta: { name: "edit", description: "Edit an automation (patch fields)" },
  args: {
    id: { type: "positional", required: true, description: "Job id" },
    ...outputArgs,
    ...jobArgs,
    enable: { type: "boolean", description: "Enable job" },
    disable: { type: "boolean", description: "Disable job" },
    "clear-agent": { type: "boolean", description: "Unset agent and use default" },
    "clear-session-key": { type: "boolean", description: "Unset session key" },
    "clear-model": { type: "boolean", description: "Remove the per-job model override" },
    "clear-thinking": { type: "boolean", description: "Remove the per-job thinking override" },
    "clear-fallbacks": { type: "boolean", description: "Remove per-job fallback override" },
    "clear-channel": { type: "boolean", description: "Unset the delivery channel" },
    "clear-to": { type: "boolean", description: "Unset the delivery destination" },
    "clear-account": { type: "boolean", description: "Unset the per-job delivery account override" },
  },
  run: ({ args }) =>
    withCron(args, { scopes: ADMIN, jsonOutput: true }, async (client) => {
      const id = requireId(args.id);
      const patch = await editPatch(args, Date.now(), async () => (await client()).call("cron.get", { id }) as Promise<{ schedule: Record<string, unknown> }>);
      printJson(await (await client()).request("cron.update", { id, patch }));
      await warnIfDisabled(await client());
    }),
});

function toggle(name: "enable" | "disable", enabled: boolean) {
  return defineCommand({
    meta: { name, description: `${enabled ? "Enable" : "Disable"} an automation` },
    args: { id: { type: "positional", required: true, description: "Job id" }, ...outputArgs },
    run: ({ args }) =>
      withCron(args, { scopes: ADMIN, jsonOutput: true }, async (client) => {
        printJson(await (await client()).call("cron.update", { id: requireId(args.id), patch: { enabled } }));
        if (!enabled && process.stderr.isTTY) {
          writeStderr(["Note: 'openclaw cron list' hides disabled jobs by default. Use 'openclaw cron list --all' to see this job, or 'openclaw cron enable <id>' to re-enable it."]);
        }
        await warnIfDisabled(await client());
      }),
  });
}

const rm = defineCommand({
  meta: { name: "rm", description: "Remove an automation" },
  args: { id: { type: "positional", required: true, description: "Job id" }, ...outputArgs },
  run: ({ args }) => withCron(args, { scopes: ADMIN, jsonOutput: true }, async (client) => printJson(await (await client()).call("cron.remove", { id: requireId(args.id) }))),
});

const get = defineCommand({
  meta: { name: "get", description: "Get an automation as JSON" },
  args: { id: { type: "positional", required: true, description: "Job id" }, ...outputArgs },
  run: ({ args }) => withCron(args, { scopes: READ, jsonOutput: true }, async (client) => printJson(await (await client()).call("cron.get", { id: requireId(args.id) }))),
});

const run = defineCommand({
  meta: { name: "run", description: "Run an automation now (debug)" },
  args: {
    id: { type: "positional", required: true, description: "Job id" },
    ...outputArgs,
    due: { type: "boolean", description: "Run only when due" },
  },
  run: ({ args }) =>
    withCron(args, { scopes: ADMIN, jsonOutput: true }, async (client) => {
      const res = await (await client()).call("cron.run", { id: requireId(args.id), mode: args.due ? "due" : "force" });
      printJson(res);
      if (!(res.ok && (res.ran || res.enqueued))) process.exitCode = 1;
    }),
});

const runs = defineCommand({
  meta: { name: "runs", description: "Show automation run history" },
  args: {
    jobId: { type: "positional", required: false, description: "Job id" },
    ...outputArgs,
    id: { type: "string", description: "Job id (alternative to positional argument)" },
    "run-id": { type: "string", description: "Filter by cron run id" },
    status: { type: "string", description: "Filter by run status (all|ok|error|skipped)" },
    "delivery-status": { type: "string", description: "Filter by delivery status (delivered|not-delivered|unknown|not-requested)" },
    query: { type: "string", description: "Filter by run summary or error text" },
    offset: { type: "string", description: "Entries to skip before returning results" },
    sort: { type: "string", description: "Sort by run time (asc|desc)" },
    limit: { type: "string", description: "Max entries (default 50)" },
  },
  run: ({ args }) =>
    withCron(args, { scopes: READ, jsonOutput: true }, async (client) => {
      const pos = typeof args.jobId === "string" ? args.jobId.trim() : "";
      const flag = typeof args.id === "string" ? args.id.trim() : "";
      if (pos && flag && pos !== flag) throw new CronFlagError(`Conflicting job ids: positional "${pos}" and --id "${flag}".`);
      const id = requireId(pos || flag, "Pass it positionally or with --id.");
      const choice = (value: unknown, flagName: string, allowed: string[]) => {
        if (value === undefined) return undefined;
        if (typeof value !== "string" || !allowed.includes(value)) throw new CronFlagError(`${flagName} must be one of: ${allowed.join(", ")}`);
        return value;
      };
      const status = choice(args.status, "--status", ["all", "ok", "error", "skipped"]);
      const deliveryStatus = choice(args["delivery-status"], "--delivery-status", ["delivered", "not-delivered", "unknown", "not-requested"]);
      const sortDir = choice(args.sort, "--sort", ["asc", "desc"]);
      if (typeof args["run-id"] === "string" && !args["run-id"].trim()) throw new CronFlagError("--run-id must not be blank");
      const offset = intArg(args.offset, "--offset", 0);
      const params = {
        id,
        ...(typeof args["run-id"] === "string" ? { runId: args["run-id"].trim() } : {}),
        ...(status ? { status } : {}),
        ...(deliveryStatus ? { deliveryStatus } : {}),
        ...(typeof args.query === "string" ? { query: args.query } : {}),
        ...(offset !== undefined ? { offset } : {}),
        ...(sortDir ? { sortDir } : {}),
        limit: intArg(args.limit ?? "50", "--limit", 1),
      };
      printJson(withLocalTimes(await (await client()).request("cron.runs", params)));
    }),
});

const scratch = defineCommand({
  meta: { name: "scratch", description: "Read or replace an automation's private scratch" },
  args: {
    id: { type: "positional", required: true, description: "Job id" },
    ...outputArgs,
    set: { type: "string", description: "Replace scratch with exact text" },
    file: { type: "string", description: "Replace scratch from a file" },
    unset: { type: "boolean", description: "Remove the scratch row" },
    "expected-revision": { type: "string", description: "Require the current scratch revision" },
  },
  run: ({ args }) =>
    withCron(args, { scopes: ADMIN, jsonOutput: Boolean(args.json) }, async (client) => {
      const id = requireId(args.id);
      const writes = [typeof args.set === "string", typeof args.file === "string", Boolean(args.unset)].filter(Boolean).length;
      if (writes > 1) throw new CronFlagError("choose only one of --set, --file, or --unset");
      const expected = intArg(args["expected-revision"], "--expected-revision", 0);
      if (writes === 0) {
        const res = await (await client()).call("cron.scratch.get", { id });
        if (args.json) printJson(res);
        else if (res.scratch) process.stdout.write(res.scratch.content.endsWith("\n") ? res.scratch.content : `${res.scratch.content}\n`);
        return;
      }
      let content: string | null = null;
      if (typeof args.set === "string") content = args.set;
      else if (typeof args.file === "string") {
        try {
          content = readFileSync(args.file === "-" ? 0 : args.file, "utf8");
        } catch (err) {
          throw new CronFlagError(`cannot read ${args.file}: ${(err as Error).message}`);
        }
      }
      const res = await (await client()).call("cron.scratch.set", { id, content, ...(expected !== undefined ? { expectedRevision: expected } : {}) });
      printJson(res);
      if (!res.ok) process.exitCode = 1;
    }),
});

export default defineCommand({
  meta: { name: "cron", description: "Manage automations (via Gateway)" },
  subCommands: {
    status,
    list,
    add,
    create: { ...add, meta: { name: "create", description: "Add an automation (alias of add)", hidden: true } },
    edit,
    rm,
    remove: { ...rm, meta: { name: "remove", description: "Remove an automation (alias of rm)", hidden: true } },
    enable: toggle("enable", true),
    disable: toggle("disable", false),
    run,
    runs,
    get,
    scratch,
  },
});
