/** The registry a data-plane request addresses, as the frontend needs it on every request. */
export interface RegistryRef {
  readonly id: string;
  readonly name: string;
  readonly loginServer: string;
  readonly sku: 'Basic' | 'Standard' | 'Premium';
  /** The home region: where pushes land and pulls are served from unless a replica has the blob. */
  readonly location: string;
  /** The region of the endpoint the request came through (`<name>.<region>.geo.<suffix>`), else the home. */
  readonly region: string;
  readonly anonymousPullEnabled: boolean;
}
