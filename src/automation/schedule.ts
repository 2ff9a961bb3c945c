/**
 * Job schedules: `at` (one instant), `every` (fixed interval on an anchor grid) and `cron`
 * (expression + optional IANA zone + stagger). Parsing of the inputs users type (durations,
 * ISO timestamps, relative `20m` / `+1h`), validation with clear errors, and the next-run rule
 * the scheduler applies after each run.
 */
import { isRecurringTopOfHour, nextCronRun, parseCron } from "./cron-expr.ts";
import { assertTimeZone, hostTimeZone, zonedLocalToInstant } from "./tz.ts";

export type AtSchedule = { kind: "at"; at: string };
export type EverySchedule = { kind: "every"; everyMs: number; anchorMs?: number };
export type CronSchedule = { kind: "cron"; expr: string; tz?: string; staggerMs?: number };
export type Schedule = AtSchedule | EverySchedule | CronSchedule;

export class ScheduleError extends Error {
  override name = "ScheduleError";
}

/** Largest timestamp a JS Date holds. */
export const MAX_TIMESTAMP_MS = 8_640_000_000_000_000;
/** Top-of-hour recurring expressions spread over this window unless told otherwise. */
export const DEFAULT_TOP_OF_HOUR_STAGGER_MS = 300_000;

// --- durations ----------------------------------------------------------------------------

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * `90s`, `10m`, `1h30m`, `1.5h`, `500ms`, `2d`; a bare number takes `defaultUnit`.
 * Throws ScheduleError on anything else.
 */
export function parseDurationMs(raw: string, opts: { defaultUnit?: "ms" | "s" | "m" | "h" | "d" } = {}): number {
  const text = raw.trim().toLowerCase();
  const bad = (why?: string) => new ScheduleError(`invalid duration "${raw}"${why ? ` (${why})` : ""}: use ms, s, m, h or d, e.g. 10m or 1h30m`);
  if (!text) throw bad("empty");
  const single = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/.exec(text);
  let total = 0;
  if (single) {
    total = Number(single[1]) * UNIT_MS[single[2] ?? opts.defaultUnit ?? "ms"];
  } else {
    let consumed = 0;
    for (const m of text.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h|d)/g)) {
      if (m.index !== consumed) throw bad("each part needs a unit");
      total += Number(m[1]) * UNIT_MS[m[2]];
      consumed += m[0].length;
    }
    if (consumed === 0 || consumed !== text.length) throw bad();
  }
  const ms = Math.round(total);
  if (!Number.isSafeInteger(ms)) throw bad("too large");
  return ms;
}

/** `1h 30m`, `every 1m 30s`-style rendering with millisecond precision. */
export function formatDurationMs(ms: number): string {
  if (ms <= 0) return "0ms";
  const parts: string[] = [];
  let rest = ms;
  for (const [unit, size] of [["d", 86_400_000], ["h", 3_600_000], ["m", 60_000], ["s", 1000]] as const) {
    if (rest >= size) {
      parts.push(`${Math.floor(rest / size)}${unit}`);
      rest %= size;
    }
  }
  if (rest) parts.push(`${rest}ms`);
  return parts.join(" ");
}

// --- absolute times -----------------------------------------------------------------------

const ISO_LOCAL = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?$/;
const ISO_ZONED = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:[zZ]|[+-]\d{2}(?::?\d{2})?)$/;

/**
 * An absolute instant: ISO 8601 with `Z` or an offset; an offset-less ISO date or date-time is
 * read in `tz` (UTC when absent); an all-digit string is epoch milliseconds. Null when it is
 * not one of these.
 */
