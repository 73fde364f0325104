/**
 * A management-API failure in ARM's error shape (`{"error":{"code","message","target"?}}`, common-types v5).
 * Services throw these (or plain domain errors the filter maps); the filter is the only place that renders them.
 */
export class ArmError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly target?: string,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** The ARM error body. */
export function armErrorBody(err: ArmError): { error: { code: string; message: string; target?: string } } {
  return { error: { code: err.code, message: err.message, ...(err.target ? { target: err.target } : {}) } };
}

export const badRequest = (code: string, message: string, target?: string): ArmError =>
  new ArmError(400, code, message, target);

export const invalidContent = (message: string, target?: string): ArmError =>
  new ArmError(400, 'InvalidRequestContent', message, target);

export const conflict = (code: string, message: string, target?: string): ArmError =>
  new ArmError(409, code, message, target);

export function resourceNotFound(type: string, name: string, resourceGroup: string): ArmError {
  return new ArmError(
    404,
    'ResourceNotFound',
    `The Resource '${type}/${name}' under resource group '${resourceGroup}' was not found.`,
  );
}

/** ARM answers an unknown subscription, and one the caller has no role in, the same way. */
export function subscriptionNotFound(subscriptionId: string): ArmError {
  return new ArmError(404, 'SubscriptionNotFound', `The subscription '${subscriptionId}' could not be found.`);
}

export function resourceGroupNotFound(name: string): ArmError {
  return new ArmError(404, 'ResourceGroupNotFound', `Resource group '${name}' could not be found.`);
}
