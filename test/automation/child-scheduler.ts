#!/usr/bin/env bun
/**
 * A scheduler in its own process for the kill -9 test: opens `<stateDir>/openclaw.sqlite`, adds
 * jobs, completes one run, starts one that never finishes, prints `READY <json>` and waits to be
 * killed. Usage: bun test/automation/child-scheduler.ts <stateDir>
 */
import { Automation } from "../../src/automation/index.ts";
import type { AgentTurnRequest, AgentTurnResult } from "../../src/automation/service.ts";
import { openDatabase } from "../../src/store/db.ts";

const stateDir = process.argv[2];
if (!stateDir) {
  console.error("usage: child-scheduler.ts <stateDir>");
  process.exit(2);
}

let hang = false;
const runAgentTurn = (req: AgentTurnRequest): Promise<AgentTurnResult> =>
  hang ? new Promise(() => {}) : Promise.resolve({ text: `done: ${req.message}`, model: "echo", provider: "fake" });

const auto = new Automation({
  db: openDatabase(stateDir),
  stateDir,
  config: () => ({ agents: { defaults: { heartbeat: { every: "0m" } } } }) as never,
  schedulerSeed: "child",
  workspaceDir: () => stateDir,
  emit: () => {},
  runAgentTurn,
});
auto.start();

const ids: string[] = [];
for (let i = 0; i < 50; i++) {
  const job = auto.cron.add({
    name: `job-${i}`,
    schedule: { kind: "every", everyMs: 3_600_000 },
    payload: { kind: "agentTurn", message: `m${i}` },
    delivery: { mode: "none" },
  } as never) as { id: string };
  ids.push(job.id);
}
auto.cron.run({ id: ids[0] });
await auto.cron.idle();
hang = true;
const pending = auto.cron.run({ id: ids[1] }) as { runId: string };
// Let the hung run persist its `runningAtMs`.
await new Promise((r) => setTimeout(r, 0));
process.stdout.write(`READY ${JSON.stringify({ ids, hungRunId: pending.runId })}\n`);
setInterval(() => {}, 1 << 30);
