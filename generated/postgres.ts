import { services } from "../services";

/**
 * Environment variables of the PostgreSQL container. The passwords travel only
 * here, never in the SQL text or on a command line, and the container's env
 * changes whenever a password does, so rotating a password replaces the
 * container and the entrypoint applies the new value on start.
 */
export const postgresEnv = {
    /** Superuser name, read by the official image; the entrypoint connects as this role. Default in the image: `postgres`. */
    superuser: "POSTGRES_USER",
    /** Superuser password, read by the official image only when the data volume is empty, and set on every start by the entrypoint. */
    superuserPassword: "POSTGRES_PASSWORD",
    /** Password of the api's login role, set on every start by the entrypoint. */
    apiPassword: "NETOS_POSTGRES_API_PASSWORD",
} as const;

/** Default name of the api's dedicated login role: not a superuser, owner of the api database. */
export const postgresApiRoleDefault = "netos_api";

/** Default name of the database the api role owns; the api's migrations create its tables. */
export const postgresApiDatabaseDefault = "netos";

/** Where the PostgreSQL container's entrypoint script is uploaded; set it as the container's entrypoint. */
export const postgresEntrypointPath = "/usr/local/bin/netos-postgres-entrypoint";

/**
 * Stop signal for the PostgreSQL container: SIGINT asks the server for a fast
 * shutdown (roll back open transactions, checkpoint, exit), as the official
 * image's STOPSIGNAL does. The entrypoint forwards it to the server.
 */
export const postgresStopSignal = "SIGINT";

/** Names of the api's role and database. */
export interface PostgresRoleInput {
    /** The api's login role: a lower-case SQL identifier that does not start with `pg_`. Default: `netos_api`. */
    readonly apiRole?: string;
    /** The database the api role owns: a lower-case SQL identifier. Default: `netos`. */
    readonly apiDatabase?: string;
}

/** Inputs of the container entrypoint script. */
export interface PostgresEntrypointInput extends PostgresRoleInput {
    /** Directory of the server's Unix socket, an absolute path. Default: `/var/run/postgresql`, the official image's. */
    readonly socketDir?: string;
    /** Port the server listens on; also names its socket file. Default: 5432 from services.ts. */
    readonly port?: number;
    /**
     * The image's entrypoint, which the script starts as `<entrypoint> postgres <args>`.
     * Default: `docker-entrypoint.sh`, found on the official image's PATH. Tests
     * point it at a stub that starts Debian's server.
     */
    readonly imageEntrypoint?: string;
}

/** Inputs of the api's connection URL. */
export interface PostgresApiUrlInput extends PostgresRoleInput {
    /** The api role's password; the URL carries it percent-encoded, so wrap the result in a Pulumi secret. */
    readonly password: string;
    /** Host name of the server. Default: `postgres` from services.ts. */
    readonly host?: string;
    /** Port of the server. Default: 5432 from services.ts. */
    readonly port?: number;
}

// Lower-case only, so the quoted identifier in SQL and the unquoted name in a
// connection URL or psql command mean the same role; at most 63 bytes, the
// default NAMEDATALEN limit.
const identifierPattern = /^[a-z_][a-z0-9_]{0,62}$/;
const pathPattern = /^[A-Za-z0-9_./-]+$/;

interface ResolvedRoleInput {
    readonly apiRole: string;
    readonly apiDatabase: string;
}

function resolveRoleInput(input: PostgresRoleInput, problems: string[]): ResolvedRoleInput {
    const apiRole = input.apiRole ?? postgresApiRoleDefault;
    const apiDatabase = input.apiDatabase ?? postgresApiDatabaseDefault;
    if (!identifierPattern.test(apiRole)) {
        problems.push(`apiRole "${apiRole}" is invalid: use 1 to 63 lower-case letters, digits or underscores, not starting with a digit, e.g. ${postgresApiRoleDefault}`);
    } else if (apiRole.startsWith("pg_")) {
        problems.push(`apiRole "${apiRole}" is invalid: PostgreSQL reserves role names starting with pg_; use another name, e.g. ${postgresApiRoleDefault}`);
    }
    if (!identifierPattern.test(apiDatabase)) {
        problems.push(`apiDatabase "${apiDatabase}" is invalid: use 1 to 63 lower-case letters, digits or underscores, not starting with a digit, e.g. ${postgresApiDatabaseDefault}`);
    }
    return { apiRole, apiDatabase };
}

function throwIfProblems(what: string, problems: readonly string[]): void {
    if (problems.length > 0) {
        throw new Error(`Invalid ${what} input:\n- ${problems.join("\n- ")}`);
    }
}

/** Quotes a validated identifier for SQL. */
function sqlIdentifier(name: string): string {
    return `"${name}"`;
}

/**
 * Returns the psql script (PostgreSQL 15 or newer, for `\getenv`) that the
 * entrypoint runs as the superuser over the local socket on every start. It
 * creates the api's login role and database when missing, keeps the role
 * unprivileged, and sets the superuser's and the api role's passwords from the
 * environment variables in `postgresEnv`, so a rotated password takes effect
 * on an existing data volume. Safe to run any number of times.
 *
 * Run it with `psql -v ON_ERROR_STOP=1`; it also sets ON_ERROR_STOP itself,
 * and fails when a password variable is unset or empty, or when the api role
 * would be the superuser.
 */