export function parseAbsoluteTime(raw: string, tz?: string): number | null {
  const text = raw.trim();
  if (!text) return null;
  if (/^\d+$/.test(text)) {
    const n = Number(text);
    return Number.isSafeInteger(n) && n <= MAX_TIMESTAMP_MS ? n : null;
  }
  if (ISO_ZONED.test(text)) {
    const ms = Date.parse(text.replace(" ", "T"));
    return Number.isFinite(ms) ? ms : null;
  }
  const m = ISO_LOCAL.exec(text);
  if (!m) return null;
  const [y, mo, d, h, mi, s] = [m[1], m[2], m[3], m[4] ?? "0", m[5] ?? "0", m[6] ?? "0"].map(Number);
  const frac = m[7] ? Number(m[7].slice(0, 3).padEnd(3, "0")) : 0;
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 59) return null;
  const check = new Date(Date.UTC(y, mo - 1, d));
  if (check.getUTCMonth() !== mo - 1) return null;
  if (!tz || tz === "UTC") return Date.UTC(y, mo - 1, d, h, mi, s, frac);
  assertTimeZone(tz);
  return zonedLocalToInstant({ y, mo, d, h, mi, s }, frac, tz);
}

/**
 * What the CLI's `--at` accepts: a duration from now (`20m`, `+1h`, `1h30m`) or an absolute
 * time as in parseAbsoluteTime. Returns the instant.
 */
export function parseAtInput(raw: string, nowMs: number, tz?: string): number {
  const text = raw.trim();
  const rel = text.startsWith("+") ? text.slice(1) : text;
  if (/^\d+(?:\.\d+)?(?:ms|s|m|h|d)(?:\d+(?:\.\d+)?(?:ms|s|m|h|d))*$/i.test(rel)) {
    return nowMs + parseDurationMs(rel);
  }
  const abs = parseAbsoluteTime(text, tz);
  if (abs === null) throw new ScheduleError(`Invalid schedule.at: expected ISO-8601 timestamp (got ${raw})`);
  return abs;
}

// --- validation ---------------------------------------------------------------------------

function minutesAgo(ms: number, now: number): number {
  return Math.max(0, Math.round((now - ms) / 60_000));
}

/**
 * Check a schedule a client sent and return it normalized: `at` as a canonical ISO string,
 * `every` with its anchor (creation time unless given), `cron` with the default stagger for
 * top-of-hour expressions. Throws ScheduleError (unknown zone and bad expressions included).
 */
export function normalizeSchedule(schedule: Schedule, nowMs: number, opts: { requireFutureAt?: boolean } = {}): Schedule {
  switch (schedule.kind) {
    case "at": {
      const ms = parseAbsoluteTime(schedule.at);
      if (ms === null) throw new ScheduleError(`Invalid schedule.at: expected ISO-8601 timestamp (got ${schedule.at})`);
      const iso = new Date(ms).toISOString();
      if (opts.requireFutureAt !== false && ms <= nowMs) {
        throw new ScheduleError(
          `schedule.at is in the past: ${iso} (${minutesAgo(ms, nowMs)} minutes ago). Current time: ${new Date(nowMs).toISOString()}`,
        );
      }
      return { kind: "at", at: iso };
    }
    case "every": {
      if (!Number.isSafeInteger(schedule.everyMs) || schedule.everyMs < 1) {
        throw new ScheduleError("schedule.everyMs must be a positive integer (milliseconds)");
      }
      const anchorMs = schedule.anchorMs ?? nowMs;
      if (!Number.isSafeInteger(anchorMs) || anchorMs < 0) throw new ScheduleError("schedule.anchorMs must be a non-negative integer");
      return { kind: "every", everyMs: schedule.everyMs, anchorMs };
    }
    case "cron": {
      const expr = schedule.expr.trim();
      const pattern = parseCron(expr);
      if (schedule.tz !== undefined && schedule.tz.trim()) assertTimeZone(schedule.tz.trim());
      const tz = schedule.tz?.trim() || undefined;
      if (nextCronRun(pattern, tz ?? hostTimeZone(), nowMs) === undefined) {
        throw new ScheduleError(`cron expression "${expr}" never fires after ${new Date(nowMs).toISOString()}`);
      }
      const out: CronSchedule = { kind: "cron", expr };
      if (tz) out.tz = tz;
      const stagger = schedule.staggerMs ?? (isRecurringTopOfHour(expr) ? DEFAULT_TOP_OF_HOUR_STAGGER_MS : undefined);
      if (stagger !== undefined) {
        if (!Number.isSafeInteger(stagger) || stagger < 0) throw new ScheduleError("schedule.staggerMs must be a non-negative integer");
        out.staggerMs = stagger;
      }
      return out;
    }
  }
}

