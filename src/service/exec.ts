/**
 * The one place service code runs external programs (`systemctl`, `launchctl`, `schtasks`,
 * `loginctl`, ...). Everything goes through a `CommandRunner` so tests can hand in a fake
 * service manager; the real one spawns the program with a deadline and never throws.
 */

export interface RunResult {
  /** Exit code; 127 when the program does not exist, 124 on timeout. */
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  timeoutMs?: number;
  env?: Record<string, string | undefined>;
}

export type CommandRunner = (argv: string[], opts?: RunOptions) => Promise<RunResult>;

/** Spawn `argv` and collect its output; bounded by `timeoutMs` (default 20 s). */
export const systemRunner: CommandRunner = async (argv, opts = {}) => {
  let proc: ReturnType<typeof Bun.spawn>;
  try {
    proc = Bun.spawn(argv, {
      stdin: "ignore",
      stdout: "pipe",
      stderr: "pipe",
      env: opts.env ? { ...process.env, ...opts.env } : process.env,
    });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return { code: 127, stdout: "", stderr: `${argv[0]}: ${code === "ENOENT" ? "command not found" : (err as Error).message}` };
  }
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    proc.kill("SIGKILL");
  }, opts.timeoutMs ?? 20_000);
  try {
    const [stdout, stderr, code] = await Promise.all([
      new Response(proc.stdout as ReadableStream).text(),
      new Response(proc.stderr as ReadableStream).text(),
      proc.exited,
    ]);
    return timedOut ? { code: 124, stdout, stderr: `${stderr}${stderr ? "\n" : ""}${argv[0]}: timed out` } : { code, stdout, stderr };
  } finally {
    clearTimeout(timer);
  }
};

/** First non-empty line of a command's error output, for messages. */
export function firstLine(r: RunResult): string {
  const text = `${r.stderr}\n${r.stdout}`;
  return (
    text
      .split(/\r?\n/)
      .map((l) => l.trim())
      .find(Boolean) ?? `exit code ${r.code}`
  );
}

/** `argv` as a shell-like string for messages and `--print` (quotes only where needed). */
export function shellQuote(argv: string[]): string {
  return argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(" ");
}
