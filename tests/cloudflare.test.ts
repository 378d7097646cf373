import assert from "node:assert/strict";
import { before, describe, test } from "node:test";
import * as pulumi from "@pulumi/pulumi";
import { accessCallbackUrl, accessGraphScopes, CloudflareAccess } from "../components/cloudflareAccess";
import { catchAllIngressService, CloudflareTunnel } from "../components/cloudflareTunnel";
import { candidateZoneNames } from "../config/cloudflare";
import { graphDelegatedScopeIds } from "../graphPermissions";
import { oauth2CallbackUrl, publicOriginOf, serviceUrl } from "../services";
import {
    fakeGuid,
    findResource,
    mockCloudflare,
    mockedInvokes,
    ProgramRun,
    RecordedResource,
    resolveOutput,
    resourcesOfType,
    runProgram,
    runProgramSettled,
} from "./support/mocks";

const types = {
    tunnel: "cloudflare:index/zeroTrustTunnelCloudflared:ZeroTrustTunnelCloudflared",
    tunnelConfig: "cloudflare:index/zeroTrustTunnelCloudflaredConfig:ZeroTrustTunnelCloudflaredConfig",
    dnsRecord: "cloudflare:index/dnsRecord:DnsRecord",
    accessApplication: "cloudflare:index/zeroTrustAccessApplication:ZeroTrustAccessApplication",
    accessPolicy: "cloudflare:index/zeroTrustAccessPolicy:ZeroTrustAccessPolicy",
    identityProvider: "cloudflare:index/zeroTrustAccessIdentityProvider:ZeroTrustAccessIdentityProvider",
    applicationPassword: "azuread:index/applicationPassword:ApplicationPassword",
    redirectUris: "azuread:index/applicationRedirectUris:ApplicationRedirectUris",
    application: "azuread:index/application:Application",
    consent: "azuread:index/servicePrincipalDelegatedPermissionGrant:ServicePrincipalDelegatedPermissionGrant",
    randomBytes: "random:index/randomBytes:RandomBytes",
    accessComponent: "netos:cloudflare:Access",
    tunnelComponent: "netos:cloudflare:Tunnel",
} as const;

const hostname = "netos.xiberian.net";
const tenantId = "4944843d-e347-4fe7-a279-4006ce5efc33";
const productionGroups = ["NetOS Executives", "NetOS Finance", "NetOS Network Engineering"];
const tokenInvoke = "cloudflare:index/getZeroTrustTunnelCloudflaredToken:getZeroTrustTunnelCloudflaredToken";
const organizationInvoke = "cloudflare:index/getZeroTrustOrganization:getZeroTrustOrganization";
const zonesInvoke = "cloudflare:index/getZones:getZones";

/** Returns the value at a dotted path of an object, or undefined. */
function valueAt(value: unknown, path: string): unknown {
    return path.split(".").reduce<any>((current, key) => (current === undefined || current === null ? undefined : current[key]), value);
}

/** Returns the dotted paths of every string in `value` that contains `needle`. */
function pathsContaining(value: unknown, needle: string, prefix = ""): string[] {
    if (typeof value === "string") {
        return value.includes(needle) ? [prefix] : [];
    }
    if (value === null || typeof value !== "object") {
        return [];
    }
    return Object.entries(value).flatMap(([key, child]) => pathsContaining(child, needle, prefix === "" ? key : `${prefix}.${key}`));
}

/** Returns the inputs of `resource` that contain `needle` but are not marked secret. */
function plainPathsContaining(resource: RecordedResource, needle: string): string[] {
    return pathsContaining(resource.inputs, needle).filter(
        (path) => !resource.secretInputPaths.some((secretPath) => path === secretPath || path.startsWith(`${secretPath}.`)),
    );
}

/** Replaces one mocked invoke for the duration of `body`. */
async function withInvoke<T>(token: string, handler: (inputs: Record<string, any>) => Record<string, any>, body: () => Promise<T>): Promise<T> {
    const original = mockedInvokes[token];
    mockedInvokes[token] = handler;
    try {
        return await body();
    } finally {
        mockedInvokes[token] = original;
    }
}

/** Waits until the components built in a test have finished registering, before the next run resets the mocks. */
async function waitForRegistrations(): Promise<void> {
    await (pulumi.runtime as unknown as { waitForRPCs(): Promise<void> }).waitForRPCs();
}

