// The public surface of the crypto module: the only place in Weltra that touches node:crypto.
export { newId, isId, idTime, randomToken, randomKey, randomIntBetween } from './random.js'
export { sha256Hex, sha256Base64Url, hmacSha256Hex, hmacSha256, timingSafeEqualStr, timingSafeEqualBytes, hash53 } from './hash.js'
export { Keyring, KeyError, decodeKey, setKeyring, keyring } from './keyring.js'
export { seal, open, sealedKeyId, sealBytes, openBytes, DecryptError } from './field-cipher.js'
export { createFileSealer, openFileHeader, sealedFileLayout, rewrapFileHeader, fileHeaderKeyId, sealFile, openFile, createSha256, fileHeaderLength, fileChunkOverhead, defaultFileChunkSize, type FileKeyScope, type FileSealer, type FileOpener, type Sha256Stream } from './file-cipher.js'
export { blindIndex, setIndexRoot } from './blind-index.js'
export { hashPassword, verifyPassword, needsRehash, parsePhc, dummyPasswordHash, hashingLoad, defaultArgon2Params, type Argon2Params } from './passwords.js'
export { base32Encode, base32Decode, newTotpSecret, totpStep, hotp, totpCode, verifyTotp, totpUri, totpDigits, totpPeriodSeconds, newRecoveryCode } from './totp.js'
