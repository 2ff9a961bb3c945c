/**
 * Config key paths: `gateway.auth.token`, `gateway.trustedProxies[0]`,
 * `models.providers["my.provider"].apiKey`. Used by `openclaw config get|set|unset`, reload
 * diffs (paths of changed keys) and log lines. Values are plain JSON data; nothing here
 * follows prototypes, and `__proto__`/`constructor`/`prototype` are refused as keys.
 */

export type Segment = string | number;

export class KeyPathError extends Error {
  override name = "KeyPathError";
}

const FORBIDDEN = new Set(["__proto__", "constructor", "prototype"]);
const IDENT = /^[A-Za-z_$][A-Za-z0-9_$-]*$/;

type Obj = Record<string, unknown>;
export const isPlainObject = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

/** Parse a dot/bracket path. Throws KeyPathError with the reason. */
export function parseKeyPath(path: string): Segment[] {
  const input = path.trim();
  if (input === "") throw new KeyPathError("Invalid config path: empty");
  const out: Segment[] = [];
  let i = 0;
  let expectKey = true;
  const fail = (why: string): never => {
    throw new KeyPathError(`Invalid config path "${path}": ${why}`);
  };
  while (i < input.length) {
    const ch = input[i];
    if (ch === "[") {
      const close = input.indexOf("]", i);
      if (close < 0) fail("unclosed [");
      const inner = input.slice(i + 1, close).trim();
      if (/^\d+$/.test(inner)) out.push(Number(inner));
      else if (/^(["']).*\1$/s.test(inner) && inner.length >= 2) {
        const quote = inner[0];
        const body = inner.slice(1, -1);
        if (body.includes(quote)) fail("quote inside a bracketed key");
        if (body === "") fail("empty key");
        out.push(body);
      } else fail(`bad index [${inner}]`);
      i = close + 1;
      expectKey = false;
      continue;
    }
    if (ch === ".") {
      if (expectKey) fail("empty key");
      i++;
      expectKey = true;
      continue;
    }
    if (!expectKey) fail(`unexpected "${ch}"`);
    let j = i;
    while (j < input.length && input[j] !== "." && input[j] !== "[") j++;
    out.push(input.slice(i, j));
    i = j;
    expectKey = false;
  }
  if (expectKey) fail("ends with .");
  for (const seg of out) if (typeof seg === "string" && FORBIDDEN.has(seg)) fail(`"${seg}" is not allowed as a key`);
  return out;
}

/** Format segments back into a path: identifiers joined by dots, anything else bracketed. */
export function formatKeyPath(segments: readonly Segment[]): string {
  let out = "";
  for (const seg of segments) {
    if (typeof seg === "number") out += `[${seg}]`;
    else if (IDENT.test(seg)) out += out ? `.${seg}` : seg;
    else out += `[${JSON.stringify(seg)}]`;
  }
  return out || "<root>";
}

export type Lookup = { found: true; value: unknown } | { found: false };

export function getAtPath(root: unknown, segments: readonly Segment[]): Lookup {
  let cur: unknown = root;
  for (const seg of segments) {
    if (typeof seg === "number") {
      if (!Array.isArray(cur) || seg >= cur.length) return { found: false };
      cur = cur[seg];
    } else {
      if (!isPlainObject(cur) || !Object.hasOwn(cur, seg)) return { found: false };
      cur = cur[seg];
    }
  }
  return { found: true, value: cur };
}

/**
 * Return a copy of `root` with `value` at `segments` (structural sharing off the path).
 * Missing objects along the way are created; a scalar in the way is an error.
 */
export function setAtPath<T>(root: T, segments: readonly Segment[], value: unknown): T {
  if (segments.length === 0) {
    if (!isPlainObject(value)) throw new KeyPathError("The config root must be an object");
    return value as T;
  }
  const walk = (node: unknown, depth: number): unknown => {
    const seg = segments[depth];
    const last = depth === segments.length - 1;
    const here = formatKeyPath(segments.slice(0, depth));
    if (typeof seg === "number") {
      if (node === undefined) throw new KeyPathError(`Cannot set ${formatKeyPath(segments)}: ${here} does not exist (create the array first)`);
      if (!Array.isArray(node)) throw new KeyPathError(`Cannot set ${formatKeyPath(segments)}: ${here} is not an array`);
      if (seg > node.length) throw new KeyPathError(`Cannot set ${formatKeyPath(segments)}: index ${seg} is past the end (length ${node.length})`);
      const copy = node.slice();
      copy[seg] = last ? value : walk(node[seg], depth + 1);
      return copy;
    }
    if (node !== undefined && !isPlainObject(node)) {
      throw new KeyPathError(`Cannot set ${formatKeyPath(segments)}: ${here} is not an object`);
    }
    const copy: Obj = { ...(node as Obj | undefined) };
    copy[seg] = last ? value : walk(copy[seg], depth + 1);
    return copy;
  };
  return walk(root, 0) as T;
}

/** Return a copy without the key at `segments`, or `undefined` when there is nothing there. */
export function unsetAtPath<T>(root: T, segments: readonly Segment[]): T | undefined {
  if (segments.length === 0 || !getAtPath(root, segments).found) return undefined;
  const walk = (node: unknown, depth: number): unknown => {
    const seg = segments[depth];
    const last = depth === segments.length - 1;
    if (typeof seg === "number") {
      const copy = (node as unknown[]).slice();
      if (last) copy.splice(seg, 1);
      else copy[seg] = walk(copy[seg], depth + 1);
      return copy;
    }
    const copy: Obj = { ...(node as Obj) };
    if (last) delete copy[seg];
    else copy[seg] = walk(copy[seg], depth + 1);
    return copy;
  };
  return walk(root, 0) as T;
}

/** Structural equality for JSON data (key order ignored). */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    return a.every((v, i) => jsonEqual(v, b[i]));
  }
  if (isPlainObject(a)) {
    if (!isPlainObject(b)) return false;
    const ka = Object.keys(a).filter((k) => a[k] !== undefined);
    const kb = Object.keys(b).filter((k) => b[k] !== undefined);
    if (ka.length !== kb.length) return false;
    return ka.every((k) => Object.hasOwn(b, k) && jsonEqual(a[k], b[k]));
  }
  return false;
}

