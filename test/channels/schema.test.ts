/**
 * The channel keys added to the config schema: typed where the host reads them, open elsewhere
 * (other channel plugins and features keep loading), with the original's validation messages.
 */
import { describe, expect, test } from "bun:test";
import { validateConfig } from "../../src/config/schema.ts";

const issues = (value: unknown) => {
  const r = validateConfig(value);
  return r.ok ? [] : r.issues;
};

describe("channels config", () => {
  test("a realistic Telegram + Discord config validates and keeps keys we do not interpret", () => {
    const config = {
      channels: {
        defaults: { groupPolicy: "allowlist", contextVisibility: "all" },
        telegram: {
          enabled: true,
          botToken: "123:abc",
          dmPolicy: "pairing",
          allowFrom: ["tg:123456789", 42],
          groups: { "*": { requireMention: true }, "-1001234567890": { allowFrom: ["@admin"], systemPrompt: "Brief.", topics: { "99": { requireMention: false, skills: ["search"] } } } },
          customCommands: [{ command: "backup", description: "Git backup" }],
          historyLimit: 50,
          streaming: { mode: "partial" },
          apiRoot: "https://api.telegram.org",
          accounts: { alerts: { botToken: { source: "env", id: "ALERTS_TOKEN" }, webhookUrl: "https://x.example/hook", webhookSecret: "s" } },
        },
        discord: { token: "t", guilds: { "123": { requireMention: true, users: ["1"], channels: { general: { enabled: true } } } }, dm: { policy: "pairing" }, allowBots: "mentions", voice: { whatever: true } },
        slack: { anything: [1, 2] },
      },
      session: { dmScope: "per-channel-peer", identityLinks: { alice: ["telegram:1"] } },
      commands: { ownerAllowFrom: ["telegram:1"], native: "auto" },
    };
    const r = validateConfig(config);
    expect(r.ok).toBe(true);
    if (r.ok) expect(r.config).toEqual(config as never);
  });

  test("wrong types report their path; the dmPolicy rules use the original's messages", () => {
    expect(issues({ channels: { telegram: { dmPolicy: "everyone" } } })[0].path).toBe("channels.telegram.dmPolicy");
    expect(issues({ channels: { telegram: { groups: { "-1": { topics: { "3": { groupPolicy: 1 } } } } } } })[0].path).toBe("channels.telegram.groups.-1.topics.3.groupPolicy");
    expect(issues({ channels: { telegram: { apiRoot: "not a url" } } })[0].path).toBe("channels.telegram.apiRoot");
    expect(issues({ channels: { discord: { guilds: { g: { users: [{}] } } } } })[0].path).toBe("channels.discord.guilds.g.users[0]");
    expect(issues({ channels: { discord: { dmPolicy: "open", allowFrom: ["1"] } } })).toEqual([
      { path: "channels.discord.allowFrom", message: 'channels.discord.dmPolicy="open" requires channels.discord.allowFrom to include "*"' },
    ]);
    expect(issues({ channels: { telegram: { allowFrom: ["1"], accounts: { work: { dmPolicy: "allowlist", allowFrom: [] } } } } })).toEqual([
      { path: "channels.telegram.accounts.work.allowFrom", message: 'channels.telegram.accounts.*.dmPolicy="allowlist" requires channels.telegram.accounts.*.allowFrom (or channels.telegram.allowFrom) to contain at least one sender ID' },
    ]);
    expect(issues({ channels: { telegram: { accounts: { a: { webhookUrl: "https://x/h" } } } } })[0]).toEqual({
      path: "channels.telegram.accounts.a.webhookSecret",
      message: "channels.telegram.accounts.*.webhookUrl requires channels.telegram.webhookSecret or channels.telegram.accounts.*.webhookSecret",
    });
    expect(issues({ session: { dmScope: "per-user" } })[0].path).toBe("session.dmScope");
    expect(issues({ commands: { ownerAllowFrom: "telegram:1" } })[0].path).toBe("commands.ownerAllowFrom");
    expect(issues({ channels: "telegram" })[0].path).toBe("channels");
  });
});
