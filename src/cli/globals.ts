/**
 * Root options are recognised anywhere before `--`: `--dev`, `--profile <name>`,
 * `--log-level <level>`, `--no-color`. They are taken out of argv before citty sees it,
 * so every subcommand shares them.
 */
import { isLogLevel, LOG_LEVELS, type LogLevel } from "../config/levels.ts";
import { profileFromFlags } from "../config/paths.ts";

export interface GlobalOptions {
  profile?: string;
  logLevel?: LogLevel;
}

export class UsageError extends Error {
  override name = "UsageError";
}

export function extractGlobals(argv: string[]): { globals: GlobalOptions; rest: string[] } {
  const rest: string[] = [];
  let dev = false;
  let profile: string | undefined;
  let logLevel: string | undefined;
  let noColor = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--") {
      rest.push(...argv.slice(i));
      break;
    }
    const takeValue = (name: string): string => {
      const eq = arg.indexOf("=");
      if (eq >= 0) return arg.slice(eq + 1);
      const next = argv[i + 1];
      if (next === undefined || next.startsWith("-")) throw new UsageError(`${name} requires a value`);
      i++;
      return next;
    };
    if (arg === "--dev") dev = true;
    else if (arg === "--profile" || arg.startsWith("--profile=")) profile = takeValue("--profile");
    else if (arg === "--log-level" || arg.startsWith("--log-level=")) logLevel = takeValue("--log-level");
    else if (arg === "--no-color") noColor = true;
    else rest.push(arg);
  }
  let level: LogLevel | undefined;
  if (logLevel !== undefined) {
    if (!isLogLevel(logLevel)) throw new UsageError(`Invalid --log-level "${logLevel}" (use ${LOG_LEVELS.join("|")})`);
    level = logLevel;
  }
  if (noColor) process.env.NO_COLOR = "1";
  return { globals: { profile: profileFromFlags({ dev, profile }), logLevel: level }, rest };
}

let current: GlobalOptions = {};
export function setGlobals(g: GlobalOptions): void {
  current = g;
}
export function globals(): GlobalOptions {
  return current;
}
