/**
 * Reading the config file and the environment it is resolved against: the file as JSON5, the
 * environment composed from the process, `<stateDir>/.env` and the config's `env` block, and
 * `${VAR}` substitution. The layering of file, environment and flags into one effective config
 * is snapshot.ts.
 */
import { closeSync, fstatSync, openSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { isPlainObject } from "./keypath.ts";
import type { Env } from "./paths.ts";
import type { ConfigIssue, ValidationResult } from "./schema.ts";
import { validateConfig } from "./schema.ts";

export class ConfigError extends Error {
  override name = "ConfigError";
  constructor(
    readonly configPath: string,
    readonly issues: ConfigIssue[],
    readonly kind: "parse" | "invalid" | "read",
  ) {
    super(formatConfigIssues(configPath, issues));
  }
}

export function formatConfigIssues(configPath: string, issues: ConfigIssue[]): string {
  const lines = [`Invalid config at ${configPath}:`];
  for (const issue of issues) lines.push(`  × ${issue.path}: ${issue.message}`);
  return lines.join("\n");
}

type Obj = Record<string, unknown>;

const ENV_REF = /(\$?)\$\{([A-Z_][A-Z0-9_]*)\}/g;

/**
 * Replace `${VAR}` in every string; `$${VAR}` is a literal `${VAR}`; unset vars stay literal
 * (with a warning, and their key path in `unresolved`: a secret that names an unset variable is
 * not a secret).
 */
export function substituteEnv<T>(value: T, env: Env, warnings: string[], path = "", unresolved?: Set<string>): T {
  if (typeof value === "string") {
    return value.replace(ENV_REF, (whole, escape: string, name: string) => {
      if (escape) return whole.slice(1);
      const v = env[name];
      if (v === undefined || v === "") {
        warnings.push(`${path || "<root>"}: environment variable ${name} is not set; kept literally`);
        unresolved?.add(path);
        return whole;
      }
      return v;
    }) as T;
  }
  if (Array.isArray(value)) return value.map((v, i) => substituteEnv(v, env, warnings, `${path}[${i}]`, unresolved)) as T;
  if (isPlainObject(value)) {
    const out: Obj = {};
    for (const [k, v] of Object.entries(value)) out[k] = substituteEnv(v, env, warnings, path ? `${path}.${k}` : k, unresolved);
    return out as T;
  }
  return value;
}

/**
 * Parse config text: JSON5, tried as plain JSON first. JSON5 is a superset of JSON and both
 * parsers give the same value for JSON text; most configs are JSON (every one this gateway
 * writes), and for them the runtime's JSON5 parser is never paged in (~0.5 MB of an idle
 * gateway, docs/benchmarks.md "Memory"). Errors are JSON5's, with its positions.
 */
export function parseConfigText(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return Bun.JSON5.parse(text);
  }
}

/**
 * Read and validate the config file alone. A missing file is `{exists:false}`, not an error.
 * Read synchronously: a small file, and the gateway's startup reads nothing else (no thread pool).
 */
