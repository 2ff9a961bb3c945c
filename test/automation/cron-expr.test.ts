/**
 * Cron expressions: syntax, errors, and next occurrences in IANA zones across DST changes.
 * Expected instants were produced by the original OpenClaw 2026.9.6 scheduler for the same
 * inputs (except where a comment says we deliberately differ).
 */
import { describe, expect, test } from "bun:test";
import { CronExpressionError, isRecurringTopOfHour, nextCronRun, parseCron } from "../../src/automation/cron-expr.ts";
import { instantsOf, InvalidTimeZoneError, assertTimeZone } from "../../src/automation/tz.ts";

function runs(expr: string, tz: string, startIso: string, n: number): string[] {
  const p = parseCron(expr);
  let t = Date.parse(startIso);
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const next = nextCronRun(p, tz, t);
    if (next === undefined) {
      out.push("never");
      break;
    }
    out.push(new Date(next).toISOString());
    t = next;
  }
  return out;
}

const iso = (s: string) => new Date(s).toISOString();

describe("syntax (UTC)", () => {
  const start = "2026-12-01T00:00:00Z";
  const cases: Array<[string, string[]]> = [
    ["* * * * *", ["2026-12-01T00:01:00Z", "2026-12-01T00:02:00Z"]],
    ["*/7 * * * *", ["2026-12-01T00:07:00Z", "2026-12-01T00:14:00Z"]],
    ["0 */7 * * *", ["2026-12-01T07:00:00Z", "2026-12-01T14:00:00Z", "2026-12-01T21:00:00Z", "2026-12-02T00:00:00Z"]],
    ["0 10-20/5 * * *", ["2026-12-01T10:00:00Z", "2026-12-01T15:00:00Z", "2026-12-01T20:00:00Z", "2026-12-02T10:00:00Z"]],
    ["0 0 1-3 * *", ["2026-12-02T00:00:00Z", "2026-12-03T00:00:00Z", "2027-01-01T00:00:00Z"]],
    ["0 0 30 * *", ["2026-12-30T00:00:00Z", "2027-01-30T00:00:00Z", "2027-03-30T00:00:00Z"]],
    ["0 0 29 2 *", ["2028-02-29T00:00:00Z", "2032-02-29T00:00:00Z"]],
    ["0 12 * JAN-MAR,DEC *", ["2026-12-01T12:00:00Z", "2026-12-02T12:00:00Z"]],
    ["0 0 1 jan,jul mon-fri", ["2027-01-01T00:00:00Z", "2027-01-04T00:00:00Z", "2027-01-05T00:00:00Z"]],
    ["0 0 * * MON-FRI", ["2026-12-02T00:00:00Z", "2026-12-03T00:00:00Z"]],
    ["0 0 * * sun-sat/2", ["2026-12-03T00:00:00Z", "2026-12-05T00:00:00Z", "2026-12-06T00:00:00Z"]],
    ["0 0 * * 5-7", ["2026-12-04T00:00:00Z", "2026-12-05T00:00:00Z", "2026-12-06T00:00:00Z"]],
    ["0 0 * * 7", ["2026-12-06T00:00:00Z", "2026-12-13T00:00:00Z"]],
    ["0 0 * * SUN", ["2026-12-06T00:00:00Z"]],
    // Day-of-month and day-of-week both restricted: either matches (Vixie OR) ...
    ["0 9 15 * 1", ["2026-12-07T09:00:00Z", "2026-12-14T09:00:00Z", "2026-12-15T09:00:00Z", "2026-12-21T09:00:00Z"]],
    // ... unless "+" asks for both.
    ["0 9 15 * +1", ["2027-02-15T09:00:00Z", "2027-03-15T09:00:00Z"]],
    ["0 0 L * *", ["2026-12-31T00:00:00Z", "2027-01-31T00:00:00Z", "2027-02-28T00:00:00Z"]],
    ["0 0 LW * *", ["2026-12-31T00:00:00Z", "2027-01-29T00:00:00Z"]],
    ["0 0 15W * *", ["2026-12-15T00:00:00Z", "2027-01-15T00:00:00Z", "2027-02-15T00:00:00Z"]],
    ["0 0 1W * *", ["2027-01-01T00:00:00Z", "2027-02-01T00:00:00Z"]],
    ["0 0 * * 5L", ["2026-12-25T00:00:00Z", "2027-01-29T00:00:00Z"]],
    ["0 0 * * 7L", ["2026-12-27T00:00:00Z"]],
    ["0 0 * * 1#2", ["2026-12-14T00:00:00Z", "2027-01-11T00:00:00Z"]],
    ["@daily", ["2026-12-02T00:00:00Z", "2026-12-03T00:00:00Z"]],
    ["@weekly", ["2026-12-06T00:00:00Z", "2026-12-13T00:00:00Z"]],
    ["@hourly", ["2026-12-01T01:00:00Z", "2026-12-01T02:00:00Z"]],
    ["@yearly", ["2027-01-01T00:00:00Z"]],
    // 6 fields: seconds first.
    ["*/30 * * * * *", ["2026-12-01T00:00:30Z", "2026-12-01T00:01:00Z"]],
    ["0 0 1 * * *", ["2026-12-01T01:00:00Z", "2026-12-02T01:00:00Z"]],
    // 7 fields: a year.
    ["0 0 0 1 1 * 2030", ["2030-01-01T00:00:00Z", "never"]],
    ["0 0 31 2 *", ["never"]],
  ];
  for (const [expr, expected] of cases) {
    test(expr, () => {
      expect(runs(expr, "UTC", start, expected.length)).toEqual(expected.map((e) => (e === "never" ? e : iso(e))));
    });
  }

  test("? stands for any value (a Monday-only schedule stays Monday-only)", () => {
    // croner 9 treats "? * MON" as every day; we read "?" as "*", as Quartz and Vixie users expect.
    expect(runs("0 0 ? * MON", "UTC", start, 2)).toEqual([iso("2026-12-07T00:00:00Z"), iso("2026-12-14T00:00:00Z")]);
  });
});

