/**
 * Shared by the benchmark suite: summary statistics, the metric record every bench returns,
 * the markdown table, machine information and argument parsing helpers.
 *
 * Every figure is the median of repeated runs with the min and max; every metric pairs the
 * gateway's figure with a reference measured in the same run, and says which target (if any)
 * from the issue it is compared with.
 */
import { cpus, loadavg, release, totalmem } from "node:os";

export function say(message: string): void {
  process.stderr.write(`[bench] ${message}\n`);
}

export const round = (x: number, digits = 2): number => Math.round(x * 10 ** digits) / 10 ** digits;

export function median(xs: number[]): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** Nearest-rank percentile (p in 0..100) of an unsorted list; null when empty. */
export function percentile(xs: number[], p: number): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  const rank = Math.min(s.length, Math.max(1, Math.ceil((p / 100) * s.length)));
  return s[rank - 1];
}

export interface Figure {
  median: number | null;
  min: number | null;
  max: number | null;
  /** Number of runs the figure summarises. */
  runs: number;
  samples: number[];
}

export function figure(samples: number[], digits = 2): Figure {
  const finite = samples.filter((x) => Number.isFinite(x));
  const m = median(finite);
  return {
    median: m === null ? null : round(m, digits),
    min: finite.length ? round(Math.min(...finite), digits) : null,
    max: finite.length ? round(Math.max(...finite), digits) : null,
    runs: finite.length,
    samples: finite.map((x) => round(x, digits)),
  };
}

export interface Target {
  /** What is compared: the gateway's median, or the gateway/reference ratio of medians. */
  on: "value" | "ratio";
  op: "<=" | ">=";
  limit: number;
  /** As the issue words it, e.g. "≤ 60 ms". */
  text: string;
}

export interface Metric {
  id: string;
  label: string;
  unit: string;
  /** Larger is better (throughput) or smaller is better (time, memory). */
  better: "higher" | "lower";
  openclaw: Figure;
  referenceLabel: string;
  reference: Figure | null;
  /** openclaw median / reference median, or the median of paired ratios when given. */
  ratio: number | null;
  /** Ratios of back-to-back openclaw/reference measurements (throughput figures). */
  pairedRatio?: Figure;
  target?: Target;
  /** null when there is no target or no figure to compare. */
  met: boolean | null;
  note?: string;
}

export function metric(m: Omit<Metric, "ratio" | "met">): Metric {
  const a = m.openclaw.median;
  const b = m.reference?.median ?? null;
  const ratio = m.pairedRatio?.median != null ? m.pairedRatio.median : a !== null && b !== null && b !== 0 ? round(a / b, 3) : null;
  let met: boolean | null = null;
  if (m.target) {
    const v = m.target.on === "ratio" ? ratio : a;
    if (v !== null) met = m.target.op === "<=" ? v <= m.target.limit : v >= m.target.limit;
  }
  return { ...m, ratio, met };
}

/** A metric that could not be measured (e.g. the binary lacks the command). */
export function unavailable(id: string, label: string, unit: string, why: string, target?: Target): Metric {
  const empty = figure([]);
  return { id, label, unit, better: "lower", openclaw: empty, referenceLabel: "", reference: null, ratio: null, target, met: null, note: why };
}

function fmt(x: number | null, unit: string): string {
  if (x === null) return "–";
  const digits = Math.abs(x) >= 1000 ? 0 : Math.abs(x) >= 100 ? 1 : 2;
  const s = x.toLocaleString("en-US", { minimumFractionDigits: 0, maximumFractionDigits: digits });
  return unit ? `${s} ${unit}` : s;
}

function cell(f: Figure | null, unit: string): string {
  if (!f || f.median === null) return "–";
  if (f.runs === 1) return `${fmt(f.median, unit)} (1 run)`;
  return `${fmt(f.median, unit)} (${fmt(f.min, "")}–${fmt(f.max, "")})`;
}

/** One row per metric: label | openclaw | reference | ratio | target. */
export function markdownTable(metrics: Metric[]): string {
  const rows = [
    "| metric | openclaw: median (min–max) | reference: median (min–max) | ratio | target |",
    "|---|---|---|---:|---|",
  ];
  for (const m of metrics) {
    const ref = m.reference ? `${cell(m.reference, m.unit)}<br>${m.referenceLabel}` : m.referenceLabel || "–";
    const target = m.target ? `${m.target.text} ${m.met === null ? "(not measured)" : m.met ? "✅ met" : "❌ not met"}` : "";
    const ours = m.openclaw.median === null && m.note ? `not available: ${m.note}` : cell(m.openclaw, m.unit);
    const ratio = m.ratio === null ? "–" : m.pairedRatio && m.pairedRatio.runs > 1 ? `${m.ratio}× (${m.pairedRatio.min}–${m.pairedRatio.max})` : `${m.ratio}×`;
    rows.push(`| ${m.label} | ${ours} | ${ref} | ${ratio} | ${target} |`);
  }
  return rows.join("\n");
}

export function machineInfo(): Record<string, unknown> {
  const list = cpus();
  return {
    cpus: list.length,
    cpuModel: list[0]?.model ?? null,
    kernel: release(),
    platform: process.platform,
    arch: process.arch,
    bun: Bun.version,
    bunRevision: Bun.revision,
    totalMemMiB: Math.round(totalmem() / 2 ** 20),
    loadavg: loadavg().map((x) => round(x)),
  };
}

export function intArg(name: string, raw: string | undefined, def: number, min: number, max: number): number {
  if (raw === undefined) return def;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) throw new UsageError(`--${name} must be an integer from ${min} to ${max} (got ${JSON.stringify(raw)})`);
  return n;
}

export class UsageError extends Error {
  override name = "UsageError";
}

/** How many children exited with each code (`null`: killed hard), keyed by the code as text. */
export function countExitCodes(codes: Array<number | null>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const c of codes) out[String(c)] = (out[String(c)] ?? 0) + 1;
  return out;
}

/** KiB (from /proc) → MB (10^6 bytes), the unit the memory targets use. */
export const kibToMB = (kib: number): number => (kib * 1024) / 1e6;
