// Lint fixture: a domain lib (type:domain) importing an infrastructure lib (type:infra).
import { loadConfig } from '@berth/config';

export const forbidden = loadConfig;
