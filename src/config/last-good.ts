/**
 * Last-known-good config.
 *
 * The raw text of the last config the gateway loaded and applied is kept as
 * `<config>.last-good` (0600, written atomically; never when it holds redaction placeholders).
 * Hot reload never touches the config file: an invalid edit is rejected and the running snapshot
 * stays, so the operator's edit is never rolled back behind their back.
 *
 * At startup only, an invalid config (unparseable or failing the schema) with a valid
 * last-known-good copy is recovered: the invalid file is moved aside to
 * `<config>.clobbered.<timestamp>` (nothing is lost), the last-known-good text is restored, and
 * the caller logs `Config auto-restored from last-known-good` and raises the
 * `Config recovery warning` system event. Without a usable copy the original error stands
 * (exit 78 with the key path and reason).
 */
import { readdirSync, readFileSync, renameSync, rmSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { isPlainObject } from "./keypath.ts";
import { parseConfigText, validateFileLayer } from "./load.ts";
import { loadConfig, loadSnapshot, type CliOverrides, type LoadedConfig } from "./snapshot.ts";
import type { Env, ResolvedPaths } from "./paths.ts";
import { containsRedactionPlaceholder } from "./redact.ts";
import type { ConfigIssue } from "./schema.ts";
import { compareCalVer, readTouchedVersion } from "./version-guard.ts";
import { writeFileAtomic } from "./write.ts";
import { VERSION } from "../version.ts";

export const MAX_CLOBBERED = 32;

export function lastGoodPathFor(configPath: string): string {
  return `${configPath}.last-good`;
}

/** ISO time with `:` and `.` replaced by `-`: `2026-09-01T10-22-33-123Z`. */
export function fileTimestamp(date: Date = new Date()): string {
  return date.toISOString().replace(/[:.]/g, "-");
}

export type PromoteResult = "promoted" | "unchanged" | "skipped-redacted" | "no-file";

/** Keep `raw` (the text that just loaded) as the last-known-good copy. */
export async function promoteLastGood(configPath: string, raw: string | null): Promise<PromoteResult> {
  if (raw === null) return "no-file";
  if (containsRedactionPlaceholder(raw)) return "skipped-redacted";
  const target = lastGoodPathFor(configPath);
  try {
    if (readFileSync(target, "utf8") === raw) return "unchanged";
  } catch {
    // no copy yet
  }
  await writeFileAtomic(target, raw);
  return "promoted";
}

/** `<config>.clobbered.*` files beside the config, newest first. */
export async function listClobbered(configPath: string): Promise<string[]> {
  const prefix = `${basename(configPath)}.clobbered.`;
  let names: string[];
  try {
    names = readdirSync(dirname(configPath));
  } catch {
    return [];
  }
  return names
    .filter((n) => n.startsWith(prefix))
    .sort()
    .reverse()
    .map((n) => join(dirname(configPath), n));
}

export interface RecoveryInfo {
  configPath: string;
  /** Where the invalid file was moved. */
  clobberedPath: string;
  lastGoodPath: string;
  /** Why the file was invalid. */
  issues: ConfigIssue[];
  at: number;
}

export function recoveryLogLine(r: RecoveryInfo): string {
  const first = r.issues[0];
  return `Config auto-restored from last-known-good: ${r.configPath} was invalid${first ? ` (${first.path}: ${first.message})` : ""}; the invalid file is kept as ${r.clobberedPath}`;
}

export function recoveryEventText(r: RecoveryInfo): string {
  const first = r.issues[0];
  return `Config recovery warning: ${r.configPath} was invalid at startup${first ? ` (${first.path}: ${first.message})` : ""} and was restored from last-known-good. The invalid file was kept as ${r.clobberedPath}; review it and re-apply the intended change.`;
}

/** Is `raw` a config that would load (parse + schema) on its own? */
async function usableLastGood(raw: string, paths: ResolvedPaths, env: Env): Promise<boolean> {
  let parsed: unknown;
  try {
    parsed = raw.trim() === "" ? {} : parseConfigText(raw);
  } catch {
    return false;
  }
  if (!isPlainObject(parsed)) return false;
  return (await validateFileLayer(parsed, env, paths.stateDir)).check.ok;
}

async function pruneClobbered(configPath: string): Promise<void> {
  const all = await listClobbered(configPath);
  for (const old of all.slice(MAX_CLOBBERED)) rmSync(old, { force: true });
}

/**
 * Load the config; when it is invalid and a usable last-known-good copy exists, move the
 * invalid file aside, restore the copy and load again. Any other failure is rethrown as is.
 */
export async function loadConfigWithRecovery(opts: {
  paths: ResolvedPaths;
  cli?: CliOverrides;
  env?: Env;
  now?: Date;
}): Promise<{ loaded: LoadedConfig; recovery?: RecoveryInfo }> {
  const first = await loadSnapshot(opts);
  const err = first.problem?.error;
  if (!err) return { loaded: first };
  const { paths } = opts;
  const env = opts.env ?? process.env;
  // Only the file's own problems are recovered: an unreadable file is not.
  if (err.kind === "read") throw err;
  // A config last written by a newer OpenClaw is probably only "invalid" to this older binary:
  // restoring an older copy over it would silently roll back the newer install's changes.
  if ((compareCalVer(await readTouchedVersion(paths.configPath), VERSION) ?? 0) > 0) throw err;
  const lastGoodPath = lastGoodPathFor(paths.configPath);
  let raw: string;
  try {
    raw = readFileSync(lastGoodPath, "utf8");
  } catch {
    throw err;
  }
  if (!(await usableLastGood(raw, paths, env))) throw err;
  const now = opts.now ?? new Date();
  const clobberedPath = `${paths.configPath}.clobbered.${fileTimestamp(now)}`;
  renameSync(paths.configPath, clobberedPath);
  await writeFileAtomic(paths.configPath, raw);
  await pruneClobbered(paths.configPath);
  const loaded = await loadConfig(opts);
  return {
    loaded,
    recovery: { configPath: paths.configPath, clobberedPath, lastGoodPath, issues: err.issues, at: now.getTime() },
  };
}
