/**
 * Runs the origin's generated Redis config and container health checks with
 * real programs on loopback: Debian's redis-server 7.0 and PostgreSQL 15,
 * Node.js, python3 and GNU wget (the containers use BusyBox wget, which
 * takes the same flags).
 */
import assert from "node:assert/strict";
import { ChildProcess, spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as http from "node:http";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, beforeEach, describe, test } from "node:test";
import { nodeHttpHealthCheckTest, postgresHealthCheckTest, pythonHttpHealthCheckTest, wgetHealthCheckTest } from "../generated/healthChecks";
import { postgresEnv, postgresRoleSql } from "../generated/postgres";
import { redisApiUser, redisCliAuthEnv, redisHealthCheckTest, renderRedisConfig } from "../generated/redis";
import { postgresBinDir, redisServerBinary } from "./support/binaries";
import { freePort } from "./support/ports";

/**
 * Runs a Docker health check test (`CMD` or `CMD-SHELL`) here and returns its
 * exit status. It runs asynchronously, so a server in this process can respond.
 */
function runHealthCheck(check: string[], env: Record<string, string> = {}): Promise<number | null> {
    const [kind, ...rest] = check;
    const argv = kind === "CMD-SHELL" ? ["sh", "-c", rest[0] as string] : rest;
    const child = spawn(argv[0] as string, argv.slice(1), { env: { ...process.env, ...env }, stdio: "ignore", timeout: 15_000 });
    return new Promise((resolve, reject) => {
        child.on("error", reject);
        child.on("exit", (status) => resolve(status));
    });
}

/**
 * Stops a server this file started and waits until it has exited, killing it
 * after 10 seconds. Redis 7 stays up on SIGTERM when its final snapshot fails.
 */
async function stopServer(server: ChildProcess | undefined, signal: NodeJS.Signals): Promise<void> {
    if (!server || server.exitCode !== null || server.signalCode !== null) {
        return;
    }
    const exited = new Promise<void>((resolve) => server.once("exit", () => resolve()));
    server.kill(signal);
    const timer = setTimeout(() => server.kill("SIGKILL"), 10_000);
    await exited;
    clearTimeout(timer);
}

async function waitFor(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!condition()) {
        if (Date.now() > deadline) {
            throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
        }
        await new Promise((resolve) => setTimeout(resolve, 100));
    }
}

describe("redis config (real redis-server)", () => {
    const password = "A1b2C3d4E5f6G7h8I9j0K1l2M3n4";
    let dir: string;
    let port: number;
    let server: ChildProcess | undefined;

    const cli = (args: string[], auth?: string) =>
        spawnSync("redis-cli", ["-h", "127.0.0.1", "-p", String(port), "--no-auth-warning", ...args], {
            env: { ...process.env, ...(auth === undefined ? {} : { [redisCliAuthEnv]: auth }) },
            encoding: "utf8",
            timeout: 10_000,
        });

    before(async () => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "netos-redis-"));
        port = await freePort();
        const config = renderRedisConfig({ password, port, bind: "127.0.0.1", dataDir: dir, maxMemoryMb: 64 });
        fs.writeFileSync(path.join(dir, "redis.conf"), config, { mode: 0o600 });
        server = spawn(redisServerBinary(), [path.join(dir, "redis.conf")], { stdio: "ignore" });
        await waitFor(() => cli(["ping"], password).stdout.trim() === "PONG", "redis-server to answer PING");
    });

    after(async () => {
        await stopServer(server, "SIGTERM");
        fs.rmSync(dir, { recursive: true, force: true });
    });

    test("rejects clients without the password", () => {
        assert.match(cli(["ping"]).stdout, /NOAUTH/);
    });

    test("accepts the password", () => {
        assert.equal(cli(["ping"], password).stdout.trim(), "PONG");
    });

    test("persists to the data dir", () => {
        assert.equal(cli(["config", "get", "appendonly"], password).stdout.trim().split("\n")[1], "no");
        assert.equal(cli(["config", "get", "save"], password).stdout.trim().split("\n")[1], "3600 1 300 100 60 10000");
        assert.equal(cli(["config", "get", "dir"], password).stdout.trim().split("\n")[1], fs.realpathSync(dir));
    });

    test("memory ceiling and policy", () => {
        assert.equal(cli(["config", "get", "maxmemory"], password).stdout.trim().split("\n")[1], String(64 * 1024 * 1024));
        assert.equal(cli(["config", "get", "maxmemory-policy"], password).stdout.trim().split("\n")[1], "volatile-lru");
    });

    test("health check passes with password", async () => {
        assert.equal(await runHealthCheck(redisHealthCheckTest(port), { [redisCliAuthEnv]: password }), 0);
    });

    test("health check fails without it", async () => {
        assert.notEqual(await runHealthCheck(redisHealthCheckTest(port), { [redisCliAuthEnv]: "wrong-password" }), 0);
        assert.notEqual(await runHealthCheck(redisHealthCheckTest(port)), 0);
    });

    test("password never in errors", () => {
        assert.throws(() => renderRedisConfig({ password: "short", maxMemoryMb: 64 }), (error: Error) => !error.message.includes("short") && /16 to 128 letters and digits/.test(error.message));
    });
});

