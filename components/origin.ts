import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { OriginConfig, OriginService } from "../config/origin";
import { cloudflaredCommand, cloudflaredHealthCheckTest, cloudflaredTokenEnv } from "../generated/cloudflared";
import { nodeHttpHealthCheckTest, postgresHealthCheckTest, pythonHttpHealthCheckTest, wgetHealthCheckTest } from "../generated/healthChecks";
import { nginxHealthPath, renderNginxConfig } from "../generated/nginx";
import { oauth2ProxyArgs, oauth2ProxyPingPath, oauth2ProxySecretEnv } from "../generated/oauth2Proxy";
import { postgresApiUrl, postgresEntrypointPath, postgresEntrypointScript, postgresEnv, postgresStopSignal } from "../generated/postgres";
import { redisApiUser, redisCliAuthEnv, redisConfigPath, redisHealthCheckTest, renderRedisConfig } from "../generated/redis";
import { services } from "../services";
import { Service, ServiceHealthCheck, ServiceNetwork } from "./service";
import { OriginSecrets } from "./originSecrets";

/** Docker's embedded DNS server, which every container on a user-defined network can query. */
export const dockerDnsServer = "127.0.0.11";

/** The Docker volume label that marks PostgreSQL and Redis data volumes. */
export const dataVolumeLabel = "netos.data-volume";

/** The official postgres image's data directory (PGDATA). */
const postgresDataPath = "/var/lib/postgresql/data";

/** The official redis image's data directory. */
const redisDataPath = "/data";

export interface OriginArgs {
    /** The validated origin settings: images, networks, volumes, limits, env names. */
    settings: OriginConfig;
    /** The stack name, written into every Docker label `netos.stack`. */
    stack: string;
    /** Public origin users browse to, e.g. `https://netos.xiberian.net`; the OIDC redirect URL derives from it. */
    publicOrigin: string;
    /** Entra ID tenant id: the OIDC issuer and the only accepted tenant. */
    tenantId: string;
    /** App roles that may sign in; a user needs at least one. */
    allowedRoles: readonly string[];
    /** Client id of the Entra application. */
    entraClientId: pulumi.Input<string>;
    /** Client secret of the Entra application; must be a Pulumi secret. */
    entraClientSecret: pulumi.Input<string>;
    /** cloudflared's connector token for the tunnel; must be a Pulumi secret. */
    tunnelToken: pulumi.Input<string>;
    /** `netos:rotation` values of the secrets the origin generates. */
    rotation: { cookieSecret: string; postgresPassword: string; redisPassword: string };
}

/**
 * The NetOS origin on one Docker host: seven containers on six networks (eight
 * with `appEgress`), the PostgreSQL and Redis data volumes, and the generated
 * secrets. Only cloudflared and the SSO proxy share the `edge` network, which
 * has a route out. Every other network is internal, except the optional
 * egress networks of web and api.
 */
export class Origin extends pulumi.ComponentResource {
    /** The generated container name of each service. */
    public readonly containerNames: pulumi.Output<Record<OriginService, string>>;
    /** The Docker volume holding PostgreSQL's data. */
    public readonly postgresVolumeName: pulumi.Output<string>;
    /** The Docker volume holding Redis's data. */
    public readonly redisVolumeName: pulumi.Output<string>;

