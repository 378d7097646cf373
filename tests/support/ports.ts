import * as net from "node:net";

/**
 * Returns a TCP port that was free on 127.0.0.1 when checked. Another process
 * could take it before the caller binds it, so use it at once.
 */
export async function freePort(): Promise<number> {
    const server = net.createServer();
    await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(0, "127.0.0.1", () => resolve());
    });
    const port = (server.address() as net.AddressInfo).port;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    return port;
}
