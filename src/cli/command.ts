/**
 * The CLI scaffold every command shares: one error class (`CliError`), one mapping from any
 * error to an exit code and the lines to print (`describeError`), one integer-flag parser
 * (`intFlag`), one check for unknown flags (`unknownFlag`, run for the whole command line
 * before any command starts), and one way to print an error: synchronously to stderr, so a
 * `process.exit` right after cannot cut it off.
 *
 * Exit codes: 0 ok, 1 error (bad flag, failed call), 78 do-not-restart (invalid config, start
 * refused, state dir or port taken), paired with systemd's `RestartPreventExitStatus=78`.
 */
import type { ArgsDef, CommandDef } from "citty";
import { writeSync } from "node:fs";

export const EXIT_OK = 0;
export const EXIT_ERROR = 1;
export const EXIT_CONFIG = 78;

/** A failure a command reports: lines for humans, an optional JSON document, an exit code. */
export class CliError extends Error {
  override name = "CliError";
  constructor(
    readonly lines: string[],
    readonly exitCode: number = EXIT_ERROR,
    /** What `--json` prints instead of the generic `{ok:false,error:{type:"cli_error"}}`. */
    readonly json?: unknown,
  ) {
    super(lines.join("\n"));
  }
}

/** Errors from library modules that already carry lines and an exit code (StartupError, …). */
interface ExitCarrying {
  lines: string[];
  exitCode: number;
}

function carriesExit(err: unknown): err is ExitCarrying {
  return (
    err instanceof Error &&
    Array.isArray((err as Partial<ExitCarrying>).lines) &&
    typeof (err as Partial<ExitCarrying>).exitCode === "number"
  );
}

/** The one mapping from an error to what is printed and the exit code. */
export function describeError(err: unknown): { lines: string[]; exitCode: number } {
  if (err instanceof CliError || carriesExit(err)) return { lines: err.lines, exitCode: err.exitCode };
  if (err instanceof Error && err.name === "ConfigError") return { lines: err.message.split("\n"), exitCode: EXIT_CONFIG };
  const message = err instanceof Error ? err.message : String(err);
  return { lines: [message], exitCode: EXIT_ERROR };
}

/** Write lines to stderr now (synchronously: nothing buffered is lost to a following exit). */
export function writeStderr(lines: readonly string[]): void {
  if (lines.length === 0) return;
  const text = `${lines.join("\n")}\n`;
  try {
    writeSync(2, text);
  } catch {
    // stderr is gone: nothing left to tell
  }
}

/** Print the error (stderr) and exit with its code. */
export function exitWithError(err: unknown): never {
  const { lines, exitCode } = describeError(err);
  writeStderr(lines);
  process.exit(exitCode);
}

/**
 * An integer flag: digits only (no sign, no exponent), within [min, max]; undefined when the
 * flag was not given. The message names the flag and the value, e.g.
 * `Invalid --port "99999". Use a number from 1 to 65535.`
 */
export function intFlag(name: string, raw: unknown, range: { min: number; max: number; what?: string }): number | undefined {
  if (raw === undefined) return undefined;
  const text = String(raw).trim();
  const n = /^\d{1,15}$/.test(text) ? Number(text) : Number.NaN;
  if (!(n >= range.min && n <= range.max)) {
    throw new CliError([`Invalid ${name} "${text}". Use ${range.what ?? "a number"} from ${range.min} to ${range.max}.`]);
  }
  return n;
}

/** `--timeout`: milliseconds, 1 to `max` (default: a timer's limit); `fallback` when not given. */
export function timeoutFlag(raw: unknown, fallback: number, max = 2_147_483_647): number {
  return intFlag("--timeout", raw, { min: 1, max, what: "a number of milliseconds" }) ?? fallback;
}

/** `--port`: 1–65535. */
export function portFlag(raw: unknown): number | undefined {
  return intFlag("--port", raw, { min: 1, max: 65535 });
}

// --- unknown flags ------------------------------------------------------------------------------

type AnyCommand = CommandDef<ArgsDef>;

async function resolve<T>(value: unknown): Promise<T | undefined> {
  return (typeof value === "function" ? await (value as () => unknown)() : await value) as T | undefined;
}