describe("redis api user (real redis-server)", () => {
    const password = "A1b2C3d4E5f6G7h8I9j0K1l2M3n4";
    const apiPassword = "Z9y8X7w6V5u4T3s2R1q0P9o8N7m6";
    // The key OAuth2-Proxy v7.15.6 writes for a session: `<cookie name>-<ticket id>`.
    const sessionKey = "__Host-netos_session-0123456789abcdef0123456789abcdef";
    let dir: string;
    let port: number;
    let server: ChildProcess | undefined;

    /** Runs redis-cli as the default user (OAuth2-Proxy) and returns its output. */
    const asDefault = (args: string[]) =>
        spawnSync("redis-cli", ["-h", "127.0.0.1", "-p", String(port), "--no-auth-warning", ...args], {
            env: { ...process.env, [redisCliAuthEnv]: password },
            encoding: "utf8",
            timeout: 10_000,
        }).stdout.trim();

    /** Runs redis-cli as the api user in a database and returns its output. */
    const asApi = (database: number, args: string[], auth = apiPassword) =>
        spawnSync("redis-cli", ["-h", "127.0.0.1", "-p", String(port), "--no-auth-warning", "--user", redisApiUser, "-n", String(database), ...args], {
            env: { ...process.env, [redisCliAuthEnv]: auth },
            encoding: "utf8",
            timeout: 10_000,
        }).stdout.trim();

    before(async () => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "netos-redis-acl-"));
        port = await freePort();
        const config = renderRedisConfig({ password, apiPassword, port, bind: "127.0.0.1", dataDir: dir, maxMemoryMb: 64 });
        fs.writeFileSync(path.join(dir, "redis.conf"), config, { mode: 0o600 });
        server = spawn(redisServerBinary(), [path.join(dir, "redis.conf")], { stdio: "ignore" });
        await waitFor(() => asDefault(["ping"]) === "PONG", "redis-server to answer PING");
    });

    beforeEach(() => {
        assert.equal(asDefault(["-n", "0", "set", sessionKey, "encrypted-session", "EX", "600"]), "OK");
    });

    after(async () => {
        await stopServer(server, "SIGTERM");
        fs.rmSync(dir, { recursive: true, force: true });
    });

    test("api uses its own database", () => {
        assert.equal(asApi(1, ["set", "cache:user:1", "v"]), "OK");
        assert.equal(asApi(1, ["get", "cache:user:1"]), "v");
        assert.equal(asApi(1, ["info", "server"]).split("\n")[0]?.trim(), "# Server");
    });

    test("api wrong password rejected", () => {
        // redis-cli reports the failed AUTH on stderr, then the command gets NOAUTH.
        assert.match(asApi(1, ["ping"], password), /NOAUTH/);
    });

    test("api FLUSHALL rejected", () => {
        assert.match(asApi(1, ["flushall"]), /NOPERM/);
        assert.equal(asDefault(["-n", "0", "get", sessionKey]), "encrypted-session");
    });

    test("api FLUSHDB in database 0 rejected", () => {
        assert.match(asApi(0, ["flushdb"]), /NOPERM/);
        assert.equal(asDefault(["-n", "0", "get", sessionKey]), "encrypted-session");
    });

    test("api SWAPDB rejected", () => {
        assert.match(asApi(1, ["swapdb", "0", "1"]), /NOPERM/);
        assert.equal(asDefault(["-n", "0", "get", sessionKey]), "encrypted-session");
    });

    test("api cannot read a session", () => {
        assert.match(asApi(0, ["get", sessionKey]), /NOPERM/);
    });

    test("api cannot delete a session", () => {
        assert.match(asApi(0, ["del", sessionKey]), /NOPERM/);
        assert.match(asApi(0, ["unlink", sessionKey]), /NOPERM/);
        assert.match(asApi(0, ["rename", sessionKey, "stolen"]), /NOPERM/);
        assert.equal(asDefault(["-n", "0", "get", sessionKey]), "encrypted-session");
    });

    test("api cannot change the config", () => {
        assert.match(asApi(1, ["config", "set", "maxmemory", "1mb"]), /NOPERM/);
        assert.match(asApi(1, ["acl", "setuser", redisApiUser, "~*"]), /NOPERM/);
    });

    test("default user keeps every right", () => {
        assert.equal(asDefault(["-n", "0", "get", sessionKey]), "encrypted-session");
        assert.equal(asDefault(["config", "get", "maxmemory"]).split("\n")[1], String(64 * 1024 * 1024));
    });

    test("health check passes as default", async () => {
        assert.equal(await runHealthCheck(redisHealthCheckTest(port), { [redisCliAuthEnv]: password }), 0);
    });

    test("same passwords rejected", () => {
        assert.throws(() => renderRedisConfig({ password, apiPassword: password, maxMemoryMb: 64 }), /apiPassword must differ from password/);
    });
});

