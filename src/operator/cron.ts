/**
 * What `openclaw cron …` and `openclaw system …` send and show, without printing: command-line
 * flags → `cron.add` params and `cron.update` patches (the forms the original's CLI accepts for
 * them, with its refusals word for word), the human job table, the local-time fields it adds
 * to run history, and the lookup-miss wording.
 */
import { formatDurationMs, parseAtInput, parseDurationMs } from "../automation/schedule.ts";
import { isoWithOffset } from "../automation/tz.ts";

/** A refusal of the command line itself (nothing was sent). */
export class CronFlagError extends Error {
  override name = "CronFlagError";
}

type Flags = Record<string, unknown>;

function str(v: unknown): string | undefined {
  return typeof v === "string" && v.trim() ? v.trim() : undefined;
}

function given(v: unknown): boolean {
  return typeof v === "string";
}

function bool(v: unknown): boolean {
  return v === true;
}

/** `--timeout-seconds`: a non-negative integer (0 = no scheduler ceiling). */
function nonNegativeInt(v: unknown, flag: string): number | undefined {
  if (v === undefined) return undefined;
  const text = String(v).trim();
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(Number(text))) throw new CronFlagError(`${flag} must be a non-negative integer`);
  return Number(text);
}

function positiveDurationMs(raw: string): number | undefined {
  try {
    const ms = parseDurationMs(raw);
    return ms > 0 && ms <= 8_640_000_000_000_000 ? ms : undefined;
  } catch {
    return undefined;
  }
}

function list(v: unknown): string[] | undefined {
  if (typeof v !== "string") return undefined;
  return v
    .split(/[\s,]+/)
    .map((s) => s.trim())
    .filter(Boolean);
}

// --- schedules --------------------------------------------------------------------------------

interface ScheduleFlags {
  at?: string;
  every?: string;
  cron?: string;
  tz?: string;
  staggerMs?: number;
}

function scheduleFlags(f: Flags): ScheduleFlags {
  for (const k of ["at", "every", "cron"]) {
    if (typeof f[k] === "string" && !(f[k] as string).trim()) throw new CronFlagError("Schedule values must not be blank");
  }
  const stagger = str(f.stagger);
  if (stagger && bool(f.exact)) throw new CronFlagError("Choose either --stagger or --exact, not both");
  let staggerMs: number | undefined;
  if (bool(f.exact)) staggerMs = 0;
  else if (stagger) {
    staggerMs = positiveDurationMs(stagger);
    if (!staggerMs) throw new CronFlagError("Invalid --stagger; use e.g. 30s, 1m, 5m");
  }
  return { at: str(f.at), every: str(f.every), cron: str(f.cron), tz: str(f.tz), staggerMs };
}

function chosen(s: ScheduleFlags): number {
  return [s.at, s.every, s.cron].filter(Boolean).length;
}

function directSchedule(s: ScheduleFlags, now: number): Record<string, unknown> | undefined {
  if (s.tz && s.every) throw new CronFlagError("--tz is only valid with --cron or offset-less --at");
  if (s.staggerMs !== undefined && (s.at || s.every)) throw new CronFlagError("--stagger/--exact are only valid for cron schedules");
  if (s.at) {
    let ms: number;
    try {
      ms = parseAtInput(s.at, now, s.tz);
    } catch {
      throw new CronFlagError("Invalid --at. Use an ISO timestamp or a duration like 20m.");
    }
    return { kind: "at", at: new Date(ms).toISOString() };
  }
  if (s.every) {
    const everyMs = positiveDurationMs(s.every);
    if (!everyMs) throw new CronFlagError("Invalid --every. Use a duration like 10m, 1h, or 1d.");
    return { kind: "every", everyMs };
  }
  if (s.cron) {
    return { kind: "cron", expr: s.cron, ...(s.tz ? { tz: s.tz } : {}), ...(s.staggerMs !== undefined ? { staggerMs: s.staggerMs } : {}) };
  }
  return undefined;
}

/** `every 10m` as a positional schedule. */
function positionalEvery(value: string): string | undefined {
  return /^every\s+(.+)$/i.exec(value.trim())?.[1]?.trim() || undefined;
}

