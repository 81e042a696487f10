package resultstore

// sysRenameat2 is renameat2's number on linux/amd64 (the syscall package
// predates it there).
const sysRenameat2 = 316
