import * as cloudflare from "@pulumi/cloudflare";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { serviceUrl } from "../services";

/** The service of the last ingress rule: cloudflared returns 404 for every request no other rule matches. */
export const catchAllIngressService = "http_status:404";

/** The Access check cloudflared makes before it forwards a request to the origin. */
export interface TunnelAccessCheck {
    /** The audience tag of the Access application that guards the hostname. */
    audTag: pulumi.Input<string>;
    /** The Zero Trust team name; cloudflared trusts tokens issued by `https://<team>.cloudflareaccess.com`. */
    teamName: pulumi.Input<string>;
}

export interface CloudflareTunnelArgs {
    /** The Cloudflare account the tunnel is created in. */
    accountId: pulumi.Input<string>;
    /** The zone that contains `hostname`; the DNS record is created in it. */
    zoneId: pulumi.Input<string>;
    /** The public hostname routed through the tunnel, for example `netos.xiberian.net`. */
    hostname: string;
    /** The tunnel's name in the Cloudflare account; unique within the account. */
    tunnelName: string;
    /** Opaque value; changing it generates a new tunnel secret, and with it a new connector token. */
    secretRotation: string;
    /**
     * When set, cloudflared rejects every request to the hostname that lacks a
     * valid Access token for this application. Default: no check at the origin.
     */
    access?: TunnelAccessCheck;
}

/**
 * A remotely managed Cloudflare Tunnel for the public hostname: its ingress
 * (the hostname to the SSO proxy, then a 404 catch-all), the proxied DNS
 * record that points the hostname at it, and the token the connector runs with.
 */
export class CloudflareTunnel extends pulumi.ComponentResource {
    /** The tunnel's UUID. */
    public readonly tunnelId: pulumi.Output<string>;
    /** The CNAME target of the hostname, `<tunnel id>.cfargotunnel.com`. */
    public readonly cnameTarget: pulumi.Output<string>;
    /** The token cloudflared runs the tunnel with (`TUNNEL_TOKEN`); a Pulumi secret. */
    public readonly connectorToken: pulumi.Output<string>;

    constructor(name: string, args: CloudflareTunnelArgs, opts?: pulumi.ComponentResourceOptions) {
        super("netos:cloudflare:Tunnel", name, {}, opts);

        // Cloudflare requires at least 32 random bytes, base64 encoded. The
        // provider marks `base64` secret; the keeper replaces it on rotation.
        const secret = new random.RandomBytes(`${name}-secret`, { length: 32, keepers: { rotation: args.secretRotation } }, { parent: this });

        const tunnel = new cloudflare.ZeroTrustTunnelCloudflared(
            `${name}-tunnel`,
            {
                accountId: args.accountId,
                name: args.tunnelName,
                // "cloudflare": the ingress below lives in Cloudflare, so cloudflared needs only the token.
                configSrc: "cloudflare",
                tunnelSecret: pulumi.secret(secret.base64),
            },
            // Cloudflare rejects a second tunnel with the same name in an account
            // (API error 1013), so a replacement deletes the old tunnel first.
            { parent: this, deleteBeforeReplace: true },
        );

        const access = args.access;
        new cloudflare.ZeroTrustTunnelCloudflaredConfig(
            `${name}-config`,
            {
                accountId: args.accountId,
                tunnelId: tunnel.id,
                source: "cloudflare",
                config: {
                    // cloudflared matches the rules in order; the last must match everything.
                    ingresses: [
                        {
                            hostname: args.hostname,
                            service: serviceUrl("ssoProxy"),
                            originRequest: access ? { access: { required: true, audTags: [access.audTag], teamName: access.teamName } } : undefined,
                        },
                        { service: catchAllIngressService },
                    ],
                },
            },
            { parent: this },
        );

        const cnameTarget = pulumi.interpolate`${tunnel.id}.cfargotunnel.com`;
        new cloudflare.DnsRecord(
            `${name}-dns`,
            {
                zoneId: args.zoneId,
                name: args.hostname,
                type: "CNAME",
                content: cnameTarget,
                // Proxied, so requests pass Cloudflare's edge and Access; ttl 1 means automatic.
                proxied: true,
                ttl: 1,
                comment: `NetOS tunnel ${args.tunnelName}, managed by Pulumi`,
            },
            { parent: this },
        );

        // Reading the token after the tunnel's own update returns the token of a
        // rotated secret. The provider returns it in plain text, so it is wrapped as a secret.
        const token = cloudflare.getZeroTrustTunnelCloudflaredTokenOutput(
            { accountId: args.accountId, tunnelId: tunnel.id },
            { parent: this, dependsOn: [tunnel] },
        );

        this.tunnelId = tunnel.id;
        this.cnameTarget = cnameTarget;
        this.connectorToken = pulumi.secret(token.token);

        this.registerOutputs({
            tunnelId: this.tunnelId,
            cnameTarget: this.cnameTarget,
            connectorToken: this.connectorToken,
        });
    }
}
