/**
 * Shared helpers for the config-layer tests: per-test temp directories (real files, removed
 * after each test) and a one-call "write this config file, then loadConfig" helper.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { loadConfig, type CliOverrides, type LoadedConfig } from "../../src/config/snapshot.ts";
import { resolvePaths, type Env, type ResolvedPaths } from "../../src/config/paths.ts";
import { useTempDirs as useStateTempDirs } from "../helpers/state-dir.ts";

/** Registers an afterEach that removes every directory the returned factory created. */
export function useTempDirs(prefix = "openclaw-config-test-"): () => string {
  return useStateTempDirs(prefix);
}

export function writeText(path: string, text: string): string {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
  return path;
}

export interface LoadCase {
  /** Home directory (a temp dir); the config lives at `<home>/.openclaw/openclaw.json`. */
  home: string;
  /** Raw file text; `json` is serialised instead when given. Neither → no file. */
  text?: string;
  json?: unknown;
  cli?: CliOverrides;
  /** Extra environment; HOME is always the temp home, nothing is read from process.env. */
  env?: Env;
  profile?: string;
}

export function pathsFor(c: Pick<LoadCase, "home" | "env" | "profile">): { paths: ResolvedPaths; env: Env } {
  const env: Env = { HOME: c.home, ...c.env };
  return { paths: resolvePaths({ profile: c.profile, env }), env };
}

export async function loadCase(c: LoadCase): Promise<LoadedConfig> {
  const { paths, env } = pathsFor(c);
  const text = c.json !== undefined ? JSON.stringify(c.json, null, 2) : c.text;
  if (text !== undefined) writeText(paths.configPath, text);
  return loadConfig({ paths, cli: c.cli, env });
}
