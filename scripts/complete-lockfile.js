#!/usr/bin/env node
// The registry this project installs from serves only some platforms' builds of packages such as
// @swc/core: `npm install` then leaves the other platforms' optional packages out of
// package-lock.json, and `npm ci` refuses the lock as "out of sync". This adds each missing
// optional package as an optional, platform-restricted entry (npm skips it on other platforms
// and tolerates it failing to download). Run it after any `npm install` that changes the lock:
//   npm run lock:complete
'use strict';
const { readFileSync, writeFileSync } = require('node:fs');

const OSES = [
  'darwin',
  'win32',
  'linux',
  'freebsd',
  'android',
  'openbsd',
  'openharmony',
  'sunos',
  'aix',
  'netbsd',
];
const CPUS = ['arm64', 'x64', 'ia32', 'arm', 'ppc64', 's390x', 'riscv64', 'loong64', 'wasm32'];

const file = 'package-lock.json';
const lock = JSON.parse(readFileSync(file, 'utf8'));
const packages = lock.packages;
const added = [];

for (const [path, meta] of Object.entries(packages)) {
  for (const [name, spec] of Object.entries(meta.optionalDependencies ?? {})) {
    const nested = `${path ? `${path}/` : ''}node_modules/${name}`;
    const hoisted = `node_modules/${name}`;
    if (packages[nested] || packages[hoisted]) continue;
    const base = name.split('/').pop();
    const os = OSES.find((candidate) => base.includes(candidate)) ?? (base.includes('-win') ? 'win32' : null);
    const cpu = CPUS.find((candidate) => base.includes(`-${candidate}`));
    packages[hoisted] = {
      version: String(spec).replace(/^[\^~=]/, ''),
      optional: true,
      ...(os ? { os: [os] } : {}),
      ...(cpu ? { cpu: [cpu] } : {}),
    };
    added.push(hoisted);
  }
}

writeFileSync(file, `${JSON.stringify(lock, null, 2)}\n`);
process.stdout.write(`complete-lockfile: added ${added.length} optional platform entries\n`);
