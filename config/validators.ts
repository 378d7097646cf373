/**
 * Pure validators for config values. Each returns `undefined` for a valid
 * value, or the rule the value breaks, phrased to follow "must".
 */

const guidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const dnsLabelPattern = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

/** Checks that a value is a GUID such as an Entra tenant or object id. */
export function checkGuid(value: string): string | undefined {
    return guidPattern.test(value) ? undefined : "must be a GUID like 00000000-0000-0000-0000-000000000000";
}

/** Returns whether a value has the form of a GUID. */
export function isGuid(value: string): boolean {
    return guidPattern.test(value);
}

/**
 * Checks that a value is a bare, lower-case DNS name with at least two labels:
 * no scheme, path, port, wildcard or trailing dot, because it becomes the
 * tunnel hostname, the DNS record and part of the OIDC redirect URI.
 */
export function checkHostname(value: string): string | undefined {
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) {
        return "must be a bare DNS name without a scheme such as https://";
    }
    if (/[/?#]/.test(value)) {
        return "must be a bare DNS name without a path, query or fragment";
    }
    if (value.includes(":")) {
        return "must be a bare DNS name without a port";
    }
    if (value !== value.toLowerCase()) {
        return "must be written in lower case";
    }
    if (value.endsWith(".")) {
        return "must not end with a dot";
    }
    const labels = value.split(".");
    if (labels.length < 2) {
        return "must be a fully qualified name with at least two labels, like netos.example.com";
    }
    if (value.length > 253 || !labels.every((label) => dnsLabelPattern.test(label))) {
        return "must be a DNS name of labels made of a-z, 0-9 and inner hyphens, each at most 63 characters";
    }
    return undefined;
}

/**
 * Checks an Entra app role value. Entra rejects spaces and a leading dot, and
 * OAuth2-Proxy compares roles as plain strings, so a conservative identifier
 * form is required.
 */
export function checkRoleValue(value: string): string | undefined {
    return /^[A-Za-z][A-Za-z0-9_.-]{0,119}$/.test(value)
        ? undefined
        : "must be an identifier: a letter, then up to 119 letters, digits, _, . or -";
}

/**
 * Checks a group reference: an Entra object id, or a group's display name as
 * shown in the Entra portal. A value of hex digits and hyphens that is not a
 * whole GUID is almost certainly a mistyped object id, so it is rejected
 * rather than looked up as a name.
 */
export function checkGroupReference(value: string): string | undefined {
    if (isGuid(value)) {
        return undefined;
    }
    if (/^[0-9a-f-]+$/i.test(value) && value.includes("-")) {
        return "looks like a truncated or mistyped object id: must be a whole GUID, or a group's display name";
    }
    if (value.trim() !== value || value.length === 0 || value.length > 256) {
        return "must be a group object id (GUID) or a display name of 1 to 256 characters without leading or trailing spaces";
    }
    return undefined;
}

/** Checks a display name for an Entra application. */
export function checkDisplayName(value: string): string | undefined {
    return value.trim() === value && value.length >= 1 && value.length <= 120
        ? undefined
        : "must be 1 to 120 characters without leading or trailing spaces";
}
