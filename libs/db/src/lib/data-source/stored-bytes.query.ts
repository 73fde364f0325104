/**
 * The SELECT of a registry's stored bytes (blobs plus manifests; geo-replicas count once) as one column `bytes`: the
 * sum of its `usage_counters` rows `storage_bytes:<n>`, which the triggers of migration StorageUsageCounters keep
 * current in every writing transaction. `registryParam` is the query's placeholder for the registry id (`$1`,
 * `$2::uuid`, ...). Used as a whole statement or as a subquery.
 */
export function storedBytesQuery(registryParam: string): string {
  return `SELECT coalesce(sum(value), 0) AS bytes FROM usage_counters WHERE registry_id = ${registryParam} AND metric LIKE 'storage\\_bytes:%'`;
}
