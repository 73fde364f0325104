import type { ArmCaller } from './arm-identity.port';

/** What every management handler receives: the verified caller and the request's essentials. */
export interface ArmContext {
  caller: ArmCaller;
  /** Lower case, as stored. */
  subscriptionId: string;
  apiVersion: string;
  /** `scheme://host` the client used: polling URLs point back to it. */
  baseUrl: string;
  body: unknown;
  query: Record<string, string | string[] | undefined>;
}

/** A handler's answer; the controller writes it. */
export interface ArmResponse {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export const ok = (body: unknown, status = 200): ArmResponse => ({ status, body });
