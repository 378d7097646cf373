/**
 * Checks a deployed NetOS stack from outside, as an unauthenticated
 * visitor reaches it, and prints one line per check: PASS, FAIL (with the fix)
 * or SKIP (with the reason). Exits 1 when any check fails and 2 on a usage
 * error.
 *
 *   npm run verify -- --stack prod
 *   npm run verify -- --url https://netos.xiberian.net --tenant <tenant id> --client-id <client id>
 *   npm run verify -- --connect 127.0.0.1:4180 --host netos.xiberian.net --authorize-url <url> --client-id <id>
 *
 * The script contacts only the target the user names: the URL, the stack's
 * `publicUrl` output, or the `--connect` address. Without one it prints the
 * usage and sends nothing.
 */
import { execFile } from "node:child_process";
import * as dns from "node:dns";
import * as fs from "node:fs";
import * as http from "node:http";
import * as https from "node:https";
import * as net from "node:net";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { parse as parseYaml } from "yaml";

import { oauth2ProxyPingPath } from "../generated/oauth2Proxy";
import { oauth2CallbackUrl, publicOriginOf } from "../services";

// ---------------------------------------------------------------------------
// Results and their output format

export type CheckStatus = "PASS" | "FAIL" | "SKIP";

/** The outcome of one check. */
export interface CheckResult {
    /** Short, stable name of the check, e.g. `no content without a session: /api/`. */
    readonly name: string;
    readonly status: CheckStatus;
    /** The observation, or the reason the check was skipped. */
    readonly detail: string;
    /** The action that fixes a failure. Only FAIL results carry one. */
    readonly fix?: string;
}

/** Formats a result as exactly one line: `PASS  <name>: <detail>`, with ` Fix: <fix>` on a failure. */
export function formatResult(result: CheckResult): string {
    const fix = result.status === "FAIL" && result.fix ? ` Fix: ${result.fix}` : "";
    return oneLine(`${result.status.padEnd(4)}  ${result.name}: ${result.detail}${fix}`);
}

/** Returns the closing summary line, e.g. `verify: 12 passed, 1 failed, 2 skipped`. */
export function formatSummary(results: readonly CheckResult[]): string {
    const count = (status: CheckStatus) => results.filter((result) => result.status === status).length;
    return `verify: ${count("PASS")} passed, ${count("FAIL")} failed, ${count("SKIP")} skipped`;
}

function oneLine(text: string): string {
    return text.replace(/\s*[\r\n]+\s*/g, " ");
}

// ---------------------------------------------------------------------------
// Options

/** Everything the checks need to know about the target. */
export interface VerifyTarget {
    /** Public origin users browse to, e.g. `https://netos.xiberian.net`; the expected `redirect_uri` is derived from it. */
    readonly publicOrigin: string;
    /**
     * Address to send the requests to instead of the public origin, e.g. the
     * local chain's OAuth2-Proxy on `127.0.0.1:4180`. Requests then go as plain
     * HTTP with `Host` and `X-Forwarded-Proto` of the public origin, as
     * cloudflared sends them.
     */
    readonly connect?: { readonly host: string; readonly port: number };
    /** Expected authorization endpoint (scheme, host and path) of the sign-in redirect; undefined skips that check. */
    readonly authorizeUrl?: string;
    /** Expected `client_id` of the sign-in redirect; undefined skips that check. */
    readonly clientId?: string;
    /** Whether Cloudflare Access must respond first. `auto` accepts either. */
    readonly access: "on" | "off" | "auto";
    /** Zero Trust team name; when set, the Access redirect must go to `<team>.cloudflareaccess.com`. */
    readonly accessTeamName?: string;
    /** Timeout of each request, in milliseconds. */
    readonly timeoutMs: number;
}

/** A command-line error. The message names the invalid option or value and the fix. */
export class UsageError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "UsageError";
    }
}

