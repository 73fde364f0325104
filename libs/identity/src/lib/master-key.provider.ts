import type { Provider } from '@nestjs/common';
import { generateMasterKey, MasterKeyError, parseMasterKey } from '@berth/auth';
import type { BerthConfig } from '@berth/config';
import { BERTH_CONFIG } from '@berth/platform';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { MASTER_KEY } from './identity.tokens';

/**
 * The master key: BERTH_MASTER_KEY when set (required in distributed processes, which config enforces);
 * in the embedded default, `<data>/master.key` (0600), generated once on first start and reused.
 */
export async function loadMasterKey(config: BerthConfig): Promise<Buffer> {
  if (config.masterKey) return parseMasterKey(config.masterKey);
  if (config.mode !== 'embedded') throw new MasterKeyError('BERTH_MASTER_KEY is required when services run as separate processes');
  const file = path.join(config.dataDir, 'master.key');
  try {
    return parseMasterKey(await readFile(file, 'utf8'));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw e instanceof MasterKeyError ? new MasterKeyError(`${file} does not hold a valid master key`) : e;
    }
  }
  await mkdir(config.dataDir, { recursive: true, mode: 0o711 });
  try {
    // `wx`: exactly one writer wins if two starts race; the loser reads the winner's key.
    await writeFile(file, `${generateMasterKey()}\n`, { mode: 0o600, flag: 'wx' });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  }
  return parseMasterKey(await readFile(file, 'utf8'));
}

export const MasterKeyProvider: Provider = {
  provide: MASTER_KEY,
  inject: [BERTH_CONFIG],
  useFactory: (config: BerthConfig) => loadMasterKey(config),
};
