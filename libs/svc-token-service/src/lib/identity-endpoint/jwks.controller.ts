import { Controller, Get, Header } from '@nestjs/common';
import { SigningKeys } from '@berth/identity';

/** Berth's signing keys at a well-known place (registry-frontend and other verifiers may fetch them). */
@Controller()
export class JwksController {
  constructor(private readonly keys: SigningKeys) {}

  @Get('.well-known/jwks.json')
  @Header('cache-control', 'public, max-age=300')
  jwks(): Promise<unknown> {
    return this.keys.jwks();
  }
}