export const usage = `Usage: npm run verify -- (--stack NAME | --url URL | --host NAME) [options]

Target (one is required; nothing is contacted without it):
  --stack NAME           read the stack's publicUrl and entraClientId outputs with
                         \`pulumi stack output --json --stack NAME\`, and the tenant and
                         Access settings from Pulumi.yaml and Pulumi.NAME.yaml
  --url URL              public origin, e.g. https://netos.xiberian.net
  --host NAME            public hostname; the origin is https://NAME

Options:
  --connect HOST:PORT    send the requests to this address over plain HTTP, with Host
                         and X-Forwarded-Proto: https of the public origin, as
                         cloudflared does (e.g. the local chain on 127.0.0.1)
  --tenant ID            Entra ID tenant id; the expected authorize endpoint is
                         https://login.microsoftonline.com/ID/oauth2/v2.0/authorize
  --authorize-url URL    expected authorize endpoint, overriding --tenant
  --client-id ID         expected client_id of the sign-in redirect
  --access on|off|auto   whether Cloudflare Access must respond first (default: auto,
                         or the stack's netos:accessEnabled with --stack)
  --access-team NAME     expected Zero Trust team name (<NAME>.cloudflareaccess.com)
  --timeout SECONDS      timeout of each request (default: 10)
  --help                 print this text`;

/** The parsed command line, before the stack (if any) has been read. */
export interface CommandLine {
    readonly stack?: string;
    readonly url?: string;
    readonly host?: string;
    readonly connect?: string;
    readonly tenant?: string;
    readonly authorizeUrl?: string;
    readonly clientId?: string;
    readonly access?: "on" | "off" | "auto";
    readonly accessTeam?: string;
    readonly timeoutSeconds: number;
    readonly help: boolean;
}

/** Parses the arguments after `--`. Throws `UsageError` on an unknown option or an invalid value. */
export function parseCommandLine(argv: readonly string[]): CommandLine {
    let parsed;
    try {
        parsed = parseArgs({
            args: [...argv],
            strict: true,
            allowPositionals: false,
            options: {
                stack: { type: "string" },
                url: { type: "string" },
                host: { type: "string" },
                connect: { type: "string" },
                tenant: { type: "string" },
                "authorize-url": { type: "string" },
                "client-id": { type: "string" },
                access: { type: "string" },
                "access-team": { type: "string" },
                timeout: { type: "string" },
                help: { type: "boolean" },
            },
        });
    } catch (error) {
        throw new UsageError((error as Error).message);
    }
    const values = parsed.values;

    const access = values.access;
    if (access !== undefined && access !== "on" && access !== "off" && access !== "auto") {
        throw new UsageError(`invalid --access ${JSON.stringify(access)}: use on, off or auto.`);
    }
    const timeoutSeconds = values.timeout === undefined ? 10 : Number(values.timeout);
    if (!Number.isFinite(timeoutSeconds) || timeoutSeconds <= 0 || timeoutSeconds > 120) {
        throw new UsageError(`invalid --timeout ${JSON.stringify(values.timeout)}: use a number of seconds between 1 and 120.`);
    }
    const targets = [values.stack, values.url, values.host].filter((value) => value !== undefined);
    if (!values.help && targets.length !== 1) {
        throw new UsageError(
            targets.length === 0
                ? "no target: pass --stack NAME, --url URL or --host NAME. The script contacts nothing it is not told to."
                : "more than one target: pass only one of --stack, --url and --host.",
        );
    }

    return {
        stack: values.stack,
        url: values.url,
        host: values.host,
        connect: values.connect,
        tenant: values.tenant,
        authorizeUrl: values["authorize-url"],
        clientId: values["client-id"],
        access,
        accessTeam: values["access-team"],
        timeoutSeconds,
        help: values.help ?? false,
    };
}

/** Stack outputs and config that `--stack` contributes to the target. */
export interface StackFacts {
    readonly publicUrl?: string;
    readonly clientId?: string;
    readonly tenantId?: string;
    readonly accessEnabled?: boolean;
    readonly accessTeamName?: string;
}

