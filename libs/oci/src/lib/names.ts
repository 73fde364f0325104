import { RegistryError } from './errors';

/** distribution-spec: a repository name is path components separated by `/`. */
const REPOSITORY_NAME = /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*$/;
/** distribution-spec: a tag, at most 128 characters. */
const TAG = /^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/;
/**
 * Clients cap `host/name` at 255 characters; the longest login server Berth issues
 * (`<50-char registry>.<region>.geo.<suffix>`) leaves well over 128 for the name, so 255 bounds it safely.
 */
export const MAX_REPOSITORY_NAME_LENGTH = 255;

export function isRepositoryName(name: string): boolean {
  return typeof name === 'string' && name.length <= MAX_REPOSITORY_NAME_LENGTH && REPOSITORY_NAME.test(name);
}

/** Rejects traversal (`..`), empty components, upper case, over-long names: NAME_INVALID. */
export function assertRepositoryName(name: string): string {
  if (!isRepositoryName(name)) {
    throw new RegistryError('NAME_INVALID', 'invalid repository name', {
      name: typeof name === 'string' ? name.slice(0, 300) : null,
    });
  }
  return name;
}

export function isTag(tag: string): boolean {
  return typeof tag === 'string' && TAG.test(tag);
}

export function assertTag(tag: string): string {
  if (!isTag(tag)) {
    throw new RegistryError('TAG_INVALID', 'invalid tag', { tag: typeof tag === 'string' ? tag.slice(0, 200) : null });
  }
  return tag;
}
