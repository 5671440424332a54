// A tiny element builder: h('li.item', {dataset: {id}}, child, 'text', ...).

export function h (tag, props = {}, ...children) {
  const [name, ...classes] = tag.split('.')
  const el = document.createElement(name || 'div')
  if (classes.length) el.className = classes.join(' ')
  for (const [key, value] of Object.entries(props ?? {})) {
    if (value == null || value === false) continue
    if (key === 'dataset') Object.assign(el.dataset, value)
    else if (key === 'style') el.style.cssText = value // CSSOM, which the page's CSP allows
    else if (key.startsWith('on')) el.addEventListener(key.slice(2), value)
    else if (key in el && key !== 'list') el[key] = value
    else el.setAttribute(key, value === true ? '' : value)
  }
  el.append(...children.flat().filter((c) => c != null && c !== false))
  return el
}

export const $ = (selector, root = document) => root.querySelector(selector)

/** Set text only when it changed (keeps the DOM quiet on the frequent re-renders). */
export function setText (el, text) {
  const value = String(text)
  if (el.textContent !== value) el.textContent = value
}
