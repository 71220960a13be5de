// Contacts: list selection (select all, the count), the custom-field filter (picking a field reloads
// the filters so the right value control shows), and click-to-edit niceties (focus the input that
// was swapped in, Escape cancels). Event-delegated; CSP-safe.
(() => {
  'use strict'
  const $$ = (sel) => Array.from(document.querySelectorAll(sel))

  const syncCount = () => {
    const boxes = $$('.contact-check')
    const n = boxes.filter(b => b.checked).length
    $$('[data-selected-count]').forEach((el) => { el.textContent = String(n) })
    $$('[data-check-all="contacts"]').forEach((all) => {
      all.checked = n > 0 && n === boxes.length
      all.indeterminate = n > 0 && n < boxes.length
    })
    document.getElementById('contacts-results')?.classList.toggle('is-selecting', n > 0)
    // The export menu says what it will export: the ticked rows, or the whole filter.
    $$('[data-export-scope]').forEach((el, i) => { el.hidden = (i % 2 === 0) === (n > 0) })
  }

  // Export: with rows ticked, only those (the link keeps the filter; the ids are added on the way out).
  document.addEventListener('click', (e) => {
    const link = e.target instanceof Element ? e.target.closest('a[data-export]') : null
    if (!link) return
    const url = new URL(link.getAttribute('href'), window.location.href)
    url.searchParams.delete('ids')
    $$('.contact-check').filter(b => b.checked).forEach((b) => { url.searchParams.append('ids', b.value) })
    link.setAttribute('href', url.pathname + url.search)
  }, true)

  document.addEventListener('change', (e) => {
    const t = e.target
    if (!(t instanceof HTMLElement)) return
    if (t.matches('[data-check-all="contacts"]')) {
      $$('.contact-check').forEach((b) => { b.checked = t.checked })
      syncCount()
    } else if (t.matches('.contact-check')) {
      syncCount()
    } else if (t.id === 'contacts-field') {
      // A different field needs a different value control: reload the page with the new filter.
      e.stopPropagation()
      const form = t.closest('form')
      if (!form) return
      const params = new URLSearchParams(new FormData(form))
      params.delete('value')
      for (const [k, v] of Array.from(params.entries())) if (v === '') params.delete(k)
      const qs = params.toString()
      window.location.assign('/contacts' + (qs ? '?' + qs : ''))
    }
  }, true)

  document.addEventListener('keydown', (e) => {
    if (e.key !== 'Escape') return
    const form = e.target instanceof Element ? e.target.closest('.inline-edit') : null
    const cancel = form?.querySelector('[data-edit-cancel]')
    if (cancel) { e.preventDefault(); cancel.click() }
  })

  const focusEditor = () => {
    const input = document.querySelector('.inline-edit [autofocus]')
    if (input && document.activeElement !== input && !input.closest('[hidden]')) {
      input.focus()
      if (typeof input.setSelectionRange === 'function' && input.type !== 'date' && input.type !== 'email' && input.type !== 'url') {
        try { input.setSelectionRange(input.value.length, input.value.length) } catch {}
      }
    }
  }
  document.addEventListener('htmx:after:swap', () => { focusEditor(); syncCount() })
  document.addEventListener('htmx:after:settle', syncCount)
  syncCount()
})()