function ingressesOf(run: ProgramRun): Record<string, any>[] {
    return findResource(run, types.tunnelConfig).inputs.config.ingresses;
}

describe("Cloudflare (production config)", () => {
    let run: ProgramRun;
    before(async () => {
        run = await runProgram();
    });

    test("zone looked up longest first", () => {
        const lookups = run.invokes.filter((invoke) => invoke.token === zonesInvoke).map((invoke) => invoke.inputs.name);
        assert.deepEqual(lookups, ["netos.xiberian.net", "xiberian.net"]);
    });

    test("remotely managed tunnel", () => {
        const tunnel = findResource(run, types.tunnel);
        assert.equal(tunnel.inputs.configSrc, "cloudflare");
        assert.equal(tunnel.inputs.name, "netos-prod");
        assert.equal(tunnel.inputs.accountId, mockCloudflare.accountId);
        assert.equal(Buffer.from(tunnel.inputs.tunnelSecret, "base64").length, 32);
        assert.equal(tunnel.options.deleteBeforeReplace, true);
    });

    test("tunnel secret is secret", () => {
        const tunnel = findResource(run, types.tunnel);
        assert.ok(tunnel.secretInputPaths.includes("tunnelSecret"), `secret paths: ${tunnel.secretInputPaths.join(", ")}`);
        const bytes = findResource(run, types.randomBytes, "netos-secret");
        assert.equal(bytes.inputs.length, 32);
        assert.deepEqual(bytes.inputs.keepers, { rotation: "" });
    });

    test("ingress rules in order", () => {
        const ingresses = ingressesOf(run);
        assert.equal(ingresses.length, 2);
        assert.equal(ingresses[0].hostname, hostname);
        assert.equal(ingresses[0].service, serviceUrl("ssoProxy"));
        assert.equal(ingresses[0].service, "http://sso-proxy:4180");
    });

    test("catch-all rule last", () => {
        const last = ingressesOf(run).at(-1)!;
        assert.equal(last.hostname, undefined);
        assert.equal(last.path, undefined);
        assert.equal(last.service, catchAllIngressService);
        assert.equal(catchAllIngressService, "http_status:404");
    });

    test("no ingress to localhost", () => {
        for (const ingress of ingressesOf(run)) {
            assert.doesNotMatch(String(ingress.service), /localhost|127\.\d+\.\d+\.\d+|\[::1\]|0\.0\.0\.0/, `ingress ${ingress.hostname} points at loopback`);
        }
    });

    test("config targets the tunnel", () => {
        const config = findResource(run, types.tunnelConfig);
        assert.equal(config.inputs.tunnelId, run.outputs.tunnelId.value);
        assert.equal(config.inputs.accountId, mockCloudflare.accountId);
        assert.equal(config.inputs.source, "cloudflare");
    });

    test("DNS record proxied to tunnel", () => {
        const record = findResource(run, types.dnsRecord);
        assert.equal(record.inputs.zoneId, mockCloudflare.zoneId);
        assert.equal(record.inputs.name, hostname);
        assert.equal(record.inputs.type, "CNAME");
        assert.equal(record.inputs.content, `${run.outputs.tunnelId.value}.cfargotunnel.com`);
        assert.equal(record.inputs.proxied, true);
        assert.equal(record.inputs.ttl, 1);
    });

    test("connector token read for tunnel", () => {
        const lookups = run.invokes.filter((invoke) => invoke.token === tokenInvoke);
        assert.equal(lookups.length, 1);
        assert.equal(lookups[0].inputs.tunnelId, run.outputs.tunnelId.value);
        assert.equal(lookups[0].inputs.accountId, mockCloudflare.accountId);
    });

    test("connector token never plain", () => {
        const token = `mock-tunnel-token-${run.outputs.tunnelId.value}`;
        for (const resource of run.resources) {
            assert.deepEqual(plainPathsContaining(resource, token), [], `${resource.name} has the connector token in plain inputs`);
        }
    });

    test("Access application on hostname", () => {
        const application = findResource(run, types.accessApplication);
        const identityProvider = findResource(run, types.identityProvider);
        const policy = findResource(run, types.accessPolicy);
        assert.equal(application.inputs.type, "self_hosted");
        assert.equal(application.inputs.domain, hostname);
        assert.deepEqual(application.inputs.destinations, [{ type: "public", uri: hostname }]);
        assert.equal(application.inputs.accountId, mockCloudflare.accountId);
        assert.equal(application.inputs.autoRedirectToIdentity, true);
        assert.deepEqual(application.inputs.allowedIdps, [`${identityProvider.name}-id`]);
        assert.deepEqual(application.inputs.policies, [{ id: `${policy.name}-id`, precedence: 1 }]);
    });

    test("policy admits only Entra groups", () => {
        const policy = findResource(run, types.accessPolicy);
        const identityProvider = findResource(run, types.identityProvider);
        assert.equal(policy.inputs.decision, "allow");
        const includes = policy.inputs.includes as Record<string, any>[];
        assert.equal(includes.length, productionGroups.length);
        for (const include of includes) {
            assert.deepEqual(Object.keys(include), ["azureAd"]);
            assert.equal(include.azureAd.identityProviderId, `${identityProvider.name}-id`);
        }
        assert.deepEqual(
            includes.map((include) => include.azureAd.id).sort(),
            productionGroups.map((group) => fakeGuid(`group:${group}`)).sort(),
        );
    });

    test("no everyone rule", () => {
        const policy = findResource(run, types.accessPolicy);
        for (const list of ["includes", "requires", "excludes"]) {
            for (const rule of (policy.inputs[list] ?? []) as Record<string, unknown>[]) {
                assert.equal(rule.everyone, undefined, `${list} has an everyone rule`);
                assert.equal(rule.emailDomain, undefined, `${list} has an email domain rule`);
                assert.equal(rule.anyValidServiceToken, undefined, `${list} admits any service token`);
            }
        }
        const application = findResource(run, types.accessApplication);
        for (const policyReference of application.inputs.policies as Record<string, unknown>[]) {
            assert.deepEqual(Object.keys(policyReference).sort(), ["id", "precedence"]);
        }
    });

    test("audience tag reaches origin", () => {
        const access = ingressesOf(run)[0].originRequest.access;
        assert.equal(access.required, true);
        assert.deepEqual(access.audTags, ["mock-aud-netos-app"]);
        assert.equal(access.teamName, mockCloudflare.teamName);
    });

    test("identity provider for Entra", () => {
        const identityProvider = findResource(run, types.identityProvider);
        const application = findResource(run, types.application);
        assert.equal(identityProvider.inputs.type, "azureAD");
        assert.equal(identityProvider.inputs.accountId, mockCloudflare.accountId);
        assert.equal(identityProvider.inputs.config.directoryId, tenantId);
        assert.equal(identityProvider.inputs.config.clientId, fakeGuid(`client:${application.name}`));
        assert.equal(identityProvider.inputs.config.supportGroups, true);
    });

    test("identity provider secret is secret", () => {
        const identityProvider = findResource(run, types.identityProvider);
        const password = findResource(run, types.applicationPassword, "idp-password");
        assert.ok(identityProvider.secretInputPaths.includes("config.clientSecret"), `secret paths: ${identityProvider.secretInputPaths.join(", ")}`);
        assert.equal(identityProvider.inputs.config.clientSecret, `mock-password-value-${password.name}`);
        assert.ok(password.options.additionalSecretOutputs.includes("value"));
    });

    test("identity provider password", () => {
        const password = findResource(run, types.applicationPassword, "idp-password");
        const application = findResource(run, types.application);
        assert.equal(password.inputs.applicationId, `/applications/${fakeGuid(`object:${application.name}`)}`);
        assert.deepEqual(password.inputs.rotateWhenChanged, { rotation: "" });
        const hours = Number(/^(\d+)h$/.exec(password.inputs.endDateRelative)?.[1]);
        assert.ok(hours > 0, `endDateRelative ${password.inputs.endDateRelative} is not a positive number of hours`);
        assert.ok(hours <= 8760, `endDateRelative ${password.inputs.endDateRelative} is not within 12 months`);
        assert.equal(password.options.deleteBeforeReplace, false);
    });

    test("Access callback on Entra", () => {
        const uris = findResource(run, types.redirectUris).inputs.redirectUris as string[];
        assert.ok(uris.includes("https://xiber.cloudflareaccess.com/cdn-cgi/access/callback"), `redirect URIs: ${uris.join(", ")}`);
        assert.ok(uris.includes(oauth2CallbackUrl(publicOriginOf(hostname))), `redirect URIs: ${uris.join(", ")}`);
        assert.equal(accessCallbackUrl("xiber"), "https://xiber.cloudflareaccess.com/cdn-cgi/access/callback");
    });

    test("Graph scopes for group rules", () => {
        const requested = (findResource(run, types.application).inputs.requiredResourceAccesses[0].resourceAccesses as { id: string }[]).map(
            (access) => access.id,
        );
        const consented = findResource(run, types.consent).inputs.claimValues as string[];
        for (const scope of accessGraphScopes) {
            assert.ok(requested.includes(graphDelegatedScopeIds[scope]), `${scope} is not requested`);
            assert.ok(consented.includes(scope), `${scope} has no admin consent`);
        }
    });

    test("children parented to components", () => {
        const tunnelComponent = findResource(run, types.tunnelComponent);
        const accessComponent = findResource(run, types.accessComponent);
        for (const type of [types.tunnel, types.tunnelConfig, types.dnsRecord]) {
            assert.equal(findResource(run, type).options.parent, tunnelComponent.urn, `${type} is not a child of the tunnel component`);
        }
        for (const type of [types.accessApplication, types.accessPolicy, types.identityProvider]) {
            assert.equal(findResource(run, type).options.parent, accessComponent.urn, `${type} is not a child of the Access component`);
        }
        assert.equal(findResource(run, types.applicationPassword, "idp-password").options.parent, accessComponent.urn);
    });

    test("stack outputs", () => {
        assert.equal(run.outputs.tunnelId.value, "netos-tunnel-id");
        assert.equal(run.outputs.tunnelId.secret, false);
        assert.equal(run.outputs.accessAudTag.value, "mock-aud-netos-app");
        assert.equal(run.outputs.accessAudTag.secret, false);
        assert.equal(run.outputs.publicHostname.value, hostname);
    });
});

