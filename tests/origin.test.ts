import assert from "node:assert/strict";
import { before, describe, test } from "node:test";
import { checkNetworkSubnet, checkImageReference } from "../config/origin";
import { ConfigError } from "../config/reader";
import { postgresEntrypointScript } from "../generated/postgres";
import { fakeDigest, findResource, ProgramRun, RecordedResource, resourcesOfType, runProgram, runProgramSettled } from "./support/mocks";

const containerType = "docker:index/container:Container";
const imageType = "docker:index/remoteImage:RemoteImage";
const networkType = "docker:index/network:Network";
const volumeType = "docker:index/volume:Volume";

const services = ["cloudflared", "ssoProxy", "publicProxy", "web", "api", "postgres", "redis"] as const;
type Service = (typeof services)[number];

/** Returns the container of a service, found by its `netos.service` label. */
function containerOf(run: ProgramRun, service: Service): RecordedResource {
    const matches = resourcesOfType(run, containerType).filter((container) => labelsOf(container)["netos.service"] === service);
    assert.equal(matches.length, 1, `expected one container labelled netos.service=${service}, found ${matches.length}`);
    return matches[0];
}

function labelsOf(resource: RecordedResource): Record<string, string> {
    return Object.fromEntries((resource.inputs.labels ?? []).map((entry: { label: string; value: string }) => [entry.label, entry.value]));
}

/** Returns the `NAME=value` environment of a container as a map. */
function envOf(container: RecordedResource): Record<string, string> {
    return Object.fromEntries((container.inputs.envs ?? []).map((entry: string) => [entry.slice(0, entry.indexOf("=")), entry.slice(entry.indexOf("=") + 1)]));
}

/** Returns the network names a container joins. */
function networksOf(container: RecordedResource): string[] {
    return (container.inputs.networksAdvanced ?? []).map((network: { name: string }) => network.name);
}

/** Returns the service pairs (sorted, "a+b") that share at least one Docker network. */
function reachablePairs(run: ProgramRun): string[] {
    const pairs = new Set<string>();
    for (const first of services) {
        for (const second of services) {
            if (first < second && networksOf(containerOf(run, first)).some((name) => networksOf(containerOf(run, second)).includes(name))) {
                pairs.add(`${first}+${second}`);
            }
        }
    }
    return [...pairs].sort();
}

function networkByName(run: ProgramRun, name: string): RecordedResource {
    const matches = resourcesOfType(run, networkType).filter((network) => `${network.name}-${mockSuffix(network.name)}` === name);
    assert.equal(matches.length, 1, `expected one network named ${name}`);
    return matches[0];
}

/** Returns the random suffix the mocks append to a generated Docker name. */
function mockSuffix(name: string): string {
    return fakeDigest(name).slice(0, 7);
}

/** Returns the members of each network, keyed by network name. */
function membersByNetwork(run: ProgramRun): Map<string, Service[]> {
    const members = new Map<string, Service[]>();
    for (const service of services) {
        for (const name of networksOf(containerOf(run, service))) {
            members.set(name, [...(members.get(name) ?? []), service]);
        }
    }
    return members;
}

/** Returns the value of a `--flag=value` argument. */
function flag(args: string[], name: string): string[] {
    return args.filter((arg) => arg.startsWith(`--${name}=`)).map((arg) => arg.slice(name.length + 3));
}

/** Returns every string in a value, with its dotted path. */
function stringsOf(value: unknown, path = ""): { path: string; text: string }[] {
    if (typeof value === "string") {
        return [{ path, text: value }];
    }
    if (value !== null && typeof value === "object") {
        return Object.entries(value).flatMap(([key, child]) => stringsOf(child, path === "" ? key : `${path}.${key}`));
    }
    return [];
}

