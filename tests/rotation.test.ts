/**
 * Secret rotation under mocks: which resources a rotation changes, and the
 * Entra client secret's expiry. Each rotation runs the program twice with only
 * one `netos:rotation` value changed and compares every resource's inputs.
 */
import { afterEach, describe, mock, test } from "node:test";
import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { isDeepStrictEqual } from "node:util";
import * as pulumi from "@pulumi/pulumi";

import { clientSecretWarningDays, daysUntil } from "../components/entraApplication";
import { rotatableSecrets, type RotatableSecret } from "../config/rotation";
import { secretUrns } from "../scripts/secret-urns";
import { mockedInvokes, mockedOutputs, repoRoot, resourcesOfType, runProgram, runProgramSettled, type ProgramRun, type RecordedResource } from "./support/mocks";

const types = {
    randomBytes: "random:index/randomBytes:RandomBytes",
    randomPassword: "random:index/randomPassword:RandomPassword",
    applicationPassword: "azuread:index/applicationPassword:ApplicationPassword",
    tunnel: "cloudflare:index/zeroTrustTunnelCloudflared:ZeroTrustTunnelCloudflared",
    identityProvider: "cloudflare:index/zeroTrustAccessIdentityProvider:ZeroTrustAccessIdentityProvider",
    container: "docker:index/container:Container",
    volume: "docker:index/volume:Volume",
} as const;

const tunnelTokenInvoke = "cloudflare:index/getZeroTrustTunnelCloudflaredToken:getZeroTrustTunnelCloudflaredToken";

interface ExpectedResource {
    readonly type: string;
    readonly name: string;
}

const container = (service: string): ExpectedResource => ({ type: types.container, name: `netos-prod-${service}-container` });

/**
 * The resources whose inputs each rotation changes in the production stack:
 * the secret's own resources first, then their consumers.
 */
const blastRadius: Record<RotatableSecret, { readonly secrets: readonly ExpectedResource[]; readonly consumers: readonly ExpectedResource[] }> = {
    cookieSecret: {
        secrets: [{ type: types.randomBytes, name: "netos-prod-secrets-cookie-secret" }],
        consumers: [container("sso-proxy")],
    },
    clientSecret: {
        secrets: [{ type: types.applicationPassword, name: "netos-client-secret" }],
        consumers: [container("sso-proxy")],
    },
    accessClientSecret: {
        secrets: [{ type: types.applicationPassword, name: "netos-idp-password" }],
        consumers: [{ type: types.identityProvider, name: "netos-idp" }],
    },
    tunnelSecret: {
        secrets: [{ type: types.randomBytes, name: "netos-secret" }],
        // The tunnel takes the new secret (the provider updates it in place),
        // and the connector token embeds the secret, so cloudflared gets a new token.
        consumers: [{ type: types.tunnel, name: "netos-tunnel" }, container("cloudflared")],
    },
    postgresPassword: {
        secrets: [
            { type: types.randomPassword, name: "netos-prod-secrets-postgres-superuser-password" },
            { type: types.randomPassword, name: "netos-prod-secrets-postgres-api-password" },
        ],
        consumers: [container("postgres"), container("api")],
    },
    redisPassword: {
        secrets: [{ type: types.randomPassword, name: "netos-prod-secrets-redis-password" }],
        consumers: [container("redis"), container("api"), container("sso-proxy")],
    },
};

// The shared mocks derive a random value from the resource name alone, so a
// replaced secret would keep its value. The providers return a new value on
// every replacement, which a change of `keepers` (random) or
// `rotateWhenChanged` (azuread) causes, and `pulumi up --replace` does too.
// These handlers model that for this file's process only.
const replacedNames = new Set<string>();

function digestOf(...parts: unknown[]): string {
    return createHash("sha256").update(JSON.stringify(parts)).digest("hex");
}

/** Returns a seed that changes whenever the provider would generate a new value. */
function valueSeed(name: string, inputs: Record<string, any>): string {
    return digestOf(name, inputs.keepers ?? null, inputs.rotateWhenChanged ?? null, replacedNames.has(name));
}

function seededBytes(seed: string, length: number): Buffer {
    const blocks: Buffer[] = [];
    for (let block = 0; blocks.length * 32 < length; block++) {
        blocks.push(createHash("sha256").update(`${seed}:${block}`).digest());
    }
    return Buffer.concat(blocks).subarray(0, length);
}

const applicationPasswordOutputs = mockedOutputs[types.applicationPassword];
let clientSecretEndDate: string | undefined;