export function postgresRoleSql(input: PostgresRoleInput = {}): string {
    const problems: string[] = [];
    const { apiRole, apiDatabase } = resolveRoleInput(input, problems);
    throwIfProblems("PostgreSQL role", problems);

    const role = sqlIdentifier(apiRole);
    const database = sqlIdentifier(apiDatabase);
    // The names are validated identifiers, so they can sit in single quotes as literals too.
    const roleLiteral = `'${apiRole}'`;
    const databaseLiteral = `'${apiDatabase}'`;

    return `-- NetOS: the api's role and database, and both passwords. Generated by
-- generated/postgres.ts; the entrypoint runs it as the superuser on every start.
\\set ON_ERROR_STOP on

-- psql sends the password literals below to the server in ALTER ROLE, so keep
-- this session's statements out of the server log whatever its settings are.
SET log_statement = 'none';
SET log_min_duration_statement = -1;
SET log_min_error_statement = 'panic';
SET password_encryption = 'scram-sha-256';

-- psql's getenv command leaves a variable unchanged when the environment variable is unset.
\\unset superuser_password
\\unset api_password
\\getenv superuser_password ${postgresEnv.superuserPassword}
\\getenv api_password ${postgresEnv.apiPassword}
\\if :{?superuser_password}
\\else
DO $$ BEGIN RAISE EXCEPTION '${postgresEnv.superuserPassword} is not set: give the container the superuser password'; END $$;
\\endif
\\if :{?api_password}
\\else
DO $$ BEGIN RAISE EXCEPTION '${postgresEnv.apiPassword} is not set: give the container the api role password'; END $$;
\\endif

-- PostgreSQL clears a password set to '' instead of rejecting it, which would lock the role out.
SELECT :'superuser_password' = '' AS superuser_password_empty, :'api_password' = '' AS api_password_empty \\gset
\\if :superuser_password_empty
DO $$ BEGIN RAISE EXCEPTION '${postgresEnv.superuserPassword} is empty: give the container a non-empty superuser password'; END $$;
\\endif
\\if :api_password_empty
DO $$ BEGIN RAISE EXCEPTION '${postgresEnv.apiPassword} is empty: give the container a non-empty api role password'; END $$;
\\endif

-- The ALTER ROLE below strips privileges, so it must never target the superuser.
SELECT current_user = ${roleLiteral} AS api_role_is_superuser \\gset
\\if :api_role_is_superuser
DO $$ BEGIN RAISE EXCEPTION 'the api role ${apiRole} is the superuser this script runs as: choose another api role name or ${postgresEnv.superuser}'; END $$;
\\endif

SELECT NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = ${roleLiteral}) AS api_role_missing \\gset

-- Both passwords change together or not at all.
BEGIN;
\\if :api_role_missing
CREATE ROLE ${role};
\\endif
ALTER ROLE ${role} WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS INHERIT PASSWORD :'api_password';
ALTER ROLE CURRENT_USER WITH PASSWORD :'superuser_password';
COMMIT;

\\unset superuser_password
\\unset api_password

-- CREATE DATABASE cannot run in a transaction block or a DO block, so psql's gexec
-- command runs the statement this query returns, if any.
SELECT format('CREATE DATABASE %I OWNER %I', ${databaseLiteral}, ${roleLiteral})
WHERE NOT EXISTS (SELECT FROM pg_catalog.pg_database WHERE datname = ${databaseLiteral}) \\gexec
ALTER DATABASE ${database} OWNER TO ${role};
-- Only the owner and superusers may connect; grant CONNECT to any other role explicitly.
REVOKE ALL ON DATABASE ${database} FROM PUBLIC;
`;
}

/**
 * Returns the entrypoint script of the official `postgres:16.x` image's
 * container (bash, which the image has). It starts the image's
 * `docker-entrypoint.sh postgres` with the script's arguments, waits until that
 * server accepts connections on the local socket, applies `postgresRoleSql`,
 * and then waits for the server in the foreground, forwarding SIGTERM, SIGINT,
 * SIGQUIT, SIGHUP, SIGUSR1 and SIGUSR2 to it and exiting with its status.
 *
 * When the SQL fails, the script stops the server and exits 1, so the
 * container fails visibly instead of serving with stale passwords.
 *
 * NOTE: the socket connection relies on the image's default `local all all
 * trust` line in pg_hba.conf. A volume initialized with another local auth
 * method (POSTGRES_INITDB_ARGS=--auth-local=...) makes the SQL step fail.
 */
