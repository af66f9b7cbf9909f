import assert from 'node:assert/strict';
import { it } from 'node:test';
import { newId } from './ids.ts';

it('ids are prefixed, unique and sort in creation order', () => {
  const ids = Array.from({ length: 2000 }, () => newId('chr'));
  assert.ok(ids.every((id) => /^chr_[0-9a-z]{26}$/.test(id)));
  assert.equal(new Set(ids).size, ids.length);
  assert.deepEqual([...ids].sort(), ids);
});
