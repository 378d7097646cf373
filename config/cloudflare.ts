import * as cloudflare from "@pulumi/cloudflare";
import { EntraConfig } from "./entra";
import { ConfigError, ConfigReader, describeValue } from "./reader";
import { checkGuid } from "./validators";

/** The Cloudflare Tunnel and Access settings of a stack. */
export interface CloudflareConfig {
    /** The tunnel's name in the Cloudflare account; default `<project>-<stack>`. */
    readonly tunnelName: string;
    /** Whether Cloudflare Access guards the hostname at the edge and cloudflared checks its token. */
    readonly accessEnabled: boolean;
    /**
     * The id of an existing Access identity provider for Entra ID. When unset,
     * the program creates one that signs in with the NetOS Entra application.
     */
    readonly accessIdentityProviderId?: string;
    /**
     * The Zero Trust team name (the `<team>` of `<team>.cloudflareaccess.com`).
     * When unset it is read from the account's Zero Trust organization.
     */
    readonly accessTeamName?: string;
}

/** The domain suffix of every Zero Trust team domain. */
export const accessTeamDomainSuffix = ".cloudflareaccess.com";

const teamNamePattern = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;
const tunnelNamePattern = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/**
 * Reads and validates the Cloudflare settings, reporting problems to `reader`.
 * It needs the Entra settings because Access admits only members of the
 * groups in `netos:roleGroups`.
 */
export function readCloudflareConfig(reader: ConfigReader, entra: EntraConfig, project: string, stack: string): CloudflareConfig {
    const defaultTunnelName = `${project}-${stack}`;
    const tunnelName = reader.string("tunnelName", { default: defaultTunnelName, example: defaultTunnelName });
    if (!tunnelNamePattern.test(tunnelName)) {
        reader.report(
            "tunnelName",
            `invalid value ${describeValue(tunnelName)}: must start with a letter or digit and contain at most 64 letters, digits, dots, underscores or hyphens, so that it can be typed in cloudflared commands without quoting.`,
            reader.setCommand("tunnelName", defaultTunnelName),
        );
    }

    const accessEnabled = reader.boolean("accessEnabled", true);

    const accessIdentityProviderId = reader.optionalString("accessIdentityProviderId");
    const idpRule = accessIdentityProviderId === undefined ? undefined : checkGuid(accessIdentityProviderId);
    if (idpRule) {
        reader.report(
            "accessIdentityProviderId",
            `invalid value ${describeValue(accessIdentityProviderId)}: ${idpRule}. Copy the id from Zero Trust > Settings > Authentication > Login methods, or unset the key to let the program create the identity provider.`,
            `pulumi config rm netos:accessIdentityProviderId, or ${reader.setCommand("accessIdentityProviderId", "<identity provider id>")}`,
        );
    }

    const accessTeamName = reader.optionalString("accessTeamName");
    if (accessTeamName !== undefined) {
        const rule = checkTeamName(accessTeamName);
        if (rule) {
            reader.report("accessTeamName", `invalid value ${describeValue(accessTeamName)}: ${rule}.`, reader.setCommand("accessTeamName", suggestTeamName(accessTeamName)));
        }
    }

    const groupCount = Object.values(entra.roleGroups).reduce((count, groups) => count + groups.length, 0);
    if (accessEnabled && groupCount === 0) {
        reader.report(
            "roleGroups",
            "names no group, but Cloudflare Access (netos:accessEnabled is true) admits only members of these groups, so nobody could sign in.",
            `assign groups to roles, for example ${reader.setCommand("roleGroups", '{"exec":["NetOS Executives"]}')}, or turn Access off with ${reader.setCommand("accessEnabled", "false")}`,
        );
    }

    return { tunnelName, accessEnabled, accessIdentityProviderId, accessTeamName };
}

/** Checks a Zero Trust team name: one lower-case DNS label, without the `.cloudflareaccess.com` suffix. */
export function checkTeamName(value: string): string | undefined {
    if (value.endsWith(accessTeamDomainSuffix)) {
        return `must be the team name only, without ${accessTeamDomainSuffix}`;
    }
    return teamNamePattern.test(value) ? undefined : "must be one DNS label of a-z, 0-9 and inner hyphens, as shown in Zero Trust > Settings > Team name and domain";
}

