// Small text checks shared by every form.

// eslint-disable-next-line no-control-regex -- matching control characters is the point
const controlCharacters = /[\u0000-\u001f\u007f]/

/** Whether text contains ASCII control characters (newlines, NUL, escape …), which names never need. */
export function hasControlCharacters (text: string): boolean {
  return controlCharacters.test(text)
}

/**
 * What is wrong with a short single-line name (a person's, a workspace's …): `${prefix}.required`,
 * `${prefix}.tooLong` (more than `max` characters after trimming) or `${prefix}.invalid` (control
 * characters) — catalogue keys — or undefined when it is fine.
 */
export function nameFieldProblem (value: string, prefix: string, max: number): string | undefined {
  const trimmed = value.trim()
  if (trimmed === '') return `${prefix}.required`
  if ([...trimmed].length > max) return `${prefix}.tooLong`
  if (hasControlCharacters(trimmed)) return `${prefix}.invalid`
  return undefined
}
