import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';

/** How to reach the Schema Registry (any with Confluent's REST API: Confluent, Apicurio's ccompat, Karapace...). */
export interface RegistryConfig {
  /** Base URL of the API, e.g. `https://registry:8081` or `http://apicurio:8080/apis/ccompat/v7`. */
  readonly url: string;
  readonly username: string | null;
  readonly password: string | null;
  /** PEM of the CA(s) that signed the registry's certificate; null: the system's trust store. */
  readonly ca: string | null;
  readonly timeoutMs: number;
}

/** A schema as `GET /schemas/ids/{id}` returns it. */
export interface RegistrySchema {
  /** `AVRO` when the registry leaves the type out (Confluent's default). */
  schemaType: 'AVRO' | 'PROTOBUF' | 'JSON';
  schema: string;
  /** Other subjects this schema imports; decoding such schemas is not supported yet. */
  references: ReadonlyArray<{ name: string; subject: string; version: number }>;
}

/** The registry answered that no schema has this id (HTTP 404). */
export class SchemaNotFoundError extends Error {
  readonly code = 'SCHEMA_NOT_FOUND';
}

/** The registry could not be asked: down, timed out, refused our credentials, or answered nonsense. */
export class RegistryUnavailableError extends Error {
  readonly code = 'REGISTRY_UNAVAILABLE';
}

/** Largest response read; real schemas are far smaller. */
const MAX_RESPONSE_BYTES = 4 * 1024 * 1024;

/** A thin client for the one call the gateway needs: a schema by its id. */
export class RegistryClient {
  private readonly base: URL;
  private readonly auth: string | null;

  constructor(private readonly config: RegistryConfig) {
    this.base = new URL(config.url.endsWith('/') ? config.url : `${config.url}/`);
    this.auth =
      config.username !== null
        ? `Basic ${Buffer.from(`${config.username}:${config.password ?? ''}`).toString('base64')}`
        : null;
  }

  /**
   * Fetches schema `id`.
   * @throws SchemaNotFoundError when the registry has no such id
   * @throws RegistryUnavailableError on any other failure (the message says which)
   */
  async schemaById(id: number): Promise<RegistrySchema> {
    const url = new URL(`schemas/ids/${id}`, this.base);
    const { status, body } = await this.get(url);
    if (status === 404) throw new SchemaNotFoundError(`schema id ${id} not found in the registry`);
    if (status !== 200)
      throw new RegistryUnavailableError(`registry answered HTTP ${status} for schema id ${id}`);
    let parsed: unknown;
    try {
      parsed = JSON.parse(body);
    } catch {
      throw new RegistryUnavailableError(`registry answered non-JSON for schema id ${id}`);
    }
    const p = parsed as { schema?: unknown; schemaType?: unknown; references?: unknown };
    if (typeof p.schema !== 'string')
      throw new RegistryUnavailableError(`registry answer for id ${id} has no schema`);
    const type = p.schemaType ?? 'AVRO';
    if (type !== 'AVRO' && type !== 'PROTOBUF' && type !== 'JSON')
      throw new RegistryUnavailableError(
        `schema id ${id} has unknown schemaType ${String(type).slice(0, 40)}`,
      );
    return {
      schemaType: type,
      schema: p.schema,
      references: Array.isArray(p.references) ? (p.references as RegistrySchema['references']) : [],
    };
  }

  private get(url: URL): Promise<{ status: number; body: string }> {
    const headers: Record<string, string> = {
      accept: 'application/vnd.schemaregistry.v1+json, application/json',
    };
    if (this.auth !== null) headers.authorization = this.auth;
    const https = url.protocol === 'https:';
    const send = https ? httpsRequest : httpRequest;
    return new Promise((resolve, reject) => {
      const fail = (why: string) => reject(new RegistryUnavailableError(`registry ${url.origin}: ${why}`));
      const req = send(
        url,
        {
          method: 'GET',
          headers,
          timeout: this.config.timeoutMs,
          ...(https && this.config.ca !== null ? { ca: this.config.ca } : {}),
        },
        (res: IncomingMessage) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (chunk: Buffer) => {
            size += chunk.length;
            if (size > MAX_RESPONSE_BYTES) {
              req.destroy();
              fail(`response larger than ${MAX_RESPONSE_BYTES} bytes`);
              return;
            }
            chunks.push(chunk);
          });
          res.on('end', () =>
            resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
          );
          res.on('error', (err) => fail(err.message));
        },
      );
      req.on('timeout', () => {
        req.destroy();
        fail(`no answer within ${this.config.timeoutMs} ms`);
      });
      req.on('error', (err) => fail(err.message));
      req.end();
    });
  }
}
