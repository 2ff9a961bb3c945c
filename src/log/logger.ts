/**
 * Gateway logger: `[subsystem] message` lines, pretty (consola) on a TTY and JSON lines
 * otherwise (journald, files, tests). Known secrets are masked before anything is written.
 */
import { isTerminal } from "../system/tty.ts";
import type { LogLevel } from "../config/levels.ts";

export type Level = Exclude<LogLevel, "silent">;
const RANK: Record<LogLevel, number> = { silent: -1, fatal: 0, error: 0, warn: 1, info: 3, debug: 4, trace: 5 };

export interface LogRecord {
  time: string;
  level: Level;
  subsystem: string;
  message: string;
}

export interface LogSink {
  write(record: LogRecord): void;
  /** This sink's own threshold; without one the logger's level applies. */
  level?: LogLevel;
}

export interface Logger {
  error(message: string): void;
  warn(message: string): void;
  info(message: string): void;
  debug(message: string): void;
  trace(message: string): void;
  child(subsystem: string): Logger;
  /** Add a sink (e.g. the file log once its path is known); shared by every child logger. */
  addSink(sink: LogSink): void;
  /** Register a secret that must never be printed. */
  addSecret(secret: string | undefined): void;
  readonly level: LogLevel;
}

export function mask(secret: string): string {
  return secret.length >= 18 ? `${secret.slice(0, 6)}…${secret.slice(-4)}` : "***";
}

class Secrets {
  readonly values = new Set<string>();
  scrub(text: string): string {
    let out = text;
    for (const s of this.values) if (out.includes(s)) out = out.split(s).join(mask(s));
    return out;
  }
}

/**
 * JSON lines. The default writer is `console.log`: native, synchronous, and it does not load
 * Node's stream machinery (about 7 MB of RSS) or crash when stdout's reader has gone away.
 */
export function jsonSink(write: (line: string) => void = (line) => console.log(line)): LogSink {
  return {
    write: (r) => {
      try {
        write(JSON.stringify(r));
      } catch {
        // a broken stdout must never take the gateway down
      }
    },
  };
}

/** Pretty TTY output through consola, loaded on first use. */
export function prettySink(): LogSink {
  let consola: typeof import("consola").consola | undefined;
  const pending: LogRecord[] = [];
  void import("consola").then((m) => {
    consola = m.createConsola({ level: 5, formatOptions: { date: true, colors: true } });
    for (const r of pending.splice(0)) emit(r);
  });
  const emit = (r: LogRecord) => consola!.withTag(r.subsystem)[r.level](r.message);
  return { write: (r) => (consola ? emit(r) : pending.push(r)) };
}

/** Console sink for this process: pretty on a TTY, JSON lines otherwise. */
export function consoleSink(): LogSink {
  return isTerminal(1) ? prettySink() : jsonSink();
}

function enabled(threshold: LogLevel, lvl: Level): boolean {
  return threshold !== "silent" && RANK[lvl] <= RANK[threshold];
}

/**
 * `level` is the default threshold (the console's); a sink with its own `level` (the file log)
 * uses that instead.
 */
export function createLogger(opts: { level?: LogLevel; sinks?: LogSink[]; subsystem?: string } = {}): Logger {
  const level = opts.level ?? "info";
  const sinks = [...(opts.sinks ?? [consoleSink()])];
  const secrets = new Secrets();
  const make = (subsystem: string): Logger => {
    const log = (lvl: Level, message: string) => {
      let record: LogRecord | undefined;
      for (const sink of sinks) {
        if (!enabled(sink.level ?? level, lvl)) continue;
        record ??= { time: new Date().toISOString(), level: lvl, subsystem, message: secrets.scrub(message) };
        sink.write(record);
      }
    };
    return {
      level,
      error: (m) => log("error", m),
      warn: (m) => log("warn", m),
      info: (m) => log("info", m),
      debug: (m) => log("debug", m),
      trace: (m) => log("trace", m),
      child: (sub) => make(sub),
      addSink: (sink) => void sinks.push(sink),
      addSecret: (s) => {
        if (s && s.length >= 4) secrets.values.add(s);
      },
    };
  };
  return make(opts.subsystem ?? "gateway");
}

/** A logger that records into memory; for tests and for callers that want to inspect output. */
export function memorySink(): LogSink & { records: LogRecord[] } {
  const records: LogRecord[] = [];
  return { records, write: (r) => void records.push(r) };
}
