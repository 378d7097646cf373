import { createHmac } from "node:crypto";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { oauth2ProxyCookieSecret } from "../generated/oauth2Proxy";

export interface OriginSecretsArgs {
    /** Opaque value; changing it replaces the OAuth2-Proxy cookie secret, which signs every user out. */
    cookieSecretRotation: string;
    /** Opaque value; changing it replaces both PostgreSQL passwords (superuser and api role). */
    postgresPasswordRotation: string;
    /** Opaque value; changing it replaces the Redis password, and with it the api's Redis password. */
    redisPasswordRotation: string;
}

/**
 * The secrets the origin generates: the OAuth2-Proxy cookie secret, the
 * PostgreSQL superuser and api role passwords, and the Redis passwords. Each is
 * a random resource keyed to its `netos:rotation` value, except the api's Redis
 * password, which is derived from the Redis password. Changing a rotation value
 * (or `pulumi up --replace` on the resource) replaces exactly that secret and
 * what derives from it, and every output is a Pulumi secret.
 */
export class OriginSecrets extends pulumi.ComponentResource {
    /** Cookie encryption key in the URL-safe base64 form OAuth2-Proxy decodes (32 bytes). */
    public readonly cookieSecret: pulumi.Output<string>;
    /** Password of the PostgreSQL superuser `postgres`. */
    public readonly postgresSuperuserPassword: pulumi.Output<string>;
    /** Password of the api's PostgreSQL login role. */
    public readonly postgresApiPassword: pulumi.Output<string>;
    /** Password of the Redis default user. */
    public readonly redisPassword: pulumi.Output<string>;
    /** Password of the api's Redis user, derived from the default user's password. */
    public readonly redisApiPassword: pulumi.Output<string>;

    constructor(name: string, args: OriginSecretsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("netos:docker:OriginSecrets", name, {}, opts);

        const cookie = new random.RandomBytes(`${name}-cookie-secret`, { length: 32, keepers: { rotation: args.cookieSecretRotation } }, { parent: this });

        // Letters and digits only, so the passwords need no escaping in URLs,
        // redis.conf or SQL; 40 characters give about 238 bits.
        const password = (role: string, rotation: string) =>
            new random.RandomPassword(`${name}-${role}`, { length: 40, special: false, keepers: { rotation } }, { parent: this });
        const postgresSuperuser = password("postgres-superuser-password", args.postgresPasswordRotation);
        const postgresApi = password("postgres-api-password", args.postgresPasswordRotation);
        const redis = password("redis-password", args.redisPasswordRotation);

        this.cookieSecret = pulumi.secret(cookie.base64.apply(oauth2ProxyCookieSecret));
        this.postgresSuperuserPassword = pulumi.secret(postgresSuperuser.result);
        this.postgresApiPassword = pulumi.secret(postgresApi.result);
        this.redisPassword = pulumi.secret(redis.result);
        // Derived with HMAC-SHA256 rather than a second random resource, so it
        // rotates with the default password, and the api's copy does not reveal
        // the default password. 40 hex digits give 160 bits.
        this.redisApiPassword = pulumi.secret(redis.result.apply((password) => createHmac("sha256", password).update("netos redis api user").digest("hex").slice(0, 40)));

        this.registerOutputs({
            cookieSecret: this.cookieSecret,
            postgresSuperuserPassword: this.postgresSuperuserPassword,
            postgresApiPassword: this.postgresApiPassword,
            redisPassword: this.redisPassword,
            redisApiPassword: this.redisApiPassword,
        });
    }
}
