/** The validated BerthConfig of this process. */
export const BERTH_CONFIG = Symbol('BERTH_CONFIG');
/** The process's root pino logger; take a child with `logger.child({ component })`. */
export const ROOT_LOGGER = Symbol('ROOT_LOGGER');
