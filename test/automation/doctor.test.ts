/**
 * `openclaw doctor` and an old workspace `HEARTBEAT.md`: reported (without writing anything),
 * moved into the heartbeat monitor's scratch by `--fix` (the source CLI as a child process),
 * then picked up by a gateway started on that state dir; a scratch that already says something
 * else is left alone.
 */
import { expect, test } from "bun:test";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { runToExit } from "../../scripts/lib/gateway-child.ts";
import { findHeartbeatFiles } from "../../src/automation/doctor.ts";
import { AutomationStore } from "../../src/automation/store.ts";
import { automationSubsystem } from "../../src/automation/subsystem.ts";
import { GatewayClient } from "../../src/protocol/client.ts";
import { openDatabase } from "../../src/store/db.ts";
import { SOURCE_COMMAND } from "../helpers/children.ts";
import { startTestGateway, TEST_TOKEN } from "../helpers/gateway.ts";
import { useTempDirs } from "../helpers/state-dir.ts";

const tempDir = useTempDirs("openclaw-automation-doctor-");
const NOTES = "# Heartbeat\n\n- [ ] check the backups\n- water the plants on Fridays\n";

function stateWithHeartbeatFile(): { home: string; stateDir: string; file: string } {
  const home = tempDir();
  const stateDir = join(home, ".openclaw");
  mkdirSync(join(stateDir, "workspace"), { recursive: true, mode: 0o700 });
  writeFileSync(join(stateDir, "openclaw.json"), JSON.stringify({ gateway: { mode: "local", auth: { mode: "token", token: TEST_TOKEN } } }), { mode: 0o600 });
  const file = join(stateDir, "workspace", "HEARTBEAT.md");
  writeFileSync(file, NOTES);
  return { home, stateDir, file };
}

const doctor = (home: string, stateDir: string, ...args: string[]) =>
  runToExit({ command: SOURCE_COMMAND, args: ["doctor", ...args], env: { HOME: home, OPENCLAW_STATE_DIR: stateDir, NO_COLOR: "1" }, timeoutMs: 30_000 });

test("doctor reports HEARTBEAT.md, --fix moves it into the heartbeat scratch, the gateway reads it there", async () => {
  const { home, stateDir, file } = stateWithHeartbeatFile();

  const report = await doctor(home, stateDir, "--json");
  const finding = JSON.parse(report.stdout).findings.find((f: any) => f.checkId === "heartbeat/file");
  expect(finding).toMatchObject({ severity: "warning", path: file, fixable: true });
  // Read-only without --fix: no database, the file untouched.
  expect(existsSync(join(stateDir, "openclaw.sqlite"))).toBe(false);
  expect(readFileSync(file, "utf8")).toBe(NOTES);

  const fixed = await doctor(home, stateDir, "--fix");
  expect(fixed.stdout).toContain("Fixed heartbeat/file: moved");
  expect(existsSync(file)).toBe(false);
  const backups = readdirSync(join(stateDir, "backups", "heartbeat-migration"));
  expect(backups).toHaveLength(1);
  expect(readFileSync(join(stateDir, "backups", "heartbeat-migration", backups[0]), "utf8")).toBe(NOTES);
  // Idempotent: nothing left to report.
  expect(JSON.parse((await doctor(home, stateDir, "--json")).stdout).findings.some((f: any) => f.checkId === "heartbeat/file")).toBe(false);

  const gw = await startTestGateway({ stateDir, config: { gateway: { mode: "local", auth: { mode: "token", token: TEST_TOKEN } } }, subsystems: [automationSubsystem()] });
  try {
    const c = await GatewayClient.connect({ url: gw.url, token: TEST_TOKEN, scopes: ["operator.admin"] });
    const jobs = (await c.request<any>("cron.list", { includeDisabled: true })).jobs;
    // The job doctor created is the one the gateway converges (no duplicate).
    expect(jobs.filter((j: any) => j.declarationKey === "heartbeat:main")).toHaveLength(1);
    const scratch = await c.request<any>("cron.scratch.get", { id: jobs[0].id });
    expect(scratch.scratch.content).toBe(NOTES);
    await c.close();
  } finally {
    await gw.stop();
  }
}, 60_000);

test("a scratch that already holds other text is left alone, and the file stays", async () => {
  const { stateDir, file } = stateWithHeartbeatFile();
  const cfg = { gateway: { mode: "local" as const } };
  const [first] = findHeartbeatFiles(cfg, stateDir, {});
  expect(first.file).toBe(file);
  // Give the monitor job a scratch of its own first (the fix creates the job on the way).
  writeFileSync(file, "");
  expect(first.fix()).toMatchObject({ migrated: true });
  const db = openDatabase(stateDir);
  const jobId = (db.query("SELECT id FROM cron_jobs").get() as { id: string }).id;
  new AutomationStore(db).setScratch(jobId, "already here");
  db.close();
  writeFileSync(file, NOTES);
  expect(findHeartbeatFiles(cfg, stateDir, {})[0].fix()).toMatchObject({ migrated: false, reason: "scratch-differs", jobId });
  expect(readFileSync(file, "utf8")).toBe(NOTES);
});
