/**
 * `openclaw --help`: citty's usage for the command asked about, and for the root also the full
 * command tree (every subcommand at every depth, lazily imported only here), so the help lists
 * every command including nested ones like `gateway run`.
 */
import { renderUsage, type ArgsDef, type CommandDef } from "citty";

type AnyCommand = CommandDef<ArgsDef>;
type Resolvable<T> = T | Promise<T> | (() => T) | (() => Promise<T>);

async function resolve<T>(value: Resolvable<T> | undefined): Promise<T | undefined> {
  return typeof value === "function" ? await (value as () => T | Promise<T>)() : await value;
}

export interface CommandEntry {
  /** e.g. "gateway run" */
  path: string;
  description: string;
}

/** Every visible subcommand below `cmd`, depth first, bounded to `maxDepth` levels. */
export async function listCommands<T extends ArgsDef = ArgsDef>(command: CommandDef<T>, prefix: string[] = [], maxDepth = 6): Promise<CommandEntry[]> {
  if (maxDepth <= 0) return [];
  const cmd = command as unknown as AnyCommand;
  const subs = await resolve(cmd.subCommands as Resolvable<Record<string, Resolvable<AnyCommand>>> | undefined);
  const out: CommandEntry[] = [];
  for (const [name, sub] of Object.entries(subs ?? {})) {
    const def = await resolve(sub);
    if (!def) continue;
    const meta = (await resolve(def.meta as Resolvable<{ description?: string; hidden?: boolean }> | undefined)) ?? {};
    if (meta.hidden) continue;
    const path = [...prefix, name];
    out.push({ path: path.join(" "), description: meta.description ?? "" });
    out.push(...(await listCommands(def, path, maxDepth - 1)));
  }
  return out;
}

export function formatCommandTree(rootName: string, entries: CommandEntry[]): string {
  const width = Math.max(0, ...entries.map((e) => rootName.length + 1 + e.path.length));
  const lines = entries.map((e) => `  ${`${rootName} ${e.path}`.padEnd(width)}    ${e.description}`.trimEnd());
  return ["ALL COMMANDS", "", ...lines].join("\n");
}

/** citty `showUsage` replacement: the usual usage, plus the command tree for the root. */
export async function showUsage<T extends ArgsDef = ArgsDef>(command: CommandDef<T>, parentCommand?: CommandDef<T>): Promise<void> {
  const cmd = command as unknown as AnyCommand;
  const parent = parentCommand as unknown as AnyCommand | undefined;
  let text = await renderUsage(cmd, parent);
  if (!parent) {
    const meta = (await resolve(cmd.meta as Resolvable<{ name?: string }> | undefined)) ?? {};
    text += `\n\n${formatCommandTree(meta.name ?? "openclaw", await listCommands(cmd))}`;
  }
  console.log(`${text}\n`);
}
