/**
 * Microsoft Graph's application id and the ids of the delegated permissions
 * (scopes) this stack requests. These ids are the same in every tenant; they
 * are listed in Microsoft's "Microsoft Graph permissions reference".
 */
export const microsoftGraphAppId = "00000003-0000-0000-c000-000000000000";

export const graphDelegatedScopeIds = {
    openid: "37f7f235-527c-4136-accd-4a02d197296e",
    profile: "14dad69e-099b-42c9-810b-d002981feec1",
    email: "64a6cdd6-aab1-4aaf-94b8-3cc8405e90d0",
    offline_access: "7427e0e9-2fba-42fe-b0c0-848c9e6a8182",
    "User.Read": "e1fe6dd8-ba31-4d61-89e7-88639da4683d",
    "GroupMember.Read.All": "bc024368-1153-4739-b217-4326f2e966d0",
    "Directory.Read.All": "06da0dbc-49e2-44d2-8312-53f166ab848a",
} as const;

export type GraphDelegatedScope = keyof typeof graphDelegatedScopeIds;

/** The scopes OAuth2-Proxy requests at sign-in (`openid email profile`) plus the refresh and profile reads. */
export const signInScopes: readonly GraphDelegatedScope[] = ["openid", "profile", "email", "offline_access", "User.Read"];