/** Builds the target from the command line and, with `--stack`, the stack's facts. Throws `UsageError` on an invalid value. */
export function buildTarget(commandLine: CommandLine, stack: StackFacts = {}): VerifyTarget {
    const publicOrigin = resolvePublicOrigin(commandLine, stack);
    const tenant = commandLine.tenant ?? stack.tenantId;
    let authorizeUrl = tenant === undefined ? undefined : entraAuthorizeUrl(tenant);
    if (commandLine.authorizeUrl !== undefined) {
        // Compared with the redirect's origin and path, so a query in the option is dropped.
        const url = parseHttpUrl(commandLine.authorizeUrl, "--authorize-url");
        authorizeUrl = `${url.origin}${url.pathname}`;
    }
    let stackAccess: "on" | "off" | undefined;
    if (stack.accessEnabled !== undefined) {
        stackAccess = stack.accessEnabled ? "on" : "off";
    }

    return {
        publicOrigin,
        connect: commandLine.connect === undefined ? undefined : parseConnect(commandLine.connect),
        authorizeUrl,
        clientId: commandLine.clientId ?? stack.clientId,
        access: commandLine.access ?? stackAccess ?? "auto",
        accessTeamName: commandLine.accessTeam ?? stack.accessTeamName,
        timeoutMs: commandLine.timeoutSeconds * 1000,
    };
}

/** Returns Entra ID's v2.0 authorization endpoint of a tenant. */
export function entraAuthorizeUrl(tenantId: string): string {
    return `https://login.microsoftonline.com/${tenantId}/oauth2/v2.0/authorize`;
}

function resolvePublicOrigin(commandLine: CommandLine, stack: StackFacts): string {
    if (commandLine.host !== undefined) {
        if (!/^[A-Za-z0-9.-]+$/.test(commandLine.host)) {
            throw new UsageError(`invalid --host ${JSON.stringify(commandLine.host)}: give a hostname only, without scheme, port or path.`);
        }
        return publicOriginOf(commandLine.host.toLowerCase());
    }
    if (commandLine.url !== undefined) {
        return parseOrigin(commandLine.url, "--url");
    }
    if (stack.publicUrl === undefined) {
        throw new UsageError(`the stack ${JSON.stringify(commandLine.stack)} has no publicUrl output: run \`pulumi up\` first, or pass --url.`);
    }
    return parseOrigin(stack.publicUrl, "the stack's publicUrl output");
}

function parseHttpUrl(value: string, label: string): URL {
    let url: URL;
    try {
        url = new URL(value);
    } catch {
        throw new UsageError(`invalid ${label} ${JSON.stringify(value)}: give an absolute http or https URL.`);
    }
    if (url.protocol !== "https:" && url.protocol !== "http:") {
        throw new UsageError(`invalid ${label} ${JSON.stringify(value)}: the scheme must be http or https.`);
    }
    return url;
}

function parseOrigin(value: string, label: string): string {
    const url = parseHttpUrl(value, label);
    if ((url.pathname !== "/" && url.pathname !== "") || url.search !== "" || url.hash !== "") {
        throw new UsageError(`invalid ${label} ${JSON.stringify(value)}: give the origin only, e.g. ${url.origin}.`);
    }
    return url.origin;
}

function parseConnect(value: string): { host: string; port: number } {
    const match = /^\[?([^\]]+?)\]?:([0-9]{1,5})$/.exec(value);
    const port = match ? Number(match[2]) : NaN;
    if (!match || port < 1 || port > 65535) {
        throw new UsageError(`invalid --connect ${JSON.stringify(value)}: use HOST:PORT, e.g. 127.0.0.1:4180.`);
    }
    return { host: match[1] as string, port };
}

// ---------------------------------------------------------------------------
// Reading a stack

const repoRoot = path.resolve(__dirname, "..");

/**
 * Reads the stack outputs with the Pulumi CLI and the tenant and Access
 * settings from the project and stack files, where Pulumi.yaml's defaults
 * apply as the CLI applies them. Throws `UsageError` when the CLI is missing
 * or fails.
 */
export async function readStackFacts(stack: string): Promise<StackFacts> {
    const outputs = await pulumiStackOutputs(stack);
    const config = readStackConfig(stack);
    const accessEnabled = config["netos:accessEnabled"];
    const teamName = config["netos:accessTeamName"];
    const tenantId = config["netos:entraTenantId"];
    return {
        publicUrl: typeof outputs.publicUrl === "string" ? outputs.publicUrl : undefined,
        clientId: typeof outputs.entraClientId === "string" ? outputs.entraClientId : undefined,
        tenantId: typeof tenantId === "string" ? tenantId : undefined,
        accessEnabled: accessEnabled === undefined ? undefined : accessEnabled === true || accessEnabled === "true",
        accessTeamName: typeof teamName === "string" && teamName !== "" ? teamName : undefined,
    };
}

