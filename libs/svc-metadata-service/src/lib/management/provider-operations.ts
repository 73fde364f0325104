/** `GET /providers/Microsoft.ContainerRegistry/operations`: the operations this provider offers, ARM-shaped. */
const OPS: Array<[string, string]> = [
  ['registries/read', 'Gets the properties of the specified container registry or lists all registries.'],
  ['registries/write', 'Creates or updates a container registry with the specified parameters.'],
  ['registries/delete', 'Deletes a container registry.'],
  ['registries/listCredentials/action', 'Lists the login credentials for the specified container registry.'],
  [
    'registries/regenerateCredential/action',
    'Regenerates one of the login credentials for the specified container registry.',
  ],
  ['registries/generateCredentials/action', 'Generates passwords for a token.'],
  ['registries/listUsages/read', 'Lists the quota usages for the specified container registry.'],
  ['registries/importImage/action', 'Imports an image to the container registry.'],
  ['checkNameAvailability/read', 'Checks whether the container registry name is available for use.'],
  ['registries/replications/read', 'Gets replications.'],
  ['registries/replications/write', 'Creates or updates a replication.'],
  ['registries/replications/delete', 'Deletes a replication.'],
  ['registries/webhooks/read', 'Gets webhooks.'],
  ['registries/webhooks/write', 'Creates or updates a webhook.'],
  ['registries/webhooks/delete', 'Deletes a webhook.'],
  ['registries/webhooks/ping/action', 'Triggers a ping event to be sent to the webhook.'],
  ['registries/webhooks/listEvents/action', 'Lists recent events for the webhook.'],
  [
    'registries/webhooks/getCallbackConfig/action',
    'Gets the configuration of the service URI and custom headers for the webhook.',
  ],
  ['registries/scopeMaps/read', 'Gets scope maps.'],
  ['registries/scopeMaps/write', 'Creates or updates a scope map.'],
  ['registries/scopeMaps/delete', 'Deletes a scope map.'],
  ['registries/tokens/read', 'Gets tokens.'],
  ['registries/tokens/write', 'Creates or updates a token.'],
  ['registries/tokens/delete', 'Deletes a token.'],
];

export const PROVIDER_OPERATIONS = OPS.map(([name, description]) => ({
  name: `Microsoft.ContainerRegistry/${name}`,
  isDataAction: false,
  display: {
    provider: 'Microsoft Container Registry',
    resource: name.split('/').slice(0, -1).join('/'),
    operation: name,
    description,
  },
  origin: 'user,system',
}));
