import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { gzipSync } from 'node:zlib';

export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
export const OCI_CONFIG = 'application/vnd.oci.image.config.v1+json';
export const OCI_LAYER_GZIP = 'application/vnd.oci.image.layer.v1.tar+gzip';

export function sha256(data: Buffer | string): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

/** A ustar archive of regular files (mode 0644, mtime 0): deterministic bytes, no tar binary needed. */
export function tarOf(files: Record<string, string | Buffer>): Buffer {
  const blocks: Buffer[] = [];
  for (const [name, content] of Object.entries(files)) {
    const data = Buffer.isBuffer(content) ? content : Buffer.from(content);
    if (Buffer.byteLength(name) > 99) throw new Error(`tar name too long: ${name}`);
    const h = Buffer.alloc(512);
    const put = (s: string, off: number, len: number): void => void h.write(s, off, len, 'ascii');
    const octal = (n: number, len: number): string => n.toString(8).padStart(len - 1, '0');
    put(name, 0, 100);
    put(octal(0o644, 8), 100, 8);
    put(octal(0, 8), 108, 8); // uid
    put(octal(0, 8), 116, 8); // gid
    put(octal(data.length, 12), 124, 12);
    put(octal(0, 12), 136, 12); // mtime
    h.fill(0x20, 148, 156); // checksum field counts as spaces while summing
    put('0', 156, 1); // regular file
    put('ustar\u000000', 257, 8);
    let sum = 0;
    for (const b of h) sum += b;
    put(`${sum.toString(8).padStart(6, '0')}\u0000 `, 148, 8);
    blocks.push(h, data, Buffer.alloc((512 - (data.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
}

export interface LayoutImage {
  dir: string;
  tag: string;
  manifest: Buffer;
  manifestDigest: string;
  layerDigest: string;
  configDigest: string;
}

/**
 * Writes an OCI image layout by hand (oci-layout, index.json, blobs/sha256/...) holding one single-layer
 * linux/amd64 image tagged `tag` (the `org.opencontainers.image.ref.name` annotation skopeo's `oci:` reads).
 */
export async function writeOciLayout(dir: string, tag: string, files: Record<string, string>): Promise<LayoutImage> {
  const blobs = path.join(dir, 'blobs', 'sha256');
  await mkdir(blobs, { recursive: true });
  const put = async (data: Buffer): Promise<string> => {
    const d = sha256(data);
    await writeFile(path.join(blobs, d.slice('sha256:'.length)), data);
    return d;
  };
  const tar = tarOf(files);
  const layer = gzipSync(tar, { level: 6 });
  const layerDigest = await put(layer);
  const config = Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      config: { Env: ['PATH=/usr/local/bin:/usr/bin:/bin'] },
      rootfs: { type: 'layers', diff_ids: [sha256(tar)] },
    }),
  );
  const configDigest = await put(config);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { mediaType: OCI_CONFIG, digest: configDigest, size: config.length },
      layers: [{ mediaType: OCI_LAYER_GZIP, digest: layerDigest, size: layer.length }],
      annotations: { 'org.opencontainers.image.title': 'berth-e2e' },
    }),
  );
  const manifestDigest = await put(manifest);
  await writeFile(path.join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  await writeFile(
    path.join(dir, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_INDEX,
      manifests: [
        {
          mediaType: OCI_MANIFEST,
          digest: manifestDigest,
          size: manifest.length,
          annotations: { 'org.opencontainers.image.ref.name': tag },
        },
      ],
    }),
  );
  return { dir, tag, manifest, manifestDigest, layerDigest, configDigest };
}
