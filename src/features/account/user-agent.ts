// A tiny User-Agent reader for the sessions page: just enough to say "Chrome on Windows" or
// "Safari on iPhone" so people recognise their own devices. Order matters: many browsers include
// the names of others ("Edg/… Chrome/… Safari/…"), so the most specific tokens are checked first.

export interface Device {
  /** Browser name (a proper noun, not translated), or undefined when unknown. */
  browser: string | undefined
  /** Operating system or device name, or undefined when unknown. */
  os: string | undefined
  /** For the icon: phones and tablets get a phone, everything else a screen. */
  kind: 'mobile' | 'desktop'
}

const browsers: Array<[RegExp, string]> = [
  [/\bEdg(e|A|iOS)?\//, 'Edge'],
  [/\bOPR\/|\bOpera\b/, 'Opera'],
  [/\bSamsungBrowser\//, 'Samsung Internet'],
  [/\bVivaldi\//, 'Vivaldi'],
  [/\bYaBrowser\//, 'Yandex Browser'],
  [/\bFirefox\/|\bFxiOS\//, 'Firefox'],
  [/\bCriOS\/|\bChrome\/|\bChromium\//, 'Chrome'],
  [/\bVersion\/[\d.]+.*\bSafari\//, 'Safari'],
  [/\bWeltra\//, 'Weltra'],
  [/\bcurl\//, 'curl']
]

const systems: Array<[RegExp, string]> = [
  [/\biPhone\b/, 'iPhone'],
  [/\biPad\b/, 'iPad'],
  [/\bAndroid\b/, 'Android'],
  [/\bCrOS\b/, 'ChromeOS'],
  [/\bWindows\b/, 'Windows'],
  [/\bMac OS X\b|\bMacintosh\b/, 'macOS'],
  [/\bLinux\b|\bX11\b/, 'Linux']
]

/** Reads a User-Agent header into a browser, a system and a kind of device. */
export function describeDevice (userAgent: string): Device {
  const ua = userAgent.slice(0, 500)
  const browser = browsers.find(([re]) => re.test(ua))?.[1]
  const os = systems.find(([re]) => re.test(ua))?.[1]
  const mobile = /\bMobile\b|\biPhone\b|\biPad\b|\bAndroid\b/.test(ua)
  return { browser, os, kind: mobile ? 'mobile' : 'desktop' }
}
