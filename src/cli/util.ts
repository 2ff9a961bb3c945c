/** Small CLI helpers. */
import { homedir } from "node:os";

/** `~/…` for paths under the home directory. */
export function tildify(path: string): string {
  const home = homedir();
  return home && path.startsWith(`${home}/`) ? `~${path.slice(home.length)}` : path;
}
