import { Injectable } from '@nestjs/common';
import { RegistryError } from '@berth/oci';
import type { RouteOf, V2Request } from '../routing/v2-request';

/** Placeholder until this part of the data plane is built: answers UNSUPPORTED (405). */
@Injectable()
export class ManifestsHandler {
  // eslint-disable-next-line @typescript-eslint/require-await
  async get(_ctx: V2Request<RouteOf<'manifest'>>): Promise<void> {
    throw new RegistryError('UNSUPPORTED', 'not implemented yet');
  }
  // eslint-disable-next-line @typescript-eslint/require-await
  async put(_ctx: V2Request<RouteOf<'manifest'>>): Promise<void> {
    throw new RegistryError('UNSUPPORTED', 'not implemented yet');
  }
  // eslint-disable-next-line @typescript-eslint/require-await
  async delete(_ctx: V2Request<RouteOf<'manifest'>>): Promise<void> {
    throw new RegistryError('UNSUPPORTED', 'not implemented yet');
  }
}
