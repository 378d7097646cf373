import { isIP } from "node:net";
import * as pulumi from "@pulumi/pulumi";
import { checkIdentityHeaderName } from "../generated/nginx";
import { postgresApiDatabaseDefault, postgresApiRoleDefault } from "../generated/postgres";
import { ConfigReader, describeValue, isRecord } from "./reader";

/** The seven containers of the origin, keyed like `services.ts` plus cloudflared. */
export const originServices = ["cloudflared", "ssoProxy", "publicProxy", "web", "api", "postgres", "redis"] as const;

export type OriginService = (typeof originServices)[number];

/** The third-party images, each pinned to a full patch tag. Change a pin only after checking that the tag exists. */
export const defaultImages = {
    cloudflared: "cloudflare/cloudflared:2026.6.1",
    // The alpine variant, because the distroless one has no shell or wget for the health check.
    ssoProxy: "quay.io/oauth2-proxy/oauth2-proxy:v7.15.6-alpine",
    // Runs as uid 101 with pid and temp files under /tmp, as generated/nginx.ts expects.
    publicProxy: "nginxinc/nginx-unprivileged:1.30.6-alpine",
    // Debian 12, whose glibc collation matches data volumes written by the Debian-based postgres:16 images.
    postgres: "postgres:16.15-bookworm",
    redis: "redis:7.4.9-alpine",
} as const;

/** Memory limit of each container in MiB when `netos:memoryLimitsMb` leaves it out. */
export const defaultMemoryLimitsMb: Readonly<Record<OriginService, number>> = {
    cloudflared: 256,
    ssoProxy: 128,
    publicProxy: 128,
    web: 1024,
    api: 1024,
    postgres: 1024,
    redis: 512,
};

/** Environment variable names the web container receives. */
export interface WebEnvNames {
    /** The public origin users browse to, e.g. `https://netos.xiberian.net`. */
    readonly publicUrl: string;
}

/** Environment variable names the api container receives. */
export interface ApiEnvNames {
    /** Connection URL of the api's own database role (secret). */
    readonly databaseUrl: string;
    /** Redis URL with the password (secret). */
    readonly redisUrl: string;
    /** Name of the request header that carries the signed-in user. */
    readonly userHeader: string;
    /** Name of the request header that carries the user's app roles, comma-separated. */
    readonly rolesHeader: string;
    /** The public origin users browse to. */
    readonly publicUrl: string;
}

export const defaultWebEnvNames: WebEnvNames = { publicUrl: "PUBLIC_URL" };

export const defaultApiEnvNames: ApiEnvNames = {
    databaseUrl: "DATABASE_URL",
    redisUrl: "REDIS_URL",
    userHeader: "AUTH_USER_HEADER",
    rolesHeader: "AUTH_ROLES_HEADER",
    publicUrl: "PUBLIC_URL",
};

/** Credentials for the registry that serves the NetOS images. */
export interface RegistryCredentials {
    /** Registry host, e.g. `ghcr.io`. */
    readonly address: string;
    readonly username: string;
    /** A Pulumi secret. */
    readonly password: pulumi.Output<string>;
}

