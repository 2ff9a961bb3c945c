/**
 * `openclaw dashboard [--no-open] [--json]`: the Control UI of the configured local gateway.
 *
 *   --json     one object: `{ok:true, url, httpUrl, wsUrl, port, tokenIncluded}` (`url` carries
 *              the shared token as the `#token=` fragment when it may travel in a URL; a
 *              literal password in password mode is handed over as `gatewayPassword`), or
 *              `{ok:false, reason}` and exit 1. Never opens a browser.
 *   --no-open  print the URL and how to authenticate; open nothing.
 *   (default)  open `url` in a browser where this machine has one (a desktop session), else say
 *              how to reach the dashboard over SSH.
 *
 * As in the original, the gateway must be up (a gateway that answers the handshake counts) and
 * must serve the dashboard document. The original's one-time browser pairing link
 * (`browserUrl`) needs bootstrap tokens this gateway does not issue: the token link is what a
 * browser gets instead, and `--yes` (install or start a service first) has nothing to do here.
 */
import { defineCommand } from "citty";
import { browserOpener, dashboardTarget, documentReadiness, gatewayReadiness, openInBrowser } from "../operator/dashboard.ts";
import { EXIT_ERROR, writeStderr } from "./command.ts";
import { targetOf } from "./call.ts";

const MANUAL_AUTH_HINT =
  "Token auto-auth not delivered. Append your gateway token (from OPENCLAW_GATEWAY_TOKEN or gateway.auth.token) as a URL fragment with key `token` to authenticate.";

function sshHint(port: number, basePath: string, tls: boolean): string[] {
  return [
    "No GUI detected. Open from your computer:",
    `ssh -N -L ${port}:127.0.0.1:${port} <user>@<host>`,
    "Then open:",
    `${tls ? "https" : "http"}://localhost:${port}${basePath ? `${basePath}/` : "/"}`,
  ];
}

export const dashboardCommand = defineCommand({
  meta: { name: "dashboard", description: "Open the Control UI (prints the URL with the #token= fragment)" },
  args: {
    "no-open": { type: "boolean", description: "Print the URL but do not launch a browser" },
    json: { type: "boolean", description: "Print one machine-readable connection object (never opens a browser)" },
    yes: { type: "boolean", description: "Accepted for compatibility (this gateway is not started from here)" },
  },
  async run({ args }) {
    const json = Boolean(args.json);
    // citty may hand `--no-open` over as `open: false`.
    const noOpen = Boolean(args["no-open"]) || (args as { open?: unknown }).open === false;
    const fail = (reason: string): never => {
      if (json) console.log(JSON.stringify({ ok: false, reason }));
      else writeStderr([reason]);
      process.exit(EXIT_ERROR);
    };

    const resolved = await targetOf({}, { needConfig: true }).catch((err: Error) => fail(err.message));
    const snapshot = resolved.snapshot!;
    if (snapshot.exists && snapshot.problem) {
      fail(`OpenClaw config is invalid: ${snapshot.paths.configPath}. Run \`openclaw doctor --fix\` or \`openclaw config validate\`.`);
    }
    const target = dashboardTarget(snapshot);

    // The gateway this config runs here (not a remote one the CLI would otherwise talk to).
    const local = { ...resolved.target, url: target.wsUrl, token: snapshot.gateway.auth.token, password: snapshot.gateway.auth.password };
    const up = await gatewayReadiness(local);
    if (!up.ready) {
      if (json) fail(up.reason);
      // As the original: the reason and what to do, exit 0 (nothing was asked that failed).
      console.log([up.reason, "Run `openclaw gateway status --deep` for details.", "Use the owning environment or supervisor to start or repair the selected Gateway."].join("\n"));
      return;
    }
    const document = await documentReadiness(target);
    if (!document.ready) {
      if (json) fail(document.reason);
      writeStderr([document.reason]);
      console.log("Run `openclaw gateway status --deep` for details.");
      process.exit(EXIT_ERROR);
    }

    if (json) {
      console.log(
        JSON.stringify({
          ok: true,
          url: target.dashboardUrl,
          httpUrl: target.httpUrl,
          wsUrl: target.wsUrl,
          port: target.port,
          tokenIncluded: target.tokenIncluded,
          ...(target.passwordHandoff ? { gatewayPassword: target.passwordHandoff } : {}),
        }),
      );
      return;
    }

    const lines = [`Dashboard URL: ${target.httpUrl}`];
    let opened = false;
    if (noOpen) {
      if (!target.tokenIncluded) lines.push("Browser launch disabled (--no-open). Use the URL above.");
    } else {
      const opener = await browserOpener();
      if (opener.argv) {
        opened = await openInBrowser(target.dashboardUrl, opener.argv);
        lines.push(opened ? "Opened in your browser. Keep that tab to control OpenClaw." : "Browser launch failed. Open the Dashboard URL above manually.");
      } else {
        lines.push(...sshHint(target.port, target.basePath, target.tlsEnabled));
      }
    }
    if (!opened && target.tokenIncluded) lines.push(MANUAL_AUTH_HINT);
    console.log(lines.join("\n"));
  },
});
