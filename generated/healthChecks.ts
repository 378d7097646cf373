/**
 * Docker health check tests (`["CMD", ...]`) that request an HTTP path on the
 * container's own loopback and succeed only on a 2xx or 3xx answer. Each uses
 * a program its image already has, because the images differ: the NetOS web
 * image runs Node.js, the api image runs Python, and the alpine-based proxy
 * images have BusyBox wget.
 */

function checkTarget(port: number, path: string): string {
    if (!Number.isInteger(port) || port < 1 || port > 65535) {
        throw new Error(`port must be an integer from 1 to 65535 (received ${port}).`);
    }
    if (!/^\/[A-Za-z0-9/_.~-]*$/.test(path)) {
        throw new Error(`path must be an absolute path of letters, digits and / _ . ~ - (received "${path}").`);
    }
    return `http://127.0.0.1:${port}${path}`;
}

/** Returns a health check run by `node` (18 or newer, for the global fetch), with a 4-second request timeout. */
export function nodeHttpHealthCheckTest(port: number, path: string): string[] {
    const url = checkTarget(port, path);
    const script = `fetch(${JSON.stringify(url)},{redirect:"manual",signal:AbortSignal.timeout(4000)}).then(r=>process.exit(r.status<400?0:1),()=>process.exit(1))`;
    return ["CMD", "node", "-e", script];
}

/** Returns a health check run by `python3` (standard library only), with a 4-second request timeout. */
export function pythonHttpHealthCheckTest(port: number, path: string): string[] {
    const url = checkTarget(port, path);
    // urlopen raises on 4xx and 5xx answers and on connection errors, so the exit status is 1.
    const script = `import urllib.request; urllib.request.urlopen(${JSON.stringify(url)}, timeout=4)`;
    return ["CMD", "python3", "-c", script];
}

/** Returns a health check run by `wget`, which exits non-zero on connection errors and 4xx or 5xx answers. */
export function wgetHealthCheckTest(port: number, path: string): string[] {
    const url = checkTarget(port, path);
    return ["CMD", "wget", "-q", "-T", "4", "-O", "/dev/null", url];
}

/**
 * Returns the health check of the PostgreSQL container: the api's role signs
 * in over TCP with the password from the container's environment, as the api
 * will, so the check passes only after the entrypoint has applied the current
 * passwords and created the database. The shell expands the password variable,
 * so the password never appears in the container's configuration.
 */
export function postgresHealthCheckTest(input: { role: string; database: string; passwordEnv: string; port: number }): string[] {
    for (const [name, value] of Object.entries({ role: input.role, database: input.database, passwordEnv: input.passwordEnv })) {
        if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(value)) {
            throw new Error(`${name} must be an identifier of letters, digits and _ (received "${value}").`);
        }
    }
    if (!Number.isInteger(input.port) || input.port < 1 || input.port > 65535) {
        throw new Error(`port must be an integer from 1 to 65535 (received ${input.port}).`);
    }
    return [
        "CMD-SHELL",
        `PGPASSWORD="$${input.passwordEnv}" psql --no-psqlrc --no-password --quiet --host=127.0.0.1 --port=${input.port} ` +
            `--username=${input.role} --dbname=${input.database} --tuples-only --command='SELECT 1' >/dev/null`,
    ];
}
