#!/usr/bin/env bun
/**
 * Import cycles in `src/`: every static import and re-export (type-only ones included, so a
 * cycle cannot hide behind `import type`) and every dynamic `import("…")` between source files,
 * walked as a graph; each strongly connected component with more than one file (or a file that
 * imports itself) is a cycle.
 *
 *   bun scripts/check-imports.ts            all of src/ (exit 1 on a cycle under src/gateway/)
 *   bun scripts/check-imports.ts --all      exit 1 on any cycle in src/
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

const SPEC = /(?:^|[\s;])(?:import|export)\s+(?:type\s+)?(?:[^"'`;]*?\sfrom\s+)?["']([^"']+)["']|\bimport\(\s*["']([^"']+)["']\s*\)/g;

function sourceFiles(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) sourceFiles(path, out);
    else if (name.endsWith(".ts")) out.push(path);
  }
  return out;
}

/** Strip comments (keeping string contents), so a commented-out import is not an edge. */
function stripComments(text: string): string {
  let out = "";
  let quote: string | undefined;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quote) {
      out += ch;
      if (ch === "\\") out += text[++i] ?? "";
      else if (ch === quote) quote = undefined;
      continue;
    }
    if (ch === '"' || ch === "'" || ch === "`") {
      quote = ch;
      out += ch;
    } else if (ch === "/" && text[i + 1] === "/") {
      while (i < text.length && text[i] !== "\n") i++;
      out += "\n";
    } else if (ch === "/" && text[i + 1] === "*") {
      i += 2;
      while (i < text.length && !(text[i] === "*" && text[i + 1] === "/")) i++;
      i++;
    } else out += ch;
  }
  return out;
}

/** `file → files it imports` for every .ts file under `root` (relative specifiers only). */
export function importGraph(root: string): Map<string, Set<string>> {
  const files = sourceFiles(root);
  const known = new Set(files);
  const graph = new Map<string, Set<string>>();
  for (const file of files) {
    const edges = new Set<string>();
    const text = stripComments(readFileSync(file, "utf8"));
    for (const m of text.matchAll(SPEC)) {
      const spec = m[1] ?? m[2];
      if (!spec?.startsWith(".")) continue;
      const target = resolve(dirname(file), spec);
      if (known.has(target)) edges.add(target);
    }
    graph.set(file, edges);
  }
  return graph;
}

/** Strongly connected components with a cycle (Tarjan), as lists of files. */
export function findCycles(graph: Map<string, Set<string>>): string[][] {
  let index = 0;
  const stack: string[] = [];
  const on = new Set<string>();
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const cycles: string[][] = [];
  const visit = (v: string) => {
    idx.set(v, index);
    low.set(v, index);
    index++;
    stack.push(v);
    on.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        on.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1 || graph.get(v)?.has(v)) cycles.push(component.sort());
    }
  };
  for (const v of graph.keys()) if (!idx.has(v)) visit(v);
  return cycles;
}

if (import.meta.main) {
  const root = resolve(import.meta.dir, "..");
  const src = join(root, "src");
  const cycles = findCycles(importGraph(src));
  const gatewayDir = join(src, "gateway");
  const strictAll = process.argv.includes("--all");
  let failing = 0;
  for (const c of cycles) {
    const inGateway = c.some((f) => f.startsWith(`${gatewayDir}/`));
    const fatal = strictAll || inGateway;
    if (fatal) failing++;
    console.log(`${fatal ? "cycle" : "cycle (outside src/gateway)"}: ${c.map((f) => relative(root, f)).join(" → ")}`);
  }
  console.log(cycles.length === 0 ? "no import cycles in src/" : `${cycles.length} cycle(s), ${failing} failing`);
  process.exit(failing > 0 ? 1 : 0);
}
