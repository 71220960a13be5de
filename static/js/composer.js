// The inbox composer's behaviour (views/inbox/_composer.eta). CSP-safe: no eval, no inline handlers;
// event-delegated on document, so composers swapped in by htmx work without re-binding, and loading
// this file twice does nothing the second time. Without it the composer still sends (plain forms).
//
//   - the text box grows with its content; a counter shows characters used of 4096 (1024 for a caption)
//   - Enter sends (Shift+Enter: new line; on touch screens Enter is a new line), Ctrl/⌘+Enter always sends
//   - "/" at the start opens the workspace's canned responses (filtered as you type; ↑ ↓ Enter Tab Esc)
//   - in a private note, "@" opens the workspace's members; the chosen name is inserted as "@Full Name"
//   - the emoji grid inserts at the cursor; attachments are checked (type, size) before uploading
//   - the 24-hour window countdown ticks; at zero the composer reloads into the template picker
//   - a `composer-refresh` event on document.body reloads an untouched composer (the thread fires it
//     when the conversation changed, e.g. a new customer message reopened the window)
//   - a hidden client id makes a repeated submit queue once: the server renders one per form; this only
//     fills it when missing. A failed request keeps it, so a retry cannot send twice.
//   - while a private note is being written, the composer tells the server (POST …/typing, at most every
//     3 s; "stopped" when the text box empties, the mode changes or the page goes), so teammates viewing
//     the conversation see "Ana is writing a note…"
//   - the bubbles' actions: Reply switches a note composer back to reply and puts the cursor in the text
//     box; a reaction closes its menu once sent; on touch screens a tap on a bubble shows its actions
(() => {
  'use strict'
  if (window.weltraComposer) return
  window.weltraComposer = true

  const MAX_SUGGESTIONS = 8
  const touch = () => window.matchMedia && window.matchMedia('(pointer: coarse)').matches

  const composerOf = (el) => el && el.closest ? el.closest('[data-composer]') : null
  const textOf = (composer) => composer ? composer.querySelector('[data-composer-text]') : null
  const modeOf = (composer) => {
    const checked = composer.querySelector('input[name="mode"]:checked')
    return checked ? checked.value : 'reply'
  }
  const fileInputOf = (composer) => composer.querySelector('[data-file-input]')
  const dirty = (composer) => {
    const text = textOf(composer)
    const file = fileInputOf(composer)
    return Boolean((text && text.value.trim() !== '') || (file && file.files && file.files.length > 0))
  }
  const format = (template, values) => String(template || '').replace(/\{(\w+)\}/g, (m, k) => (k in values ? String(values[k]) : m))
  const newClientId = () => {
    if (window.crypto && window.crypto.randomUUID) return window.crypto.randomUUID()
    const bytes = new Uint8Array(16)
    window.crypto.getRandomValues(bytes)
    return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')
  }

  // ── the text box: growing, counter, placeholder per mode ──
  // CSS grows it where `field-sizing: content` is supported; elsewhere its height is set here. That
  // inline height is removed before htmx swaps, whose settle step would copy it as a style attribute
  // (which the CSP refuses).
  const cssGrows = window.CSS && window.CSS.supports && window.CSS.supports('field-sizing', 'content')
  const grow = (ta) => {
    if (cssGrows) return
    ta.style.height = 'auto'
    ta.style.height = Math.min(ta.scrollHeight + 2, Math.round(window.innerHeight * 0.4)) + 'px'
  }
  document.addEventListener('htmx:before:swap', () => {
    document.querySelectorAll('textarea[data-composer-text][style], textarea[data-autogrow][style]').forEach((ta) => ta.removeAttribute('style'))
  })
  const maxFor = (form) => {
    if (!form) return 0
    const file = form.querySelector('[data-file-input]')
    const captioned = file && file.files && file.files.length > 0
    return Number(captioned ? form.dataset.maxCaption : form.dataset.maxText) || 0
  }
  const updateCounter = (ta) => {
    const form = ta.closest('form')
    let counter = null
    let max = Number(ta.getAttribute('maxlength')) || 0
    if (ta.id) counter = document.querySelector(`[data-counter-for="${ta.id}"]`)
    if (!counter && form && form.matches('[data-composer-form]')) {
      counter = form.querySelector('[data-counter]')
      max = maxFor(form) || max
    }
    if (!counter) return
    const count = ta.value.length
    counter.textContent = `${count.toLocaleString()} / ${max.toLocaleString()}`
    counter.classList.toggle('is-near', count >= max * 0.9 && count <= max)
    counter.classList.toggle('is-over', count > max)
  }
  const applyMode = (composer) => {
    const mode = modeOf(composer)
    composer.classList.remove('composer-mode-reply', 'composer-mode-note', 'composer-mode-template')
    composer.classList.add(`composer-mode-${mode}`)
    const ta = textOf(composer)
    if (ta) ta.placeholder = (mode === 'note' ? ta.dataset.placeholderNote : ta.dataset.placeholderReply) || ta.placeholder
    // Notes carry no files: a file chosen for a reply is dropped rather than uploaded for nothing.
    const file = fileInputOf(composer)
    if (mode === 'note' && file && file.files && file.files.length > 0) { file.value = ''; showFile(composer) }
    const reload = composer.getAttribute('hx-get')
    if (reload) composer.setAttribute('hx-get', reload.replace(/mode=\w*/, `mode=${mode}`))
    closeSuggest(composer)
  }

  // ── suggestions: canned responses ("/") and members ("@") ──
  const state = new WeakMap() // composer → { kind, items, active, start, end }
  const suggestOf = (composer) => composer.querySelector('[data-suggest]')
  const closeSuggest = (composer) => {
    const list = suggestOf(composer)
    if (list) { list.hidden = true; list.textContent = '' }
    const ta = textOf(composer)
    if (ta) ta.removeAttribute('aria-activedescendant')
    state.delete(composer)
  }
  const cannedItems = (composer) => Array.from(composer.querySelectorAll('[data-canned-source] > li')).map((li) => ({ label: '/' + li.dataset.shortcut, sub: li.dataset.body, value: li.dataset.body, key: li.dataset.shortcut }))
  const memberItems = (composer) => Array.from(composer.querySelectorAll('[data-member-source] > li')).map((li) => ({ label: li.dataset.name, value: '@' + li.dataset.name + ' ', key: li.dataset.name.toLowerCase(), initials: li.dataset.initials, colour: li.dataset.colour }))

  const renderSuggest = (composer, s) => {
    const list = suggestOf(composer)
    const ta = textOf(composer)
    if (!list || !ta) return
    list.textContent = ''
    if (s.items.length === 0) {
      const source = composer.querySelector(s.kind === 'canned' ? '[data-canned-source]' : '[data-member-source]')
      const li = document.createElement('li')
      li.className = 'composer-suggest-empty'
      li.textContent = source ? source.dataset.empty : ''
      if (s.kind === 'canned' && source && source.dataset.manageHref) {
        const a = document.createElement('a')
        a.href = source.dataset.manageHref
        a.textContent = source.dataset.manageLabel
        li.append(' ', a)
      }
      list.append(li)
    }
    s.items.forEach((item, i) => {
      const li = document.createElement('li')
      li.id = `${list.id}-${i}`
      li.className = 'composer-suggest-item'
      li.setAttribute('role', 'option')
      li.setAttribute('aria-selected', i === s.active ? 'true' : 'false')
      li.dataset.index = String(i)
      if (s.kind === 'member') {
        const av = document.createElement('span')
        av.className = `avatar avatar-xs avatar-c${item.colour}`
        av.setAttribute('aria-hidden', 'true')
        av.textContent = item.initials
        li.append(av)
      }
      const label = document.createElement('span')
      label.className = s.kind === 'canned' ? 'composer-suggest-key' : 'composer-suggest-name'
      label.textContent = item.label
      li.append(label)
      if (item.sub) {
        const sub = document.createElement('span')
        sub.className = 'composer-suggest-sub'
        sub.textContent = item.sub
        li.append(sub)
      }
      list.append(li)
    })
    list.hidden = false
    if (s.items[s.active]) ta.setAttribute('aria-activedescendant', `${list.id}-${s.active}`)
    else ta.removeAttribute('aria-activedescendant')
    const active = list.querySelector('[aria-selected="true"]')
    if (active && active.scrollIntoView) active.scrollIntoView({ block: 'nearest' })
  }

  const matchItems = (items, query) => {
    const q = query.toLowerCase()
    const starts = items.filter((i) => i.key.toLowerCase().startsWith(q))
    const contains = items.filter((i) => !starts.includes(i) && (i.key.toLowerCase().includes(q) || (i.label || '').toLowerCase().includes(q)))
    return starts.concat(contains).slice(0, MAX_SUGGESTIONS)
  }

  /** Looks at the text before the cursor and opens, filters or closes the suggestions. */
  const suggest = (composer, forceCanned) => {
    const ta = textOf(composer)
    if (!ta) return
    const before = ta.value.slice(0, ta.selectionStart)
    let m
    if (forceCanned) {
      state.set(composer, { kind: 'canned', items: matchItems(cannedItems(composer), ''), active: 0, start: ta.selectionStart, end: ta.selectionEnd })
    } else if ((m = /^\/([\w-]{0,32})$/.exec(before)) && ta.value.slice(ta.selectionStart).trim() === '') {
      state.set(composer, { kind: 'canned', items: matchItems(cannedItems(composer), m[1]), active: 0, start: 0, end: ta.value.length })
    } else if (modeOf(composer) === 'note' && (m = /(^|\s)@([^\s@]{0,30}(?: [^\s@]{0,30})?)$/.exec(before))) {
      const query = m[2]
      const items = matchItems(memberItems(composer), query)
      if (query.includes(' ') && items.length === 0) return closeSuggest(composer)
      state.set(composer, { kind: 'member', items, active: 0, start: before.length - query.length - 1, end: ta.selectionStart })
    } else {
      return closeSuggest(composer)
    }
    renderSuggest(composer, state.get(composer))
  }

  const insertText = (ta, text, start, end) => {
    ta.focus()
    ta.setSelectionRange(start, end)
    // execCommand keeps the browser's undo history; setRangeText is the fallback.
    if (!document.execCommand || !document.execCommand('insertText', false, text)) {
      ta.setRangeText(text, start, end, 'end')
      ta.dispatchEvent(new window.Event('input', { bubbles: true }))
    }
  }

  const choose = (composer, index) => {
    const s = state.get(composer)
    const ta = textOf(composer)
    if (!s || !ta || !s.items[index]) return
    const item = s.items[index]
    closeSuggest(composer)
    insertText(ta, item.value, s.start, s.end)
  }

  // ── attachments: checked in the browser before anything is uploaded ──
  const formatSize = (bytes) => bytes >= 1048576 ? `${(bytes / 1048576).toFixed(1)} MB` : `${Math.max(1, Math.round(bytes / 1024))} KB`
  const kindOf = (limits, type) => Object.keys(limits).find((k) => limits[k].types.includes(type))
  const showFile = (composer) => {
    const form = composer.querySelector('[data-composer-form]')
    const input = fileInputOf(composer)
    if (!form || !input) return
    const chip = form.querySelector('[data-file-chip]')
    const error = form.querySelector('[data-file-error]')
    const file = input.files && input.files[0]
    error.hidden = true
    error.textContent = ''
    if (file) {
      let limits = {}
      try { limits = JSON.parse(form.dataset.limits || '{}') } catch {}
      const type = (file.type || '').toLowerCase()
      const kind = kindOf(limits, type)
      let problem = ''
      if (!kind) problem = format(form.dataset.msgType, { name: file.name })
      else if (file.size > limits[kind].maxBytes) problem = format(form.dataset.msgSize, { name: file.name, max: Math.round(limits[kind].maxBytes / 1048576) })
      else if (file.size === 0) problem = format(form.dataset.msgEmpty, { name: file.name })
      if (problem) {
        input.value = ''
        error.textContent = problem
        error.hidden = false
        chip.hidden = true
      } else {
        chip.querySelector('[data-file-name]').textContent = file.name
        chip.querySelector('[data-file-size]').textContent = formatSize(file.size)
        chip.hidden = false
      }
    } else {
      chip.hidden = true
    }
    composer.classList.toggle('has-file', Boolean(input.files && input.files.length))
    const ta = textOf(composer)
    if (ta) {
      ta.placeholder = input.files && input.files.length ? (form.dataset.placeholderCaption || ta.placeholder) : (ta.dataset.placeholderReply || ta.placeholder)
      updateCounter(ta)
    }
  }

  // ── the 24-hour window countdown ──
  const loadedAt = Date.now()
  const tickWindows = () => {
    document.querySelectorAll('[data-window-closes]').forEach((el) => {
      const closes = Number(el.dataset.windowCloses)
      const serverNow = Number(el.dataset.windowNow) || loadedAt
      const left = closes - (serverNow + (Date.now() - (Number(el.dataset.loadedAt) || loadedAt)))
      const composer = composerOf(el)
      if (left <= 0) {
        if (el.classList.contains('is-closed')) return
        el.classList.add('is-closed')
        el.classList.remove('is-closing')
        if (composer && !dirty(composer)) composer.dispatchEvent(new window.CustomEvent('composer-reload'))
        return
      }
      // Minutes round up: "1 min" until it closes, and the same text the server rendered.
      const minutes = Math.ceil(left / 60000)
      const h = Math.floor(minutes / 60)
      const m = minutes % 60
      const time = h > 0 ? format(el.dataset.fmtHm, { h, m }) : format(el.dataset.fmtM, { m })
      const text = el.querySelector('[data-window-text]')
      if (text) text.textContent = format(el.dataset.label, { time })
      el.classList.toggle('is-closing', left < 3600000)
    })
  }
  window.setInterval(tickWindows, 15000)

  // ── "writing a note…" for teammates ──
  const TYPING_EVERY_MS = 3000
  const typingState = new Map() // url → { at, active }
  const signalTyping = (url, on, leaving) => {
    const body = new URLSearchParams({ typing: on ? '1' : '0' })
    try {
      window.fetch(url, { method: 'POST', body, credentials: 'same-origin', keepalive: Boolean(leaving), headers: { 'HX-Request': 'true' } }).catch(() => {})
    } catch {}
  }
  const noteTyping = (composer) => {
    const url = composer && composer.dataset.typingUrl
    const ta = textOf(composer)
    if (!url || !ta) return
    const s = typingState.get(url) || { at: 0, active: false }
    const writing = modeOf(composer) === 'note' && ta.value.trim() !== ''
    const now = Date.now()
    if (writing && (!s.active || now - s.at >= TYPING_EVERY_MS)) {
      typingState.set(url, { at: now, active: true })
      signalTyping(url, true)
    } else if (!writing && s.active) {
      typingState.set(url, { at: 0, active: false })
      signalTyping(url, false)
    }
  }
  const stopAllTyping = (leaving) => {
    for (const [url, s] of typingState) {
      if (s.active) signalTyping(url, false, leaving)
    }
    typingState.clear()
  }
  // A sent note ends the typing on the server; another conversation opened (or the page left) ends it here.
  const forgetSentTyping = (composer) => {
    const url = composer && composer.dataset.typingUrl
    if (url) typingState.delete(url)
  }
  window.addEventListener('pagehide', () => stopAllTyping(true))

  // ── set-up of composers present now or swapped in later ──
  const init = () => {
    document.querySelectorAll('[data-window-closes]:not([data-loaded-at])').forEach((el) => { el.dataset.loadedAt = String(Date.now()) })
    // Typing signals of composers no longer on the page (another conversation was opened) end now.
    for (const [url, s] of typingState) {
      if (s.active && !document.querySelector(`[data-composer][data-typing-url="${url}"]`)) { signalTyping(url, false); typingState.delete(url) }
    }
    document.querySelectorAll('[data-composer]').forEach((composer) => {
      const id = composer.querySelector('[data-client-id]')
      if (id && !/^[A-Za-z0-9_-]{8,64}$/.test(id.value)) id.value = newClientId()
      const ta = textOf(composer)
      if (ta) { grow(ta); updateCounter(ta) }
    })
    document.querySelectorAll('textarea[data-autogrow]').forEach((ta) => { grow(ta); updateCounter(ta) })
    tickWindows()
    watchConversations()
  }
  // After a send, or after a bubble's "Reply" set the quoted message, the cursor goes back to the text box.
  let refocus = null
  document.addEventListener('submit', (e) => {
    const form = e.target instanceof Element ? e.target : null
    // A reaction: its menu closes at once (the thread shows the badge when it refreshes).
    const react = form && form.closest('[data-bubble-react]')
    if (react) { window.setTimeout(() => { react.open = false }, 0); return }
    const composer = composerOf(form)
    if (composer) {
      refocus = composer.id
      if (modeOf(composer) === 'note') forgetSentTyping(composer)
    }
  })
  document.addEventListener('htmx:after:settle', () => {
    if (refocus === null) return
    const ta = textOf(document.getElementById(refocus))
    refocus = null
    if (ta) { ta.focus(); ta.setSelectionRange(ta.value.length, ta.value.length) }
  })

  // ── events ──
  document.addEventListener('input', (e) => {
    const t = e.target
    if (!(t instanceof window.HTMLTextAreaElement)) {
      if (t instanceof window.HTMLInputElement && t.matches('[data-template-search]')) {
        const q = t.value.trim().toLowerCase()
        const picker = t.closest('[data-template-picker]')
        let shown = 0
        picker.querySelectorAll('[data-template-name]').forEach((li) => {
          const hit = q === '' || li.textContent.toLowerCase().includes(q)
          li.hidden = !hit
          if (hit) shown++
        })
        const none = picker.querySelector('[data-template-none]')
        if (none) none.hidden = shown > 0
      }
      return
    }
    if (t.matches('[data-autogrow], [data-composer-text]')) { grow(t); updateCounter(t) }
    if (t.matches('[data-counter]')) updateCounter(t)
    const composer = composerOf(t)
    if (composer && t.matches('[data-composer-text]')) { suggest(composer, false); noteTyping(composer) }
  })

  document.addEventListener('change', (e) => {
    const t = e.target
    const composer = composerOf(t)
    if (!composer) return
    if (t.matches('input[name="mode"]')) {
      applyMode(composer)
      noteTyping(composer)
    } else if (t.matches('[data-file-input]')) showFile(composer)
    else if (t.matches('input[type="file"][data-max-bytes]')) {
      // A template's header file: too large for its kind → refused before uploading.
      const file = t.files && t.files[0]
      if (file && file.size > Number(t.dataset.maxBytes)) {
        t.value = ''
        const hint = t.parentElement.querySelector('.field-hint, .field-error')
        if (hint) {
          hint.textContent = format(t.dataset.msgSize, { name: file.name, max: Math.round(Number(t.dataset.maxBytes) / 1048576) })
          hint.classList.add('field-error')
        }
      }
    }
  })

  document.addEventListener('keydown', (e) => {
    const t = e.target
    // Enter in a template's field goes to the next field: only the button sends a template.
    if (e.key === 'Enter' && t instanceof window.HTMLInputElement && t.closest('.tpl-form') && t.type !== 'file') {
      e.preventDefault()
      const fields = Array.from(t.form.querySelectorAll('input.input:not([type="hidden"]), .composer-send'))
      const next = fields[fields.indexOf(t) + 1]
      if (next) next.focus()
      return
    }
    if (!(t instanceof window.HTMLTextAreaElement) || !t.matches('[data-composer-text]')) return
    const composer = composerOf(t)
    const s = composer && state.get(composer)
    if (s && !e.isComposing) {
      if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
        e.preventDefault()
        if (s.items.length) s.active = (s.active + (e.key === 'ArrowDown' ? 1 : s.items.length - 1)) % s.items.length
        renderSuggest(composer, s)
        return
      }
      if ((e.key === 'Enter' || e.key === 'Tab') && s.items.length > 0) {
        e.preventDefault()
        choose(composer, s.active)
        return
      }
      if (e.key === 'Escape') {
        e.preventDefault()
        closeSuggest(composer)
        return
      }
    }
    if (e.key === 'Enter' && !e.isComposing && !e.shiftKey && !e.altKey && ((e.ctrlKey || e.metaKey) || !touch())) {
      e.preventDefault()
      const form = t.closest('form')
      if (form && form.requestSubmit) form.requestSubmit()
    }
  })

  // mousedown (not click) so the text box keeps its focus and cursor.
  document.addEventListener('mousedown', (e) => {
    const t = e.target instanceof Element ? e.target : null
    const item = t && t.closest('.composer-suggest-item')
    if (item) {
      e.preventDefault()
      choose(composerOf(item), Number(item.dataset.index))
    }
  })

  document.addEventListener('click', (e) => {
    const t = e.target instanceof Element ? e.target : null
    if (!t) return
    let el
    if ((el = t.closest('.composer-emoji-menu [data-emoji]'))) {
      e.preventDefault()
      const composer = composerOf(el)
      const ta = textOf(composer)
      if (ta) insertText(ta, el.dataset.emoji, ta.selectionStart, ta.selectionEnd)
      const details = el.closest('details')
      if (details) details.open = false
    } else if ((el = t.closest('[data-composer-reply]'))) {
      const target = /#composer-reply-(.+)$/.exec(el.getAttribute('hx-target') || '')
      if (target) {
        refocus = `composer-${target[1]}`
        // Replying from a private note: back to the reply mode, where a quote is sent.
        const composer = document.getElementById(refocus)
        const reply = composer && composer.querySelector('input[name="mode"][value="reply"]')
        if (reply && !reply.checked) {
          reply.checked = true
          reply.dispatchEvent(new window.Event('change', { bubbles: true }))
        }
      }
      const msg = el.closest('.msg')
      if (msg) msg.classList.remove('show-actions')
    } else if ((el = t.closest('[data-canned-open]'))) {
      e.preventDefault()
      const composer = composerOf(el)
      const ta = textOf(composer)
      if (!ta) return
      if (ta.value.trim() === '') {
        ta.focus()
        insertText(ta, '/', 0, ta.value.length)
      } else {
        ta.focus()
        suggest(composer, true)
      }
    } else if ((el = t.closest('[data-file-remove]'))) {
      e.preventDefault()
      const composer = composerOf(el)
      const input = fileInputOf(composer)
      if (input) { input.value = ''; showFile(composer) }
    } else if (!t.closest('[data-suggest]')) {
      document.querySelectorAll('[data-composer]').forEach((c) => { if (!c.contains(t)) closeSuggest(c) })
    }
  })

  // On touch screens there is no hover: a tap on a bubble (not on a link, player or button in it) shows
  // its actions; a tap anywhere else hides them.
  document.addEventListener('click', (e) => {
    if (!touch()) return
    const t = e.target instanceof Element ? e.target : null
    if (!t) return
    const msg = t.closest('.msg.has-actions')
    const inside = t.closest('a, button, summary, audio, video, input, [data-bubble-actions]')
    document.querySelectorAll('.msg.show-actions').forEach((m) => { if (m !== msg) m.classList.remove('show-actions') })
    if (msg && !inside && t.closest('.bubble')) msg.classList.toggle('show-actions')
  })

  document.addEventListener('toggle', (e) => {
    const details = e.target
    if (!(details instanceof window.HTMLDetailsElement) || !details.matches('[data-bubble-react]') || !details.open) return
    // The menu opens upwards; near the top of the thread it opens downwards instead.
    const menu = details.querySelector('.bubble-react-menu')
    const scroller = details.closest('.thread-scroll')
    if (!menu || !scroller) return
    const box = scroller.getBoundingClientRect()
    menu.classList.add('menu-up')
    menu.classList.remove('menu-start')
    if (details.getBoundingClientRect().top - box.top < menu.offsetHeight + 12) menu.classList.remove('menu-up')
    // It grows towards the bubble; where that would leave the thread, it grows the other way.
    const r = menu.getBoundingClientRect()
    const rtl = window.getComputedStyle(menu).direction === 'rtl'
    if (rtl ? r.right > box.right - 4 : r.left < box.left + 4) menu.classList.add('menu-start')
    const first = menu.querySelector('button')
    if (first && details.matches(':focus-within')) first.focus()
  }, true)

  document.addEventListener('focusout', (e) => {
    const t = e.target
    if (t instanceof window.HTMLTextAreaElement && t.matches('[data-composer-text]')) {
      const composer = composerOf(t)
      window.setTimeout(() => { if (composer && document.activeElement !== t) closeSuggest(composer) }, 150)
    }
  })

  // The conversation changed (the inbox's live stream fires `conversation-<id>` on document, a
  // reconnect fires `live-resync`, anyone may fire `composer-refresh`): an untouched composer reloads,
  // so a customer who writes again turns the template picker back into a reply box. A composer being
  // used (text, file, quoted message, template form, focus) is left alone, and a reload that comes
  // back after the agent started typing is not swapped in.
  const autoReloads = new WeakSet()
  const untouched = (composer) => !dirty(composer) && !composer.querySelector('.tpl-form, [data-reply-chip]') && !composer.contains(document.activeElement)
  const refresh = () => {
    document.querySelectorAll('[data-composer]').forEach((composer) => {
      if (!untouched(composer)) return
      autoReloads.add(composer)
      composer.dispatchEvent(new window.CustomEvent('composer-reload'))
    })
  }
  let refreshTimer = null
  const refreshSoon = () => { clearTimeout(refreshTimer); refreshTimer = setTimeout(refresh, 400) }
  document.addEventListener('composer-refresh', refreshSoon)
  document.addEventListener('live-resync', refreshSoon)
  const watched = new Set()
  const watchConversations = () => {
    document.querySelectorAll('[data-composer]').forEach((composer) => {
      const id = composer.id.replace(/^composer-/, '')
      if (watched.has(id)) return
      watched.add(id)
      document.addEventListener(`conversation-${id}`, refreshSoon)
    })
  }
  document.addEventListener('htmx:before:swap', (e) => {
    const ctx = e.detail && e.detail.ctx
    const target = ctx && ctx.target
    if (target && autoReloads.has(target)) {
      autoReloads.delete(target)
      if (!untouched(target)) e.preventDefault()
    }
  })

  // A send that never got an answer keeps its client id, so retrying cannot queue it twice.
  document.addEventListener('htmx:before:request', (e) => {
    const form = e.target instanceof Element ? e.target.closest('[data-composer-form], .tpl-form') : null
    const id = form && form.querySelector('input[name="clientId"]')
    if (id && !/^[A-Za-z0-9_-]{8,64}$/.test(id.value)) id.value = newClientId()
  })

  // Last, once everything above is defined.
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init)
  else init()
  document.addEventListener('htmx:after:settle', init)
})()
