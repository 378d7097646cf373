import { after, before, describe, test } from "node:test";
import * as assert from "node:assert/strict";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as os from "node:os";
import * as path from "node:path";

import { renderNginxConfig, type NginxConfigInput } from "../generated/nginx";
import { nginxBinary } from "./support/binaries";
import { freePort } from "./support/ports";

const userHeader = "X-NetOS-User";
const rolesHeader = "X-NetOS-Roles";

interface Workspace {
    readonly dir: string;
    readonly configPath: string;
}

/** Creates a temp dir that Nginx workers can traverse. When started as root, Nginx runs them as `nobody`. */
function makeWorkspace(): Workspace {
    const dir = mkdtempSync(path.join(os.tmpdir(), "netos-nginx-"));
    chmodSync(dir, 0o755);
    return { dir, configPath: path.join(dir, "nginx.conf") };
}

function fileInputs(dir: string): Pick<NginxConfigInput, "pidPath" | "tempDir" | "errorLogPath" | "accessLogPath"> {
    return {
        pidPath: path.join(dir, "nginx.pid"),
        tempDir: dir,
        errorLogPath: path.join(dir, "error.log"),
        accessLogPath: path.join(dir, "access.log"),
    };
}

function nginxTest(workspace: Workspace): { status: number | null; output: string } {
    const result = spawnSync(nginxBinary(), ["-t", "-p", workspace.dir, "-e", path.join(workspace.dir, "error.log"), "-c", workspace.configPath], { encoding: "utf8" });
    return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

function productionInput(dir: string): NginxConfigInput {
    return {
        apiUserHeader: userHeader,
        apiRolesHeader: rolesHeader,
        resolvers: ["127.0.0.11"],
        allowedSources: ["10.213.8.0/24"],
        publicOrigin: "https://netos.xiberian.net",
        ...fileInputs(dir),
    };
}

describe("renderNginxConfig text", () => {
    const config = renderNginxConfig({ apiUserHeader: userHeader, apiRolesHeader: rolesHeader, resolvers: ["127.0.0.11"] });
    const locations = (body: string): string[] => body.split(/\n\s*location /).slice(1);

    test("listens on 8080 by default", () => {
        assert.match(config, /^\s*listen 8080;$/m);
    });

    test("resolver with short validity", () => {
        assert.match(config, /^\s*resolver 127\.0\.0\.11 valid=10s ipv6=off;$/m);
    });

    test("upstreams from services.ts via variables", () => {
        assert.match(config, /set \$netos_web web:3000;/);
        assert.match(config, /set \$netos_api api:8000;/);
        assert.match(config, /proxy_pass http:\/\/\$netos_web;/);
        assert.doesNotMatch(config, /^\s*upstream /m);
    });

    test("routes present", () => {
        assert.match(config, /location \/ \{/);
        assert.match(config, /location \/api\/ \{/);
        assert.match(config, /location = \/openapi\.json \{/);
        assert.match(config, /location = \/docs-api\/ \{[^}]*proxy_pass http:\/\/\$netos_api\/docs;/);
        assert.match(config, /location = \/healthz \{[^}]*return 200/);
    });

    test("hardening directives", () => {
        assert.match(config, /server_tokens off;/);
        assert.match(config, /autoindex off;/);
        assert.match(config, /client_max_body_size 25m;/);
        assert.match(config, /large_client_header_buffers 8 32k;/);
        assert.match(config, /proxy_buffer_size 32k;/);
    });

    test("identity headers set in every proxied location", () => {
        const proxied = locations(config).filter((body) => body.includes("proxy_pass"));
        assert.equal(proxied.length, 4);
        for (const body of proxied) {
            assert.match(body, /proxy_set_header X-NetOS-User \$netos_user;/);
            assert.match(body, /proxy_set_header X-NetOS-Roles \$http_x_forwarded_groups;/);
            assert.match(body, /proxy_set_header X-Forwarded-Proto \$netos_forwarded_proto;/);
            assert.match(body, /proxy_set_header Connection "";/);
        }
    });

    test("web location drops Authorization", () => {
        const web = locations(config).find((body) => body.startsWith("/ {"));
        assert.ok(web);
        assert.match(web, /proxy_set_header Authorization "";/);
        const api = locations(config).find((body) => body.startsWith("/api/ {"));
        assert.ok(api);
        assert.doesNotMatch(api, /Authorization/);
    });

    test("loopback only by default", () => {
        assert.match(config, /\n        allow 127\.0\.0\.1\/32;\n        allow ::1\/128;\n        deny all;\n/);
    });

    test("allowed sources from input", () => {
        const custom = renderNginxConfig({ apiUserHeader: userHeader, apiRolesHeader: rolesHeader, resolvers: ["127.0.0.11"], allowedSources: ["10.213.8.0/24"] });
        assert.match(custom, /\n        allow 10\.213\.8\.0\/24;\n        deny all;\n/);
        assert.doesNotMatch(custom, /allow 127\.0\.0\.1\/32;/);
    });

    test("forwarded headers replaced", () => {
        for (const location of config.split("location ").slice(1).filter((block) => block.includes("proxy_pass"))) {
            assert.match(location, /proxy_set_header X-Forwarded-Proto \$netos_forwarded_proto;/);
            assert.match(location, /proxy_set_header X-Forwarded-Host \$host;/);
            assert.match(location, /proxy_set_header Forwarded "";/);
            assert.match(location, /proxy_set_header X-Real-IP \$http_cf_connecting_ip;/);
        }
    });

    test("public origin fixes proto and host", () => {
        const custom = renderNginxConfig({ apiUserHeader: userHeader, apiRolesHeader: rolesHeader, resolvers: ["127.0.0.11"], publicOrigin: "https://netos.xiberian.net" });
        assert.match(custom, /proxy_set_header X-Forwarded-Proto https;/);
        assert.match(custom, /proxy_set_header X-Forwarded-Host netos\.xiberian\.net;/);
        assert.doesNotMatch(custom, /X-Forwarded-Proto \$netos_forwarded_proto/);
    });

    test("no resolver for IP upstreams", () => {
        const loopback = renderNginxConfig({ apiUserHeader: userHeader, apiRolesHeader: rolesHeader, webUpstream: "http://127.0.0.1:3001", apiUpstream: "http://127.0.0.1:8001" });
        assert.doesNotMatch(loopback, /^\s*resolver /m);
    });

    test("custom header names used", () => {
        const custom = renderNginxConfig({ apiUserHeader: "X-Dev-User", apiRolesHeader: "X-Dev-Roles", resolvers: ["127.0.0.11"] });
        assert.match(custom, /proxy_set_header X-Dev-User \$netos_user;/);
        assert.match(custom, /proxy_set_header X-Dev-Roles \$http_x_forwarded_groups;/);
    });
});

describe("renderNginxConfig validation", () => {
    test("host upstream without resolver", () => {
        assert.throws(() => renderNginxConfig({ apiUserHeader: userHeader, apiRolesHeader: rolesHeader }), /webUpstream "http:\/\/web:3000" names a host, so resolvers must list a DNS server/);
    });

    test("invalid header name", () => {
        assert.throws(() => renderNginxConfig({ apiUserHeader: "X User;", apiRolesHeader: rolesHeader, resolvers: ["127.0.0.11"] }), /apiUserHeader must be an HTTP header name .*received "X User;"/);
    });

    test("upstream with path", () => {
        assert.throws(() => renderNginxConfig({ apiUserHeader: userHeader, apiRolesHeader: rolesHeader, resolvers: ["127.0.0.11"], apiUpstream: "http://api:8000/v1" }), /apiUpstream "http:\/\/api:8000\/v1" is invalid: it must not contain a path/);
    });

    test("reserved identity header rejected", () => {
        assert.throws(() => renderNginxConfig({ apiUserHeader: "X-Forwarded-Email", apiRolesHeader: rolesHeader, resolvers: ["127.0.0.11"] }), /apiUserHeader must not be Host, Authorization, .* \(received "X-Forwarded-Email"\)/);
    });

    test("allow-all source rejected", () => {
        for (const source of ["0.0.0.0/0", "::/0"]) {
            assert.throws(() => renderNginxConfig({ apiUserHeader: userHeader, apiRolesHeader: rolesHeader, resolvers: ["127.0.0.11"], allowedSources: [source] }), new RegExp(`allowedSources must contain IP addresses or CIDRs narrower than all addresses, such as 10\\.213\\.8\\.0/24 \\(received "${source.replace(/\./g, "\\.")}"\\)`));
        }
    });

    test("empty sources rejected", () => {
        assert.throws(() => renderNginxConfig({ apiUserHeader: userHeader, apiRolesHeader: rolesHeader, resolvers: ["127.0.0.11"], allowedSources: [] }), /allowedSources must list at least one address or CIDR/);
    });

    test("malformed source rejected", () => {
        assert.throws(() => renderNginxConfig({ apiUserHeader: userHeader, apiRolesHeader: rolesHeader, resolvers: ["127.0.0.11"], allowedSources: ["10.213.8.0/33; allow all"] }), /received "10\.213\.8\.0\/33; allow all"/);
    });

    test("public origin with path rejected", () => {
        assert.throws(() => renderNginxConfig({ apiUserHeader: userHeader, apiRolesHeader: rolesHeader, resolvers: ["127.0.0.11"], publicOrigin: "https://netos.xiberian.net/app" }), /publicOrigin must be an origin such as https:\/\/netos\.xiberian\.net, without path, query or credentials \(received "https:\/\/netos\.xiberian\.net\/app"\)/);
    });

    test("unsafe path rejected", () => {
        assert.throws(() => renderNginxConfig({ apiUserHeader: userHeader, apiRolesHeader: rolesHeader, resolvers: ["127.0.0.11"], pidPath: "/tmp/x; user root" }), /pidPath must be an absolute path/);
    });

    test("all problems in one error", () => {
        assert.throws(
            () => renderNginxConfig({ apiUserHeader: "", apiRolesHeader: "", clientMaxBodySize: "lots", resolvers: ["127.0.0.11"] }),
            (error: Error) => {
                assert.match(error.message, /apiUserHeader/);
                assert.match(error.message, /apiRolesHeader/);
                assert.match(error.message, /clientMaxBodySize/);
                return true;
            },
        );
    });
});

describe("nginx -t", () => {
    test("production config is valid", (t) => {
        const workspace = makeWorkspace();
        t.after(() => rmSync(workspace.dir, { recursive: true, force: true }));
        writeFileSync(workspace.configPath, renderNginxConfig(productionInput(workspace.dir)));
        const result = nginxTest(workspace);
        assert.equal(result.status, 0, result.output);
    });

    test("loopback config is valid", (t) => {
        const workspace = makeWorkspace();
        t.after(() => rmSync(workspace.dir, { recursive: true, force: true }));
        const config = renderNginxConfig({
            apiUserHeader: userHeader,
            apiRolesHeader: rolesHeader,
            listenAddress: "127.0.0.1",
            listenPort: 18080,
            webUpstream: "http://127.0.0.1:13000",
            apiUpstream: "http://127.0.0.1:18000",
            ...fileInputs(workspace.dir),
        });
        writeFileSync(workspace.configPath, config);
        const result = nginxTest(workspace);
        assert.equal(result.status, 0, result.output);
    });
});

// ---- Live chain: Nginx in front of two stub upstreams on 127.0.0.1 ----

interface Received {
    readonly url: string;
    readonly headers: http.IncomingHttpHeaders;
}

interface Stub {
    readonly server: http.Server;
    readonly port: number;
    readonly received: Received[];
}

const swaggerPage = "<!doctype html><script>SwaggerUIBundle({ url: '/openapi.json', dom_id: '#swagger-ui' })</script>";

async function startStub(role: "web" | "api"): Promise<Stub> {
    const received: Received[] = [];
    // Node.js accepts 16 KiB of headers by default; the test sends more.
    const server = http.createServer({ maxHeaderSize: 64 * 1024 }, (req, res) => {
        received.push({ url: req.url ?? "", headers: req.headers });
        if (role === "api" && req.url === "/docs") {
            res.writeHead(200, { "content-type": "text/html" }).end(swaggerPage);
        } else if (role === "api" && req.url === "/openapi.json") {
            res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ openapi: "3.1.0", info: { title: "stub" } }));
        } else {
            res.writeHead(200, { "content-type": "text/plain" }).end(`${role} ${req.url}`);
        }
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return { server, port: (server.address() as AddressInfo).port, received };
}

interface Reply {
    readonly status: number;
    readonly body: string;
}

/** Sends a GET to Nginx on 127.0.0.1, from `localAddress` (another loopback address) when given. */
function get(port: number, urlPath: string, headers: Record<string, string> = {}, localAddress?: string): Promise<Reply> {
    return new Promise((resolve, reject) => {
        const req = http.request({ host: "127.0.0.1", port, path: urlPath, headers, agent: false, localAddress }, (res) => {
            let body = "";
            res.setEncoding("utf8");
            res.on("data", (chunk: string) => (body += chunk));
            res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
        });
        req.setTimeout(5000, () => req.destroy(new Error(`GET ${urlPath} timed out after 5 s`)));
        req.on("error", reject);
        req.end();
    });
}

async function waitForHealth(port: number, nginx: ChildProcess): Promise<void> {
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
        if (nginx.exitCode !== null) {
            throw new Error(`nginx exited with code ${nginx.exitCode} before answering /healthz`);
        }
        try {
            if ((await get(port, "/healthz")).status === 200) {
                return;
            }
        } catch {
            // Not listening yet.
        }
        await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`nginx did not answer /healthz on 127.0.0.1:${port} within 10 s`);
}

/** Returns the input of a live Nginx on 127.0.0.1 in front of the two stubs. */
function liveInput(workspace: Workspace, port: number, web: Stub, api: Stub): NginxConfigInput {
    return {
        apiUserHeader: userHeader,
        apiRolesHeader: rolesHeader,
        listenAddress: "127.0.0.1",
        listenPort: port,
        webUpstream: `http://127.0.0.1:${web.port}`,
        apiUpstream: `http://127.0.0.1:${api.port}`,
        workerProcesses: 1,
        ...fileInputs(workspace.dir),
    };
}

/** Starts Nginx in the foreground from a workspace's config and waits until /healthz returns 200. */
async function startNginx(workspace: Workspace, port: number): Promise<ChildProcess> {
    const nginx = spawn(nginxBinary(), ["-p", workspace.dir, "-e", path.join(workspace.dir, "error.log"), "-c", workspace.configPath, "-g", "daemon off;"], {
        stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    nginx.stdout?.on("data", (chunk: Buffer) => (output += chunk.toString()));
    nginx.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString()));
    try {
        await waitForHealth(port, nginx);
    } catch (error) {
        throw new Error(`${(error as Error).message}\n${output}`);
    }
    return nginx;
}

/** Stops an Nginx started by `startNginx` and waits for it to exit. */
async function stopNginx(nginx: ChildProcess | undefined): Promise<void> {
    if (nginx && nginx.exitCode === null) {
        const exited = new Promise((resolve) => nginx.once("exit", resolve));
        nginx.kill("SIGTERM");
        await exited;
    }
}

describe("nginx live chain", () => {
    let web: Stub;
    let api: Stub;
    let nginx: ChildProcess;
    let port: number;
    let workspace: Workspace;

    before(async () => {
        web = await startStub("web");
        api = await startStub("api");
        port = await freePort();
        workspace = makeWorkspace();
        writeFileSync(workspace.configPath, renderNginxConfig(liveInput(workspace, port, web, api)));
        nginx = await startNginx(workspace, port);
    });

    after(async () => {
        await stopNginx(nginx);
        web?.server.close();
        api?.server.close();
        if (workspace) {
            rmSync(workspace.dir, { recursive: true, force: true });
        }
    });

    const lastOf = (stub: Stub): Received => {
        const last = stub.received[stub.received.length - 1];
        assert.ok(last, "the stub received no request");
        return last;
    };

    test("root reaches web", async () => {
        const reply = await get(port, "/dashboard?tab=1");
        assert.equal(reply.status, 200);
        assert.equal(reply.body, "web /dashboard?tab=1");
    });

    test("api path reaches api", async () => {
        const reply = await get(port, "/api/x?y=2");
        assert.equal(reply.status, 200);
        assert.equal(reply.body, "api /api/x?y=2");
    });

    test("openapi.json reaches api", async () => {
        const reply = await get(port, "/openapi.json");
        assert.equal(reply.status, 200);
        assert.equal(JSON.parse(reply.body).openapi, "3.1.0");
        assert.equal(lastOf(api).url, "/openapi.json");
    });

    test("docs-api serves Swagger UI", async () => {
        const page = await get(port, "/docs-api/");
        assert.equal(page.status, 200);
        assert.equal(lastOf(api).url, "/docs");
        const schemaUrl = /url: '([^']+)'/.exec(page.body)?.[1];
        assert.equal(schemaUrl, "/openapi.json");
        const schema = await get(port, schemaUrl);
        assert.equal(schema.status, 200);
        assert.equal(JSON.parse(schema.body).info.title, "stub");
    });

    test("docs-api without slash redirects", async () => {
        const reply = await new Promise<http.IncomingMessage>((resolve, reject) => {
            http.get({ host: "127.0.0.1", port, path: "/docs-api", agent: false }, resolve).on("error", reject);
        });
        reply.resume();
        assert.equal(reply.statusCode, 301);
        assert.equal(reply.headers.location, "/docs-api/");
    });

    test("healthz answered locally", async () => {
        const before = web.received.length + api.received.length;
        const reply = await get(port, "/healthz");
        assert.equal(reply.status, 200);
        assert.equal(reply.body, "ok\n");
        assert.equal(web.received.length + api.received.length, before);
    });

    test("client user header never reaches web", async () => {
        await get(port, "/", { [userHeader]: "mallory@example.com", [rolesHeader]: "NetOS.Admin" });
        const headers = lastOf(web).headers;
        assert.equal(headers["x-netos-user"], undefined);
        assert.equal(headers["x-netos-roles"], undefined);
    });

    test("client user header never reaches api", async () => {
        await get(port, "/api/me", { [userHeader]: "mallory@example.com", "x-forwarded-email": "alice@xiberian.net" });
        assert.equal(lastOf(api).headers["x-netos-user"], "alice@xiberian.net");
    });

    test("user falls back to UPN", async () => {
        await get(port, "/api/me", { "x-forwarded-preferred-username": "bob@xiberian.onmicrosoft.com" });
        assert.equal(lastOf(api).headers["x-netos-user"], "bob@xiberian.onmicrosoft.com");
    });

    test("roles from X-Forwarded-Groups", async () => {
        await get(port, "/api/me", { "x-forwarded-email": "alice@xiberian.net", "x-forwarded-groups": "NetOS.Admin" });
        assert.equal(lastOf(api).headers["x-netos-roles"], "NetOS.Admin");
    });

    test("forwarded proto passed through", async () => {
        await get(port, "/api/x", { "x-forwarded-proto": "https" });
        assert.equal(lastOf(api).headers["x-forwarded-proto"], "https");
    });

    test("unknown forwarded proto replaced", async () => {
        await get(port, "/api/x", { "x-forwarded-proto": "javascript" });
        assert.equal(lastOf(api).headers["x-forwarded-proto"], "http");
    });

    test("client X-Forwarded-Host replaced", async () => {
        await get(port, "/api/x", { host: "netos.example.test", "x-forwarded-host": "evil.example" });
        assert.equal(lastOf(api).headers["x-forwarded-host"], "netos.example.test");
    });

    test("client Forwarded dropped", async () => {
        await get(port, "/", { forwarded: "for=203.0.113.9;host=evil.example;proto=http" });
        assert.equal(lastOf(web).headers.forwarded, undefined);
    });

    test("client X-Real-IP dropped", async () => {
        await get(port, "/api/x", { "x-real-ip": "203.0.113.9" });
        assert.equal(lastOf(api).headers["x-real-ip"], undefined);
    });

    test("X-Real-IP from CF-Connecting-IP", async () => {
        await get(port, "/api/x", { "x-real-ip": "203.0.113.9", "cf-connecting-ip": "198.51.100.7" });
        assert.equal(lastOf(api).headers["x-real-ip"], "198.51.100.7");
    });

    test("8 KB Authorization accepted", async () => {
        const token = `Bearer ${"a".repeat(8 * 1024)}`;
        const reply = await get(port, "/api/x", { authorization: token, "x-forwarded-groups": "r".repeat(8 * 1024) });
        assert.equal(reply.status, 200);
        assert.equal(lastOf(api).headers.authorization, token);
    });

    test("web gets no Authorization", async () => {
        const reply = await get(port, "/", { authorization: "Bearer abc" });
        assert.equal(reply.status, 200);
        assert.equal(lastOf(web).headers.authorization, undefined);
    });
});