/** The Docker origin settings of a stack. */
export interface OriginConfig {
    /** Docker daemon address from `docker:host`, e.g. `ssh://deploy@host`; undefined means the provider's default (DOCKER_HOST, then the local socket). */
    readonly dockerHost: string | undefined;
    /** Image reference of every container. */
    readonly images: Readonly<Record<OriginService, string>>;
    /** Private registry credentials for the NetOS images, if any. */
    readonly registry: RegistryCredentials | undefined;
    /** IPv4 subnet (CIDR) of the network cloudflared shares with the SSO proxy. */
    readonly edgeSubnet: string;
    /** IPv4 subnet (CIDR) of the network the SSO proxy shares with Nginx, the only source Nginx accepts. */
    readonly proxySubnet: string;
    /** Whether web and api get a network with a route to the internet. */
    readonly appEgress: boolean;
    /** Whether the web server calls the api server-side, so web joins the api's network. */
    readonly webCallsApi: boolean;
    /** Loopback address and port the SSO proxy is published on for debugging, or undefined for none. */
    readonly ssoProxyDebugPublish: { readonly ip: string; readonly port: number } | undefined;
    /** Whether data volumes may be deleted by Pulumi (unprotected, not retained). */
    readonly allowDataVolumeDeletion: boolean;
    /** Existing Docker volume to adopt for PostgreSQL data, or undefined to create one. */
    readonly postgresVolumeName: string | undefined;
    /** Existing Docker volume to adopt for Redis data, or undefined to create one. */
    readonly redisVolumeName: string | undefined;
    /** Whether Redis persists with the append-only file instead of snapshots. */
    readonly redisAppendOnly: boolean;
    /** The api's PostgreSQL login role. */
    readonly postgresApiRole: string;
    /** The database the api role owns. */
    readonly postgresDatabase: string;
    /** Redis logical database of the api; OAuth2-Proxy's sessions use database 0. */
    readonly apiRedisDatabase: number;
    /** Header names the api's development shim reads the user and roles from. */
    readonly apiUserHeader: string;
    readonly apiRolesHeader: string;
    /** Environment variable names of web and api. */
    readonly webEnvNames: WebEnvNames;
    readonly apiEnvNames: ApiEnvNames;
    /** Extra plain (non-secret) environment variables of web and api. */
    readonly webEnv: Readonly<Record<string, string>>;
    readonly apiEnv: Readonly<Record<string, string>>;
    /** HTTP paths the web and api health checks request. */
    readonly webHealthPath: string;
    readonly apiHealthPath: string;
    /** Memory limit of each container in MiB. */
    readonly memoryLimitsMb: Readonly<Record<OriginService, number>>;
    /** Docker restart policy of every container. */
    readonly restartPolicy: string;
    /** json-file log rotation: the size of one file (Docker size syntax) and how many files to keep. */
    readonly logMaxSize: string;
    readonly logMaxFiles: number;
    /** Seconds between health checks. */
    readonly healthCheckIntervalSeconds: number;
    /** Seconds `pulumi up` waits for a new container to become healthy. */
    readonly healthyTimeoutSeconds: number;
}

const restartPolicies = ["always", "unless-stopped", "on-failure", "no"];
const envNamePattern = /^[A-Za-z_][A-Za-z0-9_]*$/;
const volumeNamePattern = /^[A-Za-z0-9][A-Za-z0-9_.-]+$/;
const reservedDatabases = ["postgres", "template0", "template1"];

// Docker's reference grammar (distribution/reference): each path component is
// lower case, a registry host may be mixed case, and a sha256 digest is 64
// lower-case hex digits. Docker rejects anything else only at pull time.
const pathComponentPattern = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const registryHostPattern = /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*(?::[0-9]+)?$/;
const tagPattern = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const digestPattern = /^sha256:[0-9a-f]{64}$/;

/**
 * Returns why an image reference cannot be deployed, or `undefined` when it can.
 * A reference needs a tag other than `latest`, or a digest, so each `pulumi up`
 * runs the image the stack names and a new image shows in the preview. It must
 * also follow Docker's reference grammar, because Docker rejects a malformed
 * reference only at pull time, after the Entra and Cloudflare resources exist.
 */
