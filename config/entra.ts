import { ConfigReader, describeValue, isRecord, isStringArray } from "./reader";
import { domainToASCII } from "node:url";
import { checkDisplayName, checkGroupReference, checkGuid, checkHostname, checkRoleValue, isGuid } from "./validators";

/** The NetOS roles created as app roles when `netos:appRoles` is not set. */
export const defaultAppRoles: readonly string[] = ["exec", "finance", "network_eng"];

/** The Entra ID and public-name settings of a stack. */
export interface EntraConfig {
    /** The public hostname, for example `netos.xiberian.net`. */
    readonly hostname: string;
    /** The Entra tenant (directory) id the application lives in. */
    readonly tenantId: string;
    /** The app registration's display name. */
    readonly appDisplayName: string;
    /** The app role values, unique, in config order. */
    readonly appRoles: readonly string[];
    /**
     * Entra groups assigned to each app role, keyed by role value. Each group is
     * an object id (GUID) or a display name looked up in the tenant.
     */
    readonly roleGroups: Readonly<Record<string, readonly string[]>>;
    /** How long a new client secret stays valid, in days (at most 365). */
    readonly clientSecretValidityDays: number;
}

/** Reads and validates the Entra ID settings, reporting problems to `reader`. */
export function readEntraConfig(reader: ConfigReader): EntraConfig {
    const hostname = reader.string("hostname", { required: true, example: "netos.example.com" });
    const hostnameRule = hostname === "" ? undefined : checkHostname(hostname);
    if (hostnameRule) {
        reader.report("hostname", `invalid value ${describeValue(hostname)}: ${hostnameRule}.`, reader.setCommand("hostname", suggestHostname(hostname)));
    }

    const tenantId = reader.string("entraTenantId", { required: true, example: "00000000-0000-0000-0000-000000000000" });
    const tenantRule = tenantId === "" ? undefined : checkTenantId(tenantId);
    if (tenantRule) {
        reader.report(
            "entraTenantId",
            `invalid value ${describeValue(tenantId)}: ${tenantRule}. The tenant id is the "Directory (tenant) ID" on the Entra ID overview page.`,
            reader.setCommand("entraTenantId", "<tenant GUID>"),
        );
    }

    const appDisplayName = reader.string("entraAppDisplayName", { default: "NetOS", example: "NetOS" });
    const displayNameRule = checkDisplayName(appDisplayName);
    if (displayNameRule) {
        reader.report("entraAppDisplayName", `invalid value ${describeValue(appDisplayName)}: ${displayNameRule}.`, reader.setCommand("entraAppDisplayName", "NetOS"));
    }

    const appRoles = readAppRoles(reader);
    const roleGroups = readRoleGroups(reader, appRoles);
    const clientSecretValidityDays = reader.integer("clientSecretValidityDays", { default: 180, min: 1, max: 365, unit: "days" });

    // Entra writes tenant ids in lower case in every issuer URL, and OAuth2-Proxy
    // compares the issuer exactly, so an id pasted in upper case would fail every sign-in.
    return { hostname, tenantId: tenantId.toLowerCase(), appDisplayName, appRoles, roleGroups, clientSecretValidityDays };
}

function readAppRoles(reader: ConfigReader): readonly string[] {
    const roles = reader.object<string[]>("appRoles", {
        default: [...defaultAppRoles],
        isShape: isStringArray,
        shape: "a list of role names",
        example: '["exec","finance","network_eng"]',
    });
    if (roles.length === 0) {
        reader.report("appRoles", "invalid value []: must name at least one role, because only users holding a role may sign in.", reader.setCommand("appRoles", '["exec"]'));
    }
    const seen = new Set<string>();
    for (const role of roles) {
        const rule = checkRoleValue(role);
        if (rule) {
            reader.report("appRoles", `invalid role ${describeValue(role)}: ${rule}.`, "rename the role in netos:appRoles in Pulumi.<stack>.yaml");
        }
        const folded = role.toLowerCase();
        if (seen.has(folded)) {
            reader.report("appRoles", `duplicate role ${describeValue(role)}: role names must be unique, ignoring case.`, "remove the duplicate from netos:appRoles in Pulumi.<stack>.yaml");
        }
        seen.add(folded);
    }
    return roles;
}

function isRoleGroupMap(value: unknown): value is Record<string, string[]> {
    return isRecord(value) && Object.values(value).every(isStringArray);
}

function readRoleGroups(reader: ConfigReader, appRoles: readonly string[]): Record<string, string[]> {
    const roleGroups = reader.object<Record<string, string[]>>("roleGroups", {
        default: {},
        isShape: isRoleGroupMap,
        shape: "a map from role name to a list of Entra group object ids or display names",
        example: '{"exec":["NetOS Executives"]}',
    });
    for (const [role, groups] of Object.entries(roleGroups)) {
        if (!appRoles.includes(role)) {
            reader.report(
                "roleGroups",
                `unknown role ${describeValue(role)}: every key must be one of netos:appRoles (${appRoles.join(", ")}).`,
                "add the role to netos:appRoles or fix the key in netos:roleGroups",
            );
        }
        const seenGroups = new Set<string>();
        for (const group of groups) {
            // Object ids and display names are both compared without case, as Entra does.
            const folded = group.toLowerCase();
            if (seenGroups.has(folded)) {
                reader.report(
                    "roleGroups",
                    `duplicate group ${describeValue(group)} for role ${describeValue(role)}: each group may be assigned to a role once.`,
                    "remove the duplicate from netos:roleGroups in Pulumi.<stack>.yaml",
                );
            }
            seenGroups.add(folded);
            const rule = checkGroupReference(group);
            if (rule) {
                reader.report(
                    "roleGroups",
                    `invalid group ${describeValue(group)} for role ${describeValue(role)}: ${rule}.`,
                    "copy the group's Object ID or display name from Entra ID > Groups into netos:roleGroups",
                );
            }
        }
    }
    return roleGroups;
}

/** Checks a tenant id: a GUID, and not the all-zero GUID that documentation examples use. */
function checkTenantId(value: string): string | undefined {
    if (isGuid(value) && /^[0-]+$/.test(value)) {
        return "must be your tenant's id, not the all-zero example GUID";
    }
    return checkGuid(value);
}

/**
 * Strips what makes a hostname invalid, to show the likely intended value in
 * the fix; an internationalized name is suggested in its punycode (A-label) form.
 */
function suggestHostname(value: string): string {
    const stripped = value
        .trim()
        .replace(/^[a-z][a-z0-9+.-]*:\/\//i, "")
        .replace(/[/?#].*$/, "")
        .replace(/:\d*$/, "")
        .replace(/\.$/, "")
        .toLowerCase();
    const ascii = domainToASCII(stripped);
    return ascii === "" ? "netos.example.com" : ascii;
}
