import { DefaultNamingStrategy, type NamingStrategyInterface, type Table } from 'typeorm';

/** `registryId` → `registry_id`, `publicJWK` → `public_jwk`, `password1Hash` → `password1_hash`. */
export function snakeCase(name: string): string {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1_$2')
    .toLowerCase();
}

/**
 * Maps camelCase entity properties to snake_case columns and names constraints the way PostgreSQL names
 * them by default (`<table>_pkey`, `<table>_<columns>_key`, `<table>_<columns>_fkey`, `<table>_<columns>_idx`).
 * The hand-written migrations use the same names, so the entities describe the schema exactly (the
 * schema-drift test checks it) and a constraint error names something a reader can find in the migration.
 */
export class SnakeNamingStrategy extends DefaultNamingStrategy implements NamingStrategyInterface {
  override tableName(targetName: string, userSpecifiedName: string | undefined): string {
    return userSpecifiedName ?? snakeCase(targetName.replace(/Entity$/, ''));
  }

  override columnName(propertyName: string, customName: string | undefined, embeddedPrefixes: string[]): string {
    return [...embeddedPrefixes.map(snakeCase), customName ?? snakeCase(propertyName)].join('_');
  }

  override relationName(propertyName: string): string {
    return snakeCase(propertyName);
  }

  override joinColumnName(relationName: string, referencedColumnName: string): string {
    return snakeCase(`${relationName}_${referencedColumnName}`);
  }

  override primaryKeyName(tableOrName: Table | string): string {
    return `${this.bareTableName(tableOrName)}_pkey`;
  }

  override uniqueConstraintName(tableOrName: Table | string, columnNames: string[]): string {
    return `${this.bareTableName(tableOrName)}_${columnNames.join('_')}_key`;
  }

  override foreignKeyName(tableOrName: Table | string, columnNames: string[]): string {
    return `${this.bareTableName(tableOrName)}_${columnNames.join('_')}_fkey`;
  }

  override indexName(tableOrName: Table | string, columnNames: string[]): string {
    return `${this.bareTableName(tableOrName)}_${columnNames.join('_')}_idx`;
  }

  /** Constraint names never carry the schema: `public.tags` → `tags`. */
  private bareTableName(tableOrName: Table | string): string {
    const name = this.getTableName(tableOrName);
    return name.slice(name.lastIndexOf('.') + 1);
  }
}
