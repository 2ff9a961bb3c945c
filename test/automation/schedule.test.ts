/**
 * Schedule inputs (durations, `at` forms, validation) and the next-run rule, checked against
 * values the original 2026.9.6 gateway produced (see test/fixture/transcripts/cron).
 */
import { describe, expect, test } from "bun:test";
import {
  ScheduleError,
  computeNextRunAtMs,
  formatDurationMs,
  nextEverySlot,
  normalizeSchedule,
  parseAbsoluteTime,
  parseAtInput,
  parseDurationMs,
  staggerOffsetMs,
} from "../../src/automation/schedule.ts";
import { CronExpressionError } from "../../src/automation/cron-expr.ts";
import { InvalidTimeZoneError, isoWithOffset } from "../../src/automation/tz.ts";

describe("durations", () => {
  test("units, composites, default unit", () => {
    expect(parseDurationMs("10m")).toBe(600_000);
    expect(parseDurationMs("1h")).toBe(3_600_000);
    expect(parseDurationMs("1d")).toBe(86_400_000);
    expect(parseDurationMs("90s")).toBe(90_000);
    expect(parseDurationMs("1h30m")).toBe(5_400_000);
    expect(parseDurationMs("1.5h")).toBe(5_400_000);
    expect(parseDurationMs("500ms")).toBe(500);
    expect(parseDurationMs("30", { defaultUnit: "m" })).toBe(1_800_000);
    expect(parseDurationMs(" 2H ")).toBe(7_200_000);
  });
  test("bad durations", () => {
    for (const bad of ["", "abc", "10x", "1h30", "-5m", "m10", "1h 30m"]) {
      expect(() => parseDurationMs(bad)).toThrow(ScheduleError);
    }
  });
  test("formatting keeps milliseconds", () => {
    expect(formatDurationMs(90_000)).toBe("1m 30s");
    expect(formatDurationMs(1001)).toBe("1s 1ms");
    expect(formatDurationMs(1_800_000)).toBe("30m");
  });
});

describe("at inputs", () => {
  const now = Date.parse("2026-12-05T23:59:05.267Z");
  test("relative forms the CLI accepts", () => {
    expect(parseAtInput("20m", now)).toBe(now + 20 * 60_000);
    expect(parseAtInput("+1h", now)).toBe(now + 3_600_000);
    expect(parseAtInput("1h30m", now)).toBe(now + 5_400_000);
  });
  test("offset-less ISO in a zone (the original stored 2027-02-01T21:00:00.000Z)", () => {
    expect(new Date(parseAtInput("2027-02-01T16:00:00", now, "America/New_York")).toISOString()).toBe("2027-02-01T21:00:00.000Z");
  });
  test("absolute forms", () => {
    expect(parseAbsoluteTime("2027-01-01T00:00:00Z")).toBe(Date.parse("2027-01-01T00:00:00Z"));
    expect(parseAbsoluteTime("2027-01-01T00:00:00")).toBe(Date.parse("2027-01-01T00:00:00Z"));
    expect(parseAbsoluteTime("2027-01-01")).toBe(Date.parse("2027-01-01T00:00:00Z"));
    expect(parseAbsoluteTime("2027-01-01T00:00:00+02:00")).toBe(Date.parse("2026-12-31T22:00:00Z"));
    expect(parseAbsoluteTime("1799999999999")).toBe(1799999999999);
    expect(parseAbsoluteTime("2027-02-30")).toBeNull();
    expect(parseAbsoluteTime("garbage")).toBeNull();
    expect(() => parseAtInput("next tuesday", now)).toThrow("Invalid schedule.at: expected ISO-8601 timestamp (got next tuesday)");
    expect(() => parseAbsoluteTime("2027-01-01T00:00:00", "Mars/Olympus")).toThrow(InvalidTimeZoneError);
  });
  test("a local time inside a DST gap moves forward by the gap", () => {
    expect(new Date(parseAbsoluteTime("2027-03-28T02:30:00", "Europe/Berlin")!).toISOString()).toBe("2027-03-28T01:30:00.000Z");
  });
});

