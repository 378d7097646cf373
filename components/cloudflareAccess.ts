import * as azuread from "@pulumi/azuread";
import * as cloudflare from "@pulumi/cloudflare";
import * as pulumi from "@pulumi/pulumi";
import { GraphDelegatedScope } from "../graphPermissions";

/**
 * Delegated Microsoft Graph permissions Cloudflare Access needs, beyond the
 * sign-in scopes, to read a user's group memberships for Entra group rules
 * (Cloudflare One documentation, "Microsoft Entra ID" integration).
 */
export const accessGraphScopes: readonly GraphDelegatedScope[] = ["Directory.Read.All", "GroupMember.Read.All"];

/** Returns the team domain, `<team>.cloudflareaccess.com`. */
export function accessTeamDomain(teamName: string): string {
    return `${teamName}.cloudflareaccess.com`;
}

/** Returns the redirect URI Entra ID sends Access sign-ins back to. */
export function accessCallbackUrl(teamName: string): string {
    return `https://${accessTeamDomain(teamName)}/cdn-cgi/access/callback`;
}

/** An Access identity provider that the program creates on the NetOS Entra application. */
export interface CreatedIdentityProvider {
    /** The Entra tenant (directory) id. */
    tenantId: string;
    /** The Entra application's resource id, `/applications/<object id>`; the new client secret is added to it. */
    applicationId: pulumi.Input<string>;
    /** The Entra application's client id. */
    clientId: pulumi.Input<string>;
    /** How long each client secret is valid, in days; at most 365. */
    clientSecretValidityDays: number;
    /** Opaque value; changing it creates a new client secret before the old one is deleted. */
    clientSecretRotation: string;
}

export interface CloudflareAccessArgs {
    /** The Cloudflare account the Access resources are created in. */
    accountId: pulumi.Input<string>;
    /** The public hostname the Access application guards. */
    hostname: string;
    /** The Access application's name, shown in Zero Trust and on the block page. */
    applicationName: string;
    /** Entra group object ids; members of any of them are admitted. Must not be empty. */
    groupObjectIds: pulumi.Input<string[]>;
    /**
     * The Entra ID identity provider: the id of an existing one, or the settings
     * to create one that signs in with the NetOS Entra application.
     */
    identityProvider: { existingId: string } | { create: CreatedIdentityProvider };
}

/**
 * Cloudflare Access on the public hostname: a self-hosted application that
 * redirects straight to Entra ID and a reusable allow policy that admits only
 * members of the given Entra groups.
 *
 * Pass the `azuread` provider in `opts.providers` when the identity provider is created.
 */
export class CloudflareAccess extends pulumi.ComponentResource {
    /** The Access application's audience tag (`aud`), which cloudflared checks at the origin. */
    public readonly audTag: pulumi.Output<string>;
    /** The Access application's id. */
    public readonly applicationId: pulumi.Output<string>;
    /** The identity provider's id, created or given. */
    public readonly identityProviderId: pulumi.Output<string>;
    /** The reusable allow policy's id. */
    public readonly policyId: pulumi.Output<string>;

    constructor(name: string, args: CloudflareAccessArgs, opts?: pulumi.ComponentResourceOptions) {
        super("netos:cloudflare:Access", name, {}, opts);

        const identityProviderId =
            "existingId" in args.identityProvider
                ? pulumi.output(args.identityProvider.existingId)
                : this.createIdentityProvider(name, args.accountId, args.identityProvider.create);

        const policy = new cloudflare.ZeroTrustAccessPolicy(
            `${name}-policy`,
            {
                accountId: args.accountId,
                name: `${args.applicationName}: Entra groups`,
                decision: "allow",
                // One rule per group; Access admits a user who matches any include.
                includes: pulumi
                    .all([args.groupObjectIds, identityProviderId])
                    .apply(([groups, idpId]) => unique(groups).map((id) => ({ azureAd: { id, identityProviderId: idpId } }))),
            },
            { parent: this },
        );

        const application = new cloudflare.ZeroTrustAccessApplication(
            `${name}-app`,
            {
                accountId: args.accountId,
                name: args.applicationName,
                type: "self_hosted",
                domain: args.hostname,
                // `destinations` lists the hostnames Access protects and `domain` is the one
                // the App Launcher shows, so both name the hostname.
                destinations: [{ type: "public", uri: args.hostname }],
                allowedIdps: [identityProviderId],
                // One identity provider and auto-redirect: users see only the Entra sign-in.
                autoRedirectToIdentity: true,
                appLauncherVisible: false,
                policies: [{ id: policy.id, precedence: 1 }],
            },
            { parent: this },
        );

        this.audTag = application.aud;
        this.applicationId = application.id;
        this.identityProviderId = identityProviderId;
        this.policyId = policy.id;

        this.registerOutputs({
            audTag: this.audTag,
            applicationId: this.applicationId,
            identityProviderId: this.identityProviderId,
            policyId: this.policyId,
        });
    }

    private createIdentityProvider(name: string, accountId: pulumi.Input<string>, settings: CreatedIdentityProvider): pulumi.Output<string> {
        const password = new azuread.ApplicationPassword(
            `${name}-idp-password`,
            {
                applicationId: settings.applicationId,
                displayName: "Cloudflare Access",
                // NOTE: endDateRelative is deprecated, but a fixed endDate computed
                // here would change on every run and replace the secret.
                endDateRelative: `${settings.clientSecretValidityDays * 24}h`,
                rotateWhenChanged: { rotation: settings.clientSecretRotation },
            },
            // Create-before-delete (the default) updates the identity provider
            // with the new secret before Entra deletes the old one.
            { parent: this, additionalSecretOutputs: ["value"] },
        );

        const identityProvider = new cloudflare.ZeroTrustAccessIdentityProvider(
            `${name}-idp`,
            {
                accountId,
                name: "Microsoft Entra ID (NetOS)",
                type: "azureAD",
                config: {
                    clientId: settings.clientId,
                    clientSecret: pulumi.secret(password.value),
                    directoryId: settings.tenantId,
                    // Needed for the group rules of the policy.
                    supportGroups: true,
                },
            },
            { parent: this },
        );
        return identityProvider.id;
    }
}

function unique(values: readonly string[]): string[] {
    return values.filter((value, index) => values.indexOf(value) === index);
}
