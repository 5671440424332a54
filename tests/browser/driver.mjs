// Headless Chromium (Debian's /usr/bin/chromium) driven by playwright-core, for pytest.
// One JSON object per line each way: {"id", "cmd", ...args} in, {"id", "ok": true, "value"} or
// {"id", "ok": false, "error"} out. Commands run one at a time, in order.
//
//   node driver.mjs [--chromium /usr/bin/chromium]
//
// Pages are named; each page gets a browser context of its own (its own storage, IndexedDB and
// network state) unless `context` names an existing one. playwright-core comes from the web
// client's devDependencies (examples/web/node_modules), installed by `make install`.
import { createRequire } from 'node:module'
import readline from 'node:readline'
import { parseArgs } from 'node:util'

const require = createRequire(new URL('../../examples/web/package.json', import.meta.url))
const { chromium } = require('playwright-core')

const { values: opts } = parseArgs({
  options: { chromium: { type: 'string', default: '/usr/bin/chromium' } }
})

// The flags this machine needs (.library/env/machines/python-svc.md). Playwright itself adds
// --headless and a new, empty --user-data-dir for every launch.
const browser = await chromium.launch({
  executablePath: opts.chromium,
  headless: true,
  args: [
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync'
  ]
})

const contexts = new Map() // name -> BrowserContext
const pages = new Map() // name -> {page, context, problems: string[]}

function page (name) {
  const entry = pages.get(name)
  if (!entry) throw new Error(`no page named ${name}`)
  return entry
}

// `expr` is the source of a JS function, called in the page with `arg`. Playwright's JS API runs
// a string as an expression (which would just yield the function), so hand it a function.
// eslint-disable-next-line no-new-func
const fn = (expr) => new Function(`return (${expr})`)()

const commands = {
  version: () => browser.version(),

  async open ({ page: name, url, context: contextName = name, viewport = { width: 1280, height: 820 } }) {
    let context = contexts.get(contextName)
    if (!context) {
      context = await browser.newContext({ viewport })
      contexts.set(contextName, context)
    }
    const p = await context.newPage()
    const problems = []
    p.on('console', (msg) => { if (msg.type() === 'error') problems.push(`console: ${msg.text()}`) })
    p.on('pageerror', (error) => problems.push(`pageerror: ${error.message}`))
    pages.set(name, { page: p, context, problems })
    await p.goto(url)
    return p.url()
  },

  eval: ({ page: name, expr, arg }) => page(name).page.evaluate(fn(expr), arg),

  async wait ({ page: name, expr, arg, timeout = 15000 }) {
    const handle = await page(name).page.waitForFunction(fn(expr), arg, { timeout, polling: 'raf' })
    const value = await handle.jsonValue()
    await handle.dispose()
    return value
  },

  click: ({ page: name, selector, timeout = 10000 }) => page(name).page.locator(selector).click({ timeout }),
  fill: ({ page: name, selector, value }) => page(name).page.locator(selector).fill(value),
  press: ({ page: name, selector, key }) => page(name).page.locator(selector).press(key),
  select: ({ page: name, selector, value }) => page(name).page.locator(selector).selectOption(value),

  async drag ({ page: name, source, target, targetPosition }) {
    const p = page(name).page
    await p.locator(source).dragTo(p.locator(target), targetPosition ? { targetPosition } : {})
  },

  // Take a context off the network (or back on): by context name, else the page's own.
  offline ({ page: name, context, offline }) {
    const target = context ? contexts.get(context) : page(name).context
    if (!target) throw new Error(`no context named ${context}`)
    return target.setOffline(offline)
  },

  async screenshot ({ page: name, path, fullPage = false }) {
    await page(name).page.screenshot({ path, fullPage })
    return path
  },

  problems: ({ page: name }) => page(name).problems,

  async close ({ page: name }) {
    const entry = page(name)
    await entry.page.close()
    pages.delete(name)
  }
}

const reply = (message) => process.stdout.write(JSON.stringify(message) + '\n')

const lines = readline.createInterface({ input: process.stdin })
reply({ id: 0, ok: true, value: browser.version() }) // ready
for await (const line of lines) {
  if (!line.trim()) continue
  let request
  try {
    request = JSON.parse(line)
    const command = commands[request.cmd]
    if (!command) throw new Error(`unknown command ${request.cmd}`)
    const value = await command(request)
    reply({ id: request.id, ok: true, value: value ?? null })
  } catch (error) {
    reply({ id: request?.id ?? null, ok: false, error: String(error?.message ?? error) })
  }
}
await browser.close()