export function checkImageReference(reference: string): string | undefined {
    if (reference.trim() !== reference || reference === "" || /\s/.test(reference)) {
        return "must be an image reference without spaces, such as ghcr.io/example/app:1.2.3";
    }

    const at = reference.indexOf("@");
    const digest = at === -1 ? undefined : reference.slice(at + 1);
    const nameAndTag = at === -1 ? reference : reference.slice(0, at);
    if (digest !== undefined && !digestPattern.test(digest)) {
        return `has an invalid digest ${JSON.stringify(digest)}: must be sha256: followed by 64 lower-case hex digits, as docker image inspect --format '{{index .RepoDigests 0}}' prints it`;
    }

    const lastSlash = nameAndTag.lastIndexOf("/");
    const colon = nameAndTag.indexOf(":", lastSlash + 1);
    const name = colon === -1 ? nameAndTag : nameAndTag.slice(0, colon);
    const tag = colon === -1 ? undefined : nameAndTag.slice(colon + 1);

    const components = name.split("/");
    const first = components[0] ?? "";
    // Docker also reads an upper-case first component as a registry host, but a
    // host without a dot or port is almost always a mistyped repository name.
    const hasRegistry = components.length > 1 && (/[.:]/.test(first) || first === "localhost");
    if (hasRegistry && !registryHostPattern.test(first)) {
        return `has an invalid registry host ${JSON.stringify(first)}: must be a host name with an optional port, such as ghcr.io or registry.example.com:5000`;
    }
    const path = hasRegistry ? components.slice(1) : components;
    const badComponent = path.find((component) => !pathComponentPattern.test(component));
    if (badComponent !== undefined) {
        return `has an invalid repository name ${JSON.stringify(path.join("/"))}: Docker accepts only lower-case letters and digits, separated by . _ __ or -, in each part between slashes`;
    }

    if (tag !== undefined && tag !== "" && !tagPattern.test(tag)) {
        return `has an invalid tag ${JSON.stringify(tag)}: a tag is 1 to 128 letters, digits, _ . or -, and does not start with . or -`;
    }
    if (digest !== undefined) {
        return undefined;
    }
    if (tag === undefined || tag === "") {
        return "has no tag, so Docker would pull latest; must name a release tag or a digest (name@sha256:<64 hex>)";
    }
    if (tag === "latest") {
        return "uses the tag latest, which changes without a change to the stack; must name a release tag or a digest";
    }
    return undefined;
}

/** Returns why a subnet cannot be a fixed Docker network subnet (edge or proxy), or `undefined` when it can. */
export function checkNetworkSubnet(value: string): string | undefined {
    const match = /^(\d+\.\d+\.\d+\.\d+)\/(\d+)$/.exec(value);
    if (!match || isIP(match[1]) !== 4) {
        return "must be an IPv4 CIDR such as 10.213.7.0/24";
    }
    const prefix = Number(match[2]);
    if (prefix < 16 || prefix > 28) {
        return "must have a prefix length from /16 to /28, leaving room for both containers and their replacements";
    }
    const octets = match[1].split(".").map(Number);
    const address = ((octets[0] << 24) >>> 0) + (octets[1] << 16) + (octets[2] << 8) + octets[3];
    const hostBits = 32 - prefix;
    if (address % 2 ** hostBits !== 0) {
        return `must be a network address: the host bits after /${prefix} must be zero`;
    }
    const [a, b] = octets;
    const isPrivate = a === 10 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168);
    if (!isPrivate) {
        return "must be inside a private range (10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16)";
    }
    return undefined;
}

/** Returns why an HTTP path cannot be a health path, or `undefined` when it can. */
export function checkHealthPath(value: string): string | undefined {
    return /^\/[A-Za-z0-9/_.~-]*$/.test(value) ? undefined : "must be an absolute path such as /health, of letters, digits and / _ . ~ -";
}

