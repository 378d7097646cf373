/**
 * Starts the NetOS sign-in chain on loopback with the real programs:
 *
 *   test client (plays cloudflared) -> OAuth2-Proxy -> Nginx -> stub web / stub api
 *                                           |-> Redis (sessions)
 *                                           |-> stand-in Entra ID issuer
 *
 * OAuth2-Proxy and Nginx run with the flags and the file that
 * `generated/oauth2Proxy.ts` and `generated/nginx.ts` produce for production.
 * Only the addresses differ: everything listens on free 127.0.0.1 ports, the
 * upstreams are the stubs, and OIDC discovery is skipped in favour of the
 * issuer's explicit endpoints. Every process and temp dir is removed by
 * `stop()`, and a process-exit hook kills what a crashed run left behind.
 */
import { execFile, spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { createHmac, randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as http from "node:http";
import * as os from "node:os";
import * as path from "node:path";

import { defaultAppRoles } from "../../config/entra";
import { renderNginxConfig } from "../../generated/nginx";
import type { NginxConfigInput } from "../../generated/nginx";
import { oauth2ProxyArgs, oauth2ProxyPingPath, oauth2ProxySecretEnv } from "../../generated/oauth2Proxy";
import type { OAuth2ProxyInput } from "../../generated/oauth2Proxy";
import { oauth2CallbackPath, oauth2CallbackUrl } from "../../services";
import { nginxBinary, oauth2ProxyBinary, redisServerBinary } from "./binaries";
import { freePort } from "./ports";
import { OidcIssuer } from "./oidcIssuer";
import { StubUpstream } from "./stubUpstream";

/** The production tenant: the issuer URL and `tid` claim are the real ones. */
export const chainTenantId = "4944843d-e347-4fe7-a279-4006ce5efc33";
/** Client id of the test app registration; any GUID works because the issuer is a stand-in. */
export const chainClientId = "0e4f5c1a-7d2b-4c8e-9a3f-6b1d2e3f4a5b";
/** Production hostname; requests carry it in `Host` as cloudflared sends them. */
export const chainHostname = "netos.xiberian.net";
/** App roles allowed to sign in: the defaults of `netos:appRoles`. */
export const chainAllowedRoles: readonly string[] = defaultAppRoles;
/** Identity headers the API's development shim reads. */
export const chainIdentityHeaders = { user: "X-NetOS-User", roles: "X-NetOS-Roles" } as const;
/** Address the test client claims as the visitor's, as Cloudflare's edge reports it (TEST-NET-3). */
export const chainVisitorAddress = "203.0.113.10";

/** Settings of a chain. */
export interface ChainOptions {
    /**
     * `test` (default): public origin `https://netos.xiberian.net` with the
     * production cookie settings; requests must carry the headers cloudflared
     * sends. `local`: public origin `http://127.0.0.1:<port>` for a browser on
     * this machine, with a non-Secure cookie because there is no TLS.
     */
    readonly mode?: "test" | "local";
    /** Port OAuth2-Proxy listens on. Default: a free port. */
    readonly proxyPort?: number;
    /** Nginx worker processes. Default: 1. */
    readonly nginxWorkerProcesses?: number | "auto";
    /** Inputs that override the chain's OAuth2-Proxy inputs, e.g. for tuning experiments. */
    readonly oauth2ProxyOverrides?: Partial<OAuth2ProxyInput>;
    /** Inputs that override the chain's Nginx inputs. */
    readonly nginxOverrides?: Partial<NginxConfigInput>;
    /** Flags appended to OAuth2-Proxy's generated flags, for benchmark experiments; tests leave it unset. */
    readonly oauth2ProxyExtraFlags?: readonly string[];
    /** Keep every upstream request in the stubs' `requests`. Default: true; the benchmark only counts them. */
    readonly recordUpstreamRequests?: boolean;
    /**
     * Edits the rendered nginx.conf before Nginx starts. For benchmark
     * experiments with settings the generator has no input for; tests leave it unset.
     */
    readonly nginxConfigTransform?: (config: string) => string;
}

/** An HTTP request to one of the chain's listeners. */
export interface ChainRequest {
    /** Request target exactly as sent, e.g. `/api/x` or `//api`; it is not normalised. */
    readonly path: string;
    /** Default: GET. */
    readonly method?: string;
    /** Headers added to (or replacing) the defaults. */
    readonly headers?: Record<string, string>;
    /** Cookie header value, e.g. `name=value`. */
    readonly cookie?: string;
    /** Request body. */
    readonly body?: string;
    /** Source address of the connection, e.g. `127.0.0.2` to play a client that is not the trusted proxy. Default: 127.0.0.1. */
    readonly sourceAddress?: string;
}

/** An HTTP response with the whole body read. */
export interface ChainResponse {
    readonly status: number;
    readonly headers: http.IncomingHttpHeaders;
    readonly body: string;
    /** Each `Set-Cookie` header line. */
    readonly setCookies: readonly string[];
}

/** The result of a whole sign-in: each step's response and the session cookie. */
export interface SignInResult {
    /** OAuth2-Proxy's response to the first, unauthenticated request (a redirect to the issuer). */
    readonly start: ChainResponse;
    /** The issuer's response to the authorization request (a redirect to the callback). */
    readonly authorize: ChainResponse;
    /** OAuth2-Proxy's response to the callback (a redirect to the page first requested, with the session cookie). */
    readonly callback: ChainResponse;
    /** `name=value` of the session cookie, or undefined when OAuth2-Proxy set none. */
    readonly sessionCookie: string | undefined;
}

/** Counts of requests sent without a valid session, and of those that reached an upstream. */
export interface UnauthenticatedAudit {
    sent: number;
    reachedUpstream: number;
    /** Method and path of each request that reached an upstream, for the failure message. */
    readonly leaks: string[];
}

const readyTimeoutMs = 15_000;
const stopTimeoutMs = 5_000;

/** Children still running, killed by the exit and signal hooks if a run ends without `stop()`. */
const liveChildren = new Set<ChildProcess>();
/** Temp dirs of chains not yet stopped, removed by the same hooks. */
const liveDirs = new Set<string>();
let exitHooksInstalled = false;

/**
 * Sends a signal to a child's whole process group. Each program starts in a
 * group of its own, so Nginx's workers go with their master instead of
 * outliving it as orphans that still listen.
 */
function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
    if (child.pid === undefined) {
        return;
    }
    try {
        process.kill(-child.pid, signal);
    } catch {
        // The group is already gone.
    }
}

function killLiveChildren(): void {
    for (const child of liveChildren) {
        signalGroup(child, "SIGKILL");
    }
    for (const dir of liveDirs) {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

/**
 * Kills the chain's programs when this process exits or is stopped by a
 * signal, so no Nginx, Redis or OAuth2-Proxy outlives a crashed or
 * interrupted run. A signal that another listener handles (`npm run local`
 * stops the chain itself) is left to that listener.
 */
function installExitHooks(): void {
    if (exitHooksInstalled) {
        return;
    }
    exitHooksInstalled = true;
    process.once("exit", killLiveChildren);
    for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
        process.once(signal, () => {
            if (process.listenerCount(signal) > 0) {
                return;
            }
            killLiveChildren();
            // The once-listener is gone, so this signal now ends the process as it would have.
            process.kill(process.pid, signal);
        });
    }
}

/** A program the chain started, with its output in a log file. */
class ManagedProcess {
    private exitCode: number | null | undefined;
    private readonly exited: Promise<void>;

    private constructor(
        readonly name: string,
        readonly logPath: string,
        private readonly child: ChildProcess,
    ) {
        this.exited = new Promise((resolve) => {
            child.once("exit", (code, signal) => {
                this.exitCode = code ?? (signal === null ? null : -1);
                liveChildren.delete(child);
                resolve();
            });
        });
    }

    /** Starts a program with only the given environment; stdout and stderr go to `logPath`. */
    static spawn(name: string, command: string, args: readonly string[], env: Record<string, string>, logPath: string): ManagedProcess {
        const log = fs.openSync(logPath, "a");
        try {
            const child = spawn(command, [...args], { env, stdio: ["ignore", log, log], detached: true });
            liveChildren.add(child);
            return new ManagedProcess(name, logPath, child);
        } finally {
            fs.closeSync(log);
        }
    }

    get running(): boolean {
        return this.exitCode === undefined;
    }

    /** Returns the last lines of the log, for failure messages. */
    logTail(lines = 30): string {
        try {
            return fs.readFileSync(this.logPath, "utf8").split("\n").slice(-lines).join("\n");
        } catch {
            return "(no log)";
        }
    }

    /** Waits until `probe` resolves true, failing early if the process exits. */
    async waitReady(probe: () => Promise<boolean>): Promise<void> {
        const deadline = Date.now() + readyTimeoutMs;
        while (Date.now() < deadline) {
            if (!this.running) {
                throw new Error(`${this.name} exited with code ${this.exitCode} before it was ready. Its log:\n${this.logTail()}`);
            }
            if (await probe().catch(() => false)) {
                return;
            }
            await delay(50);
        }
        throw new Error(`${this.name} was not ready after ${readyTimeoutMs} ms. Its log:\n${this.logTail()}`);
    }

    /** Sends SIGTERM, then SIGKILL if the process has not exited within a few seconds. */
    async stop(): Promise<void> {
        if (!this.running) {
            return;
        }
        signalGroup(this.child, "SIGTERM");
        const timer = setTimeout(() => signalGroup(this.child, "SIGKILL"), stopTimeoutMs);
        await this.exited;
        clearTimeout(timer);
    }
}

/** The running chain; create it with `Chain.start` and always `stop()` it. */
export class Chain {
    /** Requests sent without a valid session through `sendWithoutSession`. */
    readonly audit: UnauthenticatedAudit = { sent: 0, reachedUpstream: 0, leaks: [] };

    private readonly processes: ManagedProcess[] = [];
    private issuerInstance: OidcIssuer | undefined;
    private webInstance: StubUpstream | undefined;
    private apiInstance: StubUpstream | undefined;
    private oauth2ProxyFlagList: string[] | undefined;

    private constructor(
        readonly mode: "test" | "local",
        /** Temp dir with the configuration files and logs; removed by `stop()`. */
        readonly dir: string,
        /** Port OAuth2-Proxy listens on: the entry point of the chain. */
        readonly proxyPort: number,
        /** Port Nginx listens on. */
        readonly nginxPort: number,
        /** Port Redis listens on. */
        readonly redisPort: number,
        /** Public origin, e.g. `https://netos.xiberian.net`. */
        readonly publicOrigin: string,
        private readonly secrets: { readonly clientSecret: string; readonly cookieSecret: string; readonly redisPassword: string },
    ) {}

    /** Starts every part of the chain; on failure stops what already runs and rethrows. */
    static async start(options: ChainOptions = {}): Promise<Chain> {
        installExitHooks();
        const mode = options.mode ?? "test";
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "netos-chain-"));
        liveDirs.add(dir);
        // Nginx workers run as an unprivileged user when the master runs as root.
        fs.chmodSync(dir, 0o755);
        const proxyPort = options.proxyPort ?? (await freePort());
        const nginxPort = await freePort();
        const redisPort = await freePort();
        const publicOrigin = mode === "local" ? `http://127.0.0.1:${proxyPort}` : `https://${chainHostname}`;
        const secrets = {
            clientSecret: randomBytes(24).toString("base64url"),
            cookieSecret: randomBytes(32).toString("base64url"),
            redisPassword: randomBytes(24).toString("hex"),
        };
        const chain = new Chain(mode, dir, proxyPort, nginxPort, redisPort, publicOrigin, secrets);
        try {
            await chain.startAll(options);
        } catch (error) {
            await chain.stop();
            throw error;
        }
        return chain;
    }

    /** The stand-in Entra ID issuer. */
    get issuer(): OidcIssuer {
        return required(this.issuerInstance, "issuer");
    }

    /** The stub web app. */
    get web(): StubUpstream {
        return required(this.webInstance, "web stub");
    }

    /** The stub API. */
    get api(): StubUpstream {
        return required(this.apiInstance, "api stub");
    }

    /** The secret that signs and encrypts OAuth2-Proxy's cookies, for tests that forge cookies. */
    get cookieSecret(): string {
        return this.secrets.cookieSecret;
    }

    /** Number of requests both stubs have received. */
    get upstreamRequestCount(): number {
        return this.web.requestCount + this.api.requestCount;
    }

    private async startAll(options: ChainOptions): Promise<void> {
        const redirectUri = oauth2CallbackUrl(this.publicOrigin);
        this.issuerInstance = await OidcIssuer.start({
            tenantId: chainTenantId,
            clientId: chainClientId,
            clientSecret: this.secrets.clientSecret,
            redirectUri,
        });
        const stubOptions = {
            userHeader: chainIdentityHeaders.user,
            rolesHeader: chainIdentityHeaders.roles,
            recordRequests: options.recordUpstreamRequests ?? true,
        };
        this.webInstance = await StubUpstream.start({ role: "web", ...stubOptions });
        this.apiInstance = await StubUpstream.start({ role: "api", ...stubOptions });

        await this.startRedis();
        await this.startNginx(options);
        await this.startOAuth2Proxy(options);
    }

    private async startRedis(): Promise<void> {
        // The password goes in a 0600 file, never on the command line.
        const configPath = path.join(this.dir, "redis.conf");
        const config = [
            "bind 127.0.0.1",
            `port ${this.redisPort}`,
            `requirepass ${this.secrets.redisPassword}`,
            "protected-mode yes",
            "daemonize no",
            "save \"\"",
            "appendonly no",
            `dir ${this.dir}`,
            "",
        ].join("\n");
        fs.writeFileSync(configPath, config, { mode: 0o600 });

        const redis = ManagedProcess.spawn("redis-server", redisServerBinary(), [configPath], minimalEnv(), path.join(this.dir, "redis.log"));
        this.processes.push(redis);
        await redis.waitReady(async () => (await this.redis("PING")).trim() === "PONG");
    }

    private async startNginx(options: ChainOptions): Promise<void> {
        const nginxDir = path.join(this.dir, "nginx");
        fs.mkdirSync(nginxDir, { mode: 0o755 });
        const input: NginxConfigInput = {
            listenPort: this.nginxPort,
            listenAddress: "127.0.0.1",
            webUpstream: this.web.url,
            apiUpstream: this.api.url,
            apiUserHeader: chainIdentityHeaders.user,
            apiRolesHeader: chainIdentityHeaders.roles,
            // OAuth2-Proxy connects from loopback here, as it does from the proxy network in production.
            allowedSources: ["127.0.0.1/32"],
            publicOrigin: this.publicOrigin,
            pidPath: path.join(nginxDir, "nginx.pid"),
            tempDir: nginxDir,
            errorLogPath: path.join(this.dir, "nginx-error.log"),
            accessLogPath: path.join(this.dir, "nginx-access.log"),
            workerProcesses: options.nginxWorkerProcesses ?? 1,
            ...options.nginxOverrides,
        };
        const configPath = path.join(nginxDir, "nginx.conf");
        const config = renderNginxConfig(input);
        fs.writeFileSync(configPath, options.nginxConfigTransform ? options.nginxConfigTransform(config) : config);

        // -e sets the error log used before the configuration is read, so Nginx
        // never writes to the system's /var/log/nginx.
        const args = ["-p", nginxDir, "-c", configPath, "-e", path.join(this.dir, "nginx-error.log"), "-g", "daemon off;"];
        const nginx = ManagedProcess.spawn("nginx", nginxBinary(), args, minimalEnv(), path.join(this.dir, "nginx.log"));
        this.processes.push(nginx);
        await nginx.waitReady(async () => (await sendTo(this.nginxPort, { path: "/healthz" })).status === 200);
    }

    /** The command-line flags OAuth2-Proxy runs with, from `oauth2ProxyArgs`. */
    get oauth2ProxyFlags(): readonly string[] {
        return required(this.oauth2ProxyFlagList, "OAuth2-Proxy");
    }

    private async startOAuth2Proxy(options: ChainOptions): Promise<void> {
        const input: OAuth2ProxyInput = {
            tenantId: chainTenantId,
            clientId: chainClientId,
            publicOrigin: this.publicOrigin,
            allowedRoles: chainAllowedRoles,
            // Loopback plays cloudflared, the only trusted proxy.
            trustedProxyCidrs: ["127.0.0.1/32"],
            skipDiscovery: true,
            loginUrl: this.issuer.authorizeUrl,
            redeemUrl: this.issuer.tokenUrl,
            jwksUrl: this.issuer.jwksUrl,
            upstreamUrl: `http://127.0.0.1:${this.nginxPort}/`,
            httpAddress: `127.0.0.1:${this.proxyPort}`,
            redisUrl: `redis://127.0.0.1:${this.redisPort}`,
            ...(this.mode === "local" ? localCookieInput : {}),
            ...options.oauth2ProxyOverrides,
        };
        const env = {
            ...minimalEnv(),
            [oauth2ProxySecretEnv.clientSecret]: this.secrets.clientSecret,
            [oauth2ProxySecretEnv.cookieSecret]: this.secrets.cookieSecret,
            [oauth2ProxySecretEnv.redisPassword]: this.secrets.redisPassword,
        };
        this.oauth2ProxyFlagList = [...oauth2ProxyArgs(input), ...(options.oauth2ProxyExtraFlags ?? [])];
        const proxy = ManagedProcess.spawn("oauth2-proxy", oauth2ProxyBinary(), this.oauth2ProxyFlagList, env, path.join(this.dir, "oauth2-proxy.log"));
        this.processes.push(proxy);
        await proxy.waitReady(async () => (await sendTo(this.proxyPort, { path: oauth2ProxyPingPath })).status === 200);
    }

    /** Stops every process and server and removes the temp dir; safe to call twice. */
    async stop(): Promise<void> {
        for (const managed of this.processes.reverse()) {
            await managed.stop();
        }
        this.processes.length = 0;
        await this.issuerInstance?.stop();
        await this.webInstance?.stop();
        await this.apiInstance?.stop();
        fs.rmSync(this.dir, { recursive: true, force: true });
        liveDirs.delete(this.dir);
    }

    /** Returns the lines of OAuth2-Proxy's log (request and authentication lines). */
    oauth2ProxyLog(): string[] {
        return fs.readFileSync(path.join(this.dir, "oauth2-proxy.log"), "utf8").split("\n").filter((line) => line !== "");
    }

    /** Returns the lines of Nginx's access log: one per request that reached Nginx. */
    nginxAccessLog(): string[] {
        const logPath = path.join(this.dir, "nginx-access.log");
        if (!fs.existsSync(logPath)) {
            return [];
        }
        return fs.readFileSync(logPath, "utf8").split("\n").filter((line) => line !== "");
    }

    /** Returns the last lines of each program's log, for failure messages. */
    logTails(lines = 20): string {
        return this.processes.map((managed) => `--- ${managed.name} (${managed.logPath})\n${managed.logTail(lines)}`).join("\n");
    }

    /** Runs a Redis command with redis-cli; the password travels in REDISCLI_AUTH, not on the command line. */
    redis(...command: string[]): Promise<string> {
        const cli = path.join(path.dirname(redisServerBinary()), "redis-cli");
        const args = ["-h", "127.0.0.1", "-p", String(this.redisPort), "--no-auth-warning", ...command];
        return new Promise((resolve, reject) => {
            execFile(cli, args, { env: { ...minimalEnv(), REDISCLI_AUTH: this.secrets.redisPassword }, timeout: 5_000 }, (error, stdout) => {
                if (error) {
                    reject(new Error(`redis-cli ${command.join(" ")} failed: ${error.message}`));
                    return;
                }
                resolve(stdout);
            });
        });
    }

    /**
     * Sends a request to OAuth2-Proxy as cloudflared would: plain HTTP to its
     * loopback port with `Host` set to the public hostname, `X-Forwarded-Proto:
     * https` and the visitor's address. In `local` mode it sends what a browser
     * on this machine sends instead.
     */
    send(request: ChainRequest): Promise<ChainResponse> {
        const headers: Record<string, string> =
            this.mode === "local"
                ? { Host: `127.0.0.1:${this.proxyPort}` }
                : {
                      Host: chainHostname,
                      "X-Forwarded-Proto": "https",
                      "X-Forwarded-For": chainVisitorAddress,
                      "CF-Connecting-IP": chainVisitorAddress,
                  };
        return sendTo(this.proxyPort, { ...request, headers: { ...headers, ...request.headers } });
    }

    /**
     * Sends a request that carries no valid session and counts it, together
     * with every upstream request it caused. Requests run one at a time within
     * a test file, so the upstream count before and after belongs to this request.
     */
    async sendWithoutSession(request: ChainRequest): Promise<ChainResponse> {
        const before = this.upstreamRequestCount;
        const response = await this.send(request);
        const reached = this.upstreamRequestCount - before;
        this.audit.sent += 1;
        if (reached > 0) {
            this.audit.reachedUpstream += reached;
            this.audit.leaks.push(`${request.method ?? "GET"} ${request.path}`);
        }
        return response;
    }

    /** Returns the audit line the chain tests print, e.g. `unauthenticated requests: 57, reached upstream: 0`. */
    auditSummary(): string {
        return `unauthenticated requests: ${this.audit.sent}, reached upstream: ${this.audit.reachedUpstream}`;
    }

    /**
     * Signs a test user in through the whole authorization code flow with
     * PKCE: the first request for `pagePath`, the issuer's authorization
     * endpoint (the user is picked with `login_hint`) and the callback. The
     * requests to OAuth2-Proxy carry no session yet, so they are audited.
     * `headers` are added to the first request.
     */
    async signIn(userKey: string, pagePath = "/", headers: Record<string, string> = {}): Promise<SignInResult> {
        const start = await this.sendWithoutSession({ path: pagePath, headers });
        const authorizeLocation = start.headers.location;
        if (start.status !== 302 || authorizeLocation === undefined) {
            throw new Error(`sign-in of ${userKey}: expected a redirect to the issuer for ${pagePath}, received ${start.status}.\n${this.logTails()}`);
        }
        const csrfCookies = cookiePairs(start.setCookies);

        const authorizeUrl = new URL(authorizeLocation);
        authorizeUrl.searchParams.set("login_hint", userKey);
        const authorize = await sendTo(Number(authorizeUrl.port), { path: `${authorizeUrl.pathname}${authorizeUrl.search}` });
        const callbackLocation = authorize.headers.location;
        if (authorize.status !== 302 || callbackLocation === undefined) {
            throw new Error(`sign-in of ${userKey}: the issuer returned ${authorize.status}: ${authorize.body}`);
        }

        const callbackUrl = new URL(callbackLocation);
        if (callbackUrl.pathname !== oauth2CallbackPath) {
            throw new Error(`sign-in of ${userKey}: the issuer redirected to ${callbackUrl.pathname}, expected ${oauth2CallbackPath}`);
        }
        const callback = await this.sendWithoutSession({
            path: `${callbackUrl.pathname}${callbackUrl.search}`,
            cookie: csrfCookies.join("; "),
        });
        const sessionPrefix = `${this.sessionCookieName}=`;
        const sessionCookie = cookiePairs(callback.setCookies).find((pair) => pair.startsWith(sessionPrefix) && pair.length > sessionPrefix.length);
        return { start, authorize, callback, sessionCookie };
    }

    /** Name of OAuth2-Proxy's session cookie in this chain. */
    get sessionCookieName(): string {
        return this.mode === "local" ? localCookieInput.cookieName : "__Host-netos_session";
    }
}

