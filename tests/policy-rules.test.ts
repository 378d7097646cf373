/**
 * Unit tests of each policy rule: a compliant resource passes, and each violating
 * resource gets exactly one violation whose message names the resource and the fix.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import {
    PolicyResource,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
    unknownCheckingProxy,
    UnknownValueError,
} from "@pulumi/policy";
// The engine's wire value for an unknown string, which the policy host passes on unchanged.
import { unknownValue as unknownStringValue } from "@pulumi/pulumi/runtime/rpc";

import {
    accessApplicationPoliciesNamedIdentities,
    accessPolicyNamedIdentities,
    clientSecretExpiresWithinTwelveMonths,
    containerImageIdFromRemoteImage,
    containerImagePinned,
    containerNotPrivileged,
    containerPortsLoopbackOnly,
    dataVolumeProtected,
    remoteImagePinned,
    resourcePolicies,
    resourceTypes,
    servicePrincipalAssignmentRequired,
    stackPolicies,
    targetTypeByRule,
    tunnelDnsRecordProxied,
    tunnelIngressSsoProxyOnly,
} from "../policy/rules";
import { isAllInterfacesAddress, parseDurationHours, pointsAtLoopback, unpinnedImageReason } from "../policy/values";

const digest = `sha256:${"a1".repeat(32)}`;

/** Builds the arguments the policy host passes to a resource validation. */
function resourceArgs(type: string, name: string, props: Record<string, unknown>, protect = false): ResourceValidationArgs {
    return {
        type,
        name,
        urn: `urn:pulumi:prod::netos-infra::${type}::${name}`,
        // The host wraps props in this proxy, which throws on values unknown during preview.
        props: unknownCheckingProxy(props),
        opts: {
            protect,
            ignoreChanges: [],
            aliases: [],
            customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 },
            additionalSecretOutputs: [],
        },
        stackTags: new Map(),
        isType: () => false,
        asType: () => undefined,
        getConfig: <T extends object>() => ({}) as T,
        notApplicable: (reason?: string): never => {
            throw new Error(`notApplicable: ${reason ?? ""}`);
        },
    };
}

/** Runs a resource rule and returns the messages it reported. */
async function violationsOf(policy: ResourceValidationPolicy, args: ResourceValidationArgs): Promise<string[]> {
    const messages: string[] = [];
    const validations = Array.isArray(policy.validateResource) ? policy.validateResource : [policy.validateResource];
    for (const validate of validations) {
        await validate?.(args, (message) => messages.push(message));
    }
    return messages;
}

/** Runs a stack rule over the resources and returns the messages with their URNs. */
async function stackViolationsOf(policy: StackValidationPolicy, resources: PolicyResource[]): Promise<{ message: string; urn?: string }[]> {
    const args: StackValidationArgs = {
        resources,
        stackTags: new Map(),
        getConfig: <T extends object>() => ({}) as T,
        notApplicable: (reason?: string): never => {
            throw new Error(`notApplicable: ${reason ?? ""}`);
        },
    };
    const reported: { message: string; urn?: string }[] = [];
    await policy.validateStack(args, (message, urn) => reported.push(urn === undefined ? { message } : { message, urn }));
    return reported;
}

/** Builds a resource as the stack view shows it, with the resources its `image` input came from. */
function stackResource(type: string, name: string, props: Record<string, unknown>, imageSources: PolicyResource[] = []): PolicyResource {
    const args = resourceArgs(type, name, props);
    return {
        type,
        name,
        urn: args.urn,
        props: args.props,
        opts: args.opts,
        dependencies: imageSources,
        propertyDependencies: imageSources.length > 0 ? { image: imageSources } : {},
        isType: () => false,
        asType: () => undefined,
    };
}

function container(props: Record<string, unknown>, name = "web"): ResourceValidationArgs {
    return resourceArgs(resourceTypes.container, name, { image: "ghcr.io/xiber/netos-web:1.4.2", ...props });
}

/** Asserts exactly one violation that contains every expected fragment. */
function assertOneViolation(messages: string[], ...fragments: string[]): void {
    assert.equal(messages.length, 1, `expected one violation, got: ${JSON.stringify(messages)}`);
    for (const fragment of fragments) {
        assert.ok(messages[0]?.includes(fragment), `violation ${JSON.stringify(messages[0])} lacks ${JSON.stringify(fragment)}`);
    }
}

function monthsFromNow(months: number): string {
    const date = new Date();
    date.setUTCMonth(date.getUTCMonth() + months);
    return date.toISOString();
}

