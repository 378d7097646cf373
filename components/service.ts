import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";

/** One Docker network a container joins, with the names other containers find it by there. */
export interface ServiceNetwork {
    /** The Docker network's name. */
    name: pulumi.Input<string>;
    /** DNS aliases of the container on that network, e.g. `["web"]`. */
    aliases: string[];
}

/** A Docker health check; durations in seconds. */
export interface ServiceHealthCheck {
    /** The test, `["CMD", ...]` or `["CMD-SHELL", "..."]`. */
    test: string[];
    /** Seconds between checks. */
    intervalSeconds: number;
    /** Seconds one check may take. */
    timeoutSeconds: number;
    /** Consecutive failures that mark the container unhealthy. */
    retries: number;
    /** Seconds after start during which failures do not count. */
    startPeriodSeconds: number;
}

export interface ServiceArgs {
    /** Image reference to pull, pinned to a tag other than `latest` or to a digest. */
    image: string;
    /** Networks the container joins; an empty list is rejected, so no container lands on Docker's default bridge. */
    networks: ServiceNetwork[];
    /** Environment as `NAME=value` strings; pass values that hold secrets as Pulumi secrets. Default: none. */
    envs?: pulumi.Input<pulumi.Input<string>[]>;
    /** Arguments passed to the image's entrypoint. Default: the image's command. */
    command?: pulumi.Input<pulumi.Input<string>[]>;
    /** Replaces the image's entrypoint. Default: the image's. */
    entrypoint?: string[];
    /** Files written into the container before it starts; pass contents that hold secrets as Pulumi secrets. Default: none. */
    uploads?: pulumi.Input<docker.types.input.ContainerUpload>[];
    /** Named volumes mounted into the container. Default: none. */
    volumes?: { volumeName: pulumi.Input<string>; containerPath: string }[];
    /** Ports published on the Docker host; each must name a loopback `ip`. Default: none. */
    ports?: { internal: number; external: number; ip: string }[];
    /** The health check; `pulumi up` waits until it passes before creating dependent services. */
    healthCheck: ServiceHealthCheck;
    /** Seconds `pulumi up` waits for the new container to become healthy. */
    healthyTimeoutSeconds: number;
    /** Memory limit in MiB; swap is limited to the same amount, so the container cannot swap. */
    memoryMb: number;
    /** Docker restart policy: `always`, `unless-stopped`, `on-failure` or `no`. */
    restartPolicy: string;
    /** json-file log rotation: the size of one file in Docker size syntax, e.g. `10m`. */
    logMaxSize: string;
    /** json-file log rotation: the number of log files kept, the current one included. */
    logMaxFiles: number;
    /** Seconds the container gets to stop cleanly before Docker kills it, on replacement and deletion. */
    stopGraceSeconds: number;
    /** Signal Docker sends to stop the main process. Default: the image's. */
    stopSignal?: string;
    /**
     * Stop the old container before the new one starts, for servers that must
     * never share their data volume. Default: false, so the replacement starts
     * (and turns healthy) before the old container stops.
     */
    stopBeforeReplace?: boolean;
    /** Services that must be healthy before this one is created. Default: none. */
    startAfter?: pulumi.Resource[];
    /** Resources the container needs besides its inputs, such as an adopted volume's read. Default: none. */
    needs?: pulumi.Resource[];
    /** Docker labels of the container, e.g. `netos.service`. Default: none. */
    labels?: Record<string, string>;
}

/**
 * One long-running container of the origin and the image it runs: the image is
 * pulled by a pinned reference, and the container runs it by image id, so a
 * new pin replaces the container. The container name is generated from the
 * resource name plus a random suffix, so a replacement never collides with its
 * predecessor and stacks sharing a host never collide.
 */
export class Service extends pulumi.ComponentResource {
    /** The generated container name, unique on the Docker host. */
    public readonly containerName: pulumi.Output<string>;
    /** The id of the image the container runs. */
    public readonly imageId: pulumi.Output<string>;

    constructor(name: string, args: ServiceArgs, opts?: pulumi.ComponentResourceOptions) {
        super("netos:docker:Service", name, {}, opts);

        if (args.networks.length === 0) {
            throw new Error(`Service ${name} has no network: give it at least one, so it never runs on Docker's default bridge network.`);
        }
        for (const port of args.ports ?? []) {
            if (!port.ip.startsWith("127.") && port.ip !== "::1") {
                throw new Error(`Service ${name} publishes port ${port.internal} on "${port.ip}": publish only on a loopback address such as 127.0.0.1.`);
            }
        }

        const image = new docker.RemoteImage(
            `${name}-image`,
            // keepLocally: a running container of the previous pin keeps its image until it is replaced.
            { name: args.image, keepLocally: true },
            { parent: this },
        );

        const labels = args.labels ?? {};
        const container = new docker.Container(
            `${name}-container`,
            {
                image: image.imageId,
                envs: args.envs,
                command: args.command,
                entrypoints: args.entrypoint,
                uploads: args.uploads,
                volumes: args.volumes,
                ports: args.ports,
                networksAdvanced: args.networks.map((network) => ({ name: network.name, aliases: network.aliases })),
                healthcheck: {
                    tests: args.healthCheck.test,
                    interval: `${args.healthCheck.intervalSeconds}s`,
                    timeout: `${args.healthCheck.timeoutSeconds}s`,
                    retries: args.healthCheck.retries,
                    startPeriod: `${args.healthCheck.startPeriodSeconds}s`,
                },
                wait: true,
                waitTimeout: args.healthyTimeoutSeconds,
                memory: args.memoryMb,
                memorySwap: args.memoryMb,
                restart: args.restartPolicy,
                logDriver: "json-file",
                logOpts: { "max-size": args.logMaxSize, "max-file": String(args.logMaxFiles) },
                // Without a grace period the provider removes a running container by force (SIGKILL).
                destroyGraceSeconds: args.stopGraceSeconds,
                stopTimeout: args.stopGraceSeconds,
                stopSignal: args.stopSignal,
                // Named volumes are never removed with the container; this only spares the image's anonymous ones.
                removeVolumes: !args.stopBeforeReplace,
                labels: Object.entries(labels).map(([label, value]) => ({ label, value })),
                // No process gains privileges through setuid binaries; the images drop root with gosu or su-exec, which need none.
                securityOpts: ["no-new-privileges:true"],
            },
            {
                parent: this,
                deleteBeforeReplace: args.stopBeforeReplace ?? false,
                dependsOn: [...(args.startAfter ?? []), ...(args.needs ?? [])],
            },
        );

        this.containerName = container.name;
        this.imageId = image.imageId;
        this.registerOutputs({ containerName: this.containerName, imageId: this.imageId });
    }
}
