/**
 * Parses Spark Connect connection strings:
 * `sc://host[:port][/;param=value;...]` with `user_id`, `token`, `use_ssl`, `session_id`,
 * `user_agent`; other parameters are sent as gRPC headers, like the other Spark Connect clients.
 * A `token` turns TLS on, as in the Python client: a bearer token is never sent in clear.
 */
import { SparkConnectArgumentError } from './errors.ts';

export const DEFAULT_REMOTE = 'sc://localhost:15002';
export const DEFAULT_PORT = 15002;

export interface ConnectionSettings {
  host: string;
  port: number;
  userId: string | undefined;
  token: string | undefined;
  useSsl: boolean;
  sessionId: string | undefined;
  userAgent: string | undefined;
  /** Extra gRPC headers from unknown parameters. */
  headers: Record<string, string>;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function parseConnectionString(remote: string): ConnectionSettings {
  const match = /^sc:\/\/(\[[^\]]+\]|[^/:;]+)(?::(\d+))?\/?(.*)$/.exec(remote.trim());
  if (!match) {
    throw new SparkConnectArgumentError(
      `invalid Spark Connect connection string ${JSON.stringify(remote)}: expected sc://host[:port][/;key=value...]`,
    );
  }
  const settings: ConnectionSettings = {
    host: match[1]!.replace(/^\[|\]$/g, ''),
    port: match[2] ? Number(match[2]) : DEFAULT_PORT,
    userId: undefined,
    token: undefined,
    useSsl: false,
    sessionId: undefined,
    userAgent: undefined,
    headers: {},
  };
  for (const part of (match[3] ?? '').split(';')) {
    if (part.trim() === '') continue;
    const eq = part.indexOf('=');
    if (eq <= 0)
      throw new SparkConnectArgumentError(`invalid parameter ${JSON.stringify(part)} in ${remote}`);
    const key = part.slice(0, eq).trim();
    const value = decodeURIComponent(part.slice(eq + 1).trim());
    switch (key) {
      case 'user_id':
        settings.userId = value;
        break;
      case 'token':
        settings.token = value;
        break;
      case 'use_ssl':
        settings.useSsl = value.toLowerCase() === 'true';
        break;
      case 'session_id':
        if (!UUID.test(value)) throw new SparkConnectArgumentError(`session_id must be a UUID, got ${value}`);
        settings.sessionId = value;
        break;
      case 'user_agent':
        settings.userAgent = value;
        break;
      default:
        settings.headers[key] = value;
    }
  }
  if (settings.token !== undefined) settings.useSsl = true;
  return settings;
}
