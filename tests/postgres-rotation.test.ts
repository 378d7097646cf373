/**
 * Proves the PostgreSQL password rotation against a real server: Debian 12's
 * PostgreSQL 15 (/usr/lib/postgresql/15/bin) runs the generated entrypoint
 * script, with a stub in place of the official image's docker-entrypoint.sh.
 * The stack runs postgres:16; the script needs psql 15 or newer.
 */
import { after, before, describe, test } from "node:test";
import * as assert from "node:assert/strict";
import { spawn, spawnSync, type ChildProcess, type SpawnSyncReturns } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

import {
    postgresApiDatabaseDefault,
    postgresApiRoleDefault,
    postgresApiUrl,
    postgresEntrypointScript,
    postgresEnv,
    postgresRoleSql,
} from "../generated/postgres";
import { postgresBinDir } from "./support/binaries";
import { freePort } from "./support/ports";

const superuser = "postgres";
const readyLine = "roles and passwords applied";
const startTimeoutMs = 30_000;
const stopTimeoutMs = 15_000;

/**
 * Returns a password with characters that need quoting in SQL and
 * percent-encoding in a URL. Its first 24 hex digits are unique, so a log
 * check can find the password even where SQL quoting doubled its quote.
 */
function newPassword(): string {
    return `${randomBytes(12).toString("hex")}'"\\:@/%&`;
}

/** Returns the unique part of a password from `newPassword`. */
function passwordCore(password: string): string {
    return password.slice(0, 24);
}

const oldPasswords = { superuser: newPassword(), api: newPassword() };
const newPasswords = { superuser: newPassword(), api: newPassword() };

interface RunningEntrypoint {
    readonly child: ChildProcess;
    /** Everything the script and the server wrote to stderr and stdout, in order. */
    output(): string;
    readonly exited: Promise<number | null>;
}

interface ServerUser {
    readonly uid: number;
    readonly gid: number;
}

