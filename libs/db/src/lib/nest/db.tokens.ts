/** DI token of the connected TypeORM DataSource (`@Inject(DATA_SOURCE) ds: DataSource`). */
export const DATA_SOURCE = Symbol('DATA_SOURCE');

/** DI token of the DbModuleOptions the module was configured with. */
export const DB_MODULE_OPTIONS = Symbol('DB_MODULE_OPTIONS');
