/**
 * `openclaw doctor [--fix] [--json]`: report findings (each with its exact fix); `--fix`
 * applies the safe ones, says what it changed and reports what is left. Without `--fix`
 * nothing is written. Exit 0, or 1 when a fix failed.
 */
import { defineCommand } from "citty";
import { resolvePaths } from "../config/paths.ts";
import { applyFixes, runDoctor, type DoctorDeps, type DoctorReport, type Finding, type FixResult } from "../doctor/index.ts";
import { defaultServiceHost } from "../service/host.ts";
import { globals } from "./globals.ts";
import { printJson } from "./output.ts";
import { tildify } from "./util.ts";

const MARK: Record<Finding["severity"], string> = { error: "✗", warning: "!", info: "·" };

function findingJson(f: Finding) {
  return { checkId: f.checkId, severity: f.severity, message: f.message, ...(f.path ? { path: f.path } : {}), fixHint: f.fixHint, fixable: f.fixable };
}

export function renderFindings(findings: Finding[]): string[] {
  const lines: string[] = [];
  for (const f of findings) {
    const [first, ...rest] = f.message.split("\n");
    lines.push(`${MARK[f.severity]} [${f.severity}] ${f.checkId}: ${first}`);
    for (const r of rest) lines.push(`    ${r}`);
    lines.push(`  Fix: ${f.fixHint}`);
  }
  return lines;
}

function summary(report: DoctorReport): string {
  const count = (s: Finding["severity"]) => report.findings.filter((f) => f.severity === s).length;
  const fixable = report.findings.filter((f) => f.fixable).length;
  const e = count("error");
  const w = count("warning");
  const i = count("info");
  if (report.findings.length === 0) return "No problems found.";
  return `${e} error${e === 1 ? "" : "s"}, ${w} warning${w === 1 ? "" : "s"}, ${i} note${i === 1 ? "" : "s"}${fixable ? `; ${fixable} can be fixed with openclaw doctor --fix` : ""}.`;
}

export async function doctorMain(deps: DoctorDeps, opts: { fix: boolean; json: boolean }): Promise<{ exitCode: number; report: DoctorReport; fixes: FixResult[] }> {
  let report = await runDoctor(deps);
  const fixes: FixResult[] = [];
  if (opts.fix) {
    // Two rounds at most: a repaired config can make a service rewrite possible.
    for (let round = 0; round < 2 && report.findings.some((f) => f.fixable); round++) {
      const applied = await applyFixes(report.findings);
      fixes.push(...applied);
      report = await runDoctor(deps);
      if (applied.every((a) => a.error)) break;
    }
  }
  const failed = fixes.some((f) => f.error);
  if (opts.json) {
    printJson({ ok: report.ok, checksRun: report.checksRun, checksSkipped: report.checksSkipped, findings: report.findings.map(findingJson), ...(opts.fix ? { fixes } : {}) });
  } else {
    const lines = [`OpenClaw doctor (config: ${tildify(deps.paths.configPath)}, state: ${tildify(deps.paths.stateDir)}${deps.paths.profile ? `, profile ${deps.paths.profile}` : ""})`];
    if (opts.fix) {
      if (fixes.length === 0) lines.push("Nothing to fix automatically.");
      for (const f of fixes) lines.push(f.error ? `Fix failed (${f.checkId}): ${f.error}` : `Fixed ${f.checkId}: ${f.changed}`);
      if (report.findings.length) lines.push("", "Remaining:");
    }
    lines.push(...renderFindings(report.findings));
    for (const s of report.checksSkipped) lines.push(`· skipped ${s.checkId}: ${s.reason}`);
    lines.push(summary(report));
    console.log(lines.join("\n"));
  }
  return { exitCode: failed ? 1 : 0, report, fixes };
}

export const doctorCommand = defineCommand({
  meta: { name: "doctor", description: "Check config, state dir permissions, the gateway service and port; --fix applies the safe fixes" },
  args: {
    fix: { type: "boolean", description: "Apply the safe fixes and say what changed" },
    repair: { type: "boolean", description: "Alias of --fix" },
    json: { type: "boolean", description: "Print {ok, checksRun, checksSkipped, findings[], fixes?}" },
  },
  async run({ args }) {
    const host = defaultServiceHost();
    const paths = resolvePaths({ profile: globals().profile, env: host.env });
    const { listenersOnPort } = await import("../system/ports.ts");
    const deps: DoctorDeps = { host, paths, env: host.env, listenersOnPort, now: () => new Date() };
    const { exitCode } = await doctorMain(deps, { fix: Boolean(args.fix || args.repair), json: Boolean(args.json) });
    process.exit(exitCode);
  },
});