    constructor(name: string, args: OriginArgs, opts?: pulumi.ComponentResourceOptions) {
        super("netos:docker:Origin", name, {}, opts);
        const settings = args.settings;
        const stackLabel = { label: "netos.stack", value: args.stack };

        const secrets = new OriginSecrets(
            `${name}-secrets`,
            {
                cookieSecretRotation: args.rotation.cookieSecret,
                postgresPasswordRotation: args.rotation.postgresPassword,
                redisPasswordRotation: args.rotation.redisPassword,
            },
            { parent: this },
        );

        // --- Networks ---------------------------------------------------------
        // The label keeps the role without the app prefix, e.g. both egress networks are "egress".
        const network = (role: string, internal: boolean, subnet?: string) =>
            new docker.Network(
                `${name}-${role}`,
                {
                    driver: "bridge",
                    internal,
                    ipamConfigs: subnet === undefined ? undefined : [{ subnet }],
                    labels: [stackLabel, { label: "netos.network", value: role.replace(/^(web|api)-/, "") }],
                },
                { parent: this },
            );
        // cloudflared dials Cloudflare and OAuth2-Proxy redeems codes at Entra ID, so edge has a route out.
        // Its fixed subnet is what OAuth2-Proxy trusts X-Forwarded-* headers from.
        const edge = network("edge", false, settings.edgeSubnet);
        // Its fixed subnet is the only source Nginx accepts proxied requests from.
        const proxy = network("proxy", true, settings.proxySubnet);
        // Web and api each get their own network with Nginx, so web cannot send
        // identity headers to the api unless webCallsApi puts it on the api's network.
        const app = network("app", true);
        const apiNetwork = network("api", true);
        const data = network("data", true);
        // OAuth2-Proxy reaches Redis here, so it never shares a network with PostgreSQL.
        const sessions = network("sessions", true);
        // One egress network per app, so a shared network with a route out never connects web and api.
        const webEgress = settings.appEgress ? network("web-egress", false) : undefined;
        const apiEgress = settings.appEgress ? network("api-egress", false) : undefined;

        // --- Data volumes -----------------------------------------------------
        const postgresVolume = this.dataVolume(name, "postgres", settings, stackLabel);
        const redisVolume = this.dataVolume(name, "redis", settings, stackLabel);

        // --- Shared container settings ----------------------------------------
        const common = (service: OriginService) => ({
            memoryMb: settings.memoryLimitsMb[service],
            restartPolicy: settings.restartPolicy,
            logMaxSize: settings.logMaxSize,
            logMaxFiles: settings.logMaxFiles,
            healthyTimeoutSeconds: settings.healthyTimeoutSeconds,
            labels: { "netos.stack": args.stack, "netos.service": service },
        });
        const health = (test: string[], startPeriodSeconds: number): ServiceHealthCheck => ({
            test,
            intervalSeconds: settings.healthCheckIntervalSeconds,
            timeoutSeconds: 5,
            retries: 3,
            startPeriodSeconds,
        });
        const on = (target: docker.Network, aliases: string[] = []): ServiceNetwork => ({ name: target.name, aliases });

        // --- PostgreSQL -------------------------------------------------------
        const postgres = new Service(
            `${name}-postgres`,
            {
                ...common("postgres"),
                image: settings.images.postgres,
                networks: [on(data, [services.postgres.alias])],
                entrypoint: [postgresEntrypointPath],
                command: ["postgres"],
                envs: pulumi.secret(
                    pulumi.all([secrets.postgresSuperuserPassword, secrets.postgresApiPassword]).apply(([superuserPassword, apiPassword]) => [
                        `${postgresEnv.superuser}=postgres`,
                        `${postgresEnv.superuserPassword}=${superuserPassword}`,
                        `${postgresEnv.apiPassword}=${apiPassword}`,
                    ]),
                ),
                uploads: [
                    {
                        file: postgresEntrypointPath,
                        content: postgresEntrypointScript({ apiRole: settings.postgresApiRole, apiDatabase: settings.postgresDatabase }),
                        executable: true,
                    },
                ],
                volumes: [{ volumeName: postgresVolume.name, containerPath: postgresDataPath }],
                healthCheck: health(
                    postgresHealthCheckTest({
                        role: settings.postgresApiRole,
                        database: settings.postgresDatabase,
                        passwordEnv: postgresEnv.apiPassword,
                        port: services.postgres.port,
                    }),
                    // The first start on an empty volume runs initdb first.
                    60,
                ),
                stopSignal: postgresStopSignal,
                stopGraceSeconds: 60,
                // Two servers must never run on one data directory.
                stopBeforeReplace: true,
                needs: postgresVolume.needs,
            },
            { parent: this },
        );

        // --- Redis ------------------------------------------------------------
        const redisMaxMemoryMb = Math.floor(settings.memoryLimitsMb.redis * 0.75);
        const redis = new Service(
            `${name}-redis`,
            {
                ...common("redis"),
                image: settings.images.redis,
                networks: [on(data, [services.redis.alias]), on(sessions, [services.redis.alias])],
                command: ["redis-server", redisConfigPath],
                envs: pulumi.secret(secrets.redisPassword.apply((password) => [`${redisCliAuthEnv}=${password}`])),
                uploads: [
                    {
                        file: redisConfigPath,
                        content: pulumi.secret(
                            pulumi
                                .all([secrets.redisPassword, secrets.redisApiPassword])
                                .apply(([password, apiPassword]) => renderRedisConfig({ password, apiPassword, maxMemoryMb: redisMaxMemoryMb, appendOnly: settings.redisAppendOnly })),
                        ),
                        permissions: "0644",
                    },
                ],
                volumes: [{ volumeName: redisVolume.name, containerPath: redisDataPath }],
                healthCheck: health(redisHealthCheckTest(), 20),
                stopGraceSeconds: 30,
                // Two servers must never write one append-only file.
                stopBeforeReplace: true,
                needs: redisVolume.needs,
            },
            { parent: this },
        );

        // --- api and web ------------------------------------------------------
        const apiNames = settings.apiEnvNames;
        // The api signs in as its own Redis user, which cannot reach OAuth2-Proxy's sessions.
        const apiRedisUrl = (password: string) =>
            `redis://${redisApiUser}:${encodeURIComponent(password)}@${services.redis.alias}:${services.redis.port}/${settings.apiRedisDatabase}`;
        const api = new Service(
            `${name}-api`,
            {
                ...common("api"),
                image: settings.images.api,
                networks: [on(apiNetwork, [services.api.alias]), on(data), ...(apiEgress ? [on(apiEgress)] : [])],
                envs: pulumi.secret(
                    pulumi.all([secrets.postgresApiPassword, secrets.redisApiPassword]).apply(([databasePassword, redisPassword]) => [
                        `${apiNames.databaseUrl}=${postgresApiUrl({ password: databasePassword, apiRole: settings.postgresApiRole, apiDatabase: settings.postgresDatabase })}`,
                        `${apiNames.redisUrl}=${apiRedisUrl(redisPassword)}`,
                        `${apiNames.userHeader}=${settings.apiUserHeader}`,
                        `${apiNames.rolesHeader}=${settings.apiRolesHeader}`,
                        `${apiNames.publicUrl}=${args.publicOrigin}`,
                        ...Object.entries(settings.apiEnv).map(([key, value]) => `${key}=${value}`),
                    ]),
                ),
                healthCheck: health(pythonHttpHealthCheckTest(services.api.port, settings.apiHealthPath), 60),
                stopGraceSeconds: 20,
                startAfter: [postgres, redis],
            },
            { parent: this },
        );

        const web = new Service(
            `${name}-web`,
            {
                ...common("web"),
                image: settings.images.web,
                networks: [on(app, [services.web.alias]), ...(settings.webCallsApi ? [on(apiNetwork)] : []), ...(webEgress ? [on(webEgress)] : [])],
                envs: [`${settings.webEnvNames.publicUrl}=${args.publicOrigin}`, ...Object.entries(settings.webEnv).map(([key, value]) => `${key}=${value}`)],
                healthCheck: health(nodeHttpHealthCheckTest(services.web.port, settings.webHealthPath), 60),
                stopGraceSeconds: 20,
                startAfter: [postgres, redis],
            },
            { parent: this },
        );

        // --- Public proxy (Nginx) ---------------------------------------------
        const nginxConfig = renderNginxConfig({
            // Nginx re-resolves web and api through Docker's DNS, so a replaced
            // container's new address is used and a removed one is dropped.
            resolvers: [dockerDnsServer],
            apiUserHeader: settings.apiUserHeader,
            apiRolesHeader: settings.apiRolesHeader,
            // Only the SSO proxy, on the proxy network, may send requests.
            allowedSources: [settings.proxySubnet],
            publicOrigin: args.publicOrigin,
        });
        const publicProxy = new Service(
            `${name}-public-proxy`,
            {
                ...common("publicProxy"),
                image: settings.images.publicProxy,
                networks: [on(proxy, [services.publicProxy.alias]), on(app), on(apiNetwork)],
                envs: ["NGINX_ENTRYPOINT_QUIET_LOGS=1"],
                uploads: [{ file: "/etc/nginx/nginx.conf", content: nginxConfig, permissions: "0644" }],
                healthCheck: health(wgetHealthCheckTest(services.publicProxy.port, nginxHealthPath), 10),
                stopSignal: "SIGQUIT",
                stopGraceSeconds: 20,
                startAfter: [web, api],
            },
            { parent: this },
        );

        // --- SSO proxy (OAuth2-Proxy) -----------------------------------------
        const ssoProxyCommand = pulumi.output(args.entraClientId).apply((clientId) =>
            oauth2ProxyArgs({
                tenantId: args.tenantId,
                clientId,
                publicOrigin: args.publicOrigin,
                allowedRoles: args.allowedRoles,
                trustedProxyCidrs: [settings.edgeSubnet],
            }),
        );
        const debug = settings.ssoProxyDebugPublish;
        const ssoProxy = new Service(
            `${name}-sso-proxy`,
            {
                ...common("ssoProxy"),
                image: settings.images.ssoProxy,
                networks: [on(edge, [services.ssoProxy.alias]), on(proxy), on(sessions)],
                command: ssoProxyCommand,
                envs: pulumi.secret(
                    pulumi.all([args.entraClientSecret, secrets.cookieSecret, secrets.redisPassword]).apply(([clientSecret, cookieSecret, redisPassword]) => [
                        `${oauth2ProxySecretEnv.clientSecret}=${clientSecret}`,
                        `${oauth2ProxySecretEnv.cookieSecret}=${cookieSecret}`,
                        `${oauth2ProxySecretEnv.redisPassword}=${redisPassword}`,
                    ]),
                ),
                ports: debug === undefined ? undefined : [{ internal: services.ssoProxy.port, external: debug.port, ip: debug.ip }],
                // A published host port can be bound by one container at a time, so the replacement waits for the old one to stop.
                stopBeforeReplace: debug !== undefined,
                healthCheck: health(wgetHealthCheckTest(services.ssoProxy.port, oauth2ProxyPingPath), 10),
                stopGraceSeconds: 20,
                startAfter: [publicProxy, redis],
            },
            { parent: this },
        );

        // --- cloudflared ------------------------------------------------------
        const cloudflared = new Service(
            `${name}-cloudflared`,
            {
                ...common("cloudflared"),
                image: settings.images.cloudflared,
                networks: [on(edge)],
                // Metrics (and /ready) only on the container's loopback, where the health check runs.
                command: cloudflaredCommand({ metricsAddress: "127.0.0.1" }),
                envs: pulumi.secret(pulumi.output(args.tunnelToken).apply((token) => [`${cloudflaredTokenEnv}=${token}`])),
                healthCheck: health(cloudflaredHealthCheckTest(), 20),
                stopGraceSeconds: 30,
                startAfter: [ssoProxy],
            },
            { parent: this },
        );

        const byService: Record<OriginService, Service> = { cloudflared, ssoProxy, publicProxy, web, api, postgres, redis };
        this.containerNames = pulumi.all(
            Object.fromEntries(Object.entries(byService).map(([service, component]) => [service, component.containerName])),
        ) as pulumi.Output<Record<OriginService, string>>;
        this.postgresVolumeName = pulumi.output(postgresVolume.name);
        this.redisVolumeName = pulumi.output(redisVolume.name);

        this.registerOutputs({
            containerNames: this.containerNames,
            postgresVolumeName: this.postgresVolumeName,
            redisVolumeName: this.redisVolumeName,
        });
    }