function pulumiStackOutputs(stack: string): Promise<Record<string, unknown>> {
    return new Promise((resolve, reject) => {
        execFile("pulumi", ["stack", "output", "--json", "--stack", stack], { cwd: repoRoot, timeout: 60_000 }, (error, stdout, stderr) => {
            if (error && (error as NodeJS.ErrnoException).code === "ENOENT") {
                reject(new UsageError(`the Pulumi CLI was not found on PATH, so --stack ${stack} cannot be read: install the CLI, or pass --url with the stack's public URL.`));
                return;
            }
            if (error) {
                reject(new UsageError(`\`pulumi stack output --json --stack ${stack}\` failed: ${oneLine(stderr || error.message)}. Check the stack name and \`pulumi login\`, or pass --url.`));
                return;
            }
            try {
                resolve(JSON.parse(stdout) as Record<string, unknown>);
            } catch {
                reject(new UsageError(`\`pulumi stack output --json --stack ${stack}\` did not print JSON; pass --url instead.`));
            }
        });
    });
}

/** Returns the `netos:` config of a stack: Pulumi.yaml defaults overlaid with Pulumi.<stack>.yaml. */
export function readStackConfig(stack: string, root = repoRoot): Record<string, unknown> {
    const project = parseYaml(fs.readFileSync(path.join(root, "Pulumi.yaml"), "utf8"));
    const merged: Record<string, unknown> = {};
    for (const [key, declaration] of Object.entries<any>(project?.config ?? {})) {
        if (declaration && typeof declaration === "object" && "default" in declaration) {
            merged[key.includes(":") ? key : `${project.name}:${key}`] = declaration.default;
        }
    }
    const stackFile = path.join(root, `Pulumi.${stack}.yaml`);
    if (fs.existsSync(stackFile)) {
        Object.assign(merged, parseYaml(fs.readFileSync(stackFile, "utf8"))?.config ?? {});
    }
    return merged;
}

// ---------------------------------------------------------------------------
// Requests

/** The parts of a response the checks read. The body is read up to `maxBodyBytes` and then dropped. */
export interface Reply {
    readonly status: number;
    readonly headers: http.IncomingHttpHeaders;
    readonly bodyBytes: number;
}

const maxBodyBytes = 64 * 1024;

/**
 * Sends one GET without cookies and without following redirects. The path is
 * sent exactly as given (`//api/` stays `//api/`), so path tricks reach the
 * server unchanged.
 */
export function sendRequest(target: VerifyTarget, requestPath: string): Promise<Reply> {
    const origin = new URL(target.publicOrigin);
    const headers: Record<string, string> = { "User-Agent": "netos-verify", Accept: "text/html,application/json;q=0.9,*/*;q=0.8" };
    let options: https.RequestOptions;
    let client: typeof http | typeof https;
    if (target.connect) {
        // cloudflared sends plain HTTP to the origin with the public Host and the scheme the visitor used.
        headers.Host = origin.host;
        headers["X-Forwarded-Proto"] = origin.protocol.replace(":", "");
        options = { host: target.connect.host, port: target.connect.port };
        client = http;
    } else {
        options = { host: origin.hostname, port: origin.port || undefined, servername: net.isIP(origin.hostname) ? undefined : origin.hostname };
        client = origin.protocol === "https:" ? https : http;
    }

    return new Promise((resolve, reject) => {
        const request = client.request({ ...options, method: "GET", path: requestPath, headers, agent: false, timeout: target.timeoutMs }, (response) => {
            let bodyBytes = 0;
            response.on("data", (chunk: Buffer) => {
                bodyBytes += chunk.length;
                if (bodyBytes >= maxBodyBytes) {
                    response.destroy();
                    resolve({ status: response.statusCode ?? 0, headers: response.headers, bodyBytes });
                }
            });
            response.on("end", () => resolve({ status: response.statusCode ?? 0, headers: response.headers, bodyBytes }));
            response.on("error", reject);
        });
        request.on("timeout", () => request.destroy(new Error(`timed out after ${target.timeoutMs / 1000} s`)));
        request.on("error", reject);
        request.end();
    });
}

