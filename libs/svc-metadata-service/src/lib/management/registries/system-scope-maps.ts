import type { EntityManager } from 'typeorm';

/** ACR's system scope maps, created with every registry (reference §4.8). */
export const SYSTEM_SCOPE_MAPS: ReadonlyArray<{ name: string; description: string; actions: string[] }> = [
  {
    name: '_repositories_pull',
    description: 'Can pull any repository of the registry',
    actions: ['repositories/*/content/read'],
  },
  {
    name: '_repositories_pull_metadata_read',
    description: 'Can perform all read operations on the registry',
    actions: ['repositories/*/content/read', 'repositories/*/metadata/read'],
  },
  {
    name: '_repositories_push',
    description: 'Can push to any repository of the registry',
    actions: ['repositories/*/content/read', 'repositories/*/content/write'],
  },
  {
    name: '_repositories_push_metadata_write',
    description: 'Can perform all read and write operations on the registry',
    actions: [
      'repositories/*/content/read',
      'repositories/*/content/write',
      'repositories/*/metadata/read',
      'repositories/*/metadata/write',
    ],
  },
  {
    name: '_repositories_admin',
    description: 'Can perform all read, write and delete operations on the registry',
    actions: [
      'repositories/*/content/read',
      'repositories/*/content/write',
      'repositories/*/content/delete',
      'repositories/*/metadata/read',
      'repositories/*/metadata/write',
    ],
  },
];

/** Adds ACR's system scope maps to a registry. Idempotent (an existing map of the same name is left as it is). */
export async function insertSystemScopeMaps(db: Pick<EntityManager, 'query'>, registryId: string): Promise<void> {
  for (const m of SYSTEM_SCOPE_MAPS) {
    await db.query(
      `INSERT INTO scope_maps (registry_id, name, description, type, actions) VALUES ($1, $2, $3, 'SystemDefined', $4)
       ON CONFLICT DO NOTHING`,
      [registryId, m.name, m.description, m.actions],
    );
  }
}
