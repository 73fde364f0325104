import type { AttributesPatch } from './acr-params.util';

/** ACR's `changeableAttributes` object (acr.md §2.4); manifests may add the quarantine fields. */
export interface ChangeableAttributesBody {
  readonly deleteEnabled: boolean;
  readonly writeEnabled: boolean;
  readonly readEnabled: boolean;
  readonly listEnabled: boolean;
  readonly quarantineState?: string;
  readonly quarantineDetails?: string;
}

/** The attribute columns every repository, tag and manifest row carries. */
export interface AttributeColumns {
  delete_enabled: boolean;
  write_enabled: boolean;
  read_enabled: boolean;
  list_enabled: boolean;
  quarantine_state?: string | null;
  quarantine_details?: string | null;
}

export function changeableAttributes(row: AttributeColumns): ChangeableAttributesBody {
  return {
    deleteEnabled: row.delete_enabled,
    writeEnabled: row.write_enabled,
    readEnabled: row.read_enabled,
    listEnabled: row.list_enabled,
    ...(row.quarantine_state ? { quarantineState: row.quarantine_state } : {}),
    ...(row.quarantine_details ? { quarantineDetails: row.quarantine_details } : {}),
  };
}

/** RFC 3339 UTC, as ACR's `createdTime`/`lastUpdateTime`. */
export function isoTime(value: Date | string): string {
  return (value instanceof Date ? value : new Date(value)).toISOString();
}

const COLUMN_OF: Record<keyof AttributesPatch, string> = {
  deleteEnabled: 'delete_enabled',
  writeEnabled: 'write_enabled',
  readEnabled: 'read_enabled',
  listEnabled: 'list_enabled',
  quarantineState: 'quarantine_state',
  quarantineDetails: 'quarantine_details',
};

/**
 * `SET` assignments for a validated patch, with parameters numbered from `firstParam`; always bumps
 * `updated_at` (ACR's lastUpdateTime moves on an attribute change). Column names come from the fixed
 * table above, never from the client.
 */
export function attributeAssignments(patch: AttributesPatch, firstParam: number): { sql: string; params: unknown[] } {
  const sets: string[] = [];
  const params: unknown[] = [];
  for (const key of Object.keys(COLUMN_OF) as Array<keyof AttributesPatch>) {
    if (patch[key] === undefined) continue;
    params.push(patch[key]);
    sets.push(`${COLUMN_OF[key]} = $${firstParam + params.length - 1}`);
  }
  sets.push('updated_at = now()');
  return { sql: sets.join(', '), params };
}
