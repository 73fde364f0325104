import { SnakeNamingStrategy, snakeCase } from './snake-naming.strategy';

describe(SnakeNamingStrategy.name, () => {
  const naming = new SnakeNamingStrategy();

  describe('snakeCase', () => {
    it.each([
      ['registryId', 'registry_id'],
      ['publicJwk', 'public_jwk'],
      ['publicJWK', 'public_jwk'],
      ['password1Hash', 'password1_hash'],
      ['os', 'os'],
      ['ManifestReference', 'manifest_reference'],
    ])('should map %s to %s', (input, expected) => {
      expect(snakeCase(input)).toBe(expected);
    });
  });

  it('should snake_case columns, keep explicit names and prefix embedded columns', () => {
    expect(naming.columnName('subjectDigest', undefined, [])).toBe('subject_digest');
    expect(naming.columnName('subjectDigest', 'subject', [])).toBe('subject');
    expect(naming.columnName('deleteEnabled', undefined, ['attributes'])).toBe('attributes_delete_enabled');
  });

  it('should name tables after the class without the Entity suffix unless given', () => {
    expect(naming.tableName('UploadSessionEntity', undefined)).toBe('upload_session');
    expect(naming.tableName('UploadSessionEntity', 'upload_sessions')).toBe('upload_sessions');
  });

  it('should name join columns and relations in snake_case', () => {
    expect(naming.relationName('scopeMap')).toBe('scope_map');
    expect(naming.joinColumnName('scopeMap', 'id')).toBe('scope_map_id');
  });

  it('should name constraints as PostgreSQL does by default', () => {
    expect(naming.primaryKeyName('tags')).toBe('tags_pkey');
    expect(naming.uniqueConstraintName('repositories', ['registry_id', 'name'])).toBe(
      'repositories_registry_id_name_key',
    );
    expect(naming.foreignKeyName('tags', ['registry_id', 'repository_id'])).toBe('tags_registry_id_repository_id_fkey');
    expect(naming.indexName('public.upload_sessions', ['expires_at'])).toBe('upload_sessions_expires_at_idx');
  });
});
