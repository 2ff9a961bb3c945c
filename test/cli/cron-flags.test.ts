/**
 * `openclaw cron add|edit` flags → the params the original's CLI sent for the same command lines
 * (read from the captures in test/fixture/transcripts/cron), and the refusals of bad command
 * lines, word for word.
 */
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { addParams, CronFlagError, editPatch, jobTable, scheduleLabel, statusLabel, withLocalTimes } from "../../src/operator/cron.ts";

const DIR = join(import.meta.dir, "..", "fixture", "transcripts", "cron");

/** The params of the first `method` request in a capture. */
function sent(capture: string, method: string): any {
  for (const line of readFileSync(join(DIR, `${capture}.jsonl`), "utf8").split("\n")) {
    if (!line) continue;
    const f = JSON.parse(line);
    if (f.dir === "c2s" && f.data?.method === method) return f.data.params;
  }
  throw new Error(`${capture}: no ${method}`);
}

/** citty's view of a command line: flags by name (booleans true, `--no-x` false), the rest positional. */
function parse(argv: string[]): { flags: Record<string, unknown>; positionals: string[] } {
  const flags: Record<string, unknown> = {};
  const positionals: string[] = [];
  const booleans = new Set(["announce", "exact", "disabled", "keep-after-run", "delete-after-run", "light-context", "best-effort-deliver", "enable", "disable", "clear-model", "clear-agent"]);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith("--")) positionals.push(a);
    else if (a.startsWith("--no-")) flags[a.slice(5)] = false;
    else if (booleans.has(a.slice(2))) flags[a.slice(2)] = true;
    else flags[a.slice(2)] = argv[++i];
  }
  return { flags, positionals };
}

const add = (argv: string[], now = Date.now()) => {
  const { flags, positionals } = parse(argv);
  return addParams(flags, positionals, now);
};

function refusal(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(CronFlagError);
    return (err as Error).message;
  }
  throw new Error("not refused");
}

describe("cron add sends what the original's CLI sends", () => {
  const cases: Array<[string, string[]]> = [
    ["cron-add-every", ["--name", "every-job", "--every", "10m", "--message", "hello every"]],
    ["cli-create-every", ["--name", "p2", "--every", "1h", "--message", "hourly hello"]],
    ["cli-add-positional", ["0 9 * * 1", "weekly note", "--name", "pos"]],
    ["cron-add-cron", ["--name", "cron-job", "--cron", "0 7 * * *", "--tz", "Europe/Berlin", "--message", "morning brief"]],
    ["cron-add-6field", ["--name", "six", "--cron", "*/30 * * * * *", "--message", "six", "--no-deliver"]],
    ["cron-add-hourly", ["--name", "hourly", "--cron", "0 * * * *", "--message", "hourly", "--no-deliver"]],
    ["cli-add-exact", ["--name", "ex", "--cron", "0 * * * *", "--exact", "--message", "x", "--no-deliver"]],
    ["cli-add-stagger", ["--name", "st", "--cron", "0 * * * *", "--stagger", "30s", "--message", "x", "--no-deliver"]],
    ["cli-add-announce", ["--name", "ann", "--cron", "0 8 * * *", "--message", "hi", "--announce", "--channel", "telegram", "--to", "123"]],
    ["cli-add-main-system-event", ["--name", "sys", "--every", "30m", "--session", "main", "--system-event", "ping", "--wake", "next-heartbeat"]],
    ["cron-add-at-iso", ["--name", "at-iso", "--at", "2027-02-01T21:00:00Z", "--session", "main", "--system-event", "Reminder: check"]],
  ];
  for (const [capture, argv] of cases) {
    test(capture, () => {
      expect(add(argv).params).toEqual(sent(capture, "cron.add"));
    });
  }

  test("--at with a duration is resolved to an instant before sending; --keep-after-run, model flags, --agent", () => {
    const now = Date.parse("2026-12-06T00:00:00.000Z");
    const r = add(["--name", "keep", "--at", "20m", "--keep-after-run", "--agent", "main", "--message", "x", "--model", "fake/echo", "--thinking", "low", "--timeout-seconds", "120", "--light-context"], now);
    expect(r.params).toEqual({ ...sent("cli-add-keep-model", "cron.add"), schedule: { kind: "at", at: "2026-12-06T00:20:00.000Z" } });
    expect(r.warnNoAgent).toBe(false);
    expect(add(["--name", "n", "--every", "1h", "--message", "m"]).warnNoAgent).toBe(true);
    expect(add(["--name", "n", "--every", "1h", "--system-event", "e", "--session", "main"]).warnNoAgent).toBe(false);
  });

  test("bad command lines are refused in the original's words", () => {
    expect(refusal(() => add(["--name", "n", "--every", "soon", "--message", "m"]))).toBe("Invalid --every. Use a duration like 10m, 1h, or 1d.");
    expect(refusal(() => add(["--name", "n", "--at", "someday", "--message", "m"]))).toBe("Invalid --at. Use an ISO timestamp or a duration like 20m.");
    expect(refusal(() => add(["--name", "n", "--every", "1h", "--message", "m", "--system-event", "e"]))).toBe("Choose exactly one payload: --system-event, --message, --command, or --script");
    expect(refusal(() => add(["--name", "n", "--every", "1h"]))).toBe("Choose exactly one payload: --system-event, --message, --command, or --script");
    expect(refusal(() => add(["--every", "1h", "--message", "m"]))).toBe("Cron job name is required. Pass a name or --name <name>.");
    expect(refusal(() => add(["--name", "n", "--every", "1h", "--message", "m", "--session", "main"]))).toBe("Main jobs require --system-event or --script.");
    expect(refusal(() => add(["--name", "n", "--every", "1h", "--system-event", "e", "--session", "isolated"]))).toBe("Isolated jobs require --message, --command, or --script.");
    expect(refusal(() => add(["--name", "n", "--every", "1h", "--message", "m", "--session", "elsewhere"]))).toBe("--session must be main, isolated, current, or session:<id>");
    expect(refusal(() => add(["--name", "n", "--cron", "0 * * * *", "--stagger", "1m", "--exact", "--message", "m"]))).toBe("Choose either --stagger or --exact, not both");
    expect(refusal(() => add(["--name", "n", "--every", "1h", "--tz", "UTC", "--message", "m"]))).toBe("--tz is only valid with --cron or offset-less --at");
    expect(refusal(() => add(["--name", "n", "--every", "1h", "--message", "m", "--wake", "later"]))).toBe("--wake must be now or next-heartbeat");
    expect(refusal(() => add(["--name", "n", "--every", "1h", "--message", "m", "--timeout-seconds", "-1"]))).toBe("--timeout-seconds must be a non-negative integer");
    expect(refusal(() => add(["--name", "n", "--every", "1h", "--cron", "0 9 * * *", "--message", "m"]))).toBe("Choose exactly one schedule: --at, --every, or --cron");
    expect(refusal(() => add(["--name", "n", "--every", "1h", "--message", "m", "--announce", "--no-deliver"]))).toBe("Choose at most one of --announce, --no-deliver, or --webhook");
  });
});

