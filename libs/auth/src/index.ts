// @berth/auth: the pure identity core. Docker scope grammar and access sets, built-in roles, scope maps,
// subjects, JWT claim shapes and ES256 sign/verify (jose), secret envelopes under the master key, and
// password hashing. No framework, no I/O beyond node:crypto.
export * from './lib/auth.errors';
export * from './lib/access';
export * from './lib/roles';
export * from './lib/arm-scope';
export * from './lib/scope-map';
export * from './lib/subject';
export * from './lib/claims';
export * from './lib/signing-key';
export * from './lib/jwt';
export * from './lib/envelope';
export * from './lib/password-hash.util';
