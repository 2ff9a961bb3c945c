/**
 * IANA time zones through `Intl` (no tz database of our own): validation, the wall clock of an
 * instant in a zone, and the reverse, the instants at which a zone shows a given wall clock
 * (none in a spring-forward gap, two in a fall-back overlap).
 *
 * Formatters are cached per zone: building an `Intl.DateTimeFormat` costs far more than using one.
 */

export class InvalidTimeZoneError extends Error {
  override name = "InvalidTimeZoneError";
  constructor(readonly timeZone: string) {
    super(`unknown time zone "${timeZone}" (use an IANA name such as "Europe/Berlin" or "America/New_York")`);
  }
}

/** Wall-clock fields; `mo` is 1-12. */
export interface WallTime {
  y: number;
  mo: number;
  d: number;
  h: number;
  mi: number;
  s: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();
const MAX_FORMATTERS = 256;

function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (f) return f;
  try {
    f = new Intl.DateTimeFormat("en-US", {
      timeZone,
      hourCycle: "h23",
      year: "numeric",
      month: "numeric",
      day: "numeric",
      hour: "numeric",
      minute: "numeric",
      second: "numeric",
    });
  } catch {
    throw new InvalidTimeZoneError(timeZone);
  }
  if (formatters.size >= MAX_FORMATTERS) formatters.delete(formatters.keys().next().value as string);
  formatters.set(timeZone, f);
  return f;
}

/** The host's zone (what a cron schedule without `tz` uses). */
export function hostTimeZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
}

/** Throws InvalidTimeZoneError unless `Intl` knows the zone. */
export function assertTimeZone(timeZone: string): void {
  if (!timeZone.trim()) throw new InvalidTimeZoneError(timeZone);
  formatterFor(timeZone);
}

export function isValidTimeZone(timeZone: string): boolean {
  try {
    assertTimeZone(timeZone);
    return true;
  } catch {
    return false;
  }
}

const UTC_NAMES = new Set(["UTC", "Etc/UTC", "Etc/GMT", "GMT", "Etc/Universal", "Universal", "Zulu", "Etc/Zulu"]);

/** The wall clock an instant shows in a zone (milliseconds dropped). */
export function wallTime(ms: number, timeZone: string): WallTime {
  if (UTC_NAMES.has(timeZone)) {
    const t = new Date(ms);
    return {
      y: t.getUTCFullYear(),
      mo: t.getUTCMonth() + 1,
      d: t.getUTCDate(),
      h: t.getUTCHours(),
      mi: t.getUTCMinutes(),
      s: t.getUTCSeconds(),
    };
  }
  const out: WallTime = { y: 0, mo: 0, d: 0, h: 0, mi: 0, s: 0 };
  for (const part of formatterFor(timeZone).formatToParts(ms)) {
    switch (part.type) {
      case "year":
        out.y = Number(part.value);
        break;
      case "month":
        out.mo = Number(part.value);
        break;
      case "day":
        out.d = Number(part.value);
        break;
      case "hour":
        out.h = Number(part.value) % 24;
        break;
      case "minute":
        out.mi = Number(part.value);
        break;
      case "second":
        out.s = Number(part.value);
        break;
    }
  }
  return out;
}

/** The wall clock read as if it were UTC, in ms (a naive timestamp). */
export function naiveMs(w: WallTime): number {
  return Date.UTC(w.y, w.mo - 1, w.d, w.h, w.mi, w.s);
}

/** Zone offset (local minus UTC, ms) in effect at an instant. */
export function offsetAt(ms: number, timeZone: string): number {
  const whole = Math.floor(ms / 1000) * 1000;
  return naiveMs(wallTime(whole, timeZone)) - whole;
}

function sameWall(a: WallTime, b: WallTime): boolean {
  return a.y === b.y && a.mo === b.mo && a.d === b.d && a.h === b.h && a.mi === b.mi && a.s === b.s;
}

const DAY_MS = 86_400_000;

/**
 * The instants (ascending) at which `timeZone` shows the wall clock `w`: one normally, none in
 * a spring-forward gap, two in a fall-back overlap. Assumes at most one offset change within a
 * day on either side, which holds for every zone in the tz database.
 */
export function instantsOf(w: WallTime, timeZone: string): number[] {
  const naive = naiveMs(w);
  if (UTC_NAMES.has(timeZone)) return [naive];
  const before = offsetAt(naive - DAY_MS, timeZone);
  const after = offsetAt(naive + DAY_MS, timeZone);
  const out: number[] = [];
  for (const off of before === after ? [before] : [before, after]) {
    const t = naive - off;
    if (sameWall(wallTime(t, timeZone), w) && !out.includes(t)) out.push(t);
  }
  return out.sort((a, b) => a - b);
}

/**
 * An offset-less local date-time (`2027-02-01T16:00[:ss[.sss]]`) in a zone → instant. In a gap
 * the wall clock is moved forward by the gap (02:30 → 03:30 when 02:00 jumps to 03:00); in an
 * overlap the first occurrence wins.
 */
export function zonedLocalToInstant(w: WallTime, ms: number, timeZone: string): number {
  const hits = instantsOf(w, timeZone);
  if (hits.length) return hits[0] + ms;
  // In a gap, reading the wall clock with the offset from before the gap lands the same
  // distance past the jump: 02:30 in a 02:00 → 03:00 gap becomes 03:30.
  const naive = naiveMs(w);
  return naive - offsetAt(naive - DAY_MS, timeZone) + ms;
}

/** `2026-12-06T00:00:03.970+00:00`: the instant in the host zone with its offset. */
export function isoWithOffset(ms: number, timeZone = hostTimeZone()): string {
  const w = wallTime(ms, timeZone);
  const off = Math.round(offsetAt(ms, timeZone) / 60_000);
  const sign = off < 0 ? "-" : "+";
  const abs = Math.abs(off);
  const p2 = (n: number) => String(n).padStart(2, "0");
  const msPart = String(((ms % 1000) + 1000) % 1000).padStart(3, "0");
  return `${String(w.y).padStart(4, "0")}-${p2(w.mo)}-${p2(w.d)}T${p2(w.h)}:${p2(w.mi)}:${p2(w.s)}.${msPart}${sign}${p2(Math.floor(abs / 60))}:${p2(abs % 60)}`;
}