describe("Cloudflare components", () => {
    // Runs the program once so the mocks are set, then builds components directly.
    before(async () => {
        await runProgram();
    });

    test("connector token output secret", async () => {
        const tunnel = new CloudflareTunnel("direct", {
            accountId: mockCloudflare.accountId,
            zoneId: mockCloudflare.zoneId,
            hostname,
            tunnelName: "direct",
            secretRotation: "",
        });
        const token = await resolveOutput(tunnel.connectorToken);
        await waitForRegistrations();
        assert.equal(token.secret, true);
        assert.equal(token.value, "mock-tunnel-token-direct-tunnel-id");
    });

    test("audience tag output plain", async () => {
        const access = new CloudflareAccess("direct", {
            accountId: mockCloudflare.accountId,
            hostname,
            applicationName: "direct",
            groupObjectIds: [fakeGuid("group:direct")],
            identityProvider: { existingId: fakeGuid("idp:direct") },
        });
        const audTag = await resolveOutput(access.audTag);
        await waitForRegistrations();
        assert.equal(audTag.secret, false);
        assert.equal(audTag.value, "mock-aud-direct-app");
    });
});

describe("Cloudflare rotation", () => {
    test("tunnel secret keyed to rotation", async () => {
        const run = await runProgram({ config: { rotation: { tunnelSecret: "2026-12-04" } } });
        assert.deepEqual(findResource(run, types.randomBytes, "netos-secret").inputs.keepers, { rotation: "2026-12-04" });
    });

    test("Access secret keyed to rotation", async () => {
        const run = await runProgram({ config: { rotation: { accessClientSecret: "2026-12-04" } } });
        assert.deepEqual(findResource(run, types.applicationPassword, "idp-password").inputs.rotateWhenChanged, { rotation: "2026-12-04" });
        assert.deepEqual(findResource(run, types.applicationPassword, "netos-client-secret").inputs.rotateWhenChanged, { rotation: "" });
    });
});

