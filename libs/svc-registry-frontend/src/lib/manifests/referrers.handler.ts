import { Injectable } from '@nestjs/common';
import { RegistryError } from '@berth/oci';
import type { RouteOf, V2Request } from '../routing/v2-request';

/** Placeholder until this part of the data plane is built: answers UNSUPPORTED (405). */
@Injectable()
export class ReferrersHandler {
  // eslint-disable-next-line @typescript-eslint/require-await
  async list(_ctx: V2Request<RouteOf<'referrers'>>): Promise<void> {
    throw new RegistryError('UNSUPPORTED', 'not implemented yet');
  }
}