// ---- Live: the source allow list and a fixed public origin ----

describe("nginx allow list live", () => {
    let web: Stub;
    let api: Stub;
    let nginx: ChildProcess;
    let port: number;
    let workspace: Workspace;
    // 127.0.0.3 plays the SSO proxy; 127.0.0.1 and 127.0.0.2 play web or any other peer.
    const ssoProxyAddress = "127.0.0.3";

    before(async () => {
        web = await startStub("web");
        api = await startStub("api");
        port = await freePort();
        workspace = makeWorkspace();
        writeFileSync(
            workspace.configPath,
            renderNginxConfig({
                ...liveInput(workspace, port, web, api),
                allowedSources: [`${ssoProxyAddress}/32`],
                publicOrigin: "https://netos.example.test",
            }),
        );
        nginx = await startNginx(workspace, port);
    });

    after(async () => {
        await stopNginx(nginx);
        web?.server.close();
        api?.server.close();
        if (workspace) {
            rmSync(workspace.dir, { recursive: true, force: true });
        }
    });

    test("other peer gets 403 on web", async () => {
        const before = web.received.length;
        const reply = await get(port, "/", { "x-forwarded-email": "mallory@example.com" }, "127.0.0.2");
        assert.equal(reply.status, 403);
        assert.equal(web.received.length, before);
    });

    test("other peer gets 403 on api", async () => {
        const before = api.received.length;
        const reply = await get(port, "/api/me", { "x-forwarded-email": "mallory@example.com", "x-forwarded-groups": "exec" }, "127.0.0.2");
        assert.equal(reply.status, 403);
        assert.equal(api.received.length, before);
    });

    test("loopback peer gets 403 on api", async () => {
        const reply = await get(port, "/api/me", { "x-forwarded-email": "mallory@example.com" }, "127.0.0.1");
        assert.equal(reply.status, 403);
    });

    test("healthz answers loopback", async () => {
        const reply = await get(port, "/healthz", {}, "127.0.0.1");
        assert.equal(reply.status, 200);
    });

    test("healthz answers other peers", async () => {
        const before = web.received.length + api.received.length;
        const reply = await get(port, "/healthz", {}, "127.0.0.2");
        assert.equal(reply.status, 200);
        assert.equal(web.received.length + api.received.length, before);
    });

    test("sso proxy reaches api", async () => {
        const reply = await get(port, "/api/me", { "x-forwarded-email": "alice@xiberian.net" }, ssoProxyAddress);
        assert.equal(reply.status, 200);
        assert.equal(lastOfStub(api).headers["x-netos-user"], "alice@xiberian.net");
    });

    test("fixed proto despite client http", async () => {
        await get(port, "/api/x", { "x-forwarded-proto": "http" }, ssoProxyAddress);
        assert.equal(lastOfStub(api).headers["x-forwarded-proto"], "https");
    });

    test("fixed host despite client host", async () => {
        await get(port, "/", { host: "evil.example", "x-forwarded-host": "evil.example" }, ssoProxyAddress);
        assert.equal(lastOfStub(web).headers["x-forwarded-host"], "netos.example.test");
    });
});

/** Returns the last request a stub received. */
function lastOfStub(stub: Stub): Received {
    const last = stub.received[stub.received.length - 1];
    assert.ok(last, "the stub received no request");
    return last;
}
