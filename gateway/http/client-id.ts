/**
 * Client ids are chosen by clients (the kit stores a random one per browser), so they are only
 * trusted to be stable, never to be secret. Anything outside this shape counts as "no id".
 */
export const CLIENT_ID_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/;

/** Query parameter carrying the client id on `/v1/transport` and `/v1/stream`. */
export const CLIENT_ID_PARAM = 'clientId';

/** The client id if well-formed, else null (missing, repeated, too long, odd characters). */
export function parseClientId(raw: unknown): string | null {
  return typeof raw === 'string' && CLIENT_ID_PATTERN.test(raw) ? raw : null;
}