mockedOutputs[types.randomBytes] = (name, inputs) => {
    const bytes = seededBytes(valueSeed(name, inputs), inputs.length ?? 32);
    return { base64: bytes.toString("base64"), hex: bytes.toString("hex") };
};
mockedOutputs[types.randomPassword] = (name, inputs) => ({
    // Letters and digits only, as the provider returns with special: false.
    result: seededBytes(valueSeed(name, inputs), inputs.length ?? 32).toString("hex").slice(0, inputs.length ?? 32),
    bcryptHash: "mock",
});
mockedOutputs[types.applicationPassword] = (name, inputs) => {
    const outputs = applicationPasswordOutputs?.(name, inputs) ?? {};
    const endDate = name === "netos-client-secret" && clientSecretEndDate !== undefined ? clientSecretEndDate : outputs.endDate;
    return { ...outputs, endDate, value: `mock-password-value-${name}-${valueSeed(name, inputs).slice(0, 12)}` };
};

// A connector token is base64 of the JSON {a: account tag, t: tunnel id, s:
// tunnel secret}, so a new tunnel secret means a new token. The tunnel's
// handler records its secret by the id the mocks give it (`<name>-id`).
const tunnelSecrets = new Map<string, string>();
const tunnelOutputs = mockedOutputs[types.tunnel];
mockedOutputs[types.tunnel] = (name, inputs) => {
    tunnelSecrets.set(`${name}-id`, inputs.tunnelSecret);
    return tunnelOutputs?.(name, inputs) ?? {};
};
mockedInvokes[tunnelTokenInvoke] = (inputs) => {
    const secret = tunnelSecrets.get(inputs.tunnelId);
    if (secret === undefined) {
        throw new Error(`tunnel token requested for unknown tunnel id ${inputs.tunnelId}: the program never created that tunnel`);
    }
    const token = Buffer.from(JSON.stringify({ a: inputs.accountId, t: inputs.tunnelId, s: secret })).toString("base64");
    return { accountId: inputs.accountId, tunnelId: inputs.tunnelId, token };
};

function describeResource(resource: ExpectedResource): string {
    return `${resource.type} ${resource.name}`;
}

function byUrn(run: ProgramRun): Map<string, RecordedResource> {
    return new Map(run.resources.map((resource) => [resource.urn, resource]));
}

/** Returns the resources whose inputs differ between two runs, as "type name", sorted. */
function changedResources(before: ProgramRun, after: ProgramRun): string[] {
    const afterByUrn = byUrn(after);
    return before.resources
        .filter((resource) => !isDeepStrictEqual(resource.inputs, afterByUrn.get(resource.urn)?.inputs))
        .map(describeResource)
        .sort();
}

/** Fails with the table's fix when an expected resource is not registered, so the comparison cannot pass vacuously. */
function assertRegistered(run: ProgramRun, expected: readonly ExpectedResource[], secret: string): void {
    for (const resource of expected) {
        const found = run.resources.some((candidate) => candidate.type === resource.type && candidate.name === resource.name);
        const registered = resourcesOfType(run, resource.type).map((candidate) => candidate.name);
        assert.ok(
            found,
            `${secret}: expected resource ${describeResource(resource)} is not registered (registered of that type: [${registered.join(", ")}]); ` +
                "if it was renamed, update blastRadius in tests/rotation.test.ts",
        );
    }
}

/** Returns the URNs a resource depends on, directly or through other resources. */
function transitiveDependencies(run: ProgramRun, urn: string): Set<string> {
    const resources = byUrn(run);
    const found = new Set<string>();
    const pending = [urn];
    while (pending.length > 0) {
        const current = pending.pop() as string;
        for (const dependency of resources.get(current)?.options.dependsOn ?? []) {
            if (!found.has(dependency)) {
                found.add(dependency);
                pending.push(dependency);
            }
        }
    }
    return found;
}

function assertSameUrns(before: ProgramRun, after: ProgramRun): void {
    assert.deepEqual([...byUrn(after).keys()].sort(), [...byUrn(before).keys()].sort(), "the rotation added or removed resources");
}

function assertVolumesUnchanged(before: ProgramRun, after: ProgramRun): void {
    const volumes = resourcesOfType(before, types.volume);
    assert.ok(volumes.length >= 2, `expected the PostgreSQL and Redis data volumes, found ${volumes.length}`);
    const afterByUrn = byUrn(after);
    for (const volume of volumes) {
        assert.deepEqual(afterByUrn.get(volume.urn)?.inputs, volume.inputs, `data volume ${volume.name} changed`);
    }
}

/** Runs the program once per distinct rotation config and set of replaced resources, and reuses the result. */
const runCache = new Map<string, Promise<ProgramRun>>();

function runWithRotation(rotation: Partial<Record<RotatableSecret, string>>): Promise<ProgramRun> {
    const key = JSON.stringify([rotation, [...replacedNames].sort()]);
    let run = runCache.get(key);
    if (run === undefined) {
        run = runProgram(Object.keys(rotation).length === 0 ? {} : { config: { rotation } });
        runCache.set(key, run);
    }
    return run;
}