describe("origin (production config)", () => {
    let run: ProgramRun;
    before(async () => {
        run = await runProgram();
    });

    test("exactly seven containers", () => {
        const containers = resourcesOfType(run, containerType);
        assert.equal(containers.length, 7);
        assert.deepEqual(containers.map((container) => labelsOf(container)["netos.service"]).sort(), [...services].sort());
    });

    test("each container runs a pinned image", () => {
        const images = resourcesOfType(run, imageType);
        for (const service of services) {
            const container = containerOf(run, service);
            assert.match(container.inputs.image, /^sha256:[0-9a-f]{64}$/, `${service} must run an image id`);
            // The mocked RemoteImage derives its image id from the reference it pulls.
            const image = images.find((candidate) => container.inputs.image === `sha256:${fakeDigest(`image:${candidate.inputs.name}`)}`);
            assert.ok(image, `${service} takes its image id from no RemoteImage`);
            const reference: string = image.inputs.name;
            assert.match(reference, /:[^/:@]+$|@sha256:[0-9a-f]{64}$/, `${service} image ${reference} has no tag`);
            assert.doesNotMatch(reference, /:latest$/, `${service} image ${reference} uses latest`);
            assert.equal(image.inputs.keepLocally, true);
        }
    });

    test("third-party images use patch tags", () => {
        for (const service of ["cloudflared", "ssoProxy", "publicProxy", "postgres", "redis"] as const) {
            const image = findResource(run, imageType, `-${service === "ssoProxy" ? "sso-proxy" : service === "publicProxy" ? "public-proxy" : service}-image`);
            // PostgreSQL numbers releases major.minor since version 10, so 16.15 is a full patch version.
            const patchTag = service === "postgres" ? /:\d+\.\d+(-[a-z0-9]+)?$/ : /:v?\d+\.\d+\.\d+(-[a-z0-9]+)?$/;
            assert.match(image.inputs.name, patchTag, `${service} image ${image.inputs.name}`);
        }
        assert.equal(findResource(run, imageType, "-sso-proxy-image").inputs.name, "quay.io/oauth2-proxy/oauth2-proxy:v7.15.6-alpine");
        assert.match(findResource(run, imageType, "-postgres-image").inputs.name, /^postgres:16\./);
        assert.match(findResource(run, imageType, "-redis-image").inputs.name, /^redis:7\./);
    });

    test("no host port published", () => {
        for (const service of services) {
            const container = containerOf(run, service);
            assert.deepEqual(container.inputs.ports ?? [], [], `${service} publishes a port`);
            assert.notEqual(container.inputs.publishAllPorts, true, `${service} publishes all ports`);
            assert.notEqual(container.inputs.networkMode, "host", `${service} uses the host network`);
        }
    });

    test("reachability matrix", () => {
        assert.deepEqual(reachablePairs(run), [
            "api+postgres",
            "api+publicProxy",
            "api+redis",
            "cloudflared+ssoProxy",
            "postgres+redis",
            "publicProxy+ssoProxy",
            "publicProxy+web",
            "redis+ssoProxy",
        ]);
    });

    test("only the edge has a route out", () => {
        for (const [name, members] of membersByNetwork(run)) {
            const network = networkByName(run, name);
            if (network.inputs.internal !== true) {
                assert.deepEqual([...members].sort(), ["cloudflared", "ssoProxy"], `network ${name} has a route out`);
                assert.deepEqual(network.inputs.ipamConfigs, [{ subnet: "10.213.7.0/24" }]);
            }
        }
        for (const service of ["postgres", "redis", "api", "web", "publicProxy"] as const) {
            for (const name of networksOf(containerOf(run, service))) {
                assert.equal(networkByName(run, name).inputs.internal, true, `${service} joins ${name}, which has a route out`);
            }
        }
    });

    test("aliases from services", () => {
        const aliasesOf = (service: Service) => (containerOf(run, service).inputs.networksAdvanced ?? []).flatMap((network: { aliases?: string[] }) => network.aliases ?? []);
        assert.deepEqual(aliasesOf("ssoProxy"), ["sso-proxy"]);
        assert.deepEqual(aliasesOf("publicProxy"), ["public-proxy"]);
        assert.deepEqual(aliasesOf("web"), ["web"]);
        assert.deepEqual(aliasesOf("api"), ["api"]);
        assert.deepEqual(aliasesOf("postgres"), ["postgres"]);
        assert.deepEqual(aliasesOf("redis"), ["redis", "redis"]);
    });

    test("names are generated per stack", () => {
        for (const resource of [...resourcesOfType(run, containerType), ...resourcesOfType(run, networkType), ...resourcesOfType(run, volumeType)]) {
            assert.equal(resource.inputs.name, undefined, `${resource.name} has a fixed name, which would collide with its replacement or another stack`);
            assert.match(resource.name, /^netos-prod-/);
        }
    });

    test("replacement order per service", () => {
        for (const service of services) {
            const stopsFirst = service === "postgres" || service === "redis";
            assert.equal(containerOf(run, service).options.deleteBeforeReplace, stopsFirst, `${service} deleteBeforeReplace`);
        }
    });

    test("start order follows health", () => {
        const dependsOn = (service: Service, other: Service) => containerOf(run, service).options.dependsOn.includes(containerOf(run, other).urn);
        assert.ok(dependsOn("api", "postgres"));
        assert.ok(dependsOn("api", "redis"));
        assert.ok(dependsOn("web", "postgres"));
        assert.ok(dependsOn("web", "redis"));
        assert.ok(dependsOn("publicProxy", "web"));
        assert.ok(dependsOn("publicProxy", "api"));
        assert.ok(dependsOn("ssoProxy", "publicProxy"));
        assert.ok(dependsOn("ssoProxy", "redis"));
        assert.ok(dependsOn("cloudflared", "ssoProxy"));
        for (const service of services) {
            const container = containerOf(run, service);
            assert.equal(container.inputs.wait, true, `${service} wait`);
            assert.ok(container.inputs.healthcheck?.tests?.length > 1, `${service} has no health check`);
        }
    });

    test("restart, logs and memory set", () => {
        const expectedMemory: Record<Service, number> = { cloudflared: 256, ssoProxy: 128, publicProxy: 128, web: 1024, api: 1024, postgres: 1024, redis: 512 };
        for (const service of services) {
            const container = containerOf(run, service);
            assert.equal(container.inputs.restart, "unless-stopped", `${service} restart`);
            assert.equal(container.inputs.logDriver, "json-file", `${service} log driver`);
            assert.deepEqual(container.inputs.logOpts, { "max-size": "10m", "max-file": "3" }, `${service} log rotation`);
            assert.equal(container.inputs.memory, expectedMemory[service], `${service} memory`);
            assert.ok(container.inputs.destroyGraceSeconds > 0, `${service} would be killed without a grace period`);
            assert.deepEqual(container.inputs.securityOpts, ["no-new-privileges:true"], `${service} security options`);
            assert.notEqual(container.inputs.privileged, true, `${service} privileged`);
        }
    });

    test("data volumes protected", () => {
        const volumes = resourcesOfType(run, volumeType);
        assert.deepEqual(volumes.map((volume) => volume.name).sort(), ["netos-prod-postgres-data", "netos-prod-redis-data"]);
        for (const volume of volumes) {
            assert.equal(volume.options.protect, true, `${volume.name} protect`);
            assert.equal(volume.options.retainOnDelete, true, `${volume.name} retainOnDelete`);
            assert.equal(labelsOf(volume)["netos.data-volume"], "true");
        }
        const mountOf = (service: Service) => containerOf(run, service).inputs.volumes;
        assert.deepEqual(mountOf("postgres"), [{ volumeName: "netos-prod-postgres-data-" + mockSuffix("netos-prod-postgres-data"), containerPath: "/var/lib/postgresql/data" }]);
        assert.deepEqual(mountOf("redis"), [{ volumeName: "netos-prod-redis-data-" + mockSuffix("netos-prod-redis-data"), containerPath: "/data" }]);
    });

    test("secret-bearing values are secret", () => {
        for (const service of ["cloudflared", "ssoProxy", "api", "postgres", "redis"] as const) {
            assert.ok(containerOf(run, service).secretInputPaths.includes("envs"), `${service} envs are not secret`);
        }
        assert.ok(containerOf(run, "redis").secretInputPaths.includes("uploads.0.content"), "redis.conf is not secret");
        for (const name of ["-cookie-secret", "-postgres-superuser-password", "-postgres-api-password", "-redis-password"]) {
            assert.ok(run.resources.some((resource) => resource.type.startsWith("random:") && resource.name.endsWith(name)), `no generated secret *${name}`);
        }
    });

    test("secrets appear only in secret inputs", () => {
        const secretValues = new Set<string>();
        for (const service of ["cloudflared", "ssoProxy", "api", "postgres", "redis"] as const) {
            for (const value of Object.values(envOf(containerOf(run, service)))) {
                if (value.length >= 16 && !value.startsWith("http") && !/^[A-Z][A-Za-z-]+$/.test(value)) {
                    secretValues.add(value);
                }
            }
        }
        assert.ok(secretValues.size >= 7, `found only ${secretValues.size} secret values`);
        for (const resource of run.resources) {
            for (const { path, text } of stringsOf(resource.inputs)) {
                const insideSecret = resource.secretInputPaths.some((secretPath) => path === secretPath || path.startsWith(`${secretPath}.`));
                if (insideSecret) {
                    continue;
                }
                for (const secret of secretValues) {
                    assert.ok(!text.includes(secret), `${resource.name} input ${path} contains a secret in plain text`);
                }
            }
        }
        for (const [key, output] of Object.entries(run.outputs)) {
            for (const secret of secretValues) {
                assert.ok(output.secret || !JSON.stringify(output.value).includes(secret), `stack output ${key} contains a secret`);
            }
        }
    });

    test("sso proxy wired to Entra", () => {
        const args: string[] = containerOf(run, "ssoProxy").inputs.command;
        const registered = findResource(run, "azuread:index/applicationRedirectUris:ApplicationRedirectUris");
        assert.deepEqual(flag(args, "redirect-url"), ["https://netos.xiberian.net/oauth2/callback"]);
        assert.ok(registered.inputs.redirectUris.includes("https://netos.xiberian.net/oauth2/callback"));
        assert.deepEqual(flag(args, "client-id"), [run.outputs.entraClientId.value]);
        assert.deepEqual(flag(args, "oidc-issuer-url"), ["https://login.microsoftonline.com/4944843d-e347-4fe7-a279-4006ce5efc33/v2.0"]);
        assert.deepEqual(flag(args, "allowed-group"), ["exec", "finance", "network_eng"]);
        assert.deepEqual(flag(args, "upstream"), ["http://public-proxy:8080/"]);
        assert.deepEqual(flag(args, "redis-connection-url"), ["redis://redis:6379"]);
    });

    test("trusted proxy is the edge", () => {
        const args: string[] = containerOf(run, "ssoProxy").inputs.command;
        const edge = resourcesOfType(run, networkType).find((network) => network.name === "netos-prod-edge");
        assert.ok(edge);
        assert.deepEqual(flag(args, "trusted-proxy-ip"), [edge.inputs.ipamConfigs[0].subnet]);
        assert.deepEqual(flag(args, "trusted-ip"), []);
    });

    test("sso proxy secret env", () => {
        const env = envOf(containerOf(run, "ssoProxy"));
        const cookieSecret = Buffer.from(env.OAUTH2_PROXY_COOKIE_SECRET, "base64url");
        assert.equal(cookieSecret.length, 32);
        assert.match(env.OAUTH2_PROXY_CLIENT_SECRET, /^mock-password-value-/);
        assert.equal(env.OAUTH2_PROXY_REDIS_PASSWORD, envOf(containerOf(run, "redis")).REDISCLI_AUTH);
    });

    test("cloudflared token only in env", () => {
        const container = containerOf(run, "cloudflared");
        const token = envOf(container).TUNNEL_TOKEN;
        assert.match(token, /^mock-tunnel-token-/);
        assert.deepEqual(container.inputs.command, ["tunnel", "--no-autoupdate", "--metrics", "127.0.0.1:20241", "run"]);
        assert.deepEqual(container.inputs.healthcheck.tests, ["CMD", "cloudflared", "tunnel", "--metrics", "127.0.0.1:20241", "ready"]);
        assert.ok(!JSON.stringify(container.inputs.command).includes(token));
    });

    test("nginx config uploaded", () => {
        const uploads: { file: string; content: string }[] = containerOf(run, "publicProxy").inputs.uploads;
        assert.equal(uploads.length, 1);
        assert.equal(uploads[0].file, "/etc/nginx/nginx.conf");
        assert.match(uploads[0].content, /resolver 127\.0\.0\.11 valid=10s/);
        assert.match(uploads[0].content, /set \$netos_web web:3000;/);
        assert.match(uploads[0].content, /set \$netos_api api:8000;/);
        assert.match(uploads[0].content, /proxy_set_header X-NetOS-User \$netos_user;/);
        assert.match(uploads[0].content, /listen 8080;/);
    });

    test("nginx accepts only the proxy network", () => {
        const content: string = containerOf(run, "publicProxy").inputs.uploads[0].content;
        const proxy = resourcesOfType(run, networkType).find((network) => network.name === "netos-prod-proxy");
        assert.ok(proxy);
        assert.deepEqual(proxy.inputs.ipamConfigs, [{ subnet: "10.213.8.0/24" }]);
        assert.deepEqual([...content.matchAll(/^ +allow (\S+);$/gm)].map((match) => match[1]), ["10.213.8.0/24"]);
        assert.match(content, /^ +deny all;$/m);
    });

    test("nginx fixes forwarded proto and host", () => {
        const content: string = containerOf(run, "publicProxy").inputs.uploads[0].content;
        assert.match(content, /proxy_set_header X-Forwarded-Proto https;/);
        assert.match(content, /proxy_set_header X-Forwarded-Host netos\.xiberian\.net;/);
    });

    test("sso proxy reaches nginx on proxy network", () => {
        const proxyName = `netos-prod-proxy-${mockSuffix("netos-prod-proxy")}`;
        assert.ok(networksOf(containerOf(run, "ssoProxy")).includes(proxyName));
        assert.ok(networksOf(containerOf(run, "publicProxy")).includes(proxyName));
    });

    test("api gets its own role", () => {
        const env = envOf(containerOf(run, "api"));
        const database = new URL(env.DATABASE_URL);
        assert.equal(database.protocol, "postgresql:");
        assert.equal(database.username, "netos_api");
        assert.equal(database.hostname, "postgres");
        assert.equal(database.pathname, "/netos");
        assert.equal(decodeURIComponent(database.password), envOf(containerOf(run, "postgres")).NETOS_POSTGRES_API_PASSWORD);
        assert.notEqual(database.password, envOf(containerOf(run, "postgres")).POSTGRES_PASSWORD);
        const redis = new URL(env.REDIS_URL);
        assert.equal(redis.hostname, "redis");
        assert.equal(redis.pathname, "/1");
        assert.equal(redis.username, "netos-api");
        assert.match(redis.password, /^[0-9a-f]{40}$/);
        assert.notEqual(decodeURIComponent(redis.password), envOf(containerOf(run, "redis")).REDISCLI_AUTH);
        const redisConfig: string = containerOf(run, "redis").inputs.uploads[0].content;
        assert.ok(redisConfig.includes(`user netos-api on >${decodeURIComponent(redis.password)} resetkeys ~[^_]* `), "redis.conf lacks the api user with the api's password");
        assert.equal(env.AUTH_USER_HEADER, "X-NetOS-User");
        assert.equal(env.AUTH_ROLES_HEADER, "X-NetOS-Roles");
        assert.equal(env.PUBLIC_URL, "https://netos.xiberian.net");
        assert.equal(envOf(containerOf(run, "web")).PUBLIC_URL, "https://netos.xiberian.net");
    });

    test("postgres entrypoint and health", () => {
        const container = containerOf(run, "postgres");
        assert.deepEqual(container.inputs.entrypoints, ["/usr/local/bin/netos-postgres-entrypoint"]);
        assert.deepEqual(container.inputs.command, ["postgres"]);
        assert.equal(container.inputs.stopSignal, "SIGINT");
        assert.deepEqual(container.inputs.uploads, [
            { file: "/usr/local/bin/netos-postgres-entrypoint", content: postgresEntrypointScript({ apiRole: "netos_api", apiDatabase: "netos" }), executable: true },
        ]);
        const check: string[] = container.inputs.healthcheck.tests;
        assert.equal(check[0], "CMD-SHELL");
        assert.match(check[1], /--username=netos_api --dbname=netos/);
        assert.match(check[1], /PGPASSWORD="\$NETOS_POSTGRES_API_PASSWORD"/);
    });

    test("health paths from config", () => {
        assert.match(containerOf(run, "web").inputs.healthcheck.tests.join(" "), /http:\/\/127\.0\.0\.1:3000\/"/);
        assert.match(containerOf(run, "api").inputs.healthcheck.tests.join(" "), /http:\/\/127\.0\.0\.1:8000\/health"/);
    });

    test("docker provider explicit", () => {
        const provider = findResource(run, "pulumi:providers:docker", "docker");
        for (const resource of [...resourcesOfType(run, containerType), ...resourcesOfType(run, imageType), ...resourcesOfType(run, networkType), ...resourcesOfType(run, volumeType)]) {
            assert.ok(resource.options.provider.startsWith(`${provider.urn}::`), `${resource.name} uses another provider`);
        }
        assert.equal(provider.inputs.registryAuth, undefined);
    });
});


describe("origin options", () => {
    test("debug publish on loopback", async () => {
        const run = await runProgram({ config: { ssoProxyDebugAddress: "127.0.0.1:14180" } });
        for (const service of services) {
            const ports = containerOf(run, service).inputs.ports ?? [];
            if (service === "ssoProxy") {
                assert.deepEqual(ports, [{ internal: 4180, external: 14180, ip: "127.0.0.1" }]);
            } else {
                assert.deepEqual(ports, [], `${service} publishes a port`);
            }
        }
        assert.equal(containerOf(run, "ssoProxy").options.deleteBeforeReplace, true, "a replacement would collide on the published host port");
    });

    test("sso-proxy starts new first", async () => {
        const run = await runProgram();
        assert.equal(containerOf(run, "ssoProxy").options.deleteBeforeReplace, false);
    });

    test("adopts existing volumes", async () => {
        const run = await runProgram({ config: { postgresVolumeName: "netos_pgdata", redisVolumeName: "netos_redisdata" } });
        assert.deepEqual(resourcesOfType(run, volumeType), []);
        const postgres = containerOf(run, "postgres");
        const redis = containerOf(run, "redis");
        assert.deepEqual(postgres.inputs.volumes, [{ volumeName: "netos_pgdata", containerPath: "/var/lib/postgresql/data" }]);
        assert.deepEqual(redis.inputs.volumes, [{ volumeName: "netos_redisdata", containerPath: "/data" }]);
        assert.ok(postgres.options.dependsOn.some((urn) => urn.endsWith("docker:index/volume:Volume::netos-prod-postgres-data")), "postgres does not wait for the volume read");
        assert.ok(redis.options.dependsOn.some((urn) => urn.endsWith("docker:index/volume:Volume::netos-prod-redis-data")), "redis does not wait for the volume read");
    });

    test("volume deletion allowed", async () => {
        const run = await runProgram({ config: { allowDataVolumeDeletion: true } });
        for (const volume of resourcesOfType(run, volumeType)) {
            assert.equal(volume.options.protect, false);
            assert.equal(volume.options.retainOnDelete, false);
        }
    });

    test("egress for web and api", async () => {
        const run = await runProgram({ config: { appEgress: true } });
        const outward = [...membersByNetwork(run)].filter(([name]) => networkByName(run, name).inputs.internal !== true).map(([, members]) => [...members].sort());
        assert.deepEqual(outward.sort(), [["api"], ["cloudflared", "ssoProxy"], ["web"]]);
        assert.ok(!reachablePairs(run).includes("postgres+web"));
        assert.ok(!reachablePairs(run).includes("api+web"));
    });

    test("webCallsApi joins web to api", async () => {
        const run = await runProgram({ config: { webCallsApi: true } });
        assert.ok(reachablePairs(run).includes("api+web"));
        assert.ok(!reachablePairs(run).includes("postgres+web"));
        assert.ok(!reachablePairs(run).includes("redis+web"));
    });

    test("registry credentials secret", async () => {
        const run = await runProgram({ config: { registryAddress: "ghcr.io", registryUsername: "deploy", registryPassword: "registry-token-value" } });
        const provider = findResource(run, "pulumi:providers:docker", "docker");
        const auth = JSON.parse(provider.inputs.registryAuth);
        assert.equal(auth[0].address, "ghcr.io");
        assert.equal(auth[0].username, "deploy");
        assert.equal(auth[0].password, "registry-token-value");
        assert.deepEqual(provider.secretInputPaths, ["registryAuth"]);
    });

    test("custom env names", async () => {
        const run = await runProgram({ config: { apiEnvNames: { databaseUrl: "NETOS_DB" }, apiEnv: { LOG_LEVEL: "debug" }, webEnv: { NODE_ENV: "production" } } });
        const env = envOf(containerOf(run, "api"));
        assert.ok(env.NETOS_DB.startsWith("postgresql://netos_api:"));
        assert.equal(env.DATABASE_URL, undefined);
        assert.equal(env.LOG_LEVEL, "debug");
        assert.equal(envOf(containerOf(run, "web")).NODE_ENV, "production");
    });

    test("preview registers the same", async () => {
        const update = await runProgram();
        const preview = await runProgram({ preview: true });
        const origin = (candidate: ProgramRun) =>
            candidate.resources.filter((resource) => resource.type.startsWith("docker:") || resource.type.startsWith("netos:docker:")).map((resource) => resource.urn).sort();
        assert.ok(origin(update).length >= 30);
        assert.deepEqual(origin(preview), origin(update));
    });
});

describe("origin config errors", () => {
    /** Runs the program with overrides and returns the config problems, checking that nothing was registered. */
    async function problemsOf(config: Record<string, unknown>): Promise<ConfigError["problems"]> {
        const { run, error } = await runProgramSettled({ config });
        assert.ok(error instanceof Error, `expected an error, got ${String(error)}`);
        assert.equal(error.name, "ConfigError");
        assert.equal(run.resources.length, 0, "resources were registered before the config error");
        return (error as ConfigError).problems;
    }

    test("image latest", async () => {
        const problems = await problemsOf({ webImage: "ghcr.io/xiberian/netos-web:latest" });
        assert.deepEqual(problems, [
            {
                key: "netos:webImage",
                message: 'invalid value "ghcr.io/xiberian/netos-web:latest": uses the tag latest, which changes without a change to the stack; must name a release tag or a digest.',
                fix: "pulumi config set netos:webImage ghcr.io/example/netos-web:1.0.0",
            },
        ]);
    });

    test("image without tag", async () => {
        const problems = await problemsOf({ apiImage: "ghcr.io/xiberian/netos-api" });
        assert.deepEqual(problems, [
            {
                key: "netos:apiImage",
                message: 'invalid value "ghcr.io/xiberian/netos-api": has no tag, so Docker would pull latest; must name a release tag or a digest (name@sha256:<64 hex>).',
                fix: "pulumi config set netos:apiImage ghcr.io/example/netos-api:1.0.0",
            },
        ]);
    });

    test("registry port is no tag", async () => {
        const problems = await problemsOf({ apiImage: "registry.example.com:5000/netos-api" });
        assert.equal(problems.length, 1);
        assert.match(problems[0].message, /has no tag/);
    });

    test("third-party image latest", async () => {
        const problems = await problemsOf({ redisImage: "redis:latest" });
        assert.equal(problems.length, 1);
        assert.equal(problems[0].key, "netos:redisImage");
        assert.equal(problems[0].fix, "pulumi config set netos:redisImage redis:7.4.9-alpine");
    });

    test("missing NetOS images", async () => {
        const { run, error } = await runProgramSettled({ unset: ["webImage", "apiImage"] });
        assert.equal(run.resources.length, 0);
        const problems = (error as ConfigError).problems;
        assert.deepEqual(
            problems.map((problem) => problem.key),
            ["netos:webImage", "netos:apiImage"],
        );
        assert.equal(problems[0].message, "missing: this key is required and has no default.");
    });

    test("publish on all interfaces", async () => {
        const problems = await problemsOf({ ssoProxyDebugAddress: "0.0.0.0:4180" });
        assert.deepEqual(problems, [
            {
                key: "netos:ssoProxyDebugAddress",
                message:
                    'invalid value "0.0.0.0:4180": must be a loopback address such as 127.0.0.1:4180, because a port on any other interface lets clients reach the SSO proxy around Cloudflare Access.',
                fix: "pulumi config set netos:ssoProxyDebugAddress 127.0.0.1:4180",
            },
        ]);
    });

    test("publish on host address", async () => {
        const problems = await problemsOf({ ssoProxyDebugAddress: "192.168.1.10:4180" });
        assert.equal(problems.length, 1);
        assert.match(problems[0].message, /must be a loopback address/);
    });

    test("edge subnet rules", async () => {
        const cases: [string, RegExp][] = [
            ["10.213.7.0", /must be an IPv4 CIDR/],
            ["10.213.7.1/24", /must be a network address/],
            ["8.8.8.0/24", /inside a private range/],
            ["10.0.0.0/8", /prefix length from \/16 to \/28/],
        ];
        for (const [value, expected] of cases) {
            const problems = await problemsOf({ edgeSubnet: value });
            assert.equal(problems.length, 1, value);
            assert.equal(problems[0].key, "netos:edgeSubnet");
            assert.match(problems[0].message, expected, value);
        }
    });

    test("incomplete registry credentials", async () => {
        const problems = await problemsOf({ registryAddress: "ghcr.io" });
        assert.equal(problems.length, 1);
        assert.equal(
            problems[0].message,
            "incomplete registry credentials: netos:registryUsername and netos:registryPassword are missing; set all three or none.",
        );
    });

    test("api role not superuser", async () => {
        const problems = await problemsOf({ postgresApiRole: "postgres" });
        assert.equal(problems.length, 1);
        assert.equal(problems[0].key, "netos:postgresApiRole");
        assert.match(problems[0].message, /must not be the superuser/);
    });

    test("managed env name rejected", async () => {
        const problems = await problemsOf({ apiEnv: { DATABASE_URL: "postgresql://elsewhere" } });
        assert.equal(problems.length, 1);
        assert.equal(problems[0].key, "netos:apiEnv");
        assert.doesNotMatch(problems[0].message, /elsewhere/);
    });

    test("proxy subnet overlaps edge", async () => {
        const problems = await problemsOf({ proxySubnet: "10.213.7.128/25" });
        assert.deepEqual(problems, [
            {
                key: "netos:proxySubnet",
                message: 'invalid value "10.213.7.128/25": overlaps netos:edgeSubnet "10.213.7.0/24"; the two networks need separate subnets.',
                fix: "pulumi config set netos:proxySubnet 10.213.8.0/24",
            },
        ]);
    });

    test("proxy subnet rules", async () => {
        const problems = await problemsOf({ proxySubnet: "8.8.8.0/24" });
        assert.equal(problems.length, 1);
        assert.equal(problems[0].key, "netos:proxySubnet");
        assert.match(problems[0].message, /inside a private range/);
    });

    test("image upper-case digest", async () => {
        const digest = `sha256:${"A".repeat(64)}`;
        const problems = await problemsOf({ apiImage: `ghcr.io/xiberian/netos-api@${digest}` });
        assert.deepEqual(problems, [
            {
                key: "netos:apiImage",
                message: `invalid value "ghcr.io/xiberian/netos-api@${digest}": has an invalid digest "${digest}": must be sha256: followed by 64 lower-case hex digits, as docker image inspect --format '{{index .RepoDigests 0}}' prints it.`,
                fix: "pulumi config set netos:apiImage ghcr.io/example/netos-api:1.0.0",
            },
        ]);
    });

    test("image tag with short digest", async () => {
        const problems = await problemsOf({ redisImage: "redis:7.4.9@sha256:abc123" });
        assert.deepEqual(problems, [
            {
                key: "netos:redisImage",
                message: `invalid value "redis:7.4.9@sha256:abc123": has an invalid digest "sha256:abc123": must be sha256: followed by 64 lower-case hex digits, as docker image inspect --format '{{index .RepoDigests 0}}' prints it.`,
                fix: "pulumi config set netos:redisImage redis:7.4.9-alpine",
            },
        ]);
    });

    test("image upper-case repository", async () => {
        const problems = await problemsOf({ webImage: "ghcr.io/Xiberian/NetOS-Web:1.0.0" });
        assert.deepEqual(problems, [
            {
                key: "netos:webImage",
                message: 'invalid value "ghcr.io/Xiberian/NetOS-Web:1.0.0": has an invalid repository name "Xiberian/NetOS-Web": Docker accepts only lower-case letters and digits, separated by . _ __ or -, in each part between slashes.',
                fix: "pulumi config set netos:webImage ghcr.io/example/netos-web:1.0.0",
            },
        ]);
    });

    test("identity header reserved", async () => {
        const problems = await problemsOf({ apiUserHeader: "X-Forwarded-User" });
        assert.deepEqual(problems, [
            {
                key: "netos:apiUserHeader",
                message:
                    'invalid value "X-Forwarded-User": must not be Host, Authorization, Cookie, Content-Length, Connection, Transfer-Encoding, Forwarded, X-Real-IP or an X-Forwarded-* or X-Auth-Request-* header, because HTTP or the proxies use those.',
                fix: "pulumi config set netos:apiUserHeader X-NetOS-User",
            },
        ]);
    });

    test("identity headers reserved table", async () => {
        for (const header of ["Host", "authorization", "COOKIE", "Content-Length", "connection", "x-forwarded-groups", "Forwarded", "X-Real-Ip", "X-Auth-Request-Email"]) {
            const problems = await problemsOf({ apiRolesHeader: header });
            assert.equal(problems.length, 1, header);
            assert.equal(problems[0].key, "netos:apiRolesHeader", header);
            assert.match(problems[0].message, /must not be Host, Authorization/, header);
        }
    });

    test("identity header invalid name", async () => {
        const problems = await problemsOf({ apiUserHeader: "X NetOS:User" });
        assert.deepEqual(problems, [
            {
                key: "netos:apiUserHeader",
                message: 'invalid value "X NetOS:User": must be an HTTP header name of letters, digits and hyphens.',
                fix: "pulumi config set netos:apiUserHeader X-NetOS-User",
            },
        ]);
    });

    test("cluster databases rejected", async () => {
        for (const database of ["postgres", "template0", "template1"]) {
            const problems = await problemsOf({ postgresDatabase: database });
            assert.deepEqual(problems, [
                {
                    key: "netos:postgresDatabase",
                    message: `invalid value "${database}": must not be postgres, template0 or template1, because the api must own a database of its own.`,
                    fix: "pulumi config set netos:postgresDatabase netos",
                },
            ]);
        }
    });

    test("LD_ env names rejected", async () => {
        const problems = await problemsOf({ apiEnv: { LD_PRELOAD: "/tmp/x.so" }, webEnv: { ld_library_path: "/tmp" } });
        assert.deepEqual(problems, [
            {
                key: "netos:webEnv",
                message: 'invalid name "ld_library_path": names starting with LD_ are rejected, because they change how the dynamic linker loads every program in the container.',
                fix: "remove ld_library_path from netos:webEnv",
            },
            {
                key: "netos:apiEnv",
                message: 'invalid name "LD_PRELOAD": names starting with LD_ are rejected, because they change how the dynamic linker loads every program in the container.',
                fix: "remove LD_PRELOAD from netos:apiEnv",
            },
        ]);
    });

    test("web env managed name", async () => {
        const problems = await problemsOf({ webEnv: { PUBLIC_URL: "https://elsewhere.example" } });
        assert.deepEqual(problems, [
            {
                key: "netos:webEnv",
                message: '"PUBLIC_URL" is set by the program: remove it from netos:webEnv, or rename the program\'s variable with the matching EnvNames key.',
                fix: "remove PUBLIC_URL from netos:webEnv",
            },
        ]);
    });

    test("all problems at once", async () => {
        const problems = await problemsOf({ webImage: "web", apiImage: "api:latest", ssoProxyDebugAddress: "0.0.0.0:1", edgeSubnet: "x" });
        assert.deepEqual(problems.map((problem) => problem.key).sort(), ["netos:apiImage", "netos:edgeSubnet", "netos:ssoProxyDebugAddress", "netos:webImage"]);
    });
});

describe("origin validators", () => {
    const digest = `sha256:${"a".repeat(64)}`;
    const accepted = ["postgres:16.15-bookworm", "localhost:5000/netos__api/v2.x:1.0_rc-1", "my.registry/a/b/c:1", "ghcr.io/xiberian/netos-web:main", "registry.example.com:5000/netos/api:1.2.3", `ghcr.io/xiberian/netos-web@${digest}`, `redis:7.4.9@${digest}`];
    const rejected: [string, RegExp][] = [
        ["postgres", /has no tag/],
        ["registry.example.com:5000/netos/api", /has no tag/],
        ["redis:", /has no tag/],
        ["nginx:latest", /uses the tag latest/],
        ["web image:1.0", /without spaces/],
        ["", /without spaces/],
        [`app@sha256:${"A".repeat(64)}`, /invalid digest/],
        [`app@sha256:${"a".repeat(63)}`, /invalid digest/],
        ["app:1.0@sha256:abc", /invalid digest/],
        ["Netos/app:1.0", /invalid repository name "Netos\/app"/],
        ["ghcr.io/netos/App:1.0", /invalid repository name "netos\/App"/],
        ["ghcr.io/netos/app-:1.0", /invalid repository name/],
        ["ghcr.io/netos/app:-1.0", /invalid tag "-1.0"/],
        ["ghcr.io/netos/app:1.0!", /invalid tag/],
        ["bad_host:5000/app:1.0", /invalid registry host "bad_host:5000"/],
    ];

    for (const reference of accepted) {
        test(`image ${reference} accepted`, () => {
            assert.equal(checkImageReference(reference), undefined);
        });
    }

    for (const [reference, expected] of rejected) {
        test(`image "${reference}" rejected`, () => {
            assert.match(checkImageReference(reference) ?? "", expected);
        });
    }

    test("edge subnet accepted", () => {
        assert.equal(checkNetworkSubnet("10.213.7.0/24"), undefined);
        assert.equal(checkNetworkSubnet("172.31.250.0/28"), undefined);
        assert.equal(checkNetworkSubnet("192.168.0.0/16"), undefined);
    });
});