describe("policy pack", () => {
    it("marks every rule mandatory", () => {
        for (const policy of [...resourcePolicies, ...stackPolicies]) {
            assert.equal(policy.enforcementLevel, "mandatory", policy.name);
        }
    });

    it("names a target type per rule", () => {
        for (const policy of [...resourcePolicies, ...stackPolicies]) {
            assert.ok(targetTypeByRule[policy.name], `no target type for ${policy.name}`);
        }
    });

    it("has unique rule names", () => {
        const names = [...resourcePolicies, ...stackPolicies].map((policy) => policy.name);
        assert.equal(new Set(names).size, names.length);
    });
});

describe("container-ports-loopback-only", () => {
    it("accepts a loopback port", async () => {
        const args = container({ ports: [{ internal: 8080, external: 8080, ip: "127.0.0.1" }] });
        assert.deepEqual(await violationsOf(containerPortsLoopbackOnly, args), []);
    });

    it("accepts an IPv6 loopback port", async () => {
        const args = container({ ports: [{ internal: 4180, external: 4180, ip: "::1" }] });
        assert.deepEqual(await violationsOf(containerPortsLoopbackOnly, args), []);
    });

    it("rejects a LAN address", async () => {
        const args = container({ ports: [{ internal: 3000, ip: "192.168.1.5" }] });
        assertOneViolation(await violationsOf(containerPortsLoopbackOnly, args), 'port 3000 on ip "192.168.1.5", which is not a loopback address');
    });

    it("accepts no ports", async () => {
        assert.deepEqual(await violationsOf(containerPortsLoopbackOnly, container({})), []);
    });

    it("rejects ip 0.0.0.0", async () => {
        const args = container({ ports: [{ internal: 3000, ip: "0.0.0.0" }] });
        assertOneViolation(await violationsOf(containerPortsLoopbackOnly, args), 'Container "web"', "port 3000", 'ip "0.0.0.0"', '"127.0.0.1"');
    });

    it("rejects a missing ip", async () => {
        const args = container({ ports: [{ internal: 3000 }] });
        assertOneViolation(await violationsOf(containerPortsLoopbackOnly, args), "no ip, which Docker binds to 0.0.0.0");
    });

    it("rejects ip ::", async () => {
        const args = container({ ports: [{ internal: 3000, ip: "::" }] });
        assertOneViolation(await violationsOf(containerPortsLoopbackOnly, args), 'ip "::"');
    });

    it("rejects publishAllPorts", async () => {
        assertOneViolation(await violationsOf(containerPortsLoopbackOnly, container({ publishAllPorts: true })), "publishAllPorts");
    });

    it("rejects host networking", async () => {
        assertOneViolation(await violationsOf(containerPortsLoopbackOnly, container({ networkMode: "host" })), 'networkMode "host"');
    });

    it("ignores other resource types", async () => {
        const args = resourceArgs(resourceTypes.volume, "web", { ports: [{ internal: 1 }] });
        assert.deepEqual(await violationsOf(containerPortsLoopbackOnly, args), []);
    });
});

describe("container-not-privileged", () => {
    it("accepts an unprivileged container", async () => {
        assert.deepEqual(await violationsOf(containerNotPrivileged, container({ privileged: false })), []);
    });

    it("rejects a privileged container", async () => {
        assertOneViolation(await violationsOf(containerNotPrivileged, container({ privileged: true })), 'Container "web" runs privileged', "Fix:");
    });
});

describe("container-image-pinned", () => {
    const pinned = [
        "postgres:16.4",
        "redis:7.4.1-alpine",
        "quay.io/oauth2-proxy/oauth2-proxy:v7.15.6",
        "registry.example:5000/netos/api:1.2.3",
        `postgres@${digest}`,
        `postgres:16@${digest}`,
        "ghcr.io/xiber/netos-api:3f2a9c1",
    ];
    for (const image of pinned) {
        it(`accepts ${image.slice(0, 40)}`, async () => {
            assert.deepEqual(await violationsOf(containerImagePinned, container({ image })), []);
        });
    }

    it("accepts a sha256 image id", async () => {
        assert.deepEqual(await violationsOf(containerImagePinned, container({ image: digest })), []);
    });

    it("rejects postgres with no tag", async () => {
        const messages = await violationsOf(containerImagePinned, container({ image: "postgres" }, "postgres"));
        assertOneViolation(messages, 'Container "postgres"', '"postgres" has no tag', "postgres:16.4");
    });

    it("rejects nginx:latest", async () => {
        assertOneViolation(await violationsOf(containerImagePinned, container({ image: "nginx:latest" })), "uses the tag `latest`");
    });

    it("accepts a CI build tag", async () => {
        assert.deepEqual(await violationsOf(containerImagePinned, container({ image: "ghcr.io/xiberian/netos-web:main-3f2a9c1" })), []);
    });

    it("rejects latest after a registry port", async () => {
        assertOneViolation(await violationsOf(containerImagePinned, container({ image: "registry.example:5000/netos/api:latest" })), "uses the tag `latest`");
    });

    it("rejects a registry port without tag", async () => {
        const messages = await violationsOf(containerImagePinned, container({ image: "registry.example:5000/netos/api" }));
        assertOneViolation(messages, "has no tag");
    });

    it("skips an image unknown in preview", async () => {
        assert.deepEqual(await violationsOf(containerImagePinned, container({ image: unknownStringValue })), []);
    });
});

