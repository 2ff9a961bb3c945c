/**
 * Tail a JSON-lines log file by byte cursor: the `logs.tail` RPC and `openclaw logs` (when the
 * gateway is down) share this. Without a cursor: the last `limit` lines within `maxBytes`.
 * With a cursor: the lines written since, up to `maxBytes`/`limit` (then `truncated`). A cursor
 * past the end means the file was rotated or truncated: `reset` and start from the top.
 */
export interface TailOptions {
  cursor?: number;
  limit?: number;
  maxBytes?: number;
}

export interface TailResult {
  file: string;
  cursor: number;
  size: number;
  lines: string[];
  truncated: boolean;
  reset: boolean;
}

export const TAIL_DEFAULT_LIMIT = 500;
export const TAIL_DEFAULT_MAX_BYTES = 250_000;

export async function tailFile(path: string, opts: TailOptions = {}): Promise<TailResult> {
  const limit = opts.limit ?? TAIL_DEFAULT_LIMIT;
  const maxBytes = opts.maxBytes ?? TAIL_DEFAULT_MAX_BYTES;
  const file = Bun.file(path);
  const size = (await file.exists()) ? file.size : 0;
  let reset = false;
  let cursor = opts.cursor;
  if (cursor !== undefined && cursor > size) {
    reset = true;
    cursor = 0;
  }
  if (size === 0) return { file: path, cursor: 0, size, lines: [], truncated: false, reset };

  if (cursor === undefined) {
    const start = Math.max(0, size - maxBytes);
    const text = await file.slice(start, size).text();
    let lines = text.split("\n");
    const partialTail = lines.pop() ?? ""; // text after the last newline (a line being written)
    let truncated = start > 0;
    if (start > 0) lines.shift(); // cut in the middle of a line
    if (lines.length > limit) {
      lines = lines.slice(lines.length - limit);
      truncated = true;
    }
    return { file: path, cursor: size - Buffer.byteLength(partialTail), size, lines: lines.filter(Boolean), truncated, reset };
  }

  const end = Math.min(size, cursor + maxBytes);
  const text = await file.slice(cursor, end).text();
  const parts = text.split("\n");
  const partial = parts.pop() ?? "";
  let lines = parts;
  let next = cursor + Buffer.byteLength(text) - Buffer.byteLength(partial);
  let truncated = end < size;
  if (lines.length > limit) {
    const kept = lines.slice(0, limit);
    next = cursor + kept.reduce((n, l) => n + Buffer.byteLength(l) + 1, 0);
    lines = kept;
    truncated = true;
  }
  if (lines.length === 0 && partial && end < size) {
    // A single line longer than maxBytes: skip past it rather than stall.
    next = end;
    truncated = true;
  }
  return { file: path, cursor: next, size, lines: lines.filter(Boolean), truncated, reset };
}
