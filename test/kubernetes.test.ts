// examples/kubernetes/daemonset.yaml: every object validates against the Kubernetes OpenAPI
// schemas (kubernetes-models), the pod writes where nfd-worker reads, and the kvmctl command it
// runs is accepted by the real CLI and writes a valid NFD feature file.
import {expect} from 'chai'
import {readFileSync} from 'node:fs'
import {readFile} from 'node:fs/promises'
import {join} from 'node:path'
import {DaemonSet} from 'kubernetes-models/apps/v1/DaemonSet'
import {Namespace} from 'kubernetes-models/v1/Namespace'
import {parseAllDocuments} from 'yaml'

import {isValidLabelName, isValidLabelValue} from '../src/report/nfd.js'
import {runCli} from './support/cli.js'
import {scratchDir} from './support/pack.js'

const FEATURES_D = '/etc/kubernetes/node-feature-discovery/features.d'
const models: Record<string, new (data: any) => {validate(): void}> = {
  'v1/Namespace': Namespace,
  'apps/v1/DaemonSet': DaemonSet,
}

function load(): any[] {
  return parseAllDocuments(readFileSync('examples/kubernetes/daemonset.yaml', 'utf8')).map((doc) => {
    expect(doc.errors, 'YAML parses').to.deep.equal([])
    return doc.toJS()
  })
}

describe('examples/kubernetes', () => {
  const docs = load()
  const daemonSet = docs.find((d) => d.kind === 'DaemonSet')

  it('validates every object against the Kubernetes schemas', () => {
    expect(docs.map((d) => d.kind)).to.deep.equal(['Namespace', 'DaemonSet'])
    for (const doc of docs) {
      const Model = models[`${doc.apiVersion}/${doc.kind}`]
      expect(Model, `${doc.apiVersion} ${doc.kind} has a model`).to.not.equal(undefined)
      expect(() => new Model(doc).validate(), `${doc.kind} ${doc.metadata.name}`).to.not.throw()
    }
  })

  it('is caught by the same validation when broken', () => {
    const broken = structuredClone(daemonSet)
    broken.spec.template.spec.containers[0].securityContext.privileged = 'yes'
    delete broken.spec.selector
    expect(() => new DaemonSet(broken).validate()).to.throw(/selector|privileged/)
  })

  it('selects its own pods and mounts features.d from the host where it writes', () => {
    const pod = daemonSet.spec.template
    expect(daemonSet.spec.selector.matchLabels).to.deep.equal(pod.metadata.labels)
    const container = pod.spec.containers[0]
    const mount = container.volumeMounts.find((m: any) => m.mountPath === FEATURES_D)
    const volume = pod.spec.volumes.find((v: any) => v.name === mount.name)
    expect(volume.hostPath.path).to.equal(FEATURES_D)
    expect(container.securityContext.privileged).to.equal(true)
    expect(container.args.join('\n')).to.contain(`--output ${FEATURES_D}/kvmctl`)
  })

  it('runs a kvmctl command the CLI accepts, writing a valid feature file', async () => {
    const script: string = daemonSet.spec.template.spec.containers[0].args.join('\n')
    const line = script
      .split('\n')
      .map((l) => l.trim())
      .find((l) => l.startsWith('kvmctl '))!
    const dir = scratchDir('kvmctl-features-d-')
    // The same arguments, with the host's features.d swapped for a temp folder.
    const args = line.replace(FEATURES_D, dir).split(/\s+/).slice(1)
    const result = await runCli(args)
    expect([0, 1], result.stderr).to.include(result.exitCode)
    const text = await readFile(join(dir, 'kvmctl'), 'utf8')
    expect(text).to.match(/^# \+expiry-time=\S+Z$/m)
    for (const label of text.split('\n').filter((l) => l && !l.startsWith('#'))) {
      const [key, value] = label.split('=')
      expect(key.startsWith('kvmctl.io/') && isValidLabelName(key.slice('kvmctl.io/'.length)), label).to.equal(true)
      expect(isValidLabelValue(value), label).to.equal(true)
    }
  })
})
