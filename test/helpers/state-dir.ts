/**
 * Temp directories (real files, removed by the caller or by a registered hook) and the config
 * file of a state dir. Light on purpose: nothing from src/ is imported, so unit tests can use it
 * without loading the gateway.
 */
import { afterEach } from "bun:test";
import { mkdtempSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** A new temp dir; the caller removes it. */
export function tempDir(prefix = "openclaw-test-"): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Registers an afterEach that removes every directory the returned factory created (real paths). */
export function useTempDirs(prefix: string): () => string {
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });
  return () => {
    const dir = realpathSync(tempDir(prefix));
    dirs.push(dir);
    return dir;
  };
}

/** Write `<stateDir>/openclaw.json` (mode 0600): raw text as given, anything else as indented JSON. Returns the path. */
export function writeStateConfig(stateDir: string, config: unknown): string {
  const path = join(stateDir, "openclaw.json");
  writeFileSync(path, typeof config === "string" ? config : JSON.stringify(config, null, 2), { mode: 0o600 });
  return path;
}
