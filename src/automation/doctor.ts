/**
 * The automation checks `openclaw doctor` runs: a workspace `HEARTBEAT.md` that 2026.9.6 no
 * longer reads. Its instructions belong in the heartbeat monitor job's scratch; `--fix` moves
 * them there (migrateHeartbeatFile: the file is archived under
 * `<stateDir>/backups/heartbeat-migration/` and removed; a scratch that already holds other text
 * is left alone and the file stays).
 *
 * The fix works on the state database directly, so it also works before the gateway first ran:
 * the monitor job is created the way the gateway would create it. A running gateway reads the
 * scratch fresh for every heartbeat, so it picks the change up without a restart.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { OpenClawConfig } from "../config/schema.ts";
import { openDatabase } from "../store/db.ts";
import { convergeHeartbeatJobs, heartbeatAgents, migrateHeartbeatFile, type HeartbeatMigrationResult } from "./heartbeat.ts";
import { CronService } from "./service.ts";
import { AutomationStore } from "./store.ts";
import { agentWorkspaceDir } from "./workspace.ts";

export interface HeartbeatFileFinding {
  agentId: string;
  file: string;
  /** Moves the file into the monitor's scratch; returns what happened. */
  fix(): HeartbeatMigrationResult;
}

/** The `HEARTBEAT.md` files of heartbeat agents that are still on disk. */
export function findHeartbeatFiles(cfg: OpenClawConfig, stateDir: string, env: Record<string, string | undefined> = process.env): HeartbeatFileFinding[] {
  const out: HeartbeatFileFinding[] = [];
  for (const hb of heartbeatAgents(cfg)) {
    const workspaceDir = agentWorkspaceDir(cfg, stateDir, hb.agentId, env);
    const file = join(workspaceDir, "HEARTBEAT.md");
    if (!existsSync(file)) continue;
    out.push({ agentId: hb.agentId, file, fix: () => migrateOffline(cfg, stateDir, hb.agentId, workspaceDir) });
  }
  return out;
}

function migrateOffline(cfg: OpenClawConfig, stateDir: string, agentId: string, workspaceDir: string): HeartbeatMigrationResult {
  const db = openDatabase(stateDir);
  try {
    const store = new AutomationStore(db);
    const service = new CronService({ store });
    service.load();
    if (!service.allJobs().some((j) => j.declarationKey === `heartbeat:${agentId}`)) {
      convergeHeartbeatJobs(service, cfg, store.schedulerSeed());
    }
    return migrateHeartbeatFile({ service, agentId, workspaceDir, stateDir });
  } finally {
    db.close();
  }
}
