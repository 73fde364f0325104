import { Controller, Get, Header } from '@nestjs/common';

/** distribution-spec end-1: `GET /v2/` answers 200 when the registry implements the API. */
@Controller('v2')
export class BaseController {
  @Get()
  @Header('Docker-Distribution-API-Version', 'registry/2.0')
  @Header('Content-Type', 'application/json')
  base(): Record<string, never> {
    return {};
  }
}