    /**
     * Returns the data volume of a server: a new volume, protected and retained
     * on delete unless `allowDataVolumeDeletion` is set, or an existing volume
     * named in config. An existing volume is only read, never managed, so
     * `pulumi destroy` cannot delete it, and the read fails if it does not exist
     * instead of letting Docker create an empty one.
     */
    private dataVolume(
        name: string,
        server: "postgres" | "redis",
        settings: OriginConfig,
        stackLabel: { label: string; value: string },
    ): { name: pulumi.Input<string>; needs: pulumi.Resource[] } {
        const existing = server === "postgres" ? settings.postgresVolumeName : settings.redisVolumeName;
        if (existing !== undefined) {
            const adopted = docker.Volume.get(`${name}-${server}-data`, existing, undefined, { parent: this });
            // The configured name, not the read's output: the mount must be exactly the volume that contains the data.
            return { name: existing, needs: [adopted] };
        }
        const keep = !settings.allowDataVolumeDeletion;
        const volume = new docker.Volume(
            `${name}-${server}-data`,
            {
                driver: "local",
                labels: [stackLabel, { label: dataVolumeLabel, value: "true" }, { label: "netos.service", value: server }],
            },
            { parent: this, protect: keep, retainOnDelete: keep },
        );
        return { name: volume.name, needs: [] };
    }
}
