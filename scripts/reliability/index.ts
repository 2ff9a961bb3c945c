#!/usr/bin/env bun
/**
 * The reliability suite: what a hostile-but-authenticated client and a crashing machine do to
 * a real gateway process. Not tests: each scenario starts its own gateway child on loopback,
 * drives it over real sockets, prints its figures and judges them.
 *
 *   bun scripts/reliability/index.ts                 full run (several minutes)
 *   bun scripts/reliability/index.ts --quick         bounded pass for CI (a few tens of seconds)
 *   bun scripts/reliability/index.ts --only fuzz,agent-flood
 *   bun scripts/reliability/index.ts --binary dist/openclaw     run the compiled gateway
 *   bun scripts/reliability/index.ts --report-targets           missed targets do not fail the run
 *   bun scripts/reliability/index.ts --json out.json            also write every figure as JSON
 *
 * Scenarios: fuzz (≥100,000 frames), presence-storm, slow-consumers, agent-flood, kill-writes,
 * soak. Each has invariants (a crash, a wrong answer, a corrupt file: always fatal) and targets
 * (the issue's figures: fatal unless --report-targets). Exit 0 when everything held, 1 when an
 * invariant broke or a target was missed, 2 on bad arguments.
 */
import { writeFileSync } from "node:fs";
import { cpus, loadavg, totalmem } from "node:os";
import { isAbsolute, join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { agentFlood } from "./agent-flood.ts";
import { frameFuzz } from "./fuzz.ts";
import { killWrites } from "./kill-writes.ts";
import { ROOT, type Scenario, type ScenarioOptions, type ScenarioResult } from "./lib.ts";
import { presenceStorm } from "./presence-storm.ts";
import { slowConsumers } from "./slow-consumers.ts";
import { soak } from "./soak.ts";

export const SCENARIOS: Record<string, Scenario> = {
  fuzz: frameFuzz,
  "presence-storm": presenceStorm,
  "slow-consumers": slowConsumers,
  "agent-flood": agentFlood,
  "kill-writes": killWrites,
  soak,
};

const USAGE = `usage: bun scripts/reliability/index.ts [--quick] [--only a,b] [--binary path] [--report-targets] [--json file]
  scenarios: ${Object.keys(SCENARIOS).join(", ")}`;

interface Options {
  quick: boolean;
  only?: string[];
  binary?: string;
  reportTargets: boolean;
  json?: string;
}

function parseOptions(argv: string[]): Options | string {
  try {
    const { values } = parseArgs({
      args: argv,
      options: {
        quick: { type: "boolean" },
        only: { type: "string" },
        binary: { type: "string" },
        "report-targets": { type: "boolean" },
        json: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
    });
    if (values.help) return USAGE;
    const only = values.only?.split(",").map((s) => s.trim()).filter(Boolean);
    for (const name of only ?? []) if (!SCENARIOS[name]) return `unknown scenario "${name}"\n${USAGE}`;
    return { quick: Boolean(values.quick), only, binary: values.binary, reportTargets: Boolean(values["report-targets"]), json: values.json };
  } catch (err) {
    return `${(err as Error).message}\n${USAGE}`;
  }
}

function scenarioOptions(o: Pick<Options, "quick" | "binary">): ScenarioOptions {
  const command = o.binary ? [isAbsolute(o.binary) ? o.binary : resolve(process.cwd(), o.binary)] : [process.execPath, join(ROOT, "src/main.ts")];
  return { quick: o.quick, command, log: (m) => process.stderr.write(`[reliability] ${m}\n`) };
}

function printResult(r: ScenarioResult, reportTargets: boolean): void {
  const verdict = !r.ok ? "FAIL" : r.missed.length ? (reportTargets ? "TARGET MISSED" : "FAIL (target)") : "PASS";
  console.log(`\n## ${r.name}: ${verdict} (${(r.durationMs / 1000).toFixed(1)} s)`);
  const width = Math.max(...Object.keys(r.figures).map((k) => k.length), 10);
  for (const [k, v] of Object.entries(r.figures)) console.log(`  ${k.padEnd(width)}  ${v}`);
  for (const f of r.failures) console.log(`  ✗ invariant: ${f}`);
  for (const m of r.missed) console.log(`  ✗ target:    ${m}`);
}

async function runOne(name: string, scenario: Scenario, opts: ScenarioOptions): Promise<ScenarioResult> {
  opts.log(`${name}: start (${opts.quick ? "quick" : "full"})`);
  try {
    return await scenario(opts);
  } catch (err) {
    return { name, ok: false, figures: {}, failures: [`scenario error: ${(err as Error).stack ?? err}`], missed: [], durationMs: 0 };
  }
}

/** A scenario file run on its own: `bun scripts/reliability/<name>.ts [--quick] [--binary path]`. */
export async function runStandalone(scenario: Scenario): Promise<never> {
  const o = parseOptions(process.argv.slice(2));
  if (typeof o === "string") {
    console.error(o);
    process.exit(2);
  }
  const r = await runOne(scenario.name, scenario, scenarioOptions(o));
  printResult(r, o.reportTargets);
  process.exit(!r.ok || (!o.reportTargets && r.missed.length) ? 1 : 0);
}

if (import.meta.main) {
  const o = parseOptions(process.argv.slice(2));
  if (typeof o === "string") {
    console.error(o);
    process.exit(o === USAGE ? 0 : 2);
  }
  const opts = scenarioOptions(o);
  const names = o.only ?? Object.keys(SCENARIOS);
  const started = Date.now();
  console.log(`# reliability ${o.quick ? "--quick" : "(full)"}: ${new Date(started).toISOString()}`);
  console.log(`command: bun scripts/reliability/index.ts ${process.argv.slice(2).join(" ")}`.trimEnd());
  console.log(`machine: ${cpus().length} × ${cpus()[0]?.model ?? "cpu"}, ${Math.round(totalmem() / 2 ** 30)} GiB, load ${loadavg().map((l) => l.toFixed(2)).join(" ")}, bun ${Bun.version}, gateway ${opts.command.join(" ")}`);
  const results: ScenarioResult[] = [];
  for (const name of names) {
    const r = await runOne(name, SCENARIOS[name], opts);
    results.push(r);
    printResult(r, o.reportTargets);
  }
  const broken = results.filter((r) => !r.ok).map((r) => r.name);
  const missed = results.filter((r) => r.ok && r.missed.length).map((r) => r.name);
  console.log(`\n${results.length - broken.length - missed.length} passed, ${broken.length} broken${broken.length ? ` (${broken.join(", ")})` : ""}, ${missed.length} missed targets${missed.length ? ` (${missed.join(", ")})` : ""} in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  if (o.json) writeFileSync(o.json, `${JSON.stringify({ started: new Date(started).toISOString(), quick: o.quick, command: process.argv.slice(2), results }, null, 2)}\n`);
  process.exit(broken.length || (!o.reportTargets && missed.length) ? 1 : 0);
}