describe("Access off", () => {
    let run: ProgramRun;
    before(async () => {
        run = await runProgram({ config: { accessEnabled: false } });
    });

    test("no Access resources", () => {
        for (const type of [types.accessApplication, types.accessPolicy, types.identityProvider, types.accessComponent]) {
            assert.equal(resourcesOfType(run, type).length, 0, `${type} registered`);
        }
        assert.equal(
            resourcesOfType(run, types.applicationPassword).filter((password) => password.name.endsWith("idp-password")).length,
            0,
        );
    });

    test("no origin Access check", () => {
        assert.equal(ingressesOf(run)[0].originRequest, undefined);
    });

    test("tunnel and DNS kept", () => {
        assert.equal(resourcesOfType(run, types.tunnel).length, 1);
        assert.equal(findResource(run, types.dnsRecord).inputs.proxied, true);
    });

    test("no Access callback or scopes", () => {
        const uris = findResource(run, types.redirectUris).inputs.redirectUris as string[];
        assert.deepEqual(uris, [oauth2CallbackUrl(publicOriginOf(hostname))]);
        const consented = findResource(run, types.consent).inputs.claimValues as string[];
        for (const scope of accessGraphScopes) {
            assert.ok(!consented.includes(scope), `${scope} consented without Access`);
        }
    });

    test("no organization lookup", () => {
        assert.equal(run.invokes.filter((invoke) => invoke.token === organizationInvoke).length, 0);
    });

    test("no audience output", () => {
        assert.equal(run.outputs.accessAudTag, undefined);
    });

    test("groups not required", async () => {
        const withoutGroups = await runProgram({ config: { accessEnabled: false, roleGroups: {} } });
        assert.equal(resourcesOfType(withoutGroups, types.tunnel).length, 1);
    });
});