/** Returns the address the requests go to, for messages: `127.0.0.1:4180` or the public origin. */
function describeDestination(target: VerifyTarget): string {
    return target.connect ? `${target.connect.host}:${target.connect.port}` : target.publicOrigin;
}

// ---------------------------------------------------------------------------
// Checks

/** Paths that must never return content without a session, including path tricks that a lax proxy normalises into `/api/`. */
export const protectedPaths: readonly string[] = ["/", "/api/", "/api/health", "/docs-api/", "/openapi.json", "//api/", "/x/../api/", "/%2e%2e/api/"];

const accessDomainSuffix = ".cloudflareaccess.com";
const troubleshooting = "see Troubleshooting in README.md";

/** Checks that a response without a session is a redirect, 401 or 403 and never content. */
export function checkNoContent(requestPath: string, reply: Reply | Error): CheckResult {
    const name = `no content without a session: ${requestPath}`;
    if (reply instanceof Error) {
        return { name, status: "FAIL", detail: `request failed: ${reply.message}`, fix: "check that the target is up and the address is right." };
    }
    const { status } = reply;
    if (status >= 300 && status < 400) {
        return { name, status: "PASS", detail: `${status} redirect to ${describeLocation(reply.headers.location)}` };
    }
    if (status === 401 || status === 403) {
        return { name, status: "PASS", detail: `${status}` };
    }
    if (status >= 200 && status < 300) {
        return {
            name,
            status: "FAIL",
            detail: `returned ${status} with ${reply.bodyBytes} bytes of content without a session`,
            fix: "the request reached the application around the sign-in: make sure the tunnel's only ingress target is the SSO proxy and nothing publishes web, api or the public proxy.",
        };
    }
    return {
        name,
        status: "FAIL",
        detail: `returned ${status}; expected a redirect, 401 or 403`,
        fix: `a 404 usually means the hostname misses the tunnel's ingress rule, a 5xx that a service behind it is down; ${troubleshooting}.`,
    };
}

/** Returns `<origin><path>` of a Location header without its query, which may carry state and nonce values. */
function describeLocation(location: string | undefined): string {
    if (location === undefined) {
        return "(no Location header)";
    }
    try {
        const url = new URL(location, "http://relative.invalid");
        return url.origin === "http://relative.invalid" ? url.pathname : `${url.origin}${url.pathname}`;
    } catch {
        return JSON.stringify(location.slice(0, 80));
    }
}

function parseLocation(reply: Reply | Error): URL | undefined {
    if (reply instanceof Error || reply.status < 300 || reply.status >= 400 || reply.headers.location === undefined) {
        return undefined;
    }
    try {
        return new URL(reply.headers.location);
    } catch {
        return undefined;
    }
}

/** Returns whether the first redirect of `/` goes to a Cloudflare Access team domain. */
export function redirectsToAccess(rootReply: Reply | Error): boolean {
    return parseLocation(rootReply)?.hostname.endsWith(accessDomainSuffix) ?? false;
}

/** Checks the first redirect against the expected Access setting. */
export function checkAccess(target: VerifyTarget, rootReply: Reply | Error): CheckResult {
    const name = "Cloudflare Access redirect";
    const location = parseLocation(rootReply);
    const accessHost = location?.hostname.endsWith(accessDomainSuffix) ? location.hostname : undefined;

    if (accessHost === undefined) {
        if (target.access === "on") {
            return {
                name,
                status: "FAIL",
                detail: `Access is expected, but / redirects to ${location ? location.origin : "nowhere"}`,
                fix: "check that the Access application covers the public hostname and that the DNS record is proxied through Cloudflare.",
            };
        }
        return { name, status: "SKIP", detail: "Access does not respond first (off, or the target is the origin)" };
    }
    if (target.access === "off") {
        return {
            name,
            status: "FAIL",
            detail: `Access is expected off, but / redirects to ${accessHost}`,
            fix: "an Access application outside this stack covers the hostname: import it into the stack, delete it, or set netos:accessEnabled to true.",
        };
    }
    const expectedHost = target.accessTeamName === undefined ? undefined : `${target.accessTeamName}${accessDomainSuffix}`;
    if (expectedHost !== undefined && accessHost !== expectedHost) {
        return {
            name,
            status: "FAIL",
            detail: `/ redirects to ${accessHost}, expected ${expectedHost}`,
            fix: "check netos:accessTeamName against Zero Trust > Settings > Custom Pages > Team domain.",
        };
    }
    return { name, status: "PASS", detail: `/ redirects to ${accessHost}${expectedHost === undefined ? " (team name not given, so not compared)" : ""}` };
}

