/**
 * Cron expressions: parsing and the next occurrence in an IANA time zone.
 *
 * Syntax (the dialect OpenClaw documents, croner's):
 *   5 fields  minute hour day-of-month month day-of-week
 *   6 fields  second minute hour day-of-month month day-of-week
 *   7 fields  second minute hour day-of-month month day-of-week year
 *   `*`, `?` (any), lists `a,b`, ranges `a-b`, steps `* /n` and `a-b/n`; month names jan-dec and
 *   weekday names sun-sat (case-insensitive); 0 and 7 are Sunday; `@yearly` `@annually`
 *   `@monthly` `@weekly` `@daily` `@midnight` `@hourly`. Day-of-month also takes `L` (last day),
 *   `LW` (last weekday) and `nW` (weekday nearest to n, within the month); day-of-week takes
 *   `n#k` (k-th such weekday, 1-5) and `nL` (last such weekday of the month).
 *   When both day fields are restricted a day matches either (Vixie cron's OR); a `+` before
 *   the day-of-week field asks for both (AND).
 *
 * Time zones (see docs/automation.md): a wall-clock time that does not exist (spring-forward gap)
 * is skipped; a wall-clock time that happens twice (fall-back overlap) fires once, at its first
 * occurrence. The search walks the wall clock field by field, then maps the match to instants.
 */
import { instantsOf, naiveMs, wallTime, type WallTime } from "./tz.ts";

export class CronExpressionError extends Error {
  override name = "CronExpressionError";
  constructor(
    readonly expr: string,
    readonly detail: string,
  ) {
    super(`invalid cron expression "${expr}": ${detail}`);
  }
}

export interface CronPattern {
  readonly source: string;
  /** Allowed values, ascending. */
  readonly second: readonly number[];
  readonly minute: readonly number[];
  readonly hour: readonly number[];
  readonly month: readonly number[];
  /** Index 1-31. */
  readonly dom: readonly boolean[];
  readonly domStar: boolean;
  readonly lastDay: boolean;
  readonly lastWeekday: boolean;
  /** Days n of `nW`. */
  readonly nearestWeekday: readonly number[];
  /** Per weekday 0-6: bit 0 plain match, bits 1-5 the k of `n#k`, bit 6 `nL`. */
  readonly dow: readonly number[];
  readonly dowStar: boolean;
  readonly andLogic: boolean;
  /** Allowed years ascending, or null for any. */
  readonly years: readonly number[] | null;
  /** True when no date can ever match (e.g. `0 0 31 2 *`). */
  readonly impossible: boolean;
}

const MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];
const DAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

const NICKNAMES: Record<string, string> = {
  "@yearly": "0 0 1 1 *",
  "@annually": "0 0 1 1 *",
  "@monthly": "0 0 1 * *",
  "@weekly": "0 0 * * 0",
  "@daily": "0 0 * * *",
  "@midnight": "0 0 * * *",
  "@hourly": "0 * * * *",
};

interface FieldSpec {
  name: string;
  min: number;
  max: number;
  names?: string[];
}

const SECOND: FieldSpec = { name: "second", min: 0, max: 59 };
const MINUTE: FieldSpec = { name: "minute", min: 0, max: 59 };
const HOUR: FieldSpec = { name: "hour", min: 0, max: 23 };
const DOM: FieldSpec = { name: "day-of-month", min: 1, max: 31 };
const MONTH: FieldSpec = { name: "month", min: 1, max: 12, names: MONTHS };
const DOW: FieldSpec = { name: "day-of-week", min: 0, max: 7, names: DAYS };
const YEAR: FieldSpec = { name: "year", min: 1, max: 9999 };

function fail(expr: string, detail: string): never {
  throw new CronExpressionError(expr, detail);
}