/** Reads and validates the Docker origin settings, reporting problems to `reader`. */
export function readOriginConfig(reader: ConfigReader): OriginConfig {
    // docker:host belongs to the Docker provider's namespace; the program passes it to its explicit provider.
    const dockerHost = readDockerHost(reader);
    const images = readImages(reader);
    const registry = readRegistry(reader);

    const edgeSubnet = readSubnet(reader, "edgeSubnet", "10.213.7.0/24");
    const proxySubnet = readSubnet(reader, "proxySubnet", "10.213.8.0/24");
    if (edgeSubnet !== undefined && proxySubnet !== undefined && subnetsOverlap(edgeSubnet, proxySubnet)) {
        reader.report(
            "proxySubnet",
            `invalid value ${describeValue(proxySubnet)}: overlaps netos:edgeSubnet ${describeValue(edgeSubnet)}; the two networks need separate subnets.`,
            reader.setCommand("proxySubnet", "10.213.8.0/24"),
        );
    }

    const appEgress = reader.boolean("appEgress", false);
    const webCallsApi = reader.boolean("webCallsApi", false);
    const ssoProxyDebugPublish = readDebugPublish(reader);
    const allowDataVolumeDeletion = reader.boolean("allowDataVolumeDeletion", false);
    const postgresVolumeName = readVolumeName(reader, "postgresVolumeName");
    const redisVolumeName = readVolumeName(reader, "redisVolumeName");
    const redisAppendOnly = reader.boolean("redisAppendOnly", false);

    const postgresApiRole = reader.string("postgresApiRole", { default: postgresApiRoleDefault, example: postgresApiRoleDefault });
    const postgresDatabase = reader.string("postgresDatabase", { default: postgresApiDatabaseDefault, example: postgresApiDatabaseDefault });
    for (const [key, value] of [["postgresApiRole", postgresApiRole], ["postgresDatabase", postgresDatabase]] as const) {
        if (!/^[a-z_][a-z0-9_]{0,62}$/.test(value) || (key === "postgresApiRole" && (value.startsWith("pg_") || value === "postgres"))) {
            reader.report(
                key,
                `invalid value ${describeValue(value)}: must be 1 to 63 lower-case letters, digits or underscores, not starting with a digit` +
                    (key === "postgresApiRole" ? ", and neither postgres nor starting with pg_, because the api must not be the superuser." : "."),
                reader.setCommand(key, key === "postgresApiRole" ? postgresApiRoleDefault : postgresApiDatabaseDefault),
            );
        }
    }
    // The maintenance database and the templates belong to the cluster, not to the api.
    if (reservedDatabases.includes(postgresDatabase)) {
        reader.report(
            "postgresDatabase",
            `invalid value ${describeValue(postgresDatabase)}: must not be postgres, template0 or template1, because the api must own a database of its own.`,
            reader.setCommand("postgresDatabase", postgresApiDatabaseDefault),
        );
    }
    const apiRedisDatabase = reader.integer("apiRedisDatabase", { default: 1, min: 1, max: 15 });

    const apiUserHeader = readHeaderName(reader, "apiUserHeader", "X-NetOS-User");
    const apiRolesHeader = readHeaderName(reader, "apiRolesHeader", "X-NetOS-Roles");
    if (apiUserHeader.toLowerCase() === apiRolesHeader.toLowerCase()) {
        reader.report("apiRolesHeader", `invalid value ${describeValue(apiRolesHeader)}: must differ from netos:apiUserHeader.`, reader.setCommand("apiRolesHeader", "X-NetOS-Roles"));
    }

    const webEnvNames = readEnvNames(reader, "webEnvNames", defaultWebEnvNames);
    const apiEnvNames = readEnvNames(reader, "apiEnvNames", defaultApiEnvNames);
    const webEnv = readExtraEnv(reader, "webEnv", Object.values(webEnvNames));
    const apiEnv = readExtraEnv(reader, "apiEnv", Object.values(apiEnvNames));

    const webHealthPath = readHealthPath(reader, "webHealthPath", "/");
    const apiHealthPath = readHealthPath(reader, "apiHealthPath", "/health");

    const memoryLimitsMb = readMemoryLimits(reader);
    const restartPolicy = reader.string("restartPolicy", { default: "unless-stopped", example: "unless-stopped" });
    if (!restartPolicies.includes(restartPolicy)) {
        reader.report("restartPolicy", `invalid value ${describeValue(restartPolicy)}: must be one of ${restartPolicies.join(", ")}.`, reader.setCommand("restartPolicy", "unless-stopped"));
    }
    const logMaxSize = reader.string("logMaxSize", { default: "10m", example: "10m" });
    if (!/^[1-9][0-9]*[kmg]$/.test(logMaxSize)) {
        reader.report("logMaxSize", `invalid value ${describeValue(logMaxSize)}: must be a size with a unit k, m or g, such as 10m.`, reader.setCommand("logMaxSize", "10m"));
    }
    const logMaxFiles = reader.integer("logMaxFiles", { default: 3, min: 1, max: 100, unit: "files" });
    const healthCheckIntervalSeconds = reader.integer("healthCheckIntervalSeconds", { default: 15, min: 2, max: 600, unit: "seconds" });
    const healthyTimeoutSeconds = reader.integer("healthyTimeoutSeconds", { default: 180, min: 10, max: 3600, unit: "seconds" });

    return {
        dockerHost,
        images,
        registry,
        edgeSubnet: edgeSubnet ?? "",
        proxySubnet: proxySubnet ?? "",
        appEgress,
        webCallsApi,
        ssoProxyDebugPublish,
        allowDataVolumeDeletion,
        postgresVolumeName,
        redisVolumeName,
        redisAppendOnly,
        postgresApiRole,
        postgresDatabase,
        apiRedisDatabase,
        apiUserHeader,
        apiRolesHeader,
        webEnvNames,
        apiEnvNames,
        webEnv,
        apiEnv,
        webHealthPath,
        apiHealthPath,
        memoryLimitsMb,
        restartPolicy,
        logMaxSize,
        logMaxFiles,
        healthCheckIntervalSeconds,
        healthyTimeoutSeconds,
    };
}

