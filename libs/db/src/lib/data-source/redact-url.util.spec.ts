import { parsePostgresUrl, redactUrl, withDatabase } from './redact-url.util';

describe('redactUrl', () => {
  it('should hide the password and keep the rest', () => {
    expect(redactUrl('postgres://berth:s3cret@db.local:5432/berth?sslmode=require')).toBe(
      'postgres://berth:***@db.local:5432/berth?sslmode=require',
    );
  });

  it('should leave a URL without password alone', () => {
    expect(redactUrl('postgres://berth@db.local/berth')).toBe('postgres://berth@db.local/berth');
  });

  it('should not echo something that is not a URL', () => {
    expect(redactUrl('berth:s3cret@nowhere')).not.toContain('s3cret');
  });
});

describe('parsePostgresUrl', () => {
  it('should read host, port, database and user', () => {
    expect(parsePostgresUrl('postgresql://u%40x:p@h:6543/my%20db')).toEqual({
      host: 'h',
      port: 6543,
      database: 'my db',
      user: 'u@x',
    });
    expect(parsePostgresUrl('postgres://u:p@h/db').port).toBe(5432);
  });

  it('should reject other schemes and missing parts without echoing the password', () => {
    expect(() => parsePostgresUrl('mysql://u:pw1@h/db')).toThrow(/scheme must be postgres/);
    expect(() => parsePostgresUrl('mysql://u:pw1@h/db')).not.toThrow(/pw1/);
    expect(() => parsePostgresUrl('postgres://u:pw2@h')).toThrow(/must name a host and a database/);
    expect(() => parsePostgresUrl('not a url pw3')).toThrow(/^invalid database URL: expected/);
  });
});

describe('withDatabase', () => {
  it('should swap the database and keep credentials and parameters', () => {
    expect(withDatabase('postgres://u:p@h:1/a?sslmode=disable', 'b_c')).toBe('postgres://u:p@h:1/b_c?sslmode=disable');
  });
});