export async function readConfigFile(configPath: string): Promise<{
  exists: boolean;
  raw: string | null;
  parsed: unknown;
  hash: string | null;
}> {
  let raw: string;
  try {
    raw = readFileSync(configPath, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return { exists: false, raw: null, parsed: {}, hash: null };
    const reason = code === "EISDIR" ? "is a directory, not a file" : (err as Error).message;
    throw new ConfigError(configPath, [{ path: "<file>", message: `cannot read config: ${reason}` }], "read");
  }
  const hash = new Bun.CryptoHasher("sha256").update(raw).digest("hex");
  if (raw.trim() === "") return { exists: true, raw, parsed: {}, hash };
  let parsed: unknown;
  try {
    parsed = parseConfigText(raw);
  } catch (err) {
    throw new ConfigError(configPath, [{ path: "<file>", message: (err as Error).message }], "parse");
  }
  if (!isPlainObject(parsed)) {
    throw new ConfigError(configPath, [{ path: "<root>", message: "config must be an object" }], "invalid");
  }
  return { exists: true, raw, parsed, hash };
}

/** Keys `.env` files and the config's `env` block may not set (they steer paths, guards or the runtime). */
const BLOCKED_ENV_KEYS = new Set([
  "OPENCLAW_ALLOW_OLDER_BINARY_DESTRUCTIVE_ACTIONS",
  "OPENCLAW_INCLUDE_ROOTS",
  "OPENCLAW_CONFIG_READONLY",
  "OPENCLAW_HOME",
  "OPENCLAW_STATE_DIR",
  "OPENCLAW_CONFIG_PATH",
  "OPENCLAW_PROFILE",
  "OPENCLAW_SERVICE_MARKER",
  "OPENCLAW_SERVICE_KIND",
  "HOME",
  "PATH",
  "LD_PRELOAD",
  "LD_LIBRARY_PATH",
  "DYLD_INSERT_LIBRARIES",
  "NODE_OPTIONS",
  "BUN_OPTIONS",
  "BUN_BE_BUN",
]);

const DOTENV_MAX_BYTES = 1024 * 1024;
const ENV_KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Parse dotenv text: `KEY=value`, optional `export `, `#` comments, single quotes (literal),
 * double quotes (`\n`, `\t`, `\"`, `\\` escapes), and ` #` comments after unquoted values.
 * Malformed lines are skipped.
 */
export function parseDotenv(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  const lines = text.replace(/\r\n?/g, "\n").split("\n");
  for (let i = 0; i < lines.length; i++) {
    let line = lines[i].trim();
    if (line === "" || line.startsWith("#")) continue;
    if (line.startsWith("export ")) line = line.slice(7).trim();
    const eq = line.indexOf("=");
    if (eq <= 0) continue;
    const key = line.slice(0, eq).trim();
    if (!ENV_KEY.test(key)) continue;
    let value = line.slice(eq + 1).trim();
    const q = value[0];
    if (q === '"' || q === "'") {
      // Quoted values may span lines.
      const start = i;
      let body = value.slice(1);
      let end = closingQuoteIndex(body, q);
      while (end < 0 && i + 1 < lines.length) {
        body += `\n${lines[++i]}`;
        end = closingQuoteIndex(body, q);
      }
      if (end < 0) {
        // Unterminated quote: skip this line only.
        i = start;
        continue;
      }
      body = body.slice(0, end);
      value =
        q === '"'
          ? body.replace(/\\([nrt"\\])/g, (_, c: string) => (c === "n" ? "\n" : c === "r" ? "\r" : c === "t" ? "\t" : c))
          : body;
    } else {
      const hash = value.search(/\s#/);
      if (hash >= 0) value = value.slice(0, hash).trimEnd();
    }
    out[key] = value;
  }
  return out;
}

function closingQuoteIndex(body: string, q: string): number {
  for (let i = 0; i < body.length; i++) {
    if (q === '"' && body[i] === "\\") {
      i++;
      continue;
    }
    if (body[i] === q) return i;
  }
  return -1;
}

/** `<stateDir>/.env` as a map; missing → {}; too large or unreadable → {} plus a warning. */
async function readStateDotenv(stateDir: string, warnings: string[]): Promise<Record<string, string>> {
  const path = join(stateDir, ".env");
  let text: string;
  try {
    // One open: the size check and the read see the same file (a missing .env costs one syscall).
    const fd = openSync(path, "r");
    try {
      if (fstatSync(fd).size > DOTENV_MAX_BYTES) {
        warnings.push(`${path}: larger than 1 MiB; ignored`);
        return {};
      }
      text = readFileSync(fd, "utf8");
    } finally {
      closeSync(fd);
    }
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== "ENOENT" && code !== "ENOTDIR") warnings.push(`${path}: ${(err as Error).message}; ignored`);
    return {};
  }
  return parseDotenv(text);
}

/** Literal string variables from the config's `env` block: `env.vars.K` and `env.K`. */
export function configEnvVars(doc: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  const env = isPlainObject(doc) ? doc.env : undefined;
  if (!isPlainObject(env)) return out;
  for (const [k, v] of Object.entries(env)) if (typeof v === "string" && ENV_KEY.test(k)) out[k] = v;
  if (isPlainObject(env.vars)) for (const [k, v] of Object.entries(env.vars)) if (typeof v === "string" && ENV_KEY.test(k)) out[k] = v;
  return out;
}

/**
 * The environment config values are resolved against: `base` (the process environment) wins,
 * then `<stateDir>/.env`, then the config's `env` block. Never written into `process.env`.
 */
export async function composeEnv(base: Env, stateDir: string, doc: unknown, warnings: string[] = []): Promise<Env> {
  const out: Env = {};
  const layers = [configEnvVars(doc), await readStateDotenv(stateDir, warnings)];
  for (const layer of layers) {
    for (const [k, v] of Object.entries(layer)) if (!BLOCKED_ENV_KEYS.has(k)) out[k] = v;
  }
  for (const [k, v] of Object.entries(base)) if (v !== undefined) out[k] = v;
  return out;
}

/**
 * Validate the file layer on its own, as the loader sees it: the environment is composed
 * (`composeEnv`) and `${VAR}` substituted before the schema runs.
 */
export async function validateFileLayer(
  parsed: unknown,
  base: Env,
  stateDir: string,
  warnings: string[] = [],
): Promise<{ env: Env; check: ValidationResult }> {
  const env = await composeEnv(base, stateDir, parsed, warnings);
  return { env, check: validateConfig(substituteEnv(parsed, env, warnings)) };
}