describe("postgres rotation", () => {
    let binDir = "";
    let workDir = "";
    let dataDir = "";
    let socketDir = "";
    let entrypointPath = "";
    let port = 0;
    let serverUser: ServerUser | undefined;
    let running: RunningEntrypoint | undefined;
    const allOutput: string[] = [];

    /** Runs a program as the server's OS user: `postgres` when the tests run as root, else the current user. */
    function asServerUser(command: string, args: readonly string[]): [string, string[]] {
        if (serverUser === undefined) {
            return [command, [...args]];
        }
        return ["setpriv", [`--reuid=${serverUser.uid}`, `--regid=${serverUser.gid}`, "--init-groups", "--", command, ...args]];
    }

    /** Environment with nothing inherited but PATH, so no PG* variable of the caller leaks in. */
    function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
        return { PATH: `${binDir}:/usr/bin:/bin`, LC_ALL: "C", ...extra };
    }

    function passwordEnv(passwords: { superuser: string; api: string }): Record<string, string> {
        return { [postgresEnv.superuserPassword]: passwords.superuser, [postgresEnv.apiPassword]: passwords.api };
    }

    function startEntrypoint(env: Record<string, string>): Promise<RunningEntrypoint> {
        const [command, args] = asServerUser(entrypointPath, []);
        const child = spawn(command, args, { env: cleanEnv({ PGDATA: dataDir, ...env }), stdio: ["ignore", "pipe", "pipe"] });
        const chunks: string[] = [];
        const record = (chunk: Buffer) => {
            chunks.push(chunk.toString("utf8"));
            allOutput.push(chunk.toString("utf8"));
        };
        child.stdout?.on("data", record);
        child.stderr?.on("data", record);
        const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
        const entrypoint: RunningEntrypoint = { child, output: () => chunks.join(""), exited };
        running = entrypoint;

        return new Promise((resolve, reject) => {
            const timer = setTimeout(() => {
                child.kill("SIGKILL");
                reject(new Error(`entrypoint timed out after ${startTimeoutMs} ms waiting for "${readyLine}"; output:\n${entrypoint.output()}`));
            }, startTimeoutMs);
            const poll = setInterval(() => {
                if (entrypoint.output().includes(readyLine)) {
                    clearInterval(poll);
                    clearTimeout(timer);
                    resolve(entrypoint);
                }
            }, 50);
            void exited.then((code) => {
                clearInterval(poll);
                clearTimeout(timer);
                reject(new Error(`entrypoint exited with ${code} before it was ready; output:\n${entrypoint.output()}`));
            });
        });
    }

    async function stopEntrypoint(entrypoint: RunningEntrypoint, signal: NodeJS.Signals): Promise<number | null> {
        entrypoint.child.kill(signal);
        const timeout = new Promise<"timeout">((resolve) => setTimeout(() => resolve("timeout"), stopTimeoutMs).unref());
        const result = await Promise.race([entrypoint.exited, timeout]);
        if (result === "timeout") {
            entrypoint.child.kill("SIGKILL");
            throw new Error(`entrypoint timed out: still running ${stopTimeoutMs} ms after ${signal}; output:\n${entrypoint.output()}`);
        }
        running = undefined;
        return result;
    }

    /** Runs SQL over TCP on loopback with a password, as the api does. */
    function psqlTcp(user: string, password: string, database: string, sql: string): SpawnSyncReturns<string> {
        return spawnSync(
            path.join(binDir, "psql"),
            ["--no-psqlrc", "--no-align", "--tuples-only", "--set=ON_ERROR_STOP=1", "--host=127.0.0.1", `--port=${port}`, `--username=${user}`, `--dbname=${database}`, `--command=${sql}`],
            { env: cleanEnv({ PGPASSWORD: password, PGCONNECT_TIMEOUT: "5", PGSSLMODE: "disable" }), encoding: "utf8", timeout: 20_000 },
        );
    }

    /** Runs the generated SQL as the superuser over the socket, the way the entrypoint does. */
    function applyRoleSql(sql: string, env: Record<string, string>): SpawnSyncReturns<string> {
        const sqlPath = path.join(workDir, "roles.sql");
        writeFileSync(sqlPath, sql);
        chmodSync(sqlPath, 0o644);
        const [command, args] = asServerUser(path.join(binDir, "psql"), [
            "--no-psqlrc",
            "--no-password",
            "--quiet",
            "--set=ON_ERROR_STOP=1",
            `--host=${socketDir}`,
            `--port=${port}`,
            `--username=${superuser}`,
            "--dbname=postgres",
            `--file=${sqlPath}`,
        ]);
        return spawnSync(command, args, { env: cleanEnv(env), encoding: "utf8", timeout: 20_000 });
    }

    function queryAsSuperuser(sql: string): string {
        const result = psqlTcp(superuser, newPasswords.superuser, "postgres", sql);
        assert.equal(result.status, 0, `query failed: ${result.stderr}`);
        return result.stdout.trim();
    }

    before(async () => {
        binDir = postgresBinDir();
        port = await freePort();
        if (process.getuid?.() === 0) {
            const ids = spawnSync("id", ["-u", "postgres"], { encoding: "utf8" });
            const groups = spawnSync("id", ["-g", "postgres"], { encoding: "utf8" });
            assert.equal(ids.status, 0, "running as root needs the postgres OS user (Debian's postgresql package creates it)");
            serverUser = { uid: Number(ids.stdout.trim()), gid: Number(groups.stdout.trim()) };
        }

        workDir = mkdtempSync(path.join(os.tmpdir(), "netos-pg-"));
        dataDir = path.join(workDir, "data");
        socketDir = path.join(workDir, "sock");
        mkdirSync(socketDir);
        const marker = path.join(workDir, "initialized");

        // Stands in for the image's docker-entrypoint.sh: on the first start it
        // runs a temporary socket-only server, as the image does to run its
        // init scripts, then execs the real server in the same process.
        const stubPath = path.join(workDir, "docker-entrypoint.sh");
        writeFileSync(
            stubPath,
            `#!/usr/bin/env bash
set -euo pipefail
[[ "\${1:-}" == postgres ]] && shift
if [[ ! -e ${marker} ]]; then
    ${binDir}/pg_ctl -D "$PGDATA" -w -s -o "-c listen_addresses='' -k ${socketDir} -p ${port}" start
    sleep 2
    ${binDir}/pg_ctl -D "$PGDATA" -w -s -m fast stop
    touch ${marker}
    echo "stub: temporary server stopped" >&2
fi
exec ${binDir}/postgres -D "$PGDATA" -k ${socketDir} -p ${port} -c listen_addresses=127.0.0.1 \\
    -c log_statement=all -c log_min_duration_statement=0 -c log_connections=on "$@"
`,
        );
        entrypointPath = path.join(workDir, "entrypoint.sh");
        writeFileSync(entrypointPath, postgresEntrypointScript({ socketDir, port, imageEntrypoint: stubPath }));
        const passwordFile = path.join(workDir, "initdb-password");
        writeFileSync(passwordFile, `${oldPasswords.superuser}\n`);
        for (const file of [stubPath, entrypointPath]) {
            chmodSync(file, 0o755);
        }
        chmodSync(workDir, 0o755);
        if (serverUser !== undefined) {
            for (const file of [workDir, socketDir, stubPath, entrypointPath, passwordFile]) {
                chownSync(file, serverUser.uid, serverUser.gid);
            }
        }

        // The image initializes an empty volume like this: local socket trusted, TCP with SCRAM.
        const [command, args] = asServerUser(path.join(binDir, "initdb"), [
            `--pgdata=${dataDir}`,
            `--username=${superuser}`,
            `--pwfile=${passwordFile}`,
            "--auth-local=trust",
            "--auth-host=scram-sha-256",
            "--encoding=UTF8",
            "--no-instructions",
        ]);
        const initdb = spawnSync(command, args, { env: cleanEnv({}), encoding: "utf8", timeout: 60_000 });
        assert.equal(initdb.status, 0, `initdb failed: ${initdb.stderr}`);
        rmSync(passwordFile);
    });

    after(async () => {
        if (running !== undefined) {
            await stopEntrypoint(running, "SIGINT").catch(() => undefined);
        }
        if (workDir !== "") {
            rmSync(workDir, { recursive: true, force: true });
        }
    });

    test("first start creates role and data", async () => {
        const entrypoint = await startEntrypoint(passwordEnv(oldPasswords));
        const output = entrypoint.output();
        assert.ok(output.indexOf("stub: temporary server stopped") >= 0, "the stub did not run its temporary server");
        assert.ok(
            output.indexOf("stub: temporary server stopped") < output.indexOf("applying the api role"),
            "the entrypoint applied its SQL before the temporary server stopped",
        );

        const created = psqlTcp(postgresApiRoleDefault, oldPasswords.api, postgresApiDatabaseDefault, "CREATE TABLE sites (name text PRIMARY KEY); INSERT INTO sites VALUES ('lon-1'), ('fra-2');");
        assert.equal(created.status, 0, `api could not create data: ${created.stderr}`);
    });

    test("api role is unprivileged", () => {
        const flags = psqlTcp(superuser, oldPasswords.superuser, "postgres", `SELECT rolsuper, rolcreaterole, rolcreatedb, rolreplication, rolbypassrls FROM pg_roles WHERE rolname = '${postgresApiRoleDefault}'`);
        assert.equal(flags.status, 0, flags.stderr);
        assert.equal(flags.stdout.trim(), "f|f|f|f|f");
        const owner = psqlTcp(superuser, oldPasswords.superuser, "postgres", `SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = '${postgresApiDatabaseDefault}'`);
        assert.equal(owner.status, 0, owner.stderr);
        assert.equal(owner.stdout.trim(), postgresApiRoleDefault);
    });

    test("other roles cannot connect", () => {
        const created = psqlTcp(superuser, oldPasswords.superuser, "postgres", "CREATE ROLE reporting LOGIN");
        assert.equal(created.status, 0, created.stderr);

        // The socket trusts every role, so only the database's CONNECT privilege can stop this.
        const [command, args] = asServerUser(path.join(binDir, "psql"), [
            "--no-psqlrc",
            "--no-password",
            `--host=${socketDir}`,
            `--port=${port}`,
            "--username=reporting",
            `--dbname=${postgresApiDatabaseDefault}`,
            "--command=SELECT 1",
        ]);
        const connected = spawnSync(command, args, { env: cleanEnv({}), encoding: "utf8", timeout: 20_000 });
        assert.notEqual(connected.status, 0, "a role without CONNECT reached the api database");
        assert.match(connected.stderr, /permission denied for database/);
    });

    test("SIGINT stops cleanly", async () => {
        assert.ok(running !== undefined, "no entrypoint is running");
        const entrypoint = running;
        const code = await stopEntrypoint(entrypoint, "SIGINT");
        assert.equal(code, 0, entrypoint.output());
        assert.match(entrypoint.output(), /received fast shutdown request/);
        assert.match(entrypoint.output(), /PostgreSQL exited with status 0/);
        assert.equal(existsSync(path.join(dataDir, "postmaster.pid")), false, "postmaster.pid left behind");
    });

    test("restart applies new passwords", async () => {
        await startEntrypoint(passwordEnv(newPasswords));

        const apiNew = psqlTcp(postgresApiRoleDefault, newPasswords.api, postgresApiDatabaseDefault, "SELECT 1");
        assert.equal(apiNew.status, 0, `new api password rejected: ${apiNew.stderr}`);
        const apiOld = psqlTcp(postgresApiRoleDefault, oldPasswords.api, postgresApiDatabaseDefault, "SELECT 1");
        assert.notEqual(apiOld.status, 0, "old api password still accepted");
        assert.match(apiOld.stderr, /password authentication failed/);

        const superNew = psqlTcp(superuser, newPasswords.superuser, "postgres", "SELECT 1");
        assert.equal(superNew.status, 0, `new superuser password rejected: ${superNew.stderr}`);
        const superOld = psqlTcp(superuser, oldPasswords.superuser, "postgres", "SELECT 1");
        assert.notEqual(superOld.status, 0, "old superuser password still accepted");
    });

    test("data intact after rotation", () => {
        const rows = psqlTcp(postgresApiRoleDefault, newPasswords.api, postgresApiDatabaseDefault, "SELECT name FROM sites ORDER BY name");
        assert.equal(rows.status, 0, rows.stderr);
        assert.deepEqual(rows.stdout.trim().split("\n"), ["fra-2", "lon-1"]);
    });

    test("api URL connects", () => {
        const url = new URL(postgresApiUrl({ password: newPasswords.api, host: "127.0.0.1", port }));
        assert.equal(url.protocol, "postgresql:");
        const result = psqlTcp(decodeURIComponent(url.username), decodeURIComponent(url.password), url.pathname.slice(1), "SELECT count(*) FROM sites");
        assert.equal(result.status, 0, result.stderr);
        assert.equal(result.stdout.trim(), "2");
    });

    test("server log has no password", () => {
        const output = allOutput.join("");
        assert.match(output, /statement: /, "statement logging is off, so this check proves nothing");
        for (const password of [...Object.values(oldPasswords), ...Object.values(newPasswords)]) {
            assert.equal(output.includes(passwordCore(password)), false, "a password appears in the server or entrypoint output");
        }
    });

    test("SQL rerun is idempotent", () => {
        const result = applyRoleSql(postgresRoleSql(), passwordEnv(newPasswords));
        assert.equal(result.status, 0, result.stderr);
        assert.equal(queryAsSuperuser("SELECT count(*) FROM pg_roles WHERE rolname = 'netos_api'"), "1");
        const rows = psqlTcp(postgresApiRoleDefault, newPasswords.api, postgresApiDatabaseDefault, "SELECT count(*) FROM sites");
        assert.equal(rows.stdout.trim(), "2");
    });

    test("SQL rejects unset password", () => {
        const result = applyRoleSql(postgresRoleSql(), { [postgresEnv.superuserPassword]: "unused-superuser-password" });
        assert.notEqual(result.status, 0);
        assert.match(result.stderr, /NETOS_POSTGRES_API_PASSWORD is not set/);
        const stillNew = psqlTcp(superuser, newPasswords.superuser, "postgres", "SELECT 1");
        assert.equal(stillNew.status, 0, "a failed run changed the superuser password");
    });

    test("SQL rejects empty password", () => {
        const result = applyRoleSql(postgresRoleSql(), { [postgresEnv.superuserPassword]: "", [postgresEnv.apiPassword]: "unused-api-password" });
        assert.notEqual(result.status, 0);
        assert.match(result.stderr, /POSTGRES_PASSWORD is empty/);
        const stillNew = psqlTcp(postgresApiRoleDefault, newPasswords.api, postgresApiDatabaseDefault, "SELECT 1");
        assert.equal(stillNew.status, 0, "a failed run changed the api password");
    });

    test("SQL rejects superuser as api role", () => {
        const result = applyRoleSql(postgresRoleSql({ apiRole: superuser }), passwordEnv(newPasswords));
        assert.notEqual(result.status, 0);
        assert.match(result.stderr, /the api role postgres is the superuser/);
        assert.equal(queryAsSuperuser(`SELECT rolsuper FROM pg_roles WHERE rolname = '${superuser}'`), "t");
    });

    test("failed SQL stops the server", async () => {
        assert.ok(running !== undefined, "no entrypoint is running");
        await stopEntrypoint(running, "SIGTERM");

        // A superuser name that does not exist makes psql fail to connect.
        const entrypoint = startEntrypoint({ ...passwordEnv(newPasswords), [postgresEnv.superuser]: "no_such_superuser" });
        await assert.rejects(entrypoint, /exited with 1 before it was ready/);
        assert.ok(running !== undefined);
        assert.match(running.output(), /applying the roles and passwords failed/);
        assert.equal(existsSync(path.join(dataDir, "postmaster.pid")), false, "the server still runs");
        running = undefined;
    });

    test("entrypoint rejects missing password", async () => {
        const entrypoint = startEntrypoint({ [postgresEnv.superuserPassword]: newPasswords.superuser });
        await assert.rejects(entrypoint, /exited with 1 before it was ready/);
        assert.ok(running !== undefined);
        assert.match(running.output(), /NETOS_POSTGRES_API_PASSWORD is missing or empty/);
        assert.doesNotMatch(running.output(), /starting PostgreSQL/);
        running = undefined;
    });
});

