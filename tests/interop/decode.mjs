// Decode Yjs v1 updates with yjs itself (Y.decodeUpdate), for the differential tests of
// server/engine/updates.py. Input: one base64 update per line. Output: one JSON line each,
// {"ok": true, "structs": [...], "ds": {...}} or {"ok": false, "error": "..."}.
import * as Y from 'yjs'
import readline from 'node:readline'

const b64 = (bytes) => Buffer.from(bytes).toString('base64')
const id = (i) => (i === null ? null : [i.client, i.clock])

const typeRef = (t) => {
  if (t instanceof Y.XmlText) return [6, null]
  if (t instanceof Y.Text) return [2, null]
  if (t instanceof Y.XmlElement) return [3, t.nodeName]
  if (t instanceof Y.XmlFragment) return [4, null]
  if (t instanceof Y.XmlHook) return [5, t.hookName]
  if (t instanceof Y.Map) return [1, null]
  if (t instanceof Y.Array) return [0, null]
  return [-1, null]
}

const content = (c) => {
  if (c instanceof Y.ContentDeleted) return { ref: 1, length: c.len }
  if (c instanceof Y.ContentJSON) return { ref: 2, values: c.arr }
  if (c instanceof Y.ContentBinary) return { ref: 3, data: b64(c.content) }
  if (c instanceof Y.ContentString) return { ref: 4, text: c.str }
  if (c instanceof Y.ContentEmbed) return { ref: 5, value: c.embed }
  if (c instanceof Y.ContentFormat) return { ref: 6, key: c.key, value: c.value }
  if (c instanceof Y.ContentType) {
    const [ref, name] = typeRef(c.type)
    return { ref: 7, type_ref: ref, name }
  }
  if (c instanceof Y.ContentAny) return { ref: 8, values: c.arr }
  if (c instanceof Y.ContentDoc) return { ref: 9, guid: c.doc.guid }
  return { ref: -1 }
}

// Values JSON cannot say as they are: tagged, the same way the Python side tags them.
const replacer = (_key, value) => {
  if (typeof value === 'bigint') return { $bigint: value.toString() }
  if (value instanceof Uint8Array) return { $bytes: b64(value) }
  if (value === undefined) return { $undefined: true }
  if (typeof value === 'number' && !Number.isFinite(value)) return { $number: String(value) }
  return value
}

const decode = (line) => {
  const { structs, ds } = Y.decodeUpdate(new Uint8Array(Buffer.from(line, 'base64')))
  const out = structs.map((s) => {
    const base = { client: s.id.client, clock: s.id.clock, length: s.length }
    if (s instanceof Y.GC) return { kind: 'gc', ...base }
    if (s instanceof Y.Item) {
      const parent = s.parent === null ? null : typeof s.parent === 'string' ? s.parent : id(s.parent)
      return {
        kind: 'item',
        ...base,
        origin: id(s.origin),
        right_origin: id(s.rightOrigin),
        parent,
        parent_sub: s.parentSub,
        content: content(s.content)
      }
    }
    return { kind: 'skip', ...base }
  })
  const deletes = {}
  for (const [client, items] of ds.clients) {
    if (items.length) deletes[client] = items.map((d) => [d.clock, d.len])
  }
  return { ok: true, structs: out, ds: deletes }
}

const rl = readline.createInterface({ input: process.stdin, crlfDelay: Infinity })
for await (const line of rl) {
  let reply
  try {
    reply = JSON.stringify(decode(line.trim()), replacer)
  } catch (err) {
    reply = JSON.stringify({ ok: false, error: String(err && err.message ? err.message : err) })
  }
  process.stdout.write(reply + '\n')
}
