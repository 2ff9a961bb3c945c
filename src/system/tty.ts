/**
 * Is a file descriptor a terminal? On Linux this reads the descriptor's target from /proc (a
 * character device under /dev/pts, /dev/tty… or /dev/console) instead of loading node:tty: the
 * gateway's only use of node:tty would be this check at startup, and loading that module starts
 * a runtime thread and keeps ~0.4 MB resident for the life of the process (docs/benchmarks.md,
 * "Memory"). Other systems, and a descriptor /proc cannot describe (closed, no /proc), ask
 * node:tty.
 */
import { fstatSync, readlinkSync } from "node:fs";

const TERMINAL_PATH = /^\/dev\/(pts\/\d+|tty|console$)/;

export function isTerminal(fd: number): boolean {
  if (process.platform === "linux") {
    let target: string | undefined;
    try {
      target = readlinkSync(`/proc/self/fd/${fd}`);
    } catch {
      // fall through to node:tty
    }
    if (target !== undefined) {
      if (!TERMINAL_PATH.test(target)) return false;
      try {
        return fstatSync(fd).isCharacterDevice();
      } catch {
        return false;
      }
    }
  }
  return (require("node:tty") as typeof import("node:tty")).isatty(fd);
}