describe("existing identity provider", () => {
    const existingId = "7c3f5a52-1d7e-4b6a-9f0e-2a1b3c4d5e6f";
    let run: ProgramRun;
    before(async () => {
        run = await runProgram({ config: { accessIdentityProviderId: existingId } });
    });

    test("none created", () => {
        assert.equal(resourcesOfType(run, types.identityProvider).length, 0);
        assert.equal(resourcesOfType(run, types.applicationPassword).filter((password) => password.name.endsWith("idp-password")).length, 0);
    });

    test("application and policy use it", () => {
        assert.deepEqual(findResource(run, types.accessApplication).inputs.allowedIdps, [existingId]);
        for (const include of findResource(run, types.accessPolicy).inputs.includes as Record<string, any>[]) {
            assert.equal(include.azureAd.identityProviderId, existingId);
        }
    });

    test("no callback or scopes added", () => {
        const uris = findResource(run, types.redirectUris).inputs.redirectUris as string[];
        assert.deepEqual(uris, [oauth2CallbackUrl(publicOriginOf(hostname))]);
        const consented = findResource(run, types.consent).inputs.claimValues as string[];
        assert.ok(!consented.includes("Directory.Read.All"));
    });

    test("origin check still on", () => {
        assert.equal(ingressesOf(run)[0].originRequest.access.required, true);
    });
});

describe("team name from config", () => {
    let run: ProgramRun;
    before(async () => {
        run = await runProgram({ config: { accessTeamName: "netos-team" } });
    });

    test("no organization lookup", () => {
        assert.equal(run.invokes.filter((invoke) => invoke.token === organizationInvoke).length, 0);
    });

    test("team name used", () => {
        assert.equal(ingressesOf(run)[0].originRequest.access.teamName, "netos-team");
        const uris = findResource(run, types.redirectUris).inputs.redirectUris as string[];
        assert.ok(uris.includes("https://netos-team.cloudflareaccess.com/cdn-cgi/access/callback"), `redirect URIs: ${uris.join(", ")}`);
    });
});

describe("zone lookup", () => {
    test("candidate zone names", () => {
        assert.deepEqual(candidateZoneNames("a.b.example.com"), ["a.b.example.com", "b.example.com", "example.com"]);
        assert.deepEqual(candidateZoneNames("example.com"), ["example.com"]);
    });

    test("longest zone wins", async () => {
        const zones: Record<string, string> = { "xiberian.net": "zone-outer", "eu.xiberian.net": "zone-inner" };
        const run = await withInvoke(
            zonesInvoke,
            (inputs) => ({
                results: zones[inputs.name] ? [{ id: zones[inputs.name], name: inputs.name, account: { id: mockCloudflare.accountId, name: "Xiber" } }] : [],
            }),
            () => runProgram({ config: { hostname: "netos.eu.xiberian.net" } }),
        );
        assert.equal(findResource(run, types.dnsRecord).inputs.zoneId, "zone-inner");
    });

    test("zone name matched exactly", async () => {
        // A zone whose name only resembles the candidate must not be taken.
        const { run, error } = await withInvoke(
            zonesInvoke,
            (inputs) => ({ results: [{ id: "zone-other", name: `other-${inputs.name}`, account: { id: mockCloudflare.accountId, name: "Xiber" } }] }),
            () => runProgramSettled(),
        );
        assert.ok(error instanceof Error);
        assert.match(error.message, /no Cloudflare zone contains "netos\.xiberian\.net"/);
        assert.equal(run.resources.length, 0);
    });
});

