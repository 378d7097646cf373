import { ConfigReader, describeValue, isRecord } from "./reader";

/** The secrets an operator can rotate through `netos:rotation`. */
export const rotatableSecrets = ["cookieSecret", "clientSecret", "accessClientSecret", "tunnelSecret", "postgresPassword", "redisPassword"] as const;

export type RotatableSecret = (typeof rotatableSecrets)[number];

/**
 * One opaque value per secret. Changing a value (a date is a good habit)
 * replaces that secret on the next `pulumi up`; an unset value is "".
 */
export type RotationConfig = Readonly<Record<RotatableSecret, string>>;

/** Reads `netos:rotation`, rejecting unknown names so a typo never silently skips a rotation. */
export function readRotationConfig(reader: ConfigReader): RotationConfig {
    const raw = reader.object<Record<string, unknown>>("rotation", {
        default: {},
        isShape: isRecord,
        shape: `a map from secret name (${rotatableSecrets.join(", ")}) to a string`,
        example: '{"cookieSecret":"2026-12-04"}',
    });
    const rotation: Record<string, string> = Object.fromEntries(rotatableSecrets.map((secret) => [secret, ""]));
    for (const [secret, value] of Object.entries(raw)) {
        if (!(rotatableSecrets as readonly string[]).includes(secret)) {
            reader.report(
                "rotation",
                `unknown secret ${describeValue(secret)}: must be one of ${rotatableSecrets.join(", ")}.`,
                `fix the name: pulumi config set --path 'netos:rotation.<secret>' "$(date +%F)"`,
            );
            continue;
        }
        if (typeof value !== "string" && typeof value !== "number") {
            reader.report("rotation", `invalid value ${describeValue(value)} for ${secret}: must be a string such as a date.`, reader.setCommand(`rotation.${secret}`, "2026-12-04", { path: true }));
            continue;
        }
        rotation[secret] = String(value);
    }
    return rotation as RotationConfig;
}