describe("rotation blast radius", () => {
    test("table covers every secret", () => {
        assert.deepEqual(Object.keys(blastRadius).sort(), [...rotatableSecrets].sort());
    });

    test("baseline runs are identical", async () => {
        const first = await runProgram();
        const second = await runProgram();
        assert.ok(first.resources.length > 0);
        assert.deepEqual(changedResources(first, second), []);
    });

    for (const secret of rotatableSecrets) {
        test(`${secret} config rotation`, async () => {
            const before = await runWithRotation({});
            const after = await runWithRotation({ [secret]: "2026-12-04" });
            const { secrets, consumers } = blastRadius[secret];
            assertRegistered(before, [...secrets, ...consumers], secret);

            assertSameUrns(before, after);
            assert.deepEqual(changedResources(before, after), [...secrets, ...consumers].map(describeResource).sort());
            assertVolumesUnchanged(before, after);
        });

        test(`${secret} second rotation`, async () => {
            const before = await runWithRotation({ [secret]: "2026-12-04" });
            const after = await runWithRotation({ [secret]: "2027-03-01" });
            const { secrets, consumers } = blastRadius[secret];
            assert.deepEqual(changedResources(before, after), [...secrets, ...consumers].map(describeResource).sort());
        });

        // `pulumi up --replace <urn>` gives the secret resource a new value
        // without changing its inputs, so only its consumers' inputs change.
        test(`${secret} replace by URN`, async () => {
            const { secrets, consumers } = blastRadius[secret];
            const before = await runWithRotation({});
            assertRegistered(before, [...secrets, ...consumers], secret);
            for (const resource of secrets) {
                replacedNames.add(resource.name);
            }
            let after: ProgramRun;
            try {
                after = await runWithRotation({});
            } finally {
                replacedNames.clear();
            }

            assertSameUrns(before, after);
            assert.deepEqual(changedResources(before, after), consumers.map(describeResource).sort());
            assertVolumesUnchanged(before, after);
        });
    }

    // Pulumi orders a replacement by dependencies: the new secret first, then
    // its consumers, and only then the deletion of the old secret.
    for (const secret of rotatableSecrets) {
        test(`${secret} consumers depend on it`, async () => {
            const run = await runWithRotation({});
            const { secrets, consumers } = blastRadius[secret];
            assertRegistered(run, [...secrets, ...consumers], secret);
            const urnOf = (expected: ExpectedResource) =>
                (run.resources.find((candidate) => candidate.type === expected.type && candidate.name === expected.name) as RecordedResource).urn;
            for (const consumer of consumers) {
                const dependencies = transitiveDependencies(run, urnOf(consumer));
                for (const secretResource of secrets) {
                    assert.ok(dependencies.has(urnOf(secretResource)), `${consumer.name} does not depend on ${secretResource.name}`);
                }
            }
        });
    }

    test("secrets are created before deletion", async () => {
        const run = await runWithRotation({});
        for (const { secrets } of Object.values(blastRadius)) {
            for (const expected of secrets) {
                const resource = run.resources.find((candidate) => candidate.type === expected.type && candidate.name === expected.name);
                assert.ok(resource, `${describeResource(expected)} is not registered`);
                assert.equal(resource.options.deleteBeforeReplace, false, `${expected.name} is deleted before its replacement exists`);
            }
        }
    });

    test("SSO proxy replaced create-first", async () => {
        const run = await runWithRotation({});
        const ssoProxy = run.resources.find((candidate) => candidate.type === types.container && candidate.name === container("sso-proxy").name);
        assert.ok(ssoProxy, "the SSO proxy container is not registered");
        // The old OAuth2-Proxy keeps serving with the old client secret until the new one is healthy.
        assert.equal(ssoProxy.options.deleteBeforeReplace, false);
    });
});

