import assert from "node:assert/strict";
import { before, describe, test } from "node:test";
import { daysUntil } from "../components/entraApplication";
import { oauth2ProxyArgs } from "../generated/oauth2Proxy";
import { graphDelegatedScopeIds, microsoftGraphAppId } from "../graphPermissions";
import { findResource, ProgramRun, resourcesOfType, runProgram } from "./support/mocks";

const tenantId = "4944843d-e347-4fe7-a279-4006ce5efc33";

describe("Entra application (production config)", () => {
    let run: ProgramRun;
    before(async () => {
        run = await runProgram();
    });

    test("provider pinned to tenant", () => {
        const provider = findResource(run, "pulumi:providers:azuread", "entra");
        assert.equal(provider.inputs.tenantId, tenantId);
        for (const resource of run.resources.filter((candidate) => candidate.type.startsWith("azuread:"))) {
            assert.ok(resource.options.provider.startsWith(provider.urn), `${resource.name} does not use the tenant-pinned provider`);
        }
    });

    test("single-tenant app registration", () => {
        const app = findResource(run, "azuread:index/application:Application");
        assert.equal(app.inputs.displayName, "Xiber NetOS");
        assert.equal(app.inputs.signInAudience, "AzureADMyOrg");
        assert.deepEqual(app.inputs.groupMembershipClaims, ["None"]);
        assert.equal(app.inputs.web.implicitGrant.idTokenIssuanceEnabled, false);
    });

    test("app roles for NetOS roles", () => {
        const app = findResource(run, "azuread:index/application:Application");
        const roles = app.inputs.appRoles as { value: string; id: string; allowedMemberTypes: string[]; enabled: boolean }[];
        assert.deepEqual(
            roles.map((role) => role.value),
            ["exec", "finance", "network_eng"],
        );
        for (const role of roles) {
            assert.deepEqual(role.allowedMemberTypes, ["User"]);
            assert.equal(role.enabled, true);
        }
        const ids = resourcesOfType(run, "random:index/randomUuid:RandomUuid").map((uuid) => uuid.name);
        assert.deepEqual(ids.sort(), ["netos-role-exec", "netos-role-finance", "netos-role-network_eng"]);
        assert.equal(new Set(roles.map((role) => role.id)).size, 3, "role ids must be distinct");
    });

    test("redirect URIs managed in one place", () => {
        const app = findResource(run, "azuread:index/application:Application");
        assert.equal(app.inputs.web.redirectUris, undefined, "the application itself must not set redirect URIs");
        assert.ok(app.options.ignoreChanges.includes("web.redirectUris"));
        const uris = findResource(run, "azuread:index/applicationRedirectUris:ApplicationRedirectUris");
        assert.equal(uris.inputs.type, "Web");
        assert.ok(uris.inputs.redirectUris.includes("https://netos.xiberian.net/oauth2/callback"));
    });

    test("redirect URI matches OAuth2-Proxy", () => {
        const uris = findResource(run, "azuread:index/applicationRedirectUris:ApplicationRedirectUris");
        const args = oauth2ProxyArgs({
            tenantId,
            clientId: "11111111-2222-4333-8444-555555555555",
            publicOrigin: run.outputs.publicUrl.value as string,
            allowedRoles: ["exec"],
            trustedProxyCidrs: ["172.30.0.0/24"],
        });
        const redirectUrl = args.find((arg) => arg.startsWith("--redirect-url="))?.split("=")[1];
        assert.ok(uris.inputs.redirectUris.includes(redirectUrl), `${redirectUrl} is not registered in Entra`);
    });

    test("service principal requires assignment", () => {
        const servicePrincipal = findResource(run, "azuread:index/servicePrincipal:ServicePrincipal");
        assert.equal(servicePrincipal.inputs.appRoleAssignmentRequired, true);
    });

    test("groups assigned to roles", () => {
        const assignments = resourcesOfType(run, "azuread:index/appRoleAssignment:AppRoleAssignment");
        assert.deepEqual(
            assignments.map((assignment) => assignment.name).sort(),
            ["netos-assign-exec-netos-executives", "netos-assign-finance-netos-finance", "netos-assign-network_eng-netos-network-engineering"],
        );
        const lookups = run.invokes.filter((invoke) => invoke.token === "azuread:index/getGroup:getGroup");
        assert.deepEqual(
            lookups.map((lookup) => lookup.inputs.displayName).sort(),
            ["NetOS Executives", "NetOS Finance", "NetOS Network Engineering"],
        );
        for (const lookup of lookups) {
            assert.equal(lookup.inputs.securityEnabled, true);
        }
    });

    test("group object ids skip lookup", async () => {
        const objectId = "0c1d2e3f-0000-4000-8000-000000000001";
        const byId = await runProgram({ config: { roleGroups: { exec: [objectId.toUpperCase()] } } });
        const assignment = findResource(byId, "azuread:index/appRoleAssignment:AppRoleAssignment", "exec-0c1d2e3f-0000-4000-8000-000000000001");
        assert.equal(assignment.inputs.principalObjectId, objectId);
        assert.equal(byId.invokes.filter((invoke) => invoke.token === "azuread:index/getGroup:getGroup").length, 0);
    });

    test("client secret is secret and expires within a year", () => {
        const password = findResource(run, "azuread:index/applicationPassword:ApplicationPassword", "client-secret");
        assert.ok(password.options.additionalSecretOutputs.includes("value"));
        assert.equal(password.inputs.endDateRelative, "4320h");
        assert.ok(Number.parseInt(password.inputs.endDateRelative, 10) <= 365 * 24);
        assert.equal(password.options.deleteBeforeReplace, false, "the new secret must exist before the old one is deleted");
    });

    test("expiry exported", () => {
        const expiresAt = run.outputs.entraClientSecretExpiresAt;
        assert.ok(expiresAt, "entraClientSecretExpiresAt must be a stack output");
        const days = daysUntil(String(expiresAt.value));
        assert.ok(days > 0, `expiry ${String(expiresAt.value)} is in the past`);
        assert.ok(days <= 365, `expiry ${String(expiresAt.value)} is ${days} days away, more than a year`);
    });

    test("sign-in claims and scopes", () => {
        const app = findResource(run, "azuread:index/application:Application");
        const idTokenClaims = (app.inputs.optionalClaims.idTokens as { name: string }[]).map((claim) => claim.name);
        assert.deepEqual(idTokenClaims.sort(), ["email", "upn"]);
        const graph = (app.inputs.requiredResourceAccesses as { resourceAppId: string; resourceAccesses: { id: string; type: string }[] }[]).find(
            (access) => access.resourceAppId === microsoftGraphAppId,
        );
        assert.ok(graph, "Microsoft Graph permissions are missing");
        for (const scope of ["openid", "profile", "email", "offline_access"] as const) {
            assert.ok(
                graph.resourceAccesses.some((access) => access.id === graphDelegatedScopeIds[scope] && access.type === "Scope"),
                `scope ${scope} is not requested`,
            );
        }
        const consent = findResource(run, "azuread:index/servicePrincipalDelegatedPermissionGrant:ServicePrincipalDelegatedPermissionGrant");
        for (const scope of ["openid", "profile", "email", "offline_access"]) {
            assert.ok(consent.inputs.claimValues.includes(scope), `admin consent misses ${scope}`);
        }
    });

    test("children parented to component", () => {
        const component = findResource(run, "netos:entra:Application");
        // The Access identity provider's own client secret belongs to the Access component.
        const access = findResource(run, "netos:cloudflare:Access");
        const children = run.resources.filter(
            (resource) =>
                (resource.type.startsWith("azuread:index/") || resource.type === "random:index/randomUuid:RandomUuid") && resource.options.parent !== access.urn,
        );
        assert.ok(children.length >= 8);
        for (const child of children) {
            assert.equal(child.options.parent, component.urn, `${child.name} is not a child of the Entra component`);
        }
    });
});

describe("secret lifetime", () => {
    test("validity days drive the end date", async () => {
        const run = await runProgram({ config: { clientSecretValidityDays: "30" } });
        const password = findResource(run, "azuread:index/applicationPassword:ApplicationPassword", "client-secret");
        assert.equal(password.inputs.endDateRelative, "720h");
    });
});
