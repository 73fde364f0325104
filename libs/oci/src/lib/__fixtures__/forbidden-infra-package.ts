// Lint fixture (never compiled or shipped): a pure domain lib importing an infrastructure package.
// libs/testing/src/lint/module-boundaries.integration-spec.ts expects this to be reported.
import { DataSource } from 'typeorm';

export const forbidden = DataSource;
