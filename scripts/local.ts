/**
 * `npm run local`: runs the sign-in chain on this machine for a browser.
 *
 * Starts the same chain as the end-to-end tests, all on 127.0.0.1. OAuth2-Proxy
 * v7.15.6, Nginx and Redis run with the generated configuration. A stand-in for
 * Entra ID offers a page to pick a test user, and stub web and API apps show
 * who is signed in. There is no TLS, so the public origin is
 * http://127.0.0.1:<port> and the session cookie is not Secure. Production
 * defaults are unchanged. Stops everything on Ctrl-C or SIGTERM.
 *
 * Usage: npm run local [-- --port 4180]
 */
import { Chain } from "../tests/support/chain";
import { testUsers } from "../tests/support/oidcIssuer";

function parsePort(args: readonly string[]): number | undefined {
    const index = args.indexOf("--port");
    if (index < 0) {
        return undefined;
    }
    const value = args[index + 1] ?? "";
    const port = Number(value);
    if (!/^[0-9]+$/.test(value) || port < 1 || port > 65535) {
        throw new Error(`invalid --port "${value}": expected a TCP port from 1 to 65535, e.g. --port 4180`);
    }
    return port;
}

function describeRoles(roles: readonly string[]): string {
    if (roles.length === 0) {
        return "no role: sign-in is rejected";
    }
    if (roles.length > 3) {
        return `${roles.length} roles, an ID token of about 20 KB`;
    }
    return roles.join(", ");
}

async function main(): Promise<void> {
    const proxyPort = parsePort(process.argv.slice(2));
    const chain = await Chain.start({ mode: "local", ...(proxyPort === undefined ? {} : { proxyPort }) });

    let stopping = false;
    const stop = (signal: NodeJS.Signals): void => {
        if (stopping) {
            return;
        }
        stopping = true;
        console.log(`\nlocal: ${signal} received, stopping the chain`);
        chain.stop().then(
            () => process.exit(0),
            (error: unknown) => {
                console.error(`local: stopping failed: ${String(error)}`);
                process.exit(1);
            },
        );
    };
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);

    console.log(`local: the NetOS sign-in chain runs on 127.0.0.1 (logs in ${chain.dir})`);
    console.log(`local: open ${chain.publicOrigin}/ in a browser on this machine`);
    console.log("local: the stand-in for Entra ID offers these test users:");
    for (const user of testUsers) {
        const mail = user.email === undefined ? ", no mail attribute" : "";
        console.log(`  ${user.key.padEnd(12)} ${user.preferredUsername} (${describeRoles(user.roles)}${mail})`);
    }
    console.log(`local: sign out at ${chain.publicOrigin}/oauth2/sign_out; press Ctrl-C to stop`);
}

main().catch((error: unknown) => {
    console.error(`local: failed to start the chain: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
});