/** Reads a fixed network subnet; returns undefined (after reporting) when it is invalid. */
function readSubnet(reader: ConfigReader, key: string, defaultValue: string): string | undefined {
    const value = reader.string(key, { default: defaultValue, example: defaultValue });
    const rule = checkNetworkSubnet(value);
    if (rule) {
        reader.report(key, `invalid value ${describeValue(value)}: ${rule}.`, reader.setCommand(key, defaultValue));
        return undefined;
    }
    return value;
}

/** Returns the first and last address of a valid IPv4 CIDR as 32-bit numbers. */
function subnetRange(cidr: string): [number, number] {
    const [address, prefix] = cidr.split("/");
    const start = (address ?? "").split(".").reduce((total, octet) => total * 256 + Number(octet), 0);
    return [start, start + 2 ** (32 - Number(prefix)) - 1];
}

/** Returns whether two valid IPv4 CIDRs share any address. */
export function subnetsOverlap(first: string, second: string): boolean {
    const [firstStart, firstEnd] = subnetRange(first);
    const [secondStart, secondEnd] = subnetRange(second);
    return firstStart <= secondEnd && secondStart <= firstEnd;
}

/**
 * Reads `docker:host`. Without it the provider falls back to `DOCKER_HOST` and
 * then to this machine's Docker socket, so a stack run from a workstation would
 * silently put production containers and volumes there: one of the two must be set.
 */
function readDockerHost(reader: ConfigReader): string | undefined {
    // NOTE: the value is passed on unchecked; the Docker provider rejects a malformed address itself.
    const raw = pulumi.runtime.getConfig("docker:host");
    if (raw !== undefined && raw !== "") {
        return raw;
    }
    if (!process.env["DOCKER_HOST"]) {
        reader.reportKey(
            "docker:host",
            "missing: neither docker:host nor the DOCKER_HOST environment variable is set, so the Docker provider would use this machine's local Docker.",
            "pulumi config set docker:host ssh://<user>@<docker host>, or export DOCKER_HOST; to deploy to this machine on purpose, set docker:host to unix:///var/run/docker.sock",
        );
    }
    return undefined;
}

const imageKeys: Readonly<Record<OriginService, string>> = {
    cloudflared: "cloudflaredImage",
    ssoProxy: "ssoProxyImage",
    publicProxy: "publicProxyImage",
    web: "webImage",
    api: "apiImage",
    postgres: "postgresImage",
    redis: "redisImage",
};

function readImages(reader: ConfigReader): Record<OriginService, string> {
    const images = {} as Record<OriginService, string>;
    for (const service of originServices) {
        const key = imageKeys[service];
        const isNetOs = service === "web" || service === "api";
        const example = isNetOs ? `ghcr.io/example/netos-${service}:1.0.0` : defaultImages[service as keyof typeof defaultImages];
        const image = isNetOs
            ? reader.string(key, { required: true, example })
            : reader.string(key, { default: defaultImages[service as keyof typeof defaultImages], example });
        const rule = image === "" ? undefined : checkImageReference(image);
        if (rule) {
            reader.report(key, `invalid value ${describeValue(image)}: ${rule}.`, reader.setCommand(key, example));
        }
        images[service] = image;
    }
    return images;
}

