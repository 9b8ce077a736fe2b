import type { ClientConfig } from 'pg';

/** Connection settings from a postgres:// URL, keeping TLS options the URL carries. */
export function clientConfigFromUrl(url: string): ClientConfig {
  return { connectionString: url };
}

/** The user name in a postgres:// URL. */
export function userOfUrl(url: string): string {
  const user = decodeURIComponent(new URL(url).username);
  if (!user) throw new Error('the database URL names no user');
  return user;
}

export function postgresUrl(
  host: string,
  port: number,
  user: string,
  password: string,
  database: string,
): string {
  return `postgres://${encodeURIComponent(user)}:${encodeURIComponent(password)}@${host}:${port}/${encodeURIComponent(database)}`;
}
