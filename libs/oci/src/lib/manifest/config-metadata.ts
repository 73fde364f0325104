/**
 * What ACR lists about a manifest but the manifest itself does not carry, taken from its config JSON (pure: the
 * caller reads the config blob): the platform of an image, the name and version of a Helm chart.
 */

/** The platform ACR's manifest listing shows (`architecture`, `os`), from an image config. */
export interface ImagePlatform {
  readonly architecture: string | null;
  readonly os: string | null;
}

/** A Helm chart's identity for ACR's chart events (`target.name`, `target.version`). */
export interface ChartIdentity {
  readonly name: string;
  readonly version: string;
}

/** Helm sets these annotations on the chart manifest (`helm push`), which saves reading the config blob. */
const HELM_NAME_ANNOTATION = 'org.opencontainers.image.title';
const HELM_VERSION_ANNOTATION = 'org.opencontainers.image.version';

/** image-spec config `architecture`/`os` (strings, bounded); null when absent or not strings. */
export function imagePlatform(config: Record<string, unknown> | undefined): ImagePlatform {
  return { architecture: shortString(config?.['architecture']), os: shortString(config?.['os']) };
}

/**
 * Chart name and version: the manifest annotations Helm writes, else the chart config (`Chart.yaml` as JSON),
 * else the last repository component and the tag (Helm's own layout: `<namespace>/<chart>:<version>`).
 */
export function chartIdentity(
  annotations: Readonly<Record<string, string>> | null | undefined,
  config: Record<string, unknown> | undefined,
  repository: string,
  tag: string | undefined,
): Partial<ChartIdentity> {
  const name = annotations?.[HELM_NAME_ANNOTATION] ?? shortString(config?.['name']) ?? repository.split('/').pop();
  const version = annotations?.[HELM_VERSION_ANNOTATION] ?? shortString(config?.['version']) ?? tag;
  return { ...(name ? { name } : {}), ...(version ? { version } : {}) };
}

function shortString(v: unknown): string | null {
  return typeof v === 'string' && v.length > 0 && v.length <= 256 ? v : null;
}