describe("postgres generated text", () => {
    test("SQL reads passwords from env", () => {
        const sql = postgresRoleSql();
        assert.match(sql, /^\\getenv superuser_password POSTGRES_PASSWORD$/m);
        assert.match(sql, /^\\getenv api_password NETOS_POSTGRES_API_PASSWORD$/m);
        assert.match(sql, /PASSWORD :'api_password';/);
        assert.match(sql, /PASSWORD :'superuser_password';/);
    });

    test("entrypoint embeds the SQL", () => {
        const script = postgresEntrypointScript();
        assert.ok(script.includes(postgresRoleSql()), "the script does not contain the role SQL");
        assert.match(script, /^docker-entrypoint\.sh postgres "\$@" &$/m);
        assert.match(script, /^readonly socket_dir=\/var\/run\/postgresql$/m);
        assert.match(script, /^readonly port=5432$/m);
    });

    test("custom role and database", () => {
        const sql = postgresRoleSql({ apiRole: "inventory_api", apiDatabase: "inventory" });
        assert.match(sql, /ALTER ROLE "inventory_api" WITH LOGIN NOSUPERUSER/);
        assert.match(sql, /ALTER DATABASE "inventory" OWNER TO "inventory_api";/);
    });

    test("invalid names rejected", () => {
        assert.throws(() => postgresRoleSql({ apiRole: "Api" }), /apiRole "Api" is invalid: use 1 to 63 lower-case letters/);
        assert.throws(() => postgresRoleSql({ apiRole: "pg_api" }), /apiRole "pg_api" is invalid: PostgreSQL reserves role names starting with pg_/);
        assert.throws(() => postgresRoleSql({ apiDatabase: 'x"; DROP' }), /apiDatabase "x"; DROP" is invalid/);
        assert.throws(() => postgresRoleSql({ apiRole: "a".repeat(64) }), /apiRole "a{64}" is invalid/);
    });

    test("invalid script inputs rejected", () => {
        assert.throws(() => postgresEntrypointScript({ socketDir: "run/postgresql" }), /socketDir "run\/postgresql" is invalid: use an absolute path/);
        assert.throws(() => postgresEntrypointScript({ socketDir: "/tmp/$(id)" }), /socketDir "\/tmp\/\$\(id\)" is invalid/);
        assert.throws(() => postgresEntrypointScript({ port: 0 }), /port 0 is invalid/);
        assert.throws(() => postgresEntrypointScript({ imageEntrypoint: "entry point" }), /imageEntrypoint "entry point" is invalid/);
    });

    test("api URL encodes password", () => {
        const url = postgresApiUrl({ password: "a/b@c:d%e" });
        assert.equal(url, "postgresql://netos_api:a%2Fb%40c%3Ad%25e@postgres:5432/netos");
    });

    test("api URL rejects empty password", () => {
        assert.throws(() => postgresApiUrl({ password: "" }), /password is empty/);
    });
});