describe("invalid expressions", () => {
  const bad: Array<[string, RegExp]> = [
    ["", /empty/],
    ["not a cron", /expected 5, 6 or 7 space-separated fields, got 3/],
    ["0 0 * * * * * *", /got 8/],
    ["61 * * * *", /minute value 61 is out of range \(0-59\)/],
    ["60 * * * *", /minute value 60/],
    ["0 24 * * *", /hour value 24/],
    ["0 0 0 * *", /day-of-month value 0/],
    ["0 0 * 13 *", /month value 13/],
    ["0 0 * * 8", /day-of-week value 8/],
    ["a b c d e", /minute value "a" is not a number/],
    ["*/0 * * * *", /step must be at least 1/],
    ["*/61 * * * *", /step 61 is larger than the field/],
    ["5/10 * * * *", /a step needs "\*" or a range before it/],
    ["1-70 * * * *", /minute value 70/],
    ["5-1 * * * *", /runs backwards/],
    ["0 0 * * mon#6", /must be 1-5/],
    ["0 0 ,1 * *", /empty list item/],
    ["0 0 L-2 * *", /not valid/],
    ["0 0 * * L", /not valid/],
    ["0 0 1#2 * *", /not valid/],
    ["0 0 * 1W *", /modifier/],
    ["0 0 * * +", /empty after "\+"/],
    ["@reboot", /@reboot is not supported/],
    ["@sometimes", /unknown macro/],
    ["0 0 0 * * * 0", /year value 0 is out of range/],
    ["0 0 * foo *", /month value "foo"/],
    ["0 0 * * $", /illegal characters/],
  ];
  for (const [expr, message] of bad) {
    test(JSON.stringify(expr), () => {
      let err: unknown;
      try {
        parseCron(expr);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(CronExpressionError);
      expect((err as Error).message).toStartWith(`invalid cron expression "${expr}": `);
      expect((err as Error).message).toMatch(message);
    });
  }
});

describe("time zones and DST", () => {
  test("a named zone shifts the wall clock", () => {
    expect(runs("0 9 * * *", "Europe/Berlin", "2026-12-01T00:00:00Z", 1)).toEqual([iso("2026-12-01T08:00:00Z")]);
    expect(runs("0 7 * * *", "Europe/Berlin", "2026-12-05T23:58:59Z", 1)).toEqual([iso("2026-12-06T06:00:00Z")]);
    expect(runs("0 9 * * *", "EST5EDT", "2026-12-01T00:00:00Z", 1)).toEqual([iso("2026-12-01T14:00:00Z")]);
  });

  test("unknown zones are rejected with the zone named", () => {
    expect(() => assertTimeZone("Mars/Olympus")).toThrow(InvalidTimeZoneError);
    expect(() => assertTimeZone("Mars/Olympus")).toThrow(/unknown time zone "Mars\/Olympus"/);
    expect(() => nextCronRun(parseCron("0 9 * * *"), "Mars/Olympus", 0)).toThrow(InvalidTimeZoneError);
    expect(() => assertTimeZone("  ")).toThrow(InvalidTimeZoneError);
  });

  test("wall-clock instants: gap has none, overlap has two", () => {
    expect(instantsOf({ y: 2027, mo: 3, d: 28, h: 2, mi: 30, s: 0 }, "Europe/Berlin")).toEqual([]);
    expect(instantsOf({ y: 2026, mo: 10, d: 25, h: 2, mi: 30, s: 0 }, "Europe/Berlin")).toEqual([
      Date.parse("2026-10-25T00:30:00Z"),
      Date.parse("2026-10-25T01:30:00Z"),
    ]);
    expect(instantsOf({ y: 2026, mo: 11, d: 1, h: 1, mi: 30, s: 0 }, "America/New_York")).toEqual([
      Date.parse("2026-11-01T05:30:00Z"),
      Date.parse("2026-11-01T06:30:00Z"),
    ]);
  });

  test("Europe/Berlin spring forward: a daily job inside the gap skips that day", () => {
    expect(runs("30 2 * * *", "Europe/Berlin", "2027-03-27T12:00:00Z", 3)).toEqual(
      ["2027-03-29T00:30:00Z", "2027-03-30T00:30:00Z", "2027-03-31T00:30:00Z"].map(iso),
    );
    expect(runs("*/15 2 * * *", "Europe/Berlin", "2027-03-27T12:00:00Z", 2)).toEqual(
      ["2027-03-29T00:00:00Z", "2027-03-29T00:15:00Z"].map(iso),
    );
  });

  test("Europe/Berlin spring forward: hourly and half-hourly jobs continue after the gap", () => {
    expect(runs("0 * * * *", "Europe/Berlin", "2027-03-27T23:30:00Z", 4)).toEqual(
      ["2027-03-28T00:00:00Z", "2027-03-28T01:00:00Z", "2027-03-28T02:00:00Z", "2027-03-28T03:00:00Z"].map(iso),
    );
    expect(runs("*/30 * * * *", "Europe/Berlin", "2027-03-28T00:00:00Z", 5)).toEqual(
      ["2027-03-28T00:30:00Z", "2027-03-28T01:00:00Z", "2027-03-28T01:30:00Z", "2027-03-28T02:00:00Z", "2027-03-28T02:30:00Z"].map(iso),
    );
  });

  test("Europe/Berlin fall back: a repeated wall time fires once, at its first occurrence", () => {
    expect(runs("30 2 * * *", "Europe/Berlin", "2026-10-24T12:00:00Z", 3)).toEqual(
      ["2026-10-25T00:30:00Z", "2026-10-26T01:30:00Z", "2026-10-27T01:30:00Z"].map(iso),
    );
    expect(runs("0 * * * *", "Europe/Berlin", "2026-10-24T23:30:00Z", 5)).toEqual(
      ["2026-10-25T00:00:00Z", "2026-10-25T02:00:00Z", "2026-10-25T03:00:00Z", "2026-10-25T04:00:00Z", "2026-10-25T05:00:00Z"].map(iso),
    );
    expect(runs("*/30 * * * *", "Europe/Berlin", "2026-10-24T23:00:00Z", 6)).toEqual(
      ["2026-10-24T23:30:00Z", "2026-10-25T00:00:00Z", "2026-10-25T00:30:00Z", "2026-10-25T02:00:00Z", "2026-10-25T02:30:00Z", "2026-10-25T03:00:00Z"].map(iso),
    );
    expect(runs("0 */2 * * *", "Europe/Berlin", "2026-10-24T21:00:00Z", 4)).toEqual(
      ["2026-10-24T22:00:00Z", "2026-10-25T00:00:00Z", "2026-10-25T03:00:00Z", "2026-10-25T05:00:00Z"].map(iso),
    );
  });

  test("starting inside the repeated hour does not fire the repeat", () => {
    expect(runs("*/30 * * * *", "Europe/Berlin", "2026-10-25T01:10:00Z", 2)).toEqual(
      ["2026-10-25T02:00:00Z", "2026-10-25T02:30:00Z"].map(iso),
    );
  });

  test("America/New_York spring forward and fall back", () => {
    expect(runs("30 2 * * *", "America/New_York", "2027-03-13T12:00:00Z", 2)).toEqual(
      ["2027-03-15T06:30:00Z", "2027-03-16T06:30:00Z"].map(iso),
    );
    expect(runs("0 2 * * *", "America/New_York", "2027-03-13T12:00:00Z", 1)).toEqual(["2027-03-15T06:00:00Z"].map(iso));
    expect(runs("30 1 * * *", "America/New_York", "2026-10-31T12:00:00Z", 3)).toEqual(
      ["2026-11-01T05:30:00Z", "2026-11-02T06:30:00Z", "2026-11-03T06:30:00Z"].map(iso),
    );
    expect(runs("*/20 1 * * *", "America/New_York", "2026-10-31T12:00:00Z", 4)).toEqual(
      ["2026-11-01T05:00:00Z", "2026-11-01T05:20:00Z", "2026-11-01T05:40:00Z", "2026-11-02T06:00:00Z"].map(iso),
    );
  });

  test("half-hour DST (Australia/Lord_Howe) keeps a daily job daily", () => {
    const out = runs("30 2 * * *", "Australia/Lord_Howe", "2026-10-03T00:00:00Z", 3);
    expect(out.every((s) => s.endsWith("15:30:00.000Z"))).toBe(true);
    expect(new Set(out).size).toBe(3);
  });

  test("every-second expression across a gap terminates and lands after it", () => {
    const next = nextCronRun(parseCron("* * 2 * * *"), "Europe/Berlin", Date.parse("2027-03-28T00:59:59Z"));
    // 02:xx does not exist on that day: the next 02:00:00 local is the following night.
    expect(next).toBe(Date.parse("2027-03-29T00:00:00Z"));
  });
});

test("top-of-hour detection (default stagger)", () => {
  expect(isRecurringTopOfHour("0 * * * *")).toBe(true);
  expect(isRecurringTopOfHour("0 */2 * * *")).toBe(true);
  expect(isRecurringTopOfHour("0 0 * * * *")).toBe(true);
  expect(isRecurringTopOfHour("0 7 * * *")).toBe(false);
  expect(isRecurringTopOfHour("5 * * * *")).toBe(false);
  expect(isRecurringTopOfHour("@hourly")).toBe(false);
});