describe("remote-image-pinned", () => {
    it("accepts a release tag", async () => {
        const args = resourceArgs(resourceTypes.remoteImage, "redis-image", { name: "redis:7.4.1" });
        assert.deepEqual(await violationsOf(remoteImagePinned, args), []);
    });

    it("accepts a digest", async () => {
        const args = resourceArgs(resourceTypes.remoteImage, "redis-image", { name: `redis@${digest}` });
        assert.deepEqual(await violationsOf(remoteImagePinned, args), []);
    });

    it("rejects a name with no tag", async () => {
        const args = resourceArgs(resourceTypes.remoteImage, "redis-image", { name: "redis" });
        assertOneViolation(await violationsOf(remoteImagePinned, args), 'RemoteImage "redis-image"', '"redis" has no tag');
    });

    it("rejects latest", async () => {
        const args = resourceArgs(resourceTypes.remoteImage, "web-image", { name: "ghcr.io/xiber/netos-web:latest" });
        assertOneViolation(await violationsOf(remoteImagePinned, args), "uses the tag `latest`");
    });
});

describe("container-image-id-from-remote-image", () => {
    const remoteImage = stackResource(resourceTypes.remoteImage, "api-image", { name: "ghcr.io/xiber/netos-api:1.4.2" });

    it("accepts an id from a RemoteImage", async () => {
        const api = stackResource(resourceTypes.container, "api", { image: digest }, [remoteImage]);
        assert.deepEqual(await stackViolationsOf(containerImageIdFromRemoteImage, [remoteImage, api]), []);
    });

    it("accepts an unknown id from a RemoteImage", async () => {
        const api = stackResource(resourceTypes.container, "api", { image: unknownStringValue }, [remoteImage]);
        assert.deepEqual(await stackViolationsOf(containerImageIdFromRemoteImage, [remoteImage, api]), []);
    });

    it("accepts a reference", async () => {
        const api = stackResource(resourceTypes.container, "api", { image: "ghcr.io/xiber/netos-api:1.4.2" });
        assert.deepEqual(await stackViolationsOf(containerImageIdFromRemoteImage, [api]), []);
    });

    it("rejects an untraced image id", async () => {
        const api = stackResource(resourceTypes.container, "api", { image: digest });
        const reported = await stackViolationsOf(containerImageIdFromRemoteImage, [api]);
        assert.equal(reported.length, 1);
        assert.match(reported[0]?.message ?? "", /Container "api" runs image "sha256:[0-9a-f]{64}", which comes from no docker.RemoteImage/);
        assert.equal(reported[0]?.urn, api.urn);
    });

    it("rejects an untraced unknown image", async () => {
        const api = stackResource(resourceTypes.container, "api", { image: unknownStringValue });
        const reported = await stackViolationsOf(containerImageIdFromRemoteImage, [api]);
        assert.equal(reported.length, 1);
        assert.match(reported[0]?.message ?? "", /runs image unknown during preview/);
    });
});

describe("service-principal-assignment-required", () => {
    it("accepts assignment required", async () => {
        const args = resourceArgs(resourceTypes.servicePrincipal, "netos-sp", { clientId: "client", appRoleAssignmentRequired: true });
        assert.deepEqual(await violationsOf(servicePrincipalAssignmentRequired, args), []);
    });

    it("rejects a missing setting", async () => {
        const args = resourceArgs(resourceTypes.servicePrincipal, "netos-sp", { clientId: "client" });
        assertOneViolation(
            await violationsOf(servicePrincipalAssignmentRequired, args),
            'ServicePrincipal "netos-sp"',
            "appRoleAssignmentRequired undefined",
            "appRoleAssignmentRequired: true",
        );
    });

    it("rejects false", async () => {
        const args = resourceArgs(resourceTypes.servicePrincipal, "netos-sp", { clientId: "client", appRoleAssignmentRequired: false });
        assertOneViolation(await violationsOf(servicePrincipalAssignmentRequired, args), "appRoleAssignmentRequired false");
    });
});

