import type { Descriptor, ParsedManifest } from './manifest.types';
import { MediaTypes, NON_DISTRIBUTABLE_LAYER_MEDIA_TYPES } from './media-types';

/** Content a manifest points at that must already be in the repository before the manifest is accepted. */
export interface ManifestReference {
  /** `blob`: a config or layer (blob store). `manifest`: an index child (manifest store). */
  readonly kind: 'blob' | 'manifest';
  readonly digest: string;
  readonly mediaType: string;
  readonly size: number;
}

/**
 * What the registry must find before accepting `parsed`; each missing one is a MANIFEST_BLOB_UNKNOWN
 * (distribution-spec: missing referenced content MAY be refused). Deduplicated by kind and digest, first
 * occurrence first (Docker images often repeat the empty layer).
 *
 * - Image: the config and every layer are blobs, except a non-distributable (OCI) or foreign (Docker)
 *   layer whose `urls` are all http(s) without a fragment: clients fetch those from the URLs, and the
 *   conformance "Non-distributable Layers" data set never pushes them. This is distribution's rule
 *   (`ocimanifesthandler.go`, `schema2manifesthandler.go`). An ordinary layer with `urls` is still
 *   required, as in distribution, since most clients pull layers only from the registry.
 * - Index: every child is a manifest.
 * - `subject` is never required: distribution-spec says a subject pointing at a missing manifest MUST
 *   be accepted.
 * - `data` does not exempt a descriptor: clients may still fetch the blob by digest.
 */
export function referencesOf(parsed: ParsedManifest): ManifestReference[] {
  const refs: ManifestReference[] = [];
  const seen = new Set<string>();
  const add = (kind: ManifestReference['kind'], d: Descriptor): void => {
    const key = `${kind} ${d.digest}`;
    if (seen.has(key)) return;
    seen.add(key);
    refs.push({ kind, digest: d.digest, mediaType: d.mediaType, size: d.size });
  };

  switch (parsed.kind) {
    case 'image':
      add('blob', parsed.config);
      for (const layer of parsed.layers) {
        if (!isExternallyHosted(layer)) add('blob', layer);
      }
      break;
    case 'index':
      for (const child of parsed.manifests) add('manifest', child);
      break;
  }
  return refs;
}

function isExternallyHosted(layer: Descriptor): boolean {
  return (
    NON_DISTRIBUTABLE_LAYER_MEDIA_TYPES.includes(layer.mediaType) &&
    layer.urls !== undefined &&
    layer.urls.length > 0 &&
    layer.urls.every(isFetchableUrl)
  );
}

/** distribution's check: an absolute http or https URL with no fragment. */
function isFetchableUrl(value: string): boolean {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return false;
  }
  return (url.protocol === 'http:' || url.protocol === 'https:') && !value.includes('#');
}

/** One entry of a referrers response (an OCI index's `manifests`). */
export interface ReferrerDescriptor {
  readonly mediaType: string;
  readonly digest: string;
  readonly size: number;
  readonly artifactType?: string;
  readonly annotations?: Readonly<Record<string, string>>;
}

/**
 * The descriptor listing `parsed` in the referrers response of its subject. distribution-spec: artifactType
 * is the manifest's own, else (image manifests) the config media type; an index without one has none.
 * All of the manifest's annotations are copied.
 */
export function referrerDescriptor(parsed: ParsedManifest): ReferrerDescriptor {
  const artifactType = parsed.artifactType ?? (parsed.kind === 'image' ? parsed.config.mediaType : undefined);
  return {
    mediaType: parsed.mediaType,
    digest: parsed.digest,
    size: parsed.size,
    ...(artifactType === undefined ? {} : { artifactType }),
    ...(parsed.annotations === undefined ? {} : { annotations: parsed.annotations }),
  };
}

/** A Helm chart pushed with `helm push oci://…`: an image manifest whose config is Helm's. */
export function isHelmChart(parsed: ParsedManifest): boolean {
  return parsed.kind === 'image' && parsed.config.mediaType === MediaTypes.HelmConfig;
}
