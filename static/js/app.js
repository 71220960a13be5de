// Weltra UI behaviour. Tiny, no framework, CSP-safe (no eval, no inline handlers).
// Loaded with <script src defer>. Everything is event-delegated on document, so
// content swapped in by htmx works without re-binding.
(() => {
  'use strict'
  const root = document.documentElement
  const THEME_KEY = 'weltra-theme'
  const THEMES = ['system', 'light', 'dark']
  const FLASH_MS = 6000
  const COPIED_MS = 1500

  // Theme: system → light → dark. The toggle's icon and label follow html[data-theme] in CSS.
  const stored = () => {
    try { const v = localStorage.getItem(THEME_KEY); return v === 'light' || v === 'dark' ? v : null } catch { return null }
  }
  const applyTheme = (theme) => {
    if (theme === 'light' || theme === 'dark') root.setAttribute('data-theme', theme)
    else root.removeAttribute('data-theme')
  }
  const saveTheme = (theme) => {
    const keep = theme !== 'system'
    try { keep ? localStorage.setItem(THEME_KEY, theme) : localStorage.removeItem(THEME_KEY) } catch {}
    // Mirrored in a cookie so the server can render html[data-theme] and avoid a flash on load.
    document.cookie = `${THEME_KEY}=${theme};path=/;samesite=lax;max-age=${keep ? 31536000 : 0}`
  }
  // Without a stored choice, keep whatever the server rendered (none = follow the system).
  if (stored()) applyTheme(stored())
  window.addEventListener('storage', (e) => { if (e.key === THEME_KEY) applyTheme(stored() || 'system') })

  // Copy to clipboard, with a fallback for plain-HTTP origins where navigator.clipboard is missing.
  const copyText = async (text) => {
    if (navigator.clipboard && window.isSecureContext) return navigator.clipboard.writeText(text)
    const ta = Object.assign(document.createElement('textarea'), { value: text, readOnly: true, className: 'sr-only' })
    document.body.appendChild(ta)
    ta.select()
    const ok = document.execCommand('copy')
    ta.remove()
    if (!ok) throw new Error('copy failed')
  }
  const selectContents = (el) => {
    if (el.select) return el.select()
    const range = document.createRange()
    range.selectNodeContents(el)
    window.getSelection().removeAllRanges()
    window.getSelection().addRange(range)
  }
  const onCopy = (btn) => {
    const src = document.getElementById(btn.getAttribute('data-copy'))
    if (!src) return
    const text = (src.matches('input, textarea') ? src.value : src.textContent).trim()
    const label = btn.querySelector('[data-copy-label]') || btn
    copyText(text).then(() => {
      if (btn.dataset.copyOriginal === undefined) btn.dataset.copyOriginal = label.textContent
      label.textContent = btn.getAttribute('data-copied-label') || label.textContent
      btn.classList.add('is-copied')
      clearTimeout(btn.copyTimer)
      btn.copyTimer = setTimeout(() => {
        label.textContent = btn.dataset.copyOriginal
        btn.classList.remove('is-copied')
      }, COPIED_MS)
    }, () => selectContents(src)) // could not copy: select it so Ctrl+C works
  }

  // Flash messages: dismiss button, auto-dismiss after 6 s (paused while hovered or focused).
  const dismiss = (flash) => {
    if (!flash || !flash.isConnected || flash.classList.contains('is-leaving')) return
    flash.classList.add('is-leaving')
    setTimeout(() => flash.remove(), 200)
  }
  const armFlashes = () => {
    document.querySelectorAll('.flash:not([data-armed])').forEach((flash) => {
      flash.setAttribute('data-armed', '')
      if (flash.hasAttribute('data-persist')) return
      const tick = () => flash.matches(':hover, :focus-within') ? setTimeout(tick, 1500) : dismiss(flash)
      setTimeout(tick, FLASH_MS)
    })
  }
  armFlashes()
  document.addEventListener('htmx:after:swap', armFlashes)
  document.addEventListener('htmx:after:settle', armFlashes)
  // The request never got an answer (offline, timeout): show the prerendered, translated flash.
  document.addEventListener('htmx:error', () => {
    const tpl = document.getElementById('flash-network-error')
    if (tpl) { document.getElementById('flash')?.prepend(tpl.content.cloneNode(true)); armFlashes() }
  })

  // Clicks: theme toggle, copy, flash close, dialogs, dropdowns.
  document.addEventListener('click', (e) => {
    const t = e.target instanceof Element ? e.target : null
    if (!t) return
    let el
    if ((el = t.closest('[data-theme-toggle]'))) {
      const current = root.getAttribute('data-theme') || 'system'
      const next = THEMES[(THEMES.indexOf(current) + 1) % THEMES.length]
      saveTheme(next)
      applyTheme(next)
    } else if ((el = t.closest('[data-copy]'))) {
      e.preventDefault()
      onCopy(el)
    } else if ((el = t.closest('[data-dismiss]'))) {
      dismiss(el.closest('.flash'))
    } else if ((el = t.closest('[data-dialog-open]'))) {
      const dialog = document.getElementById(el.getAttribute('data-dialog-open'))
      if (dialog && dialog.showModal && !dialog.open) { e.preventDefault(); dialog.showModal() }
    } else if ((el = t.closest('[data-dialog-close]'))) {
      const dialog = el.closest('dialog')
      if (dialog) { e.preventDefault(); dialog.close(el.value || '') }
    } else if (t.matches('dialog.modal[open]')) {
      // .modal-body fills the dialog, so a click on the dialog itself is a click on the backdrop.
      const r = t.getBoundingClientRect()
      if (e.clientX < r.left || e.clientX > r.right || e.clientY < r.top || e.clientY > r.bottom) t.close()
    }
    // Close any open dropdown the click was not inside.
    document.querySelectorAll('details.dropdown[open]').forEach((d) => {
      if (!d.contains(t) || t.closest('.menu-item')) d.open = false
    })
  })

  document.addEventListener('keydown', (e) => {
    if (e.key !== 'Escape') return
    const open = document.querySelector('details.dropdown[open]')
    if (open) { open.open = false; open.querySelector('summary')?.focus() }
  })
})()