describe("Entra client secret expiry", () => {
    afterEach(() => {
        clientSecretEndDate = undefined;
        mock.restoreAll();
    });

    test("end dates within 12 months", async () => {
        const run = await runProgram();
        const passwords = resourcesOfType(run, types.applicationPassword);
        assert.deepEqual(passwords.map((password) => password.name).sort(), ["netos-client-secret", "netos-idp-password"]);
        for (const password of passwords) {
            const hours = Number.parseInt(String(password.inputs.endDateRelative), 10);
            assert.match(String(password.inputs.endDateRelative), /^[0-9]+h$/, `${password.name} has no relative end date`);
            assert.ok(hours > 0, `${password.name} has a validity of ${hours} hours`);
            assert.ok(hours <= 365 * 24, `${password.name} is valid for ${hours} hours, more than 12 months`);
            assert.equal(password.inputs.endDate, undefined, `${password.name} sets a fixed end date`);
        }
    });

    test("validity over a year rejected", async () => {
        const { run, error } = await runProgramSettled({ config: { clientSecretValidityDays: "366" } });
        assert.ok(error instanceof Error, "366 days was accepted");
        assert.match(error.message, /netos:clientSecretValidityDays/);
        assert.equal(run.resources.length, 0);
    });

    test("expiry date exported", async () => {
        clientSecretEndDate = "2027-05-01T00:00:00Z";
        const run = await runProgram();
        assert.equal(run.outputs.entraClientSecretExpiresAt?.value, "2027-05-01T00:00:00Z");
        assert.equal(run.outputs.entraClientSecretExpiresAt?.secret, false);
    });

    test("preview warns under 30 days", async () => {
        clientSecretEndDate = new Date(Date.now() + 10 * 86_400_000).toISOString();
        const warn = mock.method(pulumi.log, "warn", async () => undefined);
        await runProgram({ preview: true });

        const messages = warn.mock.calls.map((call) => String(call.arguments[0]));
        const expiring = messages.filter((message) => message.includes("Entra client secret expires"));
        assert.equal(expiring.length, 1, `warnings: ${JSON.stringify(messages)}`);
        assert.match(expiring[0] ?? "", /\(9 days from now\)|\(10 days from now\)/);
        assert.match(expiring[0] ?? "", /netos:rotation\.clientSecret/);
        assert.equal(clientSecretWarningDays, 30);
    });

    test("no warning at 31 days", async () => {
        clientSecretEndDate = new Date(Date.now() + 31 * 86_400_000 + 3_600_000).toISOString();
        assert.equal(daysUntil(clientSecretEndDate), 31);
        const warn = mock.method(pulumi.log, "warn", async () => undefined);
        await runProgram({ preview: true });

        const messages = warn.mock.calls.map((call) => String(call.arguments[0]));
        assert.deepEqual(messages.filter((message) => message.includes("Entra client secret expires")), []);
    });
});

describe("secret-urns script", () => {
    test("finds each secret's resources", async () => {
        const run = await runWithRotation({});
        const found = secretUrns(run.resources.map((resource) => resource.urn));
        for (const secret of rotatableSecrets) {
            const expected = blastRadius[secret].secrets.map((resource) => {
                const match = run.resources.find((candidate) => candidate.type === resource.type && candidate.name === resource.name);
                assert.ok(match, `${describeResource(resource)} is not registered`);
                return match.urn;
            });
            assert.deepEqual(found[secret].sort(), expected.sort(), secret);
        }
    });

    test("matches full parent chains", () => {
        // The engine puts every ancestor's type in a URN; the mocks put only the parent's.
        const urn = "urn:pulumi:prod::netos::netos:docker:Origin$netos:docker:OriginSecrets$random:index/randomBytes:RandomBytes::netos-prod-secrets-cookie-secret";
        const found = secretUrns([urn, "urn:pulumi:prod::netos::netos:docker:Origin$netos:docker:Service$docker:index/container:Container::netos-prod-sso-proxy-container"]);
        assert.deepEqual(found.cookieSecret, [urn]);
        assert.deepEqual(found.tunnelSecret, []);
    });

    test("reads pulumi stack export", async () => {
        const run = await runWithRotation({});
        const binDir = mkdtempSync(path.join(os.tmpdir(), "netos-secret-urns-"));
        try {
            // A stand-in for the Pulumi CLI that prints an export of the mocked stack and records its arguments.
            const exported = JSON.stringify({ version: 3, deployment: { resources: run.resources.map((resource) => ({ urn: resource.urn, type: resource.type })) } });
            writeFileSync(path.join(binDir, "export.json"), exported);
            writeFileSync(path.join(binDir, "pulumi"), `#!/bin/sh\necho "$@" > "${binDir}/args"\ncat "${binDir}/export.json"\n`);
            chmodSync(path.join(binDir, "pulumi"), 0o755);

            const script = path.join(repoRoot, "scripts", "secret-urns.ts");
            const env = { ...process.env, PATH: `${binDir}:${process.env.PATH ?? ""}` };
            const result = spawnSync(process.execPath, ["--import", "tsx", script, "--stack", "prod", "postgresPassword"], { cwd: repoRoot, env, encoding: "utf8" });
            assert.equal(result.status, 0, result.stderr);
            assert.deepEqual(result.stdout.trim().split("\n").sort(), secretUrns(run.resources.map((resource) => resource.urn)).postgresPassword.sort());
            assert.equal(readFileSync(path.join(binDir, "args"), "utf8").trim(), "stack export --stack prod");

            const unknown = spawnSync(process.execPath, ["--import", "tsx", script, "cookie"], { cwd: repoRoot, env, encoding: "utf8" });
            assert.equal(unknown.status, 1);
            assert.match(unknown.stderr, /unknown argument "cookie"/);
        } finally {
            rmSync(binDir, { recursive: true, force: true });
        }
    });
});
