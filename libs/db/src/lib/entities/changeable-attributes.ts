import { Column } from 'typeorm';

/**
 * ACR's changeable attributes (`changeableAttributes` on repositories, manifests and tags). Each level is
 * independent: locking a tag does not lock its manifest. `writeEnabled=false` makes the item immutable and
 * also blocks deletion; `deleteEnabled=false` blocks deletion; `readEnabled=false` blocks pulls;
 * `listEnabled=false` hides the item from listings.
 */
export class ChangeableAttributes {
  @Column({ type: 'boolean', default: true })
  deleteEnabled!: boolean;

  @Column({ type: 'boolean', default: true })
  writeEnabled!: boolean;

  @Column({ type: 'boolean', default: true })
  readEnabled!: boolean;

  @Column({ type: 'boolean', default: true })
  listEnabled!: boolean;
}