function looksLikeCron(value: string): boolean {
  const parts = value.trim().split(/\s+/);
  return parts.length === 5 || parts.length === 6;
}

function sessionTargetOf(raw: string): string | undefined {
  const t = raw.trim();
  if (t === "main" || t === "isolated" || t === "current") return t;
  if (/^session:.+/i.test(t) && t.slice(8).trim()) return t;
  return undefined;
}

// --- cron add -----------------------------------------------------------------------------------

export interface AddCommand {
  params: Record<string, unknown>;
  /** The "No --agent specified" note the original prints for agent jobs without --agent. */
  warnNoAgent: boolean;
}

/**
 * `cron add [scheduleOrName] [message]` flags → `cron.add` params. A positional schedule
 * (`"0 9 * * 1"`, `"every 10m"`, `"20m"`) needs no schedule flag; with one, the first positional
 * is the name.
 */
export function addParams(f: Flags, positionals: string[], now: number): AddCommand {
  const [nameArg, messageArg] = positionals;
  const s = scheduleFlags(f);
  const hasScheduleFlag = chosen(s) > 0;
  let schedule: Record<string, unknown> | undefined;
  if (!hasScheduleFlag && str(nameArg)) {
    const pos = nameArg.trim();
    const every = positionalEvery(pos);
    const cron = !every && looksLikeCron(pos) ? pos : undefined;
    schedule = directSchedule({ ...s, every, cron, at: every || cron ? undefined : pos }, now);
  } else {
    if (chosen(s) > 1) throw new CronFlagError("Choose exactly one schedule: --at, --every, or --cron");
    schedule = directSchedule(s, now);
  }
  if (!schedule) throw new CronFlagError("Choose exactly one schedule: --at, --every, or --cron");

  const wake = str(f.wake) ?? "now";
  if (wake !== "now" && wake !== "next-heartbeat") throw new CronFlagError("--wake must be now or next-heartbeat");
  const agentId = str(f.agent);
  const announce = bool(f.announce) || f.deliver === true;
  const noDeliver = f.deliver === false;
  if ([announce, noDeliver].filter(Boolean).length > 1) throw new CronFlagError("Choose at most one of --announce, --no-deliver, or --webhook");

  const systemEvent = str(f["system-event"]);
  const optionMessage = str(f.message);
  const positionalMessage = hasScheduleFlag ? undefined : str(messageArg);
  if (optionMessage && positionalMessage && optionMessage !== positionalMessage) {
    throw new CronFlagError("Pass the automation message either positionally or with --message, not both.");
  }
  const message = optionMessage ?? positionalMessage;
  if ([systemEvent, message].filter(Boolean).length !== 1) throw new CronFlagError("Choose exactly one payload: --system-event, --message, --command, or --script");
  const toolsAllow = list(f.tools);
  let payload: Record<string, unknown>;
  if (systemEvent) payload = { kind: "systemEvent", text: systemEvent, ...(toolsAllow ? { toolsAllow } : {}) };
  else {
    const timeoutSeconds = nonNegativeInt(f["timeout-seconds"], "--timeout-seconds");
    payload = {
      kind: "agentTurn",
      message,
      ...(str(f.model) ? { model: str(f.model) } : {}),
      ...(list(f.fallbacks) ? { fallbacks: list(f.fallbacks) } : {}),
      ...(str(f.thinking) ? { thinking: str(f.thinking) } : {}),
      ...(timeoutSeconds !== undefined ? { timeoutSeconds } : {}),
      ...(f["light-context"] === true ? { lightContext: true } : {}),
      ...(toolsAllow ? { toolsAllow } : {}),
    };
  }

  const inferred = payload.kind === "agentTurn" ? "isolated" : "main";
  let sessionTarget = inferred;
  if (given(f.session)) {
    const t = sessionTargetOf(f.session as string);
    if (!t) throw new CronFlagError("--session must be main, isolated, current, or session:<id>");
    sessionTarget = t;
  }
  const isolatedLike = sessionTarget !== "main";
  if (bool(f["delete-after-run"]) && bool(f["keep-after-run"])) throw new CronFlagError("Choose --delete-after-run or --keep-after-run, not both");
  if (sessionTarget === "main" && payload.kind !== "systemEvent") throw new CronFlagError("Main jobs require --system-event or --script.");
  if (isolatedLike && payload.kind !== "agentTurn") throw new CronFlagError("Isolated jobs require --message, --command, or --script.");
  if ((bool(f.announce) || typeof f.deliver === "boolean") && !isolatedLike) {
    throw new CronFlagError("--announce/--no-deliver require a non-main agentTurn, command, or script session target.");
  }
  const accountId = str(f.account);
  const hasChatTarget = given(f.channel) || given(f.to) || Boolean(accountId) || given(f["thread-id"]);
  if (hasChatTarget && !isolatedLike) {
    throw new CronFlagError("--channel, --to, --account, and --thread-id require a non-main agentTurn, command, or script job with delivery.");
  }
  const deliveryMode = isolatedLike ? (noDeliver ? "none" : "announce") : undefined;

  const optionName = str(f.name);
  const positionalName = hasScheduleFlag ? str(nameArg) : undefined;
  if (optionName && positionalName && optionName !== positionalName) throw new CronFlagError("Pass the automation name either positionally or with --name, not both.");
  const name = optionName ?? positionalName;
  if (!name) throw new CronFlagError("Cron job name is required. Pass a name or --name <name>.");
  for (const [flag, key] of [["--declaration-key", "declaration-key"], ["--display-name", "display-name"]] as const) {
    if (given(f[key]) && !str(f[key])) throw new CronFlagError(`${flag} must not be blank`);
  }
  const threadId = str(f["thread-id"]);
  const params: Record<string, unknown> = {
    name,
    ...(str(f["declaration-key"]) ? { declarationKey: str(f["declaration-key"]) } : {}),
    ...(str(f["display-name"]) ? { displayName: str(f["display-name"]) } : {}),
    ...(str(f.description) ? { description: str(f.description) } : {}),
    enabled: !bool(f.disabled),
    ...(bool(f["delete-after-run"]) ? { deleteAfterRun: true } : bool(f["keep-after-run"]) ? { deleteAfterRun: false } : {}),
    ...(agentId ? { agentId } : {}),
    ...(str(f["session-key"]) ? { sessionKey: str(f["session-key"]) } : {}),
    schedule,
    sessionTarget,
    wakeMode: wake,
    payload,
    ...(deliveryMode
      ? {
          delivery: {
            mode: deliveryMode,
            channel: str(f.channel) ?? "last",
            ...(str(f.to) ? { to: str(f.to) } : {}),
            ...(threadId ? { threadId: /^\d+$/.test(threadId) ? Number(threadId) : threadId } : {}),
            ...(accountId ? { accountId } : {}),
            ...(bool(f["best-effort-deliver"]) ? { bestEffort: true } : {}),
          },
        }
      : {}),
  };
  return { params, warnNoAgent: payload.kind === "agentTurn" && !agentId };
}