describe("client-secret-expires-within-12-months", () => {
    function password(props: Record<string, unknown>): ResourceValidationArgs {
        return resourceArgs(resourceTypes.applicationPassword, "netos-secret", { applicationId: "app", ...props });
    }

    it("accepts 11 months ahead", async () => {
        assert.deepEqual(await violationsOf(clientSecretExpiresWithinTwelveMonths, password({ endDate: monthsFromNow(11) })), []);
    });

    it("accepts 8760h relative", async () => {
        assert.deepEqual(await violationsOf(clientSecretExpiresWithinTwelveMonths, password({ endDateRelative: "8760h" })), []);
    });

    it("rejects 13 months ahead", async () => {
        const messages = await violationsOf(clientSecretExpiresWithinTwelveMonths, password({ endDate: monthsFromNow(13) }));
        assertOneViolation(messages, 'ApplicationPassword "netos-secret"', "more than 12 months ahead", "replace the resource");
    });

    it("rejects 8761h relative", async () => {
        const messages = await violationsOf(clientSecretExpiresWithinTwelveMonths, password({ endDateRelative: "8760h1m" }));
        assertOneViolation(messages, 'endDateRelative "8760h1m"', "more than 8760h");
    });

    it("rejects no expiry", async () => {
        assertOneViolation(await violationsOf(clientSecretExpiresWithinTwelveMonths, password({})), "sets neither endDate nor endDateRelative");
    });

    it("rejects an invalid date", async () => {
        assertOneViolation(await violationsOf(clientSecretExpiresWithinTwelveMonths, password({ endDate: "next year" })), "is not an RFC 3339 time");
    });

    it("rejects an invalid duration", async () => {
        assertOneViolation(await violationsOf(clientSecretExpiresWithinTwelveMonths, password({ endDateRelative: "1y" })), "is not a duration");
    });

    it("defers an unknown end date", async () => {
        // The engine turns this error into an advisory at preview; `pulumi up` enforces the rule.
        await assert.rejects(violationsOf(clientSecretExpiresWithinTwelveMonths, password({ endDate: unknownStringValue })), UnknownValueError);
    });
});

describe("tunnel-ingress-sso-proxy-only", () => {
    const hostname = "netos.xiberian.net";
    const catchAll = { service: "http_status:404" };

    function tunnelConfig(ingresses: Record<string, unknown>[]): ResourceValidationArgs {
        return resourceArgs(resourceTypes.tunnelConfig, "netos-tunnel-config", { accountId: "acct", tunnelId: "t", config: { ingresses } });
    }

    it("accepts sso proxy then catch-all", async () => {
        const args = tunnelConfig([{ hostname, service: "http://sso-proxy:4180" }, catchAll]);
        assert.deepEqual(await violationsOf(tunnelIngressSsoProxyOnly, args), []);
    });

    it("rejects a catch-all not last", async () => {
        const args = tunnelConfig([catchAll, { hostname, service: "http://sso-proxy:4180" }]);
        const messages = await violationsOf(tunnelIngressSsoProxyOnly, args);
        // The misplaced catch-all and the missing final catch-all are two separate faults.
        assert.equal(messages.length, 2, JSON.stringify(messages));
        assert.ok(messages[0]?.includes("config.ingresses[0] has no hostname and no path"));
        assert.ok(messages[1]?.includes("does not end with a catch-all"));
    });

    it("rejects a missing catch-all", async () => {
        const messages = await violationsOf(tunnelIngressSsoProxyOnly, tunnelConfig([{ hostname, service: "http://sso-proxy:4180" }]));
        assertOneViolation(messages, "does not end with a catch-all", 'service: "http_status:404"');
    });

    it("rejects a localhost service", async () => {
        const args = tunnelConfig([{ hostname, service: "http://localhost:4180" }, catchAll]);
        assertOneViolation(await violationsOf(tunnelIngressSsoProxyOnly, args), '"http://localhost:4180" on the connector\'s loopback', '"http://sso-proxy:4180"');
    });

    it("rejects a 127.0.0.1 service", async () => {
        const args = tunnelConfig([{ hostname, service: "http://127.0.0.1:8080" }, catchAll]);
        assertOneViolation(await violationsOf(tunnelIngressSsoProxyOnly, args), "connector's loopback");
    });

    it("rejects the public proxy", async () => {
        const args = tunnelConfig([{ hostname, service: "http://public-proxy:8080" }, catchAll]);
        assertOneViolation(await violationsOf(tunnelIngressSsoProxyOnly, args), '"http://public-proxy:8080" instead of the SSO proxy');
    });

    it("rejects a catch-all other than 404", async () => {
        const args = tunnelConfig([{ hostname, service: "http://sso-proxy:4180" }, { service: "http://web:3000" }]);
        assertOneViolation(await violationsOf(tunnelIngressSsoProxyOnly, args), 'catch-all config.ingresses[1] sends unmatched requests to "http://web:3000"');
    });

    it("rejects no ingresses", async () => {
        assertOneViolation(await violationsOf(tunnelIngressSsoProxyOnly, tunnelConfig([])), "has no ingress rules");
    });
});

