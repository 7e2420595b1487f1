/**
 * KAFKA_BROKERS as people paste it from their provider's console: `host:port`, comma lists (with
 * or without spaces), IPv6 in brackets (`[::1]:9092`) and Kafka's listener prefixes
 * (`SASL_SSL://host:9092`, `SSL://`, `SASL_PLAINTEXT://`, `PLAINTEXT://`). Anything else is
 * refused with a message that says what to write instead.
 */

/** Kafka's security protocols, as they prefix a listener. */
export type SecurityProtocol = 'PLAINTEXT' | 'SSL' | 'SASL_PLAINTEXT' | 'SASL_SSL';

export interface BrokerAddress {
  /** Host name or IP address (IPv6 without brackets). */
  host: string;
  port: number;
}

export interface ParsedBrokers {
  brokers: BrokerAddress[];
  /** The listener prefix the entries carried (all the same), or null when none did. */
  protocol: SecurityProtocol | null;
}

const PROTOCOLS: readonly SecurityProtocol[] = ['PLAINTEXT', 'SSL', 'SASL_PLAINTEXT', 'SASL_SSL'];
const HOST_NAME = /^[A-Za-z0-9_]([A-Za-z0-9_.-]{0,252})$/;

/** Thrown with a message meant for the operator, naming the entry and what to write instead. */
export class BrokerListError extends Error {
  override name = 'BrokerListError';
}

function parseEntry(raw: string): { address: BrokerAddress; protocol: SecurityProtocol | null } {
  let rest = raw;
  let protocol: SecurityProtocol | null = null;
  const scheme = /^([A-Za-z][A-Za-z0-9_+.-]*):\/\//.exec(rest);
  if (scheme) {
    const name = scheme[1]!.toUpperCase();
    if (!(PROTOCOLS as readonly string[]).includes(name))
      throw new BrokerListError(
        `"${raw}": "${scheme[1]}://" is not a Kafka listener; write host:port (TLS is KAFKA_TLS=true, or prefix SASL_SSL:// or SSL://)`,
      );
    protocol = name as SecurityProtocol;
    rest = rest.slice(scheme[0].length);
  }
  if (rest.endsWith('/')) rest = rest.slice(0, -1);
  let host: string;
  let portText: string | undefined;
  if (rest.startsWith('[')) {
    const m = /^\[([0-9A-Fa-f:.]+)\](?::(\d*))?$/.exec(rest);
    if (!m) throw new BrokerListError(`"${raw}": expected [IPv6 address]:port, e.g. [::1]:9092`);
    host = m[1]!;
    portText = m[2];
    if (!host.includes(':'))
      throw new BrokerListError(`"${raw}": brackets are for IPv6 addresses only; write ${host}:port`);
  } else {
    const colons = rest.split(':').length - 1;
    if (colons > 1)
      throw new BrokerListError(
        `"${raw}": an IPv6 address needs brackets around it; write [${rest.slice(0, rest.lastIndexOf(':'))}]:${rest.slice(rest.lastIndexOf(':') + 1) || '9092'}`,
      );
    const at = rest.indexOf(':');
    host = at < 0 ? rest : rest.slice(0, at);
    portText = at < 0 ? undefined : rest.slice(at + 1);
    if (!HOST_NAME.test(host))
      throw new BrokerListError(`"${raw}": "${host}" is not a host name or IP address`);
  }
  if (portText === undefined || portText === '')
    throw new BrokerListError(`"${raw}": no port; write ${host.includes(':') ? `[${host}]` : host}:9092`);
  const port = Number(portText);
  if (!/^\d{1,5}$/.test(portText) || port < 1 || port > 65535)
    throw new BrokerListError(`"${raw}": port must be 1-65535`);
  return { address: { host, port }, protocol };
}

/**
 * Parses a KAFKA_BROKERS value. Empty entries (a trailing comma) are skipped; entries must agree
 * on their listener prefix, if any.
 * @throws {BrokerListError} with a message saying what to write instead
 */
export function parseBrokerList(text: string): ParsedBrokers {
  const entries = text
    .split(',')
    .map((e) => e.trim())
    .filter((e) => e.length > 0);
  if (entries.length === 0) throw new BrokerListError('no broker given; write host:port[,host:port...]');
  const brokers: BrokerAddress[] = [];
  const protocols = new Set<SecurityProtocol | null>();
  for (const entry of entries) {
    if (/\s/.test(entry))
      throw new BrokerListError(`"${entry}": spaces inside an entry; separate brokers with commas`);
    const { address, protocol } = parseEntry(entry);
    brokers.push(address);
    protocols.add(protocol);
  }
  if (protocols.size > 1)
    throw new BrokerListError(
      `mixed listener prefixes (${[...protocols].map((p) => p ?? 'none').join(', ')}); all brokers must use the same listener`,
    );
  return { brokers, protocol: [...protocols][0] ?? null };
}

/** `host:port`, with brackets around an IPv6 host (for logs and docs). */
export function formatBroker(b: BrokerAddress): string {
  return b.host.includes(':') ? `[${b.host}]:${b.port}` : `${b.host}:${b.port}`;
}
