// The authorization matrix (test/helpers/authz-matrix.ts), shard 1 of 2.
import t from 'tap'
import { authzMatrix } from './helpers/authz-matrix.js'

t.test('every route answers each kind of visitor as its policy says (shard 1 of 2)', async (t) => {
  await authzMatrix(t, 0, 2)
})