// --- cron edit ----------------------------------------------------------------------------------

/**
 * `cron edit <id>` flags → the `cron.update` patch. `existing` is read only when a flag patches
 * part of the current schedule (`--tz`, `--stagger` or `--exact` alone, or `--cron` keeping a zone).
 */
export async function editPatch(f: Flags, now: number, existing: () => Promise<{ schedule: Record<string, unknown> }>): Promise<Record<string, unknown>> {
  const patch: Record<string, unknown> = {};
  if (given(f.name)) patch.name = f.name;
  if (given(f["display-name"])) {
    if (!str(f["display-name"])) throw new CronFlagError("--display-name must not be blank");
    patch.displayName = str(f["display-name"]);
  }
  if (given(f.description)) patch.description = f.description;
  if (bool(f.enable) && bool(f.disable)) throw new CronFlagError("Choose --enable or --disable, not both");
  if (bool(f.enable)) patch.enabled = true;
  if (bool(f.disable)) patch.enabled = false;
  if (bool(f["delete-after-run"]) && bool(f["keep-after-run"])) throw new CronFlagError("Choose --delete-after-run or --keep-after-run, not both");
  if (bool(f["delete-after-run"])) patch.deleteAfterRun = true;
  if (bool(f["keep-after-run"])) patch.deleteAfterRun = false;
  if (given(f.session)) {
    const t = sessionTargetOf(f.session as string);
    if (!t) throw new CronFlagError("--session must be main, isolated, current, or session:<id>");
    if (t === "main" && given(f.message)) throw new CronFlagError("Main jobs cannot use --message or --command; use --system-event or --session isolated.");
    if (t !== "main" && given(f["system-event"])) throw new CronFlagError("Isolated jobs cannot use --system-event; use --message, --command, or --session main.");
    patch.sessionTarget = t;
  }
  if (given(f.wake)) {
    const w = (f.wake as string).trim();
    if (w !== "now" && w !== "next-heartbeat") throw new CronFlagError("--wake must be now or next-heartbeat");
    patch.wakeMode = w;
  }
  if (given(f.agent) && !str(f.agent)) throw new CronFlagError("--agent must not be blank");
  if (str(f.agent) && bool(f["clear-agent"])) throw new CronFlagError("Use --agent or --clear-agent, not both");
  if (str(f.agent)) patch.agentId = str(f.agent);
  if (bool(f["clear-agent"])) patch.agentId = null;
  if (str(f["session-key"])) patch.sessionKey = str(f["session-key"]);
  if (bool(f["clear-session-key"])) patch.sessionKey = null;

  const s = scheduleFlags(f);
  if (chosen(s) > 1) throw new CronFlagError("Choose at most one schedule change");
  const direct = directSchedule(s, now);
  if (direct) {
    if (direct.kind === "cron" && direct.tz === undefined) {
      const current = (await existing()).schedule;
      patch.schedule = current.kind === "cron" && typeof current.tz === "string" ? { ...direct, tz: current.tz } : direct;
    } else patch.schedule = direct;
  } else if (s.tz !== undefined || s.staggerMs !== undefined) {
    const current = (await existing()).schedule;
    if (current.kind !== "cron") throw new CronFlagError("--tz/--stagger/--exact need a cron schedule; pass --cron as well");
    patch.schedule = { ...current, ...(s.tz !== undefined ? { tz: s.tz } : {}), ...(s.staggerMs !== undefined ? { staggerMs: s.staggerMs } : {}) };
  }

  if (given(f.model) && bool(f["clear-model"])) throw new CronFlagError("Use --model or --clear-model, not both");
  if (given(f.thinking) && bool(f["clear-thinking"])) throw new CronFlagError("Use --thinking or --clear-thinking, not both");
  const timeoutSeconds = nonNegativeInt(f["timeout-seconds"], "--timeout-seconds");
  const agentTurn =
    given(f.message) ||
    str(f.model) !== undefined ||
    bool(f["clear-model"]) ||
    str(f.thinking) !== undefined ||
    bool(f["clear-thinking"]) ||
    given(f.fallbacks) ||
    bool(f["clear-fallbacks"]) ||
    timeoutSeconds !== undefined ||
    typeof f["light-context"] === "boolean";
  const systemEvent = given(f["system-event"]);
  if (agentTurn && systemEvent) throw new CronFlagError("Choose at most one payload change");
  if (systemEvent) patch.payload = { kind: "systemEvent", text: String(f["system-event"]) };
  else if (agentTurn) {
    const p: Record<string, unknown> = { kind: "agentTurn" };
    if (given(f.message)) p.message = String(f.message);
    setOrClear(p, "model", bool(f["clear-model"]), str(f.model) || undefined);
    setOrClear(p, "fallbacks", bool(f["clear-fallbacks"]), given(f.fallbacks) ? list(f.fallbacks) : undefined);
    setOrClear(p, "thinking", bool(f["clear-thinking"]), str(f.thinking) || undefined);
    if (timeoutSeconds !== undefined) p.timeoutSeconds = timeoutSeconds;
    if (typeof f["light-context"] === "boolean") p.lightContext = f["light-context"];
    patch.payload = p;
  }

  const modeFlag = bool(f.announce) || typeof f.deliver === "boolean";
  if (bool(f.announce) && typeof f.deliver === "boolean") throw new CronFlagError("Choose at most one of --announce, --no-deliver, or --webhook.");
  const target = given(f.channel) || given(f.to) || bool(f["clear-channel"]) || bool(f["clear-to"]);
  const account = given(f.account) || bool(f["clear-account"]);
  const bestEffort = typeof f["best-effort-deliver"] === "boolean";
  if (modeFlag || target || account || bestEffort) {
    const d: Record<string, unknown> = {};
    if (modeFlag) d.mode = bool(f.announce) || f.deliver === true ? "announce" : "none";
    else if (f["best-effort-deliver"] === true) d.mode = "announce";
    setOrClear(d, "channel", bool(f["clear-channel"]), str(f.channel) || undefined);
    setOrClear(d, "to", bool(f["clear-to"]), str(f.to) || undefined);
    setOrClear(d, "accountId", bool(f["clear-account"]), str(f.account) || undefined);
    if (bestEffort) d.bestEffort = f["best-effort-deliver"];
    patch.delivery = d;
  }
  return patch;
}

