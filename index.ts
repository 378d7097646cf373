import * as azuread from "@pulumi/azuread";
import { EntraApplication } from "./components/entraApplication";
import { loadConfig } from "./config";
import { oauth2CallbackUrl, publicOriginOf } from "./services";

// Everything is validated before the first resource is registered.
const config = loadConfig();
const publicOrigin = publicOriginOf(config.entra.hostname);

// An explicit provider pins every Entra resource to the configured tenant,
// whatever tenant the operator's credentials default to.
const entraProvider = new azuread.Provider("entra", { tenantId: config.entra.tenantId });

const redirectUris = [oauth2CallbackUrl(publicOrigin)];

const entra = new EntraApplication(
    "netos",
    {
        displayName: config.entra.appDisplayName,
        redirectUris,
        appRoles: config.entra.appRoles,
        roleGroups: config.entra.roleGroups,
        clientSecretValidityDays: config.entra.clientSecretValidityDays,
        clientSecretRotation: config.rotation.clientSecret,
    },
    { providers: { azuread: entraProvider } },
);

export const publicUrl = publicOrigin;
export const entraClientId = entra.clientId;
export const entraRedirectUris = entra.redirectUris;
export const entraClientSecretExpiresAt = entra.clientSecretExpiresAt;
