import * as azuread from "@pulumi/azuread";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { isGuid } from "../config/validators";
import { graphDelegatedScopeIds, GraphDelegatedScope, microsoftGraphAppId, signInScopes } from "../graphPermissions";

/** Days before the client secret's expiry from which every preview warns. */
export const clientSecretWarningDays = 30;

export interface EntraApplicationArgs {
    /** The app registration's display name, shown on the consent and My Apps pages. */
    displayName: string;
    /**
     * Every web redirect URI of the application. This list is the only place
     * redirect URIs are managed: the OAuth2-Proxy callback, and the Cloudflare
     * Access callback when the program creates the Access identity provider.
     */
    redirectUris: pulumi.Input<string>[];
    /** App role values, for example `exec`; Entra puts the user's roles in the ID token's `roles` claim. */
    appRoles: readonly string[];
    /**
     * Groups assigned to each app role, keyed by role value. A group is an object
     * id (GUID) or a display name, which is looked up in the tenant.
     */
    roleGroups: Readonly<Record<string, readonly string[]>>;
    /** How long each client secret is valid, in days; at most 365. */
    clientSecretValidityDays: number;
    /** Opaque value; changing it creates a new client secret before the old one is deleted. */
    clientSecretRotation: string;
    /**
     * Delegated Microsoft Graph permissions beyond those sign-in needs, granted
     * with admin consent; Cloudflare Access needs group reads for group rules.
     * Default: none.
     */
    extraGraphScopes?: readonly GraphDelegatedScope[];
}

/**
 * The Entra ID app registration NetOS signs in with: single tenant, app roles
 * assigned to groups, assignment required, and a client secret for OAuth2-Proxy.
 */
export class EntraApplication extends pulumi.ComponentResource {
    /** The application's client id, the OIDC `aud` of its ID tokens. */
    public readonly clientId: pulumi.Output<string>;
    /** The application's object id. */
    public readonly objectId: pulumi.Output<string>;
    /** The service principal (enterprise application) object id. */
    public readonly servicePrincipalObjectId: pulumi.Output<string>;
    /** The client secret for OAuth2-Proxy; a Pulumi secret. */
    public readonly clientSecret: pulumi.Output<string>;
    /** When the client secret expires, RFC 3339. */
    public readonly clientSecretExpiresAt: pulumi.Output<string>;
    /** The registered web redirect URIs. */
    public readonly redirectUris: pulumi.Output<string[]>;
    /** The object ids of the groups assigned to each app role, keyed by role value. */
    public readonly roleGroupObjectIds: pulumi.Output<Record<string, string[]>>;

