// Bundle the client into dist/: index.html, assets/app.js (+ app.css), no runtime downloads.
//   node build.mjs            one build (what `make install` runs)
//   node build.mjs --watch    rebuild on change
import { cp, mkdir, rm } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import * as esbuild from 'esbuild'

const watch = process.argv.includes('--watch')
const out = new URL('./dist/', import.meta.url)

await rm(out, { recursive: true, force: true })
await mkdir(new URL('assets/', out), { recursive: true })
await cp(new URL('./public/', import.meta.url), out, { recursive: true })

const options = {
  absWorkingDir: fileURLToPath(new URL('.', import.meta.url)),
  entryPoints: { app: 'src/main.js' },
  outdir: 'dist/assets',
  bundle: true,
  format: 'esm',
  target: ['es2022'],
  minify: !watch,
  sourcemap: true,
  legalComments: 'linked',
  logLevel: 'info'
}

if (watch) {
  const context = await esbuild.context(options)
  await context.watch()
} else {
  await esbuild.build(options)
}