const camel = (s: string) => s.replace(/-([a-z0-9])/gi, (_, c: string) => c.toUpperCase());

function findArg(argsDef: ArgsDef, name: string): { key: string; type: string } | undefined {
  const wanted = camel(name);
  for (const [key, def] of Object.entries(argsDef)) {
    const alias = (def as { alias?: string | string[] }).alias;
    const aliases = Array.isArray(alias) ? alias : alias ? [alias] : [];
    if (camel(key) === wanted || aliases.includes(name)) return { key, type: def.type ?? "string" };
  }
  return undefined;
}

/** The first flag in `rawArgs` that `argsDef` does not declare (values of value flags skipped). */
export function unknownFlag(rawArgs: readonly string[], argsDef: ArgsDef, stopAtPositional = false): string | undefined {
  for (let i = 0; i < rawArgs.length; i++) {
    const arg = rawArgs[i];
    if (arg === "--") return undefined;
    // Plain words and negative numbers (a value such as `config set x -1`) are positionals.
    if (!arg.startsWith("-") || arg === "-" || /^-\d/.test(arg)) {
      if (stopAtPositional) return undefined;
      continue;
    }
    const body = arg.replace(/^-{1,2}/, "");
    const eq = body.indexOf("=");
    const name = eq >= 0 ? body.slice(0, eq) : body;
    if (name === "help" || name === "h") continue;
    let found = findArg(argsDef, name);
    if (!found && name.startsWith("no-")) {
      const negated = findArg(argsDef, name.slice(3));
      if (negated?.type === "boolean") found = negated;
    }
    if (!found) return eq >= 0 ? arg : arg;
    if ((found.type === "string" || found.type === "enum") && eq < 0) i++;
  }
  return undefined;
}

/**
 * Walk the command tree as citty will, and refuse the first undeclared flag (of the leaf, or of
 * a parent before the subcommand's name) before any command runs.
 */
export async function checkFlags<T extends ArgsDef>(root: CommandDef<T>, rawArgs: readonly string[], rootName = "openclaw"): Promise<void> {
  if (rawArgs.includes("--help") || rawArgs.includes("-h")) return;
  let cmd = root as unknown as AnyCommand;
  let args = [...rawArgs];
  const path = [rootName];
  for (let depth = 0; depth < 8; depth++) {
    const argsDef = (await resolve<ArgsDef>(cmd.args)) ?? {};
    const subs = await resolve<Record<string, unknown>>(cmd.subCommands);
    if (!subs || Object.keys(subs).length === 0) {
      const bad = unknownFlag(args, argsDef);
      if (bad) throw unknownFlagError(bad, path);
      return;
    }
    // Where citty looks for the subcommand name: the first non-flag, skipping flag values.
    let index = -1;
    for (let i = 0; i < args.length; i++) {
      const a = args[i];
      if (a === "--") break;
      if (a.startsWith("-") && !/^-\d/.test(a)) {
        const found = a.includes("=") ? undefined : findArg(argsDef, a.replace(/^-{1,2}/, ""));
        if (found && (found.type === "string" || found.type === "enum")) i++;
        continue;
      }
      index = i;
      break;
    }
    const before = index < 0 ? args : args.slice(0, index);
    const name = index < 0 ? undefined : args[index];
    if (name !== undefined && Object.hasOwn(subs, name)) {
      const bad = unknownFlag(before, argsDef);
      if (bad) throw unknownFlagError(bad, path);
      cmd = (await resolve<AnyCommand>(subs[name])) as AnyCommand;
      args = args.slice(index + 1);
      path.push(name);
      continue;
    }
    const fallback = await resolve<string>(cmd.default);
    if (name === undefined && fallback && Object.hasOwn(subs, fallback)) {
      cmd = (await resolve<AnyCommand>(subs[fallback])) as AnyCommand;
      continue;
    }
    // An unknown command name: citty reports it.
    const bad = unknownFlag(before, argsDef);
    if (bad) throw unknownFlagError(bad, path);
    return;
  }
}

function unknownFlagError(flag: string, path: string[]): CliError {
  return new CliError([`OpenClaw does not recognize option "${flag}".`, `Try: ${path.join(" ")} --help`]);
}