export function postgresEntrypointScript(input: PostgresEntrypointInput = {}): string {
    const problems: string[] = [];
    const roleInput = resolveRoleInput(input, problems);
    const socketDir = input.socketDir ?? "/var/run/postgresql";
    const port = input.port ?? services.postgres.port;
    const imageEntrypoint = input.imageEntrypoint ?? "docker-entrypoint.sh";
    if (!socketDir.startsWith("/") || !pathPattern.test(socketDir)) {
        problems.push(`socketDir "${socketDir}" is invalid: use an absolute path of letters, digits, '_', '.', '-' and '/', e.g. /var/run/postgresql`);
    }
    if (!Number.isInteger(port) || port < 1 || port > 65535) {
        problems.push(`port ${port} is invalid: use a whole number from 1 to 65535, e.g. ${services.postgres.port}`);
    }
    if (!pathPattern.test(imageEntrypoint)) {
        problems.push(`imageEntrypoint "${imageEntrypoint}" is invalid: use a command name or path of letters, digits, '_', '.', '-' and '/', e.g. docker-entrypoint.sh`);
    }
    throwIfProblems("PostgreSQL entrypoint", problems);

    const sql = postgresRoleSql(roleInput);
    return `#!/usr/bin/env bash
# NetOS entrypoint for the official postgres image, generated by
# generated/postgres.ts. The image reads ${postgresEnv.superuserPassword} only when the data
# volume is empty, so this script sets both passwords on every start and a
# rotated password takes effect on an existing volume.
set -Eeuo pipefail

readonly socket_dir=${socketDir}
readonly port=${port}
readonly superuser="\${${postgresEnv.superuser}:-postgres}"

log() { printf 'netos-postgres-entrypoint: %s\\n' "$*" >&2; }

for variable in ${postgresEnv.superuserPassword} ${postgresEnv.apiPassword}; do
    if [[ -z "\${!variable:-}" ]]; then
        log "\${variable} is missing or empty: set it in the container's environment."
        exit 1
    fi
done
: "\${PGDATA:?PGDATA is not set: the official postgres image sets it; set it to the data directory.}"

# Docker may pass the image's command "postgres" as the first argument.
if [[ "\${1:-}" == postgres ]]; then
    shift
fi

${imageEntrypoint} postgres "$@" &
readonly server_pid=$!

forward_signal() {
    kill -s "$1" "$server_pid" 2>/dev/null || true
}
for signal in TERM INT QUIT HUP USR1 USR2; do
    trap "forward_signal \${signal}" "\${signal}"
done

# On an empty volume the image first runs a temporary server on the same
# socket, then execs the real one in the process it started with. Only a server
# whose postmaster.pid names that process counts as ready.
server_ready() {
    local pid_line=""
    if [[ -r "\${PGDATA}/postmaster.pid" ]]; then
        read -r pid_line <"\${PGDATA}/postmaster.pid" || true
    fi
    [[ "$pid_line" == "$server_pid" ]] &&
        pg_isready --quiet --host="$socket_dir" --port="$port" --username="$superuser" --dbname=postgres
}

wait_for_exit() {
    # wait returns early when a trapped signal arrives, so wait until the
    # server is gone; bash then still returns its saved exit status.
    while kill -0 "$server_pid" 2>/dev/null; do
        wait "$server_pid" || true
    done
    local status=0
    wait "$server_pid" || status=$?
    return "$status"
}

until server_ready; do
    if ! kill -0 "$server_pid" 2>/dev/null; then
        status=0
        wait_for_exit || status=$?
        log "PostgreSQL exited with status \${status} before it accepted connections."
        exit "$status"
    fi
    sleep 1
done

log "applying the api role, database and passwords as \${superuser}"
if ! psql --no-psqlrc --no-password --quiet --set=ON_ERROR_STOP=1 \\
    --host="$socket_dir" --port="$port" --username="$superuser" --dbname=postgres <<'NETOS_SQL'
${sql}NETOS_SQL
then
    log "applying the roles and passwords failed (see the psql error above); stopping PostgreSQL."
    forward_signal INT
    wait_for_exit || true
    exit 1
fi
log "roles and passwords applied; PostgreSQL is ready"

status=0
wait_for_exit || status=$?
log "PostgreSQL exited with status \${status}"
exit "$status"
`;
}

/**
 * Returns the api's connection URL, `postgresql://<role>:<password>@<host>:<port>/<database>`,
 * with the password percent-encoded. The result contains the password: pass it
 * through `pulumi.secret` and only in a container's environment.
 */
export function postgresApiUrl(input: PostgresApiUrlInput): string {
    const problems: string[] = [];
    const { apiRole, apiDatabase } = resolveRoleInput(input, problems);
    const host = input.host ?? services.postgres.alias;
    const port = input.port ?? services.postgres.port;
    if (input.password === "") {
        problems.push("password is empty: pass the api role's generated password");
    }
    if (!/^[A-Za-z0-9.-]+$/.test(host)) {
        problems.push(`host "${host}" is invalid: use a host name such as ${services.postgres.alias}`);
    }
    if (!Number.isInteger(port) || port < 1 || port > 65535) {
        problems.push(`port ${port} is invalid: use a whole number from 1 to 65535, e.g. ${services.postgres.port}`);
    }
    throwIfProblems("PostgreSQL URL", problems);
    return `postgresql://${apiRole}:${encodeURIComponent(input.password)}@${host}:${port}/${apiDatabase}`;
}