function readRegistry(reader: ConfigReader): RegistryCredentials | undefined {
    const address = reader.optionalString("registryAddress");
    const username = reader.optionalString("registryUsername");
    const password = reader.optionalSecret("registryPassword");
    const providedCount = [address, username, password].filter((value) => value !== undefined).length;
    if (providedCount === 0) {
        return undefined;
    }
    if (providedCount < 3) {
        const missing = [
            address === undefined ? "netos:registryAddress" : "",
            username === undefined ? "netos:registryUsername" : "",
            password === undefined ? "netos:registryPassword" : "",
        ].filter(Boolean);
        reader.report(
            "registryAddress",
            `incomplete registry credentials: ${missing.join(" and ")} ${missing.length === 1 ? "is" : "are"} missing; set all three or none.`,
            "pulumi config set netos:registryAddress ghcr.io && pulumi config set netos:registryUsername <user> && pulumi config set --secret netos:registryPassword <token>",
        );
        return undefined;
    }
    if (address !== undefined && !/^[A-Za-z0-9.-]+(:\d+)?$/.test(address)) {
        reader.report("registryAddress", `invalid value ${describeValue(address)}: must be a registry host with an optional port, without a scheme or path, such as ghcr.io.`, reader.setCommand("registryAddress", "ghcr.io"));
    }
    return { address: address as string, username: username as string, password: password as pulumi.Output<string> };
}

function readDebugPublish(reader: ConfigReader): { ip: string; port: number } | undefined {
    const raw = reader.optionalString("ssoProxyDebugAddress");
    if (raw === undefined) {
        return undefined;
    }
    const match = /^(\[[0-9a-fA-F:.]+\]|[0-9.]+):(\d{1,5})$/.exec(raw);
    const ip = match ? match[1].replace(/^\[(.*)\]$/, "$1") : "";
    const port = match ? Number(match[2]) : 0;
    const fix = reader.setCommand("ssoProxyDebugAddress", "127.0.0.1:4180");
    if (!match || isIP(ip) === 0 || port < 1 || port > 65535) {
        reader.report("ssoProxyDebugAddress", `invalid value ${describeValue(raw)}: must be a loopback address and port such as 127.0.0.1:4180.`, fix);
        return undefined;
    }
    const isLoopback = isIP(ip) === 4 ? ip.startsWith("127.") : ip === "::1";
    if (!isLoopback) {
        reader.report(
            "ssoProxyDebugAddress",
            `invalid value ${describeValue(raw)}: must be a loopback address such as 127.0.0.1:4180, because a port on any other interface lets clients reach the SSO proxy around Cloudflare Access.`,
            fix,
        );
        return undefined;
    }
    return { ip, port };
}

function readVolumeName(reader: ConfigReader, key: string): string | undefined {
    const name = reader.optionalString(key);
    if (name !== undefined && !volumeNamePattern.test(name)) {
        reader.report(key, `invalid value ${describeValue(name)}: must be a Docker volume name of letters, digits and _ . - (see docker volume ls).`, reader.setCommand(key, "netos_postgres-data"));
    }
    return name;
}

function readHeaderName(reader: ConfigReader, key: string, defaultValue: string): string {
    const value = reader.string(key, { default: defaultValue, example: defaultValue });
    const rule = checkIdentityHeaderName(value);
    if (rule) {
        reader.report(key, `invalid value ${describeValue(value)}: ${rule}.`, reader.setCommand(key, defaultValue));
    }
    return value;
}

function readHealthPath(reader: ConfigReader, key: string, defaultValue: string): string {
    const value = reader.string(key, { default: defaultValue, example: defaultValue });
    const rule = checkHealthPath(value);
    if (rule) {
        reader.report(key, `invalid value ${describeValue(value)}: ${rule}.`, reader.setCommand(key, defaultValue));
    }
    return value;
}