// --- output -------------------------------------------------------------------------------------

const PAD = { id: 36, declaration: 24, name: 24, schedule: 32, next: 10, last: 10, status: 19, target: 9, delivery: 64, agent: 10, owner: 24, model: 20 };

function cell(value: unknown, width: number): string {
  const text = value === undefined || value === null || value === "" ? "-" : String(value).replace(/[\u0000-\u001f\u007f]/g, " ");
  const cut = text.length <= width ? text : width <= 3 ? text.slice(0, width) : `${text.slice(0, width - 3)}...`;
  return cut.padEnd(width);
}

/** A `--clear-x` flag sets the field to null (the patch removes it); a value sets it; neither leaves it out. */
function setOrClear(target: Record<string, unknown>, key: string, clear: boolean, value: unknown): void {
  if (clear) target[key] = null;
  else if (value !== undefined) target[key] = value;
}

function span(ms: number): string {
  if (ms < 60_000) return "<1m";
  if (ms < 3_600_000) return `${Math.round(ms / 60_000)}m`;
  if (ms < 86_400_000) return `${Math.round(ms / 3_600_000)}h`;
  return `${Math.round(ms / 86_400_000)}d`;
}

export function relative(ms: unknown, now: number): string {
  if (typeof ms !== "number" || !ms) return "-";
  const delta = ms - now;
  return delta >= 0 ? `in ${span(delta)}` : `${span(-delta)} ago`;
}

