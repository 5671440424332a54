// Yjs itself, for the differential tests of server/engine/updates.py (tests/gate). JSON lines:
// {"decode": base64} -> {"ok": true, "structs": [...], "ds": {...}} (Y.decodeUpdate), or
//                       {"ok": false, "error": "..."};
// {"build": [op...], "client": N, "base": base64?} -> {"ok": true, "updates": [base64...],
//   "state": base64}: the ops applied by a Y.Doc (client id N, on top of the update `base`),
//   one transaction each, and the update of each.
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

const fromB64 = (text) => new Uint8Array(Buffer.from(text, 'base64'))

// One edit of the kinds a Yjs app can make, schema or not: the gate must judge them all.
const apply = (doc, op) => {
  const [kind, root, ...args] = op
  const items = doc.getMap('items')
  switch (kind) {
    case 'item': {
      const [id, fields] = args
      const entry = new Y.Map()
      for (const [k, v] of Object.entries(fields)) entry.set(k, v)
      entry.set('votes', new Y.Map())
      items.set(id, entry)
      break
    }
    case 'vote': {
      const entry = items.get(args[0])
      if (!(entry instanceof Y.Map) || !(entry.get('votes') instanceof Y.Map)) break
      const votes = entry.get('votes')
      const key = String(doc.clientID)
      votes.set(key, (votes.get(key) || 0) + args[1])
      break
    }
    case 'field': {
      const entry = items.get(args[0])
      if (entry instanceof Y.Map) entry.set(args[1], args[2])
      break
    }
    case 'remove': items.delete(args[0]); break
    case 'map_set': doc.getMap(root).set(args[0], args[1]); break
    case 'map_delete': doc.getMap(root).delete(args[0]); break
    case 'binary': doc.getMap(root).set(args[0], fromB64(args[1])); break
    case 'subdoc': doc.getMap(root).set(args[0], new Y.Doc()); break
    case 'nested': doc.getMap(root).set(args[0], new Y.Array()); break
    case 'text': {
      const text = doc.getText(root)
      text.insert(Math.min(args[0], text.length), args[1])
      break
    }
    case 'text_delete': {
      const text = doc.getText(root)
      const at = Math.min(args[0], text.length)
      text.delete(at, Math.min(args[1], text.length - at))
      break
    }
    case 'format': {
      const text = doc.getText(root)
      const at = Math.min(args[0], text.length)
      text.format(at, Math.min(args[1], text.length - at), { bold: true })
      break
    }
    case 'embed': {
      const text = doc.getText(root)
      text.insertEmbed(Math.min(args[0], text.length), args[1])
      break
    }
    case 'array': {
      const array = doc.getArray(root)
      array.insert(Math.min(args[0], array.length), args[1])
      break
    }
    case 'array_delete': {
      const array = doc.getArray(root)
      const at = Math.min(args[0], array.length)
      array.delete(at, Math.min(args[1], array.length - at))
      break
    }
    case 'xml': doc.getXmlFragment(root).insert(0, [new Y.XmlElement(args[0]), new Y.XmlText(args[1])]); break
    default: throw new Error(`unknown op ${kind}`)
  }
}

const build = ({ build: ops, client, base, gc }) => {
  const doc = new Y.Doc({ gc: gc !== false })
  doc.clientID = client
  if (base) Y.applyUpdate(doc, fromB64(base))
  const updates = []
  doc.on('update', (update) => updates.push(b64(update)))
  for (const op of ops) doc.transact(() => apply(doc, op))
  return { ok: true, updates, state: b64(Y.encodeStateAsUpdate(doc)) }
}

const rl = readline.createInterface({ input: process.stdin, crlfDelay: Infinity })
for await (const line of rl) {
  let reply
  try {
    const request = JSON.parse(line)
    reply = JSON.stringify(request.build ? build(request) : decode(request.decode), replacer)
  } catch (err) {
    reply = JSON.stringify({ ok: false, error: String(err && err.message ? err.message : err) })
  }
  process.stdout.write(reply + '\n')
}