/** Checks the sign-in redirect of `/`: authorize endpoint, `client_id` and `redirect_uri`, one result each. */
export function checkSignInRedirect(target: VerifyTarget, rootReply: Reply | Error): CheckResult[] {
    const names = {
        endpoint: "sign-in redirect: authorize endpoint",
        clientId: "sign-in redirect: client_id",
        redirectUri: "sign-in redirect: redirect_uri",
    };
    const location = parseLocation(rootReply);
    if (location === undefined) {
        const observed = rootReply instanceof Error ? `request failed: ${rootReply.message}` : `/ returned ${rootReply.status} ${describeLocation(rootReply.headers.location)}`;
        const failure = {
            status: "FAIL" as const,
            detail: `no absolute redirect from /: ${observed}`,
            fix: `OAuth2-Proxy must redirect a request without a session straight to Entra ID (--skip-provider-button); ${troubleshooting}.`,
        };
        return [
            { name: names.endpoint, ...failure },
            { name: names.clientId, ...failure },
            { name: names.redirectUri, ...failure },
        ];
    }

    const results: CheckResult[] = [];
    const endpoint = `${location.origin}${location.pathname}`;
    if (target.authorizeUrl === undefined) {
        results.push({ name: names.endpoint, status: "SKIP", detail: `redirects to ${endpoint}; pass --tenant or --authorize-url to compare it` });
    } else if (endpoint === target.authorizeUrl) {
        results.push({ name: names.endpoint, status: "PASS", detail: endpoint });
    } else {
        results.push({
            name: names.endpoint,
            status: "FAIL",
            detail: `redirects to ${endpoint}, expected ${target.authorizeUrl}`,
            fix: "OAuth2-Proxy's --oidc-issuer-url must be the tenant's v2.0 issuer; check netos:entraTenantId.",
        });
    }

    const clientId = location.searchParams.get("client_id");
    if (target.clientId === undefined) {
        results.push({ name: names.clientId, status: "SKIP", detail: `client_id is ${clientId ?? "missing"}; pass --client-id (or --stack) to compare it` });
    } else if (clientId === target.clientId) {
        results.push({ name: names.clientId, status: "PASS", detail: clientId });
    } else {
        results.push({
            name: names.clientId,
            status: "FAIL",
            detail: `client_id is ${clientId ?? "missing"}, expected ${target.clientId}`,
            fix: "OAuth2-Proxy runs with another app registration: run `pulumi up` so the SSO proxy gets the stack's entraClientId.",
        });
    }

    const expectedRedirectUri = oauth2CallbackUrl(target.publicOrigin);
    const redirectUri = location.searchParams.get("redirect_uri");
    if (redirectUri === expectedRedirectUri) {
        results.push({ name: names.redirectUri, status: "PASS", detail: redirectUri });
    } else {
        results.push({
            name: names.redirectUri,
            status: "FAIL",
            detail: `redirect_uri is ${redirectUri ?? "missing"}, expected ${expectedRedirectUri}`,
            fix: "OAuth2-Proxy's --redirect-url and the Entra redirect URI must both be built from netos:hostname; a wrong scheme means X-Forwarded-Proto did not reach OAuth2-Proxy.",
        });
    }
    return results;
}

