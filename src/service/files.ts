/** The few file questions service code asks, answered once for the managers, the audit and the scan. */
import { readFile, rm, stat } from "node:fs/promises";

/** A file's text, or undefined when it cannot be read (missing, unreadable, a directory). */
export function readText(path: string): Promise<string | undefined> {
  return readFile(path, "utf8").catch(() => undefined);
}

export function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

/** Remove a file; false when there was none. Other errors are thrown. */
export async function removeFile(path: string): Promise<boolean> {
  try {
    await rm(path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return false;
    throw err;
  }
}
