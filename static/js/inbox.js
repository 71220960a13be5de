// Weltra inbox behaviour, loaded by the inbox page only. CSP-safe (no eval, no inline handlers), no
// framework; everything is delegated on document so fragments swapped in by htmx need no re-binding.
//
// - Live: one EventSource per tab on /live. Its doorbell events (`inbox`, `conversation-<id>`,
//   `conversation-<id>-typing`, `ding`, `ding-mine`) are re-dispatched on document, where the list and the thread listen with
//   hx-trigger="… from:document" and refetch themselves. After a reconnect the page fires
//   `live-resync`, so anything missed while offline is fetched again.
// - Nothing jumps: the thread stays where the reader is; new messages below show a pill instead.
//   Refreshes wait while a menu is open or rows are selected.
// - Keyboard: j/k, r, e, a, i, /, ?, Esc. Image viewer, bulk selection, contact drawer, sound and
//   opt-in desktop notifications.
(() => {
  'use strict'
  if (window.WeltraInbox) { window.WeltraInbox.mount(); return }

  const SOUND_KEY = 'weltra-inbox-sound'
  const NOTIFY_KEY = 'weltra-inbox-notify'
  const PANEL_KEY = 'weltra-inbox-panel'
  const $ = (sel, root) => (root || document).querySelector(sel)
  const $$ = (sel, root) => [...(root || document).querySelectorAll(sel)]
  const fire = (name, detail) => document.dispatchEvent(new window.CustomEvent(name, { detail }))
  const store = {
    get: (k) => { try { return localStorage.getItem(k) } catch { return null } },
    set: (k, v) => { try { v === null ? localStorage.removeItem(k) : localStorage.setItem(k, v) } catch {} }
  }

  // ── live stream ──────────────────────────────────────────────────────────
  let source = null
  let opened = 0
  let retryTimer = null
  let retryDelay = 3000
  let offlineTimer = null
  let watched = null

  const openConversationId = () => $('#conversation')?.getAttribute('data-conversation') || null

  const setStatus = (text) => {
    const el = $('#live-status')
    if (!el) return
    el.textContent = text || ''
    el.classList.toggle('is-visible', Boolean(text))
  }

  const onConversationEvent = (e) => fire(e.type, { data: e.data })

  const watchConversation = () => {
    const id = openConversationId()
    if (!source || id === watched) return
    if (watched) {
      source.removeEventListener('conversation-' + watched, onConversationEvent)
      source.removeEventListener('conversation-' + watched + '-typing', onConversationEvent)
    }
    watched = id
    if (id) {
      source.addEventListener('conversation-' + id, onConversationEvent)
      source.addEventListener('conversation-' + id + '-typing', onConversationEvent)
    }
  }

  const connect = () => {
    const root = $('#inbox')
    if (!root || source) return
    clearTimeout(retryTimer)
    source = new EventSource(root.getAttribute('data-live') || '/live')
    watched = null
    source.addEventListener('open', () => {
      retryDelay = 3000
      clearTimeout(offlineTimer)
      const statusEl = $('#live-status')
      if (statusEl && statusEl.classList.contains('is-visible')) {
        setStatus(statusEl.getAttribute('data-back'))
        setTimeout(() => setStatus(''), 2500)
      }
      // A reconnect: fetch again whatever the page shows.
      if (opened++ > 0) fire('live-resync')
    })
    source.addEventListener('error', () => {
      clearTimeout(offlineTimer)
      offlineTimer = setTimeout(() => setStatus($('#live-status')?.getAttribute('data-offline')), 5000)
      // EventSource retries on its own unless the server refused the stream (a 503 while restarting,
      // a sign-in page): then start a new one after a growing pause.
      if (source && source.readyState === EventSource.CLOSED) {
        source = null
        retryTimer = setTimeout(connect, retryDelay)
        retryDelay = Math.min(retryDelay * 2, 60000)
      }
    })
    source.addEventListener('inbox', (e) => fire('inbox', { data: e.data }))
    source.addEventListener('ding', (e) => ding(e.data, false))
    source.addEventListener('ding-mine', (e) => ding(e.data, true))
    watchConversation()
  }

  const disconnect = () => {
    clearTimeout(retryTimer)
    clearTimeout(offlineTimer)
    if (source) source.close()
    source = null
    watched = null
    opened = 0
  }

  // ── sound and notifications ──────────────────────────────────────────────
  let audio = null
  const soundOn = () => store.get(SOUND_KEY) !== 'off'
  const beep = () => {
    try {
      const Ctx = window.AudioContext || window.webkitAudioContext
      if (!Ctx) return
      audio = audio || new Ctx()
      if (audio.state === 'suspended') return // no gesture yet: browsers keep it silent
      const t = audio.currentTime
      const osc = audio.createOscillator()
      const gain = audio.createGain()
      osc.type = 'sine'
      osc.frequency.setValueAtTime(880, t)
      osc.frequency.setValueAtTime(1318.5, t + 0.09)
      gain.gain.setValueAtTime(0.0001, t)
      gain.gain.exponentialRampToValueAtTime(0.08, t + 0.02)
      gain.gain.exponentialRampToValueAtTime(0.0001, t + 0.32)
      osc.connect(gain).connect(audio.destination)
      osc.start(t)
      osc.stop(t + 0.34)
    } catch {}
  }

  const notifyWanted = () => 'Notification' in window && Notification.permission === 'granted' && store.get(NOTIFY_KEY) === 'on'

  const ding = (conversationId, mine) => {
    const looking = !document.hidden && conversationId === openConversationId()
    if (soundOn() && !looking) beep()
    if (mine && document.hidden && notifyWanted()) {
      // The list refetches on the same ring; read the name and preview once it has.
      setTimeout(() => {
        const row = document.getElementById('row-' + conversationId)
        const title = row?.querySelector('.row-name')?.textContent || document.title
        const body = row?.querySelector('.row-preview')?.textContent || ''
        try {
          const n = new Notification(title, { body, tag: 'weltra-' + conversationId })
          n.addEventListener('click', () => { window.focus(); window.location.assign('/inbox/' + conversationId) })
        } catch {}
      }, 900)
    }
  }

  const syncMenuLabels = () => {
    const sound = $('[data-sound-label]')
    if (sound) sound.textContent = sound.getAttribute(soundOn() ? 'data-on' : 'data-off')
    const btn = $('[data-notify-optin]')
    const label = $('[data-notify-label]')
    if (btn && label) {
      if (label.dataset.default === undefined) label.dataset.default = label.textContent
      if (!('Notification' in window)) btn.hidden = true
      else if (Notification.permission === 'denied') label.textContent = btn.getAttribute('data-denied')
      else label.textContent = notifyWanted() ? btn.getAttribute('data-granted') : label.dataset.default
    }
  }

  // ── the thread: stay put, show a pill for news ───────────────────────────
  let snapshot = null
  let loadingEarlier = false

  const scroller = () => $('#thread-scroll')
  const atBottom = (s) => s.scrollHeight - s.scrollTop - s.clientHeight < 80
  const toBottom = (smooth) => {
    const s = scroller()
    if (s) s.scrollTo({ top: s.scrollHeight, behavior: smooth ? 'smooth' : 'auto' })
  }
  const pill = (show) => { const p = $('#new-pill'); if (p) p.hidden = !show }

  const takeSnapshot = () => {
    const s = scroller()
    const thread = $('#thread')
    if (!s || !thread) { snapshot = null; return }
    const top = s.getBoundingClientRect().top
    const anchor = $$('.msg, .msg-event', thread).find(m => m.getBoundingClientRect().bottom > top + 4)
    snapshot = {
      conversation: thread.getAttribute('data-conversation'),
      bottom: atBottom(s),
      last: thread.getAttribute('data-last'),
      anchor: anchor ? anchor.id : null,
      offset: anchor ? anchor.getBoundingClientRect().top - top : 0
    }
  }

  let shownConversation = null
  const restoreSnapshot = () => {
    const s = scroller()
    const thread = $('#thread')
    const snap = snapshot
    snapshot = null
    if (!s || !thread) { shownConversation = null; return }
    const id = thread.getAttribute('data-conversation')
    if (id !== shownConversation) {
      // Another conversation: start at its newest message.
      shownConversation = id
      loadingEarlier = false
      pill(false)
      toBottom(false)
      return
    }
    if (!snap) return
    const changed = snap.last !== thread.getAttribute('data-last')
    if (!loadingEarlier && snap.bottom) { toBottom(false); return }
    const anchor = snap.anchor ? document.getElementById(snap.anchor) : null
    if (anchor) s.scrollTop += (anchor.getBoundingClientRect().top - s.getBoundingClientRect().top) - snap.offset
    if (changed && !loadingEarlier && !atBottom(s)) pill(true)
    loadingEarlier = false
  }

  // ── deferring refreshes while the user is in the middle of something ─────
  const pendingRefresh = new Set()
  const busy = (el) => {
    if (!el) return false
    if (el.id === 'inbox-list') return $$('.row-check:checked').length > 0
    if (el.id === 'thread') return Boolean($('#conv-header details[open]')) || Boolean($('#thread details[open]')) || (document.activeElement && document.activeElement.closest('#conv-header') && document.activeElement.matches('input'))
    return false
  }
  const replay = () => {
    for (const id of [...pendingRefresh]) {
      const el = document.getElementById(id)
      if (!el || busy(el)) continue
      pendingRefresh.delete(id)
      fire(id === 'inbox-list' ? 'inbox' : 'conversation-' + el.getAttribute('data-conversation'))
    }
  }

  // ── selection (bulk actions) ─────────────────────────────────────────────
  const syncSelection = () => {
    const n = $$('.row-check:checked').length
    const root = $('#inbox')
    if (root) root.classList.toggle('is-selecting', n > 0)
    const count = $('[data-bulk-count]')
    if (count) count.textContent = String(n)
    if (n === 0) replay()
  }

  // ── panes: contact panel / drawer, phone navigation ──────────────────────
  const wide = () => window.matchMedia('(min-width: 1024px)').matches
  const applyPanelPreference = () => {
    const root = $('#inbox')
    if (root) root.classList.toggle('contact-collapsed', store.get(PANEL_KEY) === 'closed')
  }
  const toggleContact = (force) => {
    const root = $('#inbox')
    if (!root) return
    if (wide()) {
      const collapsed = force === undefined ? !root.classList.contains('contact-collapsed') : !force
      root.classList.toggle('contact-collapsed', collapsed)
      store.set(PANEL_KEY, collapsed ? 'closed' : null)
    } else {
      root.classList.toggle('contact-open', force === undefined ? !root.classList.contains('contact-open') : force)
    }
    if (window.location.hash === '#contact-panel') window.history.replaceState(window.history.state, '', window.location.pathname + window.location.search)
  }

  const markSelectedRow = (id) => {
    for (const a of $$('#inbox-list .row-link')) a.setAttribute('aria-current', a.closest('.row')?.getAttribute('data-conversation') === id ? 'true' : 'false')
  }

  // ── viewer ───────────────────────────────────────────────────────────────
  const openViewer = (link) => {
    const dialog = $('#media-viewer')
    if (!dialog || !dialog.showModal) return false
    const img = $('.media-viewer-img', dialog)
    img.src = link.getAttribute('href')
    img.alt = link.querySelector('img')?.alt || ''
    $('.media-viewer-open', dialog).href = link.getAttribute('href')
    dialog.showModal()
    return true
  }

  // ── keyboard ─────────────────────────────────────────────────────────────
  const typing = (el) => el && (el.isContentEditable || el.matches('input, textarea, select'))
  const moveRow = (delta) => {
    const rows = $$('#inbox-list .row-link')
    if (rows.length === 0) return
    const current = rows.findIndex(r => r.getAttribute('aria-current') === 'true')
    const next = rows[current === -1 ? (delta > 0 ? 0 : rows.length - 1) : Math.min(rows.length - 1, Math.max(0, current + delta))]
    if (next && next !== rows[current]) { next.click(); next.scrollIntoView({ block: 'nearest' }) }
  }
  const focusComposer = () => {
    // The first of these that is shown (a template picker keeps the reply box, hidden, in its form).
    const box = [...document.querySelectorAll('#composer textarea:not([disabled]), #composer select, #composer .composer-template-panel :is(a[href], button:not([disabled]), input:not([type=hidden])), #composer input:not([type=hidden])')]
      .find(el => el.checkVisibility())
    if (box) { box.focus(); box.scrollIntoView({ block: 'nearest' }); return true }
    return false
  }

  document.addEventListener('keydown', (e) => {
    if (!$('#inbox')) return
    if (e.key === 'Escape') {
      if ($('dialog[open]') || $('details.dropdown[open]')) return // app.js and the browser close those
      const root = $('#inbox')
      if (root.classList.contains('contact-open')) { toggleContact(false); return }
      if (typing(document.activeElement)) { document.activeElement.blur(); return }
      if (!window.matchMedia('(min-width: 720px)').matches && openConversationId()) $('[data-back-to-list]')?.click()
      return
    }
    if (e.ctrlKey || e.metaKey || e.altKey || typing(e.target) || $('dialog[open]')) return
    switch (e.key) {
      case 'j': moveRow(1); break
      case 'k': moveRow(-1); break
      case 'r': if (!focusComposer()) return; break
      case 'e': $('[data-shortcut="resolve"]')?.click(); break
      case 'a': $('[data-shortcut="assign-me"]')?.click(); break
      case 'i': toggleContact(); break
      case '/': $('#inbox-q')?.focus(); break
      case '?': $('#shortcuts')?.showModal(); break
      default: return
    }
    e.preventDefault()
  })

  // ── clicks and changes ───────────────────────────────────────────────────
  document.addEventListener('click', (e) => {
    const t = e.target instanceof Element ? e.target : null
    if (!t || !$('#inbox')) return
    if (audio && audio.state === 'suspended') audio.resume().catch(() => {})
    let el
    if ((el = t.closest('[data-viewer]')) && !e.ctrlKey && !e.metaKey) {
      if (openViewer(el)) e.preventDefault()
    } else if ((el = t.closest('[data-toggle-contact]'))) {
      e.preventDefault()
      toggleContact()
    } else if ((el = t.closest('#inbox-list .row-link'))) {
      if (!e.ctrlKey && !e.metaKey && !e.shiftKey) {
        markSelectedRow(el.closest('.row').getAttribute('data-conversation'))
        el.closest('.row').classList.remove('is-unread')
      }
    } else if ((el = t.closest('#new-pill'))) {
      toBottom(true)
      pill(false)
    } else if ((el = t.closest('[data-focus-composer]'))) {
      const composer = $('#composer [data-composer]')
      const writing = composer && [...composer.querySelectorAll('textarea')].some(ta => ta.value.trim() !== '')
      if (el.hasAttribute('data-template') && composer && !writing && !composer.classList.contains('composer-mode-template')) {
        // Meta says the window is closed: the composer comes back as the template picker (the server
        // now knows), then takes the focus. A reply being written is never thrown away: then only focus.
        e.preventDefault()
        composer.dispatchEvent(new window.CustomEvent('composer-reload'))
        const started = Date.now()
        const wait = () => {
          if ($('#composer .composer-mode-template')) focusComposer()
          else if (Date.now() - started < 3000) setTimeout(wait, 50)
        }
        wait()
      } else if (focusComposer()) e.preventDefault()
    } else if ((el = t.closest('[data-quote]'))) {
      const target = document.getElementById((el.getAttribute('href') || '').slice(1))
      if (target) {
        e.preventDefault()
        target.scrollIntoView({ block: 'center', behavior: 'smooth' })
        target.classList.remove('is-flash')
        target.getBoundingClientRect()
        target.classList.add('is-flash')
      }
    } else if ((el = t.closest('[data-load-earlier]'))) {
      loadingEarlier = true
    } else if ((el = t.closest('[data-bulk-clear]'))) {
      for (const c of $$('.row-check:checked')) c.checked = false
      syncSelection()
    } else if ((el = t.closest('[data-sound-toggle]'))) {
      store.set(SOUND_KEY, soundOn() ? 'off' : null)
      syncMenuLabels()
      if (soundOn()) beep()
    } else if ((el = t.closest('[data-notify-optin]'))) {
      if (!('Notification' in window)) return
      if (Notification.permission === 'granted') {
        store.set(NOTIFY_KEY, notifyWanted() ? null : 'on')
        syncMenuLabels()
      } else if (Notification.permission === 'default') {
        // Only ever asked here, after the member clicked the opt-in.
        Notification.requestPermission().then((p) => { if (p === 'granted') store.set(NOTIFY_KEY, 'on'); syncMenuLabels() })
      }
    }
  })

  document.addEventListener('change', (e) => {
    const t = e.target instanceof Element ? e.target : null
    if (t && t.matches('.row-check')) syncSelection()
  })

  document.addEventListener('toggle', (e) => {
    if (e.target instanceof Element && e.target.matches('details') && !e.target.open) setTimeout(replay, 50)
  }, true)

  document.addEventListener('focusout', () => setTimeout(replay, 50))

  document.addEventListener('visibilitychange', () => {
    if (!document.hidden && $('#thread')) fire('inbox-visible')
  })

  // ── htmx lifecycle ───────────────────────────────────────────────────────
  document.addEventListener('htmx:config:request', (e) => {
    const ctx = e.detail && e.detail.ctx
    if (!ctx) return
    const el = ctx.sourceElement
    if (el && (el.id === 'inbox-list' || el.id === 'thread') && String(ctx.request.method).toUpperCase() === 'GET' && busy(el)) {
      pendingRefresh.add(el.id)
      e.preventDefault()
      return
    }
    ctx.request.headers['X-Inbox-Visible'] = document.hidden ? '0' : '1'
  })

  // A background refresh that could not reach the server (offline, restarting) is retried quietly
  // — the live status says "Reconnecting…" — instead of flashing an error for every doorbell.
  let refetchTimer = null
  let refetchDelay = 2000
  const background = (ctx) => ctx && ctx.sourceElement && (ctx.sourceElement.id === 'inbox-list' || ctx.sourceElement.id === 'thread' || ctx.sourceElement.hasAttribute('data-typing')) && String(ctx.request.method).toUpperCase() === 'GET'
  window.addEventListener('htmx:error', (e) => {
    if (!background(e.detail && e.detail.ctx)) return
    e.stopPropagation()
    setStatus($('#live-status')?.getAttribute('data-offline'))
    clearTimeout(refetchTimer)
    refetchTimer = setTimeout(() => fire('live-resync'), refetchDelay)
    refetchDelay = Math.min(refetchDelay * 2, 30000)
  }, true)
  document.addEventListener('htmx:after:request', (e) => {
    if (!background(e.detail && e.detail.ctx) || refetchDelay === 2000) return
    refetchDelay = 2000
    clearTimeout(refetchTimer)
    setStatus('')
  })
  window.addEventListener('offline', () => setStatus($('#live-status')?.getAttribute('data-offline')))
  window.addEventListener('online', () => { setStatus(''); if ($('#inbox')) fire('live-resync') })

  document.addEventListener('htmx:before:swap', takeSnapshot)

  document.addEventListener('htmx:after:swap', () => {
    mount()
    restoreSnapshot()
    // The tab counts live in the list fragment; copy them to the filter tabs.
    for (const key of ['mine', 'unassigned']) {
      const src = document.getElementById('count-' + key + '-src')
      const dst = document.getElementById('count-' + key)
      if (src && dst) dst.textContent = src.textContent === '0' ? '' : src.textContent
    }
    markSelectedRow(openConversationId())
    syncSelection()
    syncMenuLabels()
  })

  const onScroll = (e) => {
    if (e.target && e.target.id === 'thread-scroll' && atBottom(e.target)) pill(false)
  }
  document.addEventListener('scroll', onScroll, true)

  // ── mount / unmount (the page may come and go through boosted navigation) ─
  const mount = () => {
    if ($('#inbox')) {
      connect()
      watchConversation()
      applyPanelPreference()
    } else {
      disconnect()
    }
  }

  window.addEventListener('pagehide', disconnect)
  window.addEventListener('pageshow', (e) => { if (e.persisted) { mount(); fire('live-resync') } })

  window.WeltraInbox = { mount }
  mount()
  shownConversation = $('#thread')?.getAttribute('data-conversation') || null
  toBottom(false)
  syncMenuLabels()
  syncSelection()
})()
