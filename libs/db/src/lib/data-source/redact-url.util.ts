const UNPARSEABLE = '<unparseable database URL>';

/**
 * A database URL safe to print: the password (if any) replaced by `***`. Something that does not parse as a URL
 * with a host (`scheme://...`) is not echoed at all, since it may still contain a password.
 */
export function redactUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return UNPARSEABLE;
  }
  if (!parsed.host) return UNPARSEABLE;
  if (parsed.password) parsed.password = '***';
  return parsed.toString();
}

/** The parts of a `postgres://` URL this library needs; throws (without echoing the password) when invalid. */
export interface PostgresUrlParts {
  host: string;
  port: number;
  database: string;
  user: string;
}

export function parsePostgresUrl(url: string): PostgresUrlParts {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error('invalid database URL: expected postgres://user:password@host:port/database');
  }
  if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:') {
    throw new Error(`invalid database URL ${redactUrl(url)}: the scheme must be postgres:// or postgresql://`);
  }
  const database = decodeURIComponent(parsed.pathname.replace(/^\//, ''));
  if (!parsed.hostname || !database) {
    throw new Error(`invalid database URL ${redactUrl(url)}: it must name a host and a database`);
  }
  return {
    host: parsed.hostname,
    port: parsed.port ? Number(parsed.port) : 5432,
    database,
    user: decodeURIComponent(parsed.username),
  };
}

/** The same server and credentials, another database. */
export function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${encodeURIComponent(database)}`;
  return parsed.toString();
}
