// External validators the tests run for real. CI installs them (.ci/run's apt-get line); a
// missing one fails the test with the package to install rather than skipping silently.
import {execa} from 'execa'

export async function runTool(tool: string, debianPackage: string, args: string[], input?: string) {
  const result = await execa(tool, args, {input, reject: false})
  if ((result as {code?: string}).code === 'ENOENT') {
    throw new Error(`${tool} is not installed; apt-get install ${debianPackage} (see .ci/run)`)
  }
  return result
}