// --- next run -----------------------------------------------------------------------------

const staggerCache = new Map<string, number>();

/** A job's fixed place in its stagger window: first 4 bytes of sha256(jobId) mod the window. */
export function staggerOffsetMs(jobId: string, staggerMs: number): number {
  if (staggerMs <= 1) return 0;
  const key = `${staggerMs}:${jobId}`;
  const hit = staggerCache.get(key);
  if (hit !== undefined) return hit;
  const offset = new Bun.CryptoHasher("sha256").update(jobId).digest().readUInt32BE(0) % staggerMs;
  if (staggerCache.size > 4096) staggerCache.clear();
  staggerCache.set(key, offset);
  return offset;
}

/** The next instant after `nowMs` a cron schedule fires, stagger included. */
export function nextCronScheduleRun(schedule: CronSchedule, jobId: string, nowMs: number): number | undefined {
  const pattern = parseCron(schedule.expr);
  const tz = schedule.tz || hostTimeZone();
  const offset = staggerOffsetMs(jobId, schedule.staggerMs ?? 0);
  if (offset <= 0) return nextCronRun(pattern, tz, nowMs);
  // The slot is base + offset; a base slightly before now may still have its shifted slot ahead.
  let cursor = Math.max(0, nowMs - offset);
  for (let attempt = 0; attempt < 4; attempt++) {
    const base = nextCronRun(pattern, tz, cursor);
    if (base === undefined) return undefined;
    if (base + offset > nowMs) return base + offset;
    cursor = Math.max(cursor + 1, base + 1000);
  }
  return undefined;
}

/** First slot of the `every` grid strictly after now (the anchor itself when still ahead). */
export function nextEverySlot(everyMs: number, anchorMs: number, nowMs: number): number {
  if (nowMs < anchorMs) return anchorMs;
  return anchorMs + (Math.floor((nowMs - anchorMs) / everyMs) + 1) * everyMs;
}

export interface NextRunInput {
  id: string;
  schedule: Schedule;
  createdAtMs: number;
  /** Start of the last run (an `every` job runs again `everyMs` after it). */
  lastRunAtMs?: number;
}

/**
 * When a job runs next, from now: `at` its instant while ahead; `every` one interval after the
 * last run when that is still ahead, else the next slot of its anchor grid (so the first run
 * is creation + interval, and a gateway that was down does not replay missed slots); `cron`
 * the next matching instant.
 */
export function computeNextRunAtMs(job: NextRunInput, nowMs: number): number | undefined {
  const s = job.schedule;
  switch (s.kind) {
    case "at": {
      const ms = parseAbsoluteTime(s.at);
      return ms !== null && ms > nowMs ? ms : undefined;
    }
    case "every": {
      const anchor = s.anchorMs ?? job.createdAtMs;
      if (job.lastRunAtMs !== undefined && job.lastRunAtMs >= anchor) {
        const fromLast = job.lastRunAtMs + s.everyMs;
        if (fromLast > nowMs) return fromLast;
      }
      return nextEverySlot(s.everyMs, anchor, nowMs);
    }
    case "cron":
      return nextCronScheduleRun(s, job.id, nowMs);
  }
}

/** Short human form used in logs and delivery previews. */
export function describeSchedule(s: Schedule): string {
  switch (s.kind) {
    case "at":
      return `at ${s.at}`;
    case "every":
      return `every ${formatDurationMs(s.everyMs)}`;
    case "cron":
      return `cron ${s.expr}${s.tz ? ` (${s.tz})` : ""}`;
  }
}
