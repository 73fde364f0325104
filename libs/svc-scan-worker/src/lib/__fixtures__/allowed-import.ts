// Lint fixture: a feature lib importing a domain lib, which the boundaries allow.
import { parseDigest } from '@berth/oci';

export const allowed = parseDigest;
