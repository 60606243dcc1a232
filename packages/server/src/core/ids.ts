import { randomUUID } from 'node:crypto';

/** Server-made ids: random UUIDs with a readable prefix per kind. */
export function newId(prefix: 'c' | 'm' | 'conn' | 'att' | 'note' | 'canned'): string {
  return `${prefix}_${randomUUID().replaceAll('-', '')}`;
}
