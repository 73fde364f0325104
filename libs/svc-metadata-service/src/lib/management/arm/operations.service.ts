import { Inject, Injectable } from '@nestjs/common';
import { CACHE_STORE, type KeyValueStore } from '@berth/cache';
import { randomUUID } from 'node:crypto';
import { ArmError } from './arm-error';

/** ARM's async-operation statuses. */
export type OperationStatus = 'InProgress' | 'Succeeded' | 'Failed' | 'Canceled';

/** One long-running operation, as its status URL reports it. */
export interface OperationRecord {
  id: string;
  subscriptionId: string;
  status: OperationStatus;
  startTime: string;
  endTime?: string;
  error?: { code: string; message: string };
}

/** Status records live a day (ARM keeps operation results for a limited time too). */
const TTL_SECONDS = 24 * 3600;
const key = (id: string): string => `arm-op:${id}`;

/**
 * Long-running operations (reference §4.3): a record per operation in the cache store (shared by every
 * metadata-service process), polled through `Azure-AsyncOperation` (`.../operationStatuses/{id}`, 200 with
 * `{status}`) and `Location` (`.../operationResults/{id}`: 202 while running, 200 when done, the error when failed).
 */
@Injectable()
export class OperationsService {
  constructor(@Inject(CACHE_STORE) private readonly cache: KeyValueStore) {}

  /** Records an operation, finished (`work` omitted) or running `work` in the background. */
  async start(subscriptionId: string, work?: () => Promise<void>): Promise<OperationRecord> {
    const now = new Date().toISOString();
    const op: OperationRecord = work
      ? { id: randomUUID(), subscriptionId, status: 'InProgress', startTime: now }
      : { id: randomUUID(), subscriptionId, status: 'Succeeded', startTime: now, endTime: now };
    await this.save(op);
    if (work) {
      void work()
        .then(
          () => this.save({ ...op, status: 'Succeeded', endTime: new Date().toISOString() }),
          (err: unknown) =>
            this.save({
              ...op,
              status: 'Failed',
              endTime: new Date().toISOString(),
              error:
                err instanceof ArmError
                  ? { code: err.code, message: err.message }
                  : { code: 'InternalServerError', message: 'The operation failed; see the service logs.' },
            }),
        )
        .catch(() => undefined);
    }
    return op;
  }

  /** The operation, if it exists in this subscription (another subscription's id is unknown here, as in ARM). */
  async get(subscriptionId: string, id: string): Promise<OperationRecord> {
    const raw = /^[0-9a-f-]{36}$/i.test(id) ? await this.cache.get(key(id.toLowerCase())) : undefined;
    const op = raw ? (JSON.parse(raw) as OperationRecord) : undefined;
    if (!op || op.subscriptionId !== subscriptionId.toLowerCase()) {
      throw new ArmError(404, 'OperationNotFound', `The operation '${id}' could not be found.`);
    }
    return op;
  }

  /** `Azure-AsyncOperation` and `Location` for an operation, under the request's own base URL. */
  urls(
    base: string,
    op: OperationRecord,
    location: string,
    apiVersion: string,
  ): { asyncOperation: string; location: string } {
    const prefix = `${base}/subscriptions/${op.subscriptionId}/providers/Microsoft.ContainerRegistry/locations/${location}`;
    return {
      asyncOperation: `${prefix}/operationStatuses/${op.id}?api-version=${apiVersion}`,
      location: `${prefix}/operationResults/${op.id}?api-version=${apiVersion}`,
    };
  }

  private async save(op: OperationRecord): Promise<void> {
    await this.cache.set(
      key(op.id),
      JSON.stringify({ ...op, subscriptionId: op.subscriptionId.toLowerCase() }),
      TTL_SECONDS,
    );
  }
}