/**
 * OAuth2-Proxy inputs of `local` mode: a browser on http://127.0.0.1 may not
 * store a Secure cookie, and the `__Host-` prefix requires Secure.
 */
const localCookieInput = { cookieName: "netos_session_local", cookieSecure: false } as const;

/** Sends one HTTP request to a 127.0.0.1 port without connection reuse and reads the whole response. */
export function sendTo(port: number, request: ChainRequest): Promise<ChainResponse> {
    const headers: Record<string, string> = { ...request.headers };
    if (request.cookie !== undefined) {
        headers.Cookie = request.cookie;
    }
    return new Promise((resolve, reject) => {
        const req = http.request(
            {
                host: "127.0.0.1",
                port,
                localAddress: request.sourceAddress,
                method: request.method ?? "GET",
                path: request.path,
                headers,
                agent: false,
                timeout: 10_000,
            },
            (res) => {
                const chunks: Buffer[] = [];
                res.on("data", (chunk: Buffer) => chunks.push(chunk));
                res.on("end", () => {
                    const setCookie = res.headers["set-cookie"] ?? [];
                    resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString("utf8"), setCookies: setCookie });
                });
                res.on("error", reject);
            },
        );
        req.on("timeout", () => req.destroy(new Error(`request ${request.method ?? "GET"} ${request.path} to port ${port} timed out`)));
        req.on("error", reject);
        req.end(request.body);
    });
}