/**
 * Paths of every leaf that differs between `a` and `b` (objects are descended, arrays and
 * scalars are leaves). A key present on one side only is reported at its own path.
 */
export function diffPaths(a: unknown, b: unknown, prefix: Segment[] = []): Segment[][] {
  if (jsonEqual(a, b)) return [];
  // Descend into objects, also when the other side is absent, so an added or removed subtree is
  // reported leaf by leaf (`agents.defaults.model`, not `agents`).
  const ao = isPlainObject(a) ? a : a === undefined ? {} : undefined;
  const bo = isPlainObject(b) ? b : b === undefined ? {} : undefined;
  if (ao && bo) {
    const out: Segment[][] = [];
    const keys = new Set([...Object.keys(ao), ...Object.keys(bo)]);
    for (const key of keys) out.push(...diffPaths(ao[key], bo[key], [...prefix, key]));
    return out.length > 0 ? out : [prefix];
  }
  return [prefix];
}

/**
 * JSON merge patch (RFC 7386 style): objects merge recursively, `null` deletes a key, arrays
 * and scalars replace. `replacePaths` names objects that are replaced instead of merged.
 */
export function mergePatch(target: unknown, patch: unknown, replacePaths: Segment[][] = [], at: Segment[] = []): unknown {
  if (!isPlainObject(patch)) return patch;
  const replaceHere = replacePaths.some((p) => p.length === at.length && p.every((s, i) => s === at[i]));
  const base: Obj = !replaceHere && isPlainObject(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (FORBIDDEN.has(key)) throw new KeyPathError(`"${key}" is not allowed as a key`);
    if (value === null) delete base[key];
    else base[key] = mergePatch(base[key], value, replacePaths, [...at, key]);
  }
  return base;
}