describe("tunnel-dns-record-proxied", () => {
    function record(props: Record<string, unknown>): ResourceValidationArgs {
        return resourceArgs(resourceTypes.dnsRecord, "netos-dns", { zoneId: "z", name: "netos", type: "CNAME", ttl: 1, ...props });
    }

    it("accepts a proxied tunnel CNAME", async () => {
        const args = record({ content: "0f4d.cfargotunnel.com", proxied: true });
        assert.deepEqual(await violationsOf(tunnelDnsRecordProxied, args), []);
    });

    it("accepts proxied with unknown content", async () => {
        assert.deepEqual(await violationsOf(tunnelDnsRecordProxied, record({ content: unknownStringValue, proxied: true })), []);
    });

    it("ignores other unproxied records", async () => {
        assert.deepEqual(await violationsOf(tunnelDnsRecordProxied, record({ content: "mail.example.net", proxied: false })), []);
    });

    it("rejects an unproxied CNAME", async () => {
        const messages = await violationsOf(tunnelDnsRecordProxied, record({ content: "0f4d.cfargotunnel.com", proxied: false }));
        assertOneViolation(messages, 'DnsRecord "netos-dns"', '"0f4d.cfargotunnel.com" without the Cloudflare proxy', "proxied: true");
    });

    it("rejects a missing proxied", async () => {
        assertOneViolation(await violationsOf(tunnelDnsRecordProxied, record({ content: "0f4d.cfargotunnel.com." })), "without the Cloudflare proxy");
    });
});

describe("access-policy-named-identities", () => {
    function accessPolicy(props: Record<string, unknown>): ResourceValidationArgs {
        return resourceArgs(resourceTypes.accessPolicy, "netos-access", { accountId: "acct", name: "NetOS", decision: "allow", ...props });
    }

    it("accepts an Entra group", async () => {
        const args = accessPolicy({ includes: [{ azureAd: { id: "group", identityProviderId: "idp" } }] });
        assert.deepEqual(await violationsOf(accessPolicyNamedIdentities, args), []);
    });

    it("accepts named emails", async () => {
        const args = accessPolicy({ includes: [{ email: { email: "ops@xiberian.net" } }, { group: { id: "g" } }] });
        assert.deepEqual(await violationsOf(accessPolicyNamedIdentities, args), []);
    });

    it("accepts a deny for everyone", async () => {
        assert.deepEqual(await violationsOf(accessPolicyNamedIdentities, accessPolicy({ decision: "deny", includes: [{ everyone: {} }] })), []);
    });

    it("rejects everyone", async () => {
        const messages = await violationsOf(accessPolicyNamedIdentities, accessPolicy({ includes: [{ everyone: {} }] }));
        assertOneViolation(messages, 'Access policy "netos-access"', "includes[0] uses `everyone`", "Fix: include only named users or groups");
    });

    it("rejects an email domain", async () => {
        const messages = await violationsOf(accessPolicyNamedIdentities, accessPolicy({ includes: [{ emailDomain: { domain: "xiberian.net" } }] }));
        assertOneViolation(messages, "`emailDomain`");
    });

    it("rejects any service token", async () => {
        const includes = [{ azureAd: { id: "g", identityProviderId: "idp" } }, { anyValidServiceToken: {} }];
        assertOneViolation(await violationsOf(accessPolicyNamedIdentities, accessPolicy({ includes })), "includes[1] uses `anyValidServiceToken`");
    });

    it("rejects bypass", async () => {
        const messages = await violationsOf(accessPolicyNamedIdentities, accessPolicy({ decision: "bypass", includes: [{ email: { email: "a@b.c" } }] }));
        assertOneViolation(messages, 'decision "bypass"');
    });

    it("rejects no includes", async () => {
        assertOneViolation(await violationsOf(accessPolicyNamedIdentities, accessPolicy({})), "has no includes");
    });
});

