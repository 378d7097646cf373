/**
 * Prints the URNs of the resources that hold each rotatable secret, for
 * `pulumi up --replace <urn>`. It reads `pulumi stack export`, which keeps
 * secret values encrypted, and never prints a secret.
 *
 *   npx tsx scripts/secret-urns.ts [--stack <stack>]            # every secret: "<secret> <urn>" lines
 *   npx tsx scripts/secret-urns.ts [--stack <stack>] <secret>   # that secret's URNs, one a line
 *
 * With a secret name it exits 1 when the stack has no resource for it, for
 * example `accessClientSecret` while Access is off.
 */
import { spawnSync } from "node:child_process";

import { rotatableSecrets, type RotatableSecret } from "../config/rotation";

/** A pattern for the URN of a secret's resource: parent component type, resource type and name ending. */
export interface SecretResourceMatcher {
    /** The end of the URN's type part: `<parent component type>$<resource type>`. */
    readonly typeSuffix: string;
    /** The end of the resource name, after the component name (which carries the stack name for origin resources). */
    readonly nameSuffix: string;
}

const originSecrets = "netos:docker:OriginSecrets";

/** The resources each `netos:rotation` value replaces; `pulumi up --replace` on them has the same effect. */
export const secretResources: Record<RotatableSecret, readonly SecretResourceMatcher[]> = {
    cookieSecret: [{ typeSuffix: `${originSecrets}$random:index/randomBytes:RandomBytes`, nameSuffix: "-cookie-secret" }],
    clientSecret: [{ typeSuffix: "netos:entra:Application$azuread:index/applicationPassword:ApplicationPassword", nameSuffix: "-client-secret" }],
    accessClientSecret: [{ typeSuffix: "netos:cloudflare:Access$azuread:index/applicationPassword:ApplicationPassword", nameSuffix: "-idp-password" }],
    tunnelSecret: [{ typeSuffix: "netos:cloudflare:Tunnel$random:index/randomBytes:RandomBytes", nameSuffix: "-secret" }],
    postgresPassword: [
        { typeSuffix: `${originSecrets}$random:index/randomPassword:RandomPassword`, nameSuffix: "-postgres-superuser-password" },
        { typeSuffix: `${originSecrets}$random:index/randomPassword:RandomPassword`, nameSuffix: "-postgres-api-password" },
    ],
    redisPassword: [{ typeSuffix: `${originSecrets}$random:index/randomPassword:RandomPassword`, nameSuffix: "-redis-password" }],
};

/** Splits a URN (`urn:pulumi:<stack>::<project>::<type chain>::<name>`) into its type chain and name. */
function parseUrn(urn: string): { typeChain: string; name: string } | undefined {
    const parts = urn.split("::");
    if (parts.length < 4 || !parts[0]?.startsWith("urn:pulumi:")) {
        return undefined;
    }
    return { typeChain: parts[2] ?? "", name: parts.slice(3).join("::") };
}

/** Returns, for each rotatable secret, the URNs among `urns` of the resources that hold it, in input order. */
export function secretUrns(urns: readonly string[]): Record<RotatableSecret, string[]> {
    const found = Object.fromEntries(rotatableSecrets.map((secret) => [secret, [] as string[]])) as Record<RotatableSecret, string[]>;
    for (const urn of urns) {
        const parsed = parseUrn(urn);
        if (parsed === undefined) {
            continue;
        }
        for (const secret of rotatableSecrets) {
            const matches = secretResources[secret].some(
                (matcher) => parsed.typeChain.endsWith(matcher.typeSuffix) && parsed.name.endsWith(matcher.nameSuffix),
            );
            if (matches) {
                found[secret].push(urn);
            }
        }
    }
    return found;
}

/** Reads the URNs of a stack's resources from `pulumi stack export`. */
function exportedUrns(stack: string | undefined): string[] {
    const args = ["stack", "export", ...(stack === undefined ? [] : ["--stack", stack])];
    const result = spawnSync("pulumi", args, { encoding: "utf8", maxBuffer: 256 * 1024 * 1024 });
    if (result.error !== undefined) {
        throw new Error(`failed to run pulumi ${args.join(" ")}: ${result.error.message}. Install the Pulumi CLI and log in to the stack's backend.`);
    }
    if (result.status !== 0) {
        throw new Error(`pulumi ${args.join(" ")} failed with exit status ${result.status}: ${result.stderr.trim()}`);
    }
    const exported = JSON.parse(result.stdout) as { deployment?: { resources?: { urn?: unknown }[] } };
    return (exported.deployment?.resources ?? []).map((resource) => resource.urn).filter((urn): urn is string => typeof urn === "string");
}

function parseArgs(argv: readonly string[]): { stack?: string; secret?: RotatableSecret } {
    const usage = `usage: npx tsx scripts/secret-urns.ts [--stack <stack>] [${rotatableSecrets.join("|")}]`;
    let stack: string | undefined;
    let secret: RotatableSecret | undefined;
    for (let index = 0; index < argv.length; index++) {
        const arg = argv[index] as string;
        if (arg === "--stack") {
            stack = argv[++index];
            if (stack === undefined) {
                throw new Error(`missing value for --stack: give a stack name, e.g. --stack prod.\n${usage}`);
            }
        } else if ((rotatableSecrets as readonly string[]).includes(arg) && secret === undefined) {
            secret = arg as RotatableSecret;
        } else {
            throw new Error(`unknown argument "${arg}": expected --stack <stack> or one secret name.\n${usage}`);
        }
    }
    return { stack, secret };
}

function main(): void {
    const { stack, secret } = parseArgs(process.argv.slice(2));
    const found = secretUrns(exportedUrns(stack));

    if (secret !== undefined) {
        if (found[secret].length === 0) {
            const reason =
                secret === "accessClientSecret"
                    ? "Access is off or uses an existing identity provider, or the stack was never deployed"
                    : "the stack was never deployed, or its state is from an older version of this program";
            console.error(`${secret} not found in this stack: no resource contains it, because ${reason}.`);
            process.exitCode = 1;
            return;
        }
        console.log(found[secret].join("\n"));
        return;
    }

    for (const name of rotatableSecrets) {
        if (found[name].length === 0) {
            console.log(`${name} (no resource in this stack)`);
        }
        for (const urn of found[name]) {
            console.log(`${name} ${urn}`);
        }
    }
}

if (require.main === module) {
    try {
        main();
    } catch (error) {
        console.error(`secret-urns: ${error instanceof Error ? error.message : String(error)}`);
        process.exitCode = 1;
    }
}
