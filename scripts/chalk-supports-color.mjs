// Stands in for chalk's own colour detection (its vendored supports-color) in the bundles; see
// scripts/bundle.mjs. kvmctl always gives chalk its level (src/lib/style.ts), so nothing here is
// read; the original imports node:tty on load, and with it Node's stream modules (about 6 ms).
export default {stdout: false, stderr: false}