describe("access-application-policies-named-identities", () => {
    function application(policies: Record<string, unknown>[]): ResourceValidationArgs {
        return resourceArgs(resourceTypes.accessApplication, "netos-app", { accountId: "acct", type: "self_hosted", policies });
    }

    it("accepts policy references", async () => {
        assert.deepEqual(await violationsOf(accessApplicationPoliciesNamedIdentities, application([{ id: "p1", precedence: 1 }])), []);
    });

    it("accepts a named inline policy", async () => {
        const args = application([{ name: "ops", decision: "allow", includes: [{ group: { id: "g" } }] }]);
        assert.deepEqual(await violationsOf(accessApplicationPoliciesNamedIdentities, args), []);
    });

    it("rejects an inline everyone", async () => {
        const messages = await violationsOf(accessApplicationPoliciesNamedIdentities, application([{ id: "p1" }, { name: "all", includes: [{ everyone: {} }] }]));
        assertOneViolation(messages, 'Access application "netos-app" policies[1]', "`everyone`");
    });
});

describe("data-volume-protected", () => {
    function volume(name: string, props: Record<string, unknown>, protect: boolean): ResourceValidationArgs {
        return resourceArgs(resourceTypes.volume, name, props, protect);
    }
    const labelled = { labels: [{ label: "netos.data-volume", value: "true" }] };

    it("accepts a protected data volume", async () => {
        assert.deepEqual(await violationsOf(dataVolumeProtected, volume("db-data", labelled, true)), []);
    });

    it("ignores an unlabelled scratch volume", async () => {
        assert.deepEqual(await violationsOf(dataVolumeProtected, volume("nginx-cache", {}, false)), []);
    });

    it("honours an opt-out label", async () => {
        const props = { labels: [{ label: "netos.data-volume", value: "false" }] };
        assert.deepEqual(await violationsOf(dataVolumeProtected, volume("redis-scratch", props, false)), []);
    });

    it("rejects an unprotected labelled volume", async () => {
        const messages = await violationsOf(dataVolumeProtected, volume("db-data", labelled, false));
        assertOneViolation(messages, 'Volume "db-data"', "not protected", "protect: true");
    });

    it("rejects by name without label", async () => {
        assertOneViolation(await violationsOf(dataVolumeProtected, volume("netos-postgres-data", {}, false)), 'Volume "netos-postgres-data"');
    });

    it("rejects by volume name", async () => {
        assertOneViolation(await violationsOf(dataVolumeProtected, volume("data-2", { name: "netos-redis" }, false)), 'Volume "data-2"');
    });
});

describe("policy values", () => {
    it("parses Go durations", () => {
        assert.equal(parseDurationHours("8760h"), 8760);
        assert.equal(parseDurationHours("2400h30m"), 2400.5);
        assert.equal(parseDurationHours("90m"), 1.5);
        assert.equal(parseDurationHours("1y"), undefined);
        assert.equal(parseDurationHours(""), undefined);
    });

    it("detects loopback services", () => {
        assert.equal(pointsAtLoopback("http://localhost:4180"), true);
        assert.equal(pointsAtLoopback("http://127.0.0.2:8080"), true);
        assert.equal(pointsAtLoopback("http://[::1]:4180"), true);
        assert.equal(pointsAtLoopback("localhost:4180"), true);
        assert.equal(pointsAtLoopback("http://sso-proxy:4180"), false);
    });

    it("detects all-interface addresses", () => {
        assert.equal(isAllInterfacesAddress("0.0.0.0"), true);
        assert.equal(isAllInterfacesAddress("[::]"), true);
        assert.equal(isAllInterfacesAddress("::/0"), true);
        assert.equal(isAllInterfacesAddress("127.0.0.1"), false);
        assert.equal(isAllInterfacesAddress("::1"), false);
    });

    it("finds tags past a port", () => {
        assert.equal(unpinnedImageReason("registry.example:5000/app:1.2"), undefined);
        assert.equal(unpinnedImageReason("registry.example:5000/app"), "has no tag, so Docker pulls `latest`");
    });
});
