import * as azuread from "@pulumi/azuread";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { accessCallbackUrl, accessGraphScopes, CloudflareAccess } from "./components/cloudflareAccess";
import { CloudflareTunnel } from "./components/cloudflareTunnel";
import { EntraApplication } from "./components/entraApplication";
import { Origin } from "./components/origin";
import { loadConfig, lookupCloudflareTarget } from "./config";
import { oauth2CallbackUrl, publicOriginOf } from "./services";

// An async program, so the Cloudflare zone lookup finishes (or fails with a
// config error) before the first resource is registered.
export = async () => {
    // Everything is validated before the first resource is registered.
    const config = loadConfig();
    const cloudflareTarget = await lookupCloudflareTarget(config.entra.hostname, config.cloudflare);
    const publicOrigin = publicOriginOf(config.entra.hostname);

    // An explicit provider pins every Entra resource to the configured tenant,
    // whatever tenant the operator's credentials default to.
    const entraProvider = new azuread.Provider("entra", { tenantId: config.entra.tenantId });

    // Access signs in through an identity provider the program creates, unless config names an existing one.
    const createsAccessIdentityProvider = config.cloudflare.accessEnabled && config.cloudflare.accessIdentityProviderId === undefined;

    const redirectUris = [oauth2CallbackUrl(publicOrigin)];
    if (createsAccessIdentityProvider && cloudflareTarget.teamName !== undefined) {
        redirectUris.push(accessCallbackUrl(cloudflareTarget.teamName));
    }

    const entra = new EntraApplication(
        "netos",
        {
            displayName: config.entra.appDisplayName,
            redirectUris,
            appRoles: config.entra.appRoles,
            roleGroups: config.entra.roleGroups,
            clientSecretValidityDays: config.entra.clientSecretValidityDays,
            clientSecretRotation: config.rotation.clientSecret,
            extraGraphScopes: createsAccessIdentityProvider ? accessGraphScopes : [],
        },
        { providers: { azuread: entraProvider } },
    );

    let access: CloudflareAccess | undefined;
    if (config.cloudflare.accessEnabled) {
        access = new CloudflareAccess(
            "netos",
            {
                accountId: cloudflareTarget.accountId,
                hostname: config.entra.hostname,
                applicationName: `${config.entra.appDisplayName} (${config.stack})`,
                groupObjectIds: entra.roleGroupObjectIds.apply((byRole) => Object.values(byRole).flat()),
                identityProvider:
                    config.cloudflare.accessIdentityProviderId !== undefined
                        ? { existingId: config.cloudflare.accessIdentityProviderId }
                        : {
                              create: {
                                  tenantId: config.entra.tenantId,
                                  applicationId: pulumi.interpolate`/applications/${entra.objectId}`,
                                  clientId: entra.clientId,
                                  clientSecretValidityDays: config.entra.clientSecretValidityDays,
                                  clientSecretRotation: config.rotation.accessClientSecret,
                              },
                          },
            },
            { providers: { azuread: entraProvider } },
        );
    }

    const tunnel = new CloudflareTunnel("netos", {
        accountId: cloudflareTarget.accountId,
        zoneId: cloudflareTarget.zoneId,
        hostname: config.entra.hostname,
        tunnelName: config.cloudflare.tunnelName,
        secretRotation: config.rotation.tunnelSecret,
        // With Access off, cloudflared has no Access application to check tokens against.
        access: access && cloudflareTarget.teamName !== undefined ? { audTag: access.audTag, teamName: cloudflareTarget.teamName } : undefined,
    });

    // An explicit provider targets the configured Docker host and carries the
    // registry credentials of the NetOS images.
    const dockerProvider = new docker.Provider("docker", {
        host: config.origin.dockerHost,
        registryAuth: config.origin.registry
            ? [{ address: config.origin.registry.address, username: config.origin.registry.username, password: config.origin.registry.password }]
            : undefined,
    });

    const origin = new Origin(
        `${config.project}-${config.stack}`,
        {
            settings: config.origin,
            stack: config.stack,
            publicOrigin,
            tenantId: config.entra.tenantId,
            allowedRoles: config.entra.appRoles,
            entraClientId: entra.clientId,
            entraClientSecret: entra.clientSecret,
            tunnelToken: tunnel.connectorToken,
            rotation: config.rotation,
        },
        { providers: { docker: dockerProvider } },
    );

    return {
        publicUrl: publicOrigin,
        publicHostname: config.entra.hostname,
        entraClientId: entra.clientId,
        entraRedirectUris: entra.redirectUris,
        entraClientSecretExpiresAt: entra.clientSecretExpiresAt,
        tunnelId: tunnel.tunnelId,
        originContainers: origin.containerNames,
        postgresVolumeName: origin.postgresVolumeName,
        redisVolumeName: origin.redisVolumeName,
        ...(access ? { accessAudTag: access.audTag } : {}),
    };
};
