/**
 * `openclaw config file|get|set|unset|validate`.
 *
 * Read-only commands (`file`, `get`, `validate`) never write anything. `set`/`unset` validate
 * the whole post-change config and write through the one writer (src/config/write.ts: atomic,
 * 0600, one `.bak`, stamped); an invalid result is refused and the file is left untouched.
 * Secrets are redacted on output. With `--json`, stdout holds exactly one JSON document.
 */
import { defineCommand } from "citty";
import { composeEnv, ConfigError } from "../config/load.ts";
import { formatKeyPath, getAtPath, isPlainObject, jsonEqual, KeyPathError, parseKeyPath, setAtPath, unsetAtPath } from "../config/keypath.ts";
import { resolvePaths, type ResolvedPaths } from "../config/paths.ts";
import { REDACTED, redactConfig } from "../config/redact.ts";
import { planReload, reloadModeOf } from "../config/reload.ts";
import type { OpenClawConfig } from "../config/schema.ts";
import { loadSnapshot } from "../config/snapshot.ts";
import { ConfigWriteError, hasJson5Comments, writeConfigDocument } from "../config/write.ts";
import { globals } from "./globals.ts";

type Doc = Record<string, unknown>;

class CliFailure extends Error {
  constructor(
    readonly lines: string[],
    /** What `--json` prints instead of the generic error shape. */
    readonly json?: unknown,
  ) {
    super(lines.join("\n"));
  }
}

function paths(): ResolvedPaths {
  return resolvePaths({ profile: globals().profile });
}

/** `~/…` for paths under the home directory. */
export function shortPath(path: string, home: string): string {
  return home && (path === home || path.startsWith(`${home}/`)) ? `~${path.slice(home.length)}` : path;
}

/** Run a command body; failures print (human or JSON) and set exit code 1. */
async function guarded(json: boolean, body: () => Promise<void>): Promise<void> {
  try {
    await body();
  } catch (err) {
    const failure =
      err instanceof CliFailure
        ? err
        : err instanceof KeyPathError
          ? new CliFailure([err.message])
          : err instanceof ConfigError
            ? new CliFailure(err.message.split("\n"))
            : new CliFailure([`Error: ${(err as Error).message ?? err}`]);
    if (json) console.log(JSON.stringify(failure.json ?? { ok: false, error: { type: "cli_error", message: failure.message } }));
    else for (const line of failure.lines) console.error(line);
    process.exitCode = 1;
  }
}

/** The file as a document (`{}` when missing), from the config snapshot; an unparseable file is a CliFailure. */
async function readDoc(p: ResolvedPaths, forWrite: boolean): Promise<{ exists: boolean; doc: Doc; raw: string | null }> {
  const snapshot = await loadSnapshot({ paths: p });
  const problem = snapshot.problem;
  if (problem && problem.kind !== "invalid") {
    const why = problem.issues.map((i) => `${i.path}: ${i.message}`).join("; ");
    throw new CliFailure(
      forWrite
        ? [`Config write rejected: ${p.configPath} does not parse (${why}).`, "Fix the file by hand; `openclaw config validate` shows where."]
        : [`Cannot read config ${p.configPath}: ${why}`],
    );
  }
  return { exists: snapshot.exists, doc: (snapshot.doc ?? {}) as Doc, raw: snapshot.raw };
}

function withoutMeta(doc: unknown): unknown {
  if (!isPlainObject(doc)) return doc;
  const { meta: _meta, ...rest } = doc;
  return rest;
}

/** The one line printed after a write: what the running gateway will do with it. */
export function applyHint(before: unknown, after: unknown): string {
  const b = withoutMeta(before) as Doc;
  const a = withoutMeta(after) as Doc;
  const authMode = (d: Doc) => ((d.gateway as Doc | undefined)?.auth as Doc | undefined)?.mode;
  const plan = planReload(b, a, { authModeUnchanged: authMode(b) === authMode(a) });
  if (plan.hot.length === 0 && plan.restart.length === 0) return "No gateway restart needed.";
  const mode = reloadModeOf(after as OpenClawConfig);
  if (mode === "off") return "Restart the gateway to apply.";
  if (plan.restart.length > 0) {
    return mode === "hot" ? "Restart the gateway to apply." : "The running gateway restarts itself to apply this change.";
  }
  return "Change will apply without restarting the gateway.";
}

/** Validate, write, print the result and the hint. */
async function writeChange(p: ResolvedPaths, before: { doc: Doc; raw: string | null }, after: Doc): Promise<void> {
  if (jsonEqual(withoutMeta(before.doc), withoutMeta(after))) {
    console.log("No change");
    return;
  }
  const env = await composeEnv(process.env, p.stateDir, after);
  try {
    await writeConfigDocument(p.configPath, after, { env });
  } catch (err) {
    if (err instanceof ConfigWriteError) throw new CliFailure(err.message.split("\n"));
    throw err;
  }
  if (before.raw !== null && hasJson5Comments(before.raw)) {
    console.error(`Note: the comments in ${p.configPath} were not kept (the file is rewritten as standard JSON; the previous text is in ${p.configPath}.bak).`);
  }
  console.log(`Updated ${shortPath(p.configPath, p.home)}`);
  console.log(applyHint(before.doc, after));
}