describe("http health checks (real programs)", () => {
    let server: http.Server;
    let port: number;

    before(async () => {
        server = http.createServer((request, response) => {
            const statusByPath: Record<string, number> = { "/ok": 200, "/redirect": 302, "/missing": 404 };
            const status = statusByPath[request.url ?? ""] ?? 500;
            response.writeHead(status, status === 302 ? { Location: "/elsewhere" } : {});
            response.end();
        });
        await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
        port = (server.address() as { port: number }).port;
    });

    after(() => {
        server.close();
    });

    const checks = { node: nodeHttpHealthCheckTest, python: pythonHttpHealthCheckTest, wget: wgetHealthCheckTest };

    for (const [program, check] of Object.entries(checks)) {
        test(`${program} passes on 200`, async () => {
            assert.equal(await runHealthCheck(check(port, "/ok")), 0);
        });

        test(`${program} fails on 500`, async () => {
            assert.notEqual(await runHealthCheck(check(port, "/broken")), 0);
        });

        test(`${program} fails on 404`, async () => {
            assert.notEqual(await runHealthCheck(check(port, "/missing")), 0);
        });

        test(`${program} fails when closed`, async () => {
            const closedPort = await freePort();
            assert.notEqual(await runHealthCheck(check(closedPort, "/ok")), 0);
        });
    }

    test("node passes on a redirect", async () => {
        assert.equal(await runHealthCheck(nodeHttpHealthCheckTest(port, "/redirect")), 0);
    });

    test("invalid path rejected", () => {
        assert.throws(() => nodeHttpHealthCheckTest(3000, "/a b"), /path must be an absolute path/);
        assert.throws(() => pythonHttpHealthCheckTest(8000, "health"), /path must be an absolute path/);
    });
});