describe("Cloudflare bad inputs", () => {
    async function expectConfigError(options: Parameters<typeof runProgramSettled>[0], ...patterns: RegExp[]): Promise<void> {
        const { run, error } = await runProgramSettled(options);
        assert.ok(error instanceof Error, "the program did not fail");
        assert.equal(error.name, "ConfigError");
        for (const pattern of patterns) {
            assert.match(error.message, pattern);
        }
        assert.equal(run.resources.length, 0, `registered ${run.resources.map((resource) => resource.name).join(", ")}`);
    }

    test("hostname outside zones", async () => {
        await expectConfigError(
            { config: { hostname: "netos.example.org" } },
            /netos:hostname: no Cloudflare zone contains "netos\.example\.org"/,
            /"netos\.example\.org", "example\.org"/,
            /Fix: set netos:hostname/,
        );
    });

    test("Access without groups", async () => {
        await expectConfigError({ config: { roleGroups: {} } }, /netos:roleGroups: names no group/, /pulumi config set netos:accessEnabled false/);
    });

    test("team domain as team name", async () => {
        await expectConfigError(
            { config: { accessTeamName: "xiber.cloudflareaccess.com" } },
            /netos:accessTeamName: invalid value "xiber\.cloudflareaccess\.com"/,
            /pulumi config set netos:accessTeamName xiber/,
        );
    });

    test("identity provider id not GUID", async () => {
        await expectConfigError({ config: { accessIdentityProviderId: "entra" } }, /netos:accessIdentityProviderId: invalid value "entra": must be a GUID/);
    });

    test("tunnel name with spaces", async () => {
        await expectConfigError({ config: { tunnelName: "netos prod" } }, /netos:tunnelName: invalid value "netos prod"/, /pulumi config set netos:tunnelName netos-prod/);
    });

    test("no Zero Trust organization", async () => {
        await withInvoke(
            organizationInvoke,
            () => {
                throw new Error("access.api.error.not_found: organization not found");
            },
            () => expectConfigError({}, /netos:accessEnabled: is true, but reading the Zero Trust organization of account \w+ failed/, /netos:accessEnabled false/),
        );
    });

    test("zone in two accounts", async () => {
        await withInvoke(
            zonesInvoke,
            (inputs) => ({
                results: [
                    { id: "zone-a", name: inputs.name, account: { id: "account-a", name: "A" } },
                    { id: "zone-b", name: inputs.name, account: { id: "account-b", name: "B" } },
                ],
            }),
            () => expectConfigError({}, /netos:hostname: the zone "netos\.xiberian\.net" exists in more than one account/, /A \(account-a\), B \(account-b\)/),
        );
    });
});

describe("Cloudflare preview", () => {
    let update: ProgramRun;
    let preview: ProgramRun;
    before(async () => {
        update = await runProgram();
        preview = await runProgram({ preview: true });
    });

    test("same resources as update", () => {
        const cloudflareUrns = (run: ProgramRun) =>
            run.resources
                .filter((resource) => resource.type.startsWith("cloudflare:") || resource.type.startsWith("netos:cloudflare:"))
                .map((resource) => resource.urn)
                .sort();
        assert.ok(cloudflareUrns(update).length >= 8, `only ${cloudflareUrns(update).length} Cloudflare resources`);
        assert.deepEqual(cloudflareUrns(preview), cloudflareUrns(update));
    });

    test("ingress known in preview", () => {
        const ingresses = ingressesOf(preview);
        assert.equal(ingresses[0].hostname, hostname);
        assert.equal(ingresses[0].service, serviceUrl("ssoProxy"));
        assert.equal(ingresses.at(-1)!.service, catchAllIngressService);
    });

    test("tunnel secret secret in preview", () => {
        assert.ok(findResource(preview, types.tunnel).secretInputPaths.includes("tunnelSecret"));
        assert.equal(valueAt(findResource(preview, types.dnsRecord).inputs, "proxied"), true);
    });
});
