// Small text checks shared by every form.

// eslint-disable-next-line no-control-regex -- matching control characters is the point
const controlCharacters = /[\u0000-\u001f\u007f]/

/** Whether text contains ASCII control characters (newlines, NUL, escape …), which names never need. */
export function hasControlCharacters (text: string): boolean {
  return controlCharacters.test(text)
}