describe("normalizeSchedule", () => {
  const now = Date.parse("2026-12-06T00:05:26.154Z");
  test("at: canonical ISO, refuses garbage and the past with the original's wording", () => {
    expect(normalizeSchedule({ kind: "at", at: "2027-01-01T00:00:00+01:00" }, now)).toEqual({ kind: "at", at: "2026-12-31T23:00:00.000Z" });
    expect(() => normalizeSchedule({ kind: "at", at: "garbage" }, now)).toThrow("Invalid schedule.at: expected ISO-8601 timestamp (got garbage)");
    expect(() => normalizeSchedule({ kind: "at", at: "2020-01-01T00:00:00Z" }, now)).toThrow(
      "schedule.at is in the past: 2020-01-01T00:00:00.000Z (3644645 minutes ago). Current time: 2026-12-06T00:05:26.154Z",
    );
  });
  test("every: anchor defaults to now", () => {
    expect(normalizeSchedule({ kind: "every", everyMs: 600_000 }, now)).toEqual({ kind: "every", everyMs: 600_000, anchorMs: now });
    expect(() => normalizeSchedule({ kind: "every", everyMs: 0 }, now)).toThrow(ScheduleError);
  });
  test("cron: bad expressions and zones", () => {
    expect(() => normalizeSchedule({ kind: "cron", expr: "61 * * * *" }, now)).toThrow(CronExpressionError);
    expect(() => normalizeSchedule({ kind: "cron", expr: "0 7 * * *", tz: "Mars/Olympus" }, now)).toThrow(InvalidTimeZoneError);
    expect(() => normalizeSchedule({ kind: "cron", expr: "0 0 0 1 1 * 2020" }, now)).toThrow(/never fires/);
    expect(normalizeSchedule({ kind: "cron", expr: " 0 7 * * * ", tz: "" }, now)).toEqual({ kind: "cron", expr: "0 7 * * *" });
    expect(normalizeSchedule({ kind: "cron", expr: "0 * * * *" }, now)).toEqual({ kind: "cron", expr: "0 * * * *", staggerMs: 300_000 });
  });
});

describe("next run, against the original's captures", () => {
  test("stagger offset = sha256(jobId) mod window", () => {
    // cron add --cron "0 * * * *" on the original: id 7f083472-…, nextRunAtMs = 00:00 + 71907 ms.
    expect(staggerOffsetMs("7f083472-7da6-4f16-b733-4112b11c29e3", 300_000)).toBe(71_907);
    expect(
      computeNextRunAtMs(
        { id: "7f083472-7da6-4f16-b733-4112b11c29e3", schedule: { kind: "cron", expr: "0 * * * *", staggerMs: 300_000 }, createdAtMs: 1796515149742 },
        1796515149742,
      ),
    ).toBe(1796515271907);
  });
  test("every: first run at creation + interval; after a run, one interval after it", () => {
    const job = { id: "x", schedule: { kind: "every" as const, everyMs: 600_000, anchorMs: 1796515136756 }, createdAtMs: 1796515136756 };
    expect(computeNextRunAtMs(job, 1796515136756)).toBe(1796515736756);
    expect(computeNextRunAtMs({ ...job, lastRunAtMs: 1796515736790 }, 1796515737000)).toBe(1796516336790);
    // A long outage: the next slot of the anchor grid, not a replay.
    expect(computeNextRunAtMs({ ...job, lastRunAtMs: 1796515736790 }, 1796515736756 + 10 * 600_000 + 5)).toBe(1796515736756 + 11 * 600_000);
    // The heartbeat monitor's small phase anchor (the original stored anchorMs 1747014).
    expect(nextEverySlot(1_800_000, 1_747_014, 1796515110763)).toBe(1796515147014);
  });
  test("cron in a zone (the original: 0 7 * * * Europe/Berlin → 1796536800000)", () => {
    expect(computeNextRunAtMs({ id: "y", schedule: { kind: "cron", expr: "0 7 * * *", tz: "Europe/Berlin" }, createdAtMs: 0 }, 1796515139087)).toBe(1796536800000);
    expect(computeNextRunAtMs({ id: "z", schedule: { kind: "cron", expr: "*/30 * * * * *" }, createdAtMs: 0 }, 1796515151641)).toBe(1796515170000);
  });
  test("at: only while ahead", () => {
    const job = { id: "a", schedule: { kind: "at" as const, at: "2026-12-06T00:19:05.267Z" }, createdAtMs: 0 };
    expect(computeNextRunAtMs(job, 1796515145522)).toBe(1796516345267);
    expect(computeNextRunAtMs(job, 1796516345267)).toBeUndefined();
  });
});

test("ISO with the zone's offset (the CLI's tsIso / runAtIso form)", () => {
  expect(isoWithOffset(1796515203970, "UTC")).toBe("2026-12-06T00:00:03.970+00:00");
  expect(isoWithOffset(1796515203970, "Europe/Berlin")).toBe("2026-12-06T01:00:03.970+01:00");
  expect(isoWithOffset(Date.parse("2026-07-01T12:00:00Z"), "America/New_York")).toBe("2026-07-01T08:00:00.000-04:00");
  expect(isoWithOffset(Date.parse("2026-07-01T12:00:00Z"), "Asia/Kathmandu")).toBe("2026-07-01T17:45:00.000+05:45");
});
