// @berth/tiers: the SKU catalog as data (ACR's figures), installation overrides, tier-change validation and
// the throttling and quota arithmetic. Pure: no I/O, no framework.
export * from './lib/sku-catalog';
export * from './lib/tier-catalog';
export * from './lib/sku-change';
export * from './lib/throttle';