function readEnvNames<T extends object>(reader: ConfigReader, key: string, defaults: T): T {
    const overrides = reader.object<Record<string, unknown>>(key, {
        default: {},
        isShape: isRecord,
        shape: `a map from ${Object.keys(defaults).join(", ")} to an environment variable name`,
        example: JSON.stringify(defaults),
    });
    const names: Record<string, string> = { ...(defaults as Record<string, string>) };
    for (const [field, value] of Object.entries(overrides)) {
        if (!(field in defaults)) {
            reader.report(key, `unknown field ${describeValue(field)}: must be one of ${Object.keys(defaults).join(", ")}.`, `fix the field name in netos:${key} in Pulumi.<stack>.yaml`);
        } else if (typeof value !== "string" || !envNamePattern.test(value)) {
            reader.report(key, `invalid name ${describeValue(value)} for ${field}: must be an environment variable name of letters, digits and _.`, `fix netos:${key}.${field} in Pulumi.<stack>.yaml`);
        } else {
            names[field] = value;
        }
    }
    const seen = new Set<string>();
    for (const name of Object.values(names)) {
        if (seen.has(name)) {
            reader.report(key, `duplicate name ${describeValue(name)}: each field needs its own environment variable.`, `rename one of them in netos:${key}`);
        }
        seen.add(name);
    }
    return names as T;
}

function readExtraEnv(reader: ConfigReader, key: string, managedNames: readonly string[]): Record<string, string> {
    const env = reader.object<Record<string, unknown>>(key, {
        default: {},
        isShape: isRecord,
        shape: "a map from environment variable name to a string value",
        example: '{"LOG_LEVEL":"info"}',
    });
    const result: Record<string, string> = {};
    for (const [name, value] of Object.entries(env)) {
        if (!envNamePattern.test(name)) {
            reader.report(key, `invalid name ${describeValue(name)}: must be an environment variable name of letters, digits and _.`, `fix the name in netos:${key}`);
        } else if (/^LD_/i.test(name)) {
            reader.report(key, `invalid name ${describeValue(name)}: names starting with LD_ are rejected, because they change how the dynamic linker loads every program in the container.`, `remove ${name} from netos:${key}`);
        } else if (managedNames.includes(name)) {
            reader.report(key, `${describeValue(name)} is set by the program: remove it from netos:${key}, or rename the program's variable with the matching EnvNames key.`, `remove ${name} from netos:${key}`);
        } else if (typeof value !== "string" && typeof value !== "number" && typeof value !== "boolean") {
            reader.report(key, `invalid value for ${name}: must be a string.`, `quote the value of ${name} in netos:${key}`);
        } else {
            result[name] = String(value);
        }
    }
    return result;
}

function isMemoryMap(value: unknown): value is Record<string, number> {
    return isRecord(value) && Object.values(value).every((item) => typeof item === "number");
}

function readMemoryLimits(reader: ConfigReader): Record<OriginService, number> {
    const overrides = reader.object<Record<string, number>>("memoryLimitsMb", {
        default: {},
        isShape: isMemoryMap,
        shape: `a map from service (${originServices.join(", ")}) to a memory limit in MiB`,
        example: '{"api":2048}',
    });
    const limits: Record<OriginService, number> = { ...defaultMemoryLimitsMb };
    for (const [service, megabytes] of Object.entries(overrides)) {
        if (!(originServices as readonly string[]).includes(service)) {
            reader.report("memoryLimitsMb", `unknown service ${describeValue(service)}: must be one of ${originServices.join(", ")}.`, "fix the service name in netos:memoryLimitsMb");
        } else if (!Number.isInteger(megabytes) || megabytes < 32 || megabytes > 65536) {
            reader.report("memoryLimitsMb", `invalid limit ${describeValue(megabytes)} for ${service}: must be a whole number of MiB from 32 to 65536.`, `fix netos:memoryLimitsMb.${service}`);
        } else {
            limits[service as OriginService] = megabytes;
        }
    }
    return limits;
}