/** `set` values: JSON5 when they parse, else the raw string (`--strict-json`: JSON5 or an error). */
export function parseValue(text: string, strict: boolean): unknown {
  try {
    return Bun.JSON5.parse(text);
  } catch (err) {
    if (strict) throw new CliFailure([`Invalid JSON5 value: ${(err as Error).message}`]);
    return text;
  }
}

const jsonFlag = { json: { type: "boolean", description: "Print JSON" } } as const;

const file = defineCommand({
  meta: { name: "file", description: "Print the active config file path" },
  args: jsonFlag,
  run: ({ args }) => {
    const p = paths();
    console.log(args.json ? JSON.stringify({ path: p.configPath }) : p.configPath);
  },
});

const get = defineCommand({
  meta: { name: "get", description: "Print a config value (secrets redacted)" },
  args: { path: { type: "positional", required: true, description: "Key path, e.g. gateway.port" }, ...jsonFlag },
  run: ({ args }) =>
    guarded(Boolean(args.json), async () => {
      const p = paths();
      const segments = parseKeyPath(String(args.path));
      const { doc } = await readDoc(p, false);
      const found = getAtPath(redactConfig(doc), segments);
      if (!found.found) {
        const message = `Config path not found: ${formatKeyPath(segments)}`;
        throw new CliFailure([message], { error: message });
      }
      if (args.json) console.log(JSON.stringify(found.value));
      else console.log(typeof found.value === "string" ? found.value : JSON.stringify(found.value, null, 2));
    }),
});

const set = defineCommand({
  meta: { name: "set", description: "Set a config value (JSON5, else a plain string); validated before writing" },
  args: {
    path: { type: "positional", required: true, description: "Key path, e.g. gateway.port" },
    value: { type: "positional", required: true, description: "JSON5 value (strings may be bare)" },
    "strict-json": { type: "boolean", alias: "json", description: "The value must be JSON5" },
  },
  run: ({ args }) =>
    guarded(false, async () => {
      const p = paths();
      const segments = parseKeyPath(String(args.path));
      if (segments.length === 0) throw new CliFailure(["Refusing to replace the whole config; set a key path"]);
      const value = parseValue(String(args.value), Boolean(args["strict-json"]));
      if (JSON.stringify(value)?.includes(REDACTED)) {
        throw new CliFailure([`Config write rejected: ${formatKeyPath(segments)}: ${REDACTED} is a redaction placeholder, not a value`]);
      }
      const before = await readDoc(p, true);
      await writeChange(p, before, setAtPath(before.doc, segments, value));
    }),
});

const unset = defineCommand({
  meta: { name: "unset", description: "Remove a config key" },
  args: { path: { type: "positional", required: true, description: "Key path, e.g. gateway.remote" } },
  run: ({ args }) =>
    guarded(false, async () => {
      const p = paths();
      const segments = parseKeyPath(String(args.path));
      const before = await readDoc(p, true);
      const after = unsetAtPath(before.doc, segments);
      if (after === undefined) throw new CliFailure([`Config path not found: ${formatKeyPath(segments)}`]);
      await writeChange(p, before, after);
    }),
});

const validate = defineCommand({
  meta: { name: "validate", description: "Check the config file against the schema" },
  args: jsonFlag,
  run: ({ args }) =>
    guarded(Boolean(args.json), async () => {
      const p = paths();
      const short = shortPath(p.configPath, p.home);
      // The verdict of the one config snapshot: the same as `openclaw gateway` and `doctor`.
      const snapshot = await loadSnapshot({ paths: p });
      const issues = snapshot.problem?.issues ?? [];
      const warnings = snapshot.warnings;
      const exists = snapshot.exists || snapshot.problem?.kind === "read";
      if (!exists) {
        const message = `Config file not found: ${p.configPath}`;
        throw new CliFailure([message], { valid: false, path: p.configPath, issues: [{ path: "<file>", message }], warnings });
      }
      if (args.json) {
        console.log(JSON.stringify({ valid: issues.length === 0, path: p.configPath, issues, warnings }));
        if (issues.length > 0) process.exitCode = 1;
        return;
      }
      if (issues.length === 0) {
        console.log(`Config valid: ${short}`);
        for (const w of warnings) console.error(`  ! ${w}`);
        return;
      }
      console.error(`OpenClaw config is invalid: ${short}`);
      for (const i of issues) console.error(`  × ${i.path}: ${i.message}`);
      console.error("Fix the keys above (openclaw config set|unset <path>, or edit the file), then run openclaw config validate again.");
      process.exitCode = 1;
    }),
});

export default defineCommand({
  meta: { name: "config", description: "Read and change the config file" },
  subCommands: { file, get, set, unset, validate },
});