function suggestTeamName(value: string): string {
    const label = value.toLowerCase().replace(/^https?:\/\//, "").split(".")[0];
    return teamNamePattern.test(label) ? label : "<team name>";
}

/** The zone, account and team name of the stack's Cloudflare resources, looked up from the hostname. */
export interface CloudflareTarget {
    /** The zone that contains the public hostname. */
    readonly zoneId: string;
    /** The zone's name, for example `xiberian.net`. */
    readonly zoneName: string;
    /** The account that owns the zone; the tunnel and Access resources are created in it. */
    readonly accountId: string;
    /** The Zero Trust team name, or undefined when Access is off. */
    readonly teamName?: string;
}

/**
 * Returns the names a zone containing `hostname` could have, longest first:
 * the hostname itself, then each parent domain with at least two labels.
 */
export function candidateZoneNames(hostname: string): string[] {
    const labels = hostname.split(".");
    const names: string[] = [];
    for (let start = 0; start <= labels.length - 2; start++) {
        names.push(labels.slice(start).join("."));
    }
    return names;
}

/**
 * Looks up the zone that contains the hostname (longest match first), the
 * account that owns it, and, when Access is on and no team name is
 * configured, the team name of the account's Zero Trust organization.
 *
 * It runs before any resource is registered and throws a `ConfigError` when
 * the hostname is in no zone the API token can see, so `pulumi preview`
 * fails with the fix instead of planning resources in a wrong zone.
 */
export async function lookupCloudflareTarget(hostname: string, config: CloudflareConfig): Promise<CloudflareTarget> {
    const zone = await findZone(hostname);

    if (!config.accessEnabled) {
        return { ...zone };
    }
    const teamName = config.accessTeamName ?? (await lookupTeamName(zone.accountId));
    return { ...zone, teamName };
}

async function findZone(hostname: string): Promise<Omit<CloudflareTarget, "teamName">> {
    const candidates = candidateZoneNames(hostname);
    for (const name of candidates) {
        const { results } = await cloudflare.getZones({ name });
        const matches = results.filter((zone) => zone.name === name);
        if (matches.length > 1) {
            const accounts = matches.map((zone) => `${zone.account.name} (${zone.account.id})`).join(", ");
            throw new ConfigError([
                {
                    key: "netos:hostname",
                    message: `the zone ${describeValue(name)} exists in more than one account the Cloudflare API token can read: ${accounts}.`,
                    fix: "restrict the API token to the one account that should serve NetOS (Account Resources in the token settings)",
                },
            ]);
        }
        if (matches.length === 1) {
            const [zone] = matches;
            return { zoneId: zone.id, zoneName: zone.name, accountId: zone.account.id };
        }
    }
    throw new ConfigError([
        {
            key: "netos:hostname",
            message:
                `no Cloudflare zone contains ${describeValue(hostname)}: looked up ${candidates.map((name) => describeValue(name)).join(", ")} ` +
                "and the API token can read none of them.",
            fix:
                "set netos:hostname to a name inside a zone of the account (pulumi config set netos:hostname netos.<zone>), " +
                "or give the API token Zone Read on the zone that contains it",
        },
    ]);
}

async function lookupTeamName(accountId: string): Promise<string> {
    const fix =
        "turn Access on in Zero Trust (which creates the organization), give the API token Access: Organizations, Identity Providers, and Groups Read, " +
        "or set the team name with pulumi config set netos:accessTeamName <team>; for a stack without Zero Trust use pulumi config set netos:accessEnabled false";
    let authDomain: string;
    try {
        authDomain = (await cloudflare.getZeroTrustOrganization({ accountId })).authDomain;
    } catch (error) {
        const reason = error instanceof Error && error.message !== "" ? error.message : "the provider gave no reason";
        throw new ConfigError([
            { key: "netos:accessEnabled", message: `is true, but reading the Zero Trust organization of account ${accountId} failed: ${reason}.`, fix },
        ]);
    }
    const teamName = authDomain.endsWith(accessTeamDomainSuffix) ? authDomain.slice(0, -accessTeamDomainSuffix.length) : "";
    if (checkTeamName(teamName) !== undefined) {
        throw new ConfigError([
            {
                key: "netos:accessEnabled",
                message: `is true, but the Zero Trust organization of account ${accountId} has the auth domain ${describeValue(authDomain)}, not <team>${accessTeamDomainSuffix}.`,
                fix,
            },
        ]);
    }
    return teamName;
}