/** `every 30m`, `cron 0 9 * * 1 @ Europe/Oslo (exact)`, `at 2026-12-06 09:00Z`. */
export function scheduleLabel(s: Record<string, any> | undefined): string {
  if (s?.kind === "at") {
    const t = Date.parse(String(s.at));
    return Number.isFinite(t) ? `at ${new Date(t).toISOString().slice(0, 16).replace("T", " ")}Z` : "at -";
  }
  if (s?.kind === "every") return `every ${formatDurationMs(Number(s.everyMs))}`;
  if (s?.kind !== "cron") return "-";
  const base = s.tz ? `cron ${s.expr} @ ${s.tz}` : `cron ${s.expr}`;
  const stagger = typeof s.staggerMs === "number" ? s.staggerMs : 0;
  return stagger > 0 ? `${base} (stagger ${formatDurationMs(stagger)})` : `${base} (exact)`;
}

/** running, disabled, the last run's status, or idle (the `status` field `--json` adds). */
export function jobStatus(job: Record<string, any>): string {
  const st = job.state ?? {};
  return st.runningAtMs ? "running" : !job.enabled ? "disabled" : (st.lastRunStatus ?? st.lastStatus ?? "idle");
}

/** The status column: jobStatus with failure streaks and delivery outcomes. */
export function statusLabel(job: Record<string, any>): string {
  const st = job.state ?? {};
  let status = jobStatus(job);
  const failures = st.consecutiveErrors ?? 0;
  if (status === "error" && failures > 1) status = failures > 99 ? "error (99+x)" : `error (${failures}x)`;
  else if (status === "disabled" && st.autoDisabled) status = `disabled (${st.autoDisabled.consecutiveErrors}x)`;
  else if (status === "ok" && st.lastDeliveryStatus === "not-delivered") status = st.deliverySuppressionReason ? "ok (suppressed)" : "ok (not delivered)";
  return status;
}

