import { Injectable } from '@nestjs/common';
import { RegistryError } from '@berth/oci';
import type { RouteOf, V2Request } from '../routing/v2-request';

/** Placeholder until this part of the data plane is built: answers UNSUPPORTED (405). */
@Injectable()
export class UploadsHandler {
  // eslint-disable-next-line @typescript-eslint/require-await
  async start(_ctx: V2Request<RouteOf<'uploads'>>): Promise<void> {
    throw new RegistryError('UNSUPPORTED', 'not implemented yet');
  }
  // eslint-disable-next-line @typescript-eslint/require-await
  async status(_ctx: V2Request<RouteOf<'upload'>>): Promise<void> {
    throw new RegistryError('UNSUPPORTED', 'not implemented yet');
  }
  // eslint-disable-next-line @typescript-eslint/require-await
  async patch(_ctx: V2Request<RouteOf<'upload'>>): Promise<void> {
    throw new RegistryError('UNSUPPORTED', 'not implemented yet');
  }
  // eslint-disable-next-line @typescript-eslint/require-await
  async complete(_ctx: V2Request<RouteOf<'upload'>>): Promise<void> {
    throw new RegistryError('UNSUPPORTED', 'not implemented yet');
  }
  // eslint-disable-next-line @typescript-eslint/require-await
  async cancel(_ctx: V2Request<RouteOf<'upload'>>): Promise<void> {
    throw new RegistryError('UNSUPPORTED', 'not implemented yet');
  }
}