/** Checks that `/api/` without a session returns 401 and no redirect, so API clients see the error. */
export function checkApiUnauthorized(reply: Reply | Error): CheckResult {
    const name = "API without a session returns 401";
    if (reply instanceof Error) {
        return { name, status: "FAIL", detail: `request failed: ${reply.message}`, fix: "check that the target is up and the address is right." };
    }
    if (reply.status === 401 && reply.headers.location === undefined) {
        return { name, status: "PASS", detail: "/api/ returned 401" };
    }
    return {
        name,
        status: "FAIL",
        detail: `/api/ returned ${reply.status}${reply.headers.location ? ` with a redirect to ${describeLocation(reply.headers.location)}` : ""}`,
        fix: "OAuth2-Proxy needs --api-route=^/api/ so API requests get 401 instead of a sign-in redirect.",
    };
}

/** Checks that OAuth2-Proxy's health endpoint returns 200. */
export function checkPing(reply: Reply | Error): CheckResult {
    const name = `OAuth2-Proxy ping (${oauth2ProxyPingPath})`;
    if (reply instanceof Error) {
        return { name, status: "FAIL", detail: `request failed: ${reply.message}`, fix: "check that the target is up and the address is right." };
    }
    if (reply.status === 200) {
        return { name, status: "PASS", detail: "200" };
    }
    return {
        name,
        status: "FAIL",
        detail: `returned ${reply.status}`,
        fix: `the request did not reach a running OAuth2-Proxy: check the sso-proxy container's health and logs; ${troubleshooting}.`,
    };
}

/**
 * Cloudflare's published address ranges (https://www.cloudflare.com/ips/).
 * NOTE: a copy, not fetched at run time; when Cloudflare adds a range, the
 * `cf-ray` header check still passes.
 */
export const cloudflareRanges: readonly string[] = [
    "173.245.48.0/20",
    "103.21.244.0/22",
    "103.22.200.0/22",
    "103.31.4.0/22",
    "141.101.64.0/18",
    "108.162.192.0/18",
    "190.93.240.0/20",
    "188.114.96.0/20",
    "197.234.240.0/22",
    "198.41.128.0/17",
    "162.158.0.0/15",
    "104.16.0.0/13",
    "104.24.0.0/14",
    "172.64.0.0/13",
    "131.0.72.0/22",
    "2400:cb00::/32",
    "2606:4700::/32",
    "2803:f800::/32",
    "2405:b500::/32",
    "2405:8100::/32",
    "2a06:98c0::/29",
    "2c0f:f248::/32",
];

const cloudflareBlockList = (() => {
    const list = new net.BlockList();
    for (const range of cloudflareRanges) {
        const [address, prefix] = range.split("/") as [string, string];
        list.addSubnet(address, Number(prefix), net.isIPv6(address) ? "ipv6" : "ipv4");
    }
    return list;
})();

/** Returns whether an IPv4 or IPv6 address is in Cloudflare's published ranges. */
export function isCloudflareAddress(address: string): boolean {
    const family = net.isIP(address);
    if (family === 0) {
        return false;
    }
    return cloudflareBlockList.check(address, family === 6 ? "ipv6" : "ipv4");
}

/** Returns whether the requests go to this machine, where the Cloudflare check means nothing. */
export function isLoopbackTarget(target: VerifyTarget): boolean {
    const host = target.connect ? target.connect.host : new URL(target.publicOrigin).hostname.replace(/^\[|\]$/g, "");
    return host === "localhost" || host === "::1" || /^127\./.test(host);
}

type Resolver = (hostname: string) => Promise<string[]>;

async function resolveAll(hostname: string): Promise<string[]> {
    const answers = await dns.promises.lookup(hostname, { all: true, verbatim: true });
    return answers.map((answer) => answer.address);
}