/** The `cron list` table (or "No automations."). */
export function jobTable(jobs: Array<Record<string, any>>, previews: Record<string, { label: string; detail: string }> = {}, now = Date.now()): string[] {
  if (!jobs.length) return ["No automations."];
  const header = [
    cell("ID", PAD.id),
    cell("Declaration", PAD.declaration),
    cell("Name", PAD.name),
    cell("Schedule", PAD.schedule),
    cell("Next", PAD.next),
    cell("Last", PAD.last),
    cell("Status", PAD.status),
    cell("Target", PAD.target),
    cell("Delivery", PAD.delivery),
    cell("Agent ID", PAD.agent),
    cell("Owner", PAD.owner),
    cell("Model", PAD.model),
  ].join(" ");
  const lines = [header];
  for (const job of jobs) {
    const st = job.state ?? {};
    const preview = previews[job.id];
    lines.push(
      [
        cell(job.id, PAD.id),
        cell(job.declarationKey, PAD.declaration),
        cell(job.displayName ?? job.name, PAD.name),
        cell(scheduleLabel(job.schedule), PAD.schedule),
        cell(job.enabled ? relative(st.nextRunAtMs, now) : "-", PAD.next),
        cell(relative(st.lastRunAtMs, now), PAD.last),
        cell(statusLabel(job), PAD.status),
        cell(job.sessionTarget, PAD.target),
        cell(preview ? `${preview.label} (${preview.detail})` : "-", PAD.delivery),
        cell(job.effectiveAgentId ?? job.agentId ?? "unresolved", PAD.agent),
        cell(job.owner?.sessionKey ?? job.owner?.agentId, PAD.owner),
        cell(job.payload?.kind === "agentTurn" ? job.payload.model : undefined, PAD.model),
      ]
        .join(" ")
        .trimEnd(),
    );
  }
  return lines;
}

/** A job (or each job of a list) with the computed `status` the original's `--json` adds. */
export function withStatus(value: Record<string, any>): Record<string, any> {
  if ("state" in value && "enabled" in value) return { ...value, status: jobStatus(value) };
  if (Array.isArray(value.jobs)) return { ...value, jobs: value.jobs.map((j: Record<string, any>) => withStatus(j)) };
  return value;
}

/** Run history with the local times the original's CLI adds (`tsIso`, `runAtIso`, `nextRunAtIso`). */
export function withLocalTimes(value: Record<string, any>, timeZone?: string): Record<string, any> {
  if (!Array.isArray(value.entries)) return value;
  const iso = (ms: unknown) => (typeof ms === "number" && Number.isFinite(ms) ? isoWithOffset(ms, timeZone) : undefined);
  return {
    ...value,
    entries: value.entries.map((e: Record<string, any>) => {
      if (e?.action !== "finished") return e;
      const extra: Record<string, string> = {};
      const ts = iso(e.ts);
      if (ts) extra.tsIso = ts;
      const runAt = iso(e.runAtMs);
      if (runAt) extra.runAtIso = runAt;
      const next = iso(e.nextRunAtMs);
      if (next) extra.nextRunAtIso = next;
      return { ...e, ...extra };
    }),
  };
}

/** What the original's CLI says for an unknown job id. */
export function lookupMiss(jobId: string): string {
  return `Automation not found: ${jobId}. Run \`openclaw cron list\` to see recent automation ids.`;
}

/** The warning after a write when the scheduler does not run jobs. */
export function schedulerDisabledWarning(status: { enabled?: boolean; sqlitePath?: unknown; storePath?: unknown }): string[] | undefined {
  if (status.enabled !== false) return undefined;
  const store = typeof status.sqlitePath === "string" ? status.sqlitePath : typeof status.storePath === "string" ? status.storePath : "";
  return [
    "warning: the automations scheduler is disabled in the Gateway; jobs are saved but will not run automatically.",
    "To enable automatic runs, set `cron.enabled: true` (or remove `cron.enabled: false`), remove `OPENCLAW_SKIP_CRON=1` from the Gateway's launch environment, and restart the Gateway.",
    ...(store ? [`store: ${store}`] : []),
  ];
}

export const NO_AGENT_NOTE =
  "No --agent specified; the job will run with the configured default agent. Specify --agent to choose a specific agent, or set agents.defaults.systemAgent.agentId.";
