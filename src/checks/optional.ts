// The status of a finding that matters only to those who want the feature (confidential guests,
// device passthrough): never a warning on a host that runs ordinary VMs fine.
import type {Status} from './types.js'

export const OPTIONAL: Status = 'info'