/** One value: a number or (month/weekday fields) a name. `sun` closing a range is 7. */
function parseValue(expr: string, spec: FieldSpec, raw: string, rangeEnd: boolean): number {
  if (/^\d+$/.test(raw)) {
    const n = Number(raw);
    if (n < spec.min || n > spec.max) fail(expr, `${spec.name} value ${n} is out of range (${spec.min}-${spec.max})`);
    return n;
  }
  const idx = spec.names?.indexOf(raw.toLowerCase()) ?? -1;
  if (idx < 0) fail(expr, `${spec.name} value "${raw}" is not a number${spec.names ? " or a name" : ""}`);
  if (spec === DOW) return idx === 0 && rangeEnd ? 7 : idx;
  return idx + 1;
}

function parseStep(expr: string, spec: FieldSpec, raw: string): number {
  if (!/^\d+$/.test(raw)) fail(expr, `${spec.name} step "${raw}" is not a number`);
  const n = Number(raw);
  const size = spec.max - spec.min + 1;
  if (n < 1) fail(expr, `${spec.name} step must be at least 1`);
  if (n > size) fail(expr, `${spec.name} step ${n} is larger than the field (${size} values)`);
  return n;
}

/** Values of a plain item: `*`, `* /n`, `a`, `a-b`, `a-b/n`. */
function itemValues(expr: string, spec: FieldSpec, item: string): number[] {
  const [base, stepRaw, extra] = item.split("/");
  if (extra !== undefined) fail(expr, `${spec.name} item "${item}" has more than one "/"`);
  if (base === "") fail(expr, `${spec.name} item "${item}" has an empty value`);
  const step = stepRaw === undefined ? 1 : parseStep(expr, spec, stepRaw);
  let from: number;
  let to: number;
  if (base === "*" || base === "?") {
    from = spec.min;
    to = spec === DOW ? 6 : spec.max;
  } else if (base.includes("-")) {
    const parts = base.split("-");
    if (parts.length !== 2 || !parts[0] || !parts[1]) fail(expr, `${spec.name} range "${base}" is malformed`);
    from = parseValue(expr, spec, parts[0], false);
    to = parseValue(expr, spec, parts[1], true);
    if (from > to) fail(expr, `${spec.name} range "${base}" runs backwards`);
  } else {
    if (stepRaw !== undefined) {
      fail(expr, `${spec.name} item "${item}": a step needs "*" or a range before it ("*/${stepRaw}" or "a-b/${stepRaw}")`);
    }
    from = to = parseValue(expr, spec, base, false);
  }
  const out: number[] = [];
  for (let v = from; v <= to; v += step) out.push(v);
  return out;
}

function sortedUnique(values: Iterable<number>): number[] {
  return [...new Set(values)].sort((a, b) => a - b);
}

function splitItems(expr: string, spec: FieldSpec, field: string): string[] {
  const items = field.split(",");
  for (const item of items) if (item === "") fail(expr, `${spec.name} field "${field}" has an empty list item`);
  return items;
}