/** Returns the `name=value` part of each Set-Cookie line. */
export function cookiePairs(setCookies: readonly string[]): string[] {
    return setCookies.map((line) => line.split(";", 1)[0]!.trim());
}

/** Returns the environment the chain's programs get: nothing but a PATH, so no proxy or OAUTH2_PROXY_* setting leaks in. */
function minimalEnv(): Record<string, string> {
    return { PATH: "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin" };
}

function required<T>(value: T | undefined, name: string): T {
    if (value === undefined) {
        throw new Error(`the chain's ${name} is not started`);
    }
    return value;
}

function delay(ms: number): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Returns a session cookie with the same value signed again for `timestamp`
 * (seconds since the epoch), the way OAuth2-Proxy v7.15.6 signs cookies in
 * `pkg/encryption/utils.go`. The cookie value is `value|timestamp|signature`.
 * The signature is HMAC-SHA256, keyed with the cookie secret string, over the
 * cookie name, the value and the timestamp, in padded URL-safe base64.
 */
export function resignSessionCookie(cookiePair: string, cookieSecret: string, timestamp: number): string {
    const separator = cookiePair.indexOf("=");
    const name = cookiePair.slice(0, separator);
    const [value] = cookiePair.slice(separator + 1).split("|");
    const signature = createHmac("sha256", cookieSecret)
        .update(name)
        .update(value ?? "")
        .update(String(timestamp))
        .digest("base64")
        .replace(/\+/g, "-")
        .replace(/\//g, "_");
    return `${name}=${value}|${timestamp}|${signature}`;
}

/**
 * Returns the Redis key of the session a cookie points to. The cookie value
 * is a ticket `v2.<id>.<secret>` in URL-safe base64 (OAuth2-Proxy v7.15.6,
 * `pkg/sessions/persistence/ticket.go`), and the session is stored under the id.
 */
export function sessionRedisKey(cookiePair: string): string {
    const [value] = cookiePair.slice(cookiePair.indexOf("=") + 1).split("|");
    const ticket = Buffer.from(value ?? "", "base64url").toString("utf8");
    const [version, id] = ticket.split(".");
    if (version !== "v2" || id === undefined) {
        throw new Error(`the session cookie does not contain a v2 ticket (received a ${ticket.length}-character value)`);
    }
    return Buffer.from(id, "base64url").toString("utf8");
}
