/**
 * Mints a stream access token for operators (tests, smoke checks, a backend that cannot run a JWT
 * library). The secret is read from STREAM_TOKEN_SECRET in the environment, never from the
 * command line (arguments are visible to every user through `ps`).
 *
 *   STREAM_TOKEN_SECRET=... node --import tsx scripts/mint-token.ts --streams orders,totals --ttl 3600
 *   ... --streams '*' --sub user-42 --format cookie   # a Set-Cookie value instead of the bare token
 *   ... --format url --url https://gw.example.com      # a ready /v1/stream URL with ?access_token=
 *
 * Prints one line on stdout; errors go to stderr with exit code 2. docs/security.md explains tokens.
 */
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { STREAM_NAME } from '../gateway/config/streams.ts';
import { ACCESS_TOKEN_PARAM, STREAM_TOKEN_COOKIE } from '../gateway/security/stream-access.ts';
import {
  MAX_TOKEN_STREAMS,
  mintStreamToken,
  type StreamTokenClaims,
} from '../gateway/security/stream-token.ts';

const USAGE = `usage: STREAM_TOKEN_SECRET=... node --import tsx scripts/mint-token.ts --streams <a,b|*> [--ttl <seconds>] [--sub <id>] [--format token|cookie|url] [--url <base>]`;

/** Longest lifetime the CLI mints; long-lived tokens are what rotation cannot take back quickly. */
export const MAX_TTL_SECONDS = 30 * 24 * 3600;

export interface MintArgs {
  streams: string;
  ttl: number;
  sub?: string;
  format: 'token' | 'cookie' | 'url';
  url?: string;
}

/** Pure: the line to print for `args`, or an Error naming what is wrong. */
export function mintLine(secret: string | undefined, args: MintArgs, nowMs: number): string {
  if (!secret || secret.length < 32)
    throw new Error('STREAM_TOKEN_SECRET must be set (at least 32 characters)');
  if (!Number.isInteger(args.ttl) || args.ttl < 1 || args.ttl > MAX_TTL_SECONDS)
    throw new Error(`--ttl must be a whole number of seconds from 1 to ${MAX_TTL_SECONDS}`);
  let streams: StreamTokenClaims['streams'];
  if (args.streams === '*') streams = '*';
  else {
    const names = args.streams.split(',').map((s) => s.trim());
    const bad = names.filter((n) => !STREAM_NAME.test(n));
    if (names.length === 0 || bad.length > 0 || names.length > MAX_TOKEN_STREAMS)
      throw new Error(
        `--streams must be '*' or up to ${MAX_TOKEN_STREAMS} stream names (bad: ${bad.join(', ')})`,
      );
    streams = [...new Set(names)];
  }
  if (args.sub !== undefined && args.sub.length > 256) throw new Error('--sub is longer than 256 characters');
  const iat = Math.floor(nowMs / 1000);
  const token = mintStreamToken(secret, {
    exp: iat + args.ttl,
    iat,
    streams,
    ...(args.sub === undefined ? {} : { sub: args.sub }),
  });
  if (args.format === 'cookie')
    return `${STREAM_TOKEN_COOKIE}=${token}; Path=/v1/; Max-Age=${args.ttl}; HttpOnly; Secure; SameSite=Lax`;
  if (args.format === 'url') {
    if (!args.url) throw new Error('--format url needs --url <base>, e.g. https://gateway.example.com');
    const u = new URL('/v1/stream', args.url);
    if (streams !== '*') u.searchParams.set('streams', streams.join(','));
    u.searchParams.set(ACCESS_TOKEN_PARAM, token);
    return u.toString();
  }
  return token;
}

function main(): void {
  const { values } = parseArgs({
    options: {
      streams: { type: 'string' },
      ttl: { type: 'string', default: '3600' },
      sub: { type: 'string' },
      format: { type: 'string', default: 'token' },
      url: { type: 'string' },
      secret: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  try {
    if (values.secret !== undefined)
      throw new Error('--secret is refused: pass the secret as STREAM_TOKEN_SECRET in the environment');
    if (values.streams === undefined) throw new Error('--streams is required');
    const format = values.format as MintArgs['format'];
    if (!['token', 'cookie', 'url'].includes(format))
      throw new Error('--format must be token, cookie or url');
    const line = mintLine(
      process.env.STREAM_TOKEN_SECRET,
      {
        streams: values.streams,
        ttl: Number(values.ttl),
        format,
        ...(values.sub === undefined ? {} : { sub: values.sub }),
        ...(values.url === undefined ? {} : { url: values.url }),
      },
      Date.now(),
    );
    process.stdout.write(`${line}\n`);
  } catch (err) {
    process.stderr.write(`mint-token: ${(err as Error).message}\n${USAGE}\n`);
    process.exitCode = 2;
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) main();