function parseSimpleField(expr: string, spec: FieldSpec, field: string): { values: number[]; star: boolean } {
  if (field === "*" || field === "?") {
    const values: number[] = [];
    for (let v = spec.min; v <= spec.max; v++) values.push(v);
    return { values, star: true };
  }
  const values: number[] = [];
  for (const item of splitItems(expr, spec, field)) {
    if (!/^[0-9a-zA-Z*?\-/]+$/.test(item)) fail(expr, `${spec.name} item "${item}" contains illegal characters`);
    if (/[#wW]/.test(item) || (/[lL]/.test(item) && !spec.names)) {
      fail(expr, `${spec.name} item "${item}" uses a modifier this field does not take`);
    }
    values.push(...itemValues(expr, spec, item));
  }
  return { values: sortedUnique(values), star: false };
}

interface DomField {
  dom: boolean[];
  star: boolean;
  lastDay: boolean;
  lastWeekday: boolean;
  nearest: number[];
}

function parseDom(expr: string, field: string): DomField {
  const out: DomField = { dom: new Array(32).fill(false), star: false, lastDay: false, lastWeekday: false, nearest: [] };
  if (field === "*" || field === "?") {
    out.dom.fill(true, 1);
    out.star = true;
    return out;
  }
  for (const item of splitItems(expr, DOM, field)) {
    const upper = item.toUpperCase();
    if (upper === "L") {
      out.lastDay = true;
    } else if (upper === "LW") {
      out.lastWeekday = true;
    } else if (/^\d+W$/.test(upper)) {
      out.nearest.push(parseValue(expr, DOM, item.slice(0, -1), false));
    } else if (/[LW#]/.test(upper)) {
      fail(expr, `day-of-month item "${item}" is not valid (L, LW and nW stand alone)`);
    } else {
      if (!/^[0-9*?\-/]+$/.test(item)) fail(expr, `day-of-month item "${item}" contains illegal characters`);
      for (const v of itemValues(expr, DOM, item)) out.dom[v] = true;
    }
  }
  out.nearest = sortedUnique(out.nearest);
  return out;
}

interface DowField {
  dow: number[];
  star: boolean;
  and: boolean;
}

function parseDow(expr: string, raw: string): DowField {
  let field = raw;
  let and = false;
  if (field.startsWith("+")) {
    and = true;
    field = field.slice(1);
    if (!field) fail(expr, `day-of-week field is empty after "+"`);
  }
  const out: DowField = { dow: new Array(7).fill(0), star: false, and };
  if (field === "*" || field === "?") {
    out.dow.fill(1);
    out.star = !and;
    return out;
  }
  for (const item of splitItems(expr, DOW, field)) {
    const nth = /^([0-9a-zA-Z]+)#(\d+)$/.exec(item);
    const last = /^([0-9a-zA-Z]+?)[lL]$/.exec(item);
    if (nth) {
      const day = parseValue(expr, DOW, nth[1], false) % 7;
      const k = Number(nth[2]);
      if (k < 1 || k > 5) fail(expr, `day-of-week "${item}": the occurrence after "#" must be 1-5`);
      out.dow[day] |= 1 << k;
    } else if (last && !DAYS.includes(item.toLowerCase())) {
      const day = parseValue(expr, DOW, last[1], false) % 7;
      out.dow[day] |= 1 << 6;
    } else {
      if (!/^[0-9a-zA-Z*?\-/]+$/.test(item)) fail(expr, `day-of-week item "${item}" contains illegal characters`);
      if (/[#]/.test(item) || /^[lL]$/.test(item)) fail(expr, `day-of-week item "${item}" is not valid`);
      for (const v of itemValues(expr, DOW, item)) out.dow[v % 7] |= 1;
    }
  }
  return out;
}

const cache = new Map<string, CronPattern>();
const CACHE_MAX = 512;

/** Parse (cached); throws CronExpressionError with the offending field and value. */
export function parseCron(expr: string): CronPattern {
  const hit = cache.get(expr);
  if (hit) return hit;
  const pattern = parseUncached(expr);
  if (cache.size >= CACHE_MAX) cache.delete(cache.keys().next().value as string);
  cache.set(expr, pattern);
  return pattern;
}

function parseUncached(expr: string): CronPattern {
  const trimmed = expr.trim();
  if (!trimmed) fail(expr, "the expression is empty");
  let text = trimmed;
  if (text.startsWith("@")) {
    const lower = text.toLowerCase();
    if (lower === "@reboot") fail(expr, "@reboot is not supported (the gateway has no boot trigger)");
    const expanded = NICKNAMES[lower];
    if (!expanded) fail(expr, `unknown macro "${text}" (use @yearly, @annually, @monthly, @weekly, @daily, @midnight or @hourly)`);
    text = expanded;
  }
  const fields = text.split(/\s+/);
  if (fields.length < 5 || fields.length > 7) {
    fail(expr, `expected 5, 6 or 7 space-separated fields, got ${fields.length}`);
  }
  if (fields.length === 5) fields.unshift("0");
  const [secF, minF, hourF, domF, monF, dowF, yearF] = fields;
  const second = parseSimpleField(expr, SECOND, secF).values;
  const minute = parseSimpleField(expr, MINUTE, minF).values;
  const hour = parseSimpleField(expr, HOUR, hourF).values;
  const month = parseSimpleField(expr, MONTH, monF).values;
  const dom = parseDom(expr, domF);
  const dow = parseDow(expr, dowF);
  let years: number[] | null = null;
  if (yearF !== undefined) {
    const parsed = parseSimpleField(expr, YEAR, yearF);
    years = parsed.star ? null : parsed.values;
  }
  const pattern: CronPattern = {
    source: expr,
    second,
    minute,
    hour,
    month,
    dom: dom.dom,
    domStar: dom.star,
    lastDay: dom.lastDay,
    lastWeekday: dom.lastWeekday,
    nearestWeekday: dom.nearest,
    dow: dow.dow,
    dowStar: dow.star,
    andLogic: dow.and,
    years,
    impossible: false,
  };
  return { ...pattern, impossible: neverMatches(pattern) };
}

const MONTH_MAX_DAYS = [0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** Only day-of-month numbers restrict the day and none fits any allowed month. */
function neverMatches(p: CronPattern): boolean {
  if (p.domStar || p.lastDay || p.lastWeekday || p.nearestWeekday.length) return false;
  if (!p.dowStar && !p.andLogic) return false;
  let firstDay = 32;
  for (let d = 1; d <= 31; d++) {
    if (p.dom[d]) {
      firstDay = d;
      break;
    }
  }
  return !p.month.some((m) => MONTH_MAX_DAYS[m] >= firstDay);
}

// --- calendar helpers --------------------------------------------------------------------

function isLeap(y: number): boolean {
  return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
}

export function daysInMonth(y: number, mo: number): number {
  return mo === 2 ? (isLeap(y) ? 29 : 28) : MONTH_MAX_DAYS[mo];
}

/** 0 = Sunday (Sakamoto's method, proleptic Gregorian). */
export function weekday(y: number, mo: number, d: number): number {
  const t = [0, 3, 2, 5, 0, 3, 5, 1, 4, 6, 2, 4];
  const yy = mo < 3 ? y - 1 : y;
  return (yy + Math.floor(yy / 4) - Math.floor(yy / 100) + Math.floor(yy / 400) + t[mo - 1] + d) % 7;
}

function nearestWeekdayOf(y: number, mo: number, n: number): number {
  const last = daysInMonth(y, mo);
  if (n > last) return -1;
  const wd = weekday(y, mo, n);
  if (wd === 6) return n === 1 ? 3 : n - 1;
  if (wd === 0) return n === last ? n - 2 : n + 1;
  return n;
}

function lastWeekdayOf(y: number, mo: number): number {
  const last = daysInMonth(y, mo);
  const wd = weekday(y, mo, last);
  return wd === 0 ? last - 2 : wd === 6 ? last - 1 : last;
}

export function dayMatches(p: CronPattern, y: number, mo: number, d: number): boolean {
  const last = daysInMonth(y, mo);
  let domHit =
    p.dom[d] ||
    (p.lastDay && d === last) ||
    (p.lastWeekday && d === lastWeekdayOf(y, mo)) ||
    p.nearestWeekday.some((n) => nearestWeekdayOf(y, mo, n) === d);
  if (p.dowStar) return domHit;
  const bits = p.dow[weekday(y, mo, d)];
  const dowHit =
    (bits & 1) !== 0 ||
    (bits & (1 << Math.ceil(d / 7))) !== 0 ||
    ((bits & (1 << 6)) !== 0 && d + 7 > last);
  if (p.andLogic || p.domStar) return (p.domStar || domHit) && dowHit;
  return domHit || dowHit;
}

function firstAtLeast(values: readonly number[], v: number): number | undefined {
  for (const x of values) if (x >= v) return x;
  return undefined;
}

/** The earliest wall-clock time ≥ `from` the pattern matches (no time zone involved). */
export function nextMatchingWallTime(p: CronPattern, from: WallTime): WallTime | undefined {
  if (p.impossible) return undefined;
  let { y, mo, d, h, mi, s } = from;
  const lastYear = Math.min(9999, p.years ? p.years[p.years.length - 1] : from.y + 400);
  for (;;) {
    if (y > lastYear) return undefined;
    if (p.years && !p.years.includes(y)) {
      const ny = firstAtLeast(p.years, y);
      if (ny === undefined) return undefined;
      y = ny;
      mo = 1;
      d = 1;
      h = mi = s = 0;
      continue;
    }
    const nm = firstAtLeast(p.month, mo);
    if (nm === undefined) {
      y++;
      mo = 1;
      d = 1;
      h = mi = s = 0;
      continue;
    }
    if (nm !== mo) {
      mo = nm;
      d = 1;
      h = mi = s = 0;
    }
    if (d > daysInMonth(y, mo)) {
      mo++;
      if (mo > 12) {
        mo = 1;
        y++;
      }
      d = 1;
      h = mi = s = 0;
      continue;
    }
    if (!dayMatches(p, y, mo, d)) {
      d++;
      h = mi = s = 0;
      continue;
    }
    const nh = firstAtLeast(p.hour, h);
    if (nh === undefined) {
      d++;
      h = mi = s = 0;
      continue;
    }
    if (nh !== h) {
      h = nh;
      mi = s = 0;
    }
    const nmi = firstAtLeast(p.minute, mi);
    if (nmi === undefined) {
      h++;
      mi = s = 0;
      if (h > 23) {
        h = 0;
        d++;
      }
      continue;
    }
    if (nmi !== mi) {
      mi = nmi;
      s = 0;
    }
    const ns = firstAtLeast(p.second, s);
    if (ns === undefined) {
      mi++;
      s = 0;
      if (mi > 59) {
        mi = 0;
        h++;
        if (h > 23) {
          h = 0;
          d++;
        }
      }
      continue;
    }
    return { y, mo, d, h, mi, s: ns };
  }
}

function plusOneSecond(w: WallTime): WallTime {
  const t = new Date(naiveMs(w) + 1000);
  return {
    y: t.getUTCFullYear(),
    mo: t.getUTCMonth() + 1,
    d: t.getUTCDate(),
    h: t.getUTCHours(),
    mi: t.getUTCMinutes(),
    s: t.getUTCSeconds(),
  };
}

/** Gap and overlap skips step one second at a time; an hour of them is 3600 steps. */
const MAX_RESOLVE_STEPS = 20_000;

/**
 * The first instant strictly after `afterMs` at which the pattern fires in `timeZone`, or
 * undefined when it never fires again. A wall time inside a gap is skipped; a repeated wall
 * time counts only at its first occurrence.
 */
export function nextCronRun(p: CronPattern, timeZone: string, afterMs: number): number | undefined {
  let from = wallTime(Math.floor(afterMs / 1000) * 1000 + 1000, timeZone);
  for (let i = 0; i < MAX_RESOLVE_STEPS; i++) {
    const w = nextMatchingWallTime(p, from);
    if (!w) return undefined;
    const hits = instantsOf(w, timeZone);
    if (hits.length && hits[0] > afterMs) return hits[0];
    from = plusOneSecond(w);
  }
  return undefined;
}

/** Recurring top-of-hour (minute 0, wildcard-stepped hour): staggered by default. */
export function isRecurringTopOfHour(expr: string): boolean {
  const fields = expr.trim().split(/\s+/).filter(Boolean);
  const hourOk = (field: string | undefined) => {
    if (!field) return false;
    const parts = field.split(",");
    return (
      parts.every((part) => /^(?:\d+|\d+-\d+)(?:\/\d+)?$|^[*?](?:\/\d+)?$/.test(part)) &&
      parts.some((part) => part.startsWith("*") || part.startsWith("?"))
    );
  };
  if (fields.length === 5) return fields[0] === "0" && hourOk(fields[1]);
  if (fields.length === 6) return fields[0] === "0" && fields[1] === "0" && hourOk(fields[2]);
  return false;
}