    constructor(name: string, args: EntraApplicationArgs, opts?: pulumi.ComponentResourceOptions) {
        super("netos:entra:Application", name, {}, opts);

        const client = azuread.getClientConfigOutput({ parent: this });
        const owners = [client.objectId];

        // Entra needs a stable id for each role; a random UUID keyed by the role
        // value keeps it when roles are reordered, added or removed.
        const roleIds: Record<string, pulumi.Output<string>> = {};
        for (const role of args.appRoles) {
            roleIds[role] = new random.RandomUuid(`${name}-role-${role}`, { keepers: { role } }, { parent: this }).result;
        }

        const scopes = [...signInScopes, ...(args.extraGraphScopes ?? [])].filter((scope, index, all) => all.indexOf(scope) === index);

        const application = new azuread.Application(
            `${name}-app`,
            {
                displayName: args.displayName,
                signInAudience: "AzureADMyOrg",
                owners,
                appRoles: args.appRoles.map((role) => ({
                    id: roleIds[role],
                    value: role,
                    displayName: role,
                    description: `NetOS role ${role}`,
                    allowedMemberTypes: ["User"],
                    enabled: true,
                })),
                // No groups claim: the roles claim carries authorization, and a
                // groups claim for users in many groups would be replaced by an
                // overage pointer that OAuth2-Proxy resolves through Microsoft Graph.
                groupMembershipClaims: ["None"],
                // Users without a mail attribute get no `email` claim; `upn` and the
                // default `preferred_username` still identify them.
                optionalClaims: {
                    idTokens: [
                        { name: "email", essential: false },
                        { name: "upn", essential: false },
                    ],
                },
                api: { requestedAccessTokenVersion: 2 },
                web: { implicitGrant: { accessTokenIssuanceEnabled: false, idTokenIssuanceEnabled: false } },
                requiredResourceAccesses: [
                    {
                        resourceAppId: microsoftGraphAppId,
                        resourceAccesses: scopes.map((scope) => ({ id: graphDelegatedScopeIds[scope], type: "Scope" })),
                    },
                ],
            },
            // ApplicationRedirectUris below owns the redirect URIs; without this,
            // every update of the application would clear them.
            { parent: this, ignoreChanges: ["web.redirectUris"] },
        );

        const redirectUris = new azuread.ApplicationRedirectUris(
            `${name}-redirect-uris`,
            { applicationId: application.id, type: "Web", redirectUris: args.redirectUris },
            { parent: this },
        );

        const servicePrincipal = new azuread.ServicePrincipal(
            `${name}-sp`,
            { clientId: application.clientId, appRoleAssignmentRequired: true, owners },
            { parent: this },
        );

        // Admin consent for the delegated scopes, so users never see a consent prompt.
        const graph = azuread.getServicePrincipalOutput({ clientId: microsoftGraphAppId }, { parent: this });
        new azuread.ServicePrincipalDelegatedPermissionGrant(
            `${name}-graph-consent`,
            {
                servicePrincipalObjectId: servicePrincipal.objectId,
                resourceServicePrincipalObjectId: graph.objectId,
                claimValues: scopes.map((scope) => scope),
            },
            { parent: this },
        );

        const roleGroupObjectIds: Record<string, pulumi.Output<string>[]> = {};
        for (const role of args.appRoles) {
            roleGroupObjectIds[role] = [];
            for (const group of args.roleGroups[role] ?? []) {
                const groupObjectId = isGuid(group)
                    ? pulumi.output(group.toLowerCase())
                    : azuread.getGroupOutput({ displayName: group, securityEnabled: true }, { parent: this }).objectId;
                roleGroupObjectIds[role].push(groupObjectId);
                new azuread.AppRoleAssignment(
                    `${name}-assign-${role}-${resourceKey(group)}`,
                    { appRoleId: roleIds[role], principalObjectId: groupObjectId, resourceObjectId: servicePrincipal.objectId },
                    { parent: this },
                );
            }
        }

        const password = new azuread.ApplicationPassword(
            `${name}-client-secret`,
            {
                applicationId: application.id,
                displayName: "OAuth2-Proxy",
                // NOTE: endDateRelative is deprecated in favour of endDate, but a fixed
                // endDate computed here would drift on every run and replace the secret.
                endDateRelative: `${args.clientSecretValidityDays * 24}h`,
                rotateWhenChanged: { rotation: args.clientSecretRotation },
            },
            // The default create-before-delete order lets the new secret reach
            // OAuth2-Proxy before Entra deletes the old one.
            { parent: this, additionalSecretOutputs: ["value"] },
        );

        password.endDate.apply((endDate) => warnIfExpiring(endDate, this));

        this.clientId = application.clientId;
        this.objectId = application.objectId;
        this.servicePrincipalObjectId = servicePrincipal.objectId;
        this.clientSecret = pulumi.secret(password.value);
        this.clientSecretExpiresAt = password.endDate;
        this.redirectUris = redirectUris.redirectUris;
        this.roleGroupObjectIds = pulumi.output(roleGroupObjectIds);

        this.registerOutputs({
            clientId: this.clientId,
            objectId: this.objectId,
            servicePrincipalObjectId: this.servicePrincipalObjectId,
            clientSecret: this.clientSecret,
            clientSecretExpiresAt: this.clientSecretExpiresAt,
            redirectUris: this.redirectUris,
            roleGroupObjectIds: this.roleGroupObjectIds,
        });
    }
}

/** Returns the whole days from `now` until an RFC 3339 date, rounded down. */
export function daysUntil(isoDate: string, now: Date = new Date()): number {
    return Math.floor((Date.parse(isoDate) - now.getTime()) / 86_400_000);
}

function warnIfExpiring(endDate: string | undefined, resource: pulumi.Resource): void {
    if (!endDate || Number.isNaN(Date.parse(endDate))) {
        return;
    }
    const days = daysUntil(endDate);
    if (days < clientSecretWarningDays) {
        pulumi.log.warn(
            `The Entra client secret expires on ${endDate} (${days} days from now). ` +
                "Rotate it: change netos:rotation.clientSecret and run pulumi up.",
            resource,
        );
    }
}

/** Turns a group reference into a stable, URN-safe key. */
function resourceKey(group: string): string {
    return group.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "");
}
