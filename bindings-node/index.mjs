// ESM entry: the same module as `require('xenpool')`.
import xenpool from './index.js'

export const {
  connect,
  Pool,
  Session,
  ObjectCache,
  Simulator,
  startSimulator,
  XenAPIError,
  WrongTypeError,
  ERROR_CODES,
  createPool,
  recoverLostCoordinator,
} = xenpool
export default xenpool