/** Checks that the public hostname resolves into Cloudflare, or that the response came through Cloudflare's edge. */
export async function checkCloudflare(target: VerifyTarget, rootReply: Reply | Error, resolve: Resolver = resolveAll): Promise<CheckResult> {
    const name = "hostname served through Cloudflare";
    if (isLoopbackTarget(target)) {
        return { name, status: "SKIP", detail: `the requests go to loopback (${describeDestination(target)}), not through Cloudflare` };
    }
    const hostname = new URL(target.publicOrigin).hostname;
    const evidence: string[] = [];
    let addresses: string[] = [];
    try {
        addresses = await resolve(hostname);
    } catch (error) {
        evidence.push(`DNS lookup failed: ${(error as Error).message}`);
    }
    const inCloudflare = addresses.filter(isCloudflareAddress);
    if (addresses.length > 0 && inCloudflare.length === addresses.length) {
        return { name, status: "PASS", detail: `${hostname} resolves to ${addresses.join(", ")}, in Cloudflare's ranges` };
    }
    if (!(rootReply instanceof Error)) {
        const server = String(rootReply.headers.server ?? "");
        if (rootReply.headers["cf-ray"] !== undefined || server.toLowerCase() === "cloudflare") {
            return { name, status: "PASS", detail: `the response carries ${rootReply.headers["cf-ray"] !== undefined ? "cf-ray" : "server: cloudflare"}` };
        }
    }
    if (addresses.length > 0) {
        evidence.push(`${hostname} resolves to ${addresses.join(", ")}, not all in Cloudflare's ranges`);
    }
    return {
        name,
        status: "FAIL",
        detail: `${evidence.join("; ")}; no cf-ray or server: cloudflare header`,
        fix: "the DNS record must be a proxied CNAME to <tunnel id>.cfargotunnel.com; check the zone's DNS records for a second record with this name.",
    };
}

/**
 * Runs every check against the target, one request at a time, and returns
 * the results in a fixed order. It sends one request per protected path and
 * one to the ping path.
 */
export async function runChecks(target: VerifyTarget, resolve: Resolver = resolveAll): Promise<CheckResult[]> {
    const replies = new Map<string, Reply | Error>();
    for (const requestPath of [...protectedPaths, oauth2ProxyPingPath]) {
        replies.set(requestPath, await sendRequest(target, requestPath).catch((error: Error) => error));
    }
    const rootReply = replies.get("/") as Reply | Error;

    const results: CheckResult[] = protectedPaths.map((requestPath) => checkNoContent(requestPath, replies.get(requestPath) as Reply | Error));
    results.push(checkAccess(target, rootReply));

    if (redirectsToAccess(rootReply)) {
        // Access intercepts every path before the origin receives it, so the
        // origin layer can only be checked against the origin itself.
        const detail = "Cloudflare Access responds first; check the origin layer with --connect against the SSO proxy";
        for (const name of ["sign-in redirect: authorize endpoint", "sign-in redirect: client_id", "sign-in redirect: redirect_uri", "API without a session returns 401", `OAuth2-Proxy ping (${oauth2ProxyPingPath})`]) {
            results.push({ name, status: "SKIP", detail });
        }
    } else {
        results.push(...checkSignInRedirect(target, rootReply));
        results.push(checkApiUnauthorized(replies.get("/api/") as Reply | Error));
        results.push(checkPing(replies.get(oauth2ProxyPingPath) as Reply | Error));
    }

    results.push(await checkCloudflare(target, rootReply, resolve));
    return results;
}

// ---------------------------------------------------------------------------
// Command line

/** Runs the command line and returns the exit code: 0 when nothing failed, 1 on a failed check, 2 on a usage error. */
export async function main(argv: readonly string[], write: (line: string) => void = (line) => process.stdout.write(`${line}\n`)): Promise<number> {
    let target: VerifyTarget;
    try {
        const commandLine = parseCommandLine(argv);
        if (commandLine.help) {
            write(usage);
            return 0;
        }
        const stack = commandLine.stack === undefined ? {} : await readStackFacts(commandLine.stack);
        target = buildTarget(commandLine, stack);
    } catch (error) {
        if (error instanceof UsageError) {
            process.stderr.write(`verify: ${error.message}\n\n${usage}\n`);
            return 2;
        }
        throw error;
    }

    const via = target.connect ? ` via ${describeDestination(target)}` : "";
    write(`verify: ${target.publicOrigin}${via}, without cookies, redirects not followed`);
    const results = await runChecks(target);
    for (const result of results) {
        write(formatResult(result));
    }
    write(formatSummary(results));
    return results.some((result) => result.status === "FAIL") ? 1 : 0;
}

if (require.main === module) {
    main(process.argv.slice(2)).then(
        (code) => {
            process.exitCode = code;
        },
        (error: unknown) => {
            process.stderr.write(`verify: failed: ${error instanceof Error ? error.stack ?? error.message : String(error)}\n`);
            process.exitCode = 2;
        },
    );
}
