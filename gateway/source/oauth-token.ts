import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { KafkaSaslConfig } from '../config/kafka-config.ts';
import type { Logger } from '../observability/logger.ts';
import { FileSecret } from './secret-file.ts';

const execFileAsync = promisify(execFile);

/** A token whose lifetime is unknown is asked for again after this long. */
const UNKNOWN_LIFETIME_MS = 5 * 60_000;
const COMMAND_TIMEOUT_MS = 30_000;

type OAuthConfig = Extract<KafkaSaslConfig, { mechanism: 'oauthbearer' }>;

/** `exp` (epoch s) of a JWT, or null when the token is not a JWT (an MSK IAM token is not). */
export function jwtExpiry(token: string): number | null {
  const payload = token.split('.')[1];
  if (!payload) return null;
  try {
    const exp = (JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { exp?: unknown }).exp;
    return typeof exp === 'number' ? exp * 1000 : null;
  } catch {
    return null;
  }
}

/**
 * What KAFKA_SASL_OAUTH_TOKEN_COMMAND printed: the token alone, or JSON with it (`access_token`,
 * `token` or `value`) and its lifetime (`expires_in` seconds, or `expiresAt`/`expiryTime` epoch ms).
 */
export function parseTokenOutput(out: string, now: number): { token: string; expiresAt: number | null } {
  const text = out.trim();
  if (!text.startsWith('{')) return { token: text, expiresAt: jwtExpiry(text) };
  const o = JSON.parse(text) as Record<string, unknown>;
  const token = [o.access_token, o.token, o.value].find((v): v is string => typeof v === 'string');
  if (!token) throw new Error('its JSON has no access_token, token or value field');
  const expiresAt =
    typeof o.expires_in === 'number'
      ? now + o.expires_in * 1000
      : typeof o.expiresAt === 'number'
        ? o.expiresAt
        : typeof o.expiryTime === 'number'
          ? o.expiryTime
          : jwtExpiry(token);
  return { token, expiresAt };
}

/**
 * OAUTHBEARER tokens for kafkajs: from a file, read again whenever it changes (a sidecar or an
 * operator refreshes it), or from a command, run again when 80 % of the last token's lifetime has
 * passed (single-flight). Failures say which setting produced them.
 */
export class OAuthTokenSource {
  private readonly file: FileSecret | null;
  private cached: { token: string; refreshAt: number } | null = null;
  private running: Promise<string> | null = null;

  constructor(
    private readonly cfg: Pick<OAuthConfig, 'tokenFile' | 'tokenCommand'>,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {
    this.file = cfg.tokenFile
      ? new FileSecret(cfg.tokenFile, (err) =>
          log.warn({ err: err.message }, 'KAFKA_SASL_OAUTH_TOKEN_FILE unreadable; using its last token'),
        )
      : null;
  }

  async token(): Promise<string> {
    if (this.file) {
      const token = this.file.read();
      if (token === '') throw new Error(`KAFKA_SASL_OAUTH_TOKEN_FILE ${this.file.path} is empty`);
      return token;
    }
    if (this.cached && this.now() < this.cached.refreshAt) return this.cached.token;
    this.running ??= this.runCommand().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  private async runCommand(): Promise<string> {
    const command = this.cfg.tokenCommand!;
    let out: string;
    try {
      ({ stdout: out } = await execFileAsync('/bin/sh', ['-c', command], {
        timeout: COMMAND_TIMEOUT_MS,
        maxBuffer: 1024 * 1024,
      }));
    } catch (err) {
      const e = err as Error & { stderr?: string };
      throw new Error(
        `KAFKA_SASL_OAUTH_TOKEN_COMMAND failed: ${(e.stderr || e.message).trim().slice(0, 300)}`,
      );
    }
    const started = this.now();
    let parsed: { token: string; expiresAt: number | null };
    try {
      parsed = parseTokenOutput(out, started);
    } catch (err) {
      throw new Error(`KAFKA_SASL_OAUTH_TOKEN_COMMAND printed no usable token: ${(err as Error).message}`);
    }
    if (parsed.token === '') throw new Error('KAFKA_SASL_OAUTH_TOKEN_COMMAND printed an empty token');
    const lifetime =
      parsed.expiresAt === null ? UNKNOWN_LIFETIME_MS : Math.max(0, parsed.expiresAt - started);
    this.cached = { token: parsed.token, refreshAt: started + lifetime * 0.8 };
    this.log.debug({ lifetimeMs: lifetime }, 'OAUTHBEARER token obtained');
    return parsed.token;
  }
}
