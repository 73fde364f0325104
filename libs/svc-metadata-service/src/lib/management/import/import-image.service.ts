import { Injectable } from '@nestjs/common';
import type { ArmContext, ArmResponse } from '../arm/arm-context';
import { ArmError } from '../arm/arm-error';

@Injectable()
export class ImportImageService {
  importImage(_ctx: ArmContext, _rg: string, _registry: string): Promise<ArmResponse> {
    return Promise.reject(new ArmError(501, 'NotImplemented', 'importImage is not implemented yet.'));
  }
}
