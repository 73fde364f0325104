import { Controller, Get, Header } from '@nestjs/common';
import { readFileSync } from 'node:fs';
import path from 'node:path';

/** The management API's OpenAPI document: docs/openapi in the repository and the image (the sources run as they are). */
export const MANAGEMENT_OPENAPI_FILE = path.resolve(__dirname, '../../../../../docs/openapi/management.openapi.json');

/** The management API's OpenAPI document, public like ARM's published specifications. */
@Controller()
export class OpenApiController {
  private document?: string;

  @Get('openapi/management.json')
  @Header('content-type', 'application/json; charset=utf-8')
  @Header('cache-control', 'public, max-age=300')
  get(): string {
    this.document ??= readFileSync(MANAGEMENT_OPENAPI_FILE, 'utf8');
    return this.document;
  }
}