describe("postgres health check (real PostgreSQL)", () => {
    const apiPassword = "Q9w8E7r6T5y4U3i2O1p0A9s8D7f6";
    const superuserPassword = "Z1x2C3v4B5n6M7a8S9d0F1g2H3j4";
    let dir: string;
    let port: number;
    let server: ChildProcess | undefined;

    // initdb and postgres refuse to run as root, so they run as Debian's postgres user then.
    const asServerUser = (command: string, args: string[]): [string, string[]] =>
        process.getuid?.() === 0 ? ["setpriv", ["--reuid=postgres", "--regid=postgres", "--init-groups", "--", command, ...args]] : [command, args];

    const check = () => postgresHealthCheckTest({ role: "netos_api", database: "netos", passwordEnv: postgresEnv.apiPassword, port });

    before(async () => {
        const binDir = postgresBinDir();
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "netos-postgres-"));
        fs.chmodSync(dir, 0o777);
        port = await freePort();
        const [initCommand, initArgs] = asServerUser(path.join(binDir, "initdb"), [
            "--pgdata", path.join(dir, "data"), "--username=postgres", "--auth-local=trust", "--auth-host=scram-sha-256",
        ]);
        const initdb = spawnSync(initCommand, initArgs, { encoding: "utf8", timeout: 60_000 });
        assert.equal(initdb.status, 0, `initdb failed: ${initdb.stderr}`);
        const [command, args] = asServerUser(path.join(binDir, "postgres"), [
            "-D", path.join(dir, "data"), "-k", dir, "-p", String(port), "-c", "listen_addresses=127.0.0.1",
        ]);
        server = spawn(command, args, { stdio: "ignore" });
        const ready = () => spawnSync(path.join(binDir, "pg_isready"), ["--quiet", "--host", dir, "--port", String(port)]).status === 0;
        await waitFor(ready, "PostgreSQL to accept connections", 30_000);
    });

    after(async () => {
        // SIGINT makes PostgreSQL do a fast shutdown.
        await stopServer(server, "SIGINT");
        fs.rmSync(dir, { recursive: true, force: true });
    });

    test("fails before the role exists", async () => {
        assert.notEqual(await runHealthCheck(check(), { [postgresEnv.apiPassword]: apiPassword }), 0);
    });

    test("passes once roles are applied", async () => {
        const applied = spawnSync("psql", ["--no-psqlrc", "--quiet", "--host", dir, "--port", String(port), "--username=postgres", "--dbname=postgres"], {
            input: postgresRoleSql({ apiRole: "netos_api", apiDatabase: "netos" }),
            env: { ...process.env, [postgresEnv.superuserPassword]: superuserPassword, [postgresEnv.apiPassword]: apiPassword },
            encoding: "utf8",
            timeout: 30_000,
        });
        assert.equal(applied.status, 0, `applying the role SQL failed: ${applied.stderr}`);
        assert.equal(await runHealthCheck(check(), { [postgresEnv.apiPassword]: apiPassword }), 0);
    });

    test("fails with a stale password", async () => {
        assert.notEqual(await runHealthCheck(check(), { [postgresEnv.apiPassword]: "stale-password-value" }), 0);
    });

    test("fails without the variable", async () => {
        assert.notEqual(await runHealthCheck(check(), { [postgresEnv.apiPassword]: "" }), 0);
    });
});

describe("redis persistence (real redis-server)", () => {
    const password = "P0o9I8u7Y6t5R4e3W2q1L0k9J8h7";
    const dirs: string[] = [];
    const servers: ChildProcess[] = [];

    after(async () => {
        for (const server of servers) {
            await stopServer(server, "SIGTERM");
        }
        for (const dir of dirs) {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    function newDataDir(): string {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "netos-redis-data-"));
        dirs.push(dir);
        return dir;
    }

    /** Starts redis-server on a data dir with the generated config and returns a redis-cli runner for it. */
    async function start(dir: string, appendOnly: boolean): Promise<{ server: ChildProcess; cli: (args: string[]) => string }> {
        const port = await freePort();
        const configFile = path.join(dir, `redis-${port}.conf`);
        fs.writeFileSync(configFile, renderRedisConfig({ password, port, bind: "127.0.0.1", dataDir: dir, maxMemoryMb: 64, appendOnly }), { mode: 0o600 });
        const server = spawn(redisServerBinary(), [configFile], { stdio: "ignore" });
        servers.push(server);
        const cli = (args: string[]) =>
            spawnSync("redis-cli", ["-h", "127.0.0.1", "-p", String(port), "--no-auth-warning", ...args], {
                env: { ...process.env, [redisCliAuthEnv]: password },
                encoding: "utf8",
                timeout: 10_000,
            }).stdout.trim();
        await waitFor(() => cli(["ping"]) === "PONG", "redis-server to answer PING");
        return { server, cli };
    }

    test("snapshot survives a clean stop", async () => {
        const dir = newDataDir();
        const first = await start(dir, false);
        assert.equal(first.cli(["set", "session", "kept"]), "OK");
        await stopServer(first.server, "SIGTERM");
        const second = await start(dir, false);
        assert.equal(second.cli(["get", "session"]), "kept");
        await stopServer(second.server, "SIGTERM");
    });

    test("append-only survives a clean stop", async () => {
        const dir = newDataDir();
        const first = await start(dir, true);
        assert.equal(first.cli(["set", "session", "kept"]), "OK");
        await stopServer(first.server, "SIGTERM");
        const second = await start(dir, true);
        assert.equal(second.cli(["get", "session"]), "kept");
        await stopServer(second.server, "SIGTERM");
    });

    // The reason netos:redisAppendOnly must match an adopted volume.
    test("append-only ignores a snapshot", async () => {
        const dir = newDataDir();
        const first = await start(dir, false);
        assert.equal(first.cli(["set", "session", "kept"]), "OK");
        await stopServer(first.server, "SIGTERM");
        const second = await start(dir, true);
        assert.equal(second.cli(["get", "session"]), "");
        await stopServer(second.server, "SIGTERM");
    });
});
