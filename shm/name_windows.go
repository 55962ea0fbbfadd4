package shm

// namePrefix starts the names NewName makes, as CPython's on Windows.
const namePrefix = WindowsNamePrefix

// badNameChars may not appear in a name: a backslash would reach another
// namespace of kernel objects (Global\, Session\N\).
const badNameChars = "/\\\x00"

// badNameWhat says what badNameChars are, for NameError.
const badNameWhat = "a slash, a backslash or a NUL"
