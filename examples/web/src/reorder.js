// Drag to reorder (HTML5 drag and drop), and Alt+↑ / Alt+↓ on a focused row for the keyboard.
// Both end in onMove(itemId, index): the index in the list as it would be without the item,
// which model.positionForIndex turns into a midpoint position.

const MIME = 'application/x-playsync-item'

/** Where a drop at clientY lands: the number of other rows whose middle is above it. */
function dropIndex (list, draggedId, clientY) {
  let index = 0
  for (const row of list.children) {
    if (row.dataset.id === draggedId) continue
    const box = row.getBoundingClientRect()
    if (box.top + box.height / 2 < clientY) index++
  }
  return index
}

function showMarker (list, draggedId, index) {
  const others = [...list.children].filter((row) => row.dataset.id !== draggedId)
  for (const row of list.children) row.classList.remove('drop-before', 'drop-after')
  if (!others.length) return
  if (index < others.length) others[index].classList.add('drop-before')
  else others[others.length - 1].classList.add('drop-after')
}

export function enableReorder (list, onMove) {
  let dragged = null

  const clear = () => {
    for (const row of list.children) row.classList.remove('dragging', 'drop-before', 'drop-after')
    dragged = null
  }

  list.addEventListener('dragstart', (event) => {
    const row = event.target.closest?.('li[data-id]')
    if (!row) return
    dragged = row.dataset.id
    event.dataTransfer.setData(MIME, dragged)
    event.dataTransfer.effectAllowed = 'move'
    row.classList.add('dragging')
  })
  list.addEventListener('dragover', (event) => {
    if (!dragged) return
    event.preventDefault()
    event.dataTransfer.dropEffect = 'move'
    showMarker(list, dragged, dropIndex(list, dragged, event.clientY))
  })
  list.addEventListener('drop', (event) => {
    if (!dragged) return
    event.preventDefault()
    const id = dragged
    const index = dropIndex(list, id, event.clientY)
    clear()
    onMove(id, index)
  })
  list.addEventListener('dragend', clear)

  list.addEventListener('keydown', (event) => {
    if (!event.altKey || (event.key !== 'ArrowUp' && event.key !== 'ArrowDown')) return
    const row = event.target.closest?.('li[data-id]')
    if (!row) return
    event.preventDefault()
    const rows = [...list.children]
    const at = rows.indexOf(row)
    const index = event.key === 'ArrowUp' ? at - 1 : at + 1
    if (index < 0 || index >= rows.length) return
    onMove(row.dataset.id, index)
    requestAnimationFrame(() => list.querySelector(`li[data-id="${CSS.escape(row.dataset.id)}"]`)?.focus())
  })
}
