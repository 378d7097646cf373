/**
 * Locations of the real programs the tests run on loopback. Each function
 * returns an absolute path, or throws naming the set-up command when the
 * program is missing.
 */
import { accessSync, constants, readdirSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

const setupHint = "run `bash scripts/setup.sh` to install the test programs";

function requireExecutable(file: string, programName: string): string {
    try {
        accessSync(file, constants.X_OK);
    } catch {
        throw new Error(`${programName} not found or not executable at ${file}; ${setupHint}.`);
    }
    return file;
}

/** Directory scripts/setup.sh builds the Go programs into: `${XDG_CACHE_HOME:-$HOME/.cache}/netos-infra/gobin`. */
export function goBinDir(): string {
    const cacheHome = process.env["XDG_CACHE_HOME"] || path.join(os.homedir(), ".cache");
    return path.join(cacheHome, "netos-infra", "gobin");
}

/** Path of the OAuth2-Proxy binary built by scripts/setup.sh. */
export function oauth2ProxyBinary(): string {
    return requireExecutable(path.join(goBinDir(), "oauth2-proxy"), "OAuth2-Proxy");
}

/** Path of Debian's Nginx (package `nginx`). */
export function nginxBinary(): string {
    return requireExecutable("/usr/sbin/nginx", "Nginx");
}

/** Path of Debian's Redis server (package `redis-server`). */
export function redisServerBinary(): string {
    return requireExecutable("/usr/bin/redis-server", "redis-server");
}

/**
 * Directory of the PostgreSQL server programs (`initdb`, `postgres`, `pg_ctl`):
 * the highest version under /usr/lib/postgresql, 15 on Debian 12.
 */
export function postgresBinDir(): string {
    const root = "/usr/lib/postgresql";
    let versions: string[] = [];
    try {
        versions = readdirSync(root).filter((name) => /^[0-9]+$/.test(name));
    } catch {
        // Reported below as missing.
    }
    if (versions.length === 0) {
        throw new Error(`PostgreSQL server programs not found under ${root}; ${setupHint}.`);
    }
    const newest = versions.sort((a, b) => Number(b) - Number(a))[0] as string;
    const binDir = path.join(root, newest, "bin");
    requireExecutable(path.join(binDir, "initdb"), "PostgreSQL initdb");
    requireExecutable(path.join(binDir, "postgres"), "PostgreSQL server");
    return binDir;
}
