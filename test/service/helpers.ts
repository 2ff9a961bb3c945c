/** Shared helpers for service tests: a spec builder and "is this tool installed?" checks. */
import { serviceEnvironment } from "../../src/service/environment.ts";
import type { ServiceHost } from "../../src/service/host.ts";
import { gatewayArguments, serviceIdentity, type InstallSpec, type Scope } from "../../src/service/spec.ts";

export function which(tool: string): string | undefined {
  return Bun.which(tool) ?? undefined;
}

/** A reason to skip when `tool` is missing (shown in the test name, so CI output says why). */
export function skipReason(tool: string, pkg: string): string | undefined {
  return which(tool) ? undefined : `${tool} not installed (apt package ${pkg}; .ci/run installs it)`;
}

export function makeSpec(
  host: ServiceHost,
  o: { profile?: string; scope?: Scope; port?: number; program?: string[]; stateDir?: string; secrets?: Array<[string, string]>; kind?: "systemd" | "launchd" | "schtasks"; serviceUser?: string } = {},
): InstallSpec {
  const identity = serviceIdentity(o.profile);
  const scope = o.scope ?? "user";
  const port = o.port ?? 18789;
  const stateDir = o.stateDir ?? (scope === "system" ? host.path.join(host.dirs.systemStateRoot, identity.systemName) : host.path.join(host.home, identity.profile ? `.openclaw-${identity.profile}` : ".openclaw"));
  const configPath = host.path.join(stateDir, "openclaw.json");
  const secrets = o.secrets ?? [];
  const kind = o.kind ?? "systemd";
  return {
    identity,
    scope,
    programArguments: gatewayArguments(o.program ?? host.program, port),
    port,
    stateDir,
    configPath,
    workingDirectory: stateDir,
    environment: serviceEnvironment(host, { identity, scope, kind, port, home: scope === "system" ? stateDir : host.home, stateDir, configPath, secretKeys: secrets.map(([k]) => k) }),
    secrets,
    envFile:
      kind === "systemd"
        ? scope === "system"
          ? host.path.join(host.dirs.systemEnvDir, `${identity.stem}.env`)
          : host.path.join(stateDir, identity.profile ? `gateway-${identity.profile}.systemd.env` : "gateway.systemd.env")
        : kind === "launchd"
          ? host.path.join(stateDir, "service-env", `${identity.launchdLabel}.env`)
          : host.path.join(stateDir, "gateway.env.cmd"),
    serviceUser: o.serviceUser,
    logFiles: kind === "launchd" ? { stdout: host.path.join(host.dirs.macLogs, `${identity.stem}.log`), stderr: host.path.join(host.dirs.macLogs, `${identity.stem}.err.log`) } : undefined,
  };
}
