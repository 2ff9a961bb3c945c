/**
 * The SQLite side: migrations, run-history retention, and durability across a kill -9 of a real
 * child process that was mid-run.
 */
import { afterEach, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CronService } from "../../src/automation/service.ts";
import { AutomationStore, MIGRATION_SET, RUN_RETENTION_MS, RUN_RETENTION_PER_JOB } from "../../src/automation/store.ts";
import { StoreVersionError, openDatabase } from "../../src/store/db.ts";
import { FakeAgent, ManualClock, tempStore } from "./helpers.ts";

const cleanup: Array<() => void> = [];
afterEach(() => {
  for (const fn of cleanup.splice(0).reverse()) fn();
});

test("migrations are idempotent, versioned by name, and a newer schema is refused", () => {
  const tmp = tempStore();
  cleanup.push(() => tmp.close());
  new AutomationStore(tmp.db);
  const row = tmp.db.query("SELECT version FROM schema_sets WHERE name = ?").get(MIGRATION_SET) as { version: number };
  expect(row.version).toBe(1);
  tmp.db.run("UPDATE schema_sets SET version = 99 WHERE name = ?", [MIGRATION_SET]);
  expect(() => new AutomationStore(tmp.db)).toThrow(StoreVersionError);
});

test("run history: newest 2000 per job, 7 days, filters before paging", () => {
  let now = Date.parse("2026-12-06T00:00:00Z");
  const tmp = tempStore(() => now);
  cleanup.push(() => tmp.close());
  const store = tmp.store;
  const insert = tmp.db.transaction((jobId: string, n: number, ts: number) => {
    for (let i = 0; i < n; i++) store.appendRun({ ts: ts + i, jobId, action: "finished", status: i % 2 ? "error" : "ok", summary: `run ${i}` });
  });
  insert("a", RUN_RETENTION_PER_JOB + 25, now);
  insert("b", 10, now);
  expect(store.queryRuns({ jobId: "a", limit: 1, offset: 0 }).total).toBe(RUN_RETENTION_PER_JOB);
  expect(store.queryRuns({ jobId: "a", limit: 1, offset: 0 }).entries[0].summary).toBe(`run ${RUN_RETENTION_PER_JOB + 24}`);
  expect(store.queryRuns({ jobId: "a", limit: 1, offset: 0, sortDir: "asc" }).entries[0].summary).toBe("run 25");
  expect(store.queryRuns({ jobId: "b", limit: 50, offset: 0 }).total).toBe(10);
  expect(store.queryRuns({ jobId: "b", statuses: ["error"], limit: 2, offset: 0 })).toMatchObject({ total: 5 });
  now += RUN_RETENTION_MS + 60_000;
  store.appendRun({ ts: now, jobId: "c", action: "finished", status: "ok" });
  expect(store.queryRuns({ limit: 10, offset: 0 }).total).toBe(1);
});

test("jobs, history and the interrupted run survive kill -9 of a real process", async () => {
  const dir = mkdtempSync(join(tmpdir(), "oc-automation-kill-"));
  cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
  const child = Bun.spawn([process.execPath, join(import.meta.dir, "child-scheduler.ts"), dir], { stdout: "pipe", stderr: "pipe" });
  cleanup.push(() => {
    if (child.exitCode === null) child.kill(9);
  });
  const reader = child.stdout.getReader();
  let out = "";
  const deadline = Date.now() + 20_000;
  while (!out.includes("\n") && Date.now() < deadline) {
    const { done, value } = await reader.read();
    if (done) break;
    out += new TextDecoder().decode(value);
  }
  if (!out.startsWith("READY ")) throw new Error(`child did not get ready: ${out}${await new Response(child.stderr).text()}`);
  const info = JSON.parse(out.slice(6).trim()) as { ids: string[]; hungRunId: string };
  child.kill(9);
  expect(await child.exited).not.toBe(0);
  expect(child.signalCode).toBe("SIGKILL");

  const clock = new ManualClock(Date.now());
  const db = openDatabase(dir);
  cleanup.push(() => db.close());
  const svc = new CronService({ store: new AutomationStore(db, () => clock.now()), clock, runAgentTurn: new FakeAgent().run });
  svc.start();
  cleanup.push(() => svc.stop());
  const userJobs = svc.allJobs().filter((j) => j.payload.kind !== "heartbeat");
  expect(userJobs.map((j) => j.id).sort()).toEqual([...info.ids].sort());
  const done = svc.runs({ id: info.ids[0] }) as any;
  expect(done.entries[0]).toMatchObject({ status: "ok", summary: "done: m0" });
  const interrupted = svc.runs({ id: info.ids[1] }) as any;
  expect(interrupted.entries[0]).toMatchObject({ status: "error", error: "cron: job interrupted by gateway restart" });
  expect((svc.get({ id: info.ids[1] }) as any).state.runningAtMs).toBeUndefined();
});