describe("cron edit", () => {
  const noRead = async () => {
    throw new Error("the job was read");
  };

  test("patches as the original's CLI sends them", async () => {
    const { flags } = parse(["--message", "edited", "--every", "15m"]);
    expect(await editPatch(flags, Date.now(), noRead)).toEqual(sent("cron-edit", "cron.update").patch);
    const renamed = parse(["--name", "renamed", "--cron", "*/10 * * * *", "--tz", "UTC", "--no-deliver"]).flags;
    expect(await editPatch(renamed, Date.now(), noRead)).toEqual(sent("cli-edit-schedule", "cron.update").patch);
    expect(await editPatch(parse(["--enable"]).flags, Date.now(), noRead)).toEqual({ enabled: true });
    expect(await editPatch(parse(["--clear-model"]).flags, Date.now(), noRead)).toEqual({ payload: { kind: "agentTurn", model: null } });
  });

  test("a zone change alone patches the current cron schedule; a new expression keeps the zone", async () => {
    const current = async () => ({ schedule: { kind: "cron", expr: "0 9 * * *", tz: "Europe/Oslo" } });
    expect(await editPatch(parse(["--tz", "UTC"]).flags, Date.now(), current)).toEqual({ schedule: { kind: "cron", expr: "0 9 * * *", tz: "UTC" } });
    expect(await editPatch(parse(["--cron", "0 10 * * *"]).flags, Date.now(), current)).toEqual({ schedule: { kind: "cron", expr: "0 10 * * *", tz: "Europe/Oslo" } });
    await expect(editPatch(parse(["--enable", "--disable"]).flags, Date.now(), noRead)).rejects.toThrow("Choose --enable or --disable, not both");
    await expect(editPatch(parse(["--model", "a/b", "--clear-model"]).flags, Date.now(), noRead)).rejects.toThrow("Use --model or --clear-model, not both");
  });
});

describe("output", () => {
  test("the list table, schedule and status labels, local times in run history", () => {
    const now = Date.parse("2026-12-06T00:00:00Z");
    const job = {
      id: "727f3dff-918a-4b32-abf6-425f53aee8a2",
      declarationKey: "heartbeat:main",
      name: "heartbeat-main",
      displayName: "Heartbeat (main)",
      enabled: true,
      schedule: { kind: "every", everyMs: 1_800_000 },
      sessionTarget: "main",
      payload: { kind: "heartbeat" },
      state: { nextRunAtMs: now + 20_000 },
      effectiveAgentId: "main",
    };
    const [header, row] = jobTable([job], { [job.id]: { label: "not requested", detail: "not requested" } }, now);
    // Column for column as the original's `cron list` prints it (test/fixture/transcripts/cron/cron-list.cli-output.txt).
    const original = readFileSync(join(DIR, "cron-list.cli-output.txt"), "utf8").split("\n");
    expect(header).toBe(original[0]);
    expect(row).toBe(original[1]);
    expect(jobTable([])).toEqual(["No automations."]);
    expect(scheduleLabel({ kind: "cron", expr: "0 3 * * *", staggerMs: 0 })).toBe("cron 0 3 * * * (exact)");
    expect(scheduleLabel({ kind: "cron", expr: "0 * * * *", tz: "UTC", staggerMs: 300_000 })).toBe("cron 0 * * * * @ UTC (stagger 5m)");
    expect(scheduleLabel({ kind: "every", everyMs: 604_800_000 })).toBe("every 7d");
    expect(statusLabel({ enabled: true, state: { lastRunStatus: "error", consecutiveErrors: 3 } })).toBe("error (3x)");
    expect(statusLabel({ enabled: false, state: {} })).toBe("disabled");
    const runs = withLocalTimes({ entries: [{ action: "finished", ts: 1796515216826, runAtMs: 1796515216248 }] }, "UTC");
    expect(runs.entries[0]).toMatchObject({ tsIso: "2026-12-06T00:00:16.826+00:00", runAtIso: "2026-12-06T00:00:16.248+00:00" });
  });
});
